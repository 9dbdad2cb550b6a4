//! cometkit's resume extension to SockJS (version 1): exactly-once delivery across dropped
//! connections, for servers that offer it.
//!
//! Plain SockJS has no acknowledgements: a client that loses its connection cannot know which
//! of its messages the server's application received, nor can the server know what reached
//! the client, so delivery across a drop is at most or at least once. The extension numbers
//! every message in both directions, acknowledges them cumulatively, keeps what is not yet
//! acknowledged in bounded buffers, and lets a client that lost its connection take its
//! session back on a new one (any transport) within the server's grace period. Both sides then
//! send again what the other has not acknowledged, and each drops what it already has by
//! sequence number: nothing is lost, nothing is delivered twice, order is kept.
//!
//! # Wire format
//!
//! * **Offer**: the server's `/info` has `"resume":1` (the version). A client uses the
//!   extension only when offered, so plain SockJS servers see plain SockJS, and a server that
//!   offers it serves plain clients (sockjs-client) exactly as before.
//! * **Opening**: a client that wants a resumable session adds `resume=new` to the query of
//!   its receiving URL ([`open_query`]); one that takes a session back adds
//!   `resume=<token>&ack=<n>`, `n` being the last message sequence it received ([`resume_query`]).
//!   The transport URL's session id is a fresh one either way: the token, not the URL, names
//!   the session.
//! * **Server frames** on such a session, besides `o`, `h` and `c`:
//!   * `r["<token>",<ack>]` right after every `o` ([`encode_resumed_frame`]): the session's
//!     token and the last client sequence the server's application received. The same token
//!     as the client presented means *resumed*; another token means the old session could not
//!     be resumed (expired, overflowed, unknown after a restart) and this is a fresh one.
//!   * `q[<ack>,<seq>,"m1","m2",...]` ([`encode_data_frame`]): messages numbered from `seq`,
//!     with the server's cumulative acknowledgement of client messages; `q[<ack>]` carries
//!     only the acknowledgement. Plain `a[...]` frames are not used.
//! * **Client payloads** (the `xhr_send` body, the `jsonp_send` `d` field, one WebSocket
//!   message) have the same shape: `[<ack>,<seq>,"m1",...]` or `[<ack>]` ([`decode_payload`]).
//! * Sequences start at 1; an ack of 0 acknowledges nothing. A message is acknowledged once the
//!   receiving side's application has it.
//!
//! When a session cannot be resumed the client reports it with [`CODE_RESUME_FAILED`].
//!
//! ```
//! use cometkit_protocol::resume::{decode_payload, encode_data_frame, Numbered};
//!
//! assert_eq!(encode_data_frame(4, 10, &["hi".to_string()]), r#"q[4,10,"hi"]"#);
//! assert_eq!(encode_data_frame(4, 10, &[]), "q[4]");
//! let p = decode_payload(r#"[9,5,"a","b"]"#).unwrap();
//! assert_eq!(p, Numbered { ack: 9, seq: 5, messages: vec!["a".into(), "b".into()] });
//! ```

use crate::error::push_decimal;
use crate::sockjs::{quote_server_into, Json, PayloadError};
use crate::Error;

/// The version of the extension this crate speaks (the `/info` field's value).
pub const VERSION: u64 = 1;

/// The close code a client reports (in its session-lost event) when its session could not be
/// resumed: the messages it had not seen acknowledged may or may not have been delivered.
pub const CODE_RESUME_FAILED: u16 = 2011;

/// The query parameter that asks for a resumable session.
pub const QUERY_PARAM: &str = "resume";

/// Longest token accepted from the network (tokens are generated far shorter).
pub const MAX_TOKEN_LEN: usize = 64;

/// The receiving URL's query parameter for a new resumable session.
pub fn open_query() -> &'static str {
    "resume=new"
}

/// The receiving URL's query parameters taking back session `token`, whose last received
/// server message was `ack`. `token` comes from the server and is checked by [`is_token`]
/// before it is used, so it needs no encoding.
pub fn resume_query(token: &str, ack: u64) -> String {
    let mut out = String::with_capacity(token.len() + 28);
    out.push_str("resume=");
    out.push_str(token);
    out.push_str("&ack=");
    push_u64(&mut out, ack);
    out
}

/// What a receiving request's query asks for ([`parse_query`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A new resumable session.
    New,
    /// Take back the session `token`; the client received server messages up to `ack`.
    Resume {
        /// The session's token.
        token: String,
        /// The last server sequence the client received.
        ack: u64,
    },
}

/// Reads the extension's parameters from a receiving request's raw query string: `None` when
/// it has no `resume` parameter (a plain SockJS client), an error when it has a malformed one
/// (not `new` nor a token, or a resume without a valid `ack`).
pub fn parse_query(query: &str) -> Option<Result<Request, Error>> {
    let mut resume = None;
    let mut ack = None;
    for pair in query.split('&') {
        let (name, value) = crate::url::split_byte(pair, b'=').unwrap_or((pair, ""));
        match name {
            "resume" if resume.is_none() => resume = Some(value),
            "ack" if ack.is_none() => ack = Some(value),
            _ => {}
        }
    }
    let resume = resume?;
    Some(if resume == "new" {
        Ok(Request::New)
    } else if !is_token(resume) {
        Err(Error::protocol("resume: malformed session token"))
    } else {
        match ack.and_then(parse_u64) {
            Some(ack) => Ok(Request::Resume {
                token: resume.to_owned(),
                ack,
            }),
            None => Err(Error::protocol("resume: missing or malformed ack")),
        }
    })
}

/// 1-64 ASCII letters, digits, `-` and `_` (what a token may hold), and not `new`.
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_TOKEN_LEN
        && s != "new"
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A token of 22 URL-safe characters (132 bits) from `random`'s output.
pub fn token_from(random: [u64; 3]) -> String {
    const CHARS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(22);
    for i in 0..22 {
        let word = random[i / 10];
        let c = CHARS[((word >> ((i % 10) * 6)) & 63) as usize];
        out.push(char::from(c));
    }
    out
}

/// `r["<token>",<ack>]`: sent after `o` on every connection of a resumable session.
pub fn encode_resumed_frame(token: &str, ack: u64) -> String {
    let mut out = String::with_capacity(token.len() + 28);
    out.push_str("r[");
    quote_server_into(&mut out, token);
    out.push(',');
    push_u64(&mut out, ack);
    out.push(']');
    out
}

/// `q[<ack>,<seq>,"m1",...]` (or `q[<ack>]` when `messages` is empty): server messages
/// numbered from `seq`, with the server's acknowledgement of client messages up to `ack`.
pub fn encode_data_frame(ack: u64, seq: u64, messages: &[String]) -> String {
    numbered_array("q[", ack, seq, messages, quote_server_into)
}

/// A client payload: `[<ack>,<seq>,"m1",...]`, or `[<ack>]` when `messages` is empty, with
/// the client's escaping (as [`sockjs::encode_payload`](crate::sockjs::encode_payload)).
pub fn encode_payload(ack: u64, seq: u64, messages: &[String]) -> String {
    numbered_array("[", ack, seq, messages, crate::sockjs::quote_into)
}

/// `<open><ack>,<seq>,"m1",...]` (`<open><ack>]` without messages), each message quoted with
/// `quote` (the server's escaping or the client's).
fn numbered_array(
    open: &str,
    ack: u64,
    seq: u64,
    messages: &[String],
    quote: fn(&mut String, &str),
) -> String {
    let mut out = String::with_capacity(24 + messages.iter().map(|m| m.len() + 3).sum::<usize>());
    out.push_str(open);
    push_u64(&mut out, ack);
    if !messages.is_empty() {
        out.push(',');
        push_u64(&mut out, seq);
        for message in messages {
            out.push(',');
            quote(&mut out, message);
        }
    }
    out.push(']');
    out
}

/// Messages numbered from `seq` with a cumulative acknowledgement: a decoded `q` frame or
/// client payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbered<B = Vec<String>> {
    /// The sender acknowledges the receiver's messages up to this sequence.
    pub ack: u64,
    /// The sequence of the first message (0 when there are none).
    pub seq: u64,
    /// The messages, in order.
    pub messages: B,
}

/// Decodes a client payload of a resumable session: `[<ack>,<seq>,"m1",...]` or `[<ack>]`.
///
/// Fails with [`PayloadError::Empty`] for empty text, [`PayloadError::Broken`] for text that
/// is not JSON, and [`PayloadError::NotStrings`] for JSON of another shape (including a `seq`
/// of 0 before messages, or a `seq` without messages).
pub fn decode_payload(text: &str) -> Result<Numbered, PayloadError> {
    if text.trim_ascii().is_empty() {
        return Err(PayloadError::Empty);
    }
    let mut json = Json::new(text);
    numbered(&mut json)
        .and_then(|n| json.end().map(|()| n))
        .map_err(|_| crate::sockjs::classify_failure(text))
}

/// The body of a `q` frame (the text after the `q`).
pub(crate) fn decode_data_frame(body: &str) -> Result<Numbered, Error> {
    let mut json = Json::new(body);
    let n = numbered(&mut json)?;
    json.end()?;
    Ok(n)
}

/// The body of an `r` frame: the token and the acknowledgement.
pub(crate) fn decode_resumed_frame(body: &str) -> Result<(String, u64), Error> {
    const BAD: &str = "resume frame: expected [\"token\",ack]";
    let mut json = Json::new(body);
    json.expect(b'[', BAD)?;
    let token = json.string()?.into_owned();
    if !is_token(&token) {
        return Err(Error::protocol("resume frame: malformed session token"));
    }
    json.expect(b',', BAD)?;
    let ack = json.uint()?;
    json.expect(b']', BAD)?;
    json.end()?;
    Ok((token, ack))
}

fn numbered(json: &mut Json<'_>) -> Result<Numbered, Error> {
    const BAD: &str = "numbered messages: expected [ack] or [ack,seq,\"message\",...]";
    json.expect(b'[', BAD)?;
    let ack = json.uint()?;
    if json.eat(b']') {
        return Ok(Numbered {
            ack,
            seq: 0,
            messages: Vec::new(),
        });
    }
    json.expect(b',', BAD)?;
    let seq = json.uint()?;
    if seq == 0 {
        return Err(Error::protocol("numbered messages: sequences start at 1"));
    }
    let mut messages = Vec::new();
    while json.eat(b',') {
        messages.push(json.string()?.into_owned());
    }
    json.expect(b']', BAD)?;
    if messages.is_empty() {
        return Err(Error::protocol(BAD));
    }
    Ok(Numbered { ack, seq, messages })
}

fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Appends `n` in decimal.
pub(crate) fn push_u64(out: &mut String, n: u64) {
    if let Ok(small) = u32::try_from(n) {
        return push_decimal(out, small);
    }
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    while n > 0 {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

/// Tells which of `count` messages numbered from `seq` are new to a receiver that has
/// everything up to `upto`: `Ok(skip)` (drop the first `skip`, deliver the rest; `skip ==
/// count` means all are duplicates), or `Err(())` when they start after `upto + 1` (a gap:
/// something in between was lost, which the extension never allows).
#[allow(clippy::result_unit_err)] // the one failure needs no description
pub fn fresh_part(upto: u64, seq: u64, count: usize) -> Result<usize, ()> {
    if count == 0 {
        return Ok(0);
    }
    if seq > upto.saturating_add(1) {
        return Err(());
    }
    let skip = upto.saturating_add(1) - seq;
    Ok(usize::try_from(skip).map_or(count, |s| s.min(count)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockjs::{decode_frame, Frame};

    #[test]
    fn frames_round_trip() {
        let q = encode_data_frame(3, 7, &["a\"b".into(), "\u{1F600}".into()]);
        assert_eq!(
            decode_frame(&q).unwrap(),
            Frame::Numbered(Numbered {
                ack: 3,
                seq: 7,
                messages: vec!["a\"b".into(), "\u{1F600}".into()]
            })
        );
        assert_eq!(
            decode_frame("q[12]").unwrap(),
            Frame::Numbered(Numbered {
                ack: 12,
                seq: 0,
                messages: vec![]
            })
        );
        let r = encode_resumed_frame("tok_1-x", 41);
        assert_eq!(r, r#"r["tok_1-x",41]"#);
        assert_eq!(
            decode_frame(&r).unwrap(),
            Frame::Resumed {
                token: "tok_1-x".into(),
                ack: 41
            }
        );
        assert_eq!(
            encode_data_frame(u64::MAX, 1, &[]),
            "q[18446744073709551615]"
        );
    }

    #[test]
    fn malformed_frames_and_payloads_are_errors() {
        for bad in [
            "q",
            "q[",
            "q[]",
            "q[1,",
            "q[1,2]",
            "q[1,0,\"a\"]",
            "q[1,2,3]",
            "q[-1]",
            "q[1.5]",
            "q[1] x",
            "r",
            "r[]",
            "r[\"\",1]",
            "r[\"a b\",1]",
            "r[\"t\"]",
            "r[\"t\",1,2]",
            "r[\"new\",0]",
            "q[99999999999999999999]",
        ] {
            assert!(decode_frame(bad).is_err(), "{bad}");
        }
        assert_eq!(decode_payload(""), Err(PayloadError::Empty));
        assert_eq!(decode_payload("[1,"), Err(PayloadError::Broken));
        assert_eq!(decode_payload("[\"a\"]"), Err(PayloadError::NotStrings));
        assert_eq!(decode_payload("[1,0,\"a\"]"), Err(PayloadError::NotStrings));
        assert_eq!(decode_payload("[1,2]"), Err(PayloadError::NotStrings));
        assert_eq!(
            decode_payload(" [ 0 ] "),
            Ok(Numbered {
                ack: 0,
                seq: 0,
                messages: vec![]
            })
        );
    }

    #[test]
    fn queries() {
        assert_eq!(parse_query("c=cb&t=1"), None);
        assert_eq!(parse_query("resume=new"), Some(Ok(Request::New)));
        let q = resume_query("AbC-_9", 17);
        assert_eq!(q, "resume=AbC-_9&ack=17");
        assert_eq!(
            parse_query(&["c=x&", &q].concat()),
            Some(Ok(Request::Resume {
                token: "AbC-_9".into(),
                ack: 17
            }))
        );
        for bad in [
            "resume=",
            "resume=a%20b",
            "resume=tok",
            "resume=tok&ack=",
            "resume=tok&ack=-1",
            "resume=tok&ack=1x",
            "resume=tok&ack=99999999999999999999",
        ] {
            assert!(matches!(parse_query(bad), Some(Err(_))), "{bad}");
        }
    }

    #[test]
    fn tokens() {
        let t = token_from([u64::MAX, 0, 0x0123_4567_89ab_cdef]);
        assert_eq!(t.len(), 22);
        assert!(is_token(&t));
        assert_ne!(token_from([1, 2, 3]), token_from([1, 2, 4]));
        assert!(!is_token(&"a".repeat(65)));
    }

    #[test]
    fn fresh_parts() {
        assert_eq!(fresh_part(0, 1, 3), Ok(0));
        assert_eq!(fresh_part(2, 1, 3), Ok(2));
        assert_eq!(fresh_part(5, 1, 3), Ok(3));
        assert_eq!(fresh_part(0, 2, 3), Err(()));
        assert_eq!(fresh_part(7, 0, 0), Ok(0));
        assert_eq!(fresh_part(u64::MAX, 1, 2), Ok(2));
    }
}
