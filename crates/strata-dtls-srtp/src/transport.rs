//! The DTLS handshake over an ICE packet channel, and the secured transport it yields.

use std::any::Any;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use dtls::config::{ClientAuthType, Config, ExtendedMasterSecretType};
use dtls::conn::DTLSConn;
use strata_ice::PacketChannel;
use webrtc_util::{Conn, KeyingMaterialExporter};

use crate::certificate::{Certificate, Fingerprint, HashFunction};
use crate::error::{Error, Upstream};
use crate::keying::{EXPORTER_LABEL, SrtpKeyingMaterial, SrtpProfile};
use crate::record::{FlightTracker, RecordValidator};

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

/// Counters of the record validator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DtlsStats {
    /// Datagrams refused before `dtls` saw them (see [`crate::record`]).
    pub malformed_dropped: u64,
    /// Handshake datagrams we sent again (a flight's retransmission timer fired, or the
    /// peer repeated its flight); see [`FlightTracker`](crate::record::FlightTracker).
    pub handshake_datagrams_resent: u64,
    /// Handshake datagrams the peer sent again: each means it waited a retransmission
    /// timeout for an answer from us, or one of our flights was lost.
    pub peer_handshake_datagrams_resent: u64,
}

/// Counters shared by the connection `dtls` drives and the transport.
#[derive(Debug, Default)]
struct Counters {
    malformed: AtomicU64,
    sent: Mutex<FlightTracker>,
    received: Mutex<FlightTracker>,
}

/// What the fingerprint check concluded, for a typed error when the handshake fails.
#[derive(Default)]
struct PeerCheck {
    mismatch: Option<Fingerprint>,
    no_certificate: bool,
}

/// Runs the handshake over `channel` and returns the secured transport.
pub async fn handshake(channel: PacketChannel, config: DtlsConfig) -> Result<DtlsTransport, Error> {
    if config.remote_fingerprints.is_empty() {
        return Err(Error::Config(
            "the peer's fingerprint is required to authenticate it",
        ));
    }
    let counters = Arc::new(Counters::default());
    let conn = Arc::new(ValidatedConn {
        channel,
        validator: Mutex::new(RecordValidator::new()),
        counters: Arc::clone(&counters),
    });
    let check = Arc::new(Mutex::new(PeerCheck::default()));
    let expected = config.remote_fingerprints.clone();
    let verdict = Arc::clone(&check);
    let upstream = Config {
        certificates: vec![(*config.certificate.inner).clone()],
        srtp_protection_profiles: config
            .srtp_profiles
            .iter()
            .map(|p| p.to_upstream())
            .collect(),
        extended_master_secret: ExtendedMasterSecretType::Require,
        client_auth: ClientAuthType::RequireAnyClientCert,
        // No CA: the peer is authenticated by the fingerprint its signed description carries.
        insecure_skip_verify: true,
        verify_peer_certificate: Some(Arc::new(move |certificates: &[Vec<u8>], _| {
            let mut verdict = verdict.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(leaf) = certificates.first() else {
                verdict.no_certificate = true;
                return Err(dtls::Error::ErrNoCertificates);
            };
            if expected.iter().any(|fingerprint| fingerprint.matches(leaf)) {
                return Ok(());
            }
            let hash = expected
                .first()
                .map_or(HashFunction::Sha256, Fingerprint::hash);
            verdict.mismatch = Some(Fingerprint::of_der(hash, leaf));
            Err(dtls::Error::Other(
                "certificate fingerprint mismatch".into(),
            ))
        })),
        server_name: "strata".to_owned(),
        flight_interval: config.retransmit_interval,
        mtu: config.mtu,
        ..Config::default()
    };
    let is_client = config.role == DtlsRole::Client;
    let connecting = DTLSConn::new(
        conn as Arc<dyn Conn + Send + Sync>,
        upstream,
        is_client,
        None,
    );
    let dtls = match tokio::time::timeout(config.handshake_timeout, connecting).await {
        Err(_) => return Err(Error::HandshakeTimeout(config.handshake_timeout)),
        Ok(Err(error)) => {
            let verdict = check.lock().unwrap_or_else(PoisonError::into_inner);
            return Err(match (&verdict.mismatch, verdict.no_certificate) {
                (Some(actual), _) => Error::FingerprintMismatch {
                    actual: actual.clone(),
                },
                (None, true) => Error::NoCertificate,
                (None, false) => Error::Handshake(Upstream::new(error)),
            });
        }
        Ok(Ok(dtls)) => dtls,
    };
    let keying = export_keying(&dtls, is_client).await?;
    Ok(DtlsTransport {
        conn: Arc::new(dtls),
        keying,
        role: config.role,
        counters,
    })
}

async fn export_keying(
    dtls: &DTLSConn,
    is_client: bool,
) -> Result<Option<SrtpKeyingMaterial>, Error> {
    let Some(profile) = SrtpProfile::from_upstream(dtls.selected_srtpprotection_profile()) else {
        return Ok(None);
    };
    let state = dtls.connection_state().await;
    let exported = state
        .export_keying_material(EXPORTER_LABEL, &[], SrtpKeyingMaterial::export_len(profile))
        .await
        .map_err(|e| Error::Handshake(Upstream::new(e)))?;
    Ok(SrtpKeyingMaterial::split(profile, &exported, is_client))
}

/// An established DTLS association: application data in both directions, and the SRTP
/// keys when a profile was negotiated.
pub struct DtlsTransport {
    conn: Arc<DTLSConn>,
    keying: Option<SrtpKeyingMaterial>,
    role: DtlsRole,
    counters: Arc<Counters>,
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
    /// Sends one message as application data.
    pub async fn send(&self, data: &[u8]) -> Result<(), Error> {
        self.conn
            .write(data, None)
            .await
            .map(drop)
            .map_err(map_io_error)
    }

    /// Receives one message of application data into `buf` (make it as large as the
    /// largest message expected).
    pub async fn recv(&self, buf: &mut [u8]) -> Result<usize, Error> {
        self.conn.read(buf, None).await.map_err(map_io_error)
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
        let repeated = |tracker: &Mutex<FlightTracker>| {
            tracker
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .repeated()
        };
        DtlsStats {
            malformed_dropped: self.counters.malformed.load(Ordering::Relaxed),
            handshake_datagrams_resent: repeated(&self.counters.sent),
            peer_handshake_datagrams_resent: repeated(&self.counters.received),
        }
    }

    /// Sends `close_notify` and closes.
    pub async fn close(&self) {
        let _ = self.conn.close().await;
    }
}

fn map_io_error(error: dtls::Error) -> Error {
    match error {
        dtls::Error::ErrConnClosed | dtls::Error::ErrAlertFatalOrClose => Error::Closed,
        other => Error::Transport(Upstream::new(other)),
    }
}

/// What `dtls` reads from and writes to: the ICE channel, with every inbound datagram
/// checked by a [`RecordValidator`] first.
struct ValidatedConn {
    channel: PacketChannel,
    validator: Mutex<RecordValidator>,
    counters: Arc<Counters>,
}

/// Notes a handshake datagram in `tracker` (datagrams that start with application data,
/// all of them once established, are not looked at).
fn track(tracker: &Mutex<FlightTracker>, datagram: &[u8]) {
    const APPLICATION_DATA: u8 = 23;
    if datagram.first() == Some(&APPLICATION_DATA) {
        return;
    }
    tracker
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .note(datagram);
}

fn closed() -> webrtc_util::Error {
    webrtc_util::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionAborted).into())
}

#[async_trait]
impl Conn for ValidatedConn {
    async fn connect(&self, _addr: SocketAddr) -> webrtc_util::Result<()> {
        Err(webrtc_util::Error::Other(
            "already connected through ICE".into(),
        ))
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        loop {
            let datagram = self.channel.recv().await.ok_or_else(closed)?;
            let verdict = self
                .validator
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .check(&datagram);
            if let Err(reason) = verdict {
                self.counters.malformed.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%reason, "dropped a malformed DTLS datagram");
                continue;
            }
            if datagram.len() > buf.len() {
                self.counters.malformed.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            track(&self.counters.received, &datagram);
            buf[..datagram.len()].copy_from_slice(&datagram);
            return Ok(datagram.len());
        }
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        let n = self.recv(buf).await?;
        Ok((
            n,
            self.channel
                .remote_addr()
                .unwrap_or(self.channel.local_addr()),
        ))
    }

    async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
        track(&self.counters.sent, buf);
        self.channel
            .send(buf)
            .await
            .map_err(|e| webrtc_util::Error::Io(std::io::Error::other(e).into()))?;
        Ok(buf.len())
    }

    async fn send_to(&self, buf: &[u8], _target: SocketAddr) -> webrtc_util::Result<usize> {
        self.send(buf).await
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        Ok(self.channel.local_addr())
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        self.channel.remote_addr()
    }

    async fn close(&self) -> webrtc_util::Result<()> {
        // The ICE agent owns the path; closing DTLS must not close ICE.
        Ok(())
    }

    fn as_any(&self) -> &(dyn Any + Send + Sync) {
        self
    }
}
