//! A bare HTTP exchange for the SockJS `Socket`'s XHR and XDR transports: an
//! [`XMLHttpRequest`](https://developer.mozilla.org/docs/Web/API/XMLHttpRequest), or the page's
//! `XDomainRequest` when it has one and the exchange keeps to XDR's limits.
//!
//! Why not [`crate::transport::xhr::Request`]: the socket needs three shapes of request (a GET
//! of `/info`, a POST that receives frames, a POST that sends a payload) and nothing of what
//! makes `Request` general (bodies of every type, forms, progress, response types, timeouts,
//! per-call options). Going through it cost the socket build about 20 KB of wasm, and copied
//! every received frame into wasm and back out. Here the browser half is a dozen lines of
//! JavaScript (`js/exchange.js`) that splits the response into frames (one per line) and hands
//! each to the caller as a JavaScript string; Rust decides the URL, the credentials, the CSRF
//! header and what a status means.
//!
//! The request is aborted, and its handlers removed, when the [`Exchange`] is dropped.

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::protocol::headers::Headers;
use crate::{Error, HttpResponse};

#[wasm_bindgen(module = "/js/exchange.js")]
extern "C" {
    type JsExchange;

    #[wasm_bindgen(js_name = exchange)]
    fn start(
        method: &str,
        url: &str,
        body: &JsValue,
        flags: u32,
        header: &str,
        token: &str,
        on_frame: Option<&Function>,
    ) -> JsExchange;

    #[wasm_bindgen(method, getter)]
    fn done(this: &JsExchange) -> Promise;

    #[wasm_bindgen(method)]
    fn text(this: &JsExchange) -> String;

    #[wasm_bindgen(method, js_name = text)]
    fn text_js(this: &JsExchange) -> js_sys::JsString;

    #[wasm_bindgen(method, js_name = statusText)]
    fn status_text(this: &JsExchange) -> String;

    #[wasm_bindgen(method)]
    fn abort(this: &JsExchange);
}

/// How an exchange is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A CORS XHR; `true`: with credentials (cookies). Carries the page-wide CSRF header
    /// ([`crate::security::set_defaults`]) where its rules allow.
    Cors(bool),
    /// Within XDomainRequest's limits: no cookies, no custom header (so no CSRF header
    /// either), a string body as `text/plain`; never preflighted.
    Xdr,
}

const WITH_CREDENTIALS: u32 = 1;
const XDR_LIMITS: u32 = 2;
const STREAMING: u32 = 4;

/// One request in flight; dropping it aborts it.
pub(crate) struct Exchange {
    js: JsExchange,
    url: String,
}

impl Exchange {
    /// Starts `method url` with `body` (`undefined` for none). `on_frame`, when given, gets
    /// every frame of a 2xx response as a JavaScript string: as the response grows when
    /// `streaming`, else once it is complete. Fails only when the CSRF setting is invalid
    /// (nothing is sent then).
    pub(crate) fn start(
        method: &str,
        url: &str,
        body: &JsValue,
        mode: Mode,
        streaming: bool,
        on_frame: Option<&Function>,
    ) -> Result<Exchange, Error> {
        let mut flags = if streaming { STREAMING } else { 0 };
        let xsrf = match mode {
            Mode::Cors(credentials) => {
                if credentials {
                    flags |= WITH_CREDENTIALS;
                }
                crate::security::xsrf_header_for(url)?
            }
            Mode::Xdr => {
                flags |= XDR_LIMITS;
                None
            }
        };
        let (header, token) = xsrf
            .as_ref()
            .map_or(("", ""), |(h, t)| (h.as_str(), t.as_str()));
        let js = start(method, url, body, flags, header, token, on_frame);
        Ok(Exchange {
            js,
            url: url.to_owned(),
        })
    }

    /// Waits for the end of the response: `Ok` on a 2xx status, else a
    /// [`Network`](crate::ErrorKind::Network) error (refused, reset, CORS, or the browser
    /// would not start the request) or an [`Http`](crate::ErrorKind::Http) error with the
    /// status.
    pub(crate) async fn finish(&self) -> Result<(), Error> {
        // `done` never rejects; it resolves to a number.
        let status = JsFuture::from(self.js.done())
            .await
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        match status as i32 {
            200..=299 => Ok(()),
            -1 => Err(Error::network("the browser refused the request")),
            s @ 100..=599 => Err(Error::http(HttpResponse::new(
                s as u16,
                self.js.status_text(),
                Headers::default(),
                self.url.clone(),
                None,
            ))),
            _ => Err(Error::network(
                "request failed: network error or CORS rejection",
            )),
        }
    }

    /// The whole response text (after [`finish`](Self::finish)).
    #[cfg_attr(not(feature = "_socket"), allow(dead_code))]
    pub(crate) fn text(&self) -> String {
        self.js.text()
    }

    /// The whole response text as the JavaScript string it is, not copied into wasm (the
    /// Socket.IO driver's polling bodies).
    #[cfg_attr(not(feature = "_socketio"), allow(dead_code))]
    pub(crate) fn body(&self) -> js_sys::JsString {
        self.js.text_js()
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        self.js.abort();
    }
}
