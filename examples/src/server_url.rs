//! Where `chat` finds the `strata` server: the WebSocket URL it prints
//! (`ws://127.0.0.1:8080/ws`), or the page URL it prints for browsers
//! (`http://127.0.0.1:8080/#room=demo&token=eyJ...`), whose room, token and name
//! parameters are taken too, as the demo page takes them.

use url::Url;

use crate::error::Error;

/// The server's WebSocket endpoint and what a page URL carried besides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    /// The WebSocket URL to connect to (`ws:` or `wss:`, path `/ws` for a page URL).
    pub websocket: String,
    /// `room` from the URL's fragment or query.
    pub room: Option<String>,
    /// `token` from the URL's fragment or query.
    pub token: Option<String>,
    /// `name` from the URL's fragment or query.
    pub name: Option<String>,
}

impl ServerUrl {
    /// Reads `input`: a `ws:`/`wss:` URL is used as given (path `/ws` when it has none);
    /// an `http:`/`https:` URL names the demo page, whose server listens at `/ws` next to
    /// it. Parameters in the fragment win over the query's, as on the page.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::ServerUrl {
            url: input.to_owned(),
            reason,
        };
        let mut url =
            Url::parse(input.trim()).map_err(|error| invalid(format!("not a URL ({error})")))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("names no host".to_owned()));
        }
        let mut parameters = Parameters::default();
        if let Some(fragment) = url.fragment() {
            parameters.fill(fragment);
        }
        if let Some(query) = url.query() {
            parameters.fill(query);
        }
        let secure = match url.scheme() {
            "ws" | "http" => false,
            "wss" | "https" => true,
            other => {
                return Err(invalid(format!(
                    "the scheme `{other}:` is none of ws:, wss:, http:, https:"
                )));
            }
        };
        let page = matches!(url.scheme(), "http" | "https");
        // Changing between these special schemes cannot fail.
        let _ = url.set_scheme(if secure { "wss" } else { "ws" });
        if page {
            let path = url.path();
            let directory = &path[..=path.rfind('/').unwrap_or(0)];
            let endpoint = if directory.ends_with('/') {
                format!("{directory}ws")
            } else {
                format!("{directory}/ws")
            };
            url.set_path(&endpoint);
        } else if url.path().is_empty() || url.path() == "/" {
            url.set_path("/ws");
        }
        url.set_fragment(None);
        url.set_query(None);
        Ok(Self {
            websocket: url.to_string(),
            room: parameters.room,
            token: parameters.token,
            name: parameters.name,
        })
    }
}

#[derive(Debug, Default)]
struct Parameters {
    room: Option<String>,
    token: Option<String>,
    name: Option<String>,
}

impl Parameters {
    /// Takes `room`, `token` and `name` from `key=value&...` text, keeping values
    /// already set; empty values count as absent.
    fn fill(&mut self, text: &str) {
        for (key, value) in url::form_urlencoded::parse(text.as_bytes()) {
            let slot = match key.as_ref() {
                "room" => &mut self.room,
                "token" => &mut self.token,
                "name" => &mut self.name,
                _ => continue,
            };
            if slot.is_none() && !value.is_empty() {
                *slot = Some(value.into_owned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_websocket_url_is_used_as_given() {
        let url = ServerUrl::parse("ws://127.0.0.1:8080/ws").unwrap();
        assert_eq!(url.websocket, "ws://127.0.0.1:8080/ws");
        assert_eq!((url.room, url.token, url.name), (None, None, None));
        let url = ServerUrl::parse("wss://chat.example.org/signal/ws").unwrap();
        assert_eq!(url.websocket, "wss://chat.example.org/signal/ws");
        let url = ServerUrl::parse("ws://[::1]:9000").unwrap();
        assert_eq!(url.websocket, "ws://[::1]:9000/ws");
    }

    #[test]
    fn the_page_url_the_server_prints_gives_endpoint_room_and_token() {
        let url = ServerUrl::parse("http://127.0.0.1:8080/#room=demo&token=eyJ0.e30.sig").unwrap();
        assert_eq!(url.websocket, "ws://127.0.0.1:8080/ws");
        assert_eq!(url.room.as_deref(), Some("demo"));
        assert_eq!(url.token.as_deref(), Some("eyJ0.e30.sig"));
        assert_eq!(url.name, None);
    }

    #[test]
    fn fragment_parameters_win_over_the_query_and_are_decoded() {
        let url = ServerUrl::parse(
            "https://example.org/chat/index.html?room=lobby&name=Ada%20L&token=q#room=tea%20room&token=",
        )
        .unwrap();
        assert_eq!(url.websocket, "wss://example.org/chat/ws");
        assert_eq!(url.room.as_deref(), Some("tea room"));
        assert_eq!(url.name.as_deref(), Some("Ada L"));
        // An empty fragment value counts as absent: the query's token is taken.
        assert_eq!(url.token.as_deref(), Some("q"));
        let url = ServerUrl::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(url.websocket, "ws://127.0.0.1:8080/ws");
    }

    #[test]
    fn other_schemes_and_non_urls_are_refused_by_name() {
        for input in [
            "127.0.0.1:8080",
            "ftp://example.org/",
            "not a url",
            "file:///ws",
        ] {
            let error = ServerUrl::parse(input).unwrap_err();
            assert!(matches!(error, Error::ServerUrl { .. }), "{input}: {error}");
            assert!(error.to_string().contains(input), "{error}");
        }
    }
}
