//! Media forwarding cost: what it takes to receive one 30 fps, ~1.5 Mbit/s VP8 stream and
//! send it back, as the `reflect` example does, through the real code without sockets.
//!
//! Per received datagram: SRTP unprotect (`strata-dtls-srtp`, AEAD-AES-128-GCM), the
//! receive path of a `MediaSession` (parse, routing, depacketization, reception
//! statistics, the jitter buffer, frame assembly), then each released frame written back
//! as a sample on a sending track of the same session (packetization, sequence numbers,
//! extensions, the retransmission cache) and every packet SRTP-protected; RTCP the
//! session emits on its timers is protected too. The input is 10 s of one stream, SRTP-
//! protected by the sending peer beforehand (untimed).
//!
//! Reported as CPU time per second of stream (Linux `schedstat` of the measuring thread)
//! and as streams per core: how many such streams one fully busy core could forward.
//!
//! Run: `cargo bench -p strata-media --bench forwarding`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use strata_dtls_srtp::{SrtpConfig, SrtpKeyingMaterial, SrtpKeys, SrtpProfile, SrtpSession};
use strata_media::rtp::ExtensionIds;
use strata_media::{
    Codec, Event, LocalTrackConfig, MediaSession, Mid, Output, PayloadType, RemoteTrackConfig,
    Sample, SampleTiming, SessionConfig,
};

const IDS: ExtensionIds = ExtensionIds {
    mid: Some(1),
    abs_send_time: Some(2),
    transport_cc: Some(3),
};

/// Seconds of media in one iteration.
const STREAM_SECONDS: u32 = 10;
const FPS: u64 = 30;
/// 1.5 Mbit/s at 30 fps.
const FRAME_BYTES: usize = 6250;
const PROFILE: SrtpProfile = SrtpProfile::AeadAes128Gcm;

fn keys(seed: u8) -> SrtpKeys {
    SrtpKeys {
        master_key: vec![seed; PROFILE.key_len()],
        master_salt: vec![seed ^ 0x5a; PROFILE.salt_len()],
    }
}

fn srtp(local: u8, remote: u8) -> SrtpSession {
    let keying = SrtpKeyingMaterial {
        profile: PROFILE,
        local: keys(local),
        remote: keys(remote),
    };
    SrtpSession::new(&keying, SrtpConfig::default()).expect("valid keys")
}

fn mid(text: &str) -> Mid {
    Mid::new(text).expect("valid mid")
}

fn vp8() -> PayloadType {
    PayloadType::new(96).expect("valid payload type")
}

/// The browser's side: `STREAM_SECONDS` of VP8 at 30 fps (a keyframe every 10 s),
/// packetized by a sending `MediaSession` and SRTP-protected, as datagrams.
fn protected_stream() -> Vec<Vec<u8>> {
    let start = Instant::now();
    let mut sender = MediaSession::new(SessionConfig::with_seed(1), start).expect("valid");
    let mut config = LocalTrackConfig::new(mid("0"), Codec::Vp8, vp8());
    config.extensions = IDS;
    sender.add_local_track(config).expect("new track");
    let mut srtp = srtp(1, 2);
    let mut datagrams = Vec::new();
    for i in 0..u64::from(STREAM_SECONDS) * FPS {
        let mut data = vec![(i % 256) as u8; FRAME_BYTES];
        // VP8 payload header: bit 0 clear on a keyframe.
        data[0] = u8::from(i % 300 != 0);
        let sample = Sample {
            data: Bytes::from(data),
            timing: SampleTiming::RtpTime((i * 3000) as u32),
        };
        sender
            .write_sample(start, &mid("0"), &sample)
            .expect("written");
        while let Some(output) = sender.poll_output() {
            if let Output::Rtp(packet) = output {
                let mut out = vec![0; packet.len() + strata_dtls_srtp::srtp::MAX_OVERHEAD];
                let len = srtp.protect_rtp(&packet, &mut out).expect("protected");
                out.truncate(len);
                datagrams.push(out);
            }
        }
    }
    datagrams
}

/// Our side: one session receiving the stream on mid 0 and sending it back on mid 1.
struct Reflector {
    session: MediaSession,
    srtp: SrtpSession,
    back: Mid,
    scratch: Vec<u8>,
    sent: usize,
}

impl Reflector {
    fn new(start: Instant) -> Self {
        let mut session = MediaSession::new(SessionConfig::with_seed(2), start).expect("valid");
        let mut remote = RemoteTrackConfig::new(mid("0"), Codec::Vp8, vp8());
        remote.extensions = IDS;
        session.add_remote_track(remote).expect("new track");
        let mut local = LocalTrackConfig::new(mid("1"), Codec::Vp8, vp8());
        local.extensions = IDS;
        session.add_local_track(local).expect("new track");
        Self {
            session,
            srtp: srtp(2, 1),
            back: mid("1"),
            scratch: vec![0; 1500 + strata_dtls_srtp::srtp::MAX_OVERHEAD],
            sent: 0,
        }
    }

    /// One datagram as read from the socket.
    fn receive(&mut self, now: Instant, datagram: &[u8]) {
        let mut buf = datagram.to_vec();
        let len = self
            .srtp
            .unprotect_rtp_in_place(&mut buf)
            .expect("authentic");
        buf.truncate(len);
        self.session
            .handle_rtp(now, &Bytes::from(buf))
            .expect("well formed");
        if self.session.poll_timeout().is_some_and(|t| t <= now) {
            self.session.handle_timeout(now);
        }
        self.drain(now);
    }

    fn drain(&mut self, now: Instant) {
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Rtp(packet) => {
                    let len = self
                        .srtp
                        .protect_rtp(&packet, &mut self.scratch)
                        .expect("protected");
                    black_box(&self.scratch[..len]);
                    self.sent += 1;
                }
                Output::Rtcp(packet) => {
                    let mut out = vec![0; packet.len() + strata_dtls_srtp::srtp::MAX_OVERHEAD];
                    let len = self
                        .srtp
                        .protect_rtcp(&packet, &mut out)
                        .expect("protected");
                    black_box(&out[..len]);
                }
                Output::Event(Event::Media(media)) => {
                    let sample = Sample {
                        data: media.data,
                        timing: SampleTiming::RtpTime(media.rtp_timestamp as u32),
                    };
                    self.session
                        .write_sample(now, &self.back, &sample)
                        .expect("written");
                }
                Output::Event(other) => {
                    black_box(other);
                }
                _ => {}
            }
        }
    }
}

/// Forwards the whole stream once, in virtual time. Returns the packets sent back.
fn forward(datagrams: &[Vec<u8>]) -> usize {
    let start = Instant::now();
    let mut reflector = Reflector::new(start);
    let per_packet = Duration::from_secs(u64::from(STREAM_SECONDS)) / datagrams.len() as u32;
    let mut now = start;
    for datagram in datagrams {
        now += per_packet;
        reflector.receive(now, datagram);
    }
    // Let the last frames reach their playout time.
    now += Duration::from_millis(500);
    reflector.session.handle_timeout(now);
    reflector.drain(now);
    reflector.sent
}

fn thread_cpu_nanos() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// CPU time of the measuring thread per second of forwarded stream, over at least two
/// CPU-seconds of repetitions.
fn cpu_report(datagrams: &[Vec<u8>]) {
    let sent = forward(datagrams);
    let mut spent = 0;
    let mut runs = 0u32;
    while spent < 2_000_000_000 {
        let Some(before) = thread_cpu_nanos() else {
            println!("(no /proc/thread-self/schedstat: CPU report skipped)");
            return;
        };
        black_box(forward(datagrams));
        spent += thread_cpu_nanos().unwrap_or(before) - before;
        runs += 1;
    }
    let per_stream_second = spent as f64 / f64::from(runs) / f64::from(STREAM_SECONDS) / 1e9;
    let per_packet_us = spent as f64 / f64::from(runs) / datagrams.len() as f64 / 1e3;
    println!(
        "forwarding one 30 fps ~1.5 Mbit/s VP8 stream ({} packets/s in, {} back): \
         {:.2} ms CPU per stream-second, {:.2} µs per received packet, {:.0} streams per core",
        datagrams.len() as u32 / STREAM_SECONDS,
        sent as u32 / STREAM_SECONDS,
        per_stream_second * 1e3,
        per_packet_us,
        1.0 / per_stream_second,
    );
}

fn forwarding(c: &mut Criterion) {
    let datagrams = protected_stream();
    let mut group = c.benchmark_group("forwarding");
    group.throughput(Throughput::Elements(datagrams.len() as u64));
    group.sample_size(10);
    group.bench_function("strata: srtp + receive + send + srtp", |b| {
        b.iter_batched(|| (), |()| forward(&datagrams), BatchSize::SmallInput);
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = forwarding
}

fn main() {
    cpu_report(&protected_stream());
    benches();
    Criterion::default().configure_from_args().final_summary();
}
