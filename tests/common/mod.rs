//! Shared by the browser tests: where the fixture server is, and small helpers.
#![allow(dead_code)]

/// Base URL of the fixture server the harness started (compiled in: browser tests cannot read
/// the environment).
pub const FIXTURE: &str = match option_env!("COMETKIT_FIXTURE_URL") {
    Some(url) => url,
    None => "http://127.0.0.1:8090",
};

/// `FIXTURE` + `path` (path starts with `/`).
pub fn url(path: &str) -> String {
    format!("{FIXTURE}{path}")
}

/// A key unique to this test run, to keep server-side counters of different tests apart.
pub fn unique_key(prefix: &str) -> String {
    format!("{prefix}-{}", js_sys::Math::random().to_bits())
}

/// Base URL of the npm `sockjs` 0.3.24 server the harness started (same `/sockjs/<app>` paths).
pub const SOCKJS_NODE: &str = match option_env!("COMETKIT_SOCKJS_NODE_URL") {
    Some(url) => url,
    None => "http://127.0.0.1:18095",
};

/// `new Socket(url, options)`: the hand-written JS class, as a page constructs it.
#[cfg(feature = "socket")]
pub fn new_js_socket(
    url: wasm_bindgen::JsValue,
    options: wasm_bindgen::JsValue,
) -> Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue> {
    cometkit::js::install();
    js_sys::Reflect::construct(
        &cometkit::js::socket::class(),
        &js_sys::Array::of2(&url, &options),
    )
}
