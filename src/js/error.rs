//! Turning [`Error`] into a JavaScript `Error` with a `kind` property.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use crate::Error;

#[wasm_bindgen(typescript_custom_section)]
const TS: &str = r#"
/** What went wrong: the `kind` of every error cometkit throws or rejects with. */
export type CometkitErrorKind = "timeout" | "abort" | "network" | "http" | "protocol" | "invalid";

/** The `Error` cometkit throws and rejects with; switch on `kind`. */
export interface CometkitError extends Error {
  name: "CometkitError";
  kind: CometkitErrorKind;
}
"#;

/// A JS `Error` whose `name` is `"CometkitError"` and whose `kind` is the [`crate::ErrorKind`]
/// name; HTTP errors also carry `status` and `response`.
pub(crate) fn to_js(err: Error) -> JsValue {
    let js = js_sys::Error::new(err.message());
    js.set_name("CometkitError");
    let obj: &JsValue = js.as_ref();
    set(obj, "kind", &JsValue::from_str(err.kind().as_str()));
    #[cfg(feature = "xhr")]
    if let Some(response) = err.response() {
        set(obj, "status", &JsValue::from(response.status()));
        set(obj, "response", &crate::js::xhr::snapshot_to_js(response));
    }
    js.into()
}

fn set(obj: &JsValue, key: &str, value: &JsValue) {
    // Setting a property on a fresh Error object cannot throw.
    let _ = js_sys::Reflect::set(obj, &JsValue::from_str(key), value);
}

impl From<Error> for JsValue {
    fn from(err: Error) -> JsValue {
        to_js(err)
    }
}
