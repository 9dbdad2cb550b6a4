//! The websocket transport: a framed SockJS session over the browser's
//! [`WebSocket`](https://developer.mozilla.org/docs/Web/API/WebSocket) at `…/websocket`, one
//! frame per message in each direction. Message data goes from the browser's `message` event
//! to the session as the JavaScript string it is, on the event's own stack.

use std::rc::Rc;

use js_sys::JsString;
use wasm_bindgen::prelude::*;

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

#[wasm_bindgen(module = "/js/sockjs.js")]
extern "C" {
    /// `ws.send(payload)` with the JS string as it is (web-sys's `send_with_str` would copy it
    /// out of wasm memory first); `false` when the browser throws (the socket is not open).
    #[wasm_bindgen(js_name = sendFrame)]
    fn send_frame(ws: &JsValue, payload: &JsString) -> bool;
}

/// Sends one payload; `false` when the browser refuses it (the socket is not open).
pub(crate) fn send(conn: &Conn, payload: &JsString) -> bool {
    send_frame(conn.raw(), payload)
}
