//! Throughput of the SockJS frame codec (`cometkit::protocol::sockjs`): decoding server frames,
//! encoding client payloads, splitting xhr-streaming responses, unescaping EventSource data.
//!
//! `cargo bench --bench sockjs_codec [-- --quick] [filter]`

mod common;

use cometkit::protocol::sockjs::{
    decode_frame, encode_payload, eventsource_frame, Frame, XhrStreamReader,
};

/// A frame `a[...]` of `messages`, as a server writes it (serde-style JSON escaping).
fn frame(messages: &[String]) -> String {
    let mut s = String::from("a[");
    for (i, m) in messages.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('"');
        for c in m.chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                '\n' => s.push_str("\\n"),
                c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
                c => s.push(c),
            }
        }
        s.push('"');
    }
    s.push(']');
    s
}

fn decode_count(f: &str) -> usize {
    match decode_frame(f) {
        Ok(Frame::Messages(m)) => m.len(),
        other => panic!("bad frame: {other:?}"),
    }
}

fn main() {
    let h = common::Harness::new("sockjs_codec");

    let ascii: Vec<String> = (0..100).map(|i| format!("{i:04}").repeat(256)).collect(); // 100 x 1 KiB
    let small: Vec<String> = (0..1000).map(|i| format!("msg-{i:05}-abcdef")).collect(); // 1000 x 16 B
    let mixed: Vec<String> = (0..100)
        .map(|i| {
            // Quotes, backslashes, newlines, accented and CJK text, an emoji: every escape path.
            format!("{i} \"quoted\" back\\slash\nline héllo wörld 漢字かな 😀 ").repeat(16)
        })
        .collect();
    let big = vec!["B".repeat(64 * 1024)];

    for (name, msgs) in [
        ("1000 x 16 B ASCII", &small),
        ("100 x 1 KiB ASCII", &ascii),
        ("100 x ~1 KiB mixed (escapes, non-ASCII)", &mixed),
        ("1 x 64 KiB ASCII", &big),
    ] {
        let f = frame(msgs);
        assert_eq!(decode_count(&f), msgs.len());
        h.case(
            &format!("decode a[...] {name}"),
            f.len(),
            msgs.len(),
            || decode_count(&f),
        );
    }
    for (name, msgs) in [
        ("1000 x 16 B ASCII", &small),
        ("100 x 1 KiB ASCII", &ascii),
        ("100 x ~1 KiB mixed (escapes, non-ASCII)", &mixed),
        ("1 x 64 KiB ASCII", &big),
    ] {
        let input: usize = msgs.iter().map(String::len).sum();
        h.case(&format!("encode payload {name}"), input, msgs.len(), || {
            encode_payload(msgs).len()
        });
    }

    // An xhr-streaming response: prelude, then 4000 frames of 10 x 64 B messages (~2.8 MB).
    let mut response = "h".repeat(2048);
    response.push('\n');
    let ten: Vec<String> = (0..10).map(|i| format!("{i:02}").repeat(32)).collect();
    let one = frame(&ten);
    for _ in 0..4000 {
        response.push_str(&one);
        response.push('\n');
    }
    h.case(
        "xhr-streaming split + decode (4000 frames)",
        response.len(),
        4000,
        || {
            let mut reader = XhrStreamReader::new();
            let mut n = 0;
            while let Some(f) = reader.next_frame(&response) {
                n += decode_count(f);
            }
            n
        },
    );

    // EventSource data with sockjs-node's percent-escapes (`%` in every message).
    let pct: Vec<String> = (0..100)
        .map(|i| format!("{i}: 100% done ").repeat(70))
        .collect();
    let escaped = frame(&pct).replace('%', "%25");
    h.case(
        "eventsource unescape + decode (100 x ~1 KiB)",
        escaped.len(),
        100,
        || decode_count(&eventsource_frame(&escaped)),
    );
}
