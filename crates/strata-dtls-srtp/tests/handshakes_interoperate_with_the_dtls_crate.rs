//! Our DTLS against another implementation: the `dtls` crate (webrtc-rs), as client and as
//! server, over two real ICE agents on loopback. Its server always sends a
//! `HelloVerifyRequest`, so our client's cookie exchange is exercised here too.

use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use dtls::config::{ClientAuthType, Config, ExtendedMasterSecretType};
use dtls::conn::DTLSConn;
use dtls::extension::extension_use_srtp::SrtpProtectionProfile;
use strata_dtls_srtp::{Certificate, DtlsConfig, DtlsRole, SrtpProfile, handshake};
use strata_ice::PacketChannel;
use strata_interop::netns::run_isolated;
use webrtc_util::{Conn, KeyingMaterialExporter};

mod loopback;
use loopback::{PATIENCE, ice_pair};

/// The `dtls` crate's view of an ICE channel.
struct ChannelConn(PacketChannel);

#[async_trait]
impl Conn for ChannelConn {
    async fn connect(&self, _addr: SocketAddr) -> webrtc_util::Result<()> {
        Ok(())
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        let datagram = self
            .0
            .recv()
            .await
            .ok_or(webrtc_util::Error::ErrClosedListener)?;
        buf[..datagram.len()].copy_from_slice(&datagram);
        Ok(datagram.len())
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        let n = self.recv(buf).await?;
        Ok((n, self.0.remote_addr().unwrap_or(self.0.local_addr())))
    }

    async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
        self.0
            .send(buf)
            .await
            .map_err(|e| webrtc_util::Error::Other(e.to_string()))?;
        Ok(buf.len())
    }

    async fn send_to(&self, buf: &[u8], _target: SocketAddr) -> webrtc_util::Result<usize> {
        self.send(buf).await
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        Ok(self.0.local_addr())
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        self.0.remote_addr()
    }

    async fn close(&self) -> webrtc_util::Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &(dyn Any + Send + Sync) {
        self
    }
}

fn upstream_config(profiles: Vec<SrtpProtectionProfile>) -> Config {
    Config {
        certificates: vec![
            dtls::crypto::Certificate::generate_self_signed(vec!["peer".into()]).unwrap(),
        ],
        srtp_protection_profiles: profiles,
        extended_master_secret: ExtendedMasterSecretType::Require,
        client_auth: ClientAuthType::RequireAnyClientCert,
        insecure_skip_verify: true,
        ..Config::default()
    }
}

fn upstream_fingerprint(config: &Config) -> strata_dtls_srtp::Fingerprint {
    let der = config.certificates[0].certificate[0].as_ref();
    strata_dtls_srtp::Fingerprint::of_der(strata_dtls_srtp::HashFunction::Sha256, der)
}

async fn exchange_and_compare_keys(
    ours: strata_dtls_srtp::DtlsTransport,
    theirs: DTLSConn,
    we_are_client: bool,
) {
    ours.send(b"from strata").await.unwrap();
    let mut buf = vec![0u8; 2048];
    let n = tokio::time::timeout(PATIENCE, theirs.read(&mut buf, None))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"from strata");
    theirs.write(b"from dtls", None).await.unwrap();
    let n = tokio::time::timeout(PATIENCE, ours.recv(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"from dtls");

    let keys = ours.srtp_keying().unwrap();
    assert_eq!(keys.profile, SrtpProfile::AeadAes128Gcm);
    let state = theirs.connection_state().await;
    let exported = state
        .export_keying_material("EXTRACTOR-dtls_srtp", &[], 56)
        .await
        .unwrap();
    let (client_key, server_key) = (&exported[..16], &exported[16..32]);
    let (client_salt, server_salt) = (&exported[32..44], &exported[44..56]);
    let (local, remote) = if we_are_client {
        ((client_key, client_salt), (server_key, server_salt))
    } else {
        ((server_key, server_salt), (client_key, client_salt))
    };
    assert_eq!(
        (&keys.local.master_key[..], &keys.local.master_salt[..]),
        local
    );
    assert_eq!(
        (&keys.remote.master_key[..], &keys.remote.master_salt[..]),
        remote
    );

    // A close_notify from them ends our reading.
    theirs.close().await.unwrap();
    let closed = tokio::time::timeout(PATIENCE, ours.recv(&mut buf))
        .await
        .unwrap();
    assert!(
        matches!(closed, Err(strata_dtls_srtp::Error::Closed)),
        "{closed:?}"
    );
}

#[test]
fn our_client_completes_a_handshake_with_a_cookie_exchanging_dtls_crate_server() {
    run_isolated(|| async {
        let (ice_a, ice_b) = ice_pair().await;
        let server_config = upstream_config(vec![
            SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm,
            SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80,
        ]);
        let ours = Certificate::generate().unwrap();
        let client = DtlsConfig::new(
            ours.clone(),
            DtlsRole::Client,
            vec![upstream_fingerprint(&server_config)],
        );
        let conn: Arc<dyn Conn + Send + Sync> = Arc::new(ChannelConn(ice_b.dtls_channel()));
        let (a, b) = tokio::join!(
            handshake(ice_a.dtls_channel(), client),
            DTLSConn::new(conn, server_config, false, None)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let presented = b.connection_state().await.peer_certificates;
        assert!(ours.fingerprint().matches(&presented[0]));
        assert!(
            a.stats().peer_handshake_datagrams_resent == 0,
            "{:?}",
            a.stats()
        );
        exchange_and_compare_keys(a, b, true).await;
    });
}

#[test]
fn our_server_completes_a_handshake_with_a_dtls_crate_client() {
    run_isolated(|| async {
        let (ice_a, ice_b) = ice_pair().await;
        let client_config = upstream_config(vec![SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm]);
        let ours = Certificate::generate().unwrap();
        let server = DtlsConfig::new(
            ours.clone(),
            DtlsRole::Server,
            vec![upstream_fingerprint(&client_config)],
        );
        let conn: Arc<dyn Conn + Send + Sync> = Arc::new(ChannelConn(ice_b.dtls_channel()));
        let (a, b) = tokio::join!(
            handshake(ice_a.dtls_channel(), server),
            DTLSConn::new(conn, client_config, true, None)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let presented = b.connection_state().await.peer_certificates;
        assert!(ours.fingerprint().matches(&presented[0]));
        exchange_and_compare_keys(a, b, false).await;
    });
}
