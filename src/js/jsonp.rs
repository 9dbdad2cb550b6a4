//! `jsonp(url, opts?)` for JavaScript: [`crate::transport::jsonp`] behind a Promise, with an
//! optional `AbortSignal`.

use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortSignal;

use crate::js::opts;
use crate::transport::jsonp::{result_of, Jsonp};
use crate::transport::listener::Listener;
use crate::Error;

#[wasm_bindgen(typescript_custom_section)]
const TS: &str = r#"
/** Query parameters: an object (an array value repeats the name), an array of `[name, value]`
 * pairs, or any iterable of pairs such as `URLSearchParams` or `Map`. */
export type JsonpParams =
  | Record<string, string | number | boolean | Array<string | number | boolean>>
  | Iterable<[string, string | number | boolean]>;

/** Options of `jsonp()`. */
export interface JsonpOptions {
  /** Query parameters appended to the URL. */
  params?: JsonpParams;
  /** Name of the query parameter that carries the callback name. Default `"callback"`. */
  callbackParam?: string;
  /** Milliseconds to wait for the callback; `0` waits forever. Default 10000. */
  timeout?: number;
  /** CSP nonce set on the injected `<script>`. */
  nonce?: string;
  /** Aborting it cancels the call (rejects with kind `"abort"`) and removes the script. */
  signal?: AbortSignal;
  /** The only origins this call may load from, replacing `setDefaults({ jsonpOrigins })`;
   * another origin rejects with kind `"invalid"` before any script is added. */
  trustedOrigins?: string[];
  /** Secure-only mode for this call, replacing the `setDefaults()` one. */
  secureOnly?: SecureOnly;
}

/**
 * Loads `url` as a JSONP script and resolves to the value the server passed to the callback,
 * typed `T` by the caller (nothing checks it).
 *
 * Rejects with a `CometkitError` whose `kind` is `"invalid"` (bad URL or option, a URL
 * outside the trusted origins or refused by `secureOnly`; nothing was sent), `"protocol"` (the script ran without calling back), `"network"` (the script did not
 * load: refused, HTTP error status, blocked), `"timeout"` or `"abort"` (the signal fired).
 * Only use JSONP with servers you trust: the response runs as script in your page.
 */
export function jsonp<T = unknown>(url: string, opts?: JsonpOptions): Promise<T>;
"#;

/// Loads `url` as a JSONP script and resolves to the value the server passed to the callback.
///
/// Rejects with a `CometkitError` whose `kind` is `"invalid"` (bad URL or option, nothing was
/// sent), `"protocol"` (the script ran without calling back), `"network"` (the script did not
/// load: refused, HTTP error status, blocked), `"timeout"` or `"abort"` (the signal fired).
/// Only use JSONP with servers you trust: the response runs as script in your page.
// Declared by hand above (generic result).
#[wasm_bindgen(js_name = jsonp, skip_typescript)]
pub fn jsonp(
    #[wasm_bindgen(unchecked_param_type = "string")] url: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "JsonpOptions")] opts: Option<js_sys::Object>,
) -> Promise {
    let opts: JsValue = opts.map(JsValue::from).unwrap_or(JsValue::UNDEFINED);
    start(url, &opts).unwrap_or_else(|e| Promise::reject(&e.into()))
}

// No Rust future: the call's own promise settles the result. Its only cancel is the signal's.
fn start(url: JsValue, opts: &JsValue) -> Result<Promise, Error> {
    let (request, signal) = build(url, opts)?;
    if signal.as_ref().is_some_and(AbortSignal::aborted) {
        return Err(Error::abort(
            "JSONP call aborted by its signal before it started",
        ));
    }
    let call = Rc::new(request.start()?);
    // Removed from the signal when the call settles.
    let on_abort = signal.map(|signal| {
        let call = call.clone();
        Listener::new(&signal, "abort", move |_| call.cancel())
    });
    let done = call.done();
    Ok(crate::js::then(&done, move |outcome| {
        drop((on_abort, call));
        result_of(&outcome, "JSONP call aborted by its signal")
    }))
}

fn build(url: JsValue, opts: &JsValue) -> Result<(Jsonp, Option<AbortSignal>), Error> {
    let url = url
        .as_string()
        .ok_or_else(|| Error::invalid("`url` must be a string"))?;
    opts::check_object(opts, "JSONP options")?;
    let mut request = Jsonp::new(url);
    for (name, value) in opts::pairs(opts, "params")? {
        request = request.param(name, value);
    }
    if let Some(param) = opts::string(opts, "callbackParam")? {
        request = request.callback_param(param);
    }
    if let Some(ms) = opts::uint(opts, "timeout")? {
        request = request.timeout(ms);
    }
    if let Some(nonce) = opts::string(opts, "nonce")? {
        request = request.nonce(nonce);
    }
    if let Some(list) = crate::js::security::origins(opts, "trustedOrigins")? {
        request = request.trusted_origins(list);
    }
    if let Some(policy) = crate::js::security::secure_only(opts)? {
        request = request.secure_only(policy);
    }
    let signal = opts::get(opts, "signal");
    let signal = if signal.is_undefined() || signal.is_null() {
        None
    } else {
        Some(
            signal
                .dyn_into::<AbortSignal>()
                .map_err(|_| opts::bad("signal", "an AbortSignal"))?,
        )
    };
    Ok((request, signal))
}
