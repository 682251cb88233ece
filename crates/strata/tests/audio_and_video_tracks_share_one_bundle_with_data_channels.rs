//! Audio and video tracks between two Strata peers, on the one BUNDLE transport their
//! data channels use: samples arrive bit-identical, keyframe requests go round, tracks
//! are added mid-call and removed.

mod peers;

use std::time::Duration;

use bytes::Bytes;
use peers::media::{
    AUDIO_PACKET, FRAME, frame_len, next_sample, next_sample_within, vp8_frame, vp8_index,
    write_paced,
};
use peers::{
    Peer, indexed_payload, loopback, negotiate, next_message, pair, read_indexed, wait_open,
};
use strata::{
    ChannelOptions, Codec, KeyframeRequestKind, Message, PeerConnectionState, TrackKind,
    TrackLocalInit, TrackRemote,
};
use strata_interop::netns::run_isolated;

async fn connected(a: &mut Peer, b: &mut Peer) {
    negotiate(&a.pc, &b.pc).await;
    a.wait_for(|s| s == PeerConnectionState::Connected).await;
    b.wait_for(|s| s == PeerConnectionState::Connected).await;
}

/// Reads `count` video frames and checks each against what was sent.
async fn expect_video(track: &TrackRemote, indices: std::ops::Range<u64>) {
    let mut previous_timestamp = None;
    for index in indices {
        let sample = next_sample(track).await;
        assert_eq!(sample.codec, Codec::Vp8);
        assert_eq!(
            sample.data,
            vp8_frame(index, frame_len(index), index == 0),
            "frame {index} is not bit-identical"
        );
        assert_eq!(
            sample.keyframe,
            index == 0,
            "keyframe flag of frame {index}"
        );
        if let Some(previous) = previous_timestamp {
            // 33 ms at 90 kHz.
            assert_eq!(
                sample.rtp_timestamp - previous,
                2970,
                "timestamp of frame {index}"
            );
        }
        previous_timestamp = Some(sample.rtp_timestamp);
    }
}

#[test]
fn audio_video_and_a_data_channel_arrive_bit_identical_on_one_bundle() {
    run_isolated(|| async {
        const FRAMES: u64 = 60;
        const PACKETS: u64 = 100;
        let (mut a, mut b) = pair(loopback(), loopback()).await;
        let audio =
            a.pc.add_track(TrackLocalInit::new(TrackKind::Audio, "call", "microphone"))
                .await
                .unwrap();
        let video =
            a.pc.add_track(
                TrackLocalInit::new(TrackKind::Video, "call", "camera")
                    .with_codecs(vec![Codec::Vp8]),
            )
            .await
            .unwrap();
        a.wait_negotiation_needed(1).await;
        let chat =
            a.pc.create_data_channel("chat", ChannelOptions::default())
                .await
                .unwrap();
        connected(&mut a, &mut b).await;

        // One transport: every section in the BUNDLE group.
        let offer = a.pc.local_description().await.unwrap().unwrap().sdp;
        assert!(offer.contains("a=group:BUNDLE 0 1 2"), "{offer}");
        assert!(offer.contains("m=audio") && offer.contains("m=video"));
        assert!(offer.contains("m=application"));
        assert_eq!(audio.codec(), Some(Codec::Opus));
        assert_eq!(video.codec(), Some(Codec::Vp8));

        let frames = (0..FRAMES)
            .map(|i| vp8_frame(i, frame_len(i), i == 0))
            .collect();
        let packets: Vec<Bytes> = (0..PACKETS)
            .map(|i| indexed_payload(i, 80 + (i as usize % 40)))
            .collect();
        let send_video = {
            let video = video.clone();
            tokio::spawn(async move { write_paced(&video, frames, FRAME).await })
        };
        let send_audio = {
            let audio = audio.clone();
            let packets = packets.clone();
            tokio::spawn(async move { write_paced(&audio, packets, AUDIO_PACKET).await })
        };

        let first = b.next_track().await;
        let second = b.next_track().await;
        let (remote_audio, remote_video) = if first.kind() == TrackKind::Audio {
            (first, second)
        } else {
            (second, first)
        };
        assert_eq!(remote_video.kind(), TrackKind::Video);
        assert_eq!(remote_video.stream_ids(), ["call"]);
        assert_eq!(remote_video.track_id(), Some("camera"));
        assert_eq!(remote_audio.track_id(), Some("microphone"));

        // The data channel works alongside.
        let remote_chat = b.accept().await;
        wait_open(&chat).await;
        chat.send_text("during the call").await.unwrap();

        let check_audio = tokio::spawn(async move {
            for index in 0..PACKETS {
                let sample = next_sample(&remote_audio).await;
                assert_eq!(sample.codec, Codec::Opus);
                assert_eq!(
                    read_indexed(&sample.data),
                    Some(index),
                    "audio packet {index}"
                );
                assert_eq!(sample.data, packets[index as usize]);
            }
        });
        expect_video(&remote_video, 0..FRAMES).await;
        check_audio.await.unwrap();
        send_video.await.unwrap();
        send_audio.await.unwrap();
        assert_eq!(
            next_message(&remote_chat).await,
            Some(Message::Text("during the call".into()))
        );

        let sent = a.pc.stats().await.unwrap();
        let received = b.pc.stats().await.unwrap();
        let srtp = sent.srtp.expect("SRTP keyed");
        assert!(srtp.rtp_protected >= FRAMES + PACKETS, "{srtp:?}");
        let srtp = received.srtp.expect("SRTP keyed");
        assert_eq!(srtp.auth_failures, 0);
        assert!(srtp.rtp_unprotected >= FRAMES + PACKETS, "{srtp:?}");
        let inbound_video = received
            .media
            .inbound
            .iter()
            .find(|s| s.codec == Codec::Vp8)
            .expect("inbound video stats");
        assert_eq!(inbound_video.frames_received, FRAMES);
        assert_eq!(inbound_video.packets_lost, 0);
        let outbound_audio = sent
            .media
            .outbound
            .iter()
            .find(|s| s.codec == Codec::Opus)
            .expect("outbound audio stats");
        assert_eq!(outbound_audio.frames_sent, PACKETS);
        assert_eq!(received.media_delivery.samples_dropped, 0);
    });
}

#[test]
fn a_keyframe_request_goes_from_the_receiver_to_the_sender() {
    run_isolated(|| async {
        let (mut a, mut b) = pair(loopback(), loopback()).await;
        let mut video =
            a.pc.add_track(TrackLocalInit::new(TrackKind::Video, "s", "camera"))
                .await
                .unwrap();
        connected(&mut a, &mut b).await;
        let codec = video.codec().expect("negotiated");
        assert_eq!(codec, Codec::Vp8, "the offer's first video codec");
        video
            .write_sample(strata::Sample::new(vp8_frame(0, 3000, true), FRAME))
            .await
            .unwrap();
        let remote = b.next_track().await;
        assert!(next_sample(&remote).await.keyframe);

        assert!(remote.request_keyframe().await.unwrap(), "a PLI was sent");
        let kind = tokio::time::timeout(peers::PATIENCE, video.keyframe_requested())
            .await
            .expect("the request within the patience bound")
            .unwrap();
        assert_eq!(kind, KeyframeRequestKind::Pli);

        // The sender answers with a keyframe, which arrives as one.
        video
            .write_sample(strata::Sample::new(vp8_frame(1, 3000, true), FRAME))
            .await
            .unwrap();
        let sample = next_sample(&remote).await;
        assert!(sample.keyframe);
        assert_eq!(vp8_index(&sample.data), Some(1));

        let sender = a.pc.stats().await.unwrap();
        assert_eq!(sender.media.outbound[0].pli_count, 1);
        let receiver = b.pc.stats().await.unwrap();
        assert_eq!(receiver.media.inbound[0].pli_count, 1);
    });
}

#[test]
fn a_second_video_track_added_mid_call_leaves_the_first_and_the_channel_running() {
    run_isolated(|| async {
        let (mut a, mut b) = pair(loopback(), loopback()).await;
        let first =
            a.pc.add_track(TrackLocalInit::new(TrackKind::Video, "s", "camera"))
                .await
                .unwrap();
        let chat =
            a.pc.create_data_channel("chat", ChannelOptions::default())
                .await
                .unwrap();
        connected(&mut a, &mut b).await;
        let remote_chat = b.accept().await;
        wait_open(&chat).await;

        // The first track runs through the renegotiation.
        let sending = {
            let first = first.clone();
            let frames = (0..90)
                .map(|i| vp8_frame(i, frame_len(i), i == 0))
                .collect();
            tokio::spawn(async move { write_paced(&first, frames, FRAME).await })
        };
        let remote_first = b.next_track().await;
        let receiving = tokio::spawn(async move {
            expect_video(&remote_first, 0..90).await;
            remote_first
        });

        let needed_before = *a.negotiation_needed.borrow();
        let second =
            a.pc.add_track(TrackLocalInit::new(TrackKind::Video, "s", "screen"))
                .await
                .unwrap();
        a.wait_negotiation_needed(needed_before + 1).await;
        negotiate(&a.pc, &b.pc).await;
        assert_eq!(
            second.mid().map(|m| m.as_str().to_owned()),
            Some("2".to_owned())
        );

        let frames: Vec<Bytes> = (0..10).map(|i| vp8_frame(1000 + i, 1500, i == 0)).collect();
        let second_sending = {
            let second = second.clone();
            let frames = frames.clone();
            tokio::spawn(async move { write_paced(&second, frames, FRAME).await })
        };
        let remote_second = b.next_track().await;
        assert_eq!(remote_second.track_id(), Some("screen"));
        for frame in &frames {
            assert_eq!(&next_sample(&remote_second).await.data, frame);
        }
        second_sending.await.unwrap();
        sending.await.unwrap();
        let _remote_first = receiving.await.unwrap();

        chat.send_text("still here").await.unwrap();
        assert_eq!(
            next_message(&remote_chat).await,
            Some(Message::Text("still here".into()))
        );
        assert_eq!(a.pc.connection_state(), PeerConnectionState::Connected);
    });
}

#[test]
fn removing_a_track_or_closing_ends_it_on_the_other_side() {
    run_isolated(|| async {
        let (mut a, mut b) = pair(loopback(), loopback()).await;
        let video =
            a.pc.add_track(TrackLocalInit::new(TrackKind::Video, "s", "camera"))
                .await
                .unwrap();
        let audio =
            a.pc.add_track(TrackLocalInit::new(TrackKind::Audio, "s", "microphone"))
                .await
                .unwrap();
        connected(&mut a, &mut b).await;
        video
            .write_sample(strata::Sample::new(vp8_frame(0, 2000, true), FRAME))
            .await
            .unwrap();
        let remote_video = b.next_track().await;
        next_sample(&remote_video).await;

        let needed_before = *a.negotiation_needed.borrow();
        a.pc.remove_track(&video).await.unwrap();
        a.wait_negotiation_needed(needed_before + 1).await;
        // The BYE ends the remote track.
        assert!(
            next_sample_within(&remote_video, peers::PATIENCE)
                .await
                .is_none(),
            "the track ends"
        );
        assert!(matches!(
            video
                .write_sample(strata::Sample::new(vp8_frame(1, 2000, true), FRAME))
                .await,
            Err(strata::Error::InvalidState(_))
        ));
        assert!(a.pc.remove_track(&video).await.is_err(), "removed once");
        assert!(
            matches!(
                b.pc.remove_track(&audio).await,
                Err(strata::Error::InvalidState(_))
            ),
            "another connection's track is not b's to remove"
        );

        // The next exchange stops the section; the audio track is untouched.
        negotiate(&a.pc, &b.pc).await;
        let offer = a.pc.local_description().await.unwrap().unwrap().sdp;
        assert!(offer.contains("m=video 0 "), "{offer}");
        audio
            .write_sample(strata::Sample::new(
                indexed_payload(7, 100),
                Duration::from_millis(20),
            ))
            .await
            .unwrap();
        let remote_audio = b.next_track().await;
        assert_eq!(
            read_indexed(&next_sample(&remote_audio).await.data),
            Some(7)
        );

        // Closing sends BYE: the peer's track ends, and the local one refuses samples.
        a.pc.close().await;
        assert!(
            next_sample_within(&remote_audio, peers::PATIENCE)
                .await
                .is_none(),
            "the track ends with the connection"
        );
        let late = strata::Sample::new(indexed_payload(8, 100), Duration::from_millis(20));
        assert!(audio.write_sample(late).await.is_err());
    });
}

#[test]
fn an_answerer_track_takes_the_section_the_offer_brought_and_media_flows_both_ways() {
    run_isolated(|| async {
        let (mut a, mut b) = pair(loopback(), loopback()).await;
        let a_video =
            a.pc.add_track(TrackLocalInit::new(TrackKind::Video, "a", "a-camera"))
                .await
                .unwrap();
        let offer = a.pc.create_offer().await.unwrap();
        a.pc.set_local_description(offer.clone()).await.unwrap();
        b.pc.set_remote_description(offer).await.unwrap();
        // Added between the offer and the answer: it rides the offered section.
        let b_video =
            b.pc.add_track(TrackLocalInit::new(TrackKind::Video, "b", "b-camera"))
                .await
                .unwrap();
        let answer = b.pc.create_answer().await.unwrap();
        assert!(answer.sdp.contains("a=sendrecv"), "{}", answer.sdp);
        assert_eq!(answer.sdp.matches("m=video").count(), 1);
        b.pc.set_local_description(answer.clone()).await.unwrap();
        a.pc.set_remote_description(answer).await.unwrap();
        a.wait_for(|s| s == PeerConnectionState::Connected).await;
        b.wait_for(|s| s == PeerConnectionState::Connected).await;
        assert_eq!(a_video.mid(), b_video.mid());

        for (index, track) in [(1, &a_video), (2, &b_video)] {
            track
                .write_sample(strata::Sample::new(vp8_frame(index, 2500, true), FRAME))
                .await
                .unwrap();
        }
        let at_b = b.next_track().await;
        let at_a = a.next_track().await;
        assert_eq!(at_b.track_id(), Some("a-camera"));
        assert_eq!(at_a.track_id(), Some("b-camera"));
        assert_eq!(vp8_index(&next_sample(&at_b).await.data), Some(1));
        assert_eq!(vp8_index(&next_sample(&at_a).await.data), Some(2));
    });
}

#[test]
fn a_track_sends_with_the_first_of_its_codecs_that_was_negotiated() {
    run_isolated(|| async {
        let (a, b) = pair(loopback(), loopback()).await;
        let vp9 =
            a.pc.add_track(
                TrackLocalInit::new(TrackKind::Video, "s", "vp9")
                    .with_codecs(vec![Codec::Vp9, Codec::Vp8]),
            )
            .await
            .unwrap();
        let h264 =
            a.pc.add_track(
                TrackLocalInit::new(TrackKind::Video, "s", "h264").with_codecs(vec![Codec::H264]),
            )
            .await
            .unwrap();
        assert_eq!(vp9.codec(), None, "not negotiated yet");
        negotiate(&a.pc, &b.pc).await;
        // Each section offers the track's codecs only, in its order, with their RTX.
        let offer = a.pc.local_description().await.unwrap().unwrap().sdp;
        assert!(
            offer.contains(" UDP/TLS/RTP/SAVPF 98 99 96 97\r\n"),
            "{offer}"
        );
        assert!(offer.contains(" UDP/TLS/RTP/SAVPF 102 103\r\n"), "{offer}");
        assert_eq!(vp9.codec(), Some(Codec::Vp9));
        assert_eq!(h264.codec(), Some(Codec::H264));
        assert_eq!(
            vp9.mid().map(|m| m.as_str().to_owned()),
            Some("0".to_owned())
        );

        let mismatched =
            TrackLocalInit::new(TrackKind::Audio, "s", "x").with_codecs(vec![Codec::Vp8]);
        assert!(matches!(
            a.pc.add_track(mismatched).await,
            Err(strata::Error::InvalidConfig(_))
        ));
        let empty = TrackLocalInit::new(TrackKind::Audio, "s", "x").with_codecs(Vec::new());
        assert!(matches!(
            a.pc.add_track(empty).await,
            Err(strata::Error::InvalidConfig(_))
        ));
    });
}
