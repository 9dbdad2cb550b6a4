//! `setDefaults()` and the readers of the security options (`xsrf`, `secureOnly`,
//! `trustedOrigins`) for JavaScript: [`crate::security`] behind plain option objects.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use crate::js::opts;
use crate::security::{self, Defaults, SecureOnly};
use crate::Error;

#[wasm_bindgen(typescript_custom_section)]
const TS: &str = r#"
/**
 * Secure-only mode: `true` refuses `http:` and `ws:` URLs (kind `"invalid"`, nothing is sent);
 * `{ allowLoopback: true }` still lets them reach `localhost`, `*.localhost`, `127.0.0.0/8`
 * and `[::1]`; `false` turns a page-wide default off for one call.
 */
export type SecureOnly = boolean | { allowLoopback?: boolean };

/**
 * A CSRF token sent in a request header, to the page's own origin and to the listed `origins`
 * only. The token is read at each request from `token()`, then the `<meta>` tag, then the
 * cookie; none found sends no header. Without any source, the cookie `XSRF-TOKEN` is read.
 */
export interface XsrfOptions {
  /** The request header carrying the token. Default `"X-XSRF-TOKEN"`. */
  headerName?: string;
  /** Read the token from this cookie (`document.cookie`: not an `HttpOnly` one). */
  cookieName?: string;
  /** Read the token from `<meta name="{metaName}" content="...">`. */
  metaName?: string;
  /** Return the token (a string; anything else, or a throw, means none). */
  token?: () => string | null | undefined;
  /** Other origins that may receive the token, e.g. `"https://api.example.com"` or
   * `"https://*.example.com"`. The page's own origin needs no listing. */
  origins?: string[];
}

/** The page-wide defaults of `setDefaults()`. */
export interface SecurityDefaults {
  /** The CSRF token for every `request()`, EventSource polyfill and Socket XHR transport
   * (`true`: the `XSRF-TOKEN` cookie in `X-XSRF-TOKEN`). */
  xsrf?: XsrfOptions | boolean;
  /** Secure-only mode for every request, `xdrRequest()`, `jsonp()`, `ping()`, EventSource,
   * WebSocket and Socket. */
  secureOnly?: SecureOnly;
  /** The only origins `jsonp()` and the Socket's jsonp-polling may load from; `[]` refuses
   * all. The page's own origin is not implied. */
  jsonpOrigins?: string[];
}

/**
 * Replaces the page-wide security defaults (`setDefaults({})` turns them all off). Each
 * per-call option (`xsrf`, `secureOnly`, `trustedOrigins`) overrides its default.
 * Throws a `CometkitError` of kind `"invalid"` for a bad option, keeping the old defaults.
 */
export function setDefaults(defaults: SecurityDefaults): void;
"#;

/// Replaces the page-wide security defaults; see [`security::set_defaults`].
#[wasm_bindgen(js_name = setDefaults, skip_typescript)]
pub fn set_defaults(defaults: JsValue) -> Result<(), JsValue> {
    Ok(security::set_defaults(read_defaults(&defaults)?)?)
}

fn read_defaults(obj: &JsValue) -> Result<Defaults, Error> {
    if !obj.is_object() {
        return Err(Error::invalid("setDefaults needs an object"));
    }
    let mut defaults = Defaults::new();
    #[cfg(feature = "xhr")]
    if let Some(Some(xsrf)) = xsrf(obj)? {
        defaults = defaults.xsrf(xsrf);
    }
    if let Some(policy) = secure_only(obj)? {
        defaults = defaults.secure_only(policy);
    }
    #[cfg(feature = "jsonp")]
    if let Some(list) = origins(obj, "jsonpOrigins")? {
        defaults = defaults.jsonp_origins(list);
    }
    Ok(defaults)
}

fn given(v: &JsValue) -> bool {
    !(v.is_undefined() || v.is_null())
}

/// The `secureOnly` option (see the `SecureOnly` type): `None` when not given.
pub(crate) fn secure_only(obj: &JsValue) -> Result<Option<SecureOnly>, Error> {
    let v = opts::get(obj, "secureOnly");
    if !given(&v) {
        return Ok(None);
    }
    if let Some(on) = v.as_bool() {
        return Ok(Some(if on {
            SecureOnly::Always
        } else {
            SecureOnly::Off
        }));
    }
    if !v.is_object() {
        return Err(opts::bad(
            "secureOnly",
            "a boolean or { allowLoopback: boolean }",
        ));
    }
    Ok(Some(if opts::boolean(&v, "allowLoopback")? == Some(true) {
        SecureOnly::AllowLoopback
    } else {
        SecureOnly::Always
    }))
}

/// An array of origin strings under `key`, each checked: `None` when not given.
#[cfg(any(feature = "xhr", feature = "jsonp"))]
pub(crate) fn origins(obj: &JsValue, key: &str) -> Result<Option<Vec<String>>, Error> {
    let v = opts::get(obj, key);
    if !given(&v) {
        return Ok(None);
    }
    let err = || opts::bad(key, "an array of origins such as \"https://example.com\"");
    if !js_sys::Array::is_array(&v) {
        return Err(err());
    }
    let mut list = Vec::new();
    for entry in js_sys::Array::from(&v).iter() {
        let entry = entry.as_string().ok_or_else(err)?;
        crate::protocol::security::normalize_origin(&entry).map_err(|_| err())?;
        list.push(entry);
    }
    Ok(Some(list))
}

/// The `xsrf` option: `None` when not given, `Some(None)` for `false` (no token for this
/// call), `Some(Some(_))` for `true` (the defaults) or an `XsrfOptions` object.
#[cfg(feature = "xhr")]
pub(crate) fn xsrf(obj: &JsValue) -> Result<Option<Option<security::Xsrf>>, Error> {
    let v = opts::get(obj, "xsrf");
    if !given(&v) {
        return Ok(None);
    }
    match v.as_bool() {
        Some(false) => return Ok(Some(None)),
        Some(true) => return Ok(Some(Some(security::Xsrf::default()))),
        None => {}
    }
    if !v.is_object() {
        return Err(opts::bad("xsrf", "a boolean or an object"));
    }
    let header = opts::string(&v, "headerName")?;
    let mut xsrf = security::Xsrf::new(header.as_deref().unwrap_or(security::DEFAULT_HEADER));
    if let Some(name) = opts::string(&v, "cookieName")? {
        xsrf = xsrf.cookie(name);
    }
    if let Some(name) = opts::string(&v, "metaName")? {
        xsrf = xsrf.meta(name);
    }
    if let Some(f) = opts::function(&v, "token")? {
        // A throw or a non-string result means "no token from here".
        xsrf = xsrf.token_fn(move || f.call0(&JsValue::NULL).ok().and_then(|t| t.as_string()));
    }
    for origin in origins(&v, "origins")?.into_iter().flatten() {
        xsrf = xsrf.origin(origin);
    }
    Ok(Some(Some(xsrf)))
}

/// True when the `xsrf` option asks for a token (given and not `false`): for entry points that
/// cannot send one and must say so.
#[cfg(feature = "xdr")]
pub(crate) fn wants_xsrf(obj: &JsValue) -> bool {
    let v = opts::get(obj, "xsrf");
    given(&v) && v.as_bool() != Some(false)
}
