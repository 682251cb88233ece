//! The frames transports exchange on a channel whose protocol is [`FRAMED_PROTOCOL`]:
//! whole messages, large messages in pieces, and round-trip probes. Sans-IO: bytes in,
//! frames out.
//!
//! A channel with any other protocol (the demo page's, `""`) carries raw messages and
//! none of this, so browsers and transports share rooms.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     kind      |  body ...                                     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! kind 0x00 binary message   body: the message
//! kind 0x01 text message     body: the message, UTF-8
//! kind 0x02 first piece      body: original kind (1 byte), total length (u32, network
//!                                  order), then the first piece's bytes
//! kind 0x03 next piece       body: the next piece's bytes (in order: reliable ordered
//!                                  channels only)
//! kind 0x10 probe            body: sequence number (u32)
//! kind 0x11 probe answer     body: the probe's sequence number (u32)
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use crate::data_channel::Message;

/// The data channel sub-protocol of transports that speak these frames.
pub const FRAMED_PROTOCOL: &str = "strata-transport/1";

const BINARY: u8 = 0x00;
const TEXT: u8 = 0x01;
const FIRST: u8 = 0x02;
const NEXT: u8 = 0x03;
const PROBE: u8 = 0x10;
const PROBE_ANSWER: u8 = 0x11;

/// Bytes a first piece adds to its payload.
pub(crate) const FIRST_HEADER: usize = 6;

/// One frame received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A whole message (received whole or reassembled).
    Message(Message),
    /// A piece was stored; the message is not complete yet.
    Piece,
    /// The peer's probe: answer it.
    Probe(u32),
    /// The answer to our probe.
    ProbeAnswer(u32),
}

/// Frames refused: the peer broke the framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FrameError {
    #[error("empty frame")]
    Empty,
    #[error("unknown frame kind {0:#04x}")]
    UnknownKind(u8),
    #[error("truncated frame header")]
    Truncated,
    #[error("text that is not UTF-8")]
    NotUtf8,
    #[error("a message of {size} bytes announced, more than the {limit} accepted")]
    TooLarge { size: usize, limit: usize },
    #[error("a piece without a first piece")]
    Orphan,
    #[error("pieces longer than the announced message")]
    Overrun,
    #[error("an empty split message")]
    EmptySplit,
}

/// A whole message as one frame.
pub(crate) fn encode_whole(message: &Message) -> Bytes {
    let (kind, body): (u8, &[u8]) = match message {
        Message::Binary(data) => (BINARY, data),
        Message::Text(text) => (TEXT, text.as_bytes()),
    };
    let mut frame = BytesMut::with_capacity(1 + body.len());
    frame.put_u8(kind);
    frame.put_slice(body);
    frame.freeze()
}

/// A message split into frames of at most `frame_limit` bytes each. `frame_limit` must
/// exceed [`FIRST_HEADER`]; the message must fit a `u32` (the caller bounds it far lower).
pub(crate) fn encode_pieces(message: &Message, frame_limit: usize) -> Vec<Bytes> {
    let (kind, body): (u8, &[u8]) = match message {
        Message::Binary(data) => (BINARY, data),
        Message::Text(text) => (TEXT, text.as_bytes()),
    };
    let first_len = body.len().min(frame_limit - FIRST_HEADER);
    let mut frames = Vec::with_capacity(body.len() / (frame_limit - 1) + 2);
    let mut first = BytesMut::with_capacity(FIRST_HEADER + first_len);
    first.put_u8(FIRST);
    first.put_u8(kind);
    first.put_u32(u32::try_from(body.len()).unwrap_or(u32::MAX));
    first.put_slice(&body[..first_len]);
    frames.push(first.freeze());
    for chunk in body[first_len..].chunks(frame_limit - 1) {
        let mut next = BytesMut::with_capacity(1 + chunk.len());
        next.put_u8(NEXT);
        next.put_slice(chunk);
        frames.push(next.freeze());
    }
    frames
}

/// A probe, or the answer to one.
pub(crate) fn encode_probe(seq: u32, answer: bool) -> Bytes {
    let mut frame = BytesMut::with_capacity(5);
    frame.put_u8(if answer { PROBE_ANSWER } else { PROBE });
    frame.put_u32(seq);
    frame.freeze()
}

struct Partial {
    kind: u8,
    total: usize,
    data: BytesMut,
}

/// Reassembles the frames of one channel, in arrival order.
///
/// Bounded: a message is held up to `limit` bytes (the transport's `max_message_size`);
/// a larger announcement is refused before anything is stored. A first piece that
/// arrives while another message is incomplete replaces it (counted in `abandoned`).
pub(crate) struct Reassembler {
    limit: usize,
    partial: Option<Partial>,
    /// Incomplete messages dropped because a new one started.
    pub(crate) abandoned: u64,
}

impl Reassembler {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            partial: None,
            abandoned: 0,
        }
    }

    /// Handles one frame's bytes.
    pub(crate) fn handle_frame(&mut self, frame: &[u8]) -> Result<Frame, FrameError> {
        let (&kind, body) = frame.split_first().ok_or(FrameError::Empty)?;
        match kind {
            BINARY | TEXT => {
                if body.len() > self.limit {
                    return Err(FrameError::TooLarge {
                        size: body.len(),
                        limit: self.limit,
                    });
                }
                whole(kind, Bytes::copy_from_slice(body)).map(Frame::Message)
            }
            FIRST => {
                if body.len() < FIRST_HEADER - 1 {
                    return Err(FrameError::Truncated);
                }
                let inner = body[0];
                if inner != BINARY && inner != TEXT {
                    return Err(FrameError::UnknownKind(inner));
                }
                let total = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
                if total > self.limit {
                    return Err(FrameError::TooLarge {
                        size: total,
                        limit: self.limit,
                    });
                }
                if total == 0 {
                    return Err(FrameError::EmptySplit);
                }
                if self.partial.take().is_some() {
                    self.abandoned += 1;
                }
                self.partial = Some(Partial {
                    kind: inner,
                    total,
                    data: BytesMut::with_capacity(total),
                });
                self.piece(&body[5..])
            }
            NEXT => self.piece(body),
            PROBE | PROBE_ANSWER => {
                let seq = <[u8; 4]>::try_from(body).map_err(|_| FrameError::Truncated)?;
                let seq = u32::from_be_bytes(seq);
                Ok(if kind == PROBE {
                    Frame::Probe(seq)
                } else {
                    Frame::ProbeAnswer(seq)
                })
            }
            other => Err(FrameError::UnknownKind(other)),
        }
    }

    fn piece(&mut self, bytes: &[u8]) -> Result<Frame, FrameError> {
        let partial = self.partial.as_mut().ok_or(FrameError::Orphan)?;
        if partial.data.len() + bytes.len() > partial.total {
            self.partial = None;
            return Err(FrameError::Overrun);
        }
        partial.data.put_slice(bytes);
        if partial.data.len() < partial.total {
            return Ok(Frame::Piece);
        }
        let Some(done) = self.partial.take() else {
            return Err(FrameError::Orphan);
        };
        whole(done.kind, done.data.freeze()).map(Frame::Message)
    }
}

fn whole(kind: u8, body: Bytes) -> Result<Message, FrameError> {
    if kind == TEXT {
        let text = String::from_utf8(body.to_vec()).map_err(|_| FrameError::NotUtf8)?;
        Ok(Message::Text(text))
    } else {
        Ok(Message::Binary(body))
    }
}

/// Any bytes, as frames of one channel, never panic; what completes is within the limit.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn fuzz_reassembler(data: &[u8]) {
    let mut reassembler = Reassembler::new(4096);
    for frame in data.split(|&b| b == 0xff) {
        if let Ok(Frame::Message(message)) = reassembler.handle_frame(frame) {
            assert!(message.len() <= 4096);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_messages_reassemble_at_every_size_around_the_limit() {
        for size in [1, 9, 10, 11, 20, 100, 1000] {
            let data: Vec<u8> = (0..size).map(|i| i as u8).collect();
            let message = Message::Binary(Bytes::from(data));
            let frames = encode_pieces(&message, 16);
            assert!(frames.iter().all(|f| f.len() <= 16));
            let mut reassembler = Reassembler::new(1000);
            let mut done = None;
            for (i, frame) in frames.iter().enumerate() {
                match reassembler.handle_frame(frame).unwrap() {
                    Frame::Message(m) => {
                        assert_eq!(i, frames.len() - 1);
                        done = Some(m);
                    }
                    Frame::Piece => assert!(i < frames.len() - 1),
                    other => panic!("{other:?}"),
                }
            }
            assert_eq!(done, Some(message));
        }
    }

    #[test]
    fn whole_text_binary_and_probes_round_trip() {
        let mut reassembler = Reassembler::new(100);
        for message in [Message::Text("héllo".into()), Message::Binary(Bytes::new())] {
            let frame = encode_whole(&message);
            assert_eq!(
                reassembler.handle_frame(&frame).unwrap(),
                Frame::Message(message)
            );
        }
        assert_eq!(
            reassembler.handle_frame(&encode_probe(7, false)).unwrap(),
            Frame::Probe(7)
        );
        assert_eq!(
            reassembler
                .handle_frame(&encode_probe(u32::MAX, true))
                .unwrap(),
            Frame::ProbeAnswer(u32::MAX)
        );
    }

    #[test]
    fn broken_framing_is_refused_and_bounded() {
        let mut reassembler = Reassembler::new(100);
        assert_eq!(reassembler.handle_frame(&[]), Err(FrameError::Empty));
        assert_eq!(
            reassembler.handle_frame(&[0x42]),
            Err(FrameError::UnknownKind(0x42))
        );
        assert_eq!(
            reassembler.handle_frame(&[NEXT, 1]),
            Err(FrameError::Orphan)
        );
        assert_eq!(
            reassembler.handle_frame(&[FIRST, BINARY, 0, 0, 1, 0, 9]),
            Err(FrameError::TooLarge {
                size: 256,
                limit: 100
            })
        );
        assert_eq!(
            reassembler.handle_frame(&[FIRST, BINARY, 0]),
            Err(FrameError::Truncated)
        );
        assert_eq!(
            reassembler.handle_frame(&[TEXT, 0xff]),
            Err(FrameError::NotUtf8)
        );
        assert_eq!(
            reassembler.handle_frame(&[PROBE, 1]),
            Err(FrameError::Truncated)
        );
        assert_eq!(
            reassembler.handle_frame(&[FIRST, BINARY, 0, 0, 0, 2, 1]),
            Ok(Frame::Piece)
        );
        assert_eq!(
            reassembler.handle_frame(&[NEXT, 1, 2]),
            Err(FrameError::Overrun)
        );
        assert_eq!(
            reassembler.handle_frame(&[FIRST, BINARY, 0, 0, 0, 3, 1]),
            Ok(Frame::Piece)
        );
        assert_eq!(
            reassembler.handle_frame(&[FIRST, TEXT, 0, 0, 0, 1, b'a']),
            Ok(Frame::Message(Message::Text("a".into())))
        );
        assert_eq!(reassembler.abandoned, 1);
        let too_big = vec![BINARY; 102];
        assert!(matches!(
            reassembler.handle_frame(&too_big),
            Err(FrameError::TooLarge { .. })
        ));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..2000 {
            let len = (seed % 64) as usize;
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed % 20) as u8
                })
                .collect();
            fuzz_reassembler(&data);
        }
    }
}
