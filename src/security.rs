//! Security helpers: a CSRF token on requests, secure-only mode, and trusted JSONP origins,
//! per call or page-wide with [`set_defaults`]. The JavaScript face is `setDefaults()` and the
//! `xsrf`, `secureOnly` and `trustedOrigins` options.
//!
//! What each one protects against, and what it does not, is in the README's "Security model".
//! In short:
//! - **CSRF token** ([`Xsrf`]): the token (from a cookie, a `<meta>` tag or a function) is sent
//!   in a header the server checks, proving the request comes from a page that could read the
//!   token. It is sent to the page's own origin only, plus the origins listed with
//!   [`Xsrf::origin`]: sending it anywhere else would hand it to a third party (the mistake of
//!   CVE-2023-45857). The server must still check it; this only sends it.
//! - **Secure-only** ([`SecureOnly`]): `http:` and `ws:` URLs fail as
//!   [`Invalid`](crate::ErrorKind::Invalid) before anything is sent.
//! - **Trusted JSONP origins** ([`Defaults::jsonp_origins`],
//!   `transport::jsonp::Jsonp::trusted_origins`): a JSONP URL outside the list fails before
//!   any `<script>` is added.
//!
//! Every check runs on the URL as given, resolved against the page; a redirect the server
//! answers with is followed by the browser without asking (see the README).
//!
//! The rules themselves are pure and tested natively in [`crate::protocol::security`].

use std::cell::RefCell;
use std::rc::Rc;

use crate::protocol::security as rules;
pub use crate::protocol::security::SecureOnly;
use crate::transport::page;
use crate::Error;

/// Where a CSRF token comes from and which header carries it. Sent by `transport::xhr::Request`
/// (and everything built on it: the EventSource polyfill, the Socket's XHR transports) when set
/// per request or page-wide.
///
/// The token is looked up at each request, first in the [`token_fn`](Xsrf::token_fn), then the
/// [`meta`](Xsrf::meta) tag, then the [`cookie`](Xsrf::cookie); none found (or an empty one)
/// sends no header. Without any source, the cookie `XSRF-TOKEN` is read.
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::security::Xsrf;
/// use cometkit::transport::xhr::Request;
/// let xsrf = Xsrf::new("X-CSRF-Token").meta("csrf-token").origin("https://api.example.com");
/// Request::post("https://api.example.com/items").xsrf(xsrf).send().await?;
/// # Ok(()) }
/// ```
#[cfg(feature = "_xhr")]
#[derive(Clone)]
pub struct Xsrf {
    header: String,
    cookie: Option<String>,
    meta: Option<String>,
    token: Option<Rc<dyn Fn() -> Option<String>>>,
    /// Normalised once, when added ([`rules::normalize_origin`]).
    origins: Vec<String>,
    /// An entry given to [`Xsrf::origin`] was not an origin: every use fails as invalid.
    bad_origin: bool,
}

/// The header [`Xsrf::default`] sends (the name axios and Angular use).
#[cfg(feature = "_xhr")]
pub const DEFAULT_HEADER: &str = "X-XSRF-TOKEN";
/// The cookie read when no token source is set.
#[cfg(feature = "_xhr")]
pub const DEFAULT_COOKIE: &str = "XSRF-TOKEN";

#[cfg(feature = "_xhr")]
impl Default for Xsrf {
    /// Header [`DEFAULT_HEADER`], token from the cookie [`DEFAULT_COOKIE`], same-origin only.
    fn default() -> Self {
        Xsrf::new(DEFAULT_HEADER)
    }
}

#[cfg(feature = "_xhr")]
impl Xsrf {
    /// The token goes in the request header `header_name` (an HTTP token, checked when used).
    pub fn new(header_name: impl Into<String>) -> Self {
        Xsrf {
            header: header_name.into(),
            cookie: None,
            meta: None,
            token: None,
            origins: Vec::new(),
            bad_origin: false,
        }
    }

    /// Reads the token from the cookie `name` (`document.cookie`: the server must not set it
    /// `HttpOnly`), percent-decoded.
    pub fn cookie(mut self, name: impl Into<String>) -> Self {
        self.cookie = Some(name.into());
        self
    }

    /// Reads the token from `<meta name="{name}" content="...">` in the document.
    pub fn meta(mut self, name: impl Into<String>) -> Self {
        self.meta = Some(name.into());
        self
    }

    /// Asks `f` for the token at each request; `None` (or an empty string) falls through to
    /// the meta tag and the cookie.
    pub fn token_fn(mut self, f: impl Fn() -> Option<String> + 'static) -> Self {
        self.token = Some(Rc::new(f));
        self
    }

    /// Also sends the token to `origin` (`https://api.example.com`, `http://127.0.0.1:8090`;
    /// `https://*.example.com` for every subdomain). The page's own origin never needs listing.
    /// An entry that is not an origin fails the request as [`Invalid`](crate::ErrorKind::Invalid).
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        match rules::normalize_origin(&origin.into()) {
            Ok(origin) => self.origins.push(origin),
            Err(_) => self.bad_origin = true,
        }
        self
    }

    /// The request header that carries the token.
    pub fn header_name(&self) -> &str {
        &self.header
    }

    /// Fails on a header name that is not an HTTP token or an origin entry that is not an
    /// origin.
    fn validate(&self) -> Result<(), Error> {
        if self.bad_origin {
            return Err(Error::invalid(rules::BAD_ORIGIN));
        }
        crate::protocol::headers::validate_header(&self.header, "")
    }

    /// The token, from the first source that has a non-empty one.
    fn read_token(&self) -> Option<String> {
        let non_empty = |t: Option<String>| t.filter(|t| !t.is_empty());
        if let Some(token) = non_empty(self.token.as_ref().and_then(|f| f())) {
            return Some(token);
        }
        if let Some(token) = non_empty(self.meta.as_deref().and_then(page::meta_content)) {
            return Some(token);
        }
        let cookie = match (&self.cookie, &self.token, &self.meta) {
            (Some(name), _, _) => name.as_str(),
            (None, None, None) => DEFAULT_COOKIE,
            (None, _, _) => return None,
        };
        rules::cookie_value(&page::cookies()?, cookie)
    }

    /// The `(header, token)` to send with a request to `url`: `None` when `url` is neither
    /// same-origin nor listed, or when no token is found. `Invalid` for a bad header name or
    /// origin entry, a URL that does not parse, or a token that is not a valid header value.
    pub fn header_for(&self, url: &str) -> Result<Option<(String, String)>, Error> {
        self.validate()?;
        let target = page::resolve(url)
            .ok_or_else(|| Error::invalid("the request URL is not a valid URL"))?
            .origin();
        if !rules::may_send_token(&page::origin(), &target, &self.origins) {
            return Ok(None);
        }
        let Some(token) = self.read_token() else {
            return Ok(None);
        };
        crate::protocol::headers::validate_header(&self.header, &token)
            .map_err(|_| Error::invalid("the XSRF token is not a valid header value"))?;
        Ok(Some((self.header.clone(), token)))
    }
}

#[cfg(feature = "_xhr")]
impl std::fmt::Debug for Xsrf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Xsrf")
            .field("header", &self.header)
            .field("cookie", &self.cookie)
            .field("meta", &self.meta)
            .field("token_fn", &self.token.is_some())
            .field("origins", &self.origins)
            .finish()
    }
}

/// Page-wide settings, installed with [`set_defaults`]. Each per-call option overrides its
/// default (`Request::no_xsrf`, `secure_only(SecureOnly::Off)`, `trusted_origins`).
///
/// ```
/// use cometkit::security::{set_defaults, Defaults, SecureOnly, Xsrf};
///
/// set_defaults(
///     Defaults::new()
///         .xsrf(Xsrf::new("X-CSRF-Token").meta("csrf-token"))
///         .secure_only(SecureOnly::AllowLoopback)
///         .jsonp_origins(["https://api.example.com"]),
/// )?;
/// # Ok::<(), cometkit::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Defaults {
    #[cfg(feature = "_xhr")]
    xsrf: Option<Xsrf>,
    secure_only: SecureOnly,
    #[cfg(feature = "_jsonp")]
    jsonp_origins: Option<Vec<String>>,
}

impl Defaults {
    /// Nothing on: no token, every scheme, JSONP to any origin.
    pub fn new() -> Self {
        Defaults::default()
    }

    /// Sends this CSRF token with every XHR-based request.
    #[cfg(feature = "_xhr")]
    pub fn xsrf(mut self, xsrf: Xsrf) -> Self {
        self.xsrf = Some(xsrf);
        self
    }

    /// Applies secure-only mode to every request, JSONP call, ping, and (where the entry point
    /// calls [`check_url`]) EventSource and WebSocket.
    pub fn secure_only(mut self, policy: SecureOnly) -> Self {
        self.secure_only = policy;
        self
    }

    /// JSONP (and the Socket's jsonp-polling) may only load from these origins; an empty list
    /// refuses every JSONP call. Entries as in [`Xsrf::origin`]; the page's own origin is not
    /// implied.
    #[cfg(feature = "_jsonp")]
    pub fn jsonp_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.jsonp_origins = Some(origins.into_iter().map(Into::into).collect());
        self
    }
}

thread_local! {
    /// The page's defaults; an `Rc` so a reader never holds the borrow while user code (a
    /// token function) runs and might call `set_defaults`.
    static DEFAULTS: RefCell<Option<Rc<Defaults>>> = const { RefCell::new(None) };
}

/// Replaces every page-wide default at once (`set_defaults(Defaults::new())` turns them all
/// off). `Invalid`, leaving the old defaults in place, for a bad header name or origin entry.
pub fn set_defaults(defaults: Defaults) -> Result<(), Error> {
    #[cfg(feature = "_xhr")]
    if let Some(xsrf) = &defaults.xsrf {
        xsrf.validate()?;
    }
    #[cfg(feature = "_jsonp")]
    for entry in defaults.jsonp_origins.iter().flatten() {
        rules::normalize_origin(entry).map_err(Error::invalid)?;
    }
    // `try_with`/`try_borrow_mut`: no panic path (and no formatting code) for a case that
    // cannot happen on the page's one thread.
    let _ = DEFAULTS.try_with(|d| {
        if let Ok(mut slot) = d.try_borrow_mut() {
            *slot = Some(Rc::new(defaults));
        }
    });
    Ok(())
}

/// The page's defaults as last set.
pub(crate) fn defaults() -> Rc<Defaults> {
    DEFAULTS
        .try_with(|d| d.try_borrow().ok().and_then(|slot| slot.clone()))
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// The secure-only check every transport runs before sending: `per_call` when given, else the
/// page default. `Invalid` for an `http:`/`ws:` URL the policy refuses, or a URL that does not
/// parse while a policy is on (with the policy off nothing is parsed: the transport reports
/// bad URLs itself).
///
/// Entry points that do not go through `Request`, `XdrRequest`, `Jsonp` or `Ping` (EventSource,
/// WebSocket, the Socket) call this with the URL they are about to open.
pub fn check_url(url: &str, per_call: Option<SecureOnly>) -> Result<(), Error> {
    let policy = effective_secure_only(per_call);
    if policy == SecureOnly::Off {
        return Ok(());
    }
    let parsed =
        page::resolve(url).ok_or_else(|| Error::invalid("the request URL is not a valid URL"))?;
    rules::check_secure(&parsed.protocol(), &parsed.hostname(), policy).map_err(Error::invalid)
}

/// The secure-only policy in force: `per_call` when given, else the page default. For
/// transports that decide once and apply the same policy to later requests (reconnections).
pub fn effective_secure_only(per_call: Option<SecureOnly>) -> SecureOnly {
    per_call.unwrap_or_else(|| defaults().secure_only)
}

/// The trusted-JSONP check: `Invalid` when a list applies (`per_call`, else the page's
/// `jsonp_origins`) and the origin of `url` is not in it. No list: any origin.
#[cfg(feature = "_jsonp")]
pub fn check_jsonp_url(url: &str, per_call: Option<&[String]>) -> Result<(), Error> {
    let defaults = defaults();
    let Some(list) = per_call.or(defaults.jsonp_origins.as_deref()) else {
        return Ok(());
    };
    let origin = page::resolve(url)
        .ok_or_else(|| Error::invalid("the JSONP URL is not a valid URL"))?
        .origin();
    if rules::origin_in_list(list, &origin).map_err(Error::invalid)? {
        Ok(())
    } else {
        Err(Error::invalid(
            "the JSONP URL's origin is not one of the trusted origins",
        ))
    }
}

/// The CSRF header the page-wide [`Xsrf`] default gives a request to `url`, if any (see
/// [`Xsrf::header_for`]). For transports that build their own requests.
#[cfg(feature = "_xhr")]
pub fn xsrf_header_for(url: &str) -> Result<Option<(String, String)>, Error> {
    match &defaults().xsrf {
        Some(xsrf) => xsrf.header_for(url),
        None => Ok(None),
    }
}

/// Which CSRF setting a request uses.
#[cfg(feature = "_xhr")]
#[derive(Clone, Debug, Default)]
pub(crate) enum XsrfChoice {
    /// The page-wide default, if any.
    #[default]
    Page,
    /// None, whatever the page says.
    Off,
    /// This one.
    Use(Xsrf),
}

#[cfg(feature = "_xhr")]
impl XsrfChoice {
    /// The header to add to a request to `url`.
    pub(crate) fn header_for(&self, url: &str) -> Result<Option<(String, String)>, Error> {
        match self {
            XsrfChoice::Page => xsrf_header_for(url),
            XsrfChoice::Off => Ok(None),
            XsrfChoice::Use(xsrf) => xsrf.header_for(url),
        }
    }
}
