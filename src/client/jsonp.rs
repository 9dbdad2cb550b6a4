//! The jsonp-polling transport: receiving through `<script>` loads of `…/jsonp?c=<callback>`
//! (the server calls back with one frame as a string), sending with a no-CORS `fetch` POST to
//! `…/jsonp_send`.
//!
//! Receiving does what [`crate::transport::jsonp`] does (a fresh 128-bit callback name per
//! poll, `load`/`error` handlers, the same cleanup checklist) with one difference: the scripts
//! run inside a hidden, same-origin `about:blank` `<iframe>` that lives as long as the
//! transport. Browsers do not cancel a script load when the `<script>` is removed, and a SockJS
//! server holds a poll open until it has data or a heartbeat (25 s), so a closed transport
//! would keep one of the browser's few connections to the server busy that long; removing the
//! iframe cancels its loads at once (checked in Chromium and Firefox), and the server sees
//! the poll end. Callbacks live on the iframe's window, not the page's.
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
//! browser; sockjs-client's hidden `<form>` + `<iframe>` POST needs more DOM plumbing, form
//! encoding, and only tells completion through the iframe's `load`. The opaque answer hides
//! the status: a 404 for a lost session is seen as delivered, and the lost session shows up on
//! the receiving side instead (its `c` frame).
//!
//! On a cross-origin isolated page (`Cross-Origin-Embedder-Policy: require-corp`) both need
//! the server to send `Cross-Origin-Resource-Policy: cross-origin`, which SockJS servers do
//! not: the scripts fail to load and the socket moves on (or closes with 2000).

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
use js_sys::Reflect;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, Document, Element, HtmlIFrameElement, HtmlScriptElement, RequestCredentials,
    RequestInit, RequestMode, Window,
};

use crate::protocol::jsonp::{callback_name, CALLBACK_RANDOM_BYTES};
use crate::protocol::ladder;
use crate::protocol::session::OpId;
use crate::transport::random;
use crate::Error;

use super::driver::{Sink, Task};

/// The hidden iframe hosting a transport's scripts; removing it cancels their loads.
struct Frame {
    frame: HtmlIFrameElement,
    window: Window,
    document: Document,
}

impl Drop for Frame {
    fn drop(&mut self) {
        self.frame.remove();
    }
}

fn no_frame() -> Error {
    Error::invalid("jsonp-polling could not create its hidden iframe")
}

impl Frame {
    fn new() -> Result<Frame, Error> {
        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or_else(|| Error::invalid("jsonp-polling needs a document"))?;
        let frame: HtmlIFrameElement = document
            .create_element("iframe")
            .ok()
            .and_then(|e| e.dyn_into().ok())
            .ok_or_else(no_frame)?;
        let _ = frame.set_attribute("style", "display:none");
        let _ = frame.set_attribute("aria-hidden", "true");
        let parent: Element = match document.body() {
            Some(body) => body.into(),
            None => document.document_element().ok_or_else(no_frame)?,
        };
        parent.append_child(&frame).map_err(|_| no_frame())?;
        // Remove it again on any failure below.
        let (window, inner) = match (frame.content_window(), frame.content_document()) {
            (Some(w), Some(d)) => (w, d),
            _ => {
                frame.remove();
                return Err(no_frame());
            }
        };
        Ok(Frame {
            frame,
            window,
            document: inner,
        })
    }

    /// One poll: the frame the server passed to the callback.
    async fn poll(&self, url: &str) -> Result<String, Error> {
        let mut bytes = [0u8; CALLBACK_RANDOM_BYTES];
        random::fill(&mut bytes)?;
        let name = callback_name(&bytes);
        // Created in the iframe's realm, so `instanceof HTMLScriptElement` (the page's) is
        // false: the cast is unchecked, and a `<script>` is what `createElement` made.
        let script: HtmlScriptElement = self
            .document
            .create_element("script")
            .map_err(|_| no_frame())?
            .unchecked_into();
        let parent: Element = match self.document.head() {
            Some(head) => head.into(),
            None => self.document.document_element().ok_or_else(no_frame)?,
        };
        let (tx, rx) = oneshot::channel::<Outcome>();
        let slot: Slot = Rc::new(RefCell::new(Some(tx)));
        let callback = {
            let slot = slot.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |v: JsValue| settle(&slot, Outcome::Called(v)))
        };
        let onload = {
            let slot = slot.clone();
            Closure::<dyn FnMut()>::new(move || settle(&slot, Outcome::Loaded))
        };
        let onerror = Closure::<dyn FnMut()>::new(move || settle(&slot, Outcome::Failed));
        Reflect::set(&self.window, &JsValue::from_str(&name), callback.as_ref())
            .map_err(|_| no_frame())?;
        script.set_onload(Some(onload.as_ref().unchecked_ref()));
        script.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        script.set_src(&ladder::add_query(url, &["c=", &name].concat()));
        // From here on every exit, including a drop of this future, runs the cleanup.
        let pending = Pending {
            window: &self.window,
            name,
            script,
            _callback: callback,
            _onload: onload,
            _onerror: onerror,
        };
        parent
            .append_child(&pending.script)
            .map_err(|_| Error::network("could not insert the JSONP script"))?;
        match rx.await {
            Ok(Outcome::Called(v)) => v
                .as_string()
                .ok_or_else(|| Error::protocol("JSONP poll called back without a string frame")),
            Ok(Outcome::Loaded) => Err(Error::protocol(
                "JSONP poll response did not call the callback",
            )),
            Ok(Outcome::Failed) => Err(Error::network(
                "JSONP poll script failed to load (network error, HTTP error status or blocked)",
            )),
            Err(_) => Err(Error::abort("JSONP poll was cancelled")),
        }
    }
}

enum Outcome {
    Called(JsValue),
    Loaded,
    Failed,
}

/// The first outcome takes the sender; later ones (the `load` after a call) find it empty.
type Slot = Rc<RefCell<Option<oneshot::Sender<Outcome>>>>;

fn settle(slot: &Slot, outcome: Outcome) {
    let tx = slot.borrow_mut().take();
    if let Some(tx) = tx {
        let _ = tx.send(outcome);
    }
}

/// One poll's script and callback. Dropping it nulls the handlers, removes the script and the
/// callback; a load still under way dies with the iframe.
struct Pending<'f> {
    window: &'f Window,
    name: String,
    script: HtmlScriptElement,
    _callback: Closure<dyn FnMut(JsValue)>,
    _onload: Closure<dyn FnMut()>,
    _onerror: Closure<dyn FnMut()>,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.script.set_onload(None);
        self.script.set_onerror(None);
        self.script.remove();
        let window: &js_sys::Object = self.window.as_ref();
        let _ = Reflect::delete_property(window, &JsValue::from_str(&self.name));
    }
}

/// The receiving loop at `url` (`…/jsonp`; the callback goes in the `c` parameter). No
/// timeout of its own: the session's deadlines bound a silent poll.
pub(crate) fn receive(id: OpId, url: String, sink: &Sink) -> Task {
    let sink = sink.clone();
    Task::spawn(async move {
        let frame = match Frame::new() {
            Ok(frame) => frame,
            Err(e) => return sink.failed(id, e),
        };
        loop {
            match frame.poll(&url).await {
                Ok(text) => sink.frame_str(id, &text),
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
