use serde_json::json;
use strata_signal::{SdpParams, ServerMessage, parse_server_message};

use super::*;

fn hub() -> Hub {
    Hub::new(HubConfig {
        max_participants: 3,
        max_rooms: 2,
    })
}

fn room(name: &str) -> RoomName {
    RoomName::new(name).unwrap()
}

fn peer(name: &str) -> PeerId {
    PeerId::new(name).unwrap()
}

fn dev_grant() -> Grant {
    Grant {
        identity: None,
        room: None,
        permissions: Permissions::PARTICIPANT,
        max_participants: None,
        may_replace: false,
    }
}

fn join(hub: &mut Hub, room_name: &str, name: &str, grant: &Grant) -> ConnId {
    let conn = hub.connect();
    hub.join(
        conn,
        RequestId::Number(1),
        JoinParams {
            room: room(room_name),
            token: None,
            peer_id: Some(peer(name)),
            metadata: None,
        },
        grant,
        peer("unused"),
    );
    conn
}

type Frames = Vec<(ConnId, ServerMessage)>;
type Closes = Vec<(ConnId, CloseReason)>;

/// Drains the hub: (receiver, parsed frame) and closes.
fn drain(hub: &mut Hub) -> (Frames, Closes) {
    let mut frames = Vec::new();
    let mut closes = Vec::new();
    while let Some(output) = hub.poll_output() {
        match output {
            HubOutput::Send { conn, frame } => {
                let text = std::str::from_utf8(&frame).unwrap();
                frames.push((conn, parse_server_message(text).unwrap()));
            }
            HubOutput::Close { conn, reason } => closes.push((conn, reason)),
        }
    }
    (frames, closes)
}

fn error_code(message: &ServerMessage) -> Option<ErrorCode> {
    match message {
        ServerMessage::Response(Response {
            outcome: Err(e), ..
        }) => Some(e.code),
        _ => None,
    }
}

#[test]
fn joining_lists_earlier_participants_and_announces_the_newcomer() {
    let mut hub = hub();
    let a = join(&mut hub, "r", "a", &dev_grant());
    drain(&mut hub);
    let b = join(&mut hub, "r", "b", &dev_grant());
    let (frames, _) = drain(&mut hub);
    let to_b = frames.iter().find(|(c, _)| *c == b).unwrap();
    let ServerMessage::Response(Response {
        outcome: Ok(result),
        ..
    }) = &to_b.1
    else {
        panic!("{to_b:?}")
    };
    assert_eq!(result["participants"], json!([{"peer_id": "a"}]));
    assert!(frames.iter().any(|(c, m)| *c == a
        && *m
            == ServerMessage::Notification(Notification::PeerJoined(Participant {
                peer_id: peer("b"),
                metadata: None
            }))));
}

#[test]
fn relay_reaches_only_the_named_peer_of_the_same_room() {
    let mut hub = hub();
    let a = join(&mut hub, "r1", "a", &dev_grant());
    let b = join(&mut hub, "r1", "b", &dev_grant());
    let c = join(&mut hub, "r2", "c", &dev_grant());
    drain(&mut hub);
    hub.handle_request(
        a,
        RequestId::Number(2),
        Request::Offer(SdpParams {
            to: peer("c"),
            sdp: "x".into(),
        }),
    );
    let (frames, _) = drain(&mut hub);
    assert_eq!(frames.len(), 1);
    assert_eq!(error_code(&frames[0].1), Some(ErrorCode::PEER_NOT_FOUND));
    hub.handle_request(
        a,
        RequestId::Number(3),
        Request::Offer(SdpParams {
            to: peer("b"),
            sdp: "x".into(),
        }),
    );
    let (frames, _) = drain(&mut hub);
    assert!(frames.iter().any(|(conn, m)| *conn == b && matches!(m, ServerMessage::Notification(Notification::Offer(o)) if o.from == peer("a"))));
    assert!(!frames.iter().any(|(conn, _)| *conn == c));
    assert_eq!(hub.stats().relayed, 1);
}

#[test]
fn limits_refuse_full_rooms_and_too_many_rooms() {
    let mut hub = hub();
    for name in ["a", "b", "c"] {
        join(&mut hub, "r", name, &dev_grant());
    }
    drain(&mut hub);
    join(&mut hub, "r", "d", &dev_grant());
    let (frames, _) = drain(&mut hub);
    assert_eq!(error_code(&frames[0].1), Some(ErrorCode::ROOM_FULL));
    join(&mut hub, "s", "e", &dev_grant());
    join(&mut hub, "t", "f", &dev_grant());
    let (frames, _) = drain(&mut hub);
    assert_eq!(
        error_code(&frames.last().unwrap().1),
        Some(ErrorCode::ROOM_FULL)
    );
    let limited = Grant {
        max_participants: Some(1),
        ..dev_grant()
    };
    join(&mut hub, "s", "g", &limited);
    let (frames, _) = drain(&mut hub);
    assert_eq!(error_code(&frames[0].1), Some(ErrorCode::ROOM_FULL));
}

#[test]
fn identity_tokens_replace_a_stale_seat_and_others_cannot_take_it() {
    let mut hub = hub();
    let old = join(&mut hub, "r", "a", &dev_grant());
    join(&mut hub, "r", "b", &dev_grant());
    drain(&mut hub);
    join(&mut hub, "r", "a", &dev_grant());
    let (frames, _) = drain(&mut hub);
    assert_eq!(error_code(&frames[0].1), Some(ErrorCode::PEER_ID_TAKEN));
    let vouched = Grant {
        identity: Some(peer("a")),
        may_replace: true,
        ..dev_grant()
    };
    let new = join(&mut hub, "r", "a", &vouched);
    let (frames, closes) = drain(&mut hub);
    assert_eq!(closes, [(old, CloseReason::Replaced)]);
    assert!(
        frames
            .iter()
            .any(|(c, m)| *c == new && error_code(m).is_none())
    );
    assert_eq!(hub.rooms()[0].participants.len(), 2);
}

#[test]
fn rooms_disappear_when_the_last_participant_leaves() {
    let mut hub = hub();
    let a = join(&mut hub, "r", "a", &dev_grant());
    let b = join(&mut hub, "r", "b", &dev_grant());
    drain(&mut hub);
    hub.handle_request(a, RequestId::Number(5), Request::Leave);
    let (frames, _) = drain(&mut hub);
    assert!(frames.iter().any(|(c, m)| *c == b && matches!(m, ServerMessage::Notification(Notification::PeerLeft(l)) if l.reason == LeaveReason::Left)));
    hub.disconnect(b);
    assert_eq!(hub.room_count(), 0);
}

#[test]
fn shutdown_notifies_every_participant_then_closes_every_connection() {
    let mut hub = hub();
    let a = join(&mut hub, "r", "a", &dev_grant());
    let idle = hub.connect();
    drain(&mut hub);
    hub.shutdown();
    let (frames, closes) = drain(&mut hub);
    assert_eq!(
        frames,
        [(
            a,
            ServerMessage::Notification(Notification::RoomClosed(RoomClosed {
                reason: RoomClosedReason::Shutdown
            }))
        )]
    );
    assert_eq!(closes.len(), 2);
    assert!(closes.contains(&(idle, CloseReason::Shutdown)));
    join(&mut hub, "r", "z", &dev_grant());
    let (frames, _) = drain(&mut hub);
    assert_eq!(error_code(&frames[0].1), Some(ErrorCode::SHUTTING_DOWN));
}
