//! The websocket transport: a framed SockJS session over the browser's
//! [`WebSocket`](https://developer.mozilla.org/docs/Web/API/WebSocket) at `…/websocket`, one
//! frame per message in each direction. Message data goes from the browser's `message` event
//! to the session as the JavaScript string it is, on the event's own stack.

use std::rc::Rc;

use js_sys::JsString;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::protocol::session::OpId;
use crate::transport::websocket::{Conn, Raw};
use crate::Error;

use super::driver::Sink;

/// Connects to `url` (`ws:`/`wss:`); its events go straight to `sink`. Fails when the browser
/// refuses the URL (mixed content, bad port, ...).
pub(crate) fn open(id: OpId, url: &str, sink: &Sink) -> Result<Conn, Error> {
    let sink = sink.clone();
    Conn::connect_with(
        url,
        &[],
        Rc::new(move |raw| match raw {
            Raw::Message(data) => sink.frame(id, data),
            Raw::Close(info) => {
                let reason = if info.reason.is_empty() {
                    "WebSocket connection closed".to_owned()
                } else {
                    info.reason
                };
                sink.closed(id, info.code, reason);
            }
            Raw::Open | Raw::Error => {}
        }),
    )
}

#[wasm_bindgen]
extern "C" {
    /// A WebSocket seen through `send(string)` with a JS string, which web-sys's
    /// `send_with_str` would copy out of wasm memory first.
    type StringSender;
    #[wasm_bindgen(method, catch, js_name = send)]
    fn send_string(this: &StringSender, data: &JsString) -> Result<(), JsValue>;
}

/// Sends one payload; `false` when the browser refuses it (the socket is not open).
pub(crate) fn send(conn: &Conn, payload: &JsString) -> bool {
    conn.raw()
        .unchecked_ref::<StringSender>()
        .send_string(payload)
        .is_ok()
}
