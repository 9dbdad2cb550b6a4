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
use wasm_bindgen::JsCast;

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
    #[wasm_bindgen(js_name = decode)]
    fn js_decode(frame: &JsValue) -> JsValue;
}

/// A message as the browser session holds it: a JavaScript string and its length in UTF-16
/// code units, read once (the session asks for it on every send and every confirmation, and
/// each ask would be a call into JavaScript).
#[derive(Debug, Clone)]
pub(crate) struct JsMessage(pub(crate) JsString, u32);

impl JsMessage {
    /// `text`, whose length the caller has read (`send` from JavaScript passes it along).
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
        let array = Array::new();
        for message in batch {
            array.push(&message.0);
        }
        // Sequences stay far below 2^53 (a message a microsecond for 285 years).
        JsMessage::payload(js_encode_numbered(ack as f64, seq as f64, &array))
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
    if !sorted.is_null() {
        let array = sorted
            .dyn_into::<Array>()
            .map_err(|_| Error::protocol("SockJS message frame is not a JSON array of strings"))?;
        // A `q` frame's array starts with its acknowledgement (checked in JS).
        return Ok(match array.get(0).as_f64() {
            Some(ack) => Frame::Numbered(Numbered {
                ack: ack as u64,
                seq: array.get(1).as_f64().map_or(0, |seq| seq as u64),
                messages: array.slice(2, array.length()),
            }),
            None => Frame::Messages(array),
        });
    }
    let text = frame.as_string().unwrap_or_default();
    Ok(match sockjs::decode_frame(&text)? {
        Frame::Open => Frame::Open,
        Frame::Heartbeat => Frame::Heartbeat,
        Frame::Close { code, reason } => Frame::Close { code, reason },
        // Sorted out in JavaScript above; an `a` frame never reaches here.
        Frame::Messages(_) => return Err(Error::protocol("unknown SockJS frame type")),
        Frame::Resumed { token, ack } => Frame::Resumed { token, ack },
        // Sorted out in JavaScript above.
        Frame::Numbered(_) => return Err(Error::protocol("unknown SockJS frame type")),
    })
}
