//! With the `js` feature (the npm package's build): an [`Error`] becomes a JavaScript `Error`
//! when it crosses into JavaScript, so `?` works in functions exported with wasm-bindgen.
//!
//! Its `name` is `"CometkitError"`, its `message` the error's message and its `kind` the
//! [`ErrorKind`](crate::ErrorKind) name; an HTTP error also carries `status` and `response`
//! (the snapshot as a plain object: `status`, `statusText`, `ok`, `url`, `headers`, `text`,
//! `body`, and `data` parsed from the text when the Content-Type is JSON).

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

use crate::headers::is_json_mime;
use crate::{Error, HttpResponse};

impl From<Error> for JsValue {
    fn from(err: Error) -> JsValue {
        let js = js_sys::Error::new(err.message());
        js.set_name("CometkitError");
        set(&js, "kind", &JsValue::from_str(err.kind().as_str()));
        if let Some(response) = err.response() {
            set(&js, "status", &JsValue::from(response.status()));
            set(&js, "response", &response_object(response));
        }
        js.into()
    }
}

fn response_object(response: &HttpResponse) -> JsValue {
    let obj = Object::new();
    set(&obj, "status", &JsValue::from(response.status()));
    set(
        &obj,
        "statusText",
        &JsValue::from_str(response.status_text()),
    );
    set(&obj, "ok", &JsValue::from_bool(response.ok()));
    set(&obj, "url", &JsValue::from_str(response.url()));
    let headers = Object::new();
    for (name, value) in response.headers().iter() {
        set(&headers, name, &JsValue::from_str(value));
    }
    set(&obj, "headers", &headers);
    let text = response.text().map_or(JsValue::NULL, JsValue::from_str);
    set(&obj, "text", &text);
    set(&obj, "body", &text);
    let json = response
        .headers()
        .content_type()
        .is_some_and(|ct| is_json_mime(&ct));
    if let Some(text) = response.text().filter(|t| json && !t.trim().is_empty()) {
        if let Ok(value) = js_sys::JSON::parse(text) {
            set(&obj, "data", &value);
        }
    }
    obj.into()
}

fn set(obj: &JsValue, key: &str, value: &JsValue) {
    // Setting a property on a fresh object cannot throw.
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}
