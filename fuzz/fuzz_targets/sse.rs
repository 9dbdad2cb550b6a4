//! The `text/event-stream` parser (`sse::Parser`) and the `Content-Type` check
//! (`sse::is_event_stream`).
//!
//! Input: one flags byte, one byte `n`, `n` big-endian `u16` chunk boundaries (taken modulo the
//! stream's length), then the stream bytes. The stream is parsed as two successive connections
//! (`finish` after each), and must give the same outputs, last event ID and reconnection time:
//! - fed in one piece, in the fuzzer's chunks (split anywhere: inside UTF-8 sequences, between
//!   CR and LF, empty chunks) and, for short streams, one byte at a time;
//! - as an independent line-at-a-time implementation of the WHATWG algorithm in this file;
//! - for valid UTF-8 not starting with a BOM, through `Parser::for_text` and `feed_str`.
//!
//! The stream (as text) is also given to `is_event_stream`, as a `Content-Type` value.
#![no_main]

use cometkit_fuzz::Bytes;
use cometkit_protocol::sse::{is_event_stream, Event, Output, Parser};
use libfuzzer_sys::fuzz_target;

/// What one run produced: the outputs, the last event ID and the reconnection time.
type Run = (Vec<Output>, String, Option<u32>);

fuzz_target!(|data: &[u8]| {
    let mut bytes = Bytes::new(data);
    let flags = bytes.u8();
    let n = usize::from(bytes.u8() % 32);
    let mut cuts: Vec<u16> = (0..n).map(|_| bytes.u16()).collect();
    let stream = bytes.rest();
    let len = stream.len();
    let mut cuts: Vec<usize> = cuts.drain(..).map(|c| usize::from(c) % (len + 1)).collect();
    cuts.sort_unstable();
    let start_id = if flags & 1 != 0 { "start" } else { "" };

    let whole = run(Parser::new(), start_id, |p| p.feed(stream));
    let chunked = run(Parser::new(), start_id, |p| {
        let mut at = 0;
        for &cut in &cuts {
            p.feed(&stream[at..cut]);
            at = cut;
        }
        p.feed(&stream[at..]);
    });
    assert_eq!(chunked, whole);
    if len <= 256 {
        let bytewise = run(Parser::new(), start_id, |p| {
            for b in stream {
                p.feed(std::slice::from_ref(b));
            }
        });
        assert_eq!(bytewise, whole);
    }
    assert_eq!(reference(stream, true, start_id), whole);

    if let Ok(text) = std::str::from_utf8(stream) {
        if !text.starts_with('\u{feff}') {
            let as_text = run(Parser::for_text(), start_id, |p| {
                let mut at = 0;
                for &cut in &cuts {
                    if text.is_char_boundary(cut) {
                        p.feed_str(&text[at..cut]);
                        at = cut;
                    }
                }
                p.feed_str(&text[at..]);
            });
            assert_eq!(as_text, whole);
        }
        content_type(text);
    }
    for output in &whole.0 {
        if let Output::Event(Event {
            event_type,
            last_event_id,
            ..
        }) = output
        {
            assert!(!event_type.is_empty());
            assert!(!last_event_id.contains('\0'));
        }
    }
});

/// Two connections carrying `stream`, fed by `feed`.
fn run(mut parser: Parser, start_id: &str, mut feed: impl FnMut(&mut Parser)) -> Run {
    parser.set_last_event_id(start_id);
    for _ in 0..2 {
        feed(&mut parser);
        parser.finish();
    }
    let mut outputs = Vec::new();
    while let Some(output) = parser.poll() {
        outputs.push(output);
    }
    let id = parser.last_event_id().to_owned();
    (outputs, id, parser.reconnection_time())
}

/// WHATWG HTML "Interpreting an event stream", written for clarity over the whole stream at
/// once: decode (dropping one BOM), split into lines, process each.
fn reference(stream: &[u8], strip_bom: bool, start_id: &str) -> Run {
    let mut outputs = Vec::new();
    let mut last_event_id = start_id.to_owned();
    let mut reconnection_time = None;
    for _ in 0..2 {
        let decoded = String::from_utf8_lossy(stream);
        let mut text: &str = &decoded;
        if strip_bom {
            text = text.strip_prefix('\u{feff}').unwrap_or(text);
        }
        let mut data = String::new();
        let mut event_type = String::new();
        let mut id_buffer = last_event_id.clone();
        let mut line = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\r' && c != '\n' {
                line.push(c);
                continue;
            }
            if c == '\r' && chars.peek() == Some(&'\n') {
                chars.next();
            }
            let l = std::mem::take(&mut line);
            if l.is_empty() {
                // Dispatch.
                last_event_id = id_buffer.clone();
                if data.is_empty() {
                    event_type.clear();
                    continue;
                }
                if data.ends_with('\n') {
                    data.pop();
                }
                let ty = if event_type.is_empty() {
                    "message".to_owned()
                } else {
                    std::mem::take(&mut event_type)
                };
                outputs.push(Output::Event(Event {
                    event_type: ty,
                    data: std::mem::take(&mut data),
                    last_event_id: last_event_id.clone(),
                }));
                continue;
            }
            if l.starts_with(':') {
                continue;
            }
            let (field, value) = match l.find(':') {
                Some(i) => {
                    let v = &l[i + 1..];
                    (&l[..i], v.strip_prefix(' ').unwrap_or(v))
                }
                None => (&l[..], ""),
            };
            match field {
                "event" => event_type = value.to_owned(),
                "data" => {
                    data.push_str(value);
                    data.push('\n');
                }
                "id" if !value.contains('\0') => id_buffer = value.to_owned(),
                "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                    let ms = value.bytes().fold(0u32, |acc, b| {
                        acc.saturating_mul(10).saturating_add(u32::from(b - b'0'))
                    });
                    reconnection_time = Some(ms);
                    outputs.push(Output::Retry(ms));
                }
                _ => {}
            }
        }
        // End of stream: the unfinished line and event are discarded.
    }
    (outputs, last_event_id, reconnection_time)
}

/// `is_event_stream` against the rule it documents: the part before the first `;`, without
/// HTTP whitespace around it, is `text/event-stream` in any case.
fn content_type(value: &str) {
    let essence = value.split(';').next().unwrap_or("");
    let essence = essence.trim_matches([' ', '\t', '\n', '\r']);
    assert_eq!(
        is_event_stream(value),
        essence.eq_ignore_ascii_case("text/event-stream")
    );
}
