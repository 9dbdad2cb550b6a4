//! The jsonp-polling transport: receiving through `<script>` loads of `…/jsonp?c=<callback>`
//! (the server calls back with one frame as a string), sending with a no-CORS `fetch` POST to
//! `…/jsonp_send`.
//!
//! The browser parts (the hidden `<iframe>` that hosts the poll scripts, and the no-CORS
//! `fetch` POST) are primitives in [`crate::transport::jsonp::polling`]; this file only runs
//! the transport's loops and reports to the session.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::JsString;

use crate::protocol::session::OpId;
use crate::transport::jsonp::polling::{post_no_cors, ScriptFrame};
use crate::transport::pending::Pending;

use super::driver::{Receiver, Sink};

/// The polls of one transport, one at a time, in its hidden iframe.
struct Polls {
    id: OpId,
    first: String,
    sink: Sink,
    frame: ScriptFrame,
    /// The poll in flight.
    current: RefCell<Option<Pending>>,
}

/// The receiving loop: the first poll at `url` (`first` is the transport's `…/jsonp`; the
/// callback goes in the `c` parameter), each later one at the URL the session gives for it. No
/// timeout of its own: the session's deadlines bound a silent poll. Dropping the receiver
/// removes the iframe, which cancels the poll in flight.
pub(crate) fn receive(id: OpId, first: String, url: &str, sink: &Sink) -> Option<Receiver> {
    let frame = match ScriptFrame::new() {
        Ok(frame) => frame,
        Err(e) => {
            sink.failed(id, e);
            return None;
        }
    };
    let state = Rc::new(Polls {
        id,
        first,
        sink: sink.clone(),
        frame,
        current: RefCell::new(None),
    });
    poll(&state, url);
    Some(Receiver::new(state))
}

fn poll(state: &Rc<Polls>, url: &str) {
    let weak = Rc::downgrade(state);
    let started = state.frame.poll(url, move |result| {
        let Some(state) = weak.upgrade() else {
            return;
        };
        match result {
            Ok(frame) => {
                state.sink.frame(state.id, frame);
                if let Some(url) = state.sink.receive_url(state.id, &state.first) {
                    poll(&state, &url);
                }
            }
            Err(e) => state.sink.failed(state.id, e),
        }
    });
    let pending = match started {
        Ok(pending) => Some(pending),
        Err(e) => {
            state.sink.failed(state.id, e);
            None
        }
    };
    if let Ok(mut current) = state.current.try_borrow_mut() {
        *current = pending;
    }
}

/// Sends `payload` to `url` (`…/jsonp_send`), reported as [`Sink::send_done`].
pub(crate) fn send(id: OpId, url: String, payload: JsString, sink: &Sink) -> Pending {
    let sink = sink.clone();
    post_no_cors(&url, &payload, move |result| sink.send_done(id, result))
}
