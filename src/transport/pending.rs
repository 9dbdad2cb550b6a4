//! A browser operation's promise and what runs when it settles, without an async executor.
//!
//! The snippets behind requests, script loads and no-CORS POSTs (`js/exchange.js`,
//! `js/jsonp.js`) each give a `done` promise that always settles: on every outcome, and at once
//! when the operation is cancelled. [`Pending`] attaches a Rust callback to such a promise. The
//! sockets' drivers and the EventSource polyfill use it instead of spawned futures. Their state
//! machines decide, and the driver only has to carry out one step when an operation ends. So a
//! package without a Rust future carries no executor, no waker plumbing and no future state
//! machines.
//!
//! Ownership: the callback owns the operation (an `Exchange`, a script load), and the
//! [`Pending`] owns the callback. Dropping the `Pending` before the promise settles drops both:
//! the operation is cancelled, its promise settles, and the JavaScript side of the callback
//! finds nothing to run and frees itself. The JavaScript function is one that frees itself when
//! called ([`Closure::once_into_js`]), which is why the promise must always settle.

#[cfg(any(feature = "_socket", feature = "_socketio", feature = "_eventsource"))]
use std::{cell::Cell, rc::Rc};

use js_sys::Promise;
#[cfg(any(feature = "_socket", feature = "_socketio", feature = "_eventsource"))]
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen]
extern "C" {
    // A promise with an untyped `then` (js-sys's wants a typed closure).
    type Thenable;
    #[wasm_bindgen(method)]
    fn then(this: &Thenable, f: &JsValue) -> Promise;
}

/// `promise.then(f)` for a JavaScript function `f`.
pub(crate) fn then(promise: &Promise, f: &JsValue) -> Promise {
    promise.unchecked_ref::<Thenable>().then(f)
}

#[cfg(any(feature = "_socket", feature = "_socketio", feature = "_eventsource"))]
type Callback = Box<dyn FnOnce(JsValue)>;

/// A callback waiting for a promise that always settles; see the module docs. Dropping it
/// drops the callback (and what it owns) unrun.
#[cfg(any(feature = "_socket", feature = "_socketio", feature = "_eventsource"))]
#[must_use = "dropping a Pending drops its callback unrun"]
pub(crate) struct Pending {
    _callback: Rc<Cell<Option<Callback>>>,
}

#[cfg(any(feature = "_socket", feature = "_socketio", feature = "_eventsource"))]
impl Pending {
    /// Runs `f` with what `promise` resolves to, unless this was dropped first. `promise` must
    /// always settle (the snippets' `done` promises do), and must not reject: a rejection
    /// leaves `f` unrun until this is dropped.
    pub(crate) fn new(promise: &Promise, f: impl FnOnce(JsValue) + 'static) -> Pending {
        Pending::boxed(promise, Box::new(f))
    }

    // One instantiation of the closure machinery for every caller.
    fn boxed(promise: &Promise, f: Callback) -> Pending {
        let slot = Rc::new(Cell::new(Some(f)));
        let weak = Rc::downgrade(&slot);
        let settle = Closure::once_into_js(move |value: JsValue| {
            // Taken out first: `f` may drop this `Pending` (the driver replaces it).
            if let Some(f) = weak.upgrade().and_then(|slot| slot.take()) {
                f(value);
            }
        });
        let _ = then(promise, &settle);
        Pending { _callback: slot }
    }
}
