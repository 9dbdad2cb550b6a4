//! A bare HTTP exchange: an
//! [`XMLHttpRequest`](https://developer.mozilla.org/docs/Web/API/XMLHttpRequest), or the page's
//! `XDomainRequest` when it has one and the exchange keeps to XDR's limits. It carries the
//! SockJS `Socket`'s XHR and XDR transports, the Socket.IO polling transports, the
//! [`XdrRequest`](super::xdr::XdrRequest) and the EventSource polyfill's event stream.
//!
//! Why not [`crate::transport::xhr::Request`]: these need a request with a text body and
//! the response text, nothing of what makes `Request` general (bodies of every type, forms,
//! progress, response types, per-call options). Going through it cost the socket build about
//! 20 KB of wasm and the eventsource build about 3 KB gzip, and copied every received frame
//! into wasm and back out. Here the browser half is a few lines of JavaScript
//! (`js/exchange.js`), which can also split the response into frames (one per line) and hand
//! each to the caller as a JavaScript string; Rust decides the URL, the credentials, the CSRF
//! header and what an outcome means.
//!
//! The request is aborted, and its handlers removed, when the [`Exchange`] is dropped before it
//! finished.

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
#[cfg(feature = "_xdr")]
use wasm_bindgen_futures::JsFuture;

use crate::protocol::headers::Headers;
use crate::{Error, HttpResponse};

#[wasm_bindgen(module = "/js/exchange.js")]
extern "C" {
    type JsExchange;

    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(js_name = exchange)]
    fn start(
        method: &str,
        url: &str,
        body: &JsValue,
        flags: u32,
        header: &str,
        token: &str,
        extra: &JsValue,
        on_frame: Option<&Function>,
        timeout_ms: u32,
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

    #[cfg(feature = "_eventsource")]
    #[wasm_bindgen(method)]
    fn status(this: &JsExchange) -> u16;

    #[cfg(feature = "_eventsource")]
    #[wasm_bindgen(method)]
    fn headers(this: &JsExchange) -> String;
}

/// How an exchange is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A CORS XHR; `true`: with credentials (cookies). Carries the page-wide CSRF header
    /// ([`crate::security::set_defaults`]) where its rules allow, and the caller's headers.
    #[cfg_attr(not(feature = "_socket"), allow(dead_code))]
    Cors(bool),
    /// Within XDomainRequest's limits: no cookies, no custom header (so no CSRF header
    /// either), a string body sent as `text/plain` (empty when none is given); never
    /// preflighted. On the page's `XDomainRequest` when it has one.
    Xdr,
}

const WITH_CREDENTIALS: u32 = 1;
const XDR_LIMITS: u32 = 2;
const STREAMING: u32 = 4;
#[cfg(feature = "_eventsource")]
const EVENT_STREAM: u32 = 8;

/// One request in flight; dropping it aborts it.
pub(crate) struct Exchange {
    js: JsExchange,
    mode: Mode,
    url: String,
}

impl Exchange {
    /// Starts `method url` with `body` (`undefined` or `null` for none). `on_frame`, when
    /// given, gets every frame of a 2xx response as a JavaScript string: as the response grows
    /// when `streaming`, else once it is complete. `timeout_ms` of 0 waits without limit.
    /// Fails only when the page's CSRF setting is invalid (nothing is sent then).
    #[cfg_attr(not(any(feature = "_socket", feature = "_xdr")), allow(dead_code))]
    pub(crate) fn start(
        method: &str,
        url: &str,
        body: &JsValue,
        mode: Mode,
        streaming: bool,
        on_frame: Option<&Function>,
        timeout_ms: u32,
    ) -> Result<Exchange, Error> {
        let none = JsValue::UNDEFINED;
        Exchange::start_with_headers(
            method, url, body, mode, &none, streaming, on_frame, timeout_ms,
        )
    }

    /// [`start`](Exchange::start) with `headers` (a flat array `[name, value, ...]` of
    /// checked request headers, or `undefined`) on a [`Mode::Cors`] request; [`Mode::Xdr`]
    /// carries none. (The Socket.IO driver's `extraHeaders`.)
    #[allow(clippy::too_many_arguments)]
    #[cfg_attr(
        not(any(feature = "_socket", feature = "_xdr", feature = "_socketio")),
        allow(dead_code)
    )]
    pub(crate) fn start_with_headers(
        method: &str,
        url: &str,
        body: &JsValue,
        mode: Mode,
        headers: &JsValue,
        streaming: bool,
        on_frame: Option<&Function>,
        timeout_ms: u32,
    ) -> Result<Exchange, Error> {
        let flags = if streaming { STREAMING } else { 0 };
        Exchange::open(
            method, url, body, mode, headers, flags, on_frame, timeout_ms,
        )
    }

    /// An event stream's request (the EventSource polyfill's): a CORS XHR with `headers` (as
    /// for [`start_with_headers`](Exchange::start_with_headers)) and a text `body` (or
    /// `undefined`), its response decoded as UTF-8 whatever its charset says. `on_text` gets the
    /// response text as JavaScript strings, whatever the status: first `""` once the status and
    /// headers are in ([`head`](Exchange::head)), then each new piece as it arrives, split
    /// anywhere. Fails only when the page's CSRF setting is invalid.
    #[cfg(feature = "_eventsource")]
    pub(crate) fn event_stream(
        method: &str,
        url: &str,
        body: &JsValue,
        credentials: bool,
        headers: &JsValue,
        on_text: &Function,
    ) -> Result<Exchange, Error> {
        Exchange::open(
            method,
            url,
            body,
            Mode::Cors(credentials),
            headers,
            EVENT_STREAM,
            Some(on_text),
            0,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn open(
        method: &str,
        url: &str,
        body: &JsValue,
        mode: Mode,
        headers: &JsValue,
        mut flags: u32,
        on_frame: Option<&Function>,
        timeout_ms: u32,
    ) -> Result<Exchange, Error> {
        let none = JsValue::UNDEFINED;
        let mut extra = headers;
        let xsrf = match mode {
            Mode::Cors(credentials) => {
                if credentials {
                    flags |= WITH_CREDENTIALS;
                }
                crate::security::xsrf_header_for(url)?
            }
            Mode::Xdr => {
                flags |= XDR_LIMITS;
                extra = &none;
                None
            }
        };
        let (header, token) = xsrf
            .as_ref()
            .map_or(("", ""), |(h, t)| (h.as_str(), t.as_str()));
        let js = start(
            method, url, body, flags, header, token, extra, on_frame, timeout_ms,
        );
        Ok(Exchange {
            js,
            mode,
            url: url.to_owned(),
        })
    }

    /// Waits for the end of the response: its status on a 2xx answer (200 on an
    /// `XDomainRequest`, which reports none). Fails with
    /// - [`Http`](crate::ErrorKind::Http) for another status (an XHR), with a header-less
    ///   snapshot holding the body text;
    /// - [`Network`](crate::ErrorKind::Network) for a connection failure or a CORS rejection
    ///   (and, on an `XDomainRequest`, any non-2xx answer);
    /// - [`Timeout`](crate::ErrorKind::Timeout), or [`Invalid`](crate::ErrorKind::Invalid)
    ///   when the browser refused to start the request.
    #[cfg(feature = "_xdr")]
    pub(crate) async fn finish(&self) -> Result<u16, Error> {
        // `done` never rejects; it resolves to a number.
        let outcome = JsFuture::from(self.js.done())
            .await
            .unwrap_or(JsValue::NULL);
        self.outcome(&outcome)
    }

    /// The promise `done`: it never rejects, and resolves to what [`Exchange::outcome`] reads.
    #[cfg(all(feature = "js", feature = "xdr"))]
    pub(crate) fn done(&self) -> Promise {
        self.js.done()
    }

    /// Runs `then` with this exchange once it has finished (`Err` for a failed one). Dropping
    /// the returned [`Pending`] aborts the exchange, and `then` does not run.
    #[cfg(any(feature = "_socket", feature = "_socketio"))]
    pub(crate) fn on_finish(
        self,
        then: impl FnOnce(Result<&Exchange, Error>) + 'static,
    ) -> crate::transport::pending::Pending {
        crate::transport::pending::Pending::new(&self.js.done(), move |outcome| {
            then(self.outcome(&outcome).map(|_| &self))
        })
    }

    /// Runs `then` with what `done` resolved to (read it with [`outcome`](Self::outcome)) once
    /// the exchange has finished, for a caller that keeps the exchange itself. Dropping the
    /// returned [`Pending`] drops `then` unrun.
    #[cfg(feature = "_eventsource")]
    pub(crate) fn when_done(
        &self,
        then: impl FnOnce(JsValue) + 'static,
    ) -> crate::transport::pending::Pending {
        crate::transport::pending::Pending::new(&self.js.done(), then)
    }

    /// The status (2xx) or the error, from what `done` resolved to.
    pub(crate) fn outcome(&self, outcome: &JsValue) -> Result<u16, Error> {
        let outcome = outcome.as_f64().unwrap_or(0.0);
        match outcome as i32 {
            s @ 200..=299 => Ok(s as u16),
            s @ 100..=599 => Err(Error::http(HttpResponse::new(
                s as u16,
                self.js.status_text(),
                Headers::default(),
                // An XDomainRequest exposes no URL, and the emulation keeps to what it shows.
                if self.mode == Mode::Xdr {
                    ""
                } else {
                    &self.url
                },
                Some(self.js.text()),
            ))),
            -1 => Err(Error::invalid(
                "the browser rejected the request method or URL",
            )),
            -2 => Err(Error::timeout("request timed out")),
            -3 => Err(Error::abort("request aborted")),
            _ => Err(Error::network(
                "request failed: network error or CORS rejection",
            )),
        }
    }

    /// The response text so far (the whole of it after [`finish`](Self::finish)).
    #[cfg_attr(not(feature = "_xdr"), allow(dead_code))]
    pub(crate) fn text(&self) -> String {
        self.js.text()
    }

    /// The whole response text as the JavaScript string it is, not copied into wasm (the
    /// Socket.IO driver's polling bodies).
    #[cfg_attr(not(feature = "_socketio"), allow(dead_code))]
    pub(crate) fn body(&self) -> js_sys::JsString {
        self.js.text_js()
    }

    /// The status line and headers of an [`event_stream`](Exchange::event_stream)'s response,
    /// once its first text (`""`) was told; no body.
    #[cfg(feature = "_eventsource")]
    pub(crate) fn head(&self) -> HttpResponse {
        HttpResponse::new(
            self.js.status(),
            self.js.status_text(),
            Headers::parse(&self.js.headers()),
            "",
            None,
        )
    }

    /// The status text (`"OK"` on an `XDomainRequest`).
    #[cfg_attr(not(feature = "_xdr"), allow(dead_code))]
    pub(crate) fn status_text(&self) -> String {
        self.js.status_text()
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        self.js.abort();
    }
}
