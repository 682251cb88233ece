//! The DTLS handshake over an ICE packet channel, and the secured transport it yields:
//! the IO around the sans-IO [`protocol`](crate::protocol) engine.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use strata_ice::PacketChannel;
use tokio::sync::Notify;

use crate::certificate::{Certificate, Fingerprint};
use crate::error::{Error, Upstream};
use crate::keying::{SrtpKeyingMaterial, SrtpProfile};
use crate::protocol::wire::{
    self, CONTENT_ALERT, CONTENT_APPLICATION_DATA, CONTENT_CHANGE_CIPHER_SPEC, CONTENT_HANDSHAKE,
};
use crate::protocol::{
    Handshake, HandshakeParams, ProtocolError, RECORD_OVERHEAD, RecordCipher, ReplayWindow, alert,
};
use crate::record::RecordValidator;

/// Our side of the DTLS handshake, from `a=setup` (RFC 8842): `active` is the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlsRole {
    /// Sends the `ClientHello` (`a=setup:active`).
    Client,
    /// Waits for it (`a=setup:passive`).
    Server,
}

/// How to run the handshake.
#[derive(Debug, Clone)]
pub struct DtlsConfig {
    /// Our certificate.
    pub certificate: Certificate,
    /// Client or server.
    pub role: DtlsRole,
    /// The fingerprints the peer announced (`a=fingerprint`); its certificate must match
    /// one, checked during the handshake.
    pub remote_fingerprints: Vec<Fingerprint>,
    /// SRTP profiles to offer, in preference order (empty for data-only connections that
    /// still want keys: leave the default).
    pub srtp_profiles: Vec<SrtpProfile>,
    /// The whole handshake must finish within this.
    pub handshake_timeout: Duration,
    /// Initial retransmission interval of handshake flights (doubles on each retry).
    pub retransmit_interval: Duration,
    /// Largest datagram the handshake sends.
    pub mtu: usize,
}

impl DtlsConfig {
    /// Defaults: AEAD-AES-128-GCM then AES128-CM-HMAC-SHA1-80, 10 s handshake timeout,
    /// 250 ms first retransmission, 1200-byte MTU.
    pub fn new(
        certificate: Certificate,
        role: DtlsRole,
        remote_fingerprints: Vec<Fingerprint>,
    ) -> Self {
        Self {
            certificate,
            role,
            remote_fingerprints,
            srtp_profiles: vec![SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmHmacSha1_80],
            handshake_timeout: Duration::from_secs(10),
            retransmit_interval: Duration::from_millis(250),
            mtu: 1200,
        }
    }
}

/// Counters of the DTLS layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DtlsStats {
    /// Datagrams refused before the protocol engine parsed them (see [`crate::record`]).
    pub malformed_dropped: u64,
    /// Protected records that failed authentication or repeated one already received
    /// (forged, corrupted, or replayed), dropped.
    pub records_rejected: u64,
    /// Handshake datagrams we sent again (a flight's retransmission timer fired, or the
    /// peer repeated its flight).
    pub handshake_datagrams_resent: u64,
    /// Datagrams in which the peer repeated handshake messages: each means it waited a
    /// retransmission timeout for an answer from us, or one of our flights was lost.
    pub peer_handshake_datagrams_resent: u64,
}

/// The largest application-data message one record carries (RFC 6347 §4.1: 2^14).
pub const MAX_RECORD_PLAINTEXT: usize = 1 << 14;

/// Runs the handshake over `channel` and returns the secured transport.
///
/// A server returns once established. A client returns as soon as its last flight is
/// out (False Start, RFC 7918): it may send at once, and the transport reads the server's
/// `Finished`, resends the flight on its timer, and reports a failure (a bad `Finished`,
/// an alert, [`DtlsConfig::handshake_timeout`]) from [`DtlsTransport::recv`].
pub async fn handshake(channel: PacketChannel, config: DtlsConfig) -> Result<DtlsTransport, Error> {
    if config.remote_fingerprints.is_empty() {
        return Err(Error::Config(
            "the peer's fingerprint is required to authenticate it",
        ));
    }
    if config.retransmit_interval.is_zero() {
        return Err(Error::Config(
            "the retransmission interval must be positive",
        ));
    }
    let params = HandshakeParams {
        is_client: config.role == DtlsRole::Client,
        certificate: Arc::clone(&config.certificate.owned),
        remote_fingerprints: config.remote_fingerprints,
        srtp_profiles: config.srtp_profiles,
        mtu: config.mtu,
        retransmit_interval: config.retransmit_interval,
    };
    let started = Instant::now();
    let deadline = started + config.handshake_timeout;
    let mut validator = RecordValidator::new();
    let mut malformed = 0;
    let mut engine = Handshake::new(params, started).map_err(Error::from)?;
    // A client returns once its last flight is out (False Start); the transport finishes
    // the handshake as the server's answer arrives.
    while !engine.can_send_application_data() {
        for datagram in engine.take_outbox() {
            channel.send(&datagram).await.map_err(Error::transport)?;
        }
        let retransmit = engine.poll_timeout().map(tokio::time::Instant::from_std);
        tokio::select! {
            datagram = channel.recv() => {
                let datagram = datagram.ok_or(Error::Closed)?;
                if let Err(reason) = validator.check(&datagram) {
                    malformed += 1;
                    tracing::debug!(%reason, "dropped a malformed DTLS datagram");
                    continue;
                }
                if let Err(error) = engine.handle_datagram(&datagram, Instant::now()) {
                    if let Some(alert) = engine.alert_datagram(&error) {
                        // Best effort: the handshake has failed either way.
                        let _ = channel.send(&alert).await;
                    }
                    return Err(error.into());
                }
            }
            () = tokio::time::sleep_until(retransmit.unwrap_or(deadline.into())), if retransmit.is_some() => {
                engine.handle_timeout(Instant::now());
            }
            () = tokio::time::sleep_until(deadline.into()) => {
                return Err(Error::HandshakeTimeout(config.handshake_timeout));
            }
        }
    }
    // The last flight, and anything else the last step produced.
    for datagram in engine.take_outbox() {
        channel.send(&datagram).await.map_err(Error::transport)?;
    }
    let transport = DtlsTransport {
        channel,
        write: OnceLock::new(),
        write_seq: AtomicU64::new(0),
        receiver: Mutex::new(Receiver {
            finishing: None,
            handshake_timeout: config.handshake_timeout,
            deadline,
            read: None,
            replay: ReplayWindow::default(),
            validator,
            early: VecDeque::new(),
            pending: None,
            final_flight: None,
            epoch0_seq: 0,
        }),
        keying: engine.srtp_keying(),
        role: config.role,
        closed: AtomicBool::new(false),
        close_signal: Notify::new(),
        counters: Counters {
            malformed: AtomicU64::new(malformed),
            rejected: AtomicU64::new(0),
            // From here on, a finishing handshake's are counted as they happen
            // (`count_resends`).
            resent: AtomicU64::new(engine.datagrams_resent),
            repeated: AtomicU64::new(engine.peer_datagrams_repeated),
        },
    };
    transport.receiver().take_over(engine, &transport)?;
    Ok(transport)
}

impl From<ProtocolError> for Error {
    fn from(error: ProtocolError) -> Self {
        match error {
            ProtocolError::FingerprintMismatch(actual) => Error::FingerprintMismatch { actual },
            ProtocolError::NoCertificate => Error::NoCertificate,
            other => Error::Handshake(Upstream::new(other)),
        }
    }
}

impl Error {
    fn transport(error: strata_ice::Error) -> Self {
        Error::Transport(Upstream::new(error))
    }
}

#[derive(Debug)]
struct Counters {
    malformed: AtomicU64,
    rejected: AtomicU64,
    resent: AtomicU64,
    repeated: AtomicU64,
}

/// The receiving half's state, used by one reader at a time.
struct Receiver {
    /// A client's handshake while its last flight waits for the server's answer.
    finishing: Option<Box<Handshake>>,
    handshake_timeout: Duration,
    /// When an unfinished handshake fails.
    deadline: Instant,
    /// Opens the peer's records, once established.
    read: Option<RecordCipher>,
    replay: ReplayWindow,
    validator: RecordValidator,
    /// Application data that came with the end of the handshake.
    early: VecDeque<Vec<u8>>,
    /// The datagram being read and the offset of its next record.
    pending: Option<(Bytes, usize)>,
    /// Server: our `Finished`, for a client that did not receive it.
    final_flight: Option<Vec<u8>>,
    /// Our next epoch-0 record sequence number (for a repeated `ChangeCipherSpec`).
    epoch0_seq: u64,
}

/// What reading the pending records came to.
enum Step {
    /// A message of this many bytes is in the caller's buffer.
    Message(usize),
    /// The pending records are used up.
    NeedDatagram,
    /// The peer repeated its last flight: send our final flight again.
    RepeatFinalFlight,
    /// The peer closed the association.
    Closed,
}

impl Receiver {
    /// Takes over `engine`: its keys when it is established, the engine itself while a
    /// client waits for the server's last flight.
    fn take_over(&mut self, engine: Handshake, transport: &DtlsTransport) -> Result<(), Error> {
        if !engine.is_established() {
            self.finishing = Some(Box::new(engine));
            return Ok(());
        }
        let established = engine.into_established().ok_or(Error::Closed)?;
        self.read = Some(established.read);
        self.replay = established.replay;
        self.early.extend(established.early_data);
        self.final_flight = established.final_flight;
        self.epoch0_seq = established.record_seq[0];
        transport
            .write_seq
            .store(established.record_seq[1], Ordering::Relaxed);
        // Set last: a sender that finds it set finds the sequence number set too.
        let _ = transport.write.set(established.write);
        Ok(())
    }

    /// Feeds a datagram to the unfinished handshake; returns what it has to send.
    fn finish_handshake(
        &mut self,
        datagram: &[u8],
        transport: &DtlsTransport,
    ) -> Result<Vec<Vec<u8>>, Error> {
        let Some(engine) = self.finishing.as_mut() else {
            return Ok(Vec::new());
        };
        let handled = count_resends(engine, &transport.counters, |engine| {
            engine.handle_datagram(datagram, Instant::now())
        });
        if let Err(error) = handled {
            self.finishing = None;
            return Err(error.into());
        }
        let outgoing = engine.take_outbox();
        if engine.is_established()
            && let Some(engine) = self.finishing.take()
        {
            self.take_over(*engine, transport)?;
        }
        Ok(outgoing)
    }

    /// The unfinished handshake's timer fired: resend its flight, or give up.
    fn handshake_timer(&mut self, counters: &Counters) -> Result<Vec<Vec<u8>>, Error> {
        let now = Instant::now();
        if now >= self.deadline {
            self.finishing = None;
            return Err(Error::HandshakeTimeout(self.handshake_timeout));
        }
        Ok(self.finishing.as_mut().map_or_else(Vec::new, |engine| {
            count_resends(engine, counters, |engine| engine.handle_timeout(now));
            engine.take_outbox()
        }))
    }

    /// When the unfinished handshake next needs [`Receiver::handshake_timer`].
    fn handshake_wake(&self) -> Option<Instant> {
        let engine = self.finishing.as_ref()?;
        Some(
            engine
                .poll_timeout()
                .map_or(self.deadline, |at| at.min(self.deadline)),
        )
    }

    fn step(&mut self, buf: &mut [u8], counters: &Counters) -> Result<Step, Error> {
        if let Some(message) = self.early.pop_front() {
            return copy_out(&message, buf).map(Step::Message);
        }
        let mut repeat = false;
        while let Some((datagram, offset)) = self.pending.take() {
            let Ok((record, rest)) = wire::split_record(&datagram[offset..]) else {
                break;
            };
            let next = datagram.len() - rest.len();
            if !rest.is_empty() {
                self.pending = Some((datagram.clone(), next));
            }
            match (record.content_type, record.epoch) {
                (CONTENT_APPLICATION_DATA, 1) => {
                    if let Some(len) = self.open(&record, buf, counters)? {
                        return Ok(Step::Message(len));
                    }
                }
                (CONTENT_ALERT, 1) => {
                    let mut body = [0u8; 2 + RECORD_OVERHEAD];
                    if let Some(2) = self.open(&record, &mut body, counters)? {
                        let [level, description, ..] = body;
                        tracing::debug!(level, description, "DTLS alert");
                        // close_notify, or any fatal alert, ends the association.
                        if description == alert::CLOSE_NOTIFY || level == alert::LEVEL_FATAL {
                            return Ok(Step::Closed);
                        }
                    }
                }
                (CONTENT_HANDSHAKE, _) | (CONTENT_CHANGE_CIPHER_SPEC, 0) => {
                    repeat |= record.content_type == CONTENT_HANDSHAKE;
                }
                _ => {}
            }
        }
        if repeat && self.final_flight.is_some() {
            return Ok(Step::RepeatFinalFlight);
        }
        Ok(Step::NeedDatagram)
    }

    /// Opens an epoch-1 record into `buf`; `None` if it does not authenticate or is a
    /// replay.
    fn open(
        &mut self,
        record: &wire::Record<'_>,
        buf: &mut [u8],
        counters: &Counters,
    ) -> Result<Option<usize>, Error> {
        let Some(read) = &self.read else {
            return Ok(None);
        };
        if !self.replay.is_new(record.sequence) {
            counters.rejected.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        }
        // Decrypted in the caller's buffer when the record fits it, which it does for a
        // buffer as large as the largest message.
        let in_place = buf.len() >= record.body.len();
        let mut scratch = Vec::new();
        let body: &mut [u8] = if in_place {
            buf[..record.body.len()].copy_from_slice(record.body);
            &mut buf[..record.body.len()]
        } else {
            scratch.extend_from_slice(record.body);
            &mut scratch
        };
        let opened = read.open_in_place(body, record.content_type, record.epoch, record.sequence);
        let Ok(len) = opened else {
            counters.rejected.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        };
        self.replay.accept(record.sequence);
        let plaintext = RecordCipher::PLAINTEXT_OFFSET..RecordCipher::PLAINTEXT_OFFSET + len;
        if in_place {
            buf.copy_within(plaintext, 0);
            Ok(Some(len))
        } else {
            copy_out(&scratch[plaintext], buf).map(Some)
        }
    }
}

/// Runs `step` on a finishing handshake and adds what it resent, or saw repeated, to the
/// transport's counters.
fn count_resends<R>(
    engine: &mut Handshake,
    counters: &Counters,
    step: impl FnOnce(&mut Handshake) -> R,
) -> R {
    let before = (engine.datagrams_resent, engine.peer_datagrams_repeated);
    let result = step(engine);
    counters
        .resent
        .fetch_add(engine.datagrams_resent - before.0, Ordering::Relaxed);
    counters
        .repeated
        .fetch_add(engine.peer_datagrams_repeated - before.1, Ordering::Relaxed);
    result
}

fn copy_out(message: &[u8], buf: &mut [u8]) -> Result<usize, Error> {
    let len = buf.len();
    let room = buf.get_mut(..message.len()).ok_or(Error::BufferTooSmall {
        len,
        needed: message.len(),
    })?;
    room.copy_from_slice(message);
    Ok(message.len())
}

/// An established DTLS association: application data in both directions, and the SRTP
/// keys when a profile was negotiated.
pub struct DtlsTransport {
    channel: PacketChannel,
    /// Seals our records, once established (before, a finishing client's engine does).
    write: OnceLock<RecordCipher>,
    /// Our next epoch-1 record sequence number.
    write_seq: AtomicU64,
    receiver: Mutex<Receiver>,
    keying: Option<SrtpKeyingMaterial>,
    role: DtlsRole,
    closed: AtomicBool,
    close_signal: Notify,
    counters: Counters,
}

impl fmt::Debug for DtlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtlsTransport")
            .field("role", &self.role)
            .field("srtp_profile", &self.keying.as_ref().map(|k| k.profile))
            .finish_non_exhaustive()
    }
}

impl DtlsTransport {
    /// Sends one message (at most [`MAX_RECORD_PLAINTEXT`] bytes) as application data.
    pub async fn send(&self, data: &[u8]) -> Result<(), Error> {
        if data.len() > MAX_RECORD_PLAINTEXT {
            return Err(Error::RecordTooLarge(data.len()));
        }
        let record = self.seal(CONTENT_APPLICATION_DATA, data)?;
        self.channel.send(&record).await.map_err(Error::transport)
    }

    fn seal(&self, content_type: u8, data: &[u8]) -> Result<Vec<u8>, Error> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let write = if let Some(write) = self.write.get() {
            write
        } else {
            let mut receiver = self.receiver();
            if let Some(engine) = receiver.finishing.as_mut() {
                // Only application data goes out before the handshake ends.
                return engine
                    .seal_application_data(data)
                    .filter(|_| content_type == CONTENT_APPLICATION_DATA)
                    .ok_or(Error::Closed);
            }
            drop(receiver);
            // The handshake ended (or failed) meanwhile.
            self.write.get().ok_or(Error::Closed)?
        };
        let sequence = self.write_seq.fetch_add(1, Ordering::Relaxed);
        if sequence > crate::protocol::MAX_SEQUENCE {
            // 2^48 records under one key: the association must end (RFC 6347 §4.1).
            return Err(Error::Closed);
        }
        let mut record = Vec::with_capacity(wire::RECORD_HEADER_LEN + RECORD_OVERHEAD + data.len());
        write.seal(&mut record, content_type, 1, sequence, data);
        Ok(record)
    }

    /// Receives one message of application data into `buf` (make it as large as the
    /// largest message expected: a larger one is an [`Error::BufferTooSmall`] and lost).
    pub async fn recv(&self, buf: &mut [u8]) -> Result<usize, Error> {
        loop {
            let step = self.receiver().step(buf, &self.counters)?;
            match step {
                Step::Message(len) => return Ok(len),
                Step::Closed => {
                    self.mark_closed();
                    return Err(Error::Closed);
                }
                Step::RepeatFinalFlight => self.repeat_final_flight().await?,
                Step::NeedDatagram => {
                    let wake = self.receiver().handshake_wake();
                    let outgoing = match self.next_datagram(wake).await? {
                        Some(datagram) => self.accept(datagram),
                        None => self.receiver().handshake_timer(&self.counters),
                    };
                    // A handshake that fails after a False Start ends the association.
                    let outgoing = outgoing.inspect_err(|_| self.mark_closed())?;
                    for datagram in outgoing {
                        self.channel
                            .send(&datagram)
                            .await
                            .map_err(Error::transport)?;
                    }
                }
            }
        }
    }

    /// Validates a received datagram and queues it for reading, or hands it to the
    /// unfinished handshake; returns what that has to send.
    fn accept(&self, datagram: Bytes) -> Result<Vec<Vec<u8>>, Error> {
        let mut receiver = self.receiver();
        if let Err(reason) = receiver.validator.check(&datagram) {
            self.counters.malformed.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%reason, "dropped a malformed DTLS datagram");
            return Ok(Vec::new());
        }
        if receiver.finishing.is_some() {
            return receiver.finish_handshake(&datagram, self);
        }
        receiver.pending = Some((datagram, 0));
        Ok(Vec::new())
    }

    /// The next datagram; `None` when `wake` comes first.
    async fn next_datagram(&self, wake: Option<Instant>) -> Result<Option<Bytes>, Error> {
        let closing = self.close_signal.notified();
        tokio::pin!(closing);
        closing.as_mut().enable();
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let wake = wake.map(tokio::time::Instant::from_std);
        tokio::select! {
            datagram = self.channel.recv() => datagram.map(Some).ok_or(Error::Closed),
            () = closing => Err(Error::Closed),
            () = tokio::time::sleep_until(wake.unwrap_or_else(tokio::time::Instant::now)), if wake.is_some() => Ok(None),
        }
    }

    /// Server: sends `ChangeCipherSpec` and `Finished` again.
    async fn repeat_final_flight(&self) -> Result<(), Error> {
        let (change_cipher_spec, finished) = {
            let mut receiver = self.receiver();
            let Some(finished) = receiver.final_flight.clone() else {
                return Ok(());
            };
            let mut change_cipher_spec = Vec::new();
            wire::put_record(
                &mut change_cipher_spec,
                CONTENT_CHANGE_CIPHER_SPEC,
                0,
                receiver.epoch0_seq,
                &[1],
            );
            receiver.epoch0_seq += 1;
            (change_cipher_spec, finished)
        };
        let mut datagram = change_cipher_spec;
        datagram.extend_from_slice(&self.seal(CONTENT_HANDSHAKE, &finished)?);
        self.counters.resent.fetch_add(1, Ordering::Relaxed);
        self.channel.send(&datagram).await.map_err(Error::transport)
    }

    fn receiver(&self) -> MutexGuard<'_, Receiver> {
        self.receiver.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The SRTP profile and keys, when the peer agreed on a profile.
    pub fn srtp_keying(&self) -> Option<&SrtpKeyingMaterial> {
        self.keying.as_ref()
    }

    /// Our role in the handshake.
    pub fn role(&self) -> DtlsRole {
        self.role
    }

    /// Counters.
    pub fn stats(&self) -> DtlsStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        DtlsStats {
            malformed_dropped: load(&self.counters.malformed),
            records_rejected: load(&self.counters.rejected),
            handshake_datagrams_resent: load(&self.counters.resent),
            peer_handshake_datagrams_resent: load(&self.counters.repeated),
        }
    }

    /// Sends `close_notify` and closes; a pending [`DtlsTransport::recv`] returns
    /// [`Error::Closed`].
    pub async fn close(&self) {
        if let Ok(alert) = self.seal(CONTENT_ALERT, &[alert::LEVEL_WARNING, alert::CLOSE_NOTIFY]) {
            self.mark_closed();
            // Best effort: the peer also learns of the close from SCTP or ICE.
            let _ = self.channel.send(&alert).await;
        }
    }

    fn mark_closed(&self) {
        self.closed.store(true, Ordering::Release);
        self.close_signal.notify_waiters();
    }
}

/// The integration tests' ICE pair on loopback, for the unit tests below.
#[cfg(test)]
#[path = "../tests/loopback/mod.rs"]
mod loopback;

#[cfg(test)]
mod tests {
    use super::*;
    use strata_interop::netns::run_isolated;

    use super::loopback::ice_pair;

    /// A server that reads the client's last flight and never answers it: the client's
    /// handshake returned at that flight (False Start), so its transport must resend
    /// the flight, then fail on the handshake timeout and close.
    #[test]
    fn a_false_start_whose_finished_never_comes_fails_on_the_timeout_and_closes() {
        run_isolated(|| async {
            let (ice_a, ice_b) = ice_pair().await;
            let (ours, theirs) = (
                Certificate::generate().unwrap(),
                Certificate::generate().unwrap(),
            );
            let mut client = DtlsConfig::new(
                ours.clone(),
                DtlsRole::Client,
                vec![theirs.fingerprint().clone()],
            );
            client.handshake_timeout = Duration::from_millis(800);
            client.retransmit_interval = Duration::from_millis(100);
            let server_channel = ice_b.dtls_channel();
            let mut server = Handshake::new(
                HandshakeParams {
                    is_client: false,
                    certificate: Arc::clone(&theirs.owned),
                    remote_fingerprints: vec![ours.fingerprint().clone()],
                    srtp_profiles: vec![SrtpProfile::AeadAes128Gcm],
                    mtu: 1200,
                    retransmit_interval: Duration::from_secs(1),
                },
                Instant::now(),
            )
            .unwrap();
            let silent_server = tokio::spawn(async move {
                let mut flights_read = 0;
                while let Some(datagram) = server_channel.recv().await {
                    server.handle_datagram(&datagram, Instant::now()).unwrap();
                    let outbox = server.take_outbox();
                    if server.is_established() {
                        // Flight 6 (and any answer to a repeat) is never sent.
                        flights_read += 1;
                        continue;
                    }
                    for answer in outbox {
                        server_channel.send(&answer).await.unwrap();
                    }
                }
                flights_read
            });
            let transport = handshake(ice_a.dtls_channel(), client).await.unwrap();
            transport.send(b"false start").await.unwrap();
            let mut buf = [0u8; 64];
            let failed = tokio::time::timeout(Duration::from_secs(5), transport.recv(&mut buf))
                .await
                .expect("the handshake timeout ends the read");
            assert!(
                matches!(failed, Err(Error::HandshakeTimeout(_))),
                "{failed:?}"
            );
            assert!(
                transport.stats().handshake_datagrams_resent >= 1,
                "{:?}",
                transport.stats()
            );
            assert!(matches!(transport.send(b"after").await, Err(Error::Closed)));
            let after = tokio::time::timeout(Duration::from_secs(2), transport.recv(&mut buf))
                .await
                .expect("a failed handshake leaves nothing to wait for");
            assert!(matches!(after, Err(Error::Closed)), "{after:?}");
            drop(ice_b);
            silent_server.abort();
        });
    }
}
