//! The handshake state machine, client and server (RFC 6347 §4.2, RFC 5246 §7.3).
//!
//! ```text
//!  client                                   server
//!  ClientHello                  -------->                       flight 1
//!                               <--------   HelloVerifyRequest  (only from servers that
//!  ClientHello (with cookie)    -------->                        use cookies; never ours)
//!                                           ServerHello         flight 4
//!                                           Certificate
//!                                           ServerKeyExchange
//!                                           CertificateRequest
//!                               <--------   ServerHelloDone
//!  Certificate                                                  flight 5
//!  ClientKeyExchange
//!  CertificateVerify
//!  [ChangeCipherSpec]
//!  Finished                     -------->
//!                                           [ChangeCipherSpec]  flight 6
//!                               <--------   Finished
//! ```
//!
//! A side retransmits its last flight when its timer fires (the interval doubles each
//! time) or when the peer repeats the flight before it, which means ours was lost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;

use super::crypto::{
    self, GROUP_SECP256R1, GROUPS, KeyBlock, KeyShare, RecordCipher, VERIFIABLE_SCHEMES,
};
use super::reassembly::{Placed, Reassembler};
use super::replay::ReplayWindow;
use super::wire::{
    CERT_TYPE_ECDSA_SIGN, CERT_TYPE_RSA_SIGN, CERTIFICATE, CERTIFICATE_REQUEST, CERTIFICATE_VERIFY,
    CLIENT_HELLO, CLIENT_KEY_EXCHANGE, CONTENT_ALERT, CONTENT_APPLICATION_DATA,
    CONTENT_CHANGE_CIPHER_SPEC, CONTENT_HANDSHAKE, CertificateRequest, ClientHello, DTLS_1_2,
    ECDHE_ECDSA_AES_128_GCM_SHA256, ECDHE_RSA_AES_128_GCM_SHA256, Extensions, FINISHED,
    HANDSHAKE_HEADER_LEN, HELLO_REQUEST, HELLO_VERIFY_REQUEST, HelloVerifyRequest,
    POINT_FORMAT_UNCOMPRESSED, Put, RECORD_HEADER_LEN, Record, SERVER_HELLO, SERVER_HELLO_DONE,
    SERVER_KEY_EXCHANGE, ServerHello, ServerKeyExchange, encode_certificate, encode_signed,
    handshake_message, parse_certificate, parse_client_key_exchange, parse_signed, put_record,
    split_fragment, split_record,
};
use super::{ProtocolError, alert};
use crate::certificate::{Fingerprint, HashFunction, Owned};
use crate::keying::{EXPORTER_LABEL, SrtpKeyingMaterial, SrtpProfile};

/// The longest a retransmission interval grows (RFC 6347 §4.2.4.1 suggests 60 s).
const MAX_RETRANSMIT_INTERVAL: Duration = Duration::from_mins(1);
/// `HelloVerifyRequest`s answered before the server is judged broken.
const MAX_HELLO_VERIFY_REQUESTS: u8 = 4;
/// Application records kept while their keys are not known yet (the client's first data
/// can overtake its lost or delayed last flight).
const MAX_DEFERRED_RECORDS: usize = 8;
/// The `renegotiation_info` SCSV (RFC 5746 §3.3).
const EMPTY_RENEGOTIATION_INFO_SCSV: u16 = 0x00ff;

/// What a handshake needs to know.
#[derive(Debug, Clone)]
pub(crate) struct HandshakeParams {
    /// Whether we send the `ClientHello`.
    pub(crate) is_client: bool,
    /// Our certificate and its key.
    pub(crate) certificate: Arc<Owned>,
    /// The peer's certificate must have one of these.
    pub(crate) remote_fingerprints: Vec<Fingerprint>,
    /// SRTP profiles, in our order of preference.
    pub(crate) srtp_profiles: Vec<SrtpProfile>,
    /// Largest datagram we send.
    pub(crate) mtu: usize,
    /// First retransmission interval.
    pub(crate) retransmit_interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Client: waiting for `HelloVerifyRequest` or `ServerHello`.
    ClientHelloSent,
    /// Client: reading the server's flight up to `ServerHelloDone`.
    ServerFlight,
    /// Client: flight 5 sent, waiting for the server's `Finished`.
    ClientFinishedSent,
    /// Server: waiting for a `ClientHello`.
    AwaitingClientHello,
    /// Server: flight 4 sent, reading the client's flight up to its `Finished`.
    ServerHelloSent,
    /// Done.
    Established,
}

/// One message of a flight, kept so that the flight can be sent again.
#[derive(Debug, Clone)]
enum Outgoing {
    Handshake {
        epoch: u16,
        msg_type: u8,
        message_seq: u16,
        body: Vec<u8>,
    },
    ChangeCipherSpec,
}

/// A DTLS handshake in progress.
pub(crate) struct Handshake {
    params: HandshakeParams,
    rng: SystemRandom,
    state: State,
    /// Every handshake message so far, each with its header as one fragment.
    transcript: Vec<u8>,
    reassembly: Reassembler,
    /// Our next handshake message sequence number.
    message_seq: u16,
    /// Our next record sequence number in epochs 0 and 1.
    record_seq: [u64; 2],
    replay: ReplayWindow,
    client_random: [u8; 32],
    server_random: [u8; 32],
    /// The `ClientHello` we sent (client), to send again with a cookie.
    client_hello: Option<ClientHello>,
    hello_verify_requests: u8,
    /// Negotiated in the hellos.
    srtp_profile: Option<SrtpProfile>,
    key_share: Option<KeyShare>,
    /// Client: the group and point of the server's key exchange.
    server_key_exchange: Option<(u16, Vec<u8>)>,
    /// Client: the server asked for our certificate.
    certificate_requested: bool,
    /// The peer's leaf certificate, once it matched a fingerprint.
    peer_certificate: Option<Vec<u8>>,
    /// Server: the client's `CertificateVerify` checked.
    client_verified: bool,
    master: Option<Vec<u8>>,
    read: Option<RecordCipher>,
    write: Option<RecordCipher>,
    /// The keys the next epoch writes with, until our `ChangeCipherSpec` goes out.
    pending_write: Option<RecordCipher>,
    flight: Vec<Outgoing>,
    retransmit_at: Option<Instant>,
    interval: Duration,
    outbox: Vec<Vec<u8>>,
    /// Application data that arrived in the same datagrams as the end of the handshake.
    early_data: Vec<Vec<u8>>,
    /// Epoch-1 application records that came before we could open them:
    /// `(sequence, body)`, opened once the handshake is done.
    deferred: Vec<(u64, Vec<u8>)>,
    /// Counters.
    pub(crate) datagrams_resent: u64,
    pub(crate) peer_datagrams_repeated: u64,
}

impl std::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handshake")
            .field("is_client", &self.params.is_client)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// What an established association keeps from its handshake.
pub(crate) struct Established {
    /// Opens the peer's epoch-1 records.
    pub(crate) read: RecordCipher,
    /// Seals ours.
    pub(crate) write: RecordCipher,
    /// Our next record sequence numbers in epochs 0 and 1.
    pub(crate) record_seq: [u64; 2],
    /// The peer's epoch-1 records accepted so far.
    pub(crate) replay: ReplayWindow,
    /// Server: our `Finished` (with its header), to send again if the client repeats its
    /// last flight because ours was lost.
    pub(crate) final_flight: Option<Vec<u8>>,
    /// Application data that arrived with the end of the handshake.
    pub(crate) early_data: Vec<Vec<u8>>,
}

impl Handshake {
    /// Starts a handshake; a client's first flight is ready in [`Handshake::take_outbox`].
    pub(crate) fn new(params: HandshakeParams, now: Instant) -> Result<Self, ProtocolError> {
        let rng = SystemRandom::new();
        let mut random = [0u8; 32];
        rng.fill(&mut random)
            .map_err(|_| ProtocolError::Internal("no randomness"))?;
        let is_client = params.is_client;
        let interval = params.retransmit_interval;
        let mut handshake = Self {
            params,
            rng,
            state: if is_client {
                State::ClientHelloSent
            } else {
                State::AwaitingClientHello
            },
            transcript: Vec::with_capacity(2048),
            reassembly: Reassembler::default(),
            message_seq: 0,
            record_seq: [0; 2],
            replay: ReplayWindow::default(),
            client_random: [0; 32],
            server_random: [0; 32],
            client_hello: None,
            hello_verify_requests: 0,
            srtp_profile: None,
            key_share: None,
            server_key_exchange: None,
            certificate_requested: false,
            peer_certificate: None,
            client_verified: false,
            master: None,
            read: None,
            write: None,
            pending_write: None,
            flight: Vec::new(),
            retransmit_at: None,
            interval,
            outbox: Vec::new(),
            early_data: Vec::new(),
            deferred: Vec::new(),
            datagrams_resent: 0,
            peer_datagrams_repeated: 0,
        };
        if is_client {
            handshake.client_random = random;
            let hello = handshake.our_client_hello();
            let body = hello.encode();
            handshake.client_hello = Some(hello);
            handshake.queue_message(0, CLIENT_HELLO, body);
            handshake.send_flight(now);
        } else {
            handshake.server_random = random;
        }
        Ok(handshake)
    }

    /// Datagrams to send, in order.
    pub(crate) fn take_outbox(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.outbox)
    }

    /// Whether the handshake is complete.
    pub(crate) fn is_established(&self) -> bool {
        self.state == State::Established
    }

    /// When [`Handshake::handle_timeout`] is due.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.retransmit_at
    }

    /// Sends the last flight again if its timer has fired.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.retransmit_at.is_some_and(|at| at <= now) {
            self.interval = (self.interval * 2).min(MAX_RETRANSMIT_INTERVAL);
            self.datagrams_resent += self.transmit_flight() as u64;
            self.retransmit_at = Some(now + self.interval);
        }
    }

    /// A fatal alert for `error`, protected if our keys are in use.
    pub(crate) fn alert_datagram(&mut self, error: &ProtocolError) -> Option<Vec<u8>> {
        let description = error.alert()?;
        let body = [alert::LEVEL_FATAL, description];
        let mut out = Vec::new();
        if let Some(cipher) = &self.write {
            cipher.seal(&mut out, CONTENT_ALERT, 1, self.record_seq[1], &body);
            self.record_seq[1] += 1;
        } else {
            put_record(&mut out, CONTENT_ALERT, 0, self.record_seq[0], &body);
            self.record_seq[0] += 1;
        }
        Some(out)
    }

    /// Whether application data may be sent: once established, and for a client as soon
    /// as its last flight is out (False Start, RFC 7918: the suite is ECDHE with an AEAD,
    /// and the server is already authenticated by its certificate's fingerprint and its
    /// signature over this handshake's key exchange).
    pub(crate) fn can_send_application_data(&self) -> bool {
        matches!(self.state, State::ClientFinishedSent | State::Established)
    }

    /// Seals `data` as the next epoch-1 application record, once
    /// [`Handshake::can_send_application_data`].
    pub(crate) fn seal_application_data(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        if !self.can_send_application_data() {
            return None;
        }
        let cipher = self.write.as_ref()?;
        let mut out = Vec::with_capacity(RECORD_HEADER_LEN + super::RECORD_OVERHEAD + data.len());
        cipher.seal(
            &mut out,
            CONTENT_APPLICATION_DATA,
            1,
            self.record_seq[1],
            data,
        );
        self.record_seq[1] += 1;
        Some(out)
    }

    /// The SRTP keys (RFC 5764 §4.2), once the master secret is known.
    pub(crate) fn srtp_keying(&self) -> Option<SrtpKeyingMaterial> {
        let (profile, master) = (self.srtp_profile?, self.master.as_ref()?);
        let exported = crypto::prf(
            master,
            EXPORTER_LABEL.as_bytes(),
            &[&self.client_random, &self.server_random],
            SrtpKeyingMaterial::export_len(profile),
        );
        SrtpKeyingMaterial::split(profile, &exported, self.params.is_client)
    }

    /// The state an established association keeps. `None` before the end.
    pub(crate) fn into_established(self) -> Option<Established> {
        if self.state != State::Established {
            return None;
        }
        let final_flight = self.flight.iter().find_map(|outgoing| match outgoing {
            Outgoing::Handshake {
                epoch: 1,
                msg_type,
                message_seq,
                body,
            } if !self.params.is_client => Some(handshake_message(*msg_type, *message_seq, body)),
            _ => None,
        });
        Some(Established {
            read: self.read?,
            write: self.write?,
            record_seq: self.record_seq,
            replay: self.replay,
            final_flight,
            early_data: self.early_data,
        })
    }

    /// Handles one datagram from the peer. An error ends the handshake; send
    /// [`Handshake::alert_datagram`] for it.
    pub(crate) fn handle_datagram(
        &mut self,
        datagram: &[u8],
        now: Instant,
    ) -> Result<(), ProtocolError> {
        let flight_before = self.message_seq;
        let mut repeated = false;
        let mut rest = datagram;
        while !rest.is_empty() {
            // A datagram that does not frame is dropped whole (RFC 6347 §4.1.2.7).
            let Ok((record, tail)) = split_record(rest) else {
                break;
            };
            rest = tail;
            match (record.content_type, record.epoch) {
                (CONTENT_HANDSHAKE, 0) => {
                    repeated |= self.handshake_fragments(record.body)?;
                }
                (CONTENT_HANDSHAKE, 1) => {
                    // The messages before it in this datagram carry the keys to open it.
                    self.process_messages(now)?;
                    if let Some(plain) = self.open(&record) {
                        repeated |= self.encrypted_handshake(&plain)?;
                    }
                }
                (CONTENT_ALERT, 0) => check_alert(record.body)?,
                (CONTENT_ALERT, 1) => {
                    if let Some(plain) = self.open(&record) {
                        check_alert(&plain)?;
                    }
                }
                (CONTENT_APPLICATION_DATA, 1) if self.state == State::Established => {
                    if let Some(plain) = self.open(&record) {
                        self.early_data.push(plain);
                    }
                }
                (CONTENT_APPLICATION_DATA, 1) if self.deferred.len() < MAX_DEFERRED_RECORDS => {
                    self.deferred.push((record.sequence, record.body.to_vec()));
                }
                // ChangeCipherSpec carries no information we need: the epoch of the
                // records after it says the same. Anything else is dropped.
                _ => {}
            }
        }
        self.process_messages(now)?;
        if repeated {
            self.peer_datagrams_repeated += 1;
            let answered = self.message_seq != flight_before;
            let waiting = !matches!(
                self.state,
                State::AwaitingClientHello | State::ClientHelloSent
            ) || self.hello_verify_requests > 0;
            if !answered && waiting && !self.flight.is_empty() {
                // The peer did not hear our last flight.
                self.datagrams_resent += self.transmit_flight() as u64;
            }
        }
        Ok(())
    }

    /// Authenticates an epoch-1 record; `None` if it does not (dropped, as DTLS does).
    fn open(&mut self, record: &Record<'_>) -> Option<Vec<u8>> {
        let cipher = self.read.as_ref()?;
        if !self.replay.is_new(record.sequence) {
            return None;
        }
        let mut body = record.body.to_vec();
        let len = cipher
            .open_in_place(
                &mut body,
                record.content_type,
                record.epoch,
                record.sequence,
            )
            .ok()?;
        self.replay.accept(record.sequence);
        body.drain(..RecordCipher::PLAINTEXT_OFFSET);
        body.truncate(len);
        Some(body)
    }

    /// Files the fragments of a plaintext handshake record; `true` if one repeated a
    /// message already handled.
    fn handshake_fragments(&mut self, mut body: &[u8]) -> Result<bool, ProtocolError> {
        let mut repeated = false;
        while !body.is_empty() {
            let Ok((fragment, rest)) = split_fragment(body) else {
                return Ok(repeated);
            };
            body = rest;
            if fragment.msg_type == FINISHED {
                // Only ever sent under the new keys.
                return Err(ProtocolError::Unexpected("Finished in plaintext"));
            }
            repeated |= self.reassembly.add(&fragment) == Placed::Old;
        }
        Ok(repeated)
    }

    /// An epoch-1 handshake record: the peer's `Finished`.
    fn encrypted_handshake(&mut self, body: &[u8]) -> Result<bool, ProtocolError> {
        let (fragment, rest) = split_fragment(body)?;
        if fragment.msg_type != FINISHED
            || fragment.offset != 0
            || fragment.body.len() != fragment.length
            || !rest.is_empty()
        {
            return Err(ProtocolError::Unexpected(
                "an encrypted handshake message other than Finished",
            ));
        }
        if self.state == State::Established {
            return Ok(true);
        }
        let ready = match self.state {
            State::ClientFinishedSent => true,
            State::ServerHelloSent => self.client_verified,
            _ => false,
        };
        if !ready {
            // Ahead of a message still missing; the peer sends it all again.
            return Ok(false);
        }
        self.peer_finished(fragment.message_seq, fragment.body)?;
        Ok(false)
    }

    fn process_messages(&mut self, now: Instant) -> Result<(), ProtocolError> {
        loop {
            let message = if self.reassembly.started() {
                self.reassembly.pop()
            } else {
                let first: &[u8] = if self.params.is_client {
                    &[HELLO_VERIFY_REQUEST, SERVER_HELLO]
                } else {
                    &[CLIENT_HELLO]
                };
                self.reassembly.first_of(first)
            };
            let Some((message_seq, msg_type, body)) = message else {
                return Ok(());
            };
            if self.params.is_client {
                self.client_message(message_seq, msg_type, &body, now)?;
            } else {
                self.server_message(message_seq, msg_type, &body, now)?;
            }
        }
    }

    // --- client ---

    fn our_client_hello(&self) -> ClientHello {
        let profiles: Vec<u16> = self.params.srtp_profiles.iter().map(|p| p.id()).collect();
        ClientHello {
            version: DTLS_1_2,
            random: self.client_random,
            session_id: Vec::new(),
            cookie: Vec::new(),
            cipher_suites: vec![ECDHE_ECDSA_AES_128_GCM_SHA256, ECDHE_RSA_AES_128_GCM_SHA256],
            compression_methods: vec![0],
            extensions: Extensions {
                supported_groups: Some(GROUPS.to_vec()),
                signature_algorithms: Some(VERIFIABLE_SCHEMES.to_vec()),
                use_srtp: (!profiles.is_empty()).then_some(profiles),
                extended_master_secret: true,
                renegotiation_info: Some(Vec::new()),
                ec_point_formats: Some(vec![POINT_FORMAT_UNCOMPRESSED]),
            },
        }
    }

    fn client_message(
        &mut self,
        seq: u16,
        msg_type: u8,
        body: &[u8],
        now: Instant,
    ) -> Result<(), ProtocolError> {
        match (self.state, msg_type) {
            (State::ClientHelloSent, HELLO_VERIFY_REQUEST) => {
                let request = HelloVerifyRequest::parse(body)?;
                self.hello_verify_requests += 1;
                if self.hello_verify_requests > MAX_HELLO_VERIFY_REQUESTS {
                    return Err(ProtocolError::Illegal("too many HelloVerifyRequests"));
                }
                // What follows the request has sequence numbers of its own.
                self.reassembly.reset();
                let hello = self
                    .client_hello
                    .as_mut()
                    .ok_or(ProtocolError::Internal("no ClientHello to repeat"))?;
                if hello.cookie == request.cookie {
                    // Our hello with this cookie was lost.
                    self.datagrams_resent += self.transmit_flight() as u64;
                    return Ok(());
                }
                hello.cookie = request.cookie;
                let body = hello.encode();
                // RFC 6347 §4.2.1: the hellos before the cookie are not part of the
                // handshake the Finished messages cover.
                self.transcript.clear();
                self.flight.clear();
                self.queue_message(0, CLIENT_HELLO, body);
                self.send_flight(now);
            }
            (State::ClientHelloSent, SERVER_HELLO) => {
                self.reassembly.start_at(seq.wrapping_add(1));
                self.server_hello(body)?;
                self.record_transcript(msg_type, seq, body);
                self.state = State::ServerFlight;
            }
            (State::ServerFlight, CERTIFICATE) if self.peer_certificate.is_none() => {
                self.peer_certificate(body)?;
                self.record_transcript(msg_type, seq, body);
            }
            (State::ServerFlight, SERVER_KEY_EXCHANGE)
                if self.peer_certificate.is_some() && self.server_key_exchange.is_none() =>
            {
                let exchange = ServerKeyExchange::parse(body)?;
                if !GROUPS.contains(&exchange.group) {
                    return Err(ProtocolError::Illegal(
                        "the server chose a group we did not offer",
                    ));
                }
                let signed = self.key_exchange_signed(exchange.group, &exchange.public);
                let certificate = self.peer_certificate.as_deref().unwrap_or_default();
                crypto::verify(certificate, exchange.scheme, &signed, &exchange.signature)?;
                self.server_key_exchange = Some((exchange.group, exchange.public));
                self.record_transcript(msg_type, seq, body);
            }
            (State::ServerFlight, CERTIFICATE_REQUEST)
                if self.server_key_exchange.is_some() && !self.certificate_requested =>
            {
                let request = CertificateRequest::parse(body)?;
                if !request
                    .schemes
                    .contains(&self.params.certificate.signer.scheme())
                {
                    return Err(ProtocolError::Negotiation(
                        "the server accepts no signature scheme our key can make",
                    ));
                }
                self.certificate_requested = true;
                self.record_transcript(msg_type, seq, body);
            }
            (State::ServerFlight, SERVER_HELLO_DONE) if self.server_key_exchange.is_some() => {
                if !body.is_empty() {
                    return Err(ProtocolError::Decode);
                }
                self.record_transcript(msg_type, seq, body);
                self.client_key_exchange(now)?;
            }
            (_, HELLO_REQUEST) => {} // Renegotiation is not supported; ignored as allowed.
            (_, kind) => return Err(ProtocolError::Unexpected(message_name(kind))),
        }
        Ok(())
    }

    fn server_hello(&mut self, body: &[u8]) -> Result<(), ProtocolError> {
        let hello = ServerHello::parse(body)?;
        if hello.version != DTLS_1_2 {
            return Err(ProtocolError::Negotiation(
                "the server does not speak DTLS 1.2",
            ));
        }
        if !matches!(
            hello.cipher_suite,
            ECDHE_ECDSA_AES_128_GCM_SHA256 | ECDHE_RSA_AES_128_GCM_SHA256
        ) || hello.compression_method != 0
        {
            return Err(ProtocolError::Illegal(
                "the server chose a cipher suite we did not offer",
            ));
        }
        if !hello.extensions.extended_master_secret {
            return Err(ProtocolError::Negotiation(
                "the server does not use the extended master secret",
            ));
        }
        if hello
            .extensions
            .renegotiation_info
            .as_ref()
            .is_some_and(|info| !info.is_empty())
        {
            return Err(ProtocolError::Illegal("renegotiation_info must be empty"));
        }
        self.srtp_profile = match hello.extensions.use_srtp.as_deref() {
            None => None,
            Some([id]) => Some(
                SrtpProfile::from_id(*id)
                    .filter(|p| self.params.srtp_profiles.contains(p))
                    .ok_or(ProtocolError::Illegal(
                        "the server chose an SRTP profile we did not offer",
                    ))?,
            ),
            Some(_) => {
                return Err(ProtocolError::Illegal(
                    "the server must choose one SRTP profile",
                ));
            }
        };
        self.server_random = hello.random;
        Ok(())
    }

    /// Flight 5, after `ServerHelloDone`.
    fn client_key_exchange(&mut self, now: Instant) -> Result<(), ProtocolError> {
        let (group, server_public) = self
            .server_key_exchange
            .take()
            .ok_or(ProtocolError::Internal("no server key exchange"))?;
        self.flight.clear();
        if self.certificate_requested {
            let body = encode_certificate(&[&self.params.certificate.der]);
            self.queue_message(0, CERTIFICATE, body);
        }
        let share = KeyShare::generate(group, &self.rng)?;
        let mut exchange = Vec::with_capacity(share.public().len() + 1);
        exchange.put_vec8(share.public());
        self.queue_message(0, CLIENT_KEY_EXCHANGE, exchange);
        let premaster = share.agree(&server_public)?;
        self.derive_keys(&premaster);
        if self.certificate_requested {
            let signature = self
                .params
                .certificate
                .signer
                .sign(&self.rng, &self.transcript)?;
            let body = encode_signed(self.params.certificate.signer.scheme(), &signature);
            self.queue_message(0, CERTIFICATE_VERIFY, body);
        }
        self.queue_finished();
        self.state = State::ClientFinishedSent;
        self.send_flight(now);
        Ok(())
    }

    // --- server ---

    fn server_message(
        &mut self,
        seq: u16,
        msg_type: u8,
        body: &[u8],
        now: Instant,
    ) -> Result<(), ProtocolError> {
        match (self.state, msg_type) {
            (State::AwaitingClientHello, CLIENT_HELLO) => {
                self.reassembly.start_at(seq.wrapping_add(1));
                // Our messages are numbered from the client's hello on, as if we had
                // sent a HelloVerifyRequest for each hello before it (RFC 6347 §4.2.2).
                self.message_seq = seq;
                let hello = ClientHello::parse(body)?;
                self.record_transcript(msg_type, seq, body);
                self.server_flight(&hello, now)?;
            }
            (State::ServerHelloSent, CERTIFICATE) if self.peer_certificate.is_none() => {
                self.peer_certificate(body)?;
                self.record_transcript(msg_type, seq, body);
            }
            (State::ServerHelloSent, CLIENT_KEY_EXCHANGE) if self.master.is_none() => {
                if self.peer_certificate.is_none() {
                    return Err(ProtocolError::NoCertificate);
                }
                let public = parse_client_key_exchange(body)?;
                let share = self
                    .key_share
                    .take()
                    .ok_or(ProtocolError::Internal("no key share"))?;
                let premaster = share.agree(&public)?;
                self.record_transcript(msg_type, seq, body);
                self.derive_keys(&premaster);
            }
            (State::ServerHelloSent, CERTIFICATE_VERIFY)
                if self.master.is_some() && !self.client_verified =>
            {
                let (scheme, signature) = parse_signed(body)?;
                let certificate = self.peer_certificate.as_deref().unwrap_or_default();
                crypto::verify(certificate, scheme, &self.transcript, &signature)?;
                self.client_verified = true;
                self.record_transcript(msg_type, seq, body);
            }
            (_, kind) => return Err(ProtocolError::Unexpected(message_name(kind))),
        }
        Ok(())
    }

    /// Flight 4, answering `hello`.
    fn server_flight(&mut self, hello: &ClientHello, now: Instant) -> Result<(), ProtocolError> {
        // DTLS versions count down (0xfeff is 1.0, 0xfefd 1.2, 0xfefc 1.3); the client
        // names the newest it speaks.
        if hello.version > DTLS_1_2 {
            return Err(ProtocolError::Negotiation(
                "the client does not offer DTLS 1.2",
            ));
        }
        if !hello
            .cipher_suites
            .contains(&ECDHE_ECDSA_AES_128_GCM_SHA256)
        {
            return Err(ProtocolError::Negotiation("no cipher suite in common"));
        }
        if !hello.compression_methods.contains(&0) {
            return Err(ProtocolError::Illegal(
                "the client does not offer null compression",
            ));
        }
        let extensions = &hello.extensions;
        if !extensions.extended_master_secret {
            return Err(ProtocolError::Negotiation(
                "the client does not offer the extended master secret",
            ));
        }
        let group = match &extensions.supported_groups {
            // RFC 8422 §4: without the extension, any curve will do.
            None => GROUP_SECP256R1,
            Some(offered) => *GROUPS.iter().find(|group| offered.contains(group)).ok_or(
                ProtocolError::Negotiation("no key-exchange group in common"),
            )?,
        };
        let scheme = self.params.certificate.signer.scheme();
        if extensions
            .signature_algorithms
            .as_ref()
            .is_some_and(|offered| !offered.contains(&scheme))
        {
            return Err(ProtocolError::Negotiation(
                "the client accepts no signature scheme our key can make",
            ));
        }
        let offered_srtp = extensions.use_srtp.as_deref().unwrap_or_default();
        self.srtp_profile = self
            .params
            .srtp_profiles
            .iter()
            .copied()
            .find(|profile| offered_srtp.contains(&profile.id()));
        let secure_renegotiation = extensions.renegotiation_info.is_some()
            || hello.cipher_suites.contains(&EMPTY_RENEGOTIATION_INFO_SCSV);
        self.client_random = hello.random;

        let server_hello = ServerHello {
            version: DTLS_1_2,
            random: self.server_random,
            session_id: Vec::new(),
            cipher_suite: ECDHE_ECDSA_AES_128_GCM_SHA256,
            compression_method: 0,
            extensions: Extensions {
                use_srtp: self.srtp_profile.map(|profile| vec![profile.id()]),
                extended_master_secret: true,
                renegotiation_info: secure_renegotiation.then(Vec::new),
                ec_point_formats: extensions
                    .ec_point_formats
                    .as_ref()
                    .map(|_| vec![POINT_FORMAT_UNCOMPRESSED]),
                ..Extensions::default()
            },
        };
        self.queue_message(0, SERVER_HELLO, server_hello.encode());
        let certificate = encode_certificate(&[&self.params.certificate.der]);
        self.queue_message(0, CERTIFICATE, certificate);

        let share = KeyShare::generate(group, &self.rng)?;
        let signed = self.key_exchange_signed(group, share.public());
        let signature = self.params.certificate.signer.sign(&self.rng, &signed)?;
        let exchange = ServerKeyExchange {
            group,
            public: share.public().to_vec(),
            scheme,
            signature,
        };
        self.key_share = Some(share);
        self.queue_message(0, SERVER_KEY_EXCHANGE, exchange.encode());
        let request = CertificateRequest {
            certificate_types: vec![CERT_TYPE_ECDSA_SIGN, CERT_TYPE_RSA_SIGN],
            schemes: VERIFIABLE_SCHEMES.to_vec(),
        };
        self.queue_message(0, CERTIFICATE_REQUEST, request.encode());
        self.queue_message(0, SERVER_HELLO_DONE, Vec::new());
        self.state = State::ServerHelloSent;
        self.send_flight(now);
        Ok(())
    }

    // --- both ---

    /// What the server's `ServerKeyExchange` signature covers (RFC 8422 §5.4): both
    /// randoms, then the ECDH parameters.
    fn key_exchange_signed(&self, group: u16, public: &[u8]) -> Vec<u8> {
        let params = ServerKeyExchange::params(group, public);
        let mut signed = Vec::with_capacity(64 + params.len());
        signed.extend_from_slice(&self.client_random);
        signed.extend_from_slice(&self.server_random);
        signed.extend_from_slice(&params);
        signed
    }

    /// The peer's `Certificate`: its leaf must match an announced fingerprint.
    fn peer_certificate(&mut self, body: &[u8]) -> Result<(), ProtocolError> {
        let chain = parse_certificate(body)?;
        let leaf = chain
            .into_iter()
            .next()
            .ok_or(ProtocolError::NoCertificate)?;
        let expected = &self.params.remote_fingerprints;
        if !expected
            .iter()
            .any(|fingerprint| fingerprint.matches(&leaf))
        {
            let hash = expected
                .first()
                .map_or(HashFunction::Sha256, Fingerprint::hash);
            return Err(ProtocolError::FingerprintMismatch(Fingerprint::of_der(
                hash, &leaf,
            )));
        }
        self.peer_certificate = Some(leaf);
        Ok(())
    }

    /// The master secret and record keys, once the transcript holds `ClientKeyExchange`.
    fn derive_keys(&mut self, premaster: &[u8]) {
        let session_hash = crypto::transcript_hash(&self.transcript);
        let master = crypto::extended_master_secret(premaster, &session_hash);
        let keys = KeyBlock::derive(&master, &self.client_random, &self.server_random);
        let (ours, theirs) = if self.params.is_client {
            (&keys.client, &keys.server)
        } else {
            (&keys.server, &keys.client)
        };
        self.pending_write = Some(RecordCipher::new(ours));
        self.read = Some(RecordCipher::new(theirs));
        self.master = Some(master);
    }

    /// Queues our `ChangeCipherSpec` and `Finished`.
    fn queue_finished(&mut self) {
        let master = self.master.as_deref().unwrap_or_default();
        let verify = crypto::verify_data(
            master,
            self.params.is_client,
            &crypto::transcript_hash(&self.transcript),
        );
        self.flight.push(Outgoing::ChangeCipherSpec);
        if let Some(cipher) = self.pending_write.take() {
            self.write = Some(cipher);
        }
        self.queue_message(1, FINISHED, verify);
    }

    /// The peer's `Finished` (already decrypted).
    fn peer_finished(&mut self, seq: u16, body: &[u8]) -> Result<(), ProtocolError> {
        let master = self.master.as_deref().unwrap_or_default();
        let expected = crypto::verify_data(
            master,
            !self.params.is_client,
            &crypto::transcript_hash(&self.transcript),
        );
        if !bool::from(expected.ct_eq(body)) {
            return Err(ProtocolError::BadFinished);
        }
        self.record_transcript(FINISHED, seq, body);
        self.reassembly.start_at(seq.wrapping_add(1));
        if self.params.is_client {
            self.retransmit_at = None;
            self.flight.clear();
        } else {
            self.flight.clear();
            self.queue_finished();
            self.transmit_flight();
            // The server's last flight is sent again only when the client asks for it.
            self.retransmit_at = None;
        }
        self.state = State::Established;
        for (sequence, body) in std::mem::take(&mut self.deferred) {
            let record = Record {
                content_type: CONTENT_APPLICATION_DATA,
                epoch: 1,
                sequence,
                body: &body,
            };
            if let Some(plain) = self.open(&record) {
                self.early_data.push(plain);
            }
        }
        Ok(())
    }

    fn record_transcript(&mut self, msg_type: u8, seq: u16, body: &[u8]) {
        self.transcript
            .extend_from_slice(&handshake_message(msg_type, seq, body));
    }

    /// Adds one of our messages to the flight and the transcript.
    fn queue_message(&mut self, epoch: u16, msg_type: u8, body: Vec<u8>) {
        let message_seq = self.message_seq;
        self.message_seq = self.message_seq.wrapping_add(1);
        self.record_transcript(msg_type, message_seq, &body);
        self.flight.push(Outgoing::Handshake {
            epoch,
            msg_type,
            message_seq,
            body,
        });
    }

    /// Sends a new flight and arms its timer.
    fn send_flight(&mut self, now: Instant) {
        self.transmit_flight();
        self.interval = self.params.retransmit_interval;
        self.retransmit_at = Some(now + self.interval);
    }

    /// Serializes the current flight into datagrams of at most the MTU, fragmenting
    /// messages that do not fit one; returns how many datagrams it made.
    fn transmit_flight(&mut self) -> usize {
        let mtu = self
            .params
            .mtu
            .max(RECORD_HEADER_LEN + HANDSHAKE_HEADER_LEN + 64);
        let mut datagrams: Vec<Vec<u8>> = Vec::new();
        let mut current: Vec<u8> = Vec::new();
        let mut place = |record: Vec<u8>, current: &mut Vec<u8>| {
            if !current.is_empty() && current.len() + record.len() > mtu {
                datagrams.push(std::mem::take(current));
            }
            current.extend_from_slice(&record);
        };
        for outgoing in &self.flight {
            match outgoing {
                Outgoing::ChangeCipherSpec => {
                    let mut record = Vec::with_capacity(RECORD_HEADER_LEN + 1);
                    put_record(
                        &mut record,
                        CONTENT_CHANGE_CIPHER_SPEC,
                        0,
                        self.record_seq[0],
                        &[1],
                    );
                    self.record_seq[0] += 1;
                    place(record, &mut current);
                }
                Outgoing::Handshake {
                    epoch: 1,
                    msg_type,
                    message_seq,
                    body,
                } => {
                    let Some(cipher) = &self.write else { continue };
                    let mut record = Vec::new();
                    let message = handshake_message(*msg_type, *message_seq, body);
                    cipher.seal(
                        &mut record,
                        CONTENT_HANDSHAKE,
                        1,
                        self.record_seq[1],
                        &message,
                    );
                    self.record_seq[1] += 1;
                    place(record, &mut current);
                }
                Outgoing::Handshake {
                    msg_type,
                    message_seq,
                    body,
                    ..
                } => {
                    let room = mtu - RECORD_HEADER_LEN - HANDSHAKE_HEADER_LEN;
                    let mut offset = 0;
                    loop {
                        let len = room.min(body.len() - offset);
                        let mut fragment = Vec::with_capacity(HANDSHAKE_HEADER_LEN + len);
                        fragment.push(*msg_type);
                        fragment.put_u24(body.len());
                        fragment.put_u16(*message_seq);
                        fragment.put_u24(offset);
                        fragment.put_u24(len);
                        fragment.extend_from_slice(&body[offset..offset + len]);
                        let mut record = Vec::with_capacity(RECORD_HEADER_LEN + fragment.len());
                        put_record(
                            &mut record,
                            CONTENT_HANDSHAKE,
                            0,
                            self.record_seq[0],
                            &fragment,
                        );
                        self.record_seq[0] += 1;
                        place(record, &mut current);
                        offset += len;
                        if offset >= body.len() {
                            break;
                        }
                    }
                }
            }
        }
        if !current.is_empty() {
            datagrams.push(current);
        }
        let count = datagrams.len();
        self.outbox.extend(datagrams);
        count
    }
}

/// A received alert: a fatal one or `close_notify` ends the handshake.
fn check_alert(body: &[u8]) -> Result<(), ProtocolError> {
    match *body {
        [level, description]
            if level == alert::LEVEL_FATAL || description == alert::CLOSE_NOTIFY =>
        {
            Err(ProtocolError::PeerAlert(description))
        }
        _ => Ok(()),
    }
}

fn message_name(msg_type: u8) -> &'static str {
    match msg_type {
        CLIENT_HELLO => "ClientHello",
        SERVER_HELLO => "ServerHello",
        HELLO_VERIFY_REQUEST => "HelloVerifyRequest",
        CERTIFICATE => "Certificate",
        SERVER_KEY_EXCHANGE => "ServerKeyExchange",
        CERTIFICATE_REQUEST => "CertificateRequest",
        SERVER_HELLO_DONE => "ServerHelloDone",
        CERTIFICATE_VERIFY => "CertificateVerify",
        CLIENT_KEY_EXCHANGE => "ClientKeyExchange",
        FINISHED => "Finished",
        _ => "an unknown message type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificate::Certificate;
    use crate::fuzzing::params;

    fn pair(server_mtu: usize) -> (Handshake, Handshake, Instant) {
        let (a, b) = (
            Certificate::generate().unwrap(),
            Certificate::generate().unwrap(),
        );
        let now = Instant::now();
        let client = Handshake::new(params(&a, &b, true, 1200), now).unwrap();
        let server = Handshake::new(params(&b, &a, false, server_mtu), now).unwrap();
        (client, server, now)
    }

    /// Delivers everything `from` has to send to `to`, except datagrams `lose` picks.
    fn deliver(
        from: &mut Handshake,
        to: &mut Handshake,
        now: Instant,
        lose: &mut dyn FnMut(usize) -> bool,
    ) -> usize {
        let datagrams = from.take_outbox();
        for (i, datagram) in datagrams.iter().enumerate() {
            if !lose(i) {
                to.handle_datagram(datagram, now).unwrap();
            }
        }
        datagrams.len()
    }

    fn keys(handshake: &Handshake) -> SrtpKeyingMaterial {
        assert!(handshake.is_established());
        handshake.srtp_keying().unwrap()
    }

    #[test]
    fn two_flights_each_way_and_mirrored_keys() {
        let (mut client, mut server, now) = pair(1200);
        let mut keep = |_| false;
        assert_eq!(deliver(&mut client, &mut server, now, &mut keep), 1);
        assert_eq!(deliver(&mut server, &mut client, now, &mut keep), 1);
        assert_eq!(deliver(&mut client, &mut server, now, &mut keep), 1);
        assert!(server.is_established());
        assert_eq!(deliver(&mut server, &mut client, now, &mut keep), 1);
        assert!(client.is_established());
        assert_eq!(client.poll_timeout(), None);
        assert_eq!(server.poll_timeout(), None);
        let (c, s) = (keys(&client), keys(&server));
        assert_eq!(c.profile, SrtpProfile::AeadAes128Gcm);
        assert_eq!((c.local, c.remote), (s.remote, s.local));
    }

    #[test]
    fn a_client_sends_data_with_its_last_flight_and_the_server_reads_it_in_either_order() {
        for data_first in [false, true] {
            let (mut client, mut server, now) = pair(1200);
            let mut keep = |_| false;
            assert!(client.seal_application_data(b"too early").is_none());
            deliver(&mut client, &mut server, now, &mut keep);
            deliver(&mut server, &mut client, now, &mut keep);
            // Flight 5 is out: False Start.
            assert!(client.can_send_application_data() && !client.is_established());
            let flight = client.take_outbox();
            let data = client.seal_application_data(b"early").unwrap();
            if data_first {
                // Overtaken (or its flight lost): kept until the keys are known.
                server.handle_datagram(&data, now).unwrap();
                assert!(!server.is_established());
            }
            server.handle_datagram(&flight[0], now).unwrap();
            if !data_first {
                server.handle_datagram(&data, now).unwrap();
            }
            assert!(server.is_established());
            // The same record twice is read once.
            server.handle_datagram(&data, now).unwrap();
            let established = server.into_established().unwrap();
            assert_eq!(established.early_data, vec![b"early".to_vec()]);
        }
    }

    #[test]
    fn a_small_mtu_fragments_the_server_flight_and_it_still_completes() {
        let (mut client, mut server, now) = pair(200);
        let mut keep = |_| false;
        deliver(&mut client, &mut server, now, &mut keep);
        let datagrams = server.take_outbox();
        assert!(datagrams.len() > 3, "{}", datagrams.len());
        assert!(datagrams.iter().all(|d| d.len() <= 200));
        // In reverse order: reassembly does not depend on arrival order.
        for datagram in datagrams.iter().rev() {
            client.handle_datagram(datagram, now).unwrap();
        }
        deliver(&mut client, &mut server, now, &mut keep);
        deliver(&mut server, &mut client, now, &mut keep);
        assert!(client.is_established() && server.is_established());
    }

    #[test]
    fn lost_flights_are_sent_again_on_the_timer_or_when_the_peer_repeats_its_own() {
        let (mut client, mut server, now) = pair(1200);
        let mut keep = |_| false;
        let mut lose = |_| true;
        deliver(&mut client, &mut server, now, &mut keep);
        // Flight 4 is lost: the client's timer repeats its hello, and the server answers.
        deliver(&mut server, &mut client, now, &mut lose);
        let later = now + Duration::from_millis(150);
        assert!(client.poll_timeout().unwrap() <= later);
        client.handle_timeout(later);
        assert_eq!(client.datagrams_resent, 1);
        deliver(&mut client, &mut server, later, &mut keep);
        assert_eq!(
            (server.peer_datagrams_repeated, server.datagrams_resent),
            (1, 1)
        );
        deliver(&mut server, &mut client, later, &mut keep);
        // Flight 5 is lost: its timer (now 200 ms after the doubling) repeats it.
        deliver(&mut client, &mut server, later, &mut lose);
        let much_later = later + Duration::from_millis(250);
        client.handle_timeout(much_later);
        deliver(&mut client, &mut server, much_later, &mut keep);
        deliver(&mut server, &mut client, much_later, &mut keep);
        assert!(client.is_established() && server.is_established());
    }

    #[test]
    fn a_cookie_exchange_restarts_the_transcript() {
        let (mut client, _, now) = pair(1200);
        let first = client.take_outbox();
        let cookie = HelloVerifyRequest {
            cookie: vec![9; 20],
        }
        .encode();
        let mut request = Vec::new();
        put_record(
            &mut request,
            CONTENT_HANDSHAKE,
            0,
            0,
            &handshake_message(HELLO_VERIFY_REQUEST, 0, &cookie),
        );
        client.handle_datagram(&request, now).unwrap();
        let second = client.take_outbox();
        assert_eq!(second.len(), 1);
        let (record, _) = split_record(&second[0]).unwrap();
        let (fragment, _) = split_fragment(record.body).unwrap();
        assert_eq!((fragment.msg_type, fragment.message_seq), (CLIENT_HELLO, 1));
        assert_eq!(
            ClientHello::parse(fragment.body).unwrap().cookie,
            vec![9; 20]
        );
        assert_ne!(first[0], second[0]);
        assert_eq!(
            client.transcript,
            handshake_message(CLIENT_HELLO, 1, fragment.body)
        );
        // The same request again means our second hello was lost: it is repeated as is.
        client.handle_datagram(&request, now).unwrap();
        assert_eq!(client.take_outbox().len(), 1);
        assert_eq!(client.message_seq, 2);
    }

    #[test]
    fn a_forged_finished_fails_the_handshake_with_decrypt_error() {
        let (mut client, mut server, now) = pair(1200);
        let mut keep = |_| false;
        deliver(&mut client, &mut server, now, &mut keep);
        deliver(&mut server, &mut client, now, &mut keep);
        // Tamper with the client's Finished before it is sealed.
        if let Some(Outgoing::Handshake { body, .. }) = client.flight.last_mut() {
            body[0] ^= 1;
        }
        client.take_outbox();
        client.transmit_flight();
        let datagram = client.take_outbox().remove(0);
        let error = server.handle_datagram(&datagram, now).unwrap_err();
        assert_eq!(error, ProtocolError::BadFinished);
        assert_eq!(error.alert(), Some(alert::DECRYPT_ERROR));
        let alert = server.alert_datagram(&error).unwrap();
        assert_eq!(alert[0], CONTENT_ALERT);
    }
}
