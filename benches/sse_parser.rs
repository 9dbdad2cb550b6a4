//! Throughput of the `text/event-stream` parser (`cometkit::protocol::sse`) on large streams,
//! fed in network-sized chunks and drained as an EventSource would.
//!
//! `cargo bench --bench sse_parser [-- --quick] [filter]`

mod common;

use cometkit::protocol::sse::{Output, Parser};

const CHUNK: usize = 16 * 1024;

/// Feeds `stream` in `chunk`-byte pieces and drains every output; returns the event count.
fn parse(stream: &[u8], chunk: usize) -> usize {
    let mut parser = Parser::new();
    let mut events = 0;
    for piece in stream.chunks(chunk) {
        parser.feed(piece);
        while let Some(out) = parser.poll() {
            if let Output::Event(e) = out {
                events += 1;
                std::hint::black_box(&e.data);
            }
        }
    }
    parser.finish();
    events
}

/// `count` events made by `event(i)`, as one stream.
fn stream(count: usize, event: impl Fn(usize) -> String) -> Vec<u8> {
    let mut s = String::new();
    for i in 0..count {
        s.push_str(&event(i));
    }
    s.into_bytes()
}

fn main() {
    let h = common::Harness::new("sse_parser");

    // Market-data style: id, event type and one ~90-byte JSON data line per event.
    let typical = |nl: &'static str| {
        move |i: usize| {
            format!(
                "id: {i}{nl}event: tick{nl}data: {{\"seq\":{i},\"symbol\":\"ACME\",\"bid\":101.25,\"ask\":101.27,\"note\":\"steady\"}}{nl}{nl}"
            )
        }
    };
    let lf = stream(40_000, typical("\n"));
    let crlf = stream(40_000, typical("\r\n"));
    // Multi-line data (10 lines of 60 bytes), a comment keep-alive every event.
    let multi = stream(6_000, |i| {
        let mut e = format!(": keep-alive {i}\n");
        for _ in 0..10 {
            e.push_str("data: ");
            e.push_str(&"m".repeat(60));
            e.push('\n');
        }
        e.push('\n');
        e
    });
    // Few large events: one 64 KiB data line each, spanning several chunks.
    let large = stream(64, |_| format!("data: {}\n\n", "L".repeat(64 * 1024)));
    // Many tiny events: the per-event cost.
    let tiny = stream(400_000, |_| "data: x\n\n".to_owned());

    let cases: [(&str, &[u8], usize); 5] = [
        ("typical (id+event+data), LF", &lf, 40_000),
        ("typical (id+event+data), CRLF", &crlf, 40_000),
        ("multi-line data (10 lines) + comments", &multi, 6_000),
        ("large events (64 KiB data line)", &large, 64),
        ("tiny events (data: x)", &tiny, 400_000),
    ];
    for (name, input, events) in cases {
        assert_eq!(parse(input, CHUNK), events, "{name}: wrong event count");
        h.case(
            &format!("{name}, 16 KiB chunks"),
            input.len(),
            events,
            || parse(input, CHUNK),
        );
    }
    // The same typical stream in one piece and in small (TCP-segment sized) pieces.
    h.case(
        "typical, LF, whole stream in one feed",
        lf.len(),
        40_000,
        || parse(&lf, lf.len()),
    );
    h.case("typical, LF, 1460-byte chunks", lf.len(), 40_000, || {
        parse(&lf, 1460)
    });
}
