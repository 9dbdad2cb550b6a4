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

use std::cell::Cell;
use std::rc::Rc;

use futures_channel::oneshot;
use wasm_bindgen::JsValue;

use crate::protocol::session::OpId;
use crate::protocol::sockjs::eventsource_frame;
use crate::transport::eventsource::RawSource;
use crate::Error;

use super::driver::{Sink, Task};

/// The receiving loop: the first EventSource at `first` (`…/eventsource`), each later one at
/// the URL the session gives for it.
pub(crate) fn receive(id: OpId, first: String, credentials: bool, sink: &Sink) -> Task {
    let sink = sink.clone();
    Task::spawn(async move {
        let frames = Rc::new(Cell::new(false));
        // Each EventSource asks for its URL: with the resume extension it carries what was
        // received so far, so the server replays no more than the client lacks.
        while let Some(url) = sink.receive_url(id, &first) {
            frames.set(false);
            let (tx, errored) = oneshot::channel::<()>();
            let tx = Cell::new(Some(tx));
            let on_data = {
                let (sink, frames) = (sink.clone(), frames.clone());
                move |data: js_sys::JsString| {
                    frames.set(true);
                    if data.includes("%", 0) {
                        let text = String::from(data);
                        sink.frame_str(id, &eventsource_frame(&text));
                    } else {
                        sink.frame(id, JsValue::from(data));
                    }
                }
            };
            let on_error = move || {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(());
                }
            };
            let Ok(source) = RawSource::open(&url, credentials, on_data, on_error) else {
                return sink.failed(
                    id,
                    Error::invalid("the browser refused to open the EventSource"),
                );
            };
            let _ = errored.await;
            let retrying = source.retrying();
            drop(source);
            if !(frames.get() && retrying) {
                return sink.failed(id, Error::network("EventSource failed"));
            }
        }
    })
}
