//! With the `js` feature (the npm package's build): an [`Error`] becomes a JavaScript `Error`
//! when it crosses into JavaScript, so `?` works in functions exported with wasm-bindgen.
//!
//! Its `name` is `"CometkitError"`, its `message` the error's message and its `kind` the
//! [`ErrorKind`](crate::ErrorKind) name; an HTTP error also carries `status` and `response`
//! (the snapshot as a plain object: `status`, `statusText`, `ok`, `url`, `headers`, `text`,
//! `body`, and `data` parsed from the text when the Content-Type is JSON).
//!
//! Rust decides every value (kind name, `ok`, whether the body is JSON); the object itself is
//! built by a few lines of JavaScript in one call, because setting properties one by one from
//! wasm costs a crossing, a string copy and glue per property (about 1 KB gzip per build).

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use crate::Error;

// Both functions in one snippet module; a build without `js-http` does not import the second,
// and the package's bundler drops it.
#[wasm_bindgen(inline_js = "export function cometkit_error(message, kind) {\n\
    var e = new Error(message);\n\
    e.name = 'CometkitError';\n\
    e.kind = kind;\n\
    return e;\n\
}\n\
export function cometkit_http_error(message, kind, status, statusText, ok, url, h, text, json) {\n\
    var e = cometkit_error(message, kind), fields = h.split('\\n'), headers = {};\n\
    for (var i = 0; i + 1 < fields.length; i += 2) headers[fields[i]] = fields[i + 1];\n\
    if (text === undefined) text = null;\n\
    var r = { status: status, statusText: statusText, ok: ok, url: url, headers: headers,\n\
        text: text, body: text };\n\
    if (json) try { r.data = JSON.parse(text); } catch (_) {}\n\
    e.status = status;\n\
    e.response = r;\n\
    return e;\n\
}")]
extern "C" {
    fn cometkit_error(message: &str, kind: &str) -> JsValue;

    #[cfg(feature = "js-http")]
    #[allow(clippy::too_many_arguments)]
    fn cometkit_http_error(
        message: &str,
        kind: &str,
        status: u16,
        status_text: &str,
        ok: bool,
        url: &str,
        headers: &str,
        text: Option<String>,
        json: bool,
    ) -> JsValue;
}

impl From<Error> for JsValue {
    fn from(err: Error) -> JsValue {
        let (message, kind) = (err.message(), err.kind().as_str());
        #[cfg(feature = "js-http")]
        if let Some(r) = err.response() {
            return http_error(message, kind, r);
        }
        cometkit_error(message, kind)
    }
}

/// The error of an HTTP failure, with its `status` and `response`.
#[cfg(feature = "js-http")]
fn http_error(message: &str, kind: &str, r: &crate::HttpResponse) -> JsValue {
    // Header names and values never hold a line feed (browsers refuse them), so
    // `name\nvalue\n...` carries them all in one string.
    let mut headers = String::new();
    for (name, value) in r.headers().iter() {
        headers.push_str(name);
        headers.push('\n');
        headers.push_str(value);
        headers.push('\n');
    }
    let json = r
        .headers()
        .content_type()
        .is_some_and(|ct| crate::headers::is_json_mime(&ct))
        && r.text().is_some_and(|t| !t.trim().is_empty());
    let text = r.text().map(str::to_owned);
    cometkit_http_error(
        message,
        kind,
        r.status(),
        r.status_text(),
        r.ok(),
        r.url(),
        &headers,
        text,
        json,
    )
}
