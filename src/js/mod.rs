//! The JavaScript surface: everything `#[wasm_bindgen]`-exported lives under this module
//! (compiled with the `js` feature only).
//!
//! Options arrive as plain JS objects and are read with [`opts`]; errors leave as JS `Error`s
//! built by [`error`]. The classes that must behave like browser objects (`Socket`,
//! `CometWebSocket`, `CometEventSource`) are hand-written JavaScript in `js/` at the crate
//! root, shipped as wasm-bindgen snippets: each extends `EventTarget` and leaves every decision
//! to Rust, through a core it holds or the stateless methods of [`Cores`]. [`install`] hands
//! the snippets that factory; the package's start function calls it.

pub(crate) mod error;
#[cfg(feature = "eventsource")]
pub mod eventsource;
#[cfg(feature = "jsonp")]
pub mod jsonp;
pub(crate) mod opts;
#[cfg(feature = "ping")]
pub mod ping;
pub mod security;
#[cfg(feature = "socket")]
pub mod socket;
#[cfg(feature = "socketio")]
pub mod socketio;
#[cfg(feature = "websocket")]
pub mod websocket;
#[cfg(feature = "xdr")]
pub mod xdr;
#[cfg(feature = "xhr")]
pub mod xhr;

/// `promise.then(f)` for the request exports that need no Rust future: `f` turns what
/// `promise` resolved to into the result or the error (a rejection). `promise` must be one that
/// always settles (the snippets' `done` promises do: every outcome, cancel included, resolves
/// them), because the callback frees itself when called and only then.
#[cfg(any(feature = "xdr", feature = "jsonp"))]
pub(crate) fn then(
    promise: &js_sys::Promise,
    f: impl FnOnce(wasm_bindgen::JsValue) -> Result<wasm_bindgen::JsValue, crate::Error> + 'static,
) -> js_sys::Promise {
    use wasm_bindgen::{closure::Closure, JsValue};
    let settle = Closure::once_into_js(move |value: JsValue| -> JsValue {
        f(value).unwrap_or_else(|e| js_sys::Promise::reject(&e.into()).into())
    });
    crate::transport::pending::then(promise, &settle)
}

// Every build with a hand-written class: the classes import `js/core.js`, and wasm-bindgen
// ships a snippet file only when Rust code binds to it (an `eventsource`-only package once
// lacked it).
#[cfg(any(
    feature = "socket",
    feature = "socketio",
    feature = "websocket",
    feature = "eventsource"
))]
mod cores {
    use wasm_bindgen::prelude::*;

    /// The factory of the Rust cores behind the hand-written classes (one method per class, in
    /// the class's own module). Not part of the public API.
    #[wasm_bindgen(skip_typescript)]
    pub struct Cores;

    #[wasm_bindgen(module = "/js/core.js")]
    extern "C" {
        #[wasm_bindgen(js_name = bind)]
        fn bind_cores(cores: Cores);
    }

    /// Gives the hand-written classes their factory. Called by the start function when the module
    /// is instantiated; tests (whose runner skips start functions) call it themselves. Idempotent.
    pub fn install() {
        bind_cores(Cores);
    }

    #[wasm_bindgen(start)]
    fn start() {
        install();
    }
}

#[cfg(any(
    feature = "socket",
    feature = "socketio",
    feature = "websocket",
    feature = "eventsource"
))]
pub use cores::{install, Cores};
