//! Audio/video sections between two Strata negotiators: codec and header-extension
//! intersection, direction negotiation, renegotiation adding and stopping sections, and
//! mid recycling.

mod support;

use std::fmt::Write;

use strata_sdp::{
    Codec, Direction, Error, HeaderExtension, MediaKind, PayloadType, ProtocolViolation,
};
use support::{exchange, negotiator_with, offer, track};

#[test]
fn audio_video_and_data_share_one_bundle_and_directions_intersect() {
    let mut a = negotiator_with("aaaa", 1, 1);
    let mut b = negotiator_with("bbbb", 2, 2);
    a.want_data_channel();
    a.add_transceiver(track(MediaKind::Audio, 10)).unwrap();
    a.add_transceiver(track(MediaKind::Video, 20)).unwrap();
    // b has an audio track to send before the offer arrives; it is reused.
    let b_audio = b.add_transceiver(track(MediaKind::Audio, 30)).unwrap();

    let (at_a, at_b) = exchange(&mut a, &mut b);
    let transport = at_a.transport.as_ref().unwrap();
    assert_eq!(transport.bundle_mids.len(), 3);
    assert_eq!(at_a.media.len(), 2);
    assert_eq!(at_a.media[0].direction, Direction::SendRecv);
    // b had no video track: its new transceiver only receives, so a only sends.
    assert_eq!(at_a.media[1].direction, Direction::SendOnly);
    assert_eq!(at_b.media[1].direction, Direction::RecvOnly);
    assert_eq!(b.transceivers().len(), 2);
    assert_eq!(
        b.transceivers()[b_audio.index()].mid(),
        Some(&at_a.media[0].mid)
    );
    // Each side sees the other's SSRCs.
    assert_eq!(at_b.media[0].remote_ssrcs, [strata_sdp::Ssrc(10)]);
    assert_eq!(at_a.media[0].remote_ssrcs, [strata_sdp::Ssrc(30)]);
    assert_eq!(
        at_b.media[1].remote_ssrcs,
        [strata_sdp::Ssrc(20), strata_sdp::Ssrc(21)]
    );
    // Both sides agree on the codecs.
    for (x, y) in at_a.media.iter().zip(&at_b.media) {
        assert_eq!(x.codecs, y.codecs);
        assert_eq!(x.header_extensions, y.header_extensions);
    }
    assert!(
        at_a.media[1]
            .codecs
            .iter()
            .all(|c| c.rtx_payload_type.is_some())
    );
    assert!(!a.needs_negotiation() && !b.needs_negotiation());
}

#[test]
fn codecs_and_extensions_are_the_intersection() {
    let mut a = negotiator_with("aaaa", 1, 1);
    let mut config = support::fixture_config();
    config.media.video = vec![Codec::h264(
        "42e01f",
        1,
        PayloadType::new(120).unwrap(),
        PayloadType::new(121).unwrap(),
    )];
    config
        .media
        .header_extensions
        .retain(|e| e.uri == HeaderExtension::MID);
    let mut b = strata_sdp::Negotiator::new(config).unwrap();
    a.add_transceiver(track(MediaKind::Video, 20)).unwrap();
    let (at_a, _) = exchange(&mut a, &mut b);
    let video = &at_a.media[0];
    assert_eq!(video.codecs.len(), 1);
    // The answer uses the offerer's payload types (102/103), not b's preferred 120/121.
    assert_eq!(video.codecs[0].payload_type.get(), 102);
    assert_eq!(
        video.codecs[0].rtx_payload_type.map(PayloadType::get),
        Some(103)
    );
    assert_eq!(video.header_extensions.len(), 1);
    assert_eq!(video.header_extensions[0].uri, HeaderExtension::MID);
    assert_eq!(video.header_extensions[0].id, 1);
}

#[test]
fn a_section_without_a_common_codec_is_rejected() {
    let mut a = negotiator_with("aaaa", 1, 1);
    let mut config = support::fixture_config();
    config.media.audio.clear();
    let mut b = strata_sdp::Negotiator::new(config).unwrap();
    a.want_data_channel();
    a.add_transceiver(track(MediaKind::Audio, 10)).unwrap();
    let (at_a, _) = exchange(&mut a, &mut b);
    assert!(at_a.media.is_empty());
    assert!(at_a.data_channel.is_some());
    let remote = a.remote_description().unwrap();
    assert_eq!(remote.sdp.media[1].port, 0);
    // The rejected transceiver is stopped.
    assert!(a.transceivers()[0].is_stopped());
}

#[test]
fn renegotiation_adds_a_track_and_changes_direction() {
    let mut a = negotiator_with("aaaa", 1, 1);
    let mut b = negotiator_with("bbbb", 2, 2);
    a.want_data_channel();
    a.add_transceiver(track(MediaKind::Video, 20)).unwrap();
    exchange(&mut a, &mut b);
    // b starts sending video on the transceiver the offer created.
    let id = b.transceivers()[0].id();
    b.set_transceiver_direction(id, Direction::SendRecv)
        .unwrap();
    assert!(b.needs_negotiation());
    let (at_b, at_a) = exchange(&mut b, &mut a);
    assert_eq!(at_b.media[0].direction, Direction::SendRecv);
    assert_eq!(at_a.media[0].direction, Direction::SendRecv);
    // a adds an audio track mid-call: a new section, existing mids unchanged.
    let before: Vec<_> = a
        .local_description()
        .unwrap()
        .sdp
        .media
        .iter()
        .map(|m| m.mid.clone())
        .collect();
    a.add_transceiver(track(MediaKind::Audio, 40)).unwrap();
    assert!(a.needs_negotiation());
    let (at_a, _) = exchange(&mut a, &mut b);
    let after: Vec<_> = a
        .local_description()
        .unwrap()
        .sdp
        .media
        .iter()
        .map(|m| m.mid.clone())
        .collect();
    assert_eq!(&after[..before.len()], &before[..]);
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(at_a.media.len(), 2);
}

#[test]
fn stopping_a_transceiver_rejects_its_section_and_the_slot_is_recycled_with_a_new_mid() {
    let mut a = negotiator_with("aaaa", 1, 1);
    let mut b = negotiator_with("bbbb", 2, 2);
    a.want_data_channel();
    let audio = a.add_transceiver(track(MediaKind::Audio, 10)).unwrap();
    exchange(&mut a, &mut b);
    let old_mid = a.transceivers()[0].mid().unwrap().clone();
    a.stop_transceiver(audio).unwrap();
    assert!(a.needs_negotiation());
    let (at_a, at_b) = exchange(&mut a, &mut b);
    assert!(at_a.media.is_empty() && at_b.media.is_empty());
    let local = a.local_description().unwrap().sdp;
    assert_eq!(local.media.len(), 2);
    assert_eq!(local.media[1].port, 0);
    assert!(b.transceivers()[0].is_stopped());

    a.add_transceiver(track(MediaKind::Video, 50)).unwrap();
    let (at_a, _) = exchange(&mut a, &mut b);
    let local = a.local_description().unwrap().sdp;
    assert_eq!(local.media.len(), 2, "the rejected slot was reused");
    assert_eq!(local.media[1].kind, MediaKind::Video);
    assert_ne!(local.media[1].mid.as_ref(), Some(&old_mid));
    assert_eq!(at_a.media.len(), 1);
}

#[test]
fn a_re_offer_that_drops_m_lines_is_rejected() {
    let mut a = negotiator_with("aaaa", 1, 1);
    let mut b = negotiator_with("bbbb", 2, 2);
    a.want_data_channel();
    a.add_transceiver(track(MediaKind::Audio, 10)).unwrap();
    exchange(&mut a, &mut b);
    let mut shorter = a.create_offer().unwrap();
    shorter.sdp.media.pop();
    shorter.sdp.groups[0].mids.pop();
    let err = b
        .set_remote_description(offer(&shorter.to_sdp_string()))
        .unwrap_err();
    assert_eq!(
        err,
        Error::Protocol(ProtocolViolation::SectionsRemoved {
            negotiated: 2,
            offered: 1
        })
    );
}

#[test]
fn glare_with_tracks_on_both_sides_binds_the_polite_peers_track_to_the_winning_offer() {
    let mut impolite = negotiator_with("impo", 1, 1);
    let mut polite = negotiator_with("poli", 2, 2);
    impolite
        .add_transceiver(track(MediaKind::Audio, 10))
        .unwrap();
    let polite_audio = polite.add_transceiver(track(MediaKind::Audio, 30)).unwrap();
    let offer_i = impolite.create_offer().unwrap();
    impolite.set_local_description(&offer_i).unwrap();
    let offer_p = polite.create_offer().unwrap();
    polite.set_local_description(&offer_p).unwrap();
    let applied = polite
        .set_remote_description(offer(&offer_i.to_sdp_string()))
        .unwrap();
    assert!(applied.rolled_back_local_offer);
    // Its own track now rides in the impolite peer's audio section.
    assert_eq!(
        polite.transceivers()[polite_audio.index()].mid(),
        offer_i.sdp.media[0].mid.as_ref()
    );
    assert_eq!(polite.transceivers().len(), 1);
    let answer_p = polite.create_answer().unwrap();
    let at_polite = polite
        .set_local_description(&answer_p)
        .unwrap()
        .negotiated
        .unwrap();
    assert_eq!(at_polite.media[0].direction, Direction::SendRecv);
    assert_eq!(at_polite.media[0].transceiver, polite_audio);
}

#[test]
fn a_track_added_to_a_receive_only_transceiver_starts_sending_after_renegotiation() {
    let mut a = negotiator_with("aaaa", 1, 1);
    let mut b = negotiator_with("bbbb", 2, 2);
    a.add_transceiver(track(MediaKind::Video, 20)).unwrap();
    exchange(&mut a, &mut b);
    let id = b.transceivers()[0].id();
    assert_eq!(
        b.set_transceiver_track(id, track(MediaKind::Audio, 70)),
        Err(Error::InvalidArgument(strata_sdp::Misuse::TransceiverKind))
    );
    b.set_transceiver_track(id, track(MediaKind::Video, 70))
        .unwrap();
    assert!(b.needs_negotiation());
    let (at_b, at_a) = exchange(&mut b, &mut a);
    assert_eq!(at_b.media[0].direction, Direction::SendRecv);
    assert_eq!(
        at_a.media[0].remote_ssrcs,
        [strata_sdp::Ssrc(70), strata_sdp::Ssrc(71)]
    );
}

fn audio_offer(version: u64, mids: &[String], rejected: bool) -> String {
    let mut text = format!(
        "v=0\r\no=- 5 {version} IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE {}\r\n",
        if rejected { &mids[..1] } else { mids }.join(" ")
    );
    for (i, mid) in mids.iter().enumerate() {
        let port = if rejected && i > 0 { 0 } else { 9 };
        write!(
            text,
            "m=audio {port} UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:{mid}\r\n\
             a=ice-ufrag:pEeR\r\na=ice-pwd:peerpeerpeerpeerpeerpe\r\n\
             a=fingerprint:sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F\r\n\
             a=setup:actpass\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
        )
        .unwrap();
    }
    text
}

fn answer_offer(negotiator: &mut strata_sdp::Negotiator, text: &str) {
    let _ = negotiator.set_remote_description(offer(text)).unwrap();
    let ours = negotiator.create_answer().unwrap();
    negotiator.set_local_description(&ours).unwrap();
}

#[test]
fn a_peer_recycling_sections_cannot_grow_our_transceivers_without_bound() {
    use strata_sdp::limits::{MAX_MEDIA_SECTIONS, MAX_TRANSCEIVERS};
    let mut b = negotiator_with("bbbb", 2, 2);
    let mut version = 1;
    let mut round = 0;
    // Each round offers a full set of fresh sections, then rejects all but the first
    // so the next round can recycle them.
    while b.transceivers().len() < MAX_TRANSCEIVERS {
        let mids: Vec<String> = std::iter::once("keep".to_owned())
            .chain((1..MAX_MEDIA_SECTIONS).map(|i| format!("r{round}m{i}")))
            .collect();
        version += 1;
        answer_offer(&mut b, &audio_offer(version, &mids, false));
        version += 1;
        answer_offer(&mut b, &audio_offer(version, &mids, true));
        round += 1;
        assert!(round < 10, "transceivers stopped growing below the bound");
    }
    assert_eq!(b.transceivers().len(), MAX_TRANSCEIVERS);
    let mids: Vec<String> = std::iter::once("keep".to_owned())
        .chain((1..MAX_MEDIA_SECTIONS).map(|i| format!("last{i}")))
        .collect();
    version += 1;
    let refused_before = b.stats().refused_media_sections;
    answer_offer(&mut b, &audio_offer(version, &mids, false));
    assert_eq!(b.transceivers().len(), MAX_TRANSCEIVERS);
    assert_eq!(
        b.stats().refused_media_sections - refused_before,
        (MAX_MEDIA_SECTIONS - 1) as u64
    );
    let local = b.local_description().unwrap().sdp;
    assert!(local.media[1..].iter().all(|m| m.port == 0));
    assert_eq!(
        b.add_transceiver(track(MediaKind::Audio, 1)),
        Err(Error::InvalidArgument(
            strata_sdp::Misuse::TooManyTransceivers
        ))
    );
}

#[test]
fn codec_preferences_shape_offers_and_answers() {
    let mut a = negotiator_with("aaaa", 1, 1);
    let mut b = negotiator_with("bbbb", 2, 2);
    let video = a.add_transceiver(track(MediaKind::Video, 20)).unwrap();
    // Only configured capabilities of the transceiver's kind.
    assert!(matches!(
        a.set_codec_preferences(video, vec![Codec::opus()]),
        Err(Error::InvalidArgument(_))
    ));
    a.set_codec_preferences(video, vec![Codec::vp9(), Codec::vp8()])
        .unwrap();
    assert_eq!(
        a.transceivers()[video.index()].codec_preferences(),
        Some(&[Codec::vp9(), Codec::vp8()][..])
    );
    let offer = a.create_offer().unwrap().to_sdp_string();
    // VP9 and VP8 with their RTX, nothing else, VP9 first.
    assert!(
        offer.contains("m=video 9 UDP/TLS/RTP/SAVPF 98 99 96 97\r\n"),
        "{offer}"
    );

    let (at_a, _) = exchange(&mut a, &mut b);
    let names: Vec<_> = at_a.media[0]
        .codecs
        .iter()
        .map(|c| c.rtpmap.encoding.as_str())
        .collect();
    assert_eq!(names, ["VP9", "VP8"]);
}

#[test]
fn an_answerer_with_codec_preferences_answers_in_its_own_order() {
    let mut a = negotiator_with("cccc", 3, 3);
    let mut b = negotiator_with("dddd", 4, 4);
    a.add_transceiver(track(MediaKind::Video, 40)).unwrap();
    let b_video = b.add_transceiver(track(MediaKind::Video, 50)).unwrap();
    b.set_codec_preferences(b_video, vec![Codec::vp9(), Codec::vp8()])
        .unwrap();
    let (at_a, at_b) = exchange(&mut a, &mut b);
    let names: Vec<_> = at_b.media[0]
        .codecs
        .iter()
        .map(|c| c.rtpmap.encoding.as_str())
        .collect();
    assert_eq!(names, ["VP9", "VP8"]);
    assert_eq!(at_a.media[0].codecs, at_b.media[0].codecs);
}

#[test]
fn an_offer_without_a_preferred_codec_is_rejected_rather_than_answered_empty() {
    let mut a = negotiator_with("eeee", 5, 5);
    let mut b = negotiator_with("ffff", 6, 6);
    let a_video = a.add_transceiver(track(MediaKind::Video, 60)).unwrap();
    a.set_codec_preferences(a_video, vec![Codec::vp8()])
        .unwrap();
    let b_video = b.add_transceiver(track(MediaKind::Video, 70)).unwrap();
    b.set_codec_preferences(b_video, vec![Codec::vp9()])
        .unwrap();
    a.want_data_channel();
    let (at_a, _) = exchange(&mut a, &mut b);
    assert!(at_a.media.is_empty(), "{:?}", at_a.media);
}
