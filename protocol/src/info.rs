//! The SockJS `/info` answer and the retransmission timeout derived from it.
//!
//! Before choosing a transport the client asks `GET <base>/info`; the server answers
//! `{"websocket":true,"cookie_needed":false,"origins":["*:*"],"entropy":1234}`. `websocket` says
//! whether the server (or the proxies in front of it) accepts WebSockets, `cookie_needed`
//! whether sticky sessions rely on a cookie (which rules out the cookie-less XDR transports).
//! The time the request took gives the round-trip time from which each transport attempt's
//! timeout is derived ([`rto`]).

use crate::sockjs::Json;
use crate::Error;

/// How long sockjs-client waits for `/info`, in milliseconds.
pub const DEFAULT_INFO_TIMEOUT_MS: u32 = 8_000;

const BAD_WEBSOCKET: &str = "SockJS /info: \"websocket\" must be a boolean";
const BAD_COOKIE: &str = "SockJS /info: \"cookie_needed\" must be a boolean";
const BAD_ORIGINS: &str = "SockJS /info: \"origins\" must be an array of strings";
const BAD_ENTROPY: &str = "SockJS /info: \"entropy\" must be a non-negative integer";

/// The server's `/info` answer.
///
/// ```
/// use cometkit_protocol::info::{rto, Info};
///
/// let body = r#"{"websocket":true,"cookie_needed":false,"origins":["*:*"],"entropy":42}"#;
/// let info = Info::parse(body)?;
/// assert!(info.websocket && !info.cookie_needed);
/// // /info took 250 ms: each transport attempt then gets a multiple of 1 s.
/// assert_eq!(rto(250), 1_000);
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// The server accepts WebSocket connections.
    pub websocket: bool,
    /// The server needs cookies (sticky sessions): cookie-less transports are unusable.
    pub cookie_needed: bool,
    /// Origins the server accepts (informational; `["*:*"]` by convention).
    pub origins: Vec<String>,
    /// A random number from the server (informational).
    pub entropy: u64,
    /// The version of cometkit's [resume extension](crate::resume) the server offers
    /// (`"resume":1`), 0 when it offers none (every plain SockJS server).
    pub resume: u64,
}

impl Info {
    /// Parses an `/info` body.
    ///
    /// Field order does not matter and unknown fields are skipped. `websocket` and
    /// `cookie_needed` are required booleans (every SockJS server sends them, and without them
    /// the transport choice would be a guess); `origins` (array of strings) and `entropy`
    /// (non-negative integer) are optional. Fails with a protocol error when the body is not a
    /// JSON object, a known field has the wrong type, or a required field is missing.
    pub fn parse(body: &str) -> Result<Info, Error> {
        let mut json = Json::new(body);
        json.expect(b'{', "SockJS /info: expected a JSON object")?;
        let mut websocket = None;
        let mut cookie_needed = None;
        let mut origins = Vec::new();
        let mut entropy = 0;
        let mut resume = 0;
        if !json.eat(b'}') {
            loop {
                let key = json.string()?;
                json.expect(b':', "SockJS /info: expected ':' after a key")?;
                match &*key {
                    "websocket" => websocket = Some(json.boolean().map_err(bad(BAD_WEBSOCKET))?),
                    "cookie_needed" => {
                        cookie_needed = Some(json.boolean().map_err(bad(BAD_COOKIE))?)
                    }
                    "origins" => origins = json.string_array().map_err(bad(BAD_ORIGINS))?,
                    "entropy" => entropy = json.uint().map_err(bad(BAD_ENTROPY))?,
                    // An extension's field: a value of another shape means "not offered".
                    "resume" => resume = json.uint_or_skip()?.unwrap_or(0),
                    _ => json.skip_value()?,
                }
                if json.eat(b'}') {
                    break;
                }
                json.expect(b',', "SockJS /info: expected ',' or '}' in the object")?;
            }
        }
        json.end()?;
        Ok(Info {
            websocket: websocket.ok_or(Error::protocol(
                "SockJS /info: the \"websocket\" field is missing",
            ))?,
            cookie_needed: cookie_needed.ok_or(Error::protocol(
                "SockJS /info: the \"cookie_needed\" field is missing",
            ))?,
            origins,
            entropy,
            resume,
        })
    }
}

/// A protocol error about the field that had the wrong type (the reader's own message would not
/// say which field).
fn bad(message: &'static str) -> impl FnOnce(Error) -> Error {
    move |_| Error::protocol(message)
}

/// The retransmission timeout for a measured round trip of `rtt_ms`: `4 × rtt` above 100 ms,
/// else `300 + rtt` (sockjs-client's rule; the floor avoids spurious timeouts on fast local
/// links where opening a transport costs more than one round trip).
pub fn rto(rtt_ms: u32) -> u32 {
    if rtt_ms > 100 {
        rtt_ms.saturating_mul(4)
    } else {
        300 + rtt_ms
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn parses_real_server_answers() {
        // sockjs-node
        let node =
            r#"{"websocket":true,"origins":["*:*"],"cookie_needed":false,"entropy":3512468411}"#;
        assert_eq!(
            Info::parse(node).unwrap(),
            Info {
                websocket: true,
                cookie_needed: false,
                origins: vec!["*:*".into()],
                entropy: 3_512_468_411,
                resume: 0,
            }
        );
        // sockjs-tornado style: spaces, other order, 63-bit entropy.
        let tornado = "{\"cookie_needed\": true, \"websocket\": false, \"origins\": [\"*:*\"], \"entropy\": 9223372036854775807}\n";
        let info = Info::parse(tornado).unwrap();
        assert!(!info.websocket && info.cookie_needed);
        assert_eq!(info.entropy, i64::MAX as u64);
    }

    #[test]
    fn skips_unknown_fields_and_tolerates_missing_optional_ones() {
        let body = r#"{"server":{"name":"x","v":[1,2.5e3,{"deep":[null,true]}]},"websocket":false,"base_url":"http://a","cookie_needed":false,"n":-1}"#;
        let info = Info::parse(body).unwrap();
        assert!(!info.websocket && !info.cookie_needed);
        assert!(info.origins.is_empty());
        assert_eq!(info.entropy, 0);
        // Duplicate keys: the last one wins, as with JSON.parse.
        let dup = r#"{"websocket":true,"cookie_needed":false,"websocket":false}"#;
        assert!(!Info::parse(dup).unwrap().websocket);
    }

    #[test]
    fn reads_the_resume_offer_and_ignores_other_shapes() {
        let base = r#"{"websocket":true,"cookie_needed":false"#;
        for (tail, want) in [
            (r#","resume":1}"#, 1),
            (r#","resume":2}"#, 2),
            (r#","resume":{"v":1}}"#, 0),
            (r#","resume":1.5}"#, 0),
            (r#","resume":"1"}"#, 0),
            ("}", 0),
        ] {
            assert_eq!(
                Info::parse(&[base, tail].concat()).unwrap().resume,
                want,
                "{tail}"
            );
        }
    }

    #[test]
    fn rejects_malformed_answers_with_protocol_errors() {
        let cases: [(&str, &str); 14] = [
            ("", "expected a JSON object"),
            ("[]", "expected a JSON object"),
            ("null", "expected a JSON object"),
            ("<html>", "expected a JSON object"),
            ("{}", "\"websocket\" field is missing"),
            (
                r#"{"websocket":true}"#,
                "\"cookie_needed\" field is missing",
            ),
            (
                r#"{"websocket":"yes","cookie_needed":false}"#,
                "\"websocket\" must be a boolean",
            ),
            (
                r#"{"websocket":true,"cookie_needed":0}"#,
                "\"cookie_needed\" must be a boolean",
            ),
            (
                r#"{"websocket":true,"cookie_needed":false,"origins":"*:*"}"#,
                "\"origins\" must be",
            ),
            (
                r#"{"websocket":true,"cookie_needed":false,"origins":[1]}"#,
                "\"origins\" must be",
            ),
            (
                r#"{"websocket":true,"cookie_needed":false,"entropy":-5}"#,
                "\"entropy\" must be",
            ),
            (
                r#"{"websocket":true,"cookie_needed":false,"entropy":1.5}"#,
                "\"entropy\" must be",
            ),
            (
                r#"{"websocket":true,"cookie_needed":false"#,
                "expected ',' or '}'",
            ),
            (
                r#"{"websocket":true,"cookie_needed":false} x"#,
                "unexpected data",
            ),
        ];
        for (body, want) in cases {
            let e = Info::parse(body).unwrap_err();
            assert!(e.is_protocol(), "{body}");
            assert!(e.message().contains(want), "{body}: {}", e.message());
        }
    }

    #[test]
    fn rto_follows_sockjs_client() {
        assert_eq!(rto(0), 300);
        assert_eq!(rto(5), 305);
        assert_eq!(rto(100), 400);
        assert_eq!(rto(101), 404);
        assert_eq!(rto(250), 1_000);
        assert_eq!(rto(u32::MAX), u32::MAX);
    }
}
