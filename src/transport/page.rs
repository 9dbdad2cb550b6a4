//! The page's own location, read the same way by every transport that resolves URLs.

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

#[wasm_bindgen]
extern "C" {
    /// The global `location` ([`Location`](https://developer.mozilla.org/docs/Web/API/Location)
    /// in a window, `WorkerLocation` in a worker); `None` where there is none. Bound directly:
    /// no lookup through the global object.
    #[wasm_bindgen(thread_local_v2, js_name = location)]
    static LOCATION: Option<Object>;
}

/// The global `location` object, when there is one.
pub(crate) fn location() -> Option<Object> {
    LOCATION.with(Clone::clone)
}

/// The string property `name` of `location` (`"href"`, `"protocol"`, ...).
pub(crate) fn location_field(location: &Object, name: &str) -> Option<String> {
    Reflect::get(location, &JsValue::from_str(name))
        .ok()
        .and_then(|v| v.as_string())
}

/// The page's URL (`location.href`), in a window or a worker.
pub(crate) fn href() -> Option<String> {
    location_field(&location()?, "href")
}
