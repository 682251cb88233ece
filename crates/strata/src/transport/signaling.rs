//! What transports say to each other through the signaling server besides offers,
//! answers and candidates: relayed `message`s with a `strata_transport` member (the demo
//! page ignores them), and the join metadata that tells a transport from a browser.
//!
//! ```text
//! {"strata_transport": {"kind": "bye"}}                  we closed the connection
//! {"strata_transport": {"kind": "reset"}}                a fresh connection follows
//! {"strata_transport": {"kind": "refused", "limit": 8}}  we hold max_peers already
//! join metadata: {"name": "...", "strata_transport": {"version": 1, "session": "9f0c..."}}
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use strata_signal::client::Client;
use strata_signal::{Participant, PeerId};

/// The member transports' control messages and metadata live under.
const MEMBER: &str = "strata_transport";

/// A control message between transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Control {
    Bye,
    Reset,
    Refused { limit: usize },
}

/// Sends `control` to `peer` through the server.
pub(crate) async fn send_control(
    client: &Client,
    peer: &PeerId,
    control: Control,
) -> Result<(), strata_signal::Error> {
    client
        .send_message(Some(peer.clone()), json!({ MEMBER: control }))
        .await
}

/// The control message in relayed data, if it is one.
pub(crate) fn parse_control(data: &Value) -> Option<Control> {
    serde_json::from_value(data.get(MEMBER)?.clone()).ok()
}

/// Our join metadata: the display name (as the demo page shows it) and the session that
/// tells this run of the transport from an earlier one under the same id.
pub(crate) fn join_metadata(name: &str, session: &str) -> Value {
    json!({ "name": name, MEMBER: { "version": 1, "session": session } })
}

/// The session of a participant that is a transport; `None` for anything else.
pub(crate) fn transport_session(participant: &Participant) -> Option<String> {
    participant
        .metadata
        .as_ref()?
        .get(MEMBER)?
        .get("session")?
        .as_str()
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_messages_round_trip_and_other_data_is_not_one() {
        for control in [Control::Bye, Control::Reset, Control::Refused { limit: 3 }] {
            let data = json!({ MEMBER: control });
            assert_eq!(parse_control(&data), Some(control));
        }
        assert_eq!(parse_control(&json!({"text": "hi"})), None);
        assert_eq!(parse_control(&json!({MEMBER: {"kind": "nope"}})), None);
        assert_eq!(parse_control(&json!("string")), None);
    }

    #[test]
    fn metadata_tells_transports_from_browsers() {
        let transport = Participant {
            peer_id: PeerId::new("a").unwrap(),
            metadata: Some(join_metadata("alice", "s1")),
        };
        let browser = Participant {
            peer_id: PeerId::new("b").unwrap(),
            metadata: Some(json!({"name": "bob"})),
        };
        assert_eq!(transport_session(&transport).as_deref(), Some("s1"));
        assert_eq!(transport_session(&browser), None);
    }
}
