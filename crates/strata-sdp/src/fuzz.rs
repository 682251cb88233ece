//! Fuzz target bodies (feature `fuzzing`), called by the workspace's `fuzz/` crate.
//!
//! Each takes arbitrary bytes and must never panic on them. Each also checks an
//! invariant and panics only when that invariant breaks: that panic is the bug the
//! fuzzer reports. Seeds live in `fuzz-seeds/` and `tests/fixtures/`.

// Panicking when an invariant breaks is what a fuzz body is for.
#![allow(clippy::missing_panics_doc, clippy::manual_assert)]

use crate::candidate::{Candidate, TrickledCandidate};
use crate::error::{Error, Limit, Misuse};
use crate::media::TransceiverInit;
use crate::model::{Direction, Fingerprint, IceCredentials, MediaKind, SessionDescription, Ssrc};
use crate::negotiation::{Config, Description, Negotiator, SdpType};

/// Parses arbitrary bytes as SDP.
pub fn parse(data: &[u8]) {
    let _ = SessionDescription::parse_bytes(data);
}

/// Parse → serialize → parse gives an equal model, and serializing is stable.
pub fn round_trip(data: &[u8]) {
    let Ok(first) = SessionDescription::parse_bytes(data) else {
        return;
    };
    let text = first.to_string();
    let second = match SessionDescription::parse(&text) {
        Ok(second) => second,
        // CRLF endings and the filled-in `t=` can push an input just under a size bound
        // over it; that is the bound working, not a round-trip failure.
        Err(Error::LimitExceeded {
            limit: Limit::DescriptionBytes | Limit::LineBytes,
            ..
        }) => return,
        Err(error) => panic!("serialized description does not parse: {error}\n{text}"),
    };
    assert_eq!(first, second, "round trip changed the model\n{text}");
    assert_eq!(text, second.to_string(), "serialization is not stable");
}

/// Parses a candidate; a parsed candidate's text parses to an equal candidate.
pub fn candidate(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(candidate) = Candidate::parse(text) else {
        return;
    };
    let again = Candidate::parse(&candidate.to_string())
        .unwrap_or_else(|e| panic!("serialized candidate does not parse: {e}: {candidate}"));
    assert_eq!(candidate, again, "candidate round trip changed it");
}

fn negotiator(session_id: u64) -> Negotiator {
    let credentials = IceCredentials::new("fUzZ", "fuzzfuzzfuzzfuzzfuzz01")
        .unwrap_or_else(|e| panic!("fixed credentials are valid: {e}"));
    let mut config = Config::new(session_id, credentials, Fingerprint::sha256([7; 32]));
    config.trickle = true;
    let Ok(mut negotiator) = Negotiator::new(config) else {
        panic!("a configuration with a fingerprint is valid");
    };
    negotiator.want_data_channel();
    negotiator
}

fn audio_video(negotiator: &mut Negotiator) {
    for (kind, ssrc) in [(MediaKind::Audio, 1), (MediaKind::Video, 2)] {
        let added = negotiator.add_transceiver(TransceiverInit {
            kind,
            direction: Direction::SendRecv,
            stream_id: "s".to_owned(),
            track_id: format!("t{ssrc}"),
            ssrc: Some(Ssrc(ssrc)),
            rtx_ssrc: Some(Ssrc(ssrc + 100)),
            cname: "fuzz".to_owned(),
        });
        if added.is_err() {
            panic!("a fresh negotiator has room for two transceivers");
        }
    }
}

/// An arbitrary remote offer: applying it never panics, and when it applies, our answer
/// is created, applied, and parses back.
pub fn answer_remote_offer(data: &[u8]) {
    let Ok(sdp) = SessionDescription::parse_bytes(data) else {
        return;
    };
    let mut negotiator = negotiator(1);
    audio_video(&mut negotiator);
    let Ok(applied) = negotiator.set_remote_description(Description {
        kind: SdpType::Offer,
        sdp,
    }) else {
        return;
    };
    if applied.ice_restart {
        // A fresh negotiator never sees a restart.
        panic!("first remote offer reported an ICE restart");
    }
    let answer = match negotiator.create_answer() {
        Ok(answer) => answer,
        Err(Error::InvalidArgument(Misuse::RestartNeedsCredentials)) => return,
        Err(error) => panic!("answer to an applied offer failed: {error}"),
    };
    let text = answer.to_sdp_string();
    if let Err(error) = SessionDescription::parse(&text) {
        panic!("our answer does not parse: {error}\n{text}");
    }
    if let Err(error) = negotiator.set_local_description(&answer) {
        panic!("our own answer did not apply: {error}");
    }
}

/// Our offer (data, audio, video) and an arbitrary remote answer: applying it never
/// panics, and a failed answer leaves us in `have-local-offer`.
pub fn apply_remote_answer(data: &[u8]) {
    let Ok(sdp) = SessionDescription::parse_bytes(data) else {
        return;
    };
    let mut negotiator = negotiator(2);
    audio_video(&mut negotiator);
    let Ok(offer) = negotiator.create_offer() else {
        panic!("a fresh negotiator creates an offer");
    };
    if negotiator.set_local_description(&offer).is_err() {
        panic!("our own offer did not apply");
    }
    let result = negotiator.set_remote_description(Description {
        kind: SdpType::Answer,
        sdp,
    });
    if result.is_err() {
        assert_eq!(
            negotiator.signaling_state(),
            crate::SignalingState::HaveLocalOffer,
            "a rejected answer changed the state"
        );
    }
}

/// Trickled candidate lines (one per line of input) before and after a remote offer:
/// never a panic, and the held ones stay within bounds.
pub fn trickle(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut negotiator = negotiator(3);
    let offer = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
        a=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdabcdabcdabcdabcdab\r\n\
        a=fingerprint:sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F\r\n\
        a=setup:actpass\r\na=sctp-port:5000\r\n";
    let lines: Vec<&str> = text.lines().collect();
    let (before, after) = lines.split_at(lines.len() / 2);
    for line in before {
        if let Ok(c) = TrickledCandidate::parse(line, Some("0"), None, None) {
            let _ = negotiator.add_remote_candidate(c);
        }
    }
    let Ok(description) = Description::parse(SdpType::Offer, offer) else {
        panic!("the fixed offer parses");
    };
    if negotiator.set_remote_description(description).is_err() {
        panic!("the fixed offer applies");
    }
    for line in after {
        if let Ok(c) = TrickledCandidate::parse(line, Some("0"), Some(0), None) {
            let _ = negotiator.add_remote_candidate(c);
        }
    }
    if let Some(remote) = negotiator.remote_description() {
        for media in &remote.sdp.media {
            assert!(media.candidates.len() <= crate::limits::MAX_CANDIDATES_PER_SECTION);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn fixtures() -> Vec<Vec<u8>> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
            .collect();
        seeds.sort();
        seeds
    }

    /// xorshift64: a seeded, reproducible mutation source.
    struct Mutator(u64);

    impl Mutator {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }

        fn mutate(&mut self, input: &[u8]) -> Vec<u8> {
            let mut out = input.to_vec();
            for _ in 0..=self.below(4) {
                let at = self.below(out.len() + 1);
                match self.below(5) {
                    0 if !out.is_empty() => {
                        let at = at.min(out.len() - 1);
                        out[at] = self.next() as u8;
                    }
                    1 => out.truncate(at),
                    2 => {
                        let end = (at + self.below(64)).min(out.len());
                        out.drain(at..end);
                    }
                    3 => {
                        let start = self.below(out.len() + 1);
                        let end = (start + self.below(80)).min(out.len());
                        let chunk = out[start..end].to_vec();
                        out.splice(at.min(out.len())..at.min(out.len()), chunk);
                    }
                    _ => {
                        let token: &[u8] = [
                            b"\r\n".as_slice(),
                            b"a=",
                            b"m=audio 0 RTP/AVP 0\n",
                            b":",
                            b" ",
                            b"a=group:BUNDLE 0 1\n",
                            b"a=setup:actpass\n",
                            b"\xff",
                        ][self.below(8)];
                        out.splice(at.min(out.len())..at.min(out.len()), token.iter().copied());
                    }
                }
            }
            out
        }
    }

    fn run_with_mutations(body: fn(&[u8]), seed: u64, rounds: usize) {
        let seeds = fixtures();
        let mut mutator = Mutator(seed);
        for input in &seeds {
            body(input);
        }
        for _ in 0..rounds {
            let base = &seeds[mutator.below(seeds.len())];
            body(&mutator.mutate(base));
        }
    }

    #[test]
    fn parse_and_round_trip_survive_mutated_real_descriptions() {
        run_with_mutations(parse, 1, 1000);
        run_with_mutations(round_trip, 2, 1000);
    }

    #[test]
    fn negotiation_bodies_survive_mutated_real_descriptions() {
        run_with_mutations(answer_remote_offer, 3, 500);
        run_with_mutations(apply_remote_answer, 4, 500);
    }

    #[test]
    fn candidate_and_trickle_bodies_survive_mutated_candidate_lists() {
        run_with_mutations(candidate, 5, 1000);
        run_with_mutations(trickle, 6, 300);
    }
}
