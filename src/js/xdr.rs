//! `xdrRequest(opts)` and `corsSupport()` for JavaScript: [`crate::transport::xdr`] and
//! [`crate::transport::cors`].

use js_sys::Promise;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use crate::js::opts;
use crate::transport::cors;
use crate::transport::xdr::{self, XdrRequest};
use crate::Error;

#[wasm_bindgen(typescript_custom_section)]
const TS: &str = r#"
/** Options of `xdrRequest()`: an XDomainRequest-style request (GET/POST, text body, no
 * headers, no credentials). Anything outside those limits rejects with kind `"invalid"`. */
export interface XdrRequestOptions {
  /** Absolute, or relative to the page; http(s) with the page's scheme. */
  url: string;
  /** `"GET"` (default) or `"POST"`. */
  method?: "GET" | "POST" | "get" | "post";
  /** Text body of a POST, sent as `text/plain`. */
  body?: string;
  /** Milliseconds before the request fails with kind `"timeout"`; 0 (default) means none. */
  timeout?: number;
  /** Secure-only mode for this request, replacing the `setDefaults()` one. (No `xsrf`: an
   * XDR-style request cannot carry headers; asking for one rejects with kind `"invalid"`, and
   * the page-wide token is not sent.) */
  secureOnly?: SecureOnly;
}

/** The cross-origin request API this browser has: CORS-capable XHR, only XDomainRequest, or
 * neither (use `jsonp()`). */
export type CorsSupport = "xhr" | "xdr" | "none";
"#;

/// Sends an XDomainRequest-style request (on `window.XDomainRequest` if present, else on XHR
/// within XDR's limits) and resolves with a response shaped like `request()`'s, with empty
/// `headers`.
///
/// Rejects with a `CometkitError` whose `kind` is `"invalid"` (options outside XDR's limits:
/// `headers`, `xsrf`, `withCredentials: true`, `json`, `form`, a non-string `body`, a method other than
/// GET/POST, a body with GET, a URL that is not http(s) or not the page's scheme; nothing is
/// sent), `"http"` (non-2xx status, XHR path), `"network"`, or `"timeout"`.
#[wasm_bindgen(js_name = xdrRequest, unchecked_return_type = "XhrResponse<unknown, string>")]
pub fn xdr_request(
    #[wasm_bindgen(unchecked_param_type = "XdrRequestOptions")] opts: JsValue,
) -> Promise {
    // No Rust future: the exchange's own promise settles the result.
    let exchange = match build(&opts).and_then(XdrRequest::start) {
        Ok(exchange) => exchange,
        Err(e) => return Promise::reject(&e.into()),
    };
    let done = exchange.done();
    crate::js::then(&done, move |outcome| {
        let status = exchange.outcome(&outcome);
        xdr::response(&exchange, status).map(crate::js::xhr::response_to_js)
    })
}

fn build(opts: &JsValue) -> Result<XdrRequest, Error> {
    if !opts.is_object() {
        return Err(Error::invalid("xdrRequest options must be an object"));
    }
    for key in ["headers", "json", "form"] {
        let v = opts::get(opts, key);
        if !(v.is_undefined() || v.is_null()) {
            return Err(Error::invalid(crate::error::concat(&[
                "option `",
                key,
                "` is not available in an XDR-style request",
            ])));
        }
    }
    if crate::js::security::wants_xsrf(opts) {
        return Err(Error::invalid(
            "option `xsrf` is not available in an XDR-style request: it cannot carry headers (use request())",
        ));
    }
    if opts::boolean(opts, "withCredentials")? == Some(true) {
        return Err(Error::invalid(
            "option `withCredentials` is not available in an XDR-style request (no cookies)",
        ));
    }
    let url =
        opts::string(opts, "url")?.ok_or_else(|| Error::invalid("option `url` is required"))?;
    let method = opts::string(opts, "method")?;
    let mut request = XdrRequest::new(method.as_deref().unwrap_or("GET"), &url);
    if let Some(body) = opts::string(opts, "body")? {
        request = request.body(body);
    }
    if let Some(ms) = opts::uint(opts, "timeout")? {
        request = request.timeout(ms);
    }
    if let Some(policy) = crate::js::security::secure_only(opts)? {
        request = request.secure_only(policy);
    }
    Ok(request)
}

/// `"xhr"`, `"xdr"` or `"none"`: which cross-origin request API this browser offers (see
/// [`cors::detect`]).
#[wasm_bindgen(js_name = corsSupport, unchecked_return_type = "CorsSupport")]
pub fn cors_support() -> JsValue {
    JsValue::from_str(cors::detect().as_str())
}
