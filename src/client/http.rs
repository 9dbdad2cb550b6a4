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

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use js_sys::JsString;
use wasm_bindgen::prelude::*;

use crate::protocol::ladder::TransportKind;
use crate::protocol::session::OpId;
use crate::transport::cors::{self, CorsSupport};
use crate::transport::exchange::{Exchange, Mode};
use crate::transport::pending::Pending;
use crate::Error;

use super::driver::{Receiver, Sink};

pub(crate) use crate::transport::exchange::Mode as Flavor;

const NO_FRAME: &str = "SockJS response ended without a frame";

/// Runs `then` with the exchange once it has finished (`Err` for a failed one), or at once
/// with the error when it could not start (inside the driver the input waits its turn).
fn run(
    started: Result<Exchange, Error>,
    then: impl FnOnce(Result<&Exchange, Error>) + 'static,
) -> Option<Pending> {
    match started {
        Ok(exchange) => Some(exchange.on_finish(then)),
        Err(e) => {
            then(Err(e));
            None
        }
    }
}

/// `GET <base>/info`, reported as [`Sink::info`]. A CORS XHR when the browser speaks CORS, else
/// within XDR's limits.
pub(crate) fn fetch_info(id: OpId, url: String, credentials: bool, sink: &Sink) -> Option<Pending> {
    let mode = if cors::detect() == CorsSupport::Xdr {
        Mode::Xdr
    } else {
        Mode::Cors(credentials)
    };
    let sink = sink.clone();
    run(
        Exchange::start("GET", &url, &JsValue::NULL, mode, false, None, 0),
        move |result| sink.info(id, result.map(Exchange::text)),
    )
}

/// A receiving loop of requests, one at a time; see [`receive`].
struct Loop {
    id: OpId,
    first: String,
    mode: Mode,
    streaming: bool,
    sink: Sink,
    /// Frames of the current request.
    frames: Cell<u32>,
    /// Called with each frame of every request of the loop.
    on_frame: Closure<dyn Fn(JsValue)>,
    /// The request in flight.
    current: RefCell<Option<Pending>>,
}

/// The receiving loop of `kind`: its first request at `url`, each later one at the URL the
/// session gives for it (with the resume extension, carrying what was received); `first` is
/// the transport's own URL. Dropping the receiver aborts the request in flight.
pub(crate) fn receive(
    id: OpId,
    kind: TransportKind,
    first: String,
    url: &str,
    mode: Mode,
    sink: &Sink,
) -> Receiver {
    let state = Rc::new_cyclic(|weak: &Weak<Loop>| {
        let weak = weak.clone();
        Loop {
            id,
            first,
            mode,
            streaming: kind.spec().streaming,
            sink: sink.clone(),
            frames: Cell::new(0),
            on_frame: Closure::new(move |frame: JsValue| {
                if let Some(state) = weak.upgrade() {
                    state.frames.set(state.frames.get().saturating_add(1));
                    state.sink.frame(state.id, frame);
                }
            }),
            current: RefCell::new(None),
        }
    });
    request(&state, url);
    Receiver::new(state)
}

fn request(state: &Rc<Loop>, url: &str) {
    state.frames.set(0);
    let weak = Rc::downgrade(state);
    let started = Exchange::start(
        "POST",
        url,
        &JsValue::NULL,
        state.mode,
        state.streaming,
        Some(state.on_frame.as_ref().unchecked_ref()),
        0,
    );
    let pending = run(started, move |result| {
        let Some(state) = weak.upgrade() else {
            return;
        };
        match result {
            Err(e) => state.sink.failed(state.id, e),
            Ok(_) if state.frames.get() == 0 => {
                state.sink.failed(state.id, Error::protocol(NO_FRAME))
            }
            // Each request asks for its URL: with the resume extension it carries an ack.
            Ok(_) => {
                if let Some(url) = state.sink.receive_url(state.id, &state.first) {
                    request(&state, &url);
                }
            }
        }
    });
    if let Ok(mut current) = state.current.try_borrow_mut() {
        *current = pending;
    }
}

/// POSTs `payload` (a JSON array of strings, as `text/plain`) to `url` (`…/xhr_send`),
/// reported as [`Sink::send_done`]: delivered on a 2xx answer, else the error (a 413 among them,
/// which the session treats as the payload's fault, not the transport's). The payload stays a
/// JavaScript string.
pub(crate) fn send(
    id: OpId,
    url: String,
    payload: JsString,
    mode: Mode,
    sink: &Sink,
) -> Option<Pending> {
    let sink = sink.clone();
    run(
        Exchange::start("POST", &url, &payload, mode, false, None, 0),
        move |result| sink.send_done(id, result.map(drop)),
    )
}
