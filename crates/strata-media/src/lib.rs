//! Sans-IO RTP/RTCP.
mod error;
mod ids;
pub mod rtcp;
pub mod rtp;

pub use error::{Error, Malformed};
pub use ids::{ExtendedSeqNo, MAX_MID_LEN, Mid, PayloadType, SeqNo, SeqUnwrapper, Ssrc};
