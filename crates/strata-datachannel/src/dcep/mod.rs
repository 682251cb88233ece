//! Our DCEP (RFC 8832): the wire codec and the per-association state machine, sans-IO.
//!
//! Nothing here does I/O, reads a clock or draws randomness: time is an input and every
//! output is drained by the caller (the SCTP adapter in this crate, or anything else that
//! can move SCTP user messages and reset streams).

mod endpoint;
mod ids;
mod message;
mod ppid;

pub use endpoint::{
    ChannelCloseReason, ChannelOrigin, ChannelRequest, ChannelState, DcepConfig, DcepEndpoint,
    DcepOutput, DcepStats, UserMessage,
};
pub use ids::{DtlsRole, StreamId};
pub use message::{
    ChannelType, DataChannelOpen, DcepMessage, MESSAGE_TYPE_ACK, MESSAGE_TYPE_OPEN, Reliability,
};
pub use ppid::PayloadKind;
