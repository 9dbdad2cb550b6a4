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
//! The image is never inserted into the document. When the ping ends, or its future is
//! dropped, the timer is cleared, its `load`/`error` listeners are removed and the element is
//! released; `src` is left alone, so no second request is started.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
use gloo_timers::callback::Timeout;
use web_sys::{HtmlImageElement, Url};

use crate::security::{self, SecureOnly};
use crate::transport::listener::Listener;
use crate::transport::random;
use crate::Error;

/// Default time a ping may take: 10 seconds.
pub const DEFAULT_TIMEOUT_MS: u32 = 10_000;

/// The name of the cache-busting query parameter added by [`Ping::cache_bust`].
pub const CACHE_BUST_PARAM: &str = "_";

/// How the server's answer to a ping ended. Either way the request reached the server.
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
    /// - [`Invalid`](crate::ErrorKind::Invalid) before anything is sent: no window/document, a
    ///   URL that does not parse or is not http(s), an `http:` URL refused by secure-only
    ///   mode, or no `crypto.getRandomValues` (only needed for cache busting);
    /// - [`Timeout`](crate::ErrorKind::Timeout): no answer within the timeout.
    ///
    /// An HTTP error status is not a failure: it resolves to [`PingOutcome::Errored`].
    /// Dropping the future stops listening (the request itself may already be on its way).
    pub async fn send(self) -> Result<PingOutcome, Error> {
        let window =
            web_sys::window().ok_or_else(|| Error::invalid("image ping needs a window"))?;
        let document = window
            .document()
            .ok_or_else(|| Error::invalid("image ping needs a document"))?;
        let base = document.base_uri().ok().flatten().unwrap_or_default();
        let url = Url::new_with_base(&self.url, &base)
            .map_err(|_| Error::invalid("the ping URL is not a valid URL"))?;
        if !matches!(url.protocol().as_str(), "http:" | "https:") {
            return Err(Error::invalid("the ping URL must be http or https"));
        }
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

        let image = HtmlImageElement::new()
            .map_err(|_| Error::invalid("could not create an image element"))?;
        let (tx, rx) = oneshot::channel::<Option<PingOutcome>>();
        let slot: Slot = Rc::new(RefCell::new(Some(tx)));
        let on = |name: &'static str, outcome: PingOutcome| {
            let slot = slot.clone();
            Listener::new(&image, name, move |_| settle(&slot, Some(outcome)))
        };
        let pending = Pending {
            _load: on("load", PingOutcome::Loaded),
            _error: on("error", PingOutcome::Errored),
            _timer: (self.timeout_ms > 0).then(|| {
                let slot = slot.clone();
                Timeout::new(self.timeout_ms, move || settle(&slot, None))
            }),
            image,
        };
        pending.image.set_src(&url.href());

        let outcome = rx.await;
        drop(pending);
        match outcome {
            Ok(Some(outcome)) => Ok(outcome),
            Ok(None) => Err(Error::timeout("the ping got no answer within the timeout")),
            Err(_) => Err(Error::abort("the ping was cancelled")),
        }
    }
}

/// The first of load / error / timeout takes the sender (`None` means timed out).
type Slot = Rc<RefCell<Option<oneshot::Sender<Option<PingOutcome>>>>>;

fn settle(slot: &Slot, outcome: Option<PingOutcome>) {
    let tx = slot.borrow_mut().take();
    if let Some(tx) = tx {
        let _ = tx.send(outcome);
    }
}

/// Owns the image, its two listeners and the timer; dropping it clears the timer and removes
/// the listeners (each [`Listener`] does so on drop), then releases the image.
struct Pending {
    _load: Listener,
    _error: Listener,
    _timer: Option<Timeout>,
    image: HtmlImageElement,
}
