//! The hostile-peer harness: a peer that completes ICE and DTLS honestly with a Strata
//! `PeerConnection` and then misbehaves ([`peer`], [`sctp`]), while the same process
//! serves a healthy pair of Strata connections whose transfer must arrive intact
//! ([`Healthy`]). Every test also watches for panics in any thread ([`PanicWatch`]) and
//! for memory growth ([`Memory`]).

// Each test binary uses its own subset of this module.
#![allow(dead_code)]

pub(crate) mod peer;
pub(crate) mod sctp;

use std::sync::{Mutex, Once};

use bytes::Bytes;
use strata::{
    ChannelOptions, DataChannel, Message, PeerConnectionState, TrackKind, TrackLocalInit,
};

use crate::peers::media::{FRAME, frame_len, next_sample, vp8_frame, vp8_index, write_paced};
use crate::peers::{PATIENCE, Peer, connected_with_channel, loopback, negotiate, next_message};

// ----- panics -----

/// Every panic message seen in this process, from any thread (tokio tasks included:
/// tokio catches a task's panic, but the hook runs first).
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static INSTALL: Once = Once::new();

/// Records panics from the moment it is created; [`assert_none`](Self::assert_none)
/// fails the test if any thread of the process panicked since.
pub(crate) struct PanicWatch {
    seen_before: usize,
}

impl PanicWatch {
    /// Installs the recording hook (once per process), keeping the default report.
    pub(crate) fn install() -> Self {
        INSTALL.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                let thread = std::thread::current();
                let name = thread.name().unwrap_or("unnamed").to_owned();
                PANICS
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(format!("thread {name}: {info}"));
                previous(info);
            }));
        });
        Self {
            seen_before: recorded().len(),
        }
    }

    /// Fails if any thread panicked since [`install`](Self::install).
    pub(crate) fn assert_none(&self) {
        let panics = recorded();
        let new = &panics[self.seen_before.min(panics.len())..];
        assert!(new.is_empty(), "panics during the test: {new:#?}");
    }
}

fn recorded() -> Vec<String> {
    PANICS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

// ----- memory -----

/// The process's resident set, from `/proc/self/status`, in KiB.
pub(crate) fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// Resident memory at the start of a test, and the growth it allows.
pub(crate) struct Memory {
    baseline_kib: u64,
    peak_kib: u64,
}

impl Memory {
    pub(crate) fn start() -> Self {
        let baseline_kib = rss_kib();
        Self {
            baseline_kib,
            peak_kib: baseline_kib,
        }
    }

    /// Samples the resident set now.
    pub(crate) fn sample(&mut self) {
        self.peak_kib = self.peak_kib.max(rss_kib());
    }

    /// Fails if the resident set ever grew by more than `bound_mib` over the baseline,
    /// and returns the growth seen, in MiB, for the report.
    pub(crate) fn assert_growth_below(&mut self, what: &str, bound_mib: u64) -> f64 {
        self.sample();
        let growth_kib = self.peak_kib.saturating_sub(self.baseline_kib);
        #[allow(clippy::cast_precision_loss)]
        let growth_mib = growth_kib as f64 / 1024.0;
        eprintln!("{what}: resident set grew by {growth_mib:.1} MiB (bound {bound_mib} MiB)");
        assert!(
            growth_kib < bound_mib * 1024,
            "{what}: the resident set grew by {growth_mib:.1} MiB, over the {bound_mib} MiB bound"
        );
        growth_mib
    }
}

// ----- the healthy connection -----

/// Messages the healthy channel carries, and their size: 4 MiB in all.
const HEALTHY_MESSAGES: u64 = 256;
const HEALTHY_MESSAGE_LEN: usize = 16 * 1024;
/// Video frames the healthy track carries (about three seconds).
const HEALTHY_FRAMES: u64 = 90;

/// Two well-behaved Strata connections in this process: a reliable channel, and
/// optionally a video track, whose transfer must arrive byte for byte while the hostile
/// peer does its worst to another connection.
pub(crate) struct Healthy {
    sender: Peer,
    receiver: Peer,
    local: DataChannel,
    remote: DataChannel,
    with_media: bool,
}

impl Healthy {
    /// Connects the pair, with a video track from the sender when `with_media`.
    pub(crate) async fn connect(with_media: bool) -> Self {
        let (sender, receiver, local, remote) =
            connected_with_channel(loopback(), loopback(), "healthy", ChannelOptions::default())
                .await;
        Self {
            sender,
            receiver,
            local,
            remote,
            with_media,
        }
    }

    /// Runs the transfer in the background; the handle's output is checked by
    /// [`Transfer::finish`].
    pub(crate) fn start(self) -> Transfer {
        Transfer(tokio::spawn(self.transfer()))
    }

    async fn transfer(mut self) -> Self {
        let local = self.local.clone();
        let send = tokio::spawn(async move {
            for index in 0..HEALTHY_MESSAGES {
                local
                    .send(crate::peers::payload(index, HEALTHY_MESSAGE_LEN))
                    .await
                    .expect("the healthy channel accepts every message");
            }
        });
        let media = if self.with_media {
            Some(self.media_transfer().await)
        } else {
            None
        };
        for index in 0..HEALTHY_MESSAGES {
            match next_message(&self.remote).await {
                Some(Message::Binary(data)) => assert!(
                    data == crate::peers::payload(index, HEALTHY_MESSAGE_LEN),
                    "healthy message {index} arrived corrupted"
                ),
                other => panic!("healthy message {index}: expected binary, got {other:?}"),
            }
        }
        send.await.expect("the healthy sender finished");
        if let Some(media) = media {
            media
                .await
                .expect("the healthy track delivered every frame");
        }
        self
    }

    /// Adds a video track on the sender, renegotiates, and returns the task that writes
    /// every frame and checks each one on arrival.
    async fn media_transfer(&mut self) -> tokio::task::JoinHandle<()> {
        let track = self
            .sender
            .pc
            .add_track(TrackLocalInit::new(
                TrackKind::Video,
                "healthy",
                "healthy-video",
            ))
            .await
            .expect("a video track");
        negotiate(&self.sender.pc, &self.receiver.pc).await;
        let frames: Vec<Bytes> = (0..HEALTHY_FRAMES)
            .map(|i| vp8_frame(i, frame_len(i), true))
            .collect();
        let expected = frames.clone();
        tokio::spawn(async move {
            write_paced(&track, frames, FRAME).await;
        });
        let remote = self.receiver.next_track().await;
        tokio::spawn(async move {
            // Real-time media may lose a frame when the machine is starved (the jitter
            // buffer gives up on it): every frame that arrives must be intact and in
            // order, the last one must arrive, and nearly all of them.
            let mut next = 0;
            let mut arrived = 0;
            while next < HEALTHY_FRAMES {
                let sample = next_sample(&remote).await;
                let index = vp8_index(&sample.data).expect("a healthy frame arrives intact");
                assert!(
                    index >= next,
                    "frame {index} after {next}: out of order or twice"
                );
                assert_eq!(sample.data, expected[usize::try_from(index).unwrap()]);
                next = index + 1;
                arrived += 1;
            }
            assert!(
                arrived >= HEALTHY_FRAMES * 9 / 10,
                "only {arrived} of {HEALTHY_FRAMES} healthy frames arrived"
            );
        })
    }
}

/// The healthy transfer, running.
pub(crate) struct Transfer(tokio::task::JoinHandle<Healthy>);

impl Transfer {
    /// Waits for every byte to arrive (each is checked), then checks the healthy pair is
    /// still connected and closes it.
    pub(crate) async fn finish(self) {
        let healthy = tokio::time::timeout(PATIENCE * 3, self.0)
            .await
            .expect("the healthy transfer finished within the patience bound")
            .expect("the healthy transfer completed intact");
        for peer in [&healthy.sender, &healthy.receiver] {
            assert_eq!(peer.pc.connection_state(), PeerConnectionState::Connected);
        }
        healthy.sender.pc.close().await;
        healthy.receiver.pc.close().await;
    }
}
