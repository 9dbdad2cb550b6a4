//! Which cross-origin request mechanism the browser offers: the classic `createCORSRequest`
//! test.
//!
//! - [`CorsSupport::Xhr`]: `XMLHttpRequest` has `withCredentials`, so it speaks CORS (every
//!   current browser); use [`crate::transport::xhr`].
//! - [`CorsSupport::Xdr`]: no CORS-capable XHR but a `window.XDomainRequest` (Internet Explorer
//!   8 and 9); use [`crate::transport::xdr`], which also runs on XHR under XDR's rules.
//! - [`CorsSupport::None`]: neither; only JSONP (`transport::jsonp`) or an image ping
//!   (`transport::ping`) can reach another origin.
//!
//! Compiled with the `xdr` feature, the only one that can act on all three answers.

use js_sys::Reflect;
use wasm_bindgen::JsValue;

/// The cross-origin request mechanism available, best first.
///
/// ```no_run
/// use cometkit::transport::cors::{detect, CorsSupport};
///
/// match detect() {
///     CorsSupport::Xhr => { /* transport::xhr::Request */ }
///     CorsSupport::Xdr => { /* transport::xdr::XdrRequest */ }
///     CorsSupport::None => { /* transport::jsonp or transport::ping */ }
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorsSupport {
    /// `XMLHttpRequest` with CORS (`withCredentials` exists).
    Xhr,
    /// Only `XDomainRequest`.
    Xdr,
    /// No cross-origin request API: fall back to JSONP.
    None,
}

impl CorsSupport {
    /// `"xhr"`, `"xdr"` or `"none"` (the JavaScript names).
    pub fn as_str(self) -> &'static str {
        match self {
            CorsSupport::Xhr => "xhr",
            CorsSupport::Xdr => "xdr",
            CorsSupport::None => "none",
        }
    }
}

/// The decision from the two facts [`detect`] looks up: a CORS-capable XHR wins over
/// `XDomainRequest`, which wins over nothing.
pub fn decide(xhr_has_with_credentials: bool, has_xdomain_request: bool) -> CorsSupport {
    if xhr_has_with_credentials {
        CorsSupport::Xhr
    } else if has_xdomain_request {
        CorsSupport::Xdr
    } else {
        CorsSupport::None
    }
}

/// Looks at this browser: `"withCredentials" in new XMLHttpRequest()`, then
/// `"XDomainRequest" in globalThis`. See
/// [`withCredentials`](https://developer.mozilla.org/docs/Web/API/XMLHttpRequest/withCredentials).
/// Never fails: anything that throws counts as "not available".
pub fn detect() -> CorsSupport {
    let with_credentials = web_sys::XmlHttpRequest::new()
        .ok()
        .and_then(|xhr| Reflect::has(&xhr, &JsValue::from_str("withCredentials")).ok())
        .unwrap_or(false);
    let has_xdr = Reflect::has(
        &crate::transport::page::global(),
        &JsValue::from_str("XDomainRequest"),
    )
    .unwrap_or(false);
    decide(with_credentials, has_xdr)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn decision_order() {
        assert_eq!(decide(true, true), CorsSupport::Xhr);
        assert_eq!(decide(true, false), CorsSupport::Xhr);
        assert_eq!(decide(false, true), CorsSupport::Xdr);
        assert_eq!(decide(false, false), CorsSupport::None);
    }

    #[test]
    fn js_names() {
        assert_eq!(CorsSupport::Xhr.as_str(), "xhr");
        assert_eq!(CorsSupport::Xdr.as_str(), "xdr");
        assert_eq!(CorsSupport::None.as_str(), "none");
    }
}
