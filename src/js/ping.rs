//! `ping(url, params?, opts?)` for JavaScript: [`crate::transport::ping`] behind a Promise.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use js_sys::Promise;

use crate::js::opts;
use crate::transport::ping::{self, Ping};
use crate::Error;

#[wasm_bindgen(typescript_custom_section)]
const TS: &str = r#"
/** Query parameters of `ping()`: an object (an array value repeats the name), an array of
 * `[name, value]` pairs, or any iterable of pairs such as `URLSearchParams` or `Map`. */
export type PingParams =
  | Record<string, string | number | boolean | Array<string | number | boolean>>
  | Iterable<[string, string | number | boolean]>;

/** Options of `ping()`. */
export interface PingOptions {
  /** Milliseconds to wait for the answer; `0` waits forever. Default 10000. */
  timeout?: number;
  /** Add a random `_` parameter so a repeated ping is not answered from the browser's image
   * cache. Default `true`. */
  cacheBust?: boolean;
  /** Secure-only mode for this ping, replacing the `setDefaults()` one. */
  secureOnly?: SecureOnly;
}

/** How a ping ended: `loaded` is true when the answer decoded as an image; false when the
 * server answered with something else (an error status, a non-image body) or the connection
 * failed. */
export interface PingResult {
  loaded: boolean;
}
"#;

/// Sends a GET beacon through an `Image` and resolves to `{loaded}` once the browser handled
/// the answer. The response body is never readable.
///
/// Rejects with a `CometkitError` whose `kind` is `"invalid"` (bad URL or option, nothing was
/// sent) or `"timeout"`. An HTTP error status resolves with `loaded: false`.
///
/// Not an `async fn`: the snippet behind [`crate::transport::ping`] already gives a Promise in
/// the final shape, so this export carries no Rust future (a third of a ping-only build).
#[wasm_bindgen(js_name = ping, unchecked_return_type = "Promise<PingResult>")]
pub fn ping(
    #[wasm_bindgen(unchecked_param_type = "string")] url: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "PingParams")] params: Option<js_sys::Object>,
    #[wasm_bindgen(unchecked_optional_param_type = "PingOptions")] opts: Option<js_sys::Object>,
) -> Promise {
    let params: JsValue = params.map(JsValue::from).unwrap_or(JsValue::UNDEFINED);
    let opts: JsValue = opts.map(JsValue::from).unwrap_or(JsValue::UNDEFINED);
    match build(url, &params, &opts).and_then(Ping::start) {
        Ok(pending) => ping::result(&pending, &ping::timed_out().into()),
        Err(err) => Promise::reject(&err.into()),
    }
}

fn build(url: JsValue, params: &JsValue, opts: &JsValue) -> Result<Ping, Error> {
    let url = url
        .as_string()
        .ok_or_else(|| Error::invalid("`url` must be a string"))?;
    opts::check_object(opts, "ping options")?;
    let mut ping = Ping::new(url);
    for (name, value) in opts::pairs_of(params, "params")? {
        ping = ping.param(name, value);
    }
    if let Some(ms) = opts::uint(opts, "timeout")? {
        ping = ping.timeout(ms);
    }
    if let Some(on) = opts::boolean(opts, "cacheBust")? {
        ping = ping.cache_bust(on);
    }
    if let Some(policy) = crate::js::security::secure_only(opts)? {
        ping = ping.secure_only(policy);
    }
    Ok(ping)
}
