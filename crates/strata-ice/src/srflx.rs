//! Server-reflexive candidates, discovered through our own socket.
//!
//! webrtc-ice gathers no server-reflexive candidates for a muxed socket, so we ask each
//! STUN (and UDP TURN) server ourselves with a Binding request (RFC 8489 §7.2.1
//! retransmits) from the same socket every other packet uses. The candidate is only
//! signalled; ICE checks are sent from its base, the host candidate, as RFC 8445 §6.1.2.4
//! prunes server-reflexive local candidates to their base anyway.

use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use stun::agent::TransactionId;
use stun::message::{BINDING_REQUEST, BINDING_SUCCESS, Getter, Message, Setter};
use stun::xoraddr::XorMappedAddress;
use tokio::sync::oneshot;

use crate::agent::{IceEvent, Shared};
use crate::socket;
use crate::url::{Host, IceServer};

/// Gaps between (re)transmissions of the Binding request: sent at 0, 250, 750 and 1750 ms,
/// then the query waits for the configured timeout.
const RETRANSMIT_GAPS: [Duration; 3] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
];

/// RFC 8445 §5.1.2.2 type preference for server-reflexive candidates.
const TYPE_PREFERENCE: u32 = 100;
/// Local preference for a single-homed socket.
const LOCAL_PREFERENCE: u32 = 65_535;

/// Queries `server` and reports the candidate (or why it could not), then tells the agent
/// this part of gathering is done.
pub(crate) async fn discover(shared: Arc<Shared>, server: IceServer) {
    let limit = shared.config().srflx_timeout;
    let outcome = tokio::select! {
        () = shared.cancelled().cancelled() => return,
        outcome = tokio::time::timeout(limit, query(&shared, &server)) => outcome,
    };
    match outcome {
        Ok(Ok(Some(candidate))) => shared.emit(IceEvent::LocalCandidate(candidate)).await,
        Ok(Ok(None)) => {}
        Ok(Err(reason)) => {
            shared
                .emit(IceEvent::ServerUnreachable {
                    server: server.to_string(),
                    reason,
                })
                .await;
        }
        Err(_) => {
            let reason = format!("no answer within {limit:?}");
            shared
                .emit(IceEvent::ServerUnreachable {
                    server: server.to_string(),
                    reason,
                })
                .await;
        }
    }
    shared.srflx_done().await;
}

/// Removes the waiter when the query ends, however it ends.
struct Waiter<'a> {
    shared: &'a Shared,
    transaction: [u8; 12],
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.shared
            .srflx_waiters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.transaction);
    }
}

/// The candidate line, or `None` when the mapped address equals our host address (no NAT:
/// the candidate would be redundant, RFC 8445 §5.1.3).
async fn query(shared: &Shared, server: &IceServer) -> Result<Option<String>, String> {
    let target = resolve(
        server,
        shared.config().policy.ipv4,
        shared.config().policy.ipv6,
    )
    .await?;
    let mut request = Message::new();
    request
        .build(&[
            Box::new(TransactionId::new()) as Box<dyn Setter>,
            Box::new(BINDING_REQUEST),
        ])
        .map_err(|e| format!("cannot build a Binding request: {e}"))?;
    let transaction = request.transaction_id.0;
    let (reply_tx, mut reply_rx) = oneshot::channel::<Bytes>();
    shared
        .srflx_waiters
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(transaction, reply_tx);
    let _waiter = Waiter {
        shared,
        transaction,
    };

    let socket = shared.socket().map_err(|e| e.to_string())?;
    let mut gaps = RETRANSMIT_GAPS.iter();
    let reply = loop {
        socket
            .send_to(&request.raw, target)
            .await
            .map_err(|e| format!("send to {target} failed: {e}"))?;
        let Some(gap) = gaps.next() else {
            break (&mut reply_rx).await;
        };
        tokio::select! {
            reply = &mut reply_rx => break reply,
            () = tokio::time::sleep(*gap) => {}
        }
    };
    let reply = reply.map_err(|_| "the agent closed".to_owned())?;
    let mapped = mapped_address(&reply).map_err(|e| format!("bad Binding response: {e}"))?;
    let port = socket.local_addr().map_err(|e| e.to_string())?.port();
    let base = route_source(target).ok_or("no route to the server")?;
    if mapped == SocketAddr::new(base, port) {
        return Ok(None);
    }
    Ok(Some(candidate_line(mapped, base, port, target.ip())))
}

async fn resolve(server: &IceServer, ipv4: bool, ipv6: bool) -> Result<SocketAddr, String> {
    let usable = |addr: &SocketAddr| (addr.is_ipv4() && ipv4) || (addr.is_ipv6() && ipv6);
    let candidates: Vec<SocketAddr> = match &server.host {
        Host::Ip(ip) => vec![SocketAddr::new(*ip, server.port)],
        Host::Name(name) => tokio::net::lookup_host((name.as_str(), server.port))
            .await
            .map_err(|e| format!("cannot resolve {name}: {e}"))?
            .collect(),
    };
    // Prefer IPv4, which every NAT maps; use IPv6 when that is all there is.
    candidates
        .iter()
        .filter(|a| usable(a))
        .min_by_key(|a| a.is_ipv6())
        .copied()
        .ok_or_else(|| format!("{} has no address of an enabled family", server.host))
}

fn mapped_address(reply: &[u8]) -> Result<SocketAddr, String> {
    let mut message = Message::new();
    message.raw = reply.to_vec();
    message.decode().map_err(|e| e.to_string())?;
    if message.typ != BINDING_SUCCESS {
        return Err(format!("unexpected message type {}", message.typ));
    }
    let mut mapped = XorMappedAddress::default();
    mapped.get_from(&message).map_err(|e| e.to_string())?;
    Ok(socket::normalize(SocketAddr::new(mapped.ip, mapped.port)))
}

/// The local address the kernel routes towards `target` from (sends nothing).
fn route_source(target: SocketAddr) -> Option<IpAddr> {
    let probe = std::net::UdpSocket::bind(socket::unspecified(target.is_ipv6(), 0)).ok()?;
    probe.connect(target).ok()?;
    Some(probe.local_addr().ok()?.ip())
}

/// `candidate:` attribute value for a server-reflexive candidate (RFC 8839 §5.1), with the
/// RFC 8445 §5.1.2.1 priority and a foundation shared by candidates of the same type, base
/// and server (§5.1.1.3).
fn candidate_line(mapped: SocketAddr, base: IpAddr, port: u16, server: IpAddr) -> String {
    let priority = (TYPE_PREFERENCE << 24) | (LOCAL_PREFERENCE << 8) | (256 - 1);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    ("srflx", base, server, "udp").hash(&mut hasher);
    let foundation = hasher.finish() as u32;
    format!(
        "candidate:{foundation} 1 udp {priority} {} {} typ srflx raddr {base} rport {port}",
        mapped.ip(),
        mapped.port()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_lines_follow_rfc_8839_with_rfc_8445_priority() {
        let line = candidate_line(
            "203.0.113.7:40000".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            5000,
            "198.51.100.1".parse().unwrap(),
        );
        let fields: Vec<&str> = line.split(' ').collect();
        assert!(fields[0].starts_with("candidate:"));
        assert_eq!(
            &fields[1..],
            [
                "1",
                "udp",
                "1694498815",
                "203.0.113.7",
                "40000",
                "typ",
                "srflx",
                "raddr",
                "10.0.0.2",
                "rport",
                "5000"
            ]
        );
        // Same type, base and server: same foundation.
        let again = candidate_line(
            "203.0.113.7:40001".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            5000,
            "198.51.100.1".parse().unwrap(),
        );
        assert_eq!(again.split(' ').next(), line.split(' ').next());
    }

    #[test]
    fn binding_responses_must_be_success_with_a_mapped_address() {
        assert!(mapped_address(&[0u8; 3]).is_err());
        let mut request = Message::new();
        request
            .build(&[
                Box::new(TransactionId::new()) as Box<dyn Setter>,
                Box::new(BINDING_REQUEST),
            ])
            .unwrap();
        assert!(
            mapped_address(&request.raw)
                .unwrap_err()
                .contains("unexpected message type")
        );
        let mut response = Message::new();
        let mapped = XorMappedAddress {
            ip: "203.0.113.9".parse().unwrap(),
            port: 1234,
        };
        response
            .build(&[
                Box::new(TransactionId::new()) as Box<dyn Setter>,
                Box::new(BINDING_SUCCESS),
                Box::new(mapped),
            ])
            .unwrap();
        assert_eq!(
            mapped_address(&response.raw).unwrap(),
            "203.0.113.9:1234".parse().unwrap()
        );
    }
}
