//! What the demo page puts on its `chat` data channels: one JSON text message per chat
//! line, `{"text":"..."}`, and the display name a participant announces in its join
//! metadata (`{"name":"..."}`).
//!
//! Text from peers is untrusted: [`decode_chat`] accepts only the page's shape, and
//! [`printable`] makes it one harmless terminal line (control characters, escape
//! sequences included, are shown escaped).

use serde_json::{Value, json};
use strata::Message;

use crate::error::Error;

/// The data channel's label, as the demo page names it.
pub const CHAT_LABEL: &str = "chat";

/// The largest chat message sent, in bytes of JSON: the `a=max-message-size` browsers and
/// Strata announce by default (256 KiB).
pub const MAX_CHAT_MESSAGE: usize = 256 * 1024;

/// The longest display name shown, in characters (the demo page shows 40).
pub const MAX_NAME_CHARS: usize = 40;

/// The message that carries `text`, as the demo page sends it: `{"text":"..."}`.
pub fn encode_chat(text: &str) -> Result<String, Error> {
    let encoded = json!({ "text": text }).to_string();
    if encoded.len() > MAX_CHAT_MESSAGE {
        return Err(Error::ChatTooLong {
            len: encoded.len(),
            max: MAX_CHAT_MESSAGE,
        });
    }
    Ok(encoded)
}

/// The text of a chat message from a peer. Other members next to `text` are ignored (a
/// newer page may add some); anything but a JSON object with a string `text` is an error.
pub fn decode_chat(message: &Message) -> Result<String, Error> {
    let json = match message {
        Message::Text(json) => json,
        Message::Binary(bytes) => return Err(Error::ChatBinary { len: bytes.len() }),
    };
    let value: Value = serde_json::from_str(json).map_err(Error::ChatJson)?;
    match value.get("text") {
        Some(Value::String(text)) => Ok(text.clone()),
        _ => Err(Error::ChatTextMissing),
    }
}

/// The join metadata that announces `name`, which the demo page shows next to the peer.
pub fn join_metadata(name: &str) -> Value {
    json!({ "name": name })
}

/// How a participant is shown: the `name` from its join metadata (at most
/// [`MAX_NAME_CHARS`] characters, made [`printable`]), or its peer id when it announced
/// none.
pub fn display_name(metadata: Option<&Value>, peer_id: &str) -> String {
    match metadata.and_then(|m| m.get("name")).and_then(Value::as_str) {
        Some(name) if !name.trim().is_empty() => {
            printable(&name.chars().take(MAX_NAME_CHARS).collect::<String>())
        }
        _ => peer_id.to_owned(),
    }
}

/// `text` as one terminal line: line breaks, escape sequences and other control
/// characters are shown escaped (`\n`, `\u{1b}`), so a peer cannot forge lines or drive
/// the terminal. Everything else is kept as it is.
pub fn printable(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            line.extend(c.escape_default());
        } else {
            line.push(c);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_text_round_trips_through_the_page_shape() {
        for text in [
            "hello",
            "",
            "grüße, 你好 🦀",
            r#"{"text":"nested"}"#,
            "a\nb",
        ] {
            let encoded = encode_chat(text).unwrap();
            assert_eq!(
                decode_chat(&Message::Text(encoded.clone())).unwrap(),
                text,
                "{encoded}"
            );
        }
        assert_eq!(encode_chat("hi").unwrap(), r#"{"text":"hi"}"#);
    }

    #[test]
    fn what_the_page_sends_is_understood() {
        // `JSON.stringify({ text })` in the page, with a member a newer page might add.
        let from_page = Message::Text(r#"{"text":"hi from a tab","sent_at":1}"#.to_owned());
        assert_eq!(decode_chat(&from_page).unwrap(), "hi from a tab");
    }

    #[test]
    fn malformed_messages_are_typed_errors() {
        let text = |s: &str| Message::Text(s.to_owned());
        assert!(matches!(
            decode_chat(&text("hello")),
            Err(Error::ChatJson(_))
        ));
        assert!(matches!(decode_chat(&text("")), Err(Error::ChatJson(_))));
        assert!(matches!(
            decode_chat(&text(r#"{"text":5}"#)),
            Err(Error::ChatTextMissing)
        ));
        assert!(matches!(
            decode_chat(&text(r#"["text"]"#)),
            Err(Error::ChatTextMissing)
        ));
        assert!(matches!(
            decode_chat(&text("null")),
            Err(Error::ChatTextMissing)
        ));
        assert!(matches!(
            decode_chat(&Message::Binary(vec![1, 2, 3].into())),
            Err(Error::ChatBinary { len: 3 })
        ));
    }

    #[test]
    fn a_line_too_long_once_encoded_is_refused() {
        // Quotes double in JSON: a line under the limit can exceed it encoded.
        let line = "\"".repeat(MAX_CHAT_MESSAGE / 2);
        assert!(matches!(
            encode_chat(&line),
            Err(Error::ChatTooLong {
                max: MAX_CHAT_MESSAGE,
                ..
            })
        ));
        let fits = "x".repeat(MAX_CHAT_MESSAGE - r#"{"text":""}"#.len());
        assert_eq!(encode_chat(&fits).unwrap().len(), MAX_CHAT_MESSAGE);
    }

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(printable("one\ntwo"), "one\\ntwo");
        assert_eq!(printable("\u{1b}[2Jgone"), "\\u{1b}[2Jgone");
        assert_eq!(printable("tab\there"), "tab\\there");
        assert_eq!(printable("plain, ünïcode 🦀"), "plain, ünïcode 🦀");
    }

    #[test]
    fn names_come_from_metadata_or_fall_back_to_the_id() {
        let metadata = join_metadata("alice");
        assert_eq!(display_name(Some(&metadata), "peer-1"), "alice");
        assert_eq!(display_name(None, "peer-1"), "peer-1");
        assert_eq!(
            display_name(Some(&json!({"name": "  "})), "peer-1"),
            "peer-1"
        );
        assert_eq!(display_name(Some(&json!({"name": 7})), "peer-1"), "peer-1");
        assert_eq!(display_name(Some(&json!("alice")), "peer-1"), "peer-1");
        let long = json!({ "name": "x".repeat(100) });
        assert_eq!(
            display_name(Some(&long), "p").chars().count(),
            MAX_NAME_CHARS
        );
        assert_eq!(
            display_name(Some(&json!({"name": "evil\u{1b}[31m"})), "p"),
            "evil\\u{1b}[31m"
        );
    }
}
