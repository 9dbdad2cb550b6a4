//! The eventsource receiver: the browser's native
//! [`EventSource`](https://developer.mozilla.org/docs/Web/API/EventSource) on
//! `…/eventsource`, one SockJS frame per event. Payloads go out through `xhr_send`
//! ([`super::http::send`]).
//!
//! A frame goes to the session as the event's JavaScript string. Only data holding a `%` is
//! copied into Rust, to undo the server's escapes
//! ([`eventsource_frame`](crate::protocol::sockjs::eventsource_frame)).
//!
//! The browser reconnects an EventSource by itself when its response ends, which SockJS
//! servers do after `response_limit` bytes. Like sockjs-client, the receiver instead closes
//! the object on every `error` and, if the stream had delivered frames and the browser was
//! going to retry, opens a fresh one on the same session. A stream that fails before any frame
//! (refused, non-200, wrong type, CORS) fails the transport.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use wasm_bindgen::JsValue;

use crate::protocol::session::OpId;
use crate::protocol::sockjs::eventsource_frame;
use crate::transport::eventsource::RawSource;
use crate::Error;

use super::driver::{Receiver, Sink};

/// The EventSources of one transport, one at a time.
struct Sources {
    id: OpId,
    first: String,
    credentials: bool,
    sink: Sink,
    /// The current EventSource delivered a frame.
    frames: Cell<bool>,
    current: RefCell<Option<RawSource>>,
}

/// The receiving loop: the first EventSource at `url` (`first` is the transport's
/// `…/eventsource`), each later one at the URL the session gives for it. Dropping the receiver
/// closes the current one.
pub(crate) fn receive(
    id: OpId,
    first: String,
    url: &str,
    credentials: bool,
    sink: &Sink,
) -> Receiver {
    let state = Rc::new(Sources {
        id,
        first,
        credentials,
        sink: sink.clone(),
        frames: Cell::new(false),
        current: RefCell::new(None),
    });
    open(&state, url);
    Receiver::new(state)
}

fn open(state: &Rc<Sources>, url: &str) {
    state.frames.set(false);
    let on_data = {
        let weak = Rc::downgrade(state);
        move |data: js_sys::JsString| {
            let Some(state) = weak.upgrade() else {
                return;
            };
            state.frames.set(true);
            if data.includes("%", 0) {
                let text = String::from(data);
                state.sink.frame_str(state.id, &eventsource_frame(&text));
            } else {
                state.sink.frame(state.id, JsValue::from(data));
            }
        }
    };
    let on_error = {
        let weak = Rc::downgrade(state);
        move || on_error(&weak)
    };
    match RawSource::open(url, state.credentials, on_data, on_error) {
        Ok(source) => {
            if let Ok(mut current) = state.current.try_borrow_mut() {
                *current = Some(source);
            }
        }
        Err(_) => state.sink.failed(
            state.id,
            Error::invalid("the browser refused to open the EventSource"),
        ),
    }
}

/// The current EventSource failed or its response ended: it is closed, and a fresh one opened
/// if it had delivered frames and the browser was going to retry (see the module docs).
fn on_error(weak: &Weak<Sources>) {
    let Some(state) = weak.upgrade() else {
        return;
    };
    let Some(source) = state
        .current
        .try_borrow_mut()
        .ok()
        .and_then(|mut c| c.take())
    else {
        return;
    };
    let retrying = source.retrying();
    drop(source);
    if !(state.frames.get() && retrying) {
        return state
            .sink
            .failed(state.id, Error::network("EventSource failed"));
    }
    // Each EventSource asks for its URL: with the resume extension it carries what was
    // received so far, so the server replays no more than the client lacks.
    if let Some(url) = state.sink.receive_url(state.id, &state.first) {
        open(&state, &url);
    }
}
