//! JSONP: a cross-origin GET answered by a script that calls back into the page.
//!
//! Works against any server that can wrap its JSON in a function call, with no CORS headers,
//! in every browser. The price: the response runs as script with the page's full authority, so
//! only use JSONP with servers you trust completely; the HTTP status and headers are invisible;
//! and a failed request is only reported as "the script did not load".
//!
//! How a call runs ([`Jsonp::send`]):
//! 1. a fresh callback name with 128 random bits (see [`crate::protocol::jsonp`]) is installed
//!    as a global on `window`;
//! 2. a [`<script>`](https://developer.mozilla.org/docs/Web/HTML/Element/script) whose URL
//!    carries that name is appended to the document;
//! 3. the first of these ends the call: the callback is called (success), the script's `load`
//!    fires without a call (protocol error: the script ran and did not call back), its `error`
//!    fires (network error: refused, HTTP error status, blocked), or the timeout elapses.
//!
//! Whatever ends it, including dropping the future, the cleanup is the same checklist: clear
//! the timer, null the script's `onload`/`onerror`, remove the `<script>`, and remove the
//! global. When the response might still arrive (timeout or drop before the script finished),
//! the global is replaced by a plain JavaScript no-op that deletes itself when called, so a late
//! response neither throws nor reaches freed wasm memory.
//!
//! The script dance itself is a few lines of JavaScript (`js/jsonp.js`) that settle one
//! Promise, shared with the SockJS socket's jsonp-polling transport; Rust decides everything
//! else (URL, parameters, callback name, trusted origins, what each outcome means). No wasm
//! closure backs the callback, so nothing in wasm can be reached by a late answer.
//!
//! On a cross-origin isolated page (`Cross-Origin-Embedder-Policy: require-corp`) the server
//! must also send `Cross-Origin-Resource-Policy: cross-origin`, or the browser blocks the script
//! and the call fails as a network error.

use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Window;

use crate::protocol::jsonp as rules;
use crate::security::{self, SecureOnly};
use crate::transport::{page, random};
use crate::Error;

/// Default time a JSONP call may take: 10 seconds.
pub const DEFAULT_TIMEOUT_MS: u32 = 10_000;

#[wasm_bindgen(module = "/js/jsonp.js")]
extern "C" {
    /// A script load or a POST in flight (see `js/jsonp.js`).
    type InFlight;

    /// Loads `src` as a script in `window`'s document with `window[name]` as the callback.
    #[wasm_bindgen(js_name = load)]
    fn start_load(
        window: &Window,
        src: &str,
        name: &str,
        nonce: Option<&str>,
        timeout_ms: u32,
    ) -> InFlight;

    /// A no-CORS `fetch` POST of a text body.
    #[cfg(any(feature = "_socket", feature = "_socketio"))]
    #[wasm_bindgen(js_name = post)]
    fn start_post(url: &str, body: &js_sys::JsString) -> InFlight;

    #[wasm_bindgen(method, getter)]
    fn done(this: &InFlight) -> Promise;

    /// Ends it (a no-op once it has settled).
    #[wasm_bindgen(method)]
    fn cancel(this: &InFlight);
}

/// Cancels what is in flight when dropped (a no-op once it has settled).
struct Cancel(InFlight);

impl Drop for Cancel {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

impl Cancel {
    /// What `done` resolved to (it never rejects).
    async fn outcome(&self) -> JsValue {
        JsFuture::from(self.0.done()).await.unwrap_or(JsValue::NULL)
    }
}

/// How one script load ended.
enum Outcome {
    /// The script called back, with this first argument.
    Called(JsValue),
    /// It loaded and ran without calling back.
    Loaded,
    /// It did not load (network error, HTTP error status, blocked), or could not be inserted.
    Failed,
    TimedOut,
    Cancelled,
}

/// Loads `src` in `window` with the callback `name` and waits for the outcome; dropping the
/// future cancels the load and cleans up (see the module docs).
async fn load(
    window: &Window,
    src: &str,
    name: &str,
    nonce: Option<&str>,
    timeout_ms: u32,
) -> Outcome {
    let call = Cancel(start_load(window, src, name, nonce, timeout_ms));
    Outcome::of(&call.outcome().await)
}

impl Outcome {
    /// What the `done` promise of a load resolved to.
    fn of(outcome: &JsValue) -> Outcome {
        let outcome: &Array = outcome.unchecked_ref();
        match outcome.get(0).as_f64() {
            Some(0.0) => Outcome::Called(outcome.get(1)),
            Some(1.0) => Outcome::Loaded,
            Some(2.0) => Outcome::Failed,
            Some(3.0) => Outcome::TimedOut,
            _ => Outcome::Cancelled,
        }
    }
}

/// A JSONP request, configured with builder methods and run by [`Jsonp::send`].
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::transport::jsonp::Jsonp;
/// let data = Jsonp::new("https://api.example.com/items")
///     .param("page", "2")
///     .callback_param("cb")
///     .timeout(5_000)
///     .send()
///     .await?;
/// # let _ = data; Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Jsonp request does nothing until `send` is awaited"]
pub struct Jsonp {
    url: String,
    params: Vec<(String, String)>,
    callback_param: String,
    timeout_ms: u32,
    nonce: Option<String>,
    trusted: Option<Vec<String>>,
    secure_only: Option<SecureOnly>,
}

impl Jsonp {
    /// A JSONP request to `url`, resolved against the page's base URL; it must be http or
    /// https. Parameters already in the URL are kept.
    pub fn new(url: impl Into<String>) -> Self {
        Jsonp {
            url: url.into(),
            params: Vec::new(),
            callback_param: String::from("callback"),
            timeout_ms: DEFAULT_TIMEOUT_MS,
            nonce: None,
            trusted: None,
            secure_only: None,
        }
    }

    /// Appends the query parameter `name=value` (URL-encoded for you; repeats are kept).
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// The query parameter that carries the callback name (default `callback`). Must be
    /// non-empty; it replaces any parameter of that name already in the URL.
    pub fn callback_param(mut self, name: impl Into<String>) -> Self {
        self.callback_param = name.into();
        self
    }

    /// How long to wait for the callback, in milliseconds (default [`DEFAULT_TIMEOUT_MS`]);
    /// `0` waits without limit (a server that never answers then keeps the call pending).
    pub fn timeout(mut self, ms: u32) -> Self {
        self.timeout_ms = ms;
        self
    }

    /// The [CSP nonce](https://developer.mozilla.org/docs/Web/HTML/Global_attributes/nonce)
    /// set on the `<script>` element, for pages whose Content Security Policy allows scripts
    /// by nonce.
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// Loads only from these origins (`https://api.example.com`, `https://*.example.com`),
    /// instead of the page-wide list of [`security::set_defaults`]: a URL whose origin is not
    /// listed fails as invalid before any script is added. An empty list refuses every URL;
    /// the page's own origin is not implied.
    pub fn trusted_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.trusted = Some(origins.into_iter().map(Into::into).collect());
        self
    }

    /// Secure-only mode for this call, instead of the page-wide default: an `http:` URL it
    /// refuses fails as invalid before any script is added.
    pub fn secure_only(mut self, policy: SecureOnly) -> Self {
        self.secure_only = Some(policy);
        self
    }

    /// Runs the request and resolves to the value the server passed to the callback (its
    /// first argument; `undefined` when called without one).
    ///
    /// Fails with:
    /// - [`Invalid`](crate::ErrorKind::Invalid) before anything is sent: no window/document,
    ///   a URL that does not parse or is not http(s), a URL refused by secure-only mode or
    ///   outside the trusted origins, an empty callback parameter name, a
    ///   parameter with the callback parameter's name, or no `crypto.getRandomValues`;
    /// - [`Protocol`](crate::ErrorKind::Protocol): the script loaded and ran but did not call
    ///   the callback (not a JSONP response, wrong callback parameter, or a syntax error);
    /// - [`Network`](crate::ErrorKind::Network): the script did not load (connection failure,
    ///   HTTP error status, blocked by CSP or by a non-JavaScript MIME type);
    /// - [`Timeout`](crate::ErrorKind::Timeout): nothing of the above within the timeout.
    ///
    /// Dropping the future cancels the call and cleans up (see the module docs).
    pub async fn send(self) -> Result<JsValue, Error> {
        let (window, src, name) = self.prepare()?;
        let outcome = load(&window, &src, &name, self.nonce.as_deref(), self.timeout_ms).await;
        result(outcome, "JSONP call was cancelled")
    }

    /// Starts the call without a future (for the JavaScript `jsonp()`): its `done` promise
    /// resolves to what [`result_of`] reads; cancelling it (or dropping the [`Call`]) ends the
    /// call as cancelled.
    #[cfg(all(feature = "js", feature = "jsonp"))]
    pub(crate) fn start(self) -> Result<Call, Error> {
        let (window, src, name) = self.prepare()?;
        Ok(Call(Cancel(start_load(
            &window,
            &src,
            &name,
            self.nonce.as_deref(),
            self.timeout_ms,
        ))))
    }

    /// Checks everything: the window, the script URL with its parameters and a fresh callback
    /// name, and that name.
    fn prepare(&self) -> Result<(Window, String, String), Error> {
        rules::check_callback_param(&self.callback_param).map_err(Error::invalid)?;
        let window = page::window().ok_or_else(|| Error::invalid("JSONP needs a window"))?;
        if window.document().is_none() {
            return Err(Error::invalid("JSONP needs a document"));
        }
        let url = page::resolve_http_url(&self.url, "JSONP")?;
        let href = url.href();
        security::check_url(&href, self.secure_only)?;
        security::check_jsonp_url(&href, self.trusted.as_deref())?;
        let query = url.search_params();
        for (name, value) in &self.params {
            if *name == self.callback_param {
                return Err(Error::invalid(
                    "a JSONP parameter has the same name as the callback parameter",
                ));
            }
            query.append(name, value);
        }
        let name = fresh_name(&window)?;
        query.set(&self.callback_param, &name);
        Ok((window, url.href(), name))
    }
}

/// A JSONP call started by [`Jsonp::start`]; dropping it cancels the call.
#[cfg(all(feature = "js", feature = "jsonp"))]
pub(crate) struct Call(Cancel);

#[cfg(all(feature = "js", feature = "jsonp"))]
impl Call {
    /// Resolves once, to what [`result_of`] reads; never rejects.
    pub(crate) fn done(&self) -> Promise {
        self.0 .0.done()
    }

    /// Ends the call now (its `done` then resolves as cancelled, unless it had settled).
    pub(crate) fn cancel(&self) {
        self.0 .0.cancel();
    }
}

/// The result of a call whose `done` resolved to `outcome`; `cancelled` says why a
/// cancelled one ended.
#[cfg(all(feature = "js", feature = "jsonp"))]
pub(crate) fn result_of(outcome: &JsValue, cancelled: &'static str) -> Result<JsValue, Error> {
    result(Outcome::of(outcome), cancelled)
}

fn result(outcome: Outcome, cancelled: &'static str) -> Result<JsValue, Error> {
    match outcome {
        Outcome::Called(value) => Ok(value),
        Outcome::Loaded => Err(Error::protocol("JSONP response did not call the callback")),
        Outcome::Failed => Err(Error::network(
            "JSONP script failed to load (network error, HTTP error status or blocked)",
        )),
        Outcome::TimedOut => Err(Error::timeout(
            "JSONP response did not arrive within the timeout",
        )),
        Outcome::Cancelled => Err(Error::abort(cancelled)),
    }
}

/// A callback name not yet used on `window`. With 128 random bits a clash means something
/// else squats on the name; a few retries make that harmless.
fn fresh_name(window: &Window) -> Result<String, Error> {
    for _ in 0..4 {
        let mut bytes = [0u8; rules::CALLBACK_RANDOM_BYTES];
        random::fill(&mut bytes)?;
        let name = rules::callback_name(&bytes);
        if !Reflect::has(window, &JsValue::from_str(&name)).unwrap_or(true) {
            return Ok(name);
        }
    }
    Err(Error::invalid(
        "could not find an unused JSONP callback name",
    ))
}

// ---------------------------------------------------------------------------------------------
// The SockJS socket's jsonp-polling primitives

#[cfg(any(feature = "_socket", feature = "_socketio"))]
pub(crate) mod polling {
    //! What the SockJS socket's jsonp-polling transport needs from the browser: polls through
    //! `<script>` loads of `…/jsonp?c=<callback>` and sends with a no-CORS `fetch` POST.
    //!
    //! Receiving does what [`Jsonp`](super::Jsonp) does (a fresh 128-bit callback name per
    //! poll, `load`/`error` handlers, the same cleanup checklist) with one difference: the scripts
    //! run inside a hidden, same-origin `about:blank` `<iframe>` that lives as long as the
    //! transport. Browsers do not cancel a script load when the `<script>` is removed, and a SockJS
    //! server holds a poll open until it has data or a heartbeat (25 s), so a closed transport
    //! would keep one of the browser's few connections to the server busy that long; removing the
    //! iframe cancels its loads at once (checked in Chromium and Firefox), and the server sees
    //! the poll end. Callbacks live on the iframe's window, not the page's.
    //!
    //! Each poll is the same script dance as [`Jsonp`](super::Jsonp)'s (`js/jsonp.js`), and the
    //! POST is a few lines beside it: each settles one Promise, and the frame reaches the
    //! session as the JavaScript string the server called back with.
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

    use js_sys::JsString;
    use wasm_bindgen::JsCast;
    #[cfg(feature = "_socket")]
    use wasm_bindgen::JsValue;
    use web_sys::{Element, HtmlIFrameElement, Window};

    #[cfg(feature = "_socket")]
    use super::Outcome;
    use super::{start_post, Cancel};
    #[cfg(feature = "_socket")]
    use crate::protocol::{
        jsonp::{callback_name, CALLBACK_RANDOM_BYTES},
        ladder,
    };
    use crate::transport::pending::Pending;
    #[cfg(feature = "_socket")]
    use crate::transport::random;
    use crate::Error;

    /// The hidden iframe hosting a transport's scripts; removing it cancels their loads.
    pub(crate) struct ScriptFrame {
        frame: HtmlIFrameElement,
        window: Window,
    }

    impl Drop for ScriptFrame {
        fn drop(&mut self) {
            self.frame.remove();
        }
    }

    fn no_frame() -> Error {
        Error::invalid("jsonp-polling could not create its hidden iframe")
    }

    impl ScriptFrame {
        /// A hidden, same-origin `about:blank` iframe in the page.
        pub(crate) fn new() -> Result<ScriptFrame, Error> {
            let document = crate::transport::page::window()
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
            // A content document: the iframe is same-origin, so its window takes callbacks.
            let window = match (frame.content_window(), frame.content_document()) {
                (Some(w), Some(_)) => w,
                _ => {
                    frame.remove();
                    return Err(no_frame());
                }
            };
            Ok(ScriptFrame { frame, window })
        }

        /// The iframe's window, where the scripts run and their callbacks live.
        #[cfg_attr(not(feature = "_socketio"), allow(dead_code))]
        pub(crate) fn window(&self) -> &Window {
            &self.window
        }

        /// One poll: `then` gets the frame the server passed to the callback, as a JavaScript
        /// string. The script and the callback run in the iframe; both are removed when the
        /// poll ends or the returned [`Pending`] is dropped (then `then` does not run).
        #[cfg(feature = "_socket")]
        pub(crate) fn poll(
            &self,
            url: &str,
            then: impl FnOnce(Result<JsValue, Error>) + 'static,
        ) -> Result<Pending, Error> {
            let mut bytes = [0u8; CALLBACK_RANDOM_BYTES];
            random::fill(&mut bytes)?;
            let name = callback_name(&bytes);
            let src = ladder::add_query(url, &["c=", &name].concat());
            let call = Cancel(super::start_load(&self.window, &src, &name, None, 0));
            Ok(Pending::new(&call.0.done(), move |outcome| {
                drop(call);
                then(match Outcome::of(&outcome) {
                    Outcome::Called(frame) if frame.is_string() => Ok(frame),
                    Outcome::Called(_) => Err(Error::protocol(
                        "JSONP poll called back without a string frame",
                    )),
                    Outcome::Loaded => Err(Error::protocol(
                        "JSONP poll response did not call the callback",
                    )),
                    Outcome::Failed => Err(Error::network(
                        "JSONP poll script failed to load (network error, HTTP error status or blocked)",
                    )),
                    Outcome::TimedOut | Outcome::Cancelled => {
                        Err(Error::abort("JSONP poll was cancelled"))
                    }
                })
            }))
        }
    }

    /// POSTs `body` as text/plain without CORS; `then` gets `Ok` once the request went
    /// through. Dropping the returned [`Pending`] aborts the request (and `then` does not run).
    pub(crate) fn post_no_cors(
        url: &str,
        body: &JsString,
        then: impl FnOnce(Result<(), Error>) + 'static,
    ) -> Pending {
        let post = Cancel(start_post(url, body));
        Pending::new(&post.0.done(), move |ok| {
            drop(post);
            then(match ok.as_bool() {
                Some(true) => Ok(()),
                _ => Err(Error::network("jsonp_send failed: network error")),
            })
        })
    }
}
