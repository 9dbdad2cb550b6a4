//! `request(opts)`: the JavaScript face of [`crate::transport::xhr`], an
//! [`XMLHttpRequest`](https://developer.mozilla.org/docs/Web/API/XMLHttpRequest) returning a
//! Promise.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{ArrayBuffer, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{AbortSignal, Blob, FormData, HtmlFormElement, UrlSearchParams};

use crate::js::opts;
use crate::protocol::headers::is_json_mime;
use crate::protocol::{response_object, ResponseData};
use crate::transport::listener::Listener;
use crate::transport::xhr::{
    AbortHandle, Body, Driver, Progress, Request, Response, ResponseType, Step,
};
use crate::Error;

#[wasm_bindgen(typescript_custom_section)]
const TS: &str = r#"
/** Name/value pairs: a plain object (an array value repeats the name), an array of pairs, or any iterable of pairs (URLSearchParams, Headers, Map). */
export type XhrPairs =
  | Record<string, string | number | boolean | Array<string | number | boolean>>
  | Array<[string, string | number | boolean]>
  | Iterable<[string, string | number | boolean]>;

/** Upload or download progress of a request. */
export interface XhrProgress {
  /** Bytes transferred so far. */
  loaded: number;
  /** Total bytes expected; meaningful only when `lengthComputable`. */
  total: number;
  /** Whether the total is known (a Content-Length on downloads). */
  lengthComputable: boolean;
}

/** Options of `request()`. Only one of `body`, `json` and `form` may be given. */
export interface RequestOptions {
  /** Absolute, or relative to the page. */
  url: string;
  /** Any HTTP method token. Default: `"POST"` when `body`, `json` or `form` is given (a form element's own method when `body` is one), else `"GET"`. */
  method?: string;
  /** Appended to the URL's query, encoded like `encodeURIComponent`. */
  params?: XhrPairs;
  /** Request headers. A header name that is not a token or a value with CR/LF rejects with kind `"invalid"`. */
  headers?: XhrPairs;
  /** Strings default to `text/plain;charset=UTF-8`; a form is serialised per its `enctype`; other kinds get the browser's Content-Type. */
  body?: string | ArrayBuffer | ArrayBufferView | Blob | FormData | URLSearchParams | HTMLFormElement;
  /** Sent as `JSON.stringify(json)` with `Content-Type: application/json`. */
  json?: unknown;
  /** Sent as `application/x-www-form-urlencoded;charset=UTF-8`. */
  form?: XhrPairs;
  /** Milliseconds before the request fails with kind `"timeout"`; 0 (default) means none. */
  timeout?: number;
  /** Send cookies and HTTP auth cross-origin. */
  withCredentials?: boolean;
  /** How `body` of the response is delivered; default `"text"`. */
  responseType?: "" | "text" | "arraybuffer" | "blob" | "json" | "document";
  /** Passed to `overrideMimeType()`, e.g. to force a charset. */
  mimeType?: string;
  /** Aborting it rejects the request with kind `"abort"`. */
  signal?: AbortSignal;
  /** Upload progress. Setting it makes cross-origin requests preflighted. */
  onUploadProgress?: (progress: XhrProgress) => void;
  /** Download progress. */
  onDownloadProgress?: (progress: XhrProgress) => void;
  /** A CSRF token for this request, replacing the `setDefaults()` one; `false` sends none. Sent to the page's own origin and the listed `origins` only. */
  xsrf?: XsrfOptions | boolean;
  /** Secure-only mode for this request, replacing the `setDefaults()` one. */
  secureOnly?: SecureOnly;
  /** Streams the body: called with each newly received piece of text; the promise resolves when the body is complete. Needs the text response type. An exception thrown here aborts the request and rejects with it. */
  onChunk?: (text: string) => void;
}

/**
 * What `request()` resolves to (and what an `"http"` error carries as `response`). `T` is the
 * type of the parsed JSON in `data`, `B` the type of `body`, which follows `responseType`.
 */
export interface XhrResponse<T = unknown, B = unknown> {
  status: number;
  statusText: string;
  /** True for a 2xx status. */
  ok: boolean;
  /** The final URL after redirects ("" when unknown). */
  url: string;
  /** Response headers the browser exposes, by lowercase name. */
  headers: Record<string, string>;
  /** The body text when the response type is text, else null. */
  text: string | null;
  /** The body as `xhr.response` gives it: a string for `"text"` (the default), an
   * `ArrayBuffer`, a `Blob`, a `Document` (or null), or the parsed JSON (or null). */
  body: B;
  /** Parsed JSON: the body for `responseType: "json"`, or the parsed text when the Content-Type is JSON (`application/json`, `*+json`). */
  data?: T;
}

/** On a `kind: "http"` error of `request()` or `xdrRequest()`: the status and the response. */
export interface CometkitError {
  /** The HTTP status (`kind: "http"` errors of requests). */
  status?: number;
  /** The whole response (`kind: "http"` errors of requests). */
  response?: XhrResponse;
}

/**
 * Sends an HTTP request with `XMLHttpRequest` and resolves with the response. `T` types the
 * parsed JSON in `data` (nothing checks it); the type of `body` follows `responseType`.
 *
 * Rejects with a `CometkitError` whose `kind` is `"http"` (status other than 2xx/304;
 * `status` and `response` attached), `"timeout"`, `"abort"` (the `signal` fired),
 * `"network"` (connection failure or CORS rejection), `"protocol"` (a JSON Content-Type with
 * an unparsable body) or `"invalid"` (bad options, or a URL refused by `secureOnly`; nothing
 * was sent).
 */
export function request<T = unknown>(opts: RequestOptions & { responseType: "arraybuffer" }): Promise<XhrResponse<T, ArrayBuffer>>;
export function request<T = unknown>(opts: RequestOptions & { responseType: "blob" }): Promise<XhrResponse<T, Blob>>;
export function request<T = unknown>(opts: RequestOptions & { responseType: "document" }): Promise<XhrResponse<T, Document | null>>;
export function request<T = unknown>(opts: RequestOptions & { responseType: "json" }): Promise<XhrResponse<T, T | null>>;
export function request<T = unknown>(opts: RequestOptions & { responseType?: "" | "text" }): Promise<XhrResponse<T, string>>;
export function request<T = unknown>(opts: RequestOptions): Promise<XhrResponse<T>>;
"#;

/// Sends an HTTP request with `XMLHttpRequest` and resolves with the response.
///
/// Rejects with a `CometkitError` whose `kind` is `"http"` (status other than 2xx/304;
/// `status` and `response` attached), `"timeout"`, `"abort"` (the `signal` fired),
/// `"network"` (connection failure or CORS rejection), `"protocol"` (a JSON Content-Type with
/// an unparsable body) or `"invalid"` (bad options; nothing was sent).
// Declared by hand above (overloads by response type).
//
// No Rust future: the XHR's event handlers drive the request (`Request::start_driven`) and
// settle the promise themselves, so a page that only makes requests carries no async executor.
#[wasm_bindgen(js_name = request, skip_typescript)]
pub fn request(#[wasm_bindgen(unchecked_param_type = "RequestOptions")] opts: JsValue) -> Promise {
    Promise::new(&mut |resolve, reject| {
        if let Err(e) = begin(&opts, resolve, &reject) {
            let _ = reject.call1(&JsValue::NULL, &e.into());
        }
    })
}

/// A request in flight: what settles its promise, and what must live until then.
struct Pending {
    driver: Driver,
    resolve: Function,
    reject: Function,
    on_chunk: Option<Function>,
    // Removes itself from the `signal` when dropped.
    _on_abort: Option<Listener>,
}

/// Shared by the request's event handler (through `on_change`) and nothing else: the request
/// keeps itself alive until it settles, as a browser's own pending XHR does.
type Slot = Rc<RefCell<Option<Pending>>>;

/// Checks the options and sends the request; `Err` when nothing was sent.
fn begin(opts: &JsValue, resolve: Function, reject: &Function) -> Result<(), Error> {
    let (mut req, on_chunk, signal) = prepare(opts)?;
    let handle = AbortHandle::new();
    req = req.abort_handle(&handle);
    let on_abort = match &signal {
        Some(signal) if signal.aborted() => {
            return Err(Error::abort("request aborted by its AbortSignal"))
        }
        Some(signal) => Some(Listener::new(signal, "abort", move |_| handle.abort())),
        None => None,
    };
    let slot: Slot = Rc::default();
    let on_change = {
        let slot = slot.clone();
        Rc::new(move || pump(&slot))
    };
    let driver = req.start_driven(on_chunk.is_some(), on_change)?;
    if let Ok(mut s) = slot.try_borrow_mut() {
        *s = Some(Pending {
            driver,
            resolve,
            reject: reject.clone(),
            on_chunk,
            _on_abort: on_abort,
        });
    }
    Ok(())
}

/// Carries out what the request has come to: streamed chunks to `onChunk`, then the promise
/// settled. Safe to re-enter (an `onChunk` that aborts the request).
fn pump(slot: &Slot) {
    loop {
        let (step, on_chunk) = match slot.try_borrow() {
            Ok(s) => match s.as_ref() {
                Some(p) => (p.driver.step(), p.on_chunk.clone()),
                None => return,
            },
            Err(_) => return,
        };
        let outcome = match step {
            Step::Pending => return,
            Step::Headers => continue,
            Step::Chunk(text) => match on_chunk {
                Some(f) => match f.call1(&JsValue::NULL, &JsValue::from_str(&text)) {
                    Ok(_) => continue,
                    // Thrown by `onChunk`: the request is aborted and rejects with it.
                    Err(thrown) => Err(thrown),
                },
                None => continue,
            },
            Step::Done(Ok(response)) => build(response, true).ok_or_else(|| {
                Error::protocol("response has a JSON Content-Type but its body is not valid JSON")
                    .into()
            }),
            Step::Done(Err(e)) => Err(e.into()),
        };
        // Taken out before anything is called: dropping the driver aborts an unfinished XHR,
        // whose handler comes back here and finds nothing.
        let Some(p) = slot.try_borrow_mut().ok().and_then(|mut s| s.take()) else {
            return;
        };
        let _ = match outcome {
            Ok(v) => p.resolve.call1(&JsValue::NULL, &v),
            Err(e) => p.reject.call1(&JsValue::NULL, &e),
        };
        return;
    }
}

/// Reads and checks every option (synchronously: the `?`s stay out of the request's async
/// state machine) into the request, the `onChunk` callback and the abort signal.
fn prepare(opts: &JsValue) -> Result<(Request, Option<Function>, Option<AbortSignal>), Error> {
    if !opts.is_object() {
        return Err(Error::invalid("request options must be an object"));
    }
    let url =
        opts::string(opts, "url")?.ok_or_else(|| Error::invalid("option `url` is required"))?;
    let body = read_body(opts)?;
    let method = match opts::string(opts, "method")? {
        Some(m) => m,
        // A GET cannot carry a body, so a body implies POST; a form element brings its own method.
        None => match &body {
            Some(Body::Form(f)) if !f.method().eq_ignore_ascii_case("post") => "GET".to_owned(),
            Some(_) => "POST".to_owned(),
            None => "GET".to_owned(),
        },
    };
    let mut req = Request::new(&method, &url);
    for (name, value) in opts::pairs(opts, "params")? {
        req = req.query(&name, &value);
    }
    for (name, value) in opts::pairs(opts, "headers")? {
        req = req.header(&name, &value);
    }
    if let Some(body) = body {
        req = req.body(body);
    }
    if let Some(ms) = opts::uint(opts, "timeout")? {
        req = req.timeout(ms);
    }
    if let Some(yes) = opts::boolean(opts, "withCredentials")? {
        req = req.with_credentials(yes);
    }
    req = req.response_type(read_response_type(opts)?);
    if let Some(mime) = opts::string(opts, "mimeType")? {
        req = req.override_mime_type(&mime);
    }
    if let Some(f) = opts::function(opts, "onUploadProgress")? {
        req = req.on_upload_progress(move |p| call_progress(&f, p));
    }
    if let Some(f) = opts::function(opts, "onDownloadProgress")? {
        req = req.on_download_progress(move |p| call_progress(&f, p));
    }
    match crate::js::security::xsrf(opts)? {
        Some(Some(xsrf)) => req = req.xsrf(xsrf),
        Some(None) => req = req.no_xsrf(),
        None => {}
    }
    if let Some(policy) = crate::js::security::secure_only(opts)? {
        req = req.secure_only(policy);
    }
    let on_chunk = opts::function(opts, "onChunk")?;
    let signal = read_signal(opts)?;
    Ok((req, on_chunk, signal))
}

/// The plain JS object a response becomes (see `XhrResponse` in the TypeScript types).
#[cfg(feature = "xdr")]
pub(crate) fn response_to_js(response: Response) -> JsValue {
    build(response, false).unwrap_or(JsValue::NULL)
}

/// The response object (see `XhrResponse` in the TypeScript types); `None` when its JSON
/// Content-Type did not parse and `strict` (else `data` is left out).
fn build(response: Response, strict: bool) -> Option<JsValue> {
    let data = if response.response_type() == ResponseType::Json {
        ResponseData::Body
    } else if response.raw().is_string()
        && response
            .headers()
            .content_type()
            .is_some_and(|ct| is_json_mime(&ct))
    {
        ResponseData::ParseText
    } else {
        ResponseData::None
    };
    let object = |data| {
        response_object(
            response.status(),
            response.status_text(),
            response.ok(),
            response.url(),
            response.headers(),
            response.raw(),
            data,
        )
    };
    match object(data) {
        // Not strict: the same object without `data`.
        None if !strict => object(ResponseData::None),
        built => built,
    }
}

fn set(obj: &Object, key: &str, value: &JsValue) {
    // Defining a data property on a fresh plain object cannot throw.
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

fn given(v: &JsValue) -> bool {
    !(v.is_undefined() || v.is_null())
}

fn read_body(opts: &JsValue) -> Result<Option<Body>, Error> {
    let body = opts::get(opts, "body");
    let json = opts::get(opts, "json");
    let form = opts::get(opts, "form");
    if [&body, &json, &form]
        .into_iter()
        .filter(|v| given(v))
        .count()
        > 1
    {
        return Err(Error::invalid(
            "give only one of the options `body`, `json` and `form`",
        ));
    }
    if given(&json) {
        let text: JsValue = js_sys::JSON::stringify(&json)
            .map_err(|_| opts::bad("json", "serialisable with JSON.stringify"))?
            .into();
        return text
            .as_string()
            .map(|s| Some(Body::Json(s)))
            .ok_or_else(|| opts::bad("json", "serialisable with JSON.stringify"));
    }
    if given(&form) {
        return Ok(Some(Body::UrlEncoded(opts::pairs_of(&form, "form")?)));
    }
    if !given(&body) {
        return Ok(None);
    }
    if let Some(text) = body.as_string() {
        Ok(Some(Body::Text(text)))
    } else if body.has_type::<HtmlFormElement>() {
        Ok(Some(Body::Form(body.unchecked_into())))
    } else if body.has_type::<FormData>() {
        Ok(Some(Body::FormData(body.unchecked_into())))
    } else if body.has_type::<Blob>()
        || body.has_type::<ArrayBuffer>()
        || ArrayBuffer::is_view(&body)
        || body.has_type::<UrlSearchParams>()
    {
        Ok(Some(Body::Js(body)))
    } else {
        Err(opts::bad(
            "body",
            "a string, ArrayBuffer, typed array, Blob, FormData, URLSearchParams or HTMLFormElement (use `json` for objects)",
        ))
    }
}

fn read_response_type(opts: &JsValue) -> Result<ResponseType, Error> {
    Ok(match opts::string(opts, "responseType")?.as_deref() {
        None | Some("") | Some("text") => ResponseType::Text,
        Some("arraybuffer") => ResponseType::ArrayBuffer,
        Some("blob") => ResponseType::Blob,
        Some("json") => ResponseType::Json,
        Some("document") => ResponseType::Document,
        Some(_) => {
            return Err(opts::bad(
                "responseType",
                "one of \"text\", \"arraybuffer\", \"blob\", \"json\", \"document\"",
            ))
        }
    })
}

fn read_signal(opts: &JsValue) -> Result<Option<AbortSignal>, Error> {
    let v = opts::get(opts, "signal");
    if !given(&v) {
        return Ok(None);
    }
    v.dyn_into::<AbortSignal>()
        .map(Some)
        .map_err(|_| opts::bad("signal", "an AbortSignal"))
}

fn call_progress(f: &Function, p: Progress) {
    let obj = Object::new();
    set(&obj, "loaded", &JsValue::from_f64(p.loaded));
    set(&obj, "total", &JsValue::from_f64(p.total));
    set(
        &obj,
        "lengthComputable",
        &JsValue::from_bool(p.length_computable),
    );
    // An exception from a progress callback is ignored: it must not fail the request.
    let _ = f.call1(&JsValue::NULL, &obj);
}
