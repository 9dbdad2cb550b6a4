//! What a SockJS server reads from clients: `xhr_send`/`jsonp_send` bodies (`decode_payload`)
//! and framed WebSocket messages (`decode_ws_message`). The whole input is the text; both run.
//!
//! Checked besides "no panic":
//! - a decoded payload, encoded again by the client's encoder, decodes to the same messages;
//! - `decode_payload(s)` agrees with the client's frame reader on `a` + `s` (the same JSON);
//! - `decode_ws_message` treats an array exactly as `decode_payload` does, never answers
//!   `Empty`, and a single string it accepts is what the client's reader returns too.
#![no_main]

use cometkit_fuzz::text;
use cometkit_protocol::sockjs::{
    decode_frame, decode_payload, decode_ws_message, encode_payload, encode_payload_strs, Frame,
    PayloadError,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = text(data);
    payload(&s);
    ws_message(&s);
});

fn payload(s: &str) {
    let result = decode_payload(s);
    match &result {
        Ok(messages) => {
            let encoded = encode_payload(messages);
            let strs: Vec<&str> = messages.iter().map(String::as_str).collect();
            assert_eq!(encode_payload_strs(&strs), encoded);
            assert_eq!(decode_payload(&encoded).as_ref(), Ok(messages));
            assert_eq!(decode_ws_message(&encoded).as_ref(), Ok(messages));
        }
        Err(PayloadError::Empty) => assert!(s.trim().is_empty()),
        Err(e) => assert!(!e.message().is_empty()),
    }
    // The same JSON as the body of a server `a` frame.
    let as_frame = match decode_frame(&["a", s].concat()) {
        Ok(Frame::Messages(m)) => Some(m),
        Ok(other) => panic!("`a` frame decoded as {other:?}"),
        Err(_) => None,
    };
    if !s.trim().is_empty() {
        assert_eq!(as_frame, result.ok());
    }
}

fn ws_message(s: &str) {
    let result = decode_ws_message(s);
    assert_ne!(result, Err(PayloadError::Empty));
    let trimmed = s.trim_start_matches([' ', '\t', '\n', '\r']);
    match trimmed.as_bytes().first() {
        None => assert_eq!(result, Ok(Vec::new())),
        Some(b'[') => assert_eq!(result, decode_payload(s)),
        Some(_) => {
            if let Ok(messages) = &result {
                assert_eq!(messages.len(), 1);
                // One string: the same string inside an array is the same message.
                let array = ["[", trimmed, "]"].concat();
                assert_eq!(decode_payload(&array).as_ref(), Ok(messages));
            }
        }
    }
}
