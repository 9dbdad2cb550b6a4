//! The XHR family: `/info`, the xhr-streaming, xhr-polling, xdr-streaming and xdr-polling
//! receivers, and the `xhr_send` sender.
//!
//! Both flavours use the same endpoints, through [`Exchange`]: [`Mode::Cors`] is a CORS XHR
//! (with cookies when the socket asks for credentials), [`Mode::Xdr`] stays within
//! XDomainRequest's limits (no cookies, no custom headers, `text/plain` bodies), so it never
//! costs a preflight, and uses the page's `XDomainRequest` when there is one.
//!
//! Received frames reach the session as JavaScript strings, one per line of the response.
//! Receivers re-issue their request after every complete response, on the same session. A
//! response that ends without a single frame fails the transport: a SockJS server always sends
//! at least one (`o`, `h`, `a`, `c`), and re-requesting would otherwise spin.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Function, JsString};
use wasm_bindgen::prelude::*;

use crate::protocol::ladder::TransportKind;
use crate::protocol::session::OpId;
use crate::transport::cors::{self, CorsSupport};
use crate::transport::exchange::{Exchange, Mode};
use crate::Error;

use super::driver::{Sink, Task};

pub(crate) use crate::transport::exchange::Mode as Flavor;

const NO_FRAME: &str = "SockJS response ended without a frame";

/// `GET <base>/info`, reported as [`Sink::info`]. A CORS XHR when the browser speaks CORS, else
/// within XDR's limits.
pub(crate) fn fetch_info(id: OpId, url: String, credentials: bool, sink: &Sink) -> Task {
    let sink = sink.clone();
    Task::spawn(async move {
        let mode = if cors::detect() == CorsSupport::Xdr {
            Mode::Xdr
        } else {
            Mode::Cors(credentials)
        };
        let result = match Exchange::start("GET", &url, &JsValue::NULL, mode, false, None, 0) {
            Ok(exchange) => exchange.finish().await.map(|_| exchange.text()),
            Err(e) => Err(e),
        };
        sink.info(id, result);
    })
}

/// The receiving loop of `kind`: its first request at `first`, each later one at the URL the
/// session gives for it (with the resume extension, carrying what was received).
pub(crate) fn receive(
    id: OpId,
    kind: TransportKind,
    first: String,
    mode: Mode,
    sink: &Sink,
) -> Task {
    let sink = sink.clone();
    let streaming = kind.spec().streaming;
    Task::spawn(async move {
        // One callback for every request of the loop; it counts the frames of the current one.
        let frames = Rc::new(Cell::new(0u32));
        let on_frame = {
            let (sink, frames) = (sink.clone(), frames.clone());
            Closure::<dyn Fn(JsValue)>::new(move |frame: JsValue| {
                frames.set(frames.get().saturating_add(1));
                sink.frame(id, frame);
            })
        };
        let on_frame: &Function = on_frame.as_ref().unchecked_ref();
        // Each request asks for its URL: with the resume extension it carries an ack.
        while let Some(url) = sink.receive_url(id, &first) {
            frames.set(0);
            let result = match Exchange::start(
                "POST",
                &url,
                &JsValue::NULL,
                mode,
                streaming,
                Some(on_frame),
                0,
            ) {
                Ok(exchange) => exchange.finish().await.map(drop),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                return sink.failed(id, e);
            }
            if frames.get() == 0 {
                return sink.failed(id, Error::protocol(NO_FRAME));
            }
        }
    })
}

/// POSTs `payload` (a JSON array of strings, as `text/plain`) to `url` (`…/xhr_send`),
/// reported as [`Sink::send_done`]: delivered on a 2xx answer. The payload stays a JavaScript
/// string.
pub(crate) fn send(id: OpId, url: String, payload: JsString, mode: Mode, sink: &Sink) -> Task {
    let sink = sink.clone();
    Task::spawn(async move {
        let ok = match Exchange::start("POST", &url, &payload, mode, false, None, 0) {
            Ok(exchange) => exchange.finish().await.is_ok(),
            Err(_) => false,
        };
        sink.send_done(id, ok);
    })
}
