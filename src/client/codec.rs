//! The browser side of the SockJS codec: messages are JavaScript strings from end to end.
//!
//! A received frame is sorted by its first character in JavaScript: an `a[...]` frame is parsed
//! with the browser's `JSON.parse` into an array of strings that the session passes on unopened
//! ([`Message::Batch`]); the rare other frames (`o`, `h`, `c[...]`) are copied into Rust and
//! decoded by [`sockjs::decode_frame`]. Payloads to send are encoded with `JSON.stringify` plus
//! the SockJS escapes (`js/sockjs.js`). So a message is never copied into wasm memory, nor
//! decoded or encoded by Rust code, on its way through the socket.

use js_sys::{Array, JsString};
use wasm_bindgen::prelude::*;

use crate::protocol::resume::Numbered;
use crate::protocol::session::Message;
use crate::protocol::sockjs::{self, Frame};
use crate::Error;

#[wasm_bindgen(module = "/js/sockjs.js")]
extern "C" {
    #[wasm_bindgen(js_name = encode)]
    fn js_encode(messages: &Array) -> JsString;
    #[wasm_bindgen(js_name = encodeOne)]
    fn js_encode_one(message: &JsString) -> JsString;
    #[wasm_bindgen(js_name = encodeNumbered)]
    fn js_encode_numbered(ack: f64, seq: f64, messages: &Array) -> JsString;
    #[wasm_bindgen(js_name = encodeNumberedOne)]
    fn js_encode_numbered_one(ack: f64, seq: f64, message: &JsString) -> JsString;
    #[wasm_bindgen(js_name = decode)]
    fn js_decode(frame: &JsValue) -> f64;
    /// The messages of the frame `decode` last sorted as a message frame.
    #[wasm_bindgen(js_name = decoded)]
    fn js_decoded() -> Array;
    /// The sequence number of the `q` frame `decode` last sorted.
    #[wasm_bindgen(js_name = decodedSeq)]
    fn js_decoded_seq() -> f64;
}

/// `decode` in `js/sockjs.js`: not a message frame (the Rust codec decodes it).
const OTHER: f64 = -1.0;
/// `decode`: a message frame that is not a JSON array of strings.
const BROKEN: f64 = -2.0;
/// `decode`: an `a` frame (any number at least 0 is a `q` frame's acknowledgement).
const MESSAGES: f64 = -3.0;

/// A message as the browser session holds it: a JavaScript string and its length in UTF-16
/// code units, read once (the session asks for it on every send and every confirmation, and
/// each ask would be a call into JavaScript).
#[derive(Debug, Clone)]
pub(crate) struct JsMessage(pub(crate) JsString, u32);

impl JsMessage {
    /// `text`, whose length the caller has read (`send` from JavaScript passes it along).
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn with_length(text: JsString, length: u32) -> JsMessage {
        JsMessage(text, length)
    }

    pub(crate) fn new(text: JsString) -> JsMessage {
        let length = text.length();
        JsMessage(text, length)
    }

    /// An encoded payload: the session only hands it to the driver, never asks its size.
    fn payload(text: JsString) -> JsMessage {
        JsMessage(text, 0)
    }
}

impl Message for JsMessage {
    type Batch = Array;

    fn size(&self) -> usize {
        self.1 as usize
    }

    fn encode(batch: &[JsMessage]) -> JsMessage {
        if let [one] = batch {
            return JsMessage::payload(js_encode_one(&one.0));
        }
        let array = Array::new();
        for message in batch {
            array.push(&message.0);
        }
        JsMessage::payload(js_encode(&array))
    }

    fn encode_numbered(ack: u64, seq: u64, batch: &[JsMessage]) -> JsMessage {
        // Sequences stay far below 2^53 (a message a microsecond for 285 years).
        let (ack, seq) = (ack as f64, seq as f64);
        if let [one] = batch {
            return JsMessage::payload(js_encode_numbered_one(ack, seq, &one.0));
        }
        let array = Array::new();
        for message in batch {
            array.push(&message.0);
        }
        JsMessage::payload(js_encode_numbered(ack, seq, &array))
    }

    fn batch_len(batch: &Array) -> usize {
        batch.length() as usize
    }

    fn batch_skip(batch: Array, n: usize) -> Array {
        if n == 0 {
            return batch;
        }
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        batch.slice(n, batch.length())
    }
}

/// One received frame (a JS string: WebSocket message data, or text the driver copied out).
pub(crate) fn decode(frame: &JsValue) -> Result<Frame<Array>, Error> {
    let sorted = js_decode(frame);
    if sorted == MESSAGES {
        return Ok(Frame::Messages(js_decoded()));
    }
    if sorted >= 0.0 {
        // A `q` frame, its numbers checked in JS (safe integers, not negative).
        return Ok(Frame::Numbered(Numbered {
            ack: sorted as u64,
            seq: js_decoded_seq() as u64,
            messages: js_decoded(),
        }));
    }
    if sorted == BROKEN {
        return Err(Error::protocol(
            "SockJS message frame is not a JSON array of strings",
        ));
    }
    debug_assert!(sorted == OTHER);
    let text = frame.as_string().unwrap_or_default();
    Ok(match sockjs::decode_frame(&text)? {
        Frame::Open => Frame::Open,
        Frame::Heartbeat => Frame::Heartbeat,
        Frame::Close { code, reason } => Frame::Close { code, reason },
        Frame::Resumed { token, ack } => Frame::Resumed { token, ack },
        // Sorted out in JavaScript above: an `a` or `q` frame never reaches here.
        Frame::Messages(_) | Frame::Numbered(_) => {
            return Err(Error::protocol("unknown SockJS frame type"))
        }
    })
}
