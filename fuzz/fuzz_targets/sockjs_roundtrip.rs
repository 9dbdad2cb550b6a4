//! Round trips through both ends of the SockJS codec, for arbitrary messages. Input: one byte
//! choosing the direction and transport (one per run keeps the target fast), two bytes giving
//! the close code (and choosing the JSONP callback), then the messages, `0xFF`-separated, at
//! most 8.
//!
//! - client to server: `encode_payload` -> `decode_payload` / `decode_ws_message`, one quoted
//!   string -> `decode_ws_message`, and the `jsonp_send` form body (`d=<payload>`) ->
//!   `form_field`;
//! - server to client, in each transport's framing, read back by the client's parsers:
//!   `a[...]` frames, xhr-streaming lines (`XhrStreamReader`), EventSource events (the SSE
//!   parser, then `eventsource_frame`), JSONP bodies (`jsonp_body_frame`), htmlfile literals,
//!   and `c[code,"reason"]` frames.
#![no_main]

use cometkit_fuzz::{all_fields, Bytes};
use cometkit_protocol::form::{form_field, urlencode};
use cometkit_protocol::sockjs::{
    decode_frame, decode_payload, decode_ws_message, encode_close_frame, encode_message_frame,
    encode_payload, eventsource_frame, jsonp_body_frame, quote_into, quote_server_html_into,
    quote_server_into, quoted_len, Frame, XhrStreamReader,
};
use cometkit_protocol::sse::{Output, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut bytes = Bytes::new(data);
    let mode = bytes.u8();
    let code = bytes.u16();
    let messages = all_fields(bytes.rest(), 8);
    if mode.is_multiple_of(2) {
        client_to_server(&messages);
    } else {
        server_to_client(&messages, code, mode / 2 % 4);
    }
});

fn client_to_server(messages: &[String]) {
    let payload = encode_payload(messages);
    assert_eq!(decode_payload(&payload).as_deref(), Ok(messages));
    assert_eq!(decode_ws_message(&payload).as_deref(), Ok(messages));
    // jsonp_send as a form post: the payload in field `d`.
    let form = urlencode(&[("d".to_owned(), payload.clone())]);
    assert_eq!(form_field(&form, "d").as_deref(), Some(&*payload));
    for m in messages {
        let mut quoted = String::new();
        quote_into(&mut quoted, m);
        assert_eq!(quoted.len(), quoted_len(m));
        // Controls always go out escaped.
        assert!(!quoted.bytes().any(|b| b < 0x20));
        assert_eq!(decode_ws_message(&quoted), Ok(vec![m.clone()]));
    }
}

/// The frames a client reads out of an xhr-streaming response body.
fn xhr_frames(body: &str) -> Vec<String> {
    let mut reader = XhrStreamReader::new();
    let mut out = Vec::new();
    while let Some(frame) = reader.next_frame(body) {
        out.push(frame.to_owned());
    }
    out
}

/// The server's EventSource framing (cometkit-server's `Kind::EventSource`).
fn eventsource_event(frame: &str) -> String {
    let mut out = String::from("data: ");
    for c in frame.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            '\0' => out.push_str("%00"),
            c => out.push(c),
        }
    }
    out.push_str("\r\n\r\n");
    out
}

/// The server's frames for `messages`, read back by the client in the framing of `transport`:
/// 0 frames alone (and a close frame), 1 xhr-streaming, 2 EventSource, 3 JSONP and htmlfile.
fn server_to_client(messages: &[String], code: u16, transport: u8) {
    let frame = encode_message_frame(messages);
    let expected = Frame::Messages(messages.to_vec());
    assert_eq!(decode_frame(&frame).as_ref(), Ok(&expected));
    // Only JSON escapes: no raw control character, no U+2028/U+2029 (which end a line in old
    // JavaScript engines).
    assert!(!frame
        .chars()
        .any(|c| c < ' ' || c == '\u{2028}' || c == '\u{2029}'));

    let close = encode_close_frame(code, messages.first().map_or("", String::as_str));
    match transport {
        0 => {
            let reason = messages.first().cloned().unwrap_or_default();
            assert_eq!(
                decode_frame(&close).ok(),
                Some(Frame::Close { code, reason })
            );
        }
        1 => xhr_streaming(&frame, &close),
        2 => eventsource(&frame, &close),
        _ => jsonp_and_htmlfile(&frame, code),
    }
}

fn xhr_streaming(frame: &str, close: &str) {
    // A prelude line (2048 `h` from a server; any run of two or more `h` is one, and a short
    // one keeps this target fast), then each frame on its own line.
    let body = ["hhhh\n", "o\n", frame, "\n", close, "\n"].concat();
    assert_eq!(xhr_frames(&body), ["o", frame, close]);
}

fn eventsource(frame: &str, close: &str) {
    // The server's opening CRLF, then one event per frame.
    let mut parser = Parser::for_text();
    parser.feed_str("\r\n");
    parser.feed_str(&eventsource_event("o"));
    parser.feed_str(&eventsource_event(frame));
    parser.feed_str(&eventsource_event(close));
    let mut got = Vec::new();
    while let Some(output) = parser.poll() {
        let Output::Event(event) = output else {
            panic!("unexpected {output:?}");
        };
        assert_eq!(event.event_type, "message");
        got.push(eventsource_frame(&event.data).into_owned());
    }
    assert_eq!(got, ["o", frame, close]);
}

fn jsonp_and_htmlfile(frame: &str, code: u16) {
    // JSONP polling: `/**/cb("<frame>");`.
    let cb = ["c", "callback_1", "jQuery.cb$1"][usize::from(code % 3)];
    let mut jsonp = ["/**/", cb, "("].concat();
    quote_server_into(&mut jsonp, frame);
    jsonp.push_str(");\r\n");
    let read = jsonp_body_frame(&jsonp, cb).expect("JSONP body of the server");
    assert_eq!(read, frame);

    // htmlfile: a JSON string literal inside <script>, with no `<`, `>` or `&` left.
    let mut html = String::new();
    quote_server_html_into(&mut html, frame);
    assert!(!html.contains(['<', '>', '&']));
    assert_eq!(decode_ws_message(&html), Ok(vec![frame.to_owned()]));
}
