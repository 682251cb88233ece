//! The protocol's messages as Rust types, and their JSON-RPC 2.0 encoding.
//!
//! ```text
//! client -> server   {"jsonrpc":"2.0","id":<int|string>,"method":<name>,"params":{...}}
//! server -> client   {"jsonrpc":"2.0","id":<id|null>,"result":{...}}
//!                    {"jsonrpc":"2.0","id":<id|null>,"error":{"code":<int>,"message":<text>}}
//!                    {"jsonrpc":"2.0","method":<name>,"params":{...}}        (notification)
//! ```
//!
//! Parsing of requests is strict (unknown members and unknown params fields are errors,
//! every string is bounded); parsing of what a server sends is tolerant of unknown fields,
//! so a newer server can add them.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Error;
use crate::error_code::{ErrorCode, ErrorObject};
use crate::ids::{PeerId, RequestId, RoomName};
use crate::limits::{
    MAX_CANDIDATE_BYTES, MAX_FRAME_BYTES, MAX_METADATA_BYTES, MAX_MID_BYTES, MAX_REASON_BYTES,
    MAX_SDP_BYTES, MAX_SERVER_FRAME_BYTES, MAX_TOKEN_BYTES,
};

const JSONRPC: &str = "2.0";

/// The methods a client may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `join`: enter a room.
    Join,
    /// `leave`: leave the room.
    Leave,
    /// `offer`: relay a session description offer to one peer.
    Offer,
    /// `answer`: relay a session description answer to one peer.
    Answer,
    /// `candidate`: relay an ICE candidate (or end-of-candidates) to one peer.
    Candidate,
    /// `message`: relay application data to one peer or to the whole room.
    Message,
    /// `kick`: remove a participant (needs the `admin` permission).
    Kick,
    /// `ping`: liveness check.
    Ping,
}

impl Method {
    /// Every method, in documentation order.
    pub const ALL: [Self; 8] = [
        Self::Join,
        Self::Leave,
        Self::Offer,
        Self::Answer,
        Self::Candidate,
        Self::Message,
        Self::Kick,
        Self::Ping,
    ];

    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Join => "join",
            Self::Leave => "leave",
            Self::Offer => "offer",
            Self::Answer => "answer",
            Self::Candidate => "candidate",
            Self::Message => "message",
            Self::Kick => "kick",
            Self::Ping => "ping",
        }
    }

    /// The method with this wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

/// Permissions a room token grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Permissions {
    /// May send offers, answers, candidates and messages.
    pub publish: bool,
    /// May receive offers, answers, candidates and messages from others.
    pub subscribe: bool,
    /// May kick participants of the room.
    pub admin: bool,
}

impl Permissions {
    /// Publish and subscribe, no admin: an ordinary participant.
    pub const PARTICIPANT: Self = Self {
        publish: true,
        subscribe: true,
        admin: false,
    };
    /// Everything.
    pub const ALL: Self = Self {
        publish: true,
        subscribe: true,
        admin: true,
    };
}

/// `join` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinParams {
    /// The room to enter (created on first join).
    pub room: RoomName,
    /// The room token (a JWT); optional only on servers in dev mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The id to join as. With a token that names an identity it must match it; when
    /// absent the identity from the token or a server-assigned id is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_id: Option<PeerId>,
    /// Free-form data shown to the other participants (a display name, say); at most
    /// [`MAX_METADATA_BYTES`] serialized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// `offer` and `answer` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SdpParams {
    /// The peer to deliver to.
    pub to: PeerId,
    /// The session description.
    pub sdp: String,
}

/// An ICE candidate as browsers describe it (`RTCIceCandidateInit`).
///
/// An empty `candidate` string is end-of-candidates (RFC 8838 section 4.4; what a
/// browser's `icecandidate` event carries last).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceCandidate {
    /// The `candidate:` attribute line, or `""` for end-of-candidates.
    pub candidate: String,
    /// The media stream identification tag the candidate belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    /// The index of the m-line the candidate belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mline_index: Option<u16>,
}

impl IceCandidate {
    /// The end-of-candidates marker for the m-line `sdp_mid`.
    pub fn end_of_candidates(sdp_mid: Option<String>, sdp_mline_index: Option<u16>) -> Self {
        Self {
            candidate: String::new(),
            sdp_mid,
            sdp_mline_index,
        }
    }

    /// Whether this is end-of-candidates rather than a candidate.
    pub fn is_end_of_candidates(&self) -> bool {
        self.candidate.is_empty()
    }
}

/// `candidate` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandidateParams {
    /// The peer to deliver to.
    pub to: PeerId,
    /// The candidate line, or `""` for end-of-candidates.
    pub candidate: String,
    /// Its media stream identification tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    /// Its m-line index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mline_index: Option<u16>,
}

impl CandidateParams {
    /// Params that deliver `candidate` to `to`.
    pub fn new(to: PeerId, candidate: IceCandidate) -> Self {
        Self {
            to,
            candidate: candidate.candidate,
            sdp_mid: candidate.sdp_mid,
            sdp_mline_index: candidate.sdp_mline_index,
        }
    }

    /// The candidate part.
    pub fn ice_candidate(&self) -> IceCandidate {
        IceCandidate {
            candidate: self.candidate.clone(),
            sdp_mid: self.sdp_mid.clone(),
            sdp_mline_index: self.sdp_mline_index,
        }
    }
}

/// `message` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageParams {
    /// The peer to deliver to; absent: every other participant of the room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<PeerId>,
    /// Any JSON value, bounded by the frame size.
    pub data: Value,
}

/// `kick` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KickParams {
    /// The participant to remove.
    pub peer_id: PeerId,
    /// Why, shown to the kicked participant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Params of methods that take none (`leave`, `ping`): absent or `{}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// A request a client sends, by method.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Request {
    /// `join`.
    Join(JoinParams),
    /// `leave`.
    Leave,
    /// `offer`.
    Offer(SdpParams),
    /// `answer`.
    Answer(SdpParams),
    /// `candidate`.
    Candidate(CandidateParams),
    /// `message`.
    Message(MessageParams),
    /// `kick`.
    Kick(KickParams),
    /// `ping`.
    Ping,
}

impl Request {
    /// The request's method.
    pub fn method(&self) -> Method {
        match self {
            Self::Join(_) => Method::Join,
            Self::Leave => Method::Leave,
            Self::Offer(_) => Method::Offer,
            Self::Answer(_) => Method::Answer,
            Self::Candidate(_) => Method::Candidate,
            Self::Message(_) => Method::Message,
            Self::Kick(_) => Method::Kick,
            Self::Ping => Method::Ping,
        }
    }

    /// Checks the bounds serde cannot express (string lengths, metadata size).
    pub fn validate(&self) -> Result<(), Error> {
        match self {
            Self::Join(p) => {
                if let Some(token) = &p.token {
                    bounded("token", token, MAX_TOKEN_BYTES)?;
                }
                if let Some(metadata) = &p.metadata {
                    let size = serde_json::to_string(metadata).map_or(usize::MAX, |s| s.len());
                    if size > MAX_METADATA_BYTES {
                        return Err(Error::InvalidArgument {
                            what: "metadata",
                            reason: format!(
                                "is {size} bytes serialized, at most {MAX_METADATA_BYTES} allowed"
                            ),
                        });
                    }
                }
                Ok(())
            }
            Self::Offer(p) | Self::Answer(p) => bounded("sdp", &p.sdp, MAX_SDP_BYTES),
            Self::Candidate(p) => {
                bounded("candidate", &p.candidate, MAX_CANDIDATE_BYTES)?;
                if let Some(mid) = &p.sdp_mid {
                    bounded("sdp_mid", mid, MAX_MID_BYTES)?;
                }
                Ok(())
            }
            Self::Kick(p) => p
                .reason
                .as_deref()
                .map_or(Ok(()), |r| bounded("reason", r, MAX_REASON_BYTES)),
            Self::Leave | Self::Message(_) | Self::Ping => Ok(()),
        }
    }

    /// Encodes the call with `id` (`None`: a notification-shaped frame).
    fn encode_with(&self, id: Option<&RequestId>) -> String {
        let method = self.method().as_str();
        match self {
            Self::Join(p) => encode_call(id, method, p),
            Self::Offer(p) | Self::Answer(p) => encode_call(id, method, p),
            Self::Candidate(p) => encode_call(id, method, p),
            Self::Message(p) => encode_call(id, method, p),
            Self::Kick(p) => encode_call(id, method, p),
            Self::Leave | Self::Ping => encode_call(id, method, &NoParams {}),
        }
    }
}

fn bounded(what: &'static str, value: &str, max: usize) -> Result<(), Error> {
    if value.len() > max {
        return Err(Error::InvalidArgument {
            what,
            reason: format!("is {} bytes, at most {max} allowed", value.len()),
        });
    }
    Ok(())
}

/// A request with its id: one client frame.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestFrame {
    /// The id the response will carry.
    pub id: RequestId,
    /// The request.
    pub request: Request,
}

#[derive(Serialize)]
struct WireCall<'a, P> {
    jsonrpc: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a RequestId>,
    method: &'a str,
    params: &'a P,
}

fn encode_call<P: Serialize>(id: Option<&RequestId>, method: &str, params: &P) -> String {
    encode_json(&WireCall {
        jsonrpc: JSONRPC,
        id,
        method,
        params,
    })
}

impl RequestFrame {
    /// The frame as JSON text.
    pub fn encode(&self) -> String {
        self.request.encode_with(Some(&self.id))
    }
}

fn encode_json<T: Serialize>(value: &T) -> String {
    // Our wire types hold only strings, numbers, maps and `Value`s with string keys, which
    // always serialize; the fallback is unreachable but keeps this path panic-free.
    serde_json::to_string(value).unwrap_or_else(|_| String::from("{}"))
}

/// Why a client frame was refused, with what the server answers.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestError {
    /// The request's id when it could be read; `None` is answered with `"id": null`.
    pub id: Option<RequestId>,
    /// The error object to answer with.
    pub error: ErrorObject,
    /// `false` for JSON-RPC notifications (no `id` member), which must not be answered.
    pub reply: bool,
}

impl RequestError {
    fn new(id: Option<RequestId>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            id,
            error: ErrorObject::new(code, message),
            reply: true,
        }
    }

    /// The error response frame to send, or `None` when the frame must not be answered.
    pub fn response(&self) -> Option<Response> {
        self.reply.then(|| Response {
            id: self.id.clone(),
            outcome: Err(self.error.clone()),
        })
    }
}

/// Parses one client frame strictly.
///
/// Frames longer than [`MAX_FRAME_BYTES`] are refused with `too_large` before parsing;
/// a server with a lower limit checks it first. Batches (JSON arrays) are refused with
/// `invalid_request`: the protocol has no use for them and answering them would let one
/// frame produce unbounded work.
pub fn parse_request(frame: &str) -> Result<RequestFrame, RequestError> {
    if frame.len() > MAX_FRAME_BYTES {
        return Err(RequestError::new(
            None,
            ErrorCode::TOO_LARGE,
            format!(
                "frame is {} bytes, at most {MAX_FRAME_BYTES} allowed",
                frame.len()
            ),
        ));
    }
    let value: Value = serde_json::from_str(frame)
        .map_err(|e| RequestError::new(None, ErrorCode::PARSE_ERROR, format!("not JSON: {e}")))?;
    let mut object = match value {
        Value::Object(object) => object,
        Value::Array(_) => {
            return Err(RequestError::new(
                None,
                ErrorCode::INVALID_REQUEST,
                "batch requests are not supported; send one request per frame",
            ));
        }
        _ => {
            return Err(RequestError::new(
                None,
                ErrorCode::INVALID_REQUEST,
                "a request must be a JSON object",
            ));
        }
    };
    let id = match object.get("id") {
        None => None,
        Some(raw) => Some(
            RequestId::from_json(raw)
                .map_err(|reason| RequestError::new(None, ErrorCode::INVALID_REQUEST, reason))?,
        ),
    };
    let invalid =
        |message: String| RequestError::new(id.clone(), ErrorCode::INVALID_REQUEST, message);
    if let Some(unknown) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "jsonrpc" | "id" | "method" | "params"))
    {
        return Err(invalid(format!(
            "unknown member `{}` in request; expected jsonrpc, id, method, params",
            truncated(unknown)
        )));
    }
    match object.get("jsonrpc") {
        Some(Value::String(v)) if v == JSONRPC => {}
        Some(_) => return Err(invalid("`jsonrpc` must be \"2.0\"".to_owned())),
        None => return Err(invalid("missing `jsonrpc`: \"2.0\"".to_owned())),
    }
    let method_name = match object.get("method") {
        Some(Value::String(name)) => name.clone(),
        Some(_) => return Err(invalid("`method` must be a string".to_owned())),
        None => return Err(invalid("missing `method`".to_owned())),
    };
    let Some(id) = id else {
        // A JSON-RPC notification: well-formed, but the protocol defines none from clients,
        // and a notification is never answered.
        let mut error = invalid(format!(
            "`{}` sent as a notification (no `id`); clients send requests only",
            truncated(&method_name)
        ));
        error.reply = false;
        return Err(error);
    };
    let Some(method) = Method::from_name(&method_name) else {
        return Err(RequestError::new(
            Some(id),
            ErrorCode::METHOD_NOT_FOUND,
            format!("no method `{}`", truncated(&method_name)),
        ));
    };
    let params = object.remove("params").unwrap_or(Value::Object(Map::new()));
    let request = parse_params(method, params).map_err(|message| {
        RequestError::new(Some(id.clone()), ErrorCode::INVALID_PARAMS, message)
    })?;
    Ok(RequestFrame { id, request })
}

fn truncated(text: &str) -> &str {
    let mut end = text.len().min(64);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn parse_params(method: Method, params: Value) -> Result<Request, String> {
    fn typed<T: DeserializeOwned>(method: Method, params: Value) -> Result<T, String> {
        serde_json::from_value(params)
            .map_err(|e| format!("invalid params for `{}`: {e}", method.as_str()))
    }
    if !params.is_object() {
        return Err(format!(
            "params of `{}` must be an object (by-name params)",
            method.as_str()
        ));
    }
    let request = match method {
        Method::Join => Request::Join(typed(method, params)?),
        Method::Leave => {
            typed::<NoParams>(method, params)?;
            Request::Leave
        }
        Method::Offer => Request::Offer(typed(method, params)?),
        Method::Answer => Request::Answer(typed(method, params)?),
        Method::Candidate => Request::Candidate(typed(method, params)?),
        Method::Message => Request::Message(typed(method, params)?),
        Method::Kick => Request::Kick(typed(method, params)?),
        Method::Ping => {
            typed::<NoParams>(method, params)?;
            Request::Ping
        }
    };
    request
        .validate()
        .map_err(|e| format!("invalid params for `{}`: {e}", method.as_str()))?;
    Ok(request)
}

/// One participant of a room as others see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Participant {
    /// Its id.
    pub peer_id: PeerId,
    /// What it passed as `metadata` when it joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// The result of `join`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinResult {
    /// The room joined.
    pub room: RoomName,
    /// The caller's id in the room.
    pub peer_id: PeerId,
    /// Everyone else in the room, in the order they joined.
    pub participants: Vec<Participant>,
    /// What the caller may do.
    pub permissions: Permissions,
}

/// The result of every method but `join`: an empty object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Ack {}

/// A server's answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The request's id (`None` on errors about frames whose id could not be read).
    pub id: Option<RequestId>,
    /// The result, or the error object.
    pub outcome: Result<Value, ErrorObject>,
}

#[derive(Serialize)]
struct WireResult<'a> {
    jsonrpc: &'static str,
    id: Option<&'a RequestId>,
    result: &'a Value,
}

#[derive(Serialize)]
struct WireError<'a> {
    jsonrpc: &'static str,
    id: Option<&'a RequestId>,
    error: &'a ErrorObject,
}

impl Response {
    /// A success response carrying `result`.
    pub fn result<T: Serialize>(id: RequestId, result: &T) -> Self {
        Self {
            id: Some(id),
            outcome: Ok(serde_json::to_value(result).unwrap_or(Value::Null)),
        }
    }

    /// The frame of a success response carrying `result`, encoded directly (without
    /// building a [`Response`] first).
    pub fn encode_result<T: Serialize>(id: &RequestId, result: &T) -> String {
        #[derive(Serialize)]
        struct Wire<'a, T> {
            jsonrpc: &'static str,
            id: &'a RequestId,
            result: &'a T,
        }
        encode_json(&Wire {
            jsonrpc: JSONRPC,
            id,
            result,
        })
    }

    /// An error response.
    pub fn error(id: Option<RequestId>, error: ErrorObject) -> Self {
        Self {
            id,
            outcome: Err(error),
        }
    }

    /// The frame as JSON text.
    pub fn encode(&self) -> String {
        match &self.outcome {
            Ok(result) => encode_json(&WireResult {
                jsonrpc: JSONRPC,
                id: self.id.as_ref(),
                result,
            }),
            Err(error) => encode_json(&WireError {
                jsonrpc: JSONRPC,
                id: self.id.as_ref(),
                error,
            }),
        }
    }
}

/// Why a participant left (`peer_left`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LeaveReason {
    /// It called `leave`.
    Left,
    /// Its connection dropped or timed out.
    Disconnected,
    /// It was kicked.
    Kicked,
    /// It joined again from another connection, which replaced this one.
    Replaced,
}

/// Why the server closed a room (`room_closed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RoomClosedReason {
    /// An administrator closed it; rejoining is pointless.
    Closed,
    /// The server is shutting down; a client may reconnect to its successor and rejoin.
    Shutdown,
}

/// `peer_left` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerLeft {
    /// Who left.
    pub peer_id: PeerId,
    /// Why.
    pub reason: LeaveReason,
}

/// `offer`/`answer` notification params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayedSdp {
    /// The sender.
    pub from: PeerId,
    /// The session description.
    pub sdp: String,
}

/// `candidate` notification params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayedCandidate {
    /// The sender.
    pub from: PeerId,
    /// The candidate line, or `""` for end-of-candidates.
    pub candidate: String,
    /// Its media stream identification tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    /// Its m-line index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mline_index: Option<u16>,
}

impl RelayedCandidate {
    /// The candidate part.
    pub fn ice_candidate(&self) -> IceCandidate {
        IceCandidate {
            candidate: self.candidate.clone(),
            sdp_mid: self.sdp_mid.clone(),
            sdp_mline_index: self.sdp_mline_index,
        }
    }
}

/// `message` notification params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelayedMessage {
    /// The sender.
    pub from: PeerId,
    /// Whether it was sent to the whole room (`false`: to the receiver only).
    #[serde(default)]
    pub broadcast: bool,
    /// The application data.
    pub data: Value,
}

/// `kicked` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kicked {
    /// Why, if the kicker said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `room_closed` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomClosed {
    /// Why.
    pub reason: RoomClosedReason,
}

/// A notification the server pushes to a client.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Notification {
    /// `peer_joined`: someone entered the room.
    PeerJoined(Participant),
    /// `peer_left`: someone left the room.
    PeerLeft(PeerLeft),
    /// `offer`: a peer sent this client an offer.
    Offer(RelayedSdp),
    /// `answer`: a peer sent this client an answer.
    Answer(RelayedSdp),
    /// `candidate`: a peer sent this client an ICE candidate.
    Candidate(RelayedCandidate),
    /// `message`: a peer sent application data.
    Message(RelayedMessage),
    /// `kicked`: this client was removed from the room; the server closes the connection.
    Kicked(Kicked),
    /// `room_closed`: the room is gone; the server closes the connection.
    RoomClosed(RoomClosed),
}

impl Notification {
    /// The notification's method name.
    pub fn method(&self) -> &'static str {
        match self {
            Self::PeerJoined(_) => "peer_joined",
            Self::PeerLeft(_) => "peer_left",
            Self::Offer(_) => "offer",
            Self::Answer(_) => "answer",
            Self::Candidate(_) => "candidate",
            Self::Message(_) => "message",
            Self::Kicked(_) => "kicked",
            Self::RoomClosed(_) => "room_closed",
        }
    }

    /// The frame as JSON text.
    pub fn encode(&self) -> String {
        let method = self.method();
        match self {
            Self::PeerJoined(p) => encode_call(None, method, p),
            Self::PeerLeft(p) => encode_call(None, method, p),
            Self::Offer(p) | Self::Answer(p) => encode_call(None, method, p),
            Self::Candidate(p) => encode_call(None, method, p),
            Self::Message(p) => encode_call(None, method, p),
            Self::Kicked(p) => encode_call(None, method, p),
            Self::RoomClosed(p) => encode_call(None, method, p),
        }
    }

    fn parse(method: &str, params: Value) -> Result<Option<Self>, serde_json::Error> {
        Ok(Some(match method {
            "peer_joined" => Self::PeerJoined(serde_json::from_value(params)?),
            "peer_left" => Self::PeerLeft(serde_json::from_value(params)?),
            "offer" => Self::Offer(serde_json::from_value(params)?),
            "answer" => Self::Answer(serde_json::from_value(params)?),
            "candidate" => Self::Candidate(serde_json::from_value(params)?),
            "message" => Self::Message(serde_json::from_value(params)?),
            "kicked" => Self::Kicked(serde_json::from_value(params)?),
            "room_closed" => Self::RoomClosed(serde_json::from_value(params)?),
            _ => return Ok(None),
        }))
    }
}

/// One frame a server sends.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServerMessage {
    /// The answer to a request.
    Response(Response),
    /// A pushed event.
    Notification(Notification),
    /// A notification whose method this version does not know (from a newer server);
    /// ignoring it is safe.
    UnknownNotification {
        /// Its method name.
        method: String,
    },
}

/// Parses one server frame. Unknown fields are ignored (a newer server may add some);
/// anything that is not a response or a known-shaped notification is an error.
pub fn parse_server_message(frame: &str) -> Result<ServerMessage, Error> {
    let malformed =
        |code: ErrorCode, message: String| Error::MalformedFrame(ErrorObject::new(code, message));
    if frame.len() > MAX_SERVER_FRAME_BYTES {
        return Err(malformed(
            ErrorCode::TOO_LARGE,
            format!(
                "server frame is {} bytes, at most {MAX_SERVER_FRAME_BYTES} accepted",
                frame.len()
            ),
        ));
    }
    let value: Value = serde_json::from_str(frame)
        .map_err(|e| malformed(ErrorCode::PARSE_ERROR, format!("not JSON: {e}")))?;
    let Value::Object(mut object) = value else {
        return Err(malformed(
            ErrorCode::INVALID_REQUEST,
            "a server frame must be a JSON object".into(),
        ));
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some(JSONRPC) {
        return Err(malformed(
            ErrorCode::INVALID_REQUEST,
            "missing or wrong `jsonrpc`".into(),
        ));
    }
    if let Some(method) = object.get("method") {
        let Some(method) = method.as_str().map(str::to_owned) else {
            return Err(malformed(
                ErrorCode::INVALID_REQUEST,
                "`method` must be a string".into(),
            ));
        };
        if object.contains_key("id") {
            return Err(malformed(
                ErrorCode::INVALID_REQUEST,
                format!(
                    "server sent a request (`{}` with an id); servers only notify",
                    truncated(&method)
                ),
            ));
        }
        let params = object.remove("params").unwrap_or(Value::Object(Map::new()));
        return match Notification::parse(&method, params) {
            Ok(Some(notification)) => Ok(ServerMessage::Notification(notification)),
            Ok(None) => Ok(ServerMessage::UnknownNotification { method }),
            Err(e) => Err(malformed(
                ErrorCode::INVALID_PARAMS,
                format!(
                    "invalid params for notification `{}`: {e}",
                    truncated(&method)
                ),
            )),
        };
    }
    let id = match object.get("id") {
        None => {
            return Err(malformed(
                ErrorCode::INVALID_REQUEST,
                "neither a response nor a notification".into(),
            ));
        }
        Some(Value::Null) => None,
        Some(raw) => Some(
            RequestId::from_json(raw)
                .map_err(|r| malformed(ErrorCode::INVALID_REQUEST, r.into()))?,
        ),
    };
    let outcome = match (object.remove("result"), object.remove("error")) {
        (Some(result), None) => Ok(result),
        (None, Some(error)) => Err(serde_json::from_value::<ErrorObject>(error).map_err(|e| {
            malformed(
                ErrorCode::INVALID_REQUEST,
                format!("invalid error object: {e}"),
            )
        })?),
        _ => {
            return Err(malformed(
                ErrorCode::INVALID_REQUEST,
                "a response holds exactly one of `result` and `error`".into(),
            ));
        }
    };
    Ok(ServerMessage::Response(Response { id, outcome }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn peer(id: &str) -> PeerId {
        PeerId::new(id).unwrap()
    }

    fn code_of(frame: &str) -> ErrorCode {
        parse_request(frame).unwrap_err().error.code
    }

    #[test]
    fn join_request_parses_with_all_fields() {
        let frame = r#"{"jsonrpc":"2.0","id":1,"method":"join","params":{"room":"lobby","token":"t","peer_id":"alice","metadata":{"name":"Alice"}}}"#;
        let parsed = parse_request(frame).unwrap();
        assert_eq!(parsed.id, RequestId::Number(1));
        let Request::Join(join) = parsed.request else {
            panic!("not a join: {parsed:?}")
        };
        assert_eq!(join.room.as_str(), "lobby");
        assert_eq!(join.peer_id, Some(peer("alice")));
        assert_eq!(join.metadata, Some(json!({"name": "Alice"})));
    }

    #[test]
    fn unknown_params_fields_are_invalid_params_naming_the_field() {
        let error = parse_request(
            r#"{"jsonrpc":"2.0","id":"a","method":"offer","params":{"to":"bob","sdp":"v=0","sdpp":1}}"#,
        )
        .unwrap_err();
        assert_eq!(error.error.code, ErrorCode::INVALID_PARAMS);
        assert_eq!(error.id, Some(RequestId::Text("a".into())));
        assert!(
            error.error.message.contains("sdpp"),
            "{}",
            error.error.message
        );
    }

    #[test]
    fn envelope_errors_get_their_codes() {
        assert_eq!(code_of("{not json"), ErrorCode::PARSE_ERROR);
        assert_eq!(code_of("[]"), ErrorCode::INVALID_REQUEST);
        assert_eq!(code_of("42"), ErrorCode::INVALID_REQUEST);
        assert_eq!(
            code_of(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#),
            ErrorCode::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"id":1,"method":"ping"}"#),
            ErrorCode::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1,"method":7}"#),
            ErrorCode::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#),
            ErrorCode::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1,"method":"ping","extra":1}"#),
            ErrorCode::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1,"method":"dance"}"#),
            ErrorCode::METHOD_NOT_FOUND
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":[]}"#),
            ErrorCode::INVALID_PARAMS
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1,"method":"offer","params":{"to":5,"sdp":"x"}}"#),
            ErrorCode::INVALID_PARAMS
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1,"method":"join","params":{"room":""}}"#),
            ErrorCode::INVALID_PARAMS
        );
        assert_eq!(
            code_of(&" ".repeat(MAX_FRAME_BYTES + 1)),
            ErrorCode::TOO_LARGE
        );
    }

    #[test]
    fn notifications_from_clients_are_never_answered() {
        let error = parse_request(r#"{"jsonrpc":"2.0","method":"ping"}"#).unwrap_err();
        assert!(!error.reply);
        assert!(error.response().is_none());
    }

    #[test]
    fn oversize_fields_are_invalid_params() {
        let sdp = "a".repeat(MAX_SDP_BYTES + 1);
        let frame = RequestFrame {
            id: RequestId::Number(1),
            request: Request::Offer(SdpParams { to: peer("b"), sdp }),
        }
        .encode();
        assert_eq!(code_of(&frame), ErrorCode::INVALID_PARAMS);
        let metadata = json!({ "name": "n".repeat(MAX_METADATA_BYTES) });
        let frame = RequestFrame {
            id: RequestId::Number(1),
            request: Request::Join(JoinParams {
                room: RoomName::new("r").unwrap(),
                token: None,
                peer_id: None,
                metadata: Some(metadata),
            }),
        }
        .encode();
        assert_eq!(code_of(&frame), ErrorCode::INVALID_PARAMS);
    }

    /// Regression (fuzz `signal_request_frame`): a long decimal in relayed data parsed to
    /// a float one bit off the nearest one, so the relayed message changed on the way.
    #[test]
    fn relayed_numbers_survive_a_round_trip_exactly() {
        let frame = r#"{"jsonrpc":"2.0","id":1,"method":"message","params":{"data":[13133332333333333333333333.33333333333333333333333333333333,{"a":null}]}}"#;
        let parsed = parse_request(frame).unwrap();
        let Request::Message(message) = &parsed.request else {
            panic!("not a message: {parsed:?}")
        };
        assert_eq!(message.data[0].as_f64(), Some(1.313_333_233_333_333_3e25));
        assert_eq!(parse_request(&parsed.encode()).unwrap(), parsed);
    }

    #[test]
    fn server_messages_parse_responses_and_notifications() {
        let ok = parse_server_message(r#"{"jsonrpc":"2.0","id":3,"result":{}}"#).unwrap();
        assert_eq!(
            ok,
            ServerMessage::Response(Response {
                id: Some(RequestId::Number(3)),
                outcome: Ok(json!({}))
            })
        );
        let err = parse_server_message(
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"not JSON"}}"#,
        )
        .unwrap();
        let ServerMessage::Response(Response {
            id: None,
            outcome: Err(e),
        }) = err
        else {
            panic!()
        };
        assert_eq!(e.code, ErrorCode::PARSE_ERROR);
        let unknown =
            parse_server_message(r#"{"jsonrpc":"2.0","method":"future_thing","params":{}}"#)
                .unwrap();
        assert_eq!(
            unknown,
            ServerMessage::UnknownNotification {
                method: "future_thing".into()
            }
        );
        assert!(
            parse_server_message(r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{}}"#).is_err()
        );
        assert!(
            parse_server_message(r#"{"jsonrpc":"2.0","method":"offer","params":{"from":"a"}}"#)
                .is_err()
        );
    }
}
