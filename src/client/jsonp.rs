//! The jsonp-polling transport: receiving through `<script>` loads of `…/jsonp?c=<callback>`
//! (the [`Jsonp`] primitive; the server calls back with one frame as a string), sending with a
//! no-CORS `fetch` POST to `…/jsonp_send`.
//!
//! Why `fetch(url, {method: "POST", mode: "no-cors", body})` for sending, among the ways to POST
//! cross-origin without CORS:
//! - its promise settles when the request is done, so the session can keep one payload in
//!   flight and messages stay in order (resolved: the server got it; rejected: a network
//!   failure, and the payload is sent again on the next session);
//! - a string body goes out as `text/plain;charset=UTF-8`, a CORS-safelisted type, which both
//!   sockjs-node and cometkit-server read as the raw JSON array;
//! - it leaves nothing in the page and is cancelled through an `AbortController` when dropped.
//!
//! `navigator.sendBeacon` gives no completion (so no ordering) and may be dropped by the
//! browser; sockjs-client's hidden `<form>` + `<iframe>` POST needs DOM plumbing, form
//! encoding, and only tells completion through the iframe's `load`. The opaque answer hides
//! the status: a 404 for a lost session is seen as delivered, and the lost session shows up on
//! the receiving side instead (its `c` frame).

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, RequestCredentials, RequestInit, RequestMode};

use crate::protocol::session::OpId;
use crate::transport::jsonp::Jsonp;
use crate::Error;

use super::driver::{Sink, Task};

/// The receiving loop at `url` (`…/jsonp`; the callback goes in the `c` parameter).
pub(crate) fn receive(id: OpId, url: String, sink: &Sink) -> Task {
    let sink = sink.clone();
    Task::spawn(async move {
        loop {
            // No timeout of its own: the session's heartbeat deadline bounds a silent poll.
            match Jsonp::new(url.as_str()).callback_param("c").timeout(0).send().await {
                Ok(value) => match value.as_string() {
                    Some(frame) => sink.frame(id, frame),
                    None => {
                        return sink.failed(
                            id,
                            Error::protocol("JSONP poll called back without a string frame"),
                        )
                    }
                },
                Err(e) => return sink.failed(id, e),
            }
        }
    })
}

/// Aborts the fetch when dropped (a no-op once it has settled).
struct Abort(AbortController);

impl Drop for Abort {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// POSTs `body` as text/plain without CORS; `Ok` once the request went through.
async fn post_no_cors(url: &str, body: &str) -> Result<(), Error> {
    let window = web_sys::window().ok_or_else(|| Error::invalid("jsonp_send needs a window"))?;
    let abort = Abort(
        AbortController::new().map_err(|_| Error::invalid("AbortController is not available"))?,
    );
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_mode(RequestMode::NoCors);
    // Cookies go along, as with the JSONP script loads (sticky sessions).
    init.set_credentials(RequestCredentials::Include);
    init.set_body(&JsValue::from_str(body));
    init.set_signal(Some(&abort.0.signal()));
    let promise = window.fetch_with_str_and_init(url, &init);
    JsFuture::from(promise)
        .await
        .map(drop)
        .map_err(|_| Error::network("jsonp_send failed: network error"))
}

/// Sends `payload` to `url` (`…/jsonp_send`), reported as [`Sink::send_done`].
pub(crate) fn send(id: OpId, url: String, payload: String, sink: &Sink) -> Task {
    let sink = sink.clone();
    Task::spawn(async move {
        let ok = post_no_cors(&url, &payload).await.is_ok();
        sink.send_done(id, ok);
    })
}
