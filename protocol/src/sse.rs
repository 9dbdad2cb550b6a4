//! Incremental parser for `text/event-stream` (Server-Sent Events), following the WHATWG HTML
//! algorithm "Interpreting an event stream", and the `Content-Type` check an EventSource makes.
//!
//! The parser is sans-IO: bytes (or already-decoded text) go in through [`Parser::feed`] /
//! [`Parser::feed_str`] in chunks split anywhere (inside a UTF-8 sequence, between CR and LF),
//! and [`Output`]s come out of [`Parser::poll`]. It never reads a clock or touches the network;
//! the EventSource polyfill in `transport::eventsource` drives it, and the same vectors that
//! web-platform-tests run against browsers run against it natively.
//!
//! Rules implemented (WHATWG HTML, "Server-sent events"):
//! - the stream is UTF-8 whatever the charset says; invalid sequences become U+FFFD; one leading
//!   BOM is dropped (only at the start of each stream);
//! - lines end at CRLF, LF or CR; a CR at the end of one chunk and an LF at the start of the next
//!   are one line end;
//! - an empty line dispatches; a line starting with `:` is a comment; otherwise the field name
//!   runs up to the first `:` and the value is the rest minus one leading space (no colon: the
//!   whole line is the name and the value is empty);
//! - `event` sets the type, `data` appends value + LF, `id` sets the last-event-ID buffer unless
//!   the value contains U+0000 (an empty value resets it), `retry` sets the reconnection time
//!   when the value is all ASCII digits; other names are ignored;
//! - on dispatch the last event ID is updated even when there is no data; an empty data buffer
//!   dispatches nothing; one trailing LF is dropped; the type defaults to `message`;
//! - at the end of a stream ([`Parser::finish`]) an unfinished event or line is discarded.

use std::collections::VecDeque;
use std::mem;

use crate::url::encode_uri_component;

/// A dispatched event, as an EventSource would hand it to listeners.
///
/// ```
/// use cometkit_protocol::sse::{Event, Output, Parser};
///
/// let mut parser = Parser::for_text();
/// parser.feed_str("data: line 1\ndata: line 2\n\n");
/// let Some(Output::Event(event)) = parser.poll() else { panic!("no event") };
/// assert_eq!(event.event_type, "message"); // no `event:` field
/// assert_eq!(event.data, "line 1\nline 2");
/// assert_eq!(event.last_event_id, "");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event type: the last `event` field, or `"message"` when none was given.
    pub event_type: String,
    /// The `data` lines joined by LF.
    pub data: String,
    /// The last event ID in force when this event was dispatched (may come from earlier events
    /// or an earlier connection; empty when none was ever set or it was reset).
    pub last_event_id: String,
}

/// What the parser produced, in stream order.
///
/// ```
/// use cometkit_protocol::sse::{Output, Parser};
///
/// let mut parser = Parser::new();
/// parser.feed(b"retry: 5000\n\n");
/// assert_eq!(parser.poll(), Some(Output::Retry(5000)));
/// assert_eq!(parser.poll(), None); // no data: no event
/// assert_eq!(parser.reconnection_time(), Some(5000));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// An event to dispatch.
    Event(Event),
    /// The server set the reconnection time (milliseconds; absurd values saturate).
    Retry(u32),
}

/// The incremental `text/event-stream` parser. One per EventSource: call [`finish`] when a
/// connection's response ends, and keep feeding the same parser on the next connection so the
/// last event ID carries over.
///
/// ```
/// use cometkit_protocol::sse::{Output, Parser};
///
/// let mut parser = Parser::new();
/// parser.feed(b"id: 7\nevent: tick\nda"); // chunks may split lines anywhere
/// parser.feed(b"ta: 1\n\n");
/// while let Some(output) = parser.poll() {
///     match output {
///         Output::Event(event) => assert_eq!((&*event.event_type, &*event.data), ("tick", "1")),
///         Output::Retry(ms) => println!("reconnect after {ms} ms"),
///     }
/// }
/// assert_eq!(parser.last_event_id(), "7"); // sent as Last-Event-ID on reconnection
/// ```
///
/// [`finish`]: Parser::finish
#[derive(Debug, Default)]
pub struct Parser {
    /// The unterminated tail of the previous chunk(s).
    line: Vec<u8>,
    /// The previous chunk ended with CR: an LF starting the next chunk belongs to it.
    after_cr: bool,
    /// No line of this stream was completed yet (where a BOM may be).
    at_start: bool,
    /// Whether a leading BOM is ours to drop (raw bytes) or was the decoder's (text).
    strip_bom: bool,
    data: String,
    event_type: String,
    id_buffer: String,
    last_event_id: String,
    reconnection_time: Option<u32>,
    out: VecDeque<Output>,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Parser {
    /// A parser for the raw response bytes: it decodes UTF-8 itself and drops one leading BOM.
    pub fn new() -> Self {
        Parser {
            at_start: true,
            strip_bom: true,
            ..Parser::default()
        }
    }

    /// A parser for text that a decoder already produced (XHR `responseText`, `TextDecoder`).
    /// Such decoders remove one leading BOM themselves, so a further U+FEFF at the start is
    /// content and is kept, exactly as it would be when parsing the bytes.
    pub fn for_text() -> Self {
        Parser {
            at_start: true,
            strip_bom: false,
            ..Parser::default()
        }
    }

    /// Feeds the next chunk of the response body. Chunks may split the stream anywhere.
    pub fn feed(&mut self, mut input: &[u8]) {
        if input.is_empty() {
            return;
        }
        if mem::take(&mut self.after_cr) {
            if let Some((b'\n', rest)) = input.split_first() {
                input = rest;
            }
        }
        while let Some(pos) = input.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (line, rest) = input.split_at(pos);
            let Some((&end, rest)) = rest.split_first() else {
                break;
            };
            if self.line.is_empty() {
                self.line_complete(line);
            } else {
                // Reuse the buffer's allocation: take it out, process, put it back empty.
                let mut buf = mem::take(&mut self.line);
                buf.extend_from_slice(line);
                self.line_complete(&buf);
                buf.clear();
                self.line = buf;
            }
            input = rest;
            if end == b'\r' {
                match input.split_first() {
                    Some((b'\n', rest)) => input = rest,
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
        }
        self.line.extend_from_slice(input);
    }

    /// Feeds the next chunk of already-decoded text (see [`Parser::for_text`]).
    pub fn feed_str(&mut self, input: &str) {
        self.feed(input.as_bytes());
    }

    /// The response ended: discards the unfinished line and event, and readies the parser for
    /// the next connection's stream (whose first BOM is dropped again). Outputs already
    /// produced stay queued; the last event ID is kept.
    pub fn finish(&mut self) {
        self.line.clear();
        self.after_cr = false;
        self.at_start = true;
        self.data.clear();
        self.event_type.clear();
        self.id_buffer.clone_from(&self.last_event_id);
    }

    /// The next output, oldest first.
    pub fn poll(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The last event ID: what a reconnection sends as `Last-Event-ID`.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Sets the last event ID, e.g. to resume from an ID the application stored. Like a server
    /// `id` field, a value containing U+0000 is ignored.
    pub fn set_last_event_id(&mut self, id: &str) {
        if !id.contains('\0') {
            self.last_event_id.clear();
            self.last_event_id.push_str(id);
            self.id_buffer.clone_from(&self.last_event_id);
        }
    }

    /// The reconnection time the server last set with `retry`, if it did.
    pub fn reconnection_time(&self) -> Option<u32> {
        self.reconnection_time
    }

    fn line_complete(&mut self, mut line: &[u8]) {
        if mem::take(&mut self.at_start) && self.strip_bom {
            if let Some(rest) = line.strip_prefix(BOM) {
                line = rest;
            }
        }
        if line.is_empty() {
            self.dispatch();
            return;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(0) => return, // comment
            Some(i) => {
                let (name, value) = line.split_at(i);
                let value = value.get(1..).unwrap_or_default();
                (name, value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => {
                push_utf8(&mut self.data, value);
                self.data.push('\n');
            }
            b"event" => {
                self.event_type.clear();
                push_utf8(&mut self.event_type, value);
            }
            b"id" if !value.contains(&0) => {
                self.id_buffer.clear();
                push_utf8(&mut self.id_buffer, value);
            }
            b"retry" => {
                if let Some(ms) = parse_digits(value) {
                    self.reconnection_time = Some(ms);
                    self.out.push_back(Output::Retry(ms));
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self) {
        if self.last_event_id != self.id_buffer {
            self.last_event_id.clone_from(&self.id_buffer);
        }
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        if self.data.ends_with('\n') {
            self.data.pop();
        }
        let data = mem::take(&mut self.data);
        let event_type = if self.event_type.is_empty() {
            String::from("message")
        } else {
            mem::take(&mut self.event_type)
        };
        let last_event_id = self.last_event_id.clone();
        self.out.push_back(Output::Event(Event {
            event_type,
            data,
            last_event_id,
        }));
    }
}

/// Appends `bytes` decoded as UTF-8, invalid sequences replaced by U+FFFD. Lines are split at
/// ASCII bytes, which never occur inside a multi-byte sequence, so decoding a line at a time
/// gives the same text as decoding the whole stream.
///
/// The same text as `String::from_utf8_lossy` (one U+FFFD per maximal invalid sequence, and one
/// for a sequence cut short at the end), built from `str::from_utf8` alone: the lossy decoder
/// costs 0.5 KB of wasm in a browser build, where the polyfill's text is valid anyway.
fn push_utf8(out: &mut String, mut bytes: &[u8]) {
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => return out.push_str(s),
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                out.push('\u{FFFD}');
                match e.error_len() {
                    Some(n) => bytes = rest.get(n..).unwrap_or_default(),
                    None => return,
                }
            }
        }
    }
}

/// A non-empty run of ASCII digits as base-ten milliseconds (saturating), else `None`.
fn parse_digits(value: &[u8]) -> Option<u32> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(value.iter().fold(0u32, |acc, d| {
        acc.saturating_mul(10).saturating_add(u32::from(d - b'0'))
    }))
}

/// Whether a `Content-Type` value is `text/event-stream` (its essence, compared
/// case-insensitively; parameters such as `charset`, and a trailing `;`, are allowed). Any other
/// type, or a missing or malformed one, fails an EventSource connection.
pub fn is_event_stream(content_type: &str) -> bool {
    let essence = crate::url::split_byte(content_type, b';').map_or(content_type, |(e, _)| e);
    let essence = essence.trim_matches(is_http_whitespace);
    let Some((ty, subtype)) = crate::url::split_byte(essence, b'/') else {
        return false;
    };
    ty.eq_ignore_ascii_case("text") && subtype.eq_ignore_ascii_case("event-stream")
}

fn is_http_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// `url` with the query parameter `name` set to `last_event_id` (any earlier `name=` pairs
/// removed; an empty ID only removes them). The EventSource polyfill sends the last event ID
/// this way instead of as a `Last-Event-ID` header, which a cross-origin request could only
/// send after a CORS preflight. Other query pairs and the fragment are kept byte for byte.
pub fn url_with_last_event_id(url: &str, name: &str, last_event_id: &str) -> String {
    let (rest, fragment) = url.split_at(url.bytes().position(|b| b == b'#').unwrap_or(url.len()));
    let (path, query) = match crate::url::split_byte(rest, b'?') {
        Some((path, query)) => (path, query),
        None => (rest, ""),
    };
    let encoded_name = encode_uri_component(name);
    let mut out = String::with_capacity(url.len() + name.len() + last_event_id.len() + 2);
    out.push_str(path);
    let mut sep = '?';
    // Pairs cut with `split_byte`: `str::split` costs 0.5 KB of wasm.
    let mut remaining = Some(query);
    while let Some(q) = remaining {
        let (pair, next) = match crate::url::split_byte(q, b'&') {
            Some((pair, next)) => (pair, Some(next)),
            None => (q, None),
        };
        remaining = next;
        let key = crate::url::split_byte(pair, b'=').map_or(pair, |(key, _)| key);
        if pair.is_empty() || key == name || key == encoded_name {
            continue;
        }
        out.push(sep);
        out.push_str(pair);
        sep = '&';
    }
    if !last_event_id.is_empty() {
        out.push(sep);
        out.push_str(&encoded_name);
        out.push('=');
        out.push_str(&encode_uri_component(last_event_id));
    }
    out.push_str(fragment);
    out
}

/// A header value carrying `value`'s UTF-8 bytes one per character (U+0000-U+00FF), which is
/// how `XMLHttpRequest.setRequestHeader` (a ByteString) puts those exact bytes on the wire, as
/// a native EventSource does for `Last-Event-ID`.
pub fn utf8_as_byte_string(value: &str) -> String {
    value.bytes().map(char::from).collect()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    /// One expected event: (type, data, lastEventId).
    type Ev = (&'static str, &'static str, &'static str);

    /// A test vector: the body of each successive connection (the parser is `finish`ed after
    /// each), the events expected across all of them, and the `retry` values seen.
    struct Vector {
        name: &'static str,
        streams: Vec<Vec<u8>>,
        events: Vec<Ev>,
        retries: Vec<u32>,
    }

    fn v(name: &'static str, body: impl Into<Vec<u8>>, events: Vec<Ev>) -> Vector {
        Vector {
            name,
            streams: vec![body.into()],
            events,
            retries: vec![],
        }
    }

    /// The wpt fixture `resources/message.py` serves `message + "\n\n" + "\n"`, or
    /// `message + "\n"` with `newline=none`.
    fn msg(message: &str) -> Vec<u8> {
        [message, "\n\n\n"].concat().into_bytes()
    }

    fn msg_raw(message: &str) -> Vec<u8> {
        [message, "\n"].concat().into_bytes()
    }

    /// `resources/last-event-id.py` on a first connection (no `Last-Event-ID`).
    fn last_event_id_hello(id: &str) -> Vec<u8> {
        ["id: ", id, "\nretry: 200\ndata: hello\n\n"]
            .concat()
            .into_bytes()
    }

    /// `resources/last-event-id.py` on a reconnection: echoes the header as data.
    fn last_event_id_echo(id: &str) -> Vec<u8> {
        ["data: ", id, "\n\n"].concat().into_bytes()
    }

    /// Every `eventsource/format-*` case of web-platform-tests (and `event-data`), restated as
    /// the exact bytes its fixture serves and the events the test requires.
    fn vectors() -> Vec<Vector> {
        let long = "x".repeat(2048);
        let mut all = vec![
            // format-bom: a BOM is dropped at the start only; later it makes an unknown field.
            v(
                "format-bom",
                msg("\u{FEFF}data:1\n\n\u{FEFF}data:2\n\ndata:3"),
                vec![("message", "1", ""), ("message", "3", "")],
            ),
            // format-bom-2: of two BOMs only the first is dropped.
            v(
                "format-bom-2",
                msg("\u{FEFF}\u{FEFF}data:1\n\ndata:2\n\ndata:3"),
                vec![("message", "2", ""), ("message", "3", "")],
            ),
            // format-comments: comments with CR, NUL, CRLF, long ones, between data lines.
            v(
                "format-comments",
                msg_raw(
                    &[
                        "data:1\r:\0\n:\r\ndata:2\n:",
                        &long,
                        "\rdata:3\n:data:fail\r:",
                        &long,
                        "\ndata:4\n",
                    ]
                    .concat(),
                ),
                vec![("message", "1\n2\n3\n4", "")],
            ),
            // format-field-data: `data:` alone is an empty line of data; `data` without a colon
            // too; two of them make "\n".
            v(
                "format-field-data",
                msg("data:\n\ndata\ndata\n\ndata:test"),
                vec![("message", "", ""), ("message", "\n", ""), ("message", "test", "")],
            ),
            // format-field-event: a named event, then the type resets to "message".
            v(
                "format-field-event",
                msg("event:test\ndata:x\n\ndata:x"),
                vec![("test", "x", ""), ("message", "x", "")],
            ),
            // format-field-event-empty: an empty type means "message".
            v("format-field-event-empty", msg("event: \ndata:data"), vec![("message", "data", "")]),
            // format-field-parsing: names are case-sensitive and exact; NUL is data.
            v(
                "format-field-parsing",
                msg_raw(
                    "data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n",
                ),
                vec![("message", "\0\n 2\n1\n3\n\n4", "")],
            ),
            // format-field-unknown: unknown names, a leading-space name, text without a colon.
            v(
                "format-field-unknown",
                msg("data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test"),
                vec![("message", "test\n\ntest", "")],
            ),
            // format-leading-space: only one space is removed, a tab is kept; CR ends a line.
            v(
                "format-leading-space",
                msg("data:\ttest\rdata: \ndata:test"),
                vec![("message", "\ttest\n\ntest", "")],
            ),
            // format-newlines: CRLF, LF and CR mixed; the final CR + LF is one line end.
            v(
                "format-newlines",
                msg_raw("data:test\r\ndata\ndata:test\r\n\r"),
                vec![("message", "test\n\ntest", "")],
            ),
            // format-null-character: NUL in data is kept.
            v("format-null-character", msg("data:\0\n"), vec![("message", "\0", "")]),
            // format-utf-8: always UTF-8 (the fixture claims windows-1252).
            v("format-utf-8", msg("data:ok\u{2026}"), vec![("message", "ok\u{2026}", "")]),
            // event-data (resources/message2.py, one round): lines and data parsing.
            v(
                "event-data",
                "data:msg\ndata: msg\n\n:\nfalsefield:msg\n\nfalsefield:msg\nData:data\n\ndata\n\ndata:end\n\n",
                vec![("message", "msg\nmsg", ""), ("message", "", ""), ("message", "end", "")],
            ),
            // format-field-retry-empty: `retry` without a value is ignored.
            v("format-field-retry-empty", msg("retry\ndata:test"), vec![("message", "test", "")]),
        ];
        // format-data-before-final-empty-line: the unfinished event at EOF (with its id) is
        // dropped, so the reconnection's first event still has an empty lastEventId.
        all.push(Vector {
            name: "format-data-before-final-empty-line",
            streams: vec![
                msg_raw("retry:1000\ndata:test1\n\nid:test\ndata:test2"),
                msg_raw("retry:1000\ndata:test1\n\nid:test\ndata:test2"),
            ],
            events: vec![("message", "test1", ""), ("message", "test1", "")],
            retries: vec![1000, 1000],
        });
        // format-field-retry: leading zeros are decimal, not octal.
        all.push(Vector {
            name: "format-field-retry",
            streams: vec![msg("retry:03000\ndata:x")],
            events: vec![("message", "x", "")],
            retries: vec![3000],
        });
        // format-field-retry-bogus: a value with a non-digit is ignored.
        all.push(Vector {
            name: "format-field-retry-bogus",
            streams: vec![msg("retry:3000\nretry:1000x\ndata:x")],
            events: vec![("message", "x", "")],
            retries: vec![3000],
        });
        // format-field-id: a non-ASCII id survives the reconnection (sent back and echoed).
        all.push(Vector {
            name: "format-field-id",
            streams: vec![
                last_event_id_hello("\u{2026}"),
                last_event_id_echo("\u{2026}"),
            ],
            events: vec![
                ("message", "hello", "\u{2026}"),
                ("message", "\u{2026}", "\u{2026}"),
            ],
            retries: vec![200],
        });
        // format-field-id-2: ... and the next one.
        all.push(Vector {
            name: "format-field-id-2",
            streams: vec![
                last_event_id_hello("\u{2026}"),
                last_event_id_echo("\u{2026}"),
                last_event_id_echo("\u{2026}"),
            ],
            events: vec![
                ("message", "hello", "\u{2026}"),
                ("message", "\u{2026}", "\u{2026}"),
                ("message", "\u{2026}", "\u{2026}"),
            ],
            retries: vec![200],
        });
        // format-field-id-3 (resources/last-event-id2.py): the id persists across events...
        all.push(Vector {
            name: "format-field-id-3 persists",
            streams: vec!["id: 1\ndata: 1\n\ndata: 2\n\nid: 2\ndata:3\n\ndata:4\n\n".into()],
            events: vec![
                ("message", "1", "1"),
                ("message", "2", "1"),
                ("message", "3", "2"),
                ("message", "4", "2"),
            ],
            retries: vec![],
        });
        // ... an empty id resets it ...
        all.push(Vector {
            name: "format-field-id-3 resets",
            streams: vec!["id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n".into()],
            events: vec![
                ("message", "1", "1"),
                ("message", "2", ""),
                ("message", "3", ""),
            ],
            retries: vec![],
        });
        // ... and so does `id` without a colon.
        all.push(Vector {
            name: "format-field-id-3 resets without colon",
            streams: vec!["id: 1\ndata: 1\n\nid\ndata:2\n\ndata:3\n\n".into()],
            events: vec![
                ("message", "1", "1"),
                ("message", "2", ""),
                ("message", "3", ""),
            ],
            retries: vec![],
        });
        // format-field-id-null: an id containing NUL is ignored; nothing is sent back, so the
        // reconnection says hello again.
        for id in ["\0\0", "x\0", "\0x", "x\0x", " \0"] {
            all.push(Vector {
                name: "format-field-id-null",
                streams: vec![last_event_id_hello(id), last_event_id_hello(id)],
                events: vec![("message", "hello", ""), ("message", "hello", "")],
                retries: vec![200, 200],
            });
        }
        all
    }

    /// Runs `streams` through a fresh parser, each stream cut into pieces at `cuts` (positions
    /// within that stream), and returns (events, retries).
    fn run_cut(streams: &[Vec<u8>], cuts: &[usize]) -> (Vec<Event>, Vec<u32>) {
        let mut p = Parser::new();
        let (mut events, mut retries) = (vec![], vec![]);
        for body in streams {
            let mut start = 0;
            for &cut in cuts.iter().filter(|&&c| c <= body.len()) {
                p.feed(&body[start..cut.max(start)]);
                start = cut.max(start);
            }
            p.feed(&body[start..]);
            p.finish();
            while let Some(out) = p.poll() {
                match out {
                    Output::Event(e) => events.push(e),
                    Output::Retry(ms) => retries.push(ms),
                }
            }
        }
        (events, retries)
    }

    fn expected(v: &Vector) -> Vec<Event> {
        v.events
            .iter()
            .map(|&(t, d, id)| Event {
                event_type: t.into(),
                data: d.into(),
                last_event_id: id.into(),
            })
            .collect()
    }

    #[test]
    fn wpt_vectors_whole() {
        for v in vectors() {
            let (events, retries) = run_cut(&v.streams, &[]);
            assert_eq!(events, expected(&v), "{}", v.name);
            assert_eq!(retries, v.retries, "{}", v.name);
        }
    }

    #[test]
    fn wpt_vectors_split_at_every_byte_position() {
        for v in vectors() {
            let whole = run_cut(&v.streams, &[]);
            let longest = v.streams.iter().map(Vec::len).max().unwrap_or(0);
            for cut in 0..=longest {
                assert_eq!(
                    run_cut(&v.streams, &[cut]),
                    whole,
                    "{} cut at {cut}",
                    v.name
                );
            }
        }
    }

    #[test]
    fn wpt_vectors_split_at_every_pair_of_positions() {
        for v in vectors()
            .into_iter()
            .filter(|v| v.streams.iter().all(|s| s.len() <= 200))
        {
            let whole = run_cut(&v.streams, &[]);
            let longest = v.streams.iter().map(Vec::len).max().unwrap_or(0);
            for a in 0..=longest {
                for b in a..=longest {
                    assert_eq!(
                        run_cut(&v.streams, &[a, b]),
                        whole,
                        "{} cut {a},{b}",
                        v.name
                    );
                }
            }
        }
    }

    #[test]
    fn wpt_vectors_one_byte_at_a_time() {
        for v in vectors() {
            let whole = run_cut(&v.streams, &[]);
            let longest = v.streams.iter().map(Vec::len).max().unwrap_or(0);
            let every: Vec<usize> = (0..=longest).collect();
            assert_eq!(run_cut(&v.streams, &every), whole, "{}", v.name);
        }
    }

    fn parse_all(chunks: &[&[u8]]) -> Vec<Output> {
        let mut p = Parser::new();
        for c in chunks {
            p.feed(c);
        }
        p.finish();
        std::iter::from_fn(|| p.poll()).collect()
    }

    fn message(data: &str) -> Output {
        Output::Event(Event {
            event_type: "message".into(),
            data: data.into(),
            last_event_id: "".into(),
        })
    }

    #[test]
    fn cr_then_lf_in_the_next_chunk_is_one_line_end() {
        // Were the LF a second line end, "a" would be dispatched alone.
        assert_eq!(
            parse_all(&[b"data:a\r", b"\n", b"data:b\r\n\r\n"]),
            vec![message("a\nb")]
        );
        // An empty chunk in between does not forget the CR.
        assert_eq!(
            parse_all(&[b"data:a\r", b"", b"\ndata:b\n\n"]),
            vec![message("a\nb")]
        );
        // CR CR is two line ends: the second is an empty line.
        assert_eq!(
            parse_all(&[b"data:a\r", b"\rdata:b\n\n"]),
            vec![message("a"), message("b")]
        );
    }

    #[test]
    fn push_utf8_decodes_as_from_utf8_lossy() {
        let cases: [&[u8]; 12] = [
            b"",
            b"plain",
            "\u{e9}\u{20ac}\u{1f600}".as_bytes(),
            b"\xff",
            b"a\xffb",
            b"a\xff\xfeb",
            b"\xe2\x82",
            b"x\xe2\x82",
            b"\xe2\x82x\xf0\x9f\x98",
            b"\xc0\x80",
            b"\xed\xa0\x80z",
            b"\xf4\x90\x80\x80!",
        ];
        for bytes in cases {
            let mut out = String::from("<");
            push_utf8(&mut out, bytes);
            assert_eq!(
                out,
                ["<", &String::from_utf8_lossy(bytes)].concat(),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        assert_eq!(
            parse_all(&[b"data:a\xFFb\n\n"]),
            vec![message("a\u{FFFD}b")]
        );
        // A truncated sequence is one U+FFFD, then the line end still counts.
        assert_eq!(
            parse_all(&[b"data:\xE2\x80\n\n"]),
            vec![message("\u{FFFD}")]
        );
        // A sequence split across chunks decodes whole.
        assert_eq!(
            parse_all(&[b"data:\xE2", b"\x80", b"\xA6\n\n"]),
            vec![message("\u{2026}")]
        );
        // Invalid bytes in a field name make it unknown, in an id they are replaced.
        let out = parse_all(&[b"dat\xFF:x\nid:\xC3\n\n"]);
        assert!(out.is_empty());
        let mut p = Parser::new();
        p.feed(b"id:\xC3\n\n");
        assert_eq!(p.last_event_id(), "\u{FFFD}");
    }

    #[test]
    fn bom_split_across_chunks_and_per_stream() {
        assert_eq!(
            parse_all(&[b"\xEF", b"\xBB", b"\xBFdata:1\n\n"]),
            vec![message("1")]
        );
        // A BOM-only first line is an empty line.
        assert_eq!(
            parse_all(&[b"\xEF\xBB\xBF\ndata:1\n\n"]),
            vec![message("1")]
        );
        // Each connection's stream starts afresh.
        let mut p = Parser::new();
        p.feed(b"\xEF\xBB\xBFdata:1\n\n");
        p.finish();
        p.feed(b"\xEF\xBB\xBFdata:2\n\n");
        let out: Vec<_> = std::iter::from_fn(|| p.poll()).collect();
        assert_eq!(out, vec![message("1"), message("2")]);
    }

    #[test]
    fn decoded_text_keeps_a_further_bom() {
        // XHR's decoder already removed the first BOM of format-bom-2's body.
        let mut p = Parser::for_text();
        p.feed_str("\u{FEFF}data:1\n\ndata:2\n\n");
        let out: Vec<_> = std::iter::from_fn(|| p.poll()).collect();
        assert_eq!(out, vec![message("2")]);
        // Text without a BOM parses like bytes.
        let mut p = Parser::for_text();
        p.feed_str("data:\u{2026}\r\n\r\n");
        assert_eq!(p.poll(), Some(message("\u{2026}")));
    }

    #[test]
    fn id_is_updated_without_data_and_kept_across_finish() {
        let mut p = Parser::new();
        p.feed(b"id: 7\n\n");
        assert_eq!(p.poll(), None);
        assert_eq!(p.last_event_id(), "7");
        // An id on an unfinished event is not committed.
        p.feed(b"id: 8\ndata: x\n");
        p.finish();
        assert_eq!(p.last_event_id(), "7");
        p.feed(b"data: y\n\n");
        assert_eq!(
            p.poll(),
            Some(Output::Event(Event {
                event_type: "message".into(),
                data: "y".into(),
                last_event_id: "7".into()
            }))
        );
    }

    #[test]
    fn unfinished_line_and_event_are_discarded_at_eof() {
        assert_eq!(parse_all(&[b"data:a\n\ndata:b"]), vec![message("a")]);
        assert_eq!(parse_all(&[b"data:a\n\ndata:b\n"]), vec![message("a")]);
        // A retry on an unterminated line is not applied either.
        let mut p = Parser::new();
        p.feed(b"retry:10");
        p.finish();
        assert_eq!(p.reconnection_time(), None);
        assert_eq!(p.poll(), None);
        // After finish, an unterminated line of the old stream does not leak into the next.
        p.feed(b"data:old");
        p.finish();
        p.feed(b"data:new\n\n");
        assert_eq!(p.poll(), Some(message("new")));
    }

    #[test]
    fn event_type_resets_after_each_dispatch_and_on_empty_data() {
        let out = parse_all(&[b"event:a\n\ndata:1\n\nevent:b\ndata:2\n\ndata:3\n\n"]);
        let ev = |t: &str, d: &str| {
            Output::Event(Event {
                event_type: t.into(),
                data: d.into(),
                last_event_id: "".into(),
            })
        };
        assert_eq!(
            out,
            vec![ev("message", "1"), ev("b", "2"), ev("message", "3")]
        );
    }

    #[test]
    fn retry_values() {
        let out = parse_all(&[b"retry: 50\nretry:0\nretry:-1\nretry:1.5\nretry:99999999999999\n"]);
        assert_eq!(
            out,
            vec![Output::Retry(50), Output::Retry(0), Output::Retry(u32::MAX)]
        );
    }

    #[test]
    fn set_last_event_id_resumes_and_rejects_nul() {
        let mut p = Parser::new();
        p.set_last_event_id("41");
        p.set_last_event_id("4\u{0}2");
        assert_eq!(p.last_event_id(), "41");
        p.feed(b"data:x\n\n");
        match p.poll() {
            Some(Output::Event(e)) => assert_eq!(e.last_event_id, "41"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn many_events_in_one_chunk_and_a_line_spanning_many_chunks() {
        let body = "data: n\n\n".repeat(500);
        let out = parse_all(&[body.as_bytes()]);
        assert_eq!(out.len(), 500);
        let mut p = Parser::new();
        for _ in 0..1000 {
            p.feed(b"ab");
        }
        p.feed(b"\n");
        assert_eq!(p.poll(), None);
        p.feed(b"data\n\n");
        assert_eq!(p.poll(), Some(message("")));
    }

    #[test]
    fn mime_rules() {
        // format-mime-trailing-semicolon, format-utf-8's charset parameter: allowed.
        for ok in [
            "text/event-stream",
            "text/event-stream;",
            "text/event-stream;charset=windows-1252",
            "TEXT/Event-Stream; charset=utf-8",
            "  text/event-stream  ",
            "text/event-stream ; x=y",
        ] {
            assert!(is_event_stream(ok), "{ok:?}");
        }
        // format-mime-valid-bogus, format-mime-bogus, and other failures.
        for bad in [
            "text/x-bogus",
            "x bogus",
            "",
            "text/",
            "/event-stream",
            "text /event-stream",
            "text/event-stream2",
            "text/plain",
            "event-stream",
            "text/event-stream, text/html",
        ] {
            assert!(!is_event_stream(bad), "{bad:?}");
        }
    }

    #[test]
    fn last_event_id_query_parameter() {
        let u = url_with_last_event_id;
        assert_eq!(
            u("http://h/sse", "lastEventId", "5"),
            "http://h/sse?lastEventId=5"
        );
        assert_eq!(
            u("http://h/sse?a=1", "lastEventId", "5"),
            "http://h/sse?a=1&lastEventId=5"
        );
        assert_eq!(
            u(
                "http://h/sse?lastEventId=4&a=%20+&lastEventId=3#f",
                "lastEventId",
                "a b&\u{2026}"
            ),
            "http://h/sse?a=%20+&lastEventId=a%20b%26%E2%80%A6#f"
        );
        assert_eq!(
            u("http://h/sse?lastEventId=4", "lastEventId", ""),
            "http://h/sse"
        );
        assert_eq!(
            u("http://h/sse?x=1&lastEventId", "lastEventId", ""),
            "http://h/sse?x=1"
        );
        assert_eq!(u("http://h/s?", "last id", "1"), "http://h/s?last%20id=1");
        assert_eq!(
            u("http://h/s?last%20id=0", "last id", "1"),
            "http://h/s?last%20id=1"
        );
    }

    #[test]
    fn byte_string_header_values() {
        assert_eq!(utf8_as_byte_string("42"), "42");
        assert_eq!(utf8_as_byte_string("\u{2026}"), "\u{e2}\u{80}\u{a6}");
    }
}
