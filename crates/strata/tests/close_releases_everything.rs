//! Closing (or dropping) a connection ends its channels, its tasks and its socket.

mod peers;

use peers::{PATIENCE, connected_with_channel, loopback};
use strata::{ChannelEvent, ChannelOptions, PeerConnectionState};
use strata_interop::netns::run_isolated;

#[test]
fn close_ends_the_peer_channels_and_reports_closed() {
    run_isolated(|| async {
        let (a, mut b, local, remote) =
            connected_with_channel(loopback(), loopback(), "x", ChannelOptions::default()).await;
        a.pc.close().await;
        assert_eq!(a.pc.connection_state(), PeerConnectionState::Closed);
        // Operations after close are refused.
        assert!(matches!(
            a.pc.create_offer().await,
            Err(strata::Error::Closed)
        ));
        // Our channel ends; the peer sees its channel close and its connection go down.
        loop {
            match tokio::time::timeout(PATIENCE, local.recv()).await.unwrap() {
                None | Some(ChannelEvent::Closed(_)) => break,
                Some(_) => {}
            }
        }
        loop {
            match tokio::time::timeout(PATIENCE, remote.recv()).await.unwrap() {
                None | Some(ChannelEvent::Closed(_)) => break,
                Some(_) => {}
            }
        }
        let state = b.wait_for(|s| s != PeerConnectionState::Connected).await;
        assert_ne!(state, PeerConnectionState::Connected);
    });
}

#[test]
fn dropping_every_handle_closes_the_connection_and_frees_its_port() {
    run_isolated(|| async {
        let (a, _b, local, _remote) =
            connected_with_channel(loopback(), loopback(), "x", ChannelOptions::default()).await;
        let stats = a.pc.stats().await.unwrap();
        let pair = stats.selected_pair.expect("connected");
        let port = pair.local.port;
        drop(a);
        drop(local);
        // The driver notices, closes every layer, and the port becomes free.
        tokio::time::timeout(PATIENCE, async {
            loop {
                if std::net::UdpSocket::bind(("0.0.0.0", port)).is_ok() {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the port is released after the last handle is dropped");
    });
}
