//! The SockJS frame codec: what the server sends, what the client posts back, and how each
//! transport wraps frames.
//!
//! A SockJS server speaks in frames, whatever the transport:
//!
//! | frame | meaning |
//! |---|---|
//! | `o` | the session is open |
//! | `h` | heartbeat (the server sends one every 25 s of silence) |
//! | `a["m1","m2"]` | messages: a JSON array of strings |
//! | `c[3000,"Go away!"]` | the session is closed, with a code and a reason |
//!
//! The client always sends a JSON array of strings ([`encode_payload`]). Each transport carries
//! frames differently, and this module has the unwrapping helpers the browser driver needs:
//!
//! * WebSocket (`…/websocket`): one frame per WebSocket message; the message data *is* the frame.
//! * xhr-streaming and xhr-polling (`…/xhr_streaming`, `…/xhr`): frames end in `\n`; a streaming
//!   response starts with a 2048-`h` prelude. [`XhrStreamReader`] splits the growing text.
//! * EventSource (`…/eventsource`): one frame per event; [`eventsource_frame`] undoes the
//!   percent-escaping the reference server applies to event data.
//! * JSONP (`…/jsonp?c=cb`): the response is `/**/cb("<frame>");`; when the script runs, the
//!   string passed to the callback *is* the frame. [`jsonp_body_frame`] reads the body without
//!   running it.
//!
//! Decoding is strict JSON (a malformed frame is an [`ErrorKind::Protocol`](crate::ErrorKind)
//! error, never a panic) with one leniency: a lone UTF-16 surrogate escape (`\ud800` without its
//! pair, which a JavaScript server can produce from a broken string) becomes U+FFFD, exactly the
//! conversion a browser applies when such a string reaches a WebSocket or `TextEncoder`. One bad
//! code unit thus costs one character, not the whole batch of messages.
//!
//! Encoding escapes what sockjs-client escapes: `"`, `\`, control characters, every character
//! outside the BMP (sent as a `\uXXXX\uXXXX` surrogate pair) and a list of BMP characters that
//! Unicode normalisation would alter (combining marks, compatibility ideographs, …), which
//! browsers, proxies and servers have been seen to rewrite in transit.
//!
//! The server's half lives here too, so both ends share one JSON reader: it writes frames
//! ([`encode_message_frame`], [`encode_close_frame`], [`quote_server_into`] for the transports
//! that wrap a frame in a string) with the protocol's server-to-client escaping, a different
//! set from the client's (see [`quote_server_into`]), and reads what clients send
//! ([`decode_payload`], [`decode_ws_message`]), telling broken JSON from JSON of the wrong
//! shape ([`PayloadError`]) as sockjs-node does.

use std::borrow::Cow;

use crate::error::push_decimal;
use crate::Error;

/// One frame from a SockJS server; `B` holds the messages of an `a[...]` frame (decoded here
/// into `Vec<String>`; the browser driver decodes them into a JavaScript array).
///
/// ```
/// use cometkit_protocol::sockjs::{decode_frame, Frame};
///
/// assert_eq!(decode_frame("o")?, Frame::Open);
/// let messages = decode_frame(r#"a["hi","there"]"#)?;
/// assert_eq!(messages, Frame::Messages(vec!["hi".into(), "there".into()]));
/// let close = decode_frame(r#"c[3000,"Go away!"]"#)?;
/// assert_eq!(close, Frame::Close { code: 3000, reason: "Go away!".into() });
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<B = Vec<String>> {
    /// `o`: the session is open.
    Open,
    /// `h`: heartbeat, the server is still there.
    Heartbeat,
    /// `a[...]`: messages, in order.
    Messages(B),
    /// `c[code,"reason"]`: the server closed the session.
    Close {
        /// The close code (3000 "Go away!" is the conventional server close).
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// `r["token",ack]`: the [resume extension](crate::resume)'s answer after `o`.
    Resumed {
        /// The session's token (the one the client presented when it was resumed).
        token: String,
        /// The last client message sequence the server's application received.
        ack: u64,
    },
    /// `q[ack,seq,...]`: numbered messages of the [resume extension](crate::resume).
    Numbered(crate::resume::Numbered<B>),
}

/// Decodes one server frame.
///
/// Fails with a protocol error for an empty frame, an unknown frame type, an `o`/`h` frame with
/// trailing data, malformed JSON, an array element that is not a string, a close frame that is
/// not exactly `[integer 0-65535, string]`, or trailing data after the JSON.
pub fn decode_frame(frame: &str) -> Result<Frame, Error> {
    let kind = match frame.as_bytes().first() {
        Some(&b) => b,
        None => return Err(Error::protocol("SockJS frame is empty")),
    };
    match kind {
        b'o' | b'h' if frame.len() == 1 => Ok(if kind == b'o' {
            Frame::Open
        } else {
            Frame::Heartbeat
        }),
        b'o' | b'h' => Err(Error::protocol(
            "SockJS open or heartbeat frame has trailing data",
        )),
        b'a' => {
            let mut json = Json::at(frame, 1);
            let messages = json.string_array()?;
            json.end()?;
            Ok(Frame::Messages(messages))
        }
        b'c' => {
            let mut json = Json::at(frame, 1);
            json.expect(b'[', "SockJS close frame: expected '['")?;
            let code = u16::try_from(json.uint()?)
                .map_err(|_| Error::protocol("SockJS close frame: code out of range"))?;
            json.expect(b',', "SockJS close frame: expected ',' after the code")?;
            let reason = json.string()?.into_owned();
            json.expect(b']', "SockJS close frame: expected ']' after the reason")?;
            json.end()?;
            Ok(Frame::Close { code, reason })
        }
        b'q' => crate::resume::decode_data_frame(frame.get(1..).unwrap_or("")).map(Frame::Numbered),
        b'r' => crate::resume::decode_resumed_frame(frame.get(1..).unwrap_or(""))
            .map(|(token, ack)| Frame::Resumed { token, ack }),
        _ => Err(Error::protocol("unknown SockJS frame type")),
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/// BMP characters (besides controls and surrogates) that sockjs-client sends as `\uXXXX`
/// escapes because normalisation in browsers or proxies would change them. Sorted, inclusive.
#[rustfmt::skip]
static EXTRA_ESCAPES: [(u16, u16); 107] = [
    (0x0300, 0x0333), (0x033d, 0x0346), (0x034a, 0x034c), (0x0350, 0x0352), (0x0357, 0x0358),
    (0x035c, 0x0362), (0x0374, 0x0374), (0x037e, 0x037e), (0x0387, 0x0387), (0x0591, 0x05af),
    (0x05c4, 0x05c4), (0x0610, 0x0617), (0x0653, 0x0654), (0x0657, 0x065b), (0x065d, 0x065e),
    (0x06df, 0x06e2), (0x06eb, 0x06ec), (0x0730, 0x0730), (0x0732, 0x0733), (0x0735, 0x0736),
    (0x073a, 0x073a), (0x073d, 0x073d), (0x073f, 0x0741), (0x0743, 0x0743), (0x0745, 0x0745),
    (0x0747, 0x0747), (0x07eb, 0x07f1), (0x0951, 0x0951), (0x0958, 0x095f), (0x09dc, 0x09dd),
    (0x09df, 0x09df), (0x0a33, 0x0a33), (0x0a36, 0x0a36), (0x0a59, 0x0a5b), (0x0a5e, 0x0a5e),
    (0x0b5c, 0x0b5d), (0x0e38, 0x0e39), (0x0f43, 0x0f43), (0x0f4d, 0x0f4d), (0x0f52, 0x0f52),
    (0x0f57, 0x0f57), (0x0f5c, 0x0f5c), (0x0f69, 0x0f69), (0x0f72, 0x0f76), (0x0f78, 0x0f78),
    (0x0f80, 0x0f83), (0x0f93, 0x0f93), (0x0f9d, 0x0f9d), (0x0fa2, 0x0fa2), (0x0fa7, 0x0fa7),
    (0x0fac, 0x0fac), (0x0fb9, 0x0fb9), (0x1939, 0x193a), (0x1a17, 0x1a17), (0x1b6b, 0x1b6b),
    (0x1cda, 0x1cdb), (0x1dc0, 0x1dcf), (0x1dfc, 0x1dfc), (0x1dfe, 0x1dfe), (0x1f71, 0x1f71),
    (0x1f73, 0x1f73), (0x1f75, 0x1f75), (0x1f77, 0x1f77), (0x1f79, 0x1f79), (0x1f7b, 0x1f7b),
    (0x1f7d, 0x1f7d), (0x1fbb, 0x1fbb), (0x1fbe, 0x1fbe), (0x1fc9, 0x1fc9), (0x1fcb, 0x1fcb),
    (0x1fd3, 0x1fd3), (0x1fdb, 0x1fdb), (0x1fe3, 0x1fe3), (0x1feb, 0x1feb), (0x1fee, 0x1fef),
    (0x1ff9, 0x1ff9), (0x1ffb, 0x1ffb), (0x1ffd, 0x1ffd), (0x2000, 0x2001), (0x20d0, 0x20d1),
    (0x20d4, 0x20d7), (0x20e7, 0x20e9), (0x2126, 0x2126), (0x212a, 0x212b), (0x2329, 0x232a),
    (0x2adc, 0x2adc), (0x302b, 0x302c), (0xaab2, 0xaab3), (0xf900, 0xfa0d), (0xfa10, 0xfa10),
    (0xfa12, 0xfa12), (0xfa15, 0xfa1e), (0xfa20, 0xfa20), (0xfa22, 0xfa22), (0xfa25, 0xfa26),
    (0xfa2a, 0xfa2d), (0xfa30, 0xfa6d), (0xfa70, 0xfad9), (0xfb1d, 0xfb1d), (0xfb1f, 0xfb1f),
    (0xfb2a, 0xfb36), (0xfb38, 0xfb3c), (0xfb3e, 0xfb3e), (0xfb40, 0xfb41), (0xfb43, 0xfb44),
    (0xfb46, 0xfb4e), (0xfff0, 0xffff),
];

/// How one character is written inside a JSON string.
#[derive(Clone, Copy)]
enum Esc {
    /// As itself.
    Plain,
    /// As `\` + this byte (`\"`, `\\`, `\n`, ...).
    Short(u8),
    /// As `\uXXXX` (a surrogate pair of them outside the BMP).
    Unicode,
}

fn escape_of(c: char) -> Esc {
    match c {
        '"' => Esc::Short(b'"'),
        '\\' => Esc::Short(b'\\'),
        '\n' => Esc::Short(b'n'),
        '\r' => Esc::Short(b'r'),
        '\t' => Esc::Short(b't'),
        '\u{8}' => Esc::Short(b'b'),
        '\u{c}' => Esc::Short(b'f'),
        '\0'..='\u{1f}' => Esc::Unicode,
        ' '..='\u{7f}' => Esc::Plain,
        _ => {
            let u = c as u32;
            if u > 0xffff {
                return Esc::Unicode;
            }
            let u = u as u16;
            let hit = EXTRA_ESCAPES
                .binary_search_by(|&(lo, hi)| {
                    if hi < u {
                        std::cmp::Ordering::Less
                    } else if lo > u {
                        std::cmp::Ordering::Greater
                    } else {
                        std::cmp::Ordering::Equal
                    }
                })
                .is_ok();
            if hit {
                Esc::Unicode
            } else {
                Esc::Plain
            }
        }
    }
}

/// The length in bytes of `s` written by [`quote_into`], quotes included.
pub fn quoted_len(s: &str) -> usize {
    if is_plain_ascii(s) {
        return s.len() + 2;
    }
    let mut n = 2;
    for c in s.chars() {
        n += match escape_of(c) {
            Esc::Plain => c.len_utf8(),
            Esc::Short(_) => 2,
            Esc::Unicode if (c as u32) > 0xffff => 12,
            Esc::Unicode => 6,
        };
    }
    n
}

/// The common case, checked a byte at a time: printable ASCII with no quote or backslash, which
/// goes out as it is (the per-char escape lookup costs 3-5x more).
fn is_plain_ascii(s: &str) -> bool {
    s.bytes()
        .all(|b| (0x20..0x80).contains(&b) && b != b'"' && b != b'\\')
}

/// Appends `s` to `out` as a JSON string literal with sockjs-client's escaping (the
/// client-to-server direction; a server writes with [`quote_server_into`]).
pub fn quote_into(out: &mut String, s: &str) {
    quote_with(out, s, is_plain_ascii(s), escape_of);
}

/// The one quoting loop behind both directions: `plain` says `s` needs no escape at all (the
/// caller's fast check), `escape` how each character is written.
#[inline(always)]
fn quote_with(out: &mut String, s: &str, plain: bool, escape: impl Fn(char) -> Esc) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    if plain {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut run = 0;
    for (i, c) in s.char_indices() {
        let esc = escape(c);
        if matches!(esc, Esc::Plain) {
            continue;
        }
        out.push_str(s.get(run..i).unwrap_or_default());
        run = i + c.len_utf8();
        match esc {
            Esc::Short(b) => {
                out.push('\\');
                out.push(char::from(b));
            }
            _ => {
                let mut units = [0u16; 2];
                for &unit in c.encode_utf16(&mut units).iter() {
                    out.push_str("\\u");
                    for shift in [12u32, 8, 4, 0] {
                        out.push(char::from(HEX[usize::from((unit >> shift) & 0xf)]));
                    }
                }
            }
        }
    }
    out.push_str(s.get(run..).unwrap_or_default());
    out.push('"');
}

/// Encodes messages as the client payload, a JSON array of strings (`["m1","m2"]`), in one
/// exactly sized allocation.
pub fn encode_payload(messages: &[String]) -> String {
    encode_with(messages.len(), &|i| {
        messages.get(i).map_or("", String::as_str)
    })
}

/// [`encode_payload`] for borrowed strings.
pub fn encode_payload_strs(messages: &[&str]) -> String {
    encode_with(messages.len(), &|i| {
        messages.get(i).copied().unwrap_or_default()
    })
}

// One non-generic body for both slice types.
fn encode_with<'a>(n: usize, get: &dyn Fn(usize) -> &'a str) -> String {
    let len = 2 + n.saturating_sub(1) + (0..n).map(|i| quoted_len(get(i))).sum::<usize>();
    let mut out = String::with_capacity(len);
    out.push('[');
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        quote_into(&mut out, get(i));
    }
    out.push(']');
    debug_assert_eq!(out.len(), len);
    out
}

// ---------------------------------------------------------------------------------------------
// The server's side: frames out, client payloads in

/// How the server writes `c` inside a JSON string: JSON's own escapes, then `\uXXXX` for the
/// protocol's `escapable_by_server` set (C0 controls, zero-width and bidi marks, U+2028-U+202F,
/// invisible operators U+2060-U+206F, the specials U+FFF0-U+FFFF) and, with `html`, for `<`,
/// `>` and `&`. Everything else, astral characters included, goes out as UTF-8.
fn server_escape_of(c: char, html: bool) -> Esc {
    match c {
        '"' => Esc::Short(b'"'),
        '\\' => Esc::Short(b'\\'),
        '\n' => Esc::Short(b'n'),
        '\r' => Esc::Short(b'r'),
        '\t' => Esc::Short(b't'),
        '\u{8}' => Esc::Short(b'b'),
        '\u{c}' => Esc::Short(b'f'),
        '<' | '>' | '&' if html => Esc::Unicode,
        '\0'..='\u{1f}'
        | '\u{200c}'..='\u{200f}'
        | '\u{2028}'..='\u{202f}'
        | '\u{2060}'..='\u{206f}'
        | '\u{fff0}'..='\u{ffff}' => Esc::Unicode,
        _ => Esc::Plain,
    }
}

/// Appends `s` to `out` as a JSON string literal escaped for the server-to-client direction,
/// the set sockjs-node escapes and the SockJS protocol tests require (`escapable_by_server`):
/// `"`, `\`, C0 controls, U+200C-U+200F, U+2028-U+202F, U+2060-U+206F and U+FFF0-U+FFFF.
/// Characters outside the BMP are sent as UTF-8, not as surrogate escapes: a Rust string has
/// no lone surrogates, which are what sockjs-node's surrogate range is for.
///
/// This is a different set from [`quote_into`]'s: each side escapes what the other side's
/// reference implementation expects, and either JSON decodes the same.
pub fn quote_server_into(out: &mut String, s: &str) {
    quote_with(out, s, is_plain_ascii(s), |c| server_escape_of(c, false));
}

/// [`quote_server_into`] that also escapes `<`, `>` and `&` (as `\u003c`, `\u003e`,
/// `\u0026`), for a literal inside an HTML `<script>` element (the htmlfile transport): no
/// message can then close the script or open a comment.
pub fn quote_server_html_into(out: &mut String, s: &str) {
    let plain = is_plain_ascii(s) && !s.bytes().any(|b| matches!(b, b'<' | b'>' | b'&'));
    quote_with(out, s, plain, |c| server_escape_of(c, true));
}

/// The `a[...]` frame carrying `messages` to a client, in order (`a[]` for none).
pub fn encode_message_frame(messages: &[String]) -> String {
    let mut out = String::with_capacity(3 + messages.iter().map(|m| m.len() + 3).sum::<usize>());
    out.push_str("a[");
    for (i, message) in messages.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        quote_server_into(&mut out, message);
    }
    out.push(']');
    out
}

/// The `c[code,"reason"]` frame that tells a client its session is closed.
pub fn encode_close_frame(code: u16, reason: &str) -> String {
    let mut out = String::with_capacity(reason.len() + 12);
    out.push_str("c[");
    push_decimal(&mut out, u32::from(code));
    out.push(',');
    quote_server_into(&mut out, reason);
    out.push(']');
    out
}

/// Why a server refuses a client payload ([`decode_payload`], [`decode_ws_message`]).
///
/// ```
/// use cometkit_protocol::sockjs::{decode_payload, PayloadError};
///
/// assert_eq!(decode_payload(r#"["a","b"]"#), Ok(vec!["a".to_string(), "b".to_string()]));
/// assert_eq!(decode_payload("[1]"), Err(PayloadError::NotStrings));
/// let err = decode_payload(r#"["a"#).unwrap_err();
/// assert_eq!(err, PayloadError::Broken);
/// assert_eq!(err.message(), "Broken JSON encoding."); // the HTTP 500 body
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadError {
    /// Nothing, or only whitespace, was sent.
    Empty,
    /// The text is not JSON at all.
    Broken,
    /// The text is JSON, but not an array of strings (nor, on a WebSocket, one string).
    NotStrings,
}

impl PayloadError {
    /// The body of the HTTP 500 answer, in sockjs-node's words (clients and the protocol
    /// tests look for them): `Payload expected.` or `Broken JSON encoding.`.
    pub fn message(self) -> &'static str {
        match self {
            PayloadError::Empty | PayloadError::NotStrings => "Payload expected.",
            PayloadError::Broken => "Broken JSON encoding.",
        }
    }
}

/// Decodes what a client posts (`xhr_send`, `jsonp_send`): a JSON array of strings; `[]` is a
/// valid payload with no messages.
///
/// Fails with [`PayloadError::Empty`] when the text is empty or whitespace, with
/// [`PayloadError::NotStrings`] for any other JSON value (a number, an object, an array holding
/// something else than strings), and with [`PayloadError::Broken`] for text that is not JSON.
/// Lone UTF-16 surrogate escapes become U+FFFD, as in [`decode_frame`].
pub fn decode_payload(text: &str) -> Result<Vec<String>, PayloadError> {
    if text.trim().is_empty() {
        return Err(PayloadError::Empty);
    }
    let mut json = Json::new(text);
    json.string_array()
        .and_then(|messages| json.end().map(|()| messages))
        .map_err(|_| classify_failure(text))
}

/// Decodes one message from a client on the framed WebSocket transport: a JSON array of
/// strings, or one JSON string (sockjs-node accepts both). An empty or whitespace-only message
/// carries no messages.
///
/// Fails as [`decode_payload`] does (never with [`PayloadError::Empty`]); a string followed by
/// anything but whitespace is [`PayloadError::Broken`].
pub fn decode_ws_message(text: &str) -> Result<Vec<String>, PayloadError> {
    let mut json = Json::new(text);
    json.ws();
    match json.peek() {
        None => Ok(Vec::new()),
        Some(b'[') => decode_payload(text),
        Some(_) => match json.string() {
            Ok(message) => match json.end() {
                Ok(()) => Ok(vec![message.into_owned()]),
                Err(_) => Err(PayloadError::Broken),
            },
            Err(_) => Err(classify_failure(text)),
        },
    }
}

/// Tells a payload that is JSON of the wrong shape from one that is not JSON.
pub(crate) fn classify_failure(text: &str) -> PayloadError {
    let mut json = Json::new(text);
    match json.skip_value().and_then(|()| json.end()) {
        Ok(()) => PayloadError::NotStrings,
        Err(_) => PayloadError::Broken,
    }
}

// ---------------------------------------------------------------------------------------------
// Transport framings

/// Splits an xhr-streaming or xhr-polling response into frames.
///
/// Give [`next_frame`](Self::next_frame) the whole response text received so far (the
/// growing `responseText`) as often as it grows; it returns each complete `\n`-terminated frame
/// once, skipping empty lines and the streaming prelude (a first line of 2048 `h`). An
/// unterminated tail waits for more text. Use a fresh reader (or [`reset`](Self::reset)) for
/// each new response.
///
/// ```
/// use cometkit_protocol::sockjs::XhrStreamReader;
///
/// let mut reader = XhrStreamReader::new();
/// // The 2048-`h` prelude, an open frame, then half of a message frame.
/// let mut text = "h".repeat(2048) + "\no\na[\"hel";
/// assert_eq!(reader.next_frame(&text), Some("o"));
/// assert_eq!(reader.next_frame(&text), None); // the tail waits for more text
/// text.push_str("lo\"]\n");
/// assert_eq!(reader.next_frame(&text), Some(r#"a["hello"]"#));
/// ```
#[derive(Debug, Clone, Default)]
pub struct XhrStreamReader {
    pos: usize,
}

impl XhrStreamReader {
    /// A reader at the start of a response.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next complete frame in `text`, or `None` until more text arrives.
    pub fn next_frame<'t>(&mut self, text: &'t str) -> Option<&'t str> {
        loop {
            let rest = text.get(self.pos..)?;
            let end = rest.find('\n')?;
            let line = rest.get(..end)?;
            let first = self.pos == 0;
            self.pos += end + 1;
            if line.is_empty() || (first && line.len() > 1 && line.bytes().all(|b| b == b'h')) {
                continue;
            }
            return Some(line);
        }
    }

    /// Bytes of the response consumed so far.
    pub fn consumed(&self) -> usize {
        self.pos
    }

    /// Starts over for a new response.
    pub fn reset(&mut self) {
        self.pos = 0;
    }
}

/// The frame carried by one EventSource event's `data`.
///
/// The reference server (sockjs-node) percent-escapes `%`, CR, LF and NUL in event data, and
/// sockjs-client decodes it; this undoes exactly those four escapes (`%25`, `%0D`, `%0A`,
/// `%00`, any hex case) and leaves every other `%` sequence alone, so frames from servers that
/// do not escape pass through unchanged unless a message contains one of those four sequences
/// literally (sockjs-client has the same limitation, with a broader decoder).
pub fn eventsource_frame(data: &str) -> Cow<'_, str> {
    if !data.as_bytes().contains(&b'%') {
        return Cow::Borrowed(data);
    }
    let bytes = data.as_bytes();
    let mut out = String::with_capacity(data.len());
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match (bytes.get(i), bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(b'%'), Some(b'2'), Some(b'5')) => Some('%'),
            (Some(b'%'), Some(b'0'), Some(b'a' | b'A')) => Some('\n'),
            (Some(b'%'), Some(b'0'), Some(b'd' | b'D')) => Some('\r'),
            (Some(b'%'), Some(b'0'), Some(b'0')) => Some('\0'),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push_str(data.get(run..i).unwrap_or_default());
                out.push(c);
                i += 3;
                run = i;
            }
            None => i += 1,
        }
    }
    out.push_str(data.get(run..).unwrap_or_default());
    Cow::Owned(out)
}

/// The frame in a JSONP polling response body, `/**/<callback>("<frame>");` (the comment, the
/// semicolon and trailing whitespace optional), read without running it as a script.
///
/// Fails with a protocol error when the body does not call `callback` with one JSON string.
pub fn jsonp_body_frame<'b>(body: &'b str, callback: &str) -> Result<Cow<'b, str>, Error> {
    const BAD: &str = "JSONP body is not a call of the expected callback with one string";
    let rest = body.trim_ascii_start();
    let rest = rest.strip_prefix("/**/").unwrap_or(rest);
    let rest = rest
        .strip_prefix(callback)
        .ok_or_else(|| Error::protocol(BAD))?;
    let start = body.len() - rest.len();
    let mut json = Json::at(body, start);
    json.expect(b'(', BAD)?;
    let frame = json.string()?;
    json.expect(b')', BAD)?;
    json.eat(b';');
    json.end()?;
    Ok(frame)
}

// ---------------------------------------------------------------------------------------------
// A small JSON reader, shared with the `/info` parser.

/// A cursor over JSON text. Every method skips leading whitespace and fails with a protocol
/// error instead of panicking.
pub(crate) struct Json<'a> {
    text: &'a str,
    pos: usize,
}

/// Containers nested deeper than this are refused (bounded work and state).
const MAX_DEPTH: u32 = 64;

impl<'a> Json<'a> {
    /// A reader at the start of `text`.
    pub(crate) fn new(text: &'a str) -> Self {
        Json { text, pos: 0 }
    }

    /// Where the reader is (a byte offset into the text).
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    fn at(text: &'a str, pos: usize) -> Self {
        Json { text, pos }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Consumes `b` (after whitespace) if it is next.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        self.ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes `b` or fails with `message`.
    pub(crate) fn expect(&mut self, b: u8, message: &'static str) -> Result<(), Error> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(Error::protocol(message))
        }
    }

    /// Succeeds when only whitespace is left.
    pub(crate) fn end(&mut self) -> Result<(), Error> {
        self.ws();
        if self.pos == self.text.len() {
            Ok(())
        } else {
            Err(Error::protocol("unexpected data after the JSON value"))
        }
    }

    fn slice(&self, from: usize, to: usize) -> Result<&'a str, Error> {
        self.text
            .get(from..to)
            .ok_or(Error::protocol("JSON string split inside a character"))
    }

    /// A JSON string, borrowed when it has no escapes.
    pub(crate) fn string(&mut self) -> Result<Cow<'a, str>, Error> {
        const UNTERMINATED: &str = "JSON string is not terminated";
        const CONTROL: &str = "JSON string contains a raw control character";
        self.ws();
        if self.peek() != Some(b'"') {
            return Err(Error::protocol("expected a JSON string"));
        }
        let bytes = self.text.as_bytes();
        let start = self.pos + 1;
        let mut i = start;
        // Fast path: no escapes, borrow.
        loop {
            match bytes.get(i) {
                None => return Err(Error::protocol(UNTERMINATED)),
                Some(b'"') => {
                    let s = self.slice(start, i)?;
                    self.pos = i + 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => break,
                Some(&b) if b < 0x20 => return Err(Error::protocol(CONTROL)),
                Some(_) => i += 1,
            }
        }
        let mut out = String::with_capacity(i - start + 16);
        let mut run = start;
        loop {
            match bytes.get(i) {
                None => return Err(Error::protocol(UNTERMINATED)),
                Some(b'"') => {
                    out.push_str(self.slice(run, i)?);
                    self.pos = i + 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    out.push_str(self.slice(run, i)?);
                    let esc = bytes.get(i + 1).copied();
                    i += 2;
                    let c = match esc {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let unit = hex4(bytes, i)?;
                            i += 4;
                            decode_unit(unit, bytes, &mut i)
                        }
                        _ => return Err(Error::protocol("invalid escape in JSON string")),
                    };
                    out.push(c);
                    run = i;
                }
                Some(&b) if b < 0x20 => return Err(Error::protocol(CONTROL)),
                Some(_) => i += 1,
            }
        }
    }

    /// A JSON array of strings.
    pub(crate) fn string_array(&mut self) -> Result<Vec<String>, Error> {
        self.expect(b'[', "expected a JSON array")?;
        let mut items = Vec::new();
        if self.eat(b']') {
            return Ok(items);
        }
        loop {
            items.push(self.string()?.into_owned());
            if self.eat(b']') {
                return Ok(items);
            }
            self.expect(b',', "expected ',' or ']' in a JSON array")?;
        }
    }

    /// A non-negative JSON integer (no fraction, no exponent).
    pub(crate) fn uint(&mut self) -> Result<u64, Error> {
        const NOT_UINT: &str = "expected a non-negative JSON integer";
        self.ws();
        let mut value: u64 = 0;
        let mut digits = 0;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
                .ok_or(Error::protocol("JSON integer too large"))?;
            digits += 1;
            self.pos += 1;
        }
        if digits == 0 || matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return Err(Error::protocol(NOT_UINT));
        }
        Ok(value)
    }

    /// A non-negative integer, or `None` (the value skipped) for any other JSON value.
    pub(crate) fn uint_or_skip(&mut self) -> Result<Option<u64>, Error> {
        self.ws();
        let start = self.pos;
        if let Ok(n) = self.uint() {
            return Ok(Some(n));
        }
        self.pos = start;
        self.skip_value().map(|()| None)
    }

    /// `true` or `false`.
    pub(crate) fn boolean(&mut self) -> Result<bool, Error> {
        if self.literal("true") {
            Ok(true)
        } else if self.literal("false") {
            Ok(false)
        } else {
            Err(Error::protocol("expected a JSON boolean"))
        }
    }

    fn literal(&mut self, word: &str) -> bool {
        self.ws();
        let hit = self
            .text
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(word));
        if hit {
            self.pos += word.len();
        }
        hit
    }

    fn number(&mut self) -> Result<(), Error> {
        const BAD: &str = "malformed JSON number";
        self.ws();
        self.eat_byte(b'-');
        // JSON allows no leading zero (`0`, `0.5`, but not `01`), as `JSON.parse` and so
        // sockjs-node see it.
        let leading_zero = self.peek() == Some(b'0');
        let int = self.digits();
        if int == 0 || (leading_zero && int > 1) {
            return Err(Error::protocol(BAD));
        }
        if self.eat_byte(b'.') && self.digits() == 0 {
            return Err(Error::protocol(BAD));
        }
        if self.eat_byte(b'e') || self.eat_byte(b'E') {
            let _ = self.eat_byte(b'+') || self.eat_byte(b'-');
            if self.digits() == 0 {
                return Err(Error::protocol(BAD));
            }
        }
        Ok(())
    }

    fn eat_byte(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Skips any JSON value, without recursion (nesting is limited to 64 levels).
    pub(crate) fn skip_value(&mut self) -> Result<(), Error> {
        // Bit n of `kinds` is set when container n is an object.
        let mut kinds: u64 = 0;
        let mut depth: u32 = 0;
        loop {
            // A value starts here.
            self.ws();
            let opened = match self.peek() {
                Some(open @ (b'{' | b'[')) => {
                    self.pos += 1;
                    let close = if open == b'{' { b'}' } else { b']' };
                    if self.eat(close) {
                        false
                    } else {
                        if depth >= MAX_DEPTH {
                            return Err(Error::protocol("JSON nested too deeply"));
                        }
                        if open == b'{' {
                            kinds |= 1 << depth;
                            self.string()?;
                            self.expect(b':', "expected ':' in a JSON object")?;
                        } else {
                            kinds &= !(1 << depth);
                        }
                        depth += 1;
                        true
                    }
                }
                Some(b'"') => {
                    self.string()?;
                    false
                }
                Some(b'-' | b'0'..=b'9') => {
                    self.number()?;
                    false
                }
                _ => {
                    if !(self.literal("true") || self.literal("false") || self.literal("null")) {
                        return Err(Error::protocol("expected a JSON value"));
                    }
                    false
                }
            };
            if opened {
                continue;
            }
            // A value ended: close containers until one continues with ','.
            loop {
                if depth == 0 {
                    return Ok(());
                }
                let object = kinds & (1 << (depth - 1)) != 0;
                if self.eat(b',') {
                    if object {
                        self.string()?;
                        self.expect(b':', "expected ':' in a JSON object")?;
                    }
                    break;
                }
                let close = if object { b'}' } else { b']' };
                if !self.eat(close) {
                    return Err(Error::protocol(
                        "expected ',' or the end of a JSON container",
                    ));
                }
                depth -= 1;
            }
        }
    }
}

fn hex4(bytes: &[u8], at: usize) -> Result<u32, Error> {
    let mut v = 0;
    for k in 0..4 {
        let d = match bytes.get(at + k) {
            Some(&b @ b'0'..=b'9') => b - b'0',
            Some(&b @ b'a'..=b'f') => b - b'a' + 10,
            Some(&b @ b'A'..=b'F') => b - b'A' + 10,
            _ => return Err(Error::protocol("invalid \\u escape in JSON string")),
        };
        v = (v << 4) | u32::from(d);
    }
    Ok(v)
}

/// Turns a `\uXXXX` code unit into a char, consuming a following low-surrogate escape when
/// `unit` is a high surrogate. Lone surrogates become U+FFFD.
fn decode_unit(unit: u32, bytes: &[u8], i: &mut usize) -> char {
    if (0xd800..0xdc00).contains(&unit) {
        if bytes.get(*i) == Some(&b'\\') && bytes.get(*i + 1) == Some(&b'u') {
            if let Ok(low) = hex4(bytes, *i + 2) {
                if (0xdc00..0xe000).contains(&low) {
                    *i += 6;
                    let c = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
                    return char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER);
                }
            }
        }
        return char::REPLACEMENT_CHARACTER;
    }
    char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn msgs(frame: &str) -> Vec<String> {
        match decode_frame(frame) {
            Ok(Frame::Messages(m)) => m,
            other => panic!("{frame:?} -> {other:?}"),
        }
    }

    #[test]
    fn decodes_every_frame_type() {
        assert_eq!(decode_frame("o").unwrap(), Frame::Open);
        assert_eq!(decode_frame("h").unwrap(), Frame::Heartbeat);
        assert_eq!(msgs(r#"a["x"]"#), vec!["x"]);
        assert_eq!(msgs(r#"a["a","","b c"]"#), vec!["a", "", "b c"]);
        assert_eq!(msgs("a[]"), Vec::<String>::new());
        assert_eq!(msgs("a[ \"x\" , \"y\" ]\n"), vec!["x", "y"]);
        assert_eq!(
            decode_frame(r#"c[3000,"Go away!"]"#).unwrap(),
            Frame::Close {
                code: 3000,
                reason: "Go away!".into()
            }
        );
        assert_eq!(
            decode_frame(r#"c[2010,"Another connection still open"]"#).unwrap(),
            Frame::Close {
                code: 2010,
                reason: "Another connection still open".into()
            }
        );
        assert_eq!(
            decode_frame(r#"c[ 1002 , "Connection interrupted" ]"#).unwrap(),
            Frame::Close {
                code: 1002,
                reason: "Connection interrupted".into()
            }
        );
    }

    #[test]
    fn decodes_json_escapes() {
        assert_eq!(
            msgs(r#"a["q\"b\\s\/ \b\f\n\r\t"]"#),
            vec!["q\"b\\s/ \u{8}\u{c}\n\r\t"]
        );
        assert_eq!(msgs(r#"a["\u0000\u001f\u00e9\u20AC"]"#), vec!["\0\u{1f}é€"]);
        // Raw non-ASCII passes through.
        assert_eq!(msgs("a[\"héllo €\"]"), vec!["héllo €"]);
    }

    #[test]
    fn surrogate_pairs_become_non_bmp_chars() {
        assert_eq!(msgs(r#"a["\ud83d\ude00"]"#), vec!["😀"]);
        assert_eq!(msgs(r#"a["x\uD834\uDD1Ey"]"#), vec!["x𝄞y"]);
        assert_eq!(msgs(r#"a["\udbff\udfff"]"#), vec!["\u{10ffff}"]);
        assert_eq!(msgs(r#"a["\ud800\udc00"]"#), vec!["\u{10000}"]);
    }

    #[test]
    fn lone_surrogates_become_replacement_chars() {
        assert_eq!(msgs(r#"a["\ud800"]"#), vec!["\u{fffd}"]);
        assert_eq!(msgs(r#"a["a\udc00b"]"#), vec!["a\u{fffd}b"]);
        // High then a non-surrogate escape: both survive, the high one replaced.
        assert_eq!(msgs(r#"a["\ud800\u0041"]"#), vec!["\u{fffd}A"]);
        // Two highs in a row, then a low: the second pairs up.
        assert_eq!(msgs(r#"a["\ud800\ud83d\ude00"]"#), vec!["\u{fffd}😀"]);
        // High followed by a bad \u escape is still a protocol error.
        assert!(decode_frame(r#"a["\ud800\u00zz"]"#)
            .unwrap_err()
            .is_protocol());
    }

    #[test]
    fn malformed_frames_are_protocol_errors() {
        let bad = [
            "",
            "x",
            "O",
            "oo",
            "o\n",
            "hh",
            "h ",
            "a",
            "a[",
            "a]",
            "a{}",
            "a[\"x\"",
            "a[\"x\",]",
            "a[,\"x\"]",
            "a[\"x\" \"y\"]",
            "a[1]",
            "a[null]",
            "a[[\"x\"]]",
            "a[\"x\"]x",
            "a[\"x\"][]",
            "a[\"unterminated]",
            "a[\"bad \\x escape\"]",
            "a[\"\\u12\"]",
            "a[\"\\u12g4\"]",
            "a[\"\\",
            "a[\"\\u",
            "a[\"raw\nnewline\"]",
            "a[\"raw\ttab\"]",
            "a[\"nul\0\"]",
            "a\"x\"",
            "c",
            "c[]",
            "c[3000]",
            "c[3000,]",
            "c[\"3000\",\"r\"]",
            "c[-1,\"r\"]",
            "c[65536,\"r\"]",
            "c[99999999999999999999999,\"r\"]",
            "c[3000.5,\"r\"]",
            "c[3e3,\"r\"]",
            "c[3000,\"r\",1]",
            "c[3000,null]",
            "c[3000,\"r\"",
            "c[3000,\"r\"]]",
            "m\"legacy\"",
            " o",
            "\u{feff}o",
        ];
        for frame in bad {
            match decode_frame(frame) {
                Err(e) => assert!(e.is_protocol(), "{frame:?}: {e}"),
                Ok(f) => panic!("{frame:?} decoded as {f:?}"),
            }
        }
    }

    #[test]
    fn truncations_of_valid_frames_never_panic() {
        let frames = [
            r#"a["x\"y\\z\ud83d\ude00 é","\u00e9"]"#,
            r#"c[3000,"Go \"away\"!"]"#,
        ];
        for f in frames {
            assert!(decode_frame(f).is_ok());
            for (cut, _) in f.char_indices().skip(1) {
                assert!(decode_frame(&f[..cut]).is_err(), "{:?}", &f[..cut]);
            }
        }
    }

    #[test]
    fn random_garbage_never_panics() {
        let alphabet: Vec<char> = "ahoc[]\",\\u0123456789dDeE:{}- \n\té😀".chars().collect();
        let mut rng = Rng(0x1234_5678);
        for _ in 0..20_000 {
            let len = (rng.next() % 24) as usize;
            let mut s = String::new();
            for _ in 0..len {
                s.push(alphabet[(rng.next() as usize) % alphabet.len()]);
            }
            let _ = decode_frame(&s);
            let _ = Json::new(&s).skip_value();
            let _ = jsonp_body_frame(&s, "cb");
            let _ = eventsource_frame(&s);
            let _ = decode_payload(&s);
            let _ = decode_ws_message(&s);
        }
    }

    #[test]
    fn encodes_like_sockjs_client() {
        // Vectors checked against sockjs-client 1.6.1's `escape.quote`.
        let cases: [(&str, &str); 10] = [
            ("", r#""""#),
            ("plain text", r#""plain text""#),
            ("q\"b\\", r#""q\"b\\""#),
            ("\n\r\t\u{8}\u{c}", r#""\n\r\t\b\f""#),
            ("\0\u{1}\u{1f}\u{7f}", "\"\\u0000\\u0001\\u001f\u{7f}\""),
            ("é€", "\"é€\""),
            ("😀", r#""\ud83d\ude00""#),
            ("e\u{301}", r#""e\u0301""#),
            (
                "\u{2126}\u{fa10}\u{fffe}\u{ffff}\u{fff0}",
                r#""\u2126\ufa10\ufffe\uffff\ufff0""#,
            ),
            ("\u{2028}\u{2029}/<", "\"\u{2028}\u{2029}/<\""),
        ];
        for (input, want) in cases {
            let mut out = String::new();
            quote_into(&mut out, input);
            assert_eq!(out, want, "{input:?}");
            assert_eq!(quoted_len(input), want.len(), "{input:?}");
        }
        assert_eq!(encode_payload(&[]), "[]");
        assert_eq!(
            encode_payload(&["a".to_string(), "b\"".to_string()]),
            r#"["a","b\""]"#
        );
        assert_eq!(encode_payload_strs(&["x", "😀"]), r#"["x","\ud83d\ude00"]"#);
    }

    #[test]
    fn escape_table_boundaries() {
        assert!(EXTRA_ESCAPES.windows(2).all(|w| w[0].1 + 1 < w[1].0));
        for &(lo, hi) in EXTRA_ESCAPES.iter() {
            let inside = |u: u16| char::from_u32(u32::from(u)).map(escape_of);
            assert!(matches!(inside(lo), Some(Esc::Unicode)), "{lo:#x}");
            assert!(matches!(inside(hi), Some(Esc::Unicode)), "{hi:#x}");
            assert!(matches!(inside(lo - 1), Some(Esc::Plain)), "{:#x}", lo - 1);
            if hi < 0xffff {
                assert!(matches!(inside(hi + 1), Some(Esc::Plain)), "{:#x}", hi + 1);
            }
        }
    }

    /// Every class of character, encoded then decoded, comes back unchanged.
    #[test]
    fn round_trip_every_char_class() {
        let samples = [
            "",
            "hello",
            "\"\\/",
            "\u{0}\u{1}\u{8}\u{9}\u{a}\u{c}\u{d}\u{1f}\u{7f}",
            "é ñ ü ß",
            "€ ☃ \u{2028}\u{2029}",
            "\u{300}\u{333}\u{334}\u{fb4e}\u{fb4f}",
            "\u{fffd}\u{fffe}\u{ffff}\u{e000}\u{d7ff}",
            "😀 𝄞 \u{10000}\u{10ffff}",
            "a[\"b\"]c[3000,\"x\"]",
            "%0A%25%00",
        ];
        let owned: Vec<String> = samples.iter().map(|s| s.to_string()).collect();
        let payload = encode_payload(&owned);
        assert_eq!(msgs(&["a", &payload].concat()), owned);
        // All of the BMP except surrogates, in chunks.
        let all: Vec<char> = (0u32..0x10000).filter_map(char::from_u32).collect();
        let chunks: Vec<String> = all.chunks(4096).map(|c| c.iter().collect()).collect();
        let payload = encode_payload(&chunks);
        assert!(wire_safe(&payload));
        assert_eq!(msgs(&["a", &payload].concat()), chunks);
    }

    /// Property: for random strings over all char classes, decode(encode(x)) == x, the encoded
    /// length is predicted exactly, and the output never contains raw controls or astral chars.
    #[test]
    fn round_trip_property_over_random_strings() {
        let mut rng = Rng(42);
        for _ in 0..3_000 {
            let n = (rng.next() % 5) as usize;
            let batch: Vec<String> = (0..n).map(|_| random_string(&mut rng)).collect();
            let payload = encode_payload(&batch);
            assert!(wire_safe(&payload));
            let decoded = msgs(&["a", &payload].concat());
            assert_eq!(decoded, batch);
        }
    }

    /// Only characters that need no escaping (plus JSON's own quotes and backslashes).
    fn wire_safe(payload: &str) -> bool {
        payload
            .chars()
            .all(|c| matches!(escape_of(c), Esc::Plain) || c == '"' || c == '\\')
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u32 {
            // xorshift64*
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
        }
    }

    fn random_string(rng: &mut Rng) -> String {
        let len = (rng.next() % 12) as usize;
        (0..len)
            .map(|_| {
                let class = rng.next() % 6;
                let r = rng.next();
                let u = match class {
                    0 => r % 0x20,
                    1 => 0x20 + r % 0x60,
                    2 => 0x80 + r % 0x780,
                    3 => 0x800 + r % 0xf800,
                    4 => 0x10000 + r % 0x100000,
                    _ => [0x22, 0x5c, 0x300, 0xfffe, 0xffff, 0x2028][(r % 6) as usize],
                };
                char::from_u32(u).unwrap_or('\u{fffd}')
            })
            .collect()
    }

    #[test]
    fn xhr_stream_reader_skips_prelude_and_waits_for_newlines() {
        let prelude = "h".repeat(2048) + "\n";
        let mut r = XhrStreamReader::new();
        let mut text = String::from(&prelude[..100]);
        assert_eq!(r.next_frame(&text), None);
        text.push_str(&prelude[100..]);
        assert_eq!(r.next_frame(&text), None);
        text.push_str("o\na[\"x\"]\nh\n\na[\"par");
        assert_eq!(r.next_frame(&text), Some("o"));
        assert_eq!(r.next_frame(&text), Some("a[\"x\"]"));
        assert_eq!(r.next_frame(&text), Some("h"));
        assert_eq!(r.next_frame(&text), None);
        text.push_str("tial\"]\n");
        assert_eq!(r.next_frame(&text), Some("a[\"partial\"]"));
        assert_eq!(r.next_frame(&text), None);
        assert_eq!(r.consumed(), text.len());
        // A shorter text (a new response given without reset) yields nothing, no panic.
        assert_eq!(r.next_frame("o\n"), None);
        r.reset();
        assert_eq!(r.next_frame("o\n"), Some("o"));
        // A polling response: one frame, a single `h` is a heartbeat, not a prelude.
        let mut p = XhrStreamReader::new();
        assert_eq!(p.next_frame("h\n"), Some("h"));
    }

    #[test]
    fn eventsource_data_unescaping() {
        assert!(matches!(eventsource_frame("a[\"x\"]"), Cow::Borrowed(_)));
        assert_eq!(eventsource_frame("a[\"100%25\"]"), "a[\"100%\"]");
        assert_eq!(eventsource_frame("%0a%0A%0d%0D%00%2525"), "\n\n\r\r\0%25");
        assert_eq!(eventsource_frame("%41%2%"), "%41%2%");
        assert_eq!(eventsource_frame("é%25é"), "é%é");
    }

    #[test]
    fn jsonp_body_reading() {
        assert_eq!(
            jsonp_body_frame("/**/cb(\"a[\\\"x\\\"]\");\r\n", "cb").unwrap(),
            "a[\"x\"]"
        );
        assert_eq!(jsonp_body_frame("cb(\"o\")", "cb").unwrap(), "o");
        for bad in [
            "/**/other(\"o\");",
            "/**/cb(o);",
            "/**/cb(\"o\"",
            "/**/cb(\"o\");x",
            "",
        ] {
            assert!(
                jsonp_body_frame(bad, "cb").unwrap_err().is_protocol(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn skip_value_handles_nesting_and_limits() {
        for ok in [
            "1",
            "-0.5e+3",
            "\"s\"",
            "true",
            "null",
            "[]",
            "{}",
            "[1,[2,{\"a\":[{}]}],\"x\"]",
            "{\"a\":{\"b\":[true,false,null]},\"c\":1}",
            "0",
            "-0.5",
            "[0,10,-0e1]",
        ] {
            let mut j = Json::new(ok);
            assert!(j.skip_value().is_ok() && j.end().is_ok(), "{ok}");
        }
        for bad in [
            "", "[", "{\"a\"}", "{1:2}", "[1,]", "01x", "-", "1.", "1e", "tru", "[}", "01", "-00",
            "[1,02]",
        ] {
            let mut j = Json::new(bad);
            assert!(j.skip_value().and_then(|_| j.end()).is_err(), "{bad}");
        }
        let deep = "[".repeat(64) + "1" + &"]".repeat(64);
        assert!(Json::new(&deep).skip_value().is_ok());
        let too_deep = "[".repeat(65) + "1" + &"]".repeat(65);
        assert!(Json::new(&too_deep).skip_value().unwrap_err().is_protocol());
        let huge = "[".repeat(100_000);
        assert!(Json::new(&huge).skip_value().is_err());
    }

    // -----------------------------------------------------------------------------------------
    // The server's side

    fn server_quoted(s: &str) -> String {
        let mut out = String::new();
        quote_server_into(&mut out, s);
        out
    }

    fn server_html_quoted(s: &str) -> String {
        let mut out = String::new();
        quote_server_html_into(&mut out, s);
        out
    }

    #[test]
    fn server_quoting_uses_json_escapes_and_the_server_set() {
        assert_eq!(server_quoted(""), r#""""#);
        assert_eq!(server_quoted("plain"), r#""plain""#);
        assert_eq!(server_quoted("say \"hi\" \\o/"), r#""say \"hi\" \\o/""#);
        assert_eq!(
            server_quoted("\u{8}\t\n\u{c}\r\u{0}\u{7}\u{1f}"),
            r#""\b\t\n\f\r\u0000\u0007\u001f""#
        );
        assert_eq!(
            server_quoted(
                "x\u{200c}\u{200f}\u{2028}\u{2029}\u{202f}\u{2060}\u{206f}\u{fff0}\u{ffff}y"
            ),
            r#""x\u200c\u200f\u2028\u2029\u202f\u2060\u206f\ufff0\uffffy""#
        );
        // Outside the set: DEL, Latin-1, the neighbours of each range, combining marks (which
        // the client escapes), and astral characters (UTF-8, not surrogate escapes).
        let verbatim =
            "/\u{7f}é\u{200b}\u{2010}\u{2027}\u{2030}\u{205f}\u{2070}\u{ffef}e\u{301}\u{2126}😀";
        assert_eq!(server_quoted(verbatim), ["\"", verbatim, "\""].concat());
    }

    /// Over the whole BMP, the server escapes exactly `escapable_by_server` from the SockJS
    /// protocol tests, plus JSON's `"` and `\`.
    #[test]
    fn server_escape_set_is_the_protocols() {
        let escapable_by_server = |u: u32| {
            matches!(u,
                0..=0x1f | 0x200c..=0x200f | 0x2028..=0x202f | 0x2060..=0x206f | 0xfff0..=0xffff)
        };
        for c in (0u32..0x10000).filter_map(char::from_u32) {
            let quoted = server_quoted(c.encode_utf8(&mut [0; 4]));
            let escaped = quoted.len() != c.len_utf8() + 2;
            let expected = escapable_by_server(c as u32) || c == '"' || c == '\\';
            assert_eq!(escaped, expected, "U+{:04X} -> {quoted}", c as u32);
        }
    }

    #[test]
    fn html_quoting_keeps_markup_out_of_the_script() {
        assert_eq!(
            server_html_quoted("</script><!--&amp;"),
            r#""\u003c/script\u003e\u003c!--\u0026amp;""#
        );
        assert_eq!(server_html_quoted("a\u{2028}\"b"), r#""a\u2028\"b""#);
        assert_eq!(server_html_quoted("no markup"), r#""no markup""#);
        // Without the flag, markup is left alone.
        assert_eq!(server_quoted("<b>&"), r#""<b>&""#);
    }

    #[test]
    fn server_frames() {
        assert_eq!(encode_message_frame(&[]), "a[]");
        assert_eq!(
            encode_message_frame(&["one".into(), "t\"wo\n".into(), String::new()]),
            r#"a["one","t\"wo\n",""]"#
        );
        assert_eq!(
            encode_close_frame(3000, "Go away!"),
            r#"c[3000,"Go away!"]"#
        );
        assert_eq!(encode_close_frame(0, ""), r#"c[0,""]"#);
        assert_eq!(
            encode_close_frame(65535, "\u{2028}"),
            r#"c[65535,"\u2028"]"#
        );
    }

    /// What the server writes, the client reads back unchanged.
    #[test]
    fn client_decodes_server_frames() {
        let messages: Vec<String> = ["", "hi", "\"\\\u{0}\u{2028}\u{ffff}é😀", "<&>"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(msgs(&encode_message_frame(&messages)), messages);
        for (code, reason) in [
            (3000, "Go away!"),
            (2010, "Another connection still open"),
            (1002, "\u{200d}\n"),
        ] {
            assert_eq!(
                decode_frame(&encode_close_frame(code, reason)).unwrap(),
                Frame::Close {
                    code,
                    reason: reason.into()
                }
            );
        }
        // The whole of Unicode, in one message.
        let all: String = (0u32..0x11_0000).filter_map(char::from_u32).collect();
        let frame = encode_message_frame(std::slice::from_ref(&all));
        assert_eq!(msgs(&frame), vec![all.clone()]);
        // And the server reads it back as a payload, as well as the client's own encoding.
        let body = frame.strip_prefix('a').unwrap();
        assert_eq!(decode_payload(body), Ok(vec![all.clone()]));
        assert_eq!(
            decode_payload(&encode_payload(std::slice::from_ref(&all))),
            Ok(vec![all])
        );
    }

    #[test]
    fn payloads_are_string_arrays() {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(decode_payload(r#"["x","y z"]"#), Ok(owned(&["x", "y z"])));
        assert_eq!(decode_payload("[]"), Ok(vec![]));
        assert_eq!(decode_payload("\r\n [\t] \n"), Ok(vec![]));
        assert_eq!(decode_payload(r#"[ "" , "b" ]"#), Ok(owned(&["", "b"])));
        assert_eq!(
            decode_payload(r#"["\\\"\/\b\f\n\r\t\u0041\u00E9\ud834\udd1e"]"#),
            Ok(owned(&["\\\"/\u{8}\u{c}\n\r\tAé𝄞"]))
        );
        // A lone surrogate costs one character, not the payload.
        assert_eq!(
            decode_payload(r#"["a\udc00b\ud83d"]"#),
            Ok(owned(&["a\u{fffd}b\u{fffd}"]))
        );
        assert_eq!(
            decode_payload(r#"["\ud83d\u0042"]"#),
            Ok(owned(&["\u{fffd}B"]))
        );
    }

    #[test]
    fn payload_failures_are_told_apart() {
        for empty in ["", " ", "\r\n\t", "\u{a0}"] {
            assert_eq!(decode_payload(empty), Err(PayloadError::Empty), "{empty:?}");
        }
        // Not JSON at all.
        for broken in [
            "[",
            "]",
            r#"["a""#,
            r#"["a",]"#,
            r#"[,"a"]"#,
            r#"["a""b"]"#,
            r#"["a"]]"#,
            r#"["a"] x"#,
            r#"["\q"]"#,
            r#"["\u00g0"]"#,
            "[\"tab\tinside\"]",
            "{",
            "hello",
            "'a'",
            "01",
            "[01]",
        ] {
            assert_eq!(
                decode_payload(broken),
                Err(PayloadError::Broken),
                "{broken:?}"
            );
        }
        // JSON, but not an array of strings.
        for wrong in [
            "0",
            "-1.5e3",
            "true",
            "null",
            r#""a""#,
            "{}",
            r#"{"a":["b"]}"#,
            "[null]",
            r#"["a",1]"#,
            r#"[["a"]]"#,
        ] {
            assert_eq!(
                decode_payload(wrong),
                Err(PayloadError::NotStrings),
                "{wrong:?}"
            );
        }
        assert_eq!(PayloadError::Empty.message(), "Payload expected.");
        assert_eq!(PayloadError::NotStrings.message(), "Payload expected.");
        assert_eq!(PayloadError::Broken.message(), "Broken JSON encoding.");
    }

    #[test]
    fn websocket_messages_are_arrays_or_one_string() {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(decode_ws_message(""), Ok(vec![]));
        assert_eq!(decode_ws_message(" \n"), Ok(vec![]));
        assert_eq!(decode_ws_message(" [ ]"), Ok(vec![]));
        assert_eq!(decode_ws_message(r#"["a","b"]"#), Ok(owned(&["a", "b"])));
        assert_eq!(
            decode_ws_message(r#" "one\nstring" "#),
            Ok(owned(&["one\nstring"]))
        );
        for broken in [r#"["a""#, r#""a"x"#, r#""a","b""#, r#""open"#, "{", "nope"] {
            assert_eq!(
                decode_ws_message(broken),
                Err(PayloadError::Broken),
                "{broken:?}"
            );
        }
        for wrong in ["7", "null", "{}", "[7]"] {
            assert_eq!(
                decode_ws_message(wrong),
                Err(PayloadError::NotStrings),
                "{wrong:?}"
            );
        }
    }
}
