//! A hand-driven SCTP endpoint (RFC 9260) over the hostile peer's DTLS transport: it
//! answers Strata's INIT and COOKIE-ECHO honestly, acknowledges DATA (unless told to stop
//! reading) and answers heartbeats, and otherwise sends whatever chunks the test builds,
//! valid or not.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use strata_datachannel::sctp::seal;
use strata_dtls_srtp::DtlsTransport;
use tokio::sync::watch;

use crate::peers::PATIENCE;

/// Our verification tag and initial TSN (any values work; fixed for reproducibility).
const OUR_TAG: u32 = 0x0BAD_CAFE;
const OUR_INITIAL_TSN: u32 = 1000;
/// DATA chunk flags (RFC 9260 §3.3.1).
pub(crate) const BEGIN: u8 = 0b010;
pub(crate) const END: u8 = 0b001;
/// DCEP's payload protocol id, and binary data's (RFC 8831 §8).
pub(crate) const PPID_DCEP: u32 = 50;
pub(crate) const PPID_BINARY: u32 = 53;
/// The largest SCTP packet we build, well inside one DTLS record over loopback.
const MAX_PACKET: usize = 1100;

struct State {
    /// Strata's verification tag, from its INIT.
    their_tag: u32,
    /// The highest TSN received from Strata (acknowledged cumulatively).
    their_tsn: Option<u32>,
    /// The next TSN we send.
    next_tsn: u32,
    /// The next stream sequence number per stream.
    ssn: HashMap<u16, u16>,
    /// DATA chunks Strata has not acknowledged yet, by TSN offset from our initial TSN:
    /// resent until it does, since datagrams can be lost even on loopback.
    unacked: BTreeMap<u32, Vec<u8>>,
}

/// How often unacknowledged DATA is resent.
const RESEND_INTERVAL: Duration = Duration::from_millis(200);

/// The endpoint: cloneable, every clone the same association.
#[derive(Clone)]
pub(crate) struct RawSctp {
    dtls: Arc<DtlsTransport>,
    state: Arc<Mutex<State>>,
    /// When set, DATA from Strata is neither read nor acknowledged.
    deaf: Arc<AtomicBool>,
    /// DCEP ACKs (RFC 8832 §5.2) received from Strata.
    pub(crate) dcep_acks: Arc<AtomicU64>,
    /// Whether Strata sent ABORT.
    pub(crate) aborted: Arc<AtomicBool>,
}

impl RawSctp {
    /// Answers Strata's association set-up over the DTLS transport and returns once it is
    /// established (Strata's COOKIE-ECHO answered).
    pub(crate) async fn accept(dtls: Arc<DtlsTransport>) -> Self {
        let sctp = Self {
            dtls,
            state: Arc::new(Mutex::new(State {
                their_tag: 0,
                their_tsn: None,
                next_tsn: OUR_INITIAL_TSN,
                ssn: HashMap::new(),
                unacked: BTreeMap::new(),
            })),
            deaf: Arc::default(),
            dcep_acks: Arc::default(),
            aborted: Arc::default(),
        };
        let (established_tx, mut established) = watch::channel(false);
        let reader = sctp.clone();
        tokio::spawn(async move {
            reader.read_loop(established_tx).await;
        });
        let resender = sctp.clone();
        tokio::spawn(async move { resender.resend_loop().await });
        tokio::time::timeout(PATIENCE, established.wait_for(|e| *e))
            .await
            .expect("SCTP established within the patience bound")
            .expect("the SCTP reader is alive");
        sctp
    }

    /// Stops reading and acknowledging what Strata sends (a peer that never reads).
    pub(crate) fn stop_reading(&self) {
        self.deaf.store(true, Ordering::Relaxed);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn read_loop(self, established: watch::Sender<bool>) {
        let mut buf = vec![0; 65_536];
        loop {
            let Ok(len) = self.dtls.recv(&mut buf).await else {
                return;
            };
            let packet = &buf[..len];
            if packet.len() < 16 {
                continue;
            }
            let mut replies = Vec::new();
            let mut acknowledge = false;
            for (kind, chunk) in chunks(&packet[12..]) {
                match kind {
                    // INIT: answer with INIT-ACK and a state cookie.
                    1 if chunk.len() >= 20 => {
                        let their_tag = be32(&chunk[4..]);
                        let their_initial_tsn = be32(&chunk[16..]);
                        {
                            let mut state = self.state();
                            state.their_tag = their_tag;
                            state.their_tsn = Some(their_initial_tsn.wrapping_sub(1));
                        }
                        replies.push(init_ack());
                    }
                    // COOKIE-ECHO: COOKIE-ACK, and the association is up.
                    10 => {
                        replies.push(chunk_bytes(11, 0, &[]));
                        let _ = established.send(true);
                    }
                    // DATA: remember its TSN; DCEP ACKs are counted.
                    0 if chunk.len() >= 16 => {
                        if self.deaf.load(Ordering::Relaxed) {
                            continue;
                        }
                        let tsn = be32(&chunk[4..]);
                        let ppid = be32(&chunk[12..]);
                        if ppid == PPID_DCEP && chunk.get(16) == Some(&0x02) {
                            self.dcep_acks.fetch_add(1, Ordering::Relaxed);
                        }
                        let mut state = self.state();
                        if state
                            .their_tsn
                            .is_none_or(|seen| tsn.wrapping_sub(seen) < 1 << 31)
                        {
                            state.their_tsn = Some(tsn);
                        }
                        acknowledge = true;
                    }
                    // SACK: what Strata has is no longer resent.
                    3 if chunk.len() >= 8 => {
                        let acked = be32(&chunk[4..]).wrapping_sub(OUR_INITIAL_TSN);
                        let mut state = self.state();
                        state.unacked = state.unacked.split_off(&acked.wrapping_add(1));
                    }
                    // HEARTBEAT: echo its information as HEARTBEAT-ACK.
                    4 => replies.push(chunk_bytes(5, 0, &chunk[4..])),
                    // ABORT.
                    6 => self.aborted.store(true, Ordering::Relaxed),
                    _ => {}
                }
            }
            if acknowledge {
                let cumulative = self.state().their_tsn.unwrap_or(0);
                let mut sack = cumulative.to_be_bytes().to_vec();
                sack.extend_from_slice(&(1u32 << 20).to_be_bytes());
                sack.extend_from_slice(&[0; 4]);
                replies.push(chunk_bytes(3, 0, &sack));
            }
            if !replies.is_empty() {
                self.send_chunks(replies).await;
            }
        }
    }

    /// Resends what Strata has not acknowledged, until the transport closes.
    async fn resend_loop(self) {
        let mut tick = tokio::time::interval(RESEND_INTERVAL);
        loop {
            tick.tick().await;
            let pending: Vec<Vec<u8>> = self.state().unacked.values().take(512).cloned().collect();
            if !pending.is_empty() {
                self.send_chunks(pending).await;
            }
            if self.aborted.load(Ordering::Relaxed) {
                return;
            }
        }
    }

    /// Sends `chunks` packed into as few packets as fit, each with Strata's verification
    /// tag and a valid checksum.
    pub(crate) async fn send_chunks(&self, chunks: Vec<Vec<u8>>) {
        let tag = self.state().their_tag;
        let mut pending: Vec<Vec<u8>> = Vec::new();
        let mut size = 12;
        for chunk in chunks {
            let padded = chunk.len().div_ceil(4) * 4;
            if !pending.is_empty() && size + padded > MAX_PACKET {
                self.send_packet(tag, &std::mem::take(&mut pending)).await;
                size = 12;
            }
            size += padded;
            pending.push(chunk);
        }
        if !pending.is_empty() {
            self.send_packet(tag, &pending).await;
        }
    }

    /// Sends one packet holding `chunks` (each padded to four bytes) as they are.
    pub(crate) async fn send_packet(&self, tag: u32, chunks: &[Vec<u8>]) {
        let mut packet = vec![0x13, 0x88, 0x13, 0x88];
        packet.extend_from_slice(&tag.to_be_bytes());
        packet.extend_from_slice(&[0; 4]);
        for chunk in chunks {
            packet.extend_from_slice(chunk);
            while !packet.len().is_multiple_of(4) {
                packet.push(0);
            }
        }
        seal(&mut packet);
        // A closed transport is the victim hanging up, which the test checks separately.
        let _ = self.dtls.send(&packet).await;
    }

    /// Strata's verification tag.
    pub(crate) fn their_tag(&self) -> u32 {
        self.state().their_tag
    }

    /// The next TSN we would use (for FORWARD-TSN values relative to it).
    pub(crate) fn next_tsn(&self) -> u32 {
        self.state().next_tsn
    }

    /// A well-formed DATA chunk on `stream` with the next TSN and the stream's next
    /// sequence number.
    pub(crate) fn data(&self, stream: u16, ppid: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut state = self.state();
        let tsn = state.next_tsn;
        state.next_tsn = tsn.wrapping_add(1);
        let ssn = *state.ssn.get(&stream).unwrap_or(&0);
        if flags & END != 0 {
            state.ssn.insert(stream, ssn.wrapping_add(1));
        }
        let chunk = data_chunk(tsn, stream, ssn, ppid, flags, payload);
        state
            .unacked
            .insert(tsn.wrapping_sub(OUR_INITIAL_TSN), chunk.clone());
        chunk
    }

    /// One whole message on `stream`, fragmented into DATA chunks of at most `fragment`
    /// bytes.
    pub(crate) fn message(
        &self,
        stream: u16,
        ppid: u32,
        payload: &[u8],
        fragment: usize,
    ) -> Vec<Vec<u8>> {
        let pieces: Vec<&[u8]> = if payload.is_empty() {
            vec![&[][..]]
        } else {
            payload.chunks(fragment).collect()
        };
        let last = pieces.len() - 1;
        pieces
            .into_iter()
            .enumerate()
            .map(|(i, piece)| {
                let mut flags = 0;
                if i == 0 {
                    flags |= BEGIN;
                }
                if i == last {
                    flags |= END;
                }
                self.data(stream, ppid, flags, piece)
            })
            .collect()
    }
}

/// A DATA chunk (RFC 9260 §3.3.1):
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Type = 0    |  Res  |I|U|B|E|            Length             |
/// |                              TSN                              |
/// |      Stream Identifier S      |   Stream Sequence Number n    |
/// |                  Payload Protocol Identifier                  |
/// |                 User Data (seq n of Stream S)                 |
/// ```
pub(crate) fn data_chunk(
    tsn: u32,
    stream: u16,
    ssn: u16,
    ppid: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut value = tsn.to_be_bytes().to_vec();
    value.extend_from_slice(&stream.to_be_bytes());
    value.extend_from_slice(&ssn.to_be_bytes());
    value.extend_from_slice(&ppid.to_be_bytes());
    value.extend_from_slice(payload);
    chunk_bytes(0, flags, &value)
}

/// A chunk whose length field is right.
pub(crate) fn chunk_bytes(kind: u8, flags: u8, value: &[u8]) -> Vec<u8> {
    let length = u16::try_from(4 + value.len()).expect("a chunk fits its length field");
    chunk_with_length(kind, flags, length, value)
}

/// A chunk with any length field.
pub(crate) fn chunk_with_length(kind: u8, flags: u8, length: u16, value: &[u8]) -> Vec<u8> {
    let mut out = vec![kind, flags];
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(value);
    out
}

/// A DCEP `DATA_CHANNEL_OPEN` (RFC 8832 §5.1) for a reliable ordered channel.
pub(crate) fn dcep_open(label: &str) -> Vec<u8> {
    let mut out = vec![0x03, 0x00, 0x00, 0x00, 0, 0, 0, 0];
    out.extend_from_slice(&u16::try_from(label.len()).unwrap().to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(label.as_bytes());
    out
}

/// Our INIT-ACK: tag, a 1 MiB window, 65535 streams each way, our initial TSN, a state
/// cookie, Forward-TSN-Supported (RFC 3758), so FORWARD-TSN is a chunk Strata processes
/// rather than refuses outright, and the extensions Strata's channels use.
fn init_ack() -> Vec<u8> {
    let mut value = OUR_TAG.to_be_bytes().to_vec();
    value.extend_from_slice(&(1u32 << 20).to_be_bytes());
    value.extend_from_slice(&u16::MAX.to_be_bytes());
    value.extend_from_slice(&u16::MAX.to_be_bytes());
    value.extend_from_slice(&OUR_INITIAL_TSN.to_be_bytes());
    // Supported Extensions (RFC 5061 §4.2.7): RECONFIG and FORWARD-TSN, padded (only
    // the last parameter's padding is left out of the chunk length, RFC 9260 §3.2).
    value.extend_from_slice(&[0x80, 0x08, 0, 6, 130, 192, 0, 0]);
    // State Cookie (type 7), 8 bytes of cookie.
    value.extend_from_slice(&[0, 7, 0, 12]);
    value.extend_from_slice(b"cookie!!");
    // Forward-TSN-Supported (0xC000), no value.
    value.extend_from_slice(&[0xC0, 0x00, 0, 4]);
    chunk_bytes(2, 0, &value)
}

/// The chunks of a packet's body as (type, chunk bytes with header); stops at the first
/// malformed length.
fn chunks(mut body: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while body.len() >= 4 {
        let length = usize::from(u16::from_be_bytes([body[2], body[3]]));
        if length < 4 || length > body.len() {
            break;
        }
        out.push((body[0], &body[..length]));
        let padded = length.div_ceil(4) * 4;
        body = body.get(padded..).unwrap_or(&[]);
    }
    out
}

fn be32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}
