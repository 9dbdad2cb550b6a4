//! Image ping: a fire-and-confirm GET through an
//! [`HTMLImageElement`](https://developer.mozilla.org/docs/Web/API/HTMLImageElement).
//!
//! The oldest cross-origin beacon: setting an image's `src` makes the browser send a GET with
//! the page's cookies to any origin, no CORS involved. The page learns only whether the answer
//! decoded as an image ([`PingOutcome::Loaded`]) or not ([`PingOutcome::Errored`]: a 404, a
//! text body, a refused connection); the body itself is unreadable by design. That makes it a
//! one-way channel (analytics, click tracking, "still alive" signals) that works where nothing
//! else is allowed.
//!
//! On a cross-origin isolated page (`Cross-Origin-Embedder-Policy: require-corp`) the browser
//! blocks the answer unless it carries `Cross-Origin-Resource-Policy: cross-origin`; the ping
//! still reaches the server but resolves as [`PingOutcome::Errored`].
//!
//! The image is never inserted into the document. The image dance itself (listeners, timer,
//! `src`) is a few lines of JavaScript in a snippet, so the JS `ping()` needs no Rust future or
//! closure: Rust decides everything else (URL, parameters, cache busting, errors). When the ping
//! ends, or its future is dropped, the timer is cleared, the image's `load`/`error` handlers are
//! removed and the element is released; `src` is left alone, so no second request is started.

use js_sys::Promise;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use crate::security::{self, SecureOnly};
use crate::transport::{page, random};
use crate::Error;

#[wasm_bindgen(inline_js = "export function cometkit_ping_start(src, ms) {\n\
    var img = new Image(), timer, settle;\n\
    var done = new Promise(function (resolve) {\n\
        settle = function (outcome) {\n\
            clearTimeout(timer);\n\
            img.onload = img.onerror = null;\n\
            resolve(outcome);\n\
        };\n\
    });\n\
    img.onload = function () { settle(true); };\n\
    img.onerror = function () { settle(false); };\n\
    if (ms > 0) timer = setTimeout(function () { settle(); }, ms);\n\
    img.src = src;\n\
    return { done: done, cancel: function () { settle(null); } };\n\
}\n\
export function cometkit_ping_result(pending, timeoutError) {\n\
    return pending.done.then(function (loaded) {\n\
        return loaded === undefined ? Promise.reject(timeoutError) : { loaded: loaded };\n\
    });\n\
}")]
extern "C" {
    /// A ping in flight: `done` resolves to `true` (the answer decoded as an image), `false`
    /// (it did not), `undefined` (no answer within the timeout) or `null` (cancelled).
    pub(crate) type Pending;

    /// Loads `src` into a detached image; `ms` of 0 waits without limit.
    #[wasm_bindgen(js_name = cometkit_ping_start)]
    fn start(src: &str, ms: u32) -> Pending;

    #[wasm_bindgen(method, getter)]
    fn done(this: &Pending) -> Promise;

    /// Clears the timer and the handlers, and settles `done` with `null`.
    #[wasm_bindgen(method)]
    fn cancel(this: &Pending);

    /// `done` in the JS API's shape: `{loaded}`, or a rejection with `timeout_error`.
    #[wasm_bindgen(js_name = cometkit_ping_result)]
    pub(crate) fn result(pending: &Pending, timeout_error: &JsValue) -> Promise;
}

/// Default time a ping may take: 10 seconds.
pub const DEFAULT_TIMEOUT_MS: u32 = 10_000;

/// The name of the cache-busting query parameter added by [`Ping::cache_bust`].
pub const CACHE_BUST_PARAM: &str = "_";

/// How the server's answer to a ping ended. Either way the request reached the server.
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::transport::ping::{Ping, PingOutcome};
/// match Ping::new("/beacon.gif").param("event", "signup").send().await? {
///     PingOutcome::Loaded => {}
///     PingOutcome::Errored => println!("reached the server, but no image came back"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingOutcome {
    /// The answer decoded as an image (the usual 1x1 GIF of a beacon endpoint).
    Loaded,
    /// The answer came but was not an image: an HTTP error status, a non-image body, or a
    /// connection failure (the browser does not tell these apart for images).
    Errored,
}

impl PingOutcome {
    /// True for [`PingOutcome::Loaded`].
    pub fn loaded(self) -> bool {
        self == PingOutcome::Loaded
    }
}

/// An image ping, configured with builder methods and run by [`Ping::send`].
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::transport::ping::Ping;
/// let outcome = Ping::new("https://stats.example.com/hit.gif")
///     .param("page", "/pricing")
///     .send()
///     .await?;
/// # let _ = outcome; Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Ping does nothing until `send` is awaited"]
pub struct Ping {
    url: String,
    params: Vec<(String, String)>,
    timeout_ms: u32,
    cache_bust: bool,
    secure_only: Option<SecureOnly>,
}

impl Ping {
    /// A ping to `url`, resolved against the page's base URL; it must be http or https.
    pub fn new(url: impl Into<String>) -> Self {
        Ping {
            url: url.into(),
            params: Vec::new(),
            timeout_ms: DEFAULT_TIMEOUT_MS,
            cache_bust: true,
            secure_only: None,
        }
    }

    /// Appends the query parameter `name=value` (URL-encoded for you; repeats are kept).
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// How long to wait for the answer, in milliseconds (default [`DEFAULT_TIMEOUT_MS`]); `0`
    /// waits without limit.
    pub fn timeout(mut self, ms: u32) -> Self {
        self.timeout_ms = ms;
        self
    }

    /// Whether to add a random `_=<token>` parameter (default `true`). Browsers reuse an image
    /// they already have for the same URL (memory image cache, HTTP cache), so without it a
    /// repeated identical ping may never reach the server. Turn it off only when the URL is
    /// already unique or the server marks its answer uncacheable and duplicates may be lost.
    pub fn cache_bust(mut self, on: bool) -> Self {
        self.cache_bust = on;
        self
    }

    /// Secure-only mode for this ping, instead of the page-wide default of
    /// [`security::set_defaults`]: an `http:` URL it refuses fails before anything is sent.
    pub fn secure_only(mut self, policy: SecureOnly) -> Self {
        self.secure_only = Some(policy);
        self
    }

    /// Sends the ping and resolves when the server's answer has been handled by the browser.
    ///
    /// Fails with:
    /// - [`Invalid`](crate::ErrorKind::Invalid) before anything is sent: no document, a
    ///   URL that does not parse or is not http(s), an `http:` URL refused by secure-only
    ///   mode, or no `crypto.getRandomValues` (only needed for cache busting);
    /// - [`Timeout`](crate::ErrorKind::Timeout): no answer within the timeout.
    ///
    /// An HTTP error status is not a failure: it resolves to [`PingOutcome::Errored`].
    /// Dropping the future stops listening (the request itself may already be on its way).
    pub async fn send(self) -> Result<PingOutcome, Error> {
        let pending = CancelOnDrop(self.start()?);
        // `done` never rejects.
        let outcome = wasm_bindgen_futures::JsFuture::from(pending.0.done()).await;
        match outcome.ok().and_then(|v| v.as_bool()) {
            Some(true) => Ok(PingOutcome::Loaded),
            Some(false) => Ok(PingOutcome::Errored),
            None => Err(timed_out()),
        }
    }

    /// Validates the ping, builds its URL and sets the image loading: the part of
    /// [`Ping::send`] before the wait, shared with the JS `ping()`. Fails as `send` does with
    /// [`Invalid`](crate::ErrorKind::Invalid).
    pub(crate) fn start(self) -> Result<Pending, Error> {
        if !page::has_document() {
            return Err(Error::invalid("image ping needs a document"));
        }
        let url = page::resolve_http_url(&self.url, "ping")?;
        security::check_url(&url.href(), self.secure_only)?;
        let query = url.search_params();
        for (name, value) in &self.params {
            query.append(name, value);
        }
        if self.cache_bust {
            let mut bytes = [0u8; 8];
            random::fill(&mut bytes)?;
            query.set(CACHE_BUST_PARAM, &random::hex(&bytes));
        }
        Ok(start(&url.href(), self.timeout_ms))
    }
}

/// The error of a ping that got no answer within its timeout.
pub(crate) fn timed_out() -> Error {
    Error::timeout("the ping got no answer within the timeout")
}

/// Cancels the ping when the future that waits for it is dropped first.
struct CancelOnDrop(Pending);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}
