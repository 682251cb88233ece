//! Video through a seeded impairment at the sender's socket (5 % loss, 40 ms delay, 10 ms
//! jitter, both directions): the receiver's NACKs bring lost packets back by RTX, and
//! what arrives is bit-identical.

mod peers;

use std::collections::HashSet;
use std::time::Duration;

use peers::media::{FRAME, frame_len, next_sample_within, vp8_frame, vp8_index};
use peers::{loopback, negotiate, pair};
use strata::{
    Codec, Configuration, Impairment, Loss, NetworkImpairment, PeerConnectionState, Sample,
    TrackKind, TrackLocalInit,
};
use strata_interop::netns::run_isolated;

fn lossy(seed: u64) -> Configuration {
    let mut config = loopback();
    let path = Impairment {
        loss: Loss::Random { probability: 0.05 },
        delay: Duration::from_millis(40),
        jitter: Duration::from_millis(10),
        ..Impairment::default()
    };
    config.ice.impairment = Some(NetworkImpairment::symmetric(path, seed));
    config
}

#[test]
fn video_under_five_percent_loss_arrives_with_nack_recovery_visible_in_stats() {
    run_isolated(|| async {
        const FRAMES: u64 = 150;
        let (mut a, mut b) = pair(lossy(21), loopback()).await;
        let mut video =
            a.pc.add_track(
                TrackLocalInit::new(TrackKind::Video, "s", "camera").with_codecs(vec![Codec::Vp8]),
            )
            .await
            .unwrap();
        negotiate(&a.pc, &b.pc).await;
        a.wait_for(|s| s == PeerConnectionState::Connected).await;
        b.wait_for(|s| s == PeerConnectionState::Connected).await;

        // A live source: 30 frames per second, a keyframe when the receiver asks for one.
        let sender = tokio::spawn(async move {
            let mut tick = tokio::time::interval(FRAME);
            let mut keyframe = true;
            for index in 0..FRAMES {
                tick.tick().await;
                let frame = vp8_frame(index, frame_len(index), keyframe);
                video.write_sample(Sample::new(frame, FRAME)).await.unwrap();
                keyframe = matches!(
                    tokio::time::timeout(Duration::ZERO, video.keyframe_requested()).await,
                    Ok(Ok(_))
                );
            }
            video
        });

        let remote = b.next_track().await;
        let mut received = HashSet::new();
        while let Some(sample) = next_sample_within(&remote, Duration::from_secs(3)).await {
            let index = vp8_index(&sample.data).expect("every delivered frame intact");
            assert_eq!(
                sample.data,
                vp8_frame(index, frame_len(index), sample.keyframe),
                "frame {index} is not bit-identical"
            );
            assert!(received.insert(index), "frame {index} delivered twice");
            if index == FRAMES - 1 {
                break;
            }
        }
        let _video = sender.await.unwrap();

        let delivered = received.len() as u64;
        let receiver = b.pc.stats().await.unwrap();
        let inbound = &receiver.media.inbound[0];
        let missing: Vec<u64> = (0..FRAMES).filter(|i| !received.contains(i)).collect();
        // Without repair, a frame of three or four packets survives 5 % loss about 84 % of
        // the time and every frame after a loss waits for a keyframe. With NACK and RTX
        // nearly every lost packet comes back in time; a packet lost again on
        // retransmission costs the frames until the keyframe its PLI asks for (about
        // twelve at this delay), which a loaded machine sees now and then.
        assert!(
            delivered >= FRAMES * 80 / 100,
            "only {delivered} of {FRAMES} frames delivered; missing {missing:?}; {inbound:?}"
        );
        let lost = u64::try_from(inbound.packets_lost).unwrap();
        assert!(lost > 0, "the impairment lost nothing: {inbound:?}");
        assert!(
            inbound.packets_recovered * 4 >= lost * 3,
            "{} of {lost} lost packets recovered: {inbound:?}",
            inbound.packets_recovered
        );
        assert!(inbound.nack_count > 0, "{inbound:?}");
        assert!(inbound.packets_recovered > 0, "{inbound:?}");
        assert!(inbound.retransmitted_packets_received > 0, "{inbound:?}");
        let sender = a.pc.stats().await.unwrap();
        let outbound = &sender.media.outbound[0];
        assert!(outbound.nack_count > 0, "{outbound:?}");
        assert!(outbound.retransmitted_packets_sent > 0, "{outbound:?}");
        assert!(
            outbound.rtx_ssrc.is_some(),
            "retransmissions go on the RTX stream"
        );
    });
}
