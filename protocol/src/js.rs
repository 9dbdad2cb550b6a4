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

// The functions in one snippet module; a build without `js-http` imports only the first, and
// the package's bundler drops the others.
#[wasm_bindgen(inline_js = "export function cometkit_error(message, kind) {\n\
    var e = new Error(message);\n\
    e.name = 'CometkitError';\n\
    e.kind = kind;\n\
    return e;\n\
}\n\
export function cometkit_response(status, statusText, ok, url, h, raw, data) {\n\
    var fields = h.split('\\n'), headers = {};\n\
    for (var i = 0; i + 1 < fields.length; i += 2) headers[fields[i]] = fields[i + 1];\n\
    if (raw === undefined) raw = null;\n\
    var r = { status: status, statusText: statusText, ok: ok, url: url, headers: headers,\n\
        text: typeof raw === 'string' ? raw : null, body: raw };\n\
    if (data === 1) r.data = raw;\n\
    else if (data > 1 && /\\S/.test(raw)) {\n\
        try { r.data = JSON.parse(raw); } catch (_) { if (data === 2) return null; }\n\
    }\n\
    return r;\n\
}\n\
export function cometkit_http_error(message, kind, status, statusText, ok, url, h, text, json) {\n\
    var e = cometkit_error(message, kind);\n\
    e.status = status;\n\
    e.response = cometkit_response(status, statusText, ok, url, h, text, json ? 3 : 0);\n\
    return e;\n\
}")]
extern "C" {
    fn cometkit_error(message: &str, kind: &str) -> JsValue;

    #[cfg(feature = "js-http")]
    #[wasm_bindgen(js_name = cometkit_response)]
    #[allow(clippy::too_many_arguments)]
    fn response_js(
        status: u16,
        status_text: &str,
        ok: bool,
        url: &str,
        headers: &str,
        raw: &JsValue,
        data: u32,
    ) -> JsValue;

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

/// Where a response object's `data` comes from (see [`response_object`]).
#[cfg(feature = "js-http")]
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseData {
    /// No `data`.
    None = 0,
    /// `data` is the body as it is (the browser already parsed JSON).
    Body = 1,
    /// `data` is the text parsed as JSON when it is not blank; text that does not parse makes
    /// [`response_object`] return `None`.
    ParseText = 2,
}

/// Headers as `name\nvalue\n...`: names and values never hold a line feed (browsers refuse
/// them), so one string carries them all across.
#[cfg(feature = "js-http")]
fn pack_headers(headers: &crate::headers::Headers) -> String {
    let mut out = String::new();
    for (name, value) in headers.iter() {
        out.push_str(name);
        out.push('\n');
        out.push_str(value);
        out.push('\n');
    }
    out
}

/// The plain object a response becomes in JavaScript (`status`, `statusText`, `ok`, `url`,
/// `headers`, `text`, `body`, and `data` as `data` says), built in one call. `None` when
/// `data` is [`ResponseData::ParseText`] and the text is not JSON. For the crate's JS exports.
#[cfg(feature = "js-http")]
#[doc(hidden)]
pub fn response_object(
    status: u16,
    status_text: &str,
    ok: bool,
    url: &str,
    headers: &crate::headers::Headers,
    raw: &JsValue,
    data: ResponseData,
) -> Option<JsValue> {
    let obj = response_js(
        status,
        status_text,
        ok,
        url,
        &pack_headers(headers),
        raw,
        data as u32,
    );
    (!obj.is_null()).then_some(obj)
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
    let json = r
        .headers()
        .content_type()
        .is_some_and(|ct| crate::headers::is_json_mime(&ct));
    cometkit_http_error(
        message,
        kind,
        r.status(),
        r.status_text(),
        r.ok(),
        r.url(),
        &pack_headers(r.headers()),
        r.text().map(str::to_owned),
        json,
    )
}
