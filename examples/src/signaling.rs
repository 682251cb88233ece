//! Copy-paste signaling: one JSON line per session description, as browsers' signaling
//! code writes them (`{"type":"offer","sdp":"v=0\r\n..."}`), and a bounded line reader
//! for standard input.

use std::io;

use strata::{SdpType, SessionDescription};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::error::Error;

/// The longest signaling line accepted, in bytes: a description with every candidate of a
/// host with many interfaces stays far below it (Strata's own SDP limit is 1 MiB, and
/// JSON escaping adds one byte per line break).
pub const MAX_SIGNAL_LINE: usize = 2 * 1024 * 1024;

/// The longest chat line accepted, in bytes: the default `a=max-message-size` of
/// browsers and Strata (256 KiB). A longer line is skipped and reported, never cut.
pub const MAX_CHAT_LINE: usize = 256 * 1024;

/// Reads `\n`-terminated lines (a trailing `\r` is removed) from a buffered reader, each
/// bounded by a length limit.
///
/// A line over the limit is read to its end and dropped, and reported as
/// [`Error::LineTooLong`], so the reader stays at a line boundary and the caller may go
/// on. [`next_line`](Self::next_line) is cancel-safe: a partial line is kept in the
/// reader, so it can be used as a `tokio::select!` branch.
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    line: Vec<u8>,
    /// Bytes of an over-long line seen so far, while skipping the rest of it.
    skipped: Option<usize>,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    /// A reader over `inner`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            line: Vec::new(),
            skipped: None,
        }
    }

    /// The next line, without its line ending; `Ok(None)` at the end of input. A last line
    /// without a final `\n` still counts.
    pub async fn next_line(&mut self, max_len: usize) -> Result<Option<String>, Error> {
        loop {
            let buf = self.inner.fill_buf().await.map_err(Error::Io)?;
            if buf.is_empty() {
                if let Some(len) = self.skipped.take() {
                    return Err(Error::LineTooLong { len, max: max_len });
                }
                if self.line.is_empty() {
                    return Ok(None);
                }
                return self.finish_line(max_len).map(Some);
            }
            let (chunk, ended) = match buf.iter().position(|&b| b == b'\n') {
                Some(end) => (&buf[..end], true),
                None => (buf, false),
            };
            let consumed = chunk.len() + usize::from(ended);
            match &mut self.skipped {
                Some(len) => *len += chunk.len(),
                None if self.line.len() + chunk.len() > max_len + 1 => {
                    // One byte of slack for a `\r` before the `\n`.
                    self.skipped = Some(self.line.len() + chunk.len());
                    self.line = Vec::new();
                }
                None => self.line.extend_from_slice(chunk),
            }
            self.inner.consume(consumed);
            if ended {
                if let Some(len) = self.skipped.take() {
                    return Err(Error::LineTooLong { len, max: max_len });
                }
                return self.finish_line(max_len).map(Some);
            }
        }
    }

    fn finish_line(&mut self, max_len: usize) -> Result<String, Error> {
        let mut line = std::mem::take(&mut self.line);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.len() > max_len {
            return Err(Error::LineTooLong {
                len: line.len(),
                max: max_len,
            });
        }
        String::from_utf8(line).map_err(|_| Error::NotUtf8)
    }
}

/// Reads the next non-empty line and parses it as a session description of the kind
/// `expected` (offer or answer).
pub async fn read_description<R: AsyncBufRead + Unpin>(
    input: &mut LineReader<R>,
    expected: SdpType,
) -> Result<SessionDescription, Error> {
    loop {
        let Some(line) = input.next_line(MAX_SIGNAL_LINE).await? else {
            return Err(Error::MissingDescription { expected });
        };
        if line.trim().is_empty() {
            continue;
        }
        return parse_description(&line, expected);
    }
}

/// Parses one signaling line as a session description of the kind `expected`.
pub fn parse_description(line: &str, expected: SdpType) -> Result<SessionDescription, Error> {
    let description: SessionDescription = serde_json::from_str(line.trim()).map_err(Error::Json)?;
    if description.kind != expected {
        return Err(Error::UnexpectedType {
            expected,
            got: description.kind,
        });
    }
    Ok(description)
}

/// The signaling line for `description`: its JSON on one line, without the line ending.
pub fn description_line(description: &SessionDescription) -> String {
    // Serializing a struct of an enum and a string cannot fail.
    serde_json::to_string(description).unwrap_or_default()
}

/// Writes `line` and a line ending to `out` and flushes it, so a reader at the other end
/// of a pipe sees it at once.
pub async fn write_line<W: tokio::io::AsyncWrite + Unpin>(
    out: &mut W,
    line: &str,
) -> io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    out.write_all(&bytes).await?;
    out.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(input: &'static [u8]) -> LineReader<&'static [u8]> {
        LineReader::new(input)
    }

    #[tokio::test]
    async fn lines_lose_their_endings_and_the_last_needs_none() {
        let mut input = reader(b"one\r\ntwo\n\nthree");
        assert_eq!(input.next_line(16).await.unwrap().unwrap(), "one");
        assert_eq!(input.next_line(16).await.unwrap().unwrap(), "two");
        assert_eq!(input.next_line(16).await.unwrap().unwrap(), "");
        assert_eq!(input.next_line(16).await.unwrap().unwrap(), "three");
        assert!(input.next_line(16).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_over_long_line_is_reported_and_skipped_whole() {
        let mut input = reader(b"0123456789abcdef\nok\n");
        assert!(matches!(
            input.next_line(8).await,
            Err(Error::LineTooLong { len: 16, max: 8 })
        ));
        assert_eq!(input.next_line(8).await.unwrap().unwrap(), "ok");
    }

    #[tokio::test]
    async fn a_line_of_exactly_the_limit_passes_even_with_crlf() {
        let mut input = reader(b"12345678\r\n12345678\n123456789\nend");
        assert_eq!(input.next_line(8).await.unwrap().unwrap(), "12345678");
        assert_eq!(input.next_line(8).await.unwrap().unwrap(), "12345678");
        assert!(matches!(
            input.next_line(8).await,
            Err(Error::LineTooLong { len: 9, max: 8 })
        ));
        assert_eq!(input.next_line(8).await.unwrap().unwrap(), "end");
    }

    #[tokio::test]
    async fn invalid_utf8_is_an_error_and_the_next_line_still_reads() {
        let mut input = reader(b"\xff\xfe\nnext\n");
        assert!(matches!(input.next_line(8).await, Err(Error::NotUtf8)));
        assert_eq!(input.next_line(8).await.unwrap().unwrap(), "next");
    }

    #[tokio::test]
    async fn descriptions_round_trip_through_their_line() {
        let offer = SessionDescription::offer("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n");
        let line = description_line(&offer);
        assert!(!line.contains('\n'));
        let text = format!("\n{line}\n");
        let mut input = LineReader::new(text.as_bytes());
        assert_eq!(
            read_description(&mut input, SdpType::Offer).await.unwrap(),
            offer
        );
    }

    #[tokio::test]
    async fn a_description_of_the_wrong_kind_or_shape_is_refused() {
        let answer = description_line(&SessionDescription::answer("v=0\r\n"));
        assert!(matches!(
            parse_description(&answer, SdpType::Offer),
            Err(Error::UnexpectedType {
                expected: SdpType::Offer,
                got: SdpType::Answer
            })
        ));
        assert!(matches!(
            parse_description("v=0", SdpType::Offer),
            Err(Error::Json(_))
        ));
        let mut empty = reader(b"\n\n");
        assert!(matches!(
            read_description(&mut empty, SdpType::Answer).await,
            Err(Error::MissingDescription {
                expected: SdpType::Answer
            })
        ));
    }
}
