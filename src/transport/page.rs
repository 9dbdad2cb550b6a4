//! What the transports and the security helpers read from the page: its location, its origin,
//! how it resolves a URL, its cookies and its `<meta>` tags. Read-only, and through the global
//! object where possible, so it also works in a worker (which has an origin and a location, but
//! no document: no cookie and no meta tag there).

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use web_sys::Url;

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`, called directly (windows and workers both have it).
    #[cfg(any(feature = "_eventsource", feature = "_socketio"))]
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;

}

// `globalThis` and `location` through plain function imports: a `thread_local_v2` static
// costs a lazy cell and its accessor in wasm (about 0.8 KB in a small build), and
// `js_sys::global()` probes four names through four of them.
#[wasm_bindgen(
    inline_js = "export function cometkit_global() { return globalThis; }\n\
export function cometkit_location() { return globalThis.location; }\n\
export function cometkit_utf8(buffer) { return new TextDecoder('utf-8', { ignoreBOM: true }).decode(buffer); }"
)]
extern "C" {
    /// The bytes of `buffer` as UTF-8 text, each malformed sequence replaced by U+FFFD (as
    /// `String::from_utf8_lossy`, without copying the bytes into wasm); a BOM is kept.
    #[cfg(feature = "_xhr")]
    #[wasm_bindgen(js_name = cometkit_utf8)]
    pub(crate) fn utf8_lossy(buffer: &js_sys::ArrayBuffer) -> String;

    #[wasm_bindgen(js_name = cometkit_global)]
    fn global_this() -> Object;

    /// The global `location` ([`Location`](https://developer.mozilla.org/docs/Web/API/Location)
    /// in a window, `WorkerLocation` in a worker); `None` where there is none.
    #[cfg(any(feature = "_xdr", feature = "_socket"))]
    #[wasm_bindgen(js_name = cometkit_location)]
    fn location_object() -> Option<Object>;
}

/// The global object (the window, or the worker's global scope).
pub(crate) fn global() -> Object {
    global_this()
}

/// The page's window; `None` in a worker. (`web_sys::window()` goes through
/// `js_sys::global()`, whose four lazy probes cost more than this.)
#[cfg(any(feature = "_jsonp", feature = "_socket"))]
pub(crate) fn window() -> Option<web_sys::Window> {
    use wasm_bindgen::JsCast;
    global_this().dyn_into().ok()
}

/// The global `location` object, when there is one.
#[cfg(any(feature = "_xdr", feature = "_socket"))]
pub(crate) fn location() -> Option<Object> {
    location_object()
}

/// The string property `name` of `location` (`"href"`, `"protocol"`, ...).
#[cfg(any(feature = "_xdr", feature = "_socket"))]
pub(crate) fn location_field(location: &Object, name: &str) -> Option<String> {
    Reflect::get(location, &JsValue::from_str(name))
        .ok()
        .and_then(|v| v.as_string())
}

fn global_prop(obj: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(obj, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn document() -> Option<JsValue> {
    global_prop(&global(), "document").filter(JsValue::is_object)
}

/// True in a window (false in a worker, which has no document).
#[cfg(feature = "_ping")]
pub(crate) fn has_document() -> bool {
    document().is_some()
}

/// The base URL relative URLs resolve against, as `XMLHttpRequest`, `<script>` and `<img>`
/// do: the document's base URL, or the location of a worker.
fn base_url() -> Option<String> {
    if let Some(base) = document()
        .and_then(|d| global_prop(&d, "baseURI"))
        .and_then(|v| v.as_string())
    {
        return Some(base);
    }
    global_prop(&global(), "location")
        .and_then(|l| global_prop(&l, "href"))
        .and_then(|v| v.as_string())
}

/// `url` resolved against the page (`new URL(url, base)`); `None` when it does not parse.
pub(crate) fn resolve(url: &str) -> Option<Url> {
    match base_url() {
        Some(base) => Url::new_with_base(url, &base).ok(),
        None => Url::new(url).ok(),
    }
}

/// The one place cometkit resolves a URL it was given: against the document's base URL (so a
/// `<base href>` counts, as it does for the native `XMLHttpRequest`, `EventSource`,
/// `WebSocket`, `<script>` and `<img>`), or a worker's location. `what` names the URL in the
/// [`Invalid`](crate::ErrorKind::Invalid) error for an empty or unparsable one.
#[cfg(any(
    feature = "_jsonp",
    feature = "_ping",
    feature = "_eventsource",
    feature = "_websocket",
    feature = "_xdr",
    feature = "_socket"
))]
pub(crate) fn resolve_url(url: &str, what: &str) -> Result<Url, crate::Error> {
    use crate::{error::concat, Error};
    // Same test as `trim().is_empty()`, without `trim`'s two-ended searcher in the binary.
    if url.chars().all(char::is_whitespace) {
        return Err(Error::invalid(concat(&[what, " URL is empty"])));
    }
    resolve(url).ok_or_else(|| Error::invalid(concat(&[what, " URL does not parse"])))
}

/// [`resolve_url`], accepting only `http:` and `https:` URLs.
#[cfg(any(
    feature = "_jsonp",
    feature = "_ping",
    feature = "_eventsource",
    feature = "_xdr"
))]
pub(crate) fn resolve_http_url(url: &str, what: &str) -> Result<Url, crate::Error> {
    use crate::{error::concat, Error};
    let parsed = resolve_url(url, what)?;
    match parsed.protocol().as_str() {
        "http:" | "https:" => Ok(parsed),
        _ => Err(Error::invalid(concat(&[
            what,
            " URL must be http: or https:",
        ]))),
    }
}

/// The page's origin as the browser serialises it (`self.origin`, which is `"null"` in a
/// sandboxed frame even when its URL is not), or `"null"` when it cannot be read.
#[cfg(feature = "_xhr")]
pub(crate) fn origin() -> String {
    let global = global();
    global_prop(&global, "origin")
        .and_then(|v| v.as_string())
        .or_else(|| {
            global_prop(&global, "location")
                .and_then(|l| global_prop(&l, "origin"))
                .and_then(|v| v.as_string())
        })
        .unwrap_or_else(|| String::from("null"))
}

/// `document.cookie` (the cookies script may read: not `HttpOnly` ones), or `None` without a
/// document.
#[cfg(feature = "_xhr")]
pub(crate) fn cookies() -> Option<String> {
    document()
        .and_then(|d| global_prop(&d, "cookie"))
        .and_then(|v| v.as_string())
}

/// The `content` of the first `<meta name="{name}">` in the document.
#[cfg(feature = "_xhr")]
pub(crate) fn meta_content(name: &str) -> Option<String> {
    use wasm_bindgen::JsCast;
    let document: web_sys::Document = document()?.dyn_into().ok()?;
    let found = document.get_elements_by_name(name);
    for i in 0..found.length() {
        let Some(element) = found
            .item(i)
            .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
        else {
            continue;
        };
        if element.local_name() == "meta" {
            return element.get_attribute("content");
        }
    }
    None
}

/// The drivers' clock in ms (the SockJS socket's and the EventSource polyfill's):
/// `performance.now()`, monotonic, so a wall-clock jump cannot stretch a timer.
#[cfg(any(feature = "_eventsource", feature = "_socketio"))]
pub(crate) fn now_ms() -> u64 {
    // Non-negative and far below 2^53.
    performance_now().max(0.0) as u64
}
