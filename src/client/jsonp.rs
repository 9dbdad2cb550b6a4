//! The jsonp-polling transport: receiving through `<script>` loads of `…/jsonp?c=<callback>`
//! (the server calls back with one frame as a string), sending with a no-CORS `fetch` POST to
//! `…/jsonp_send`.
//!
//! The browser parts (the hidden `<iframe>` that hosts the poll scripts, and the no-CORS
//! `fetch` POST) are primitives in [`crate::transport::jsonp::polling`]; this file only runs
//! the transport's loops and reports to the session.

use js_sys::JsString;

use crate::protocol::session::OpId;
use crate::transport::jsonp::polling::{post_no_cors, ScriptFrame};

use super::driver::{Sink, Task};

/// The receiving loop: the first poll at `first` (`…/jsonp`; the callback goes in the `c`
/// parameter), each later one at the URL the session gives for it. No timeout of its own: the
/// session's deadlines bound a silent poll.
pub(crate) fn receive(id: OpId, first: String, sink: &Sink) -> Task {
    let sink = sink.clone();
    Task::spawn(async move {
        let frame = match ScriptFrame::new() {
            Ok(frame) => frame,
            Err(e) => return sink.failed(id, e),
        };
        while let Some(url) = sink.receive_url(id, &first) {
            match frame.poll(&url).await {
                Ok(frame) => sink.frame(id, frame),
                Err(e) => return sink.failed(id, e),
            }
        }
    })
}

/// Sends `payload` to `url` (`…/jsonp_send`), reported as [`Sink::send_done`].
pub(crate) fn send(id: OpId, url: String, payload: JsString, sink: &Sink) -> Task {
    let sink = sink.clone();
    Task::spawn(async move {
        let ok = post_no_cors(&url, &payload).await.is_ok();
        sink.send_done(id, ok);
    })
}
