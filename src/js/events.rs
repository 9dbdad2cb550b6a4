//! Event plumbing shared by the exported classes that look like browser event targets
//! (`CometWebSocket`, `CometEventSource`, `Socket`): an internal `EventTarget` holding the
//! JavaScript listeners, and `on<event>` handler properties that behave like native ones.
//!
//! Events are dispatched on the internal target, so `event.target` (and `this` in listeners)
//! is that target, not the exported object.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::Function;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventTarget};

#[wasm_bindgen]
extern "C" {
    /// An `EventTarget` seen through the untyped forms of its methods, so listener objects
    /// (`handleEvent`) and option objects pass through as given.
    type UntypedTarget;
    #[wasm_bindgen(method, catch, js_name = addEventListener)]
    fn add_listener(
        this: &UntypedTarget,
        kind: &str,
        listener: &JsValue,
        options: &JsValue,
    ) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = removeEventListener)]
    fn remove_listener(
        this: &UntypedTarget,
        kind: &str,
        listener: &JsValue,
        options: &JsValue,
    ) -> Result<(), JsValue>;
}

/// An `on<event>` handler: a listener registered when the handler is first set (so it runs in
/// the order a native event handler would) that calls whatever function the slot holds.
/// Exceptions from the handler propagate to the browser, which reports them.
struct Handler {
    target: EventTarget,
    name: &'static str,
    slot: Rc<RefCell<Option<Function>>>,
    closure: Closure<dyn FnMut(Event) -> Result<(), JsValue>>,
}

impl Handler {
    fn new(target: &EventTarget, name: &'static str) -> Handler {
        let slot: Rc<RefCell<Option<Function>>> = Rc::new(RefCell::new(None));
        let current = slot.clone();
        let closure = Closure::<dyn FnMut(Event) -> Result<(), JsValue>>::new(move |e: Event| {
            let f = current.borrow().clone();
            match f {
                Some(f) => {
                    let this: JsValue = e.current_target().map(Into::into).unwrap_or_default();
                    f.call1(&this, &e).map(|_| ())
                }
                None => Ok(()),
            }
        });
        let _ = target.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
        Handler {
            target: target.clone(),
            name,
            slot,
            closure,
        }
    }
}

impl Drop for Handler {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.name, self.closure.as_ref().unchecked_ref());
    }
}

/// The listeners and `on<event>` handlers of one exported object. Whatever dispatches events
/// holds only a [`Weak`] reference to the target (see [`Events::weak_target`]), so freeing the
/// object stops delivery at once and releases every listener.
pub(crate) struct Events {
    target: Rc<EventTarget>,
    /// The handler names, indexed like `handlers`.
    names: &'static [&'static str],
    handlers: Vec<Option<Handler>>,
}

impl Events {
    /// A fresh target with room for one `on<name>` handler per entry of `names`.
    pub(crate) fn new(names: &'static [&'static str]) -> Result<Events, JsValue> {
        Ok(Events {
            target: Rc::new(EventTarget::new()?),
            names,
            handlers: names.iter().map(|_| None).collect(),
        })
    }

    /// For the task that dispatches events.
    pub(crate) fn weak_target(&self) -> Weak<EventTarget> {
        Rc::downgrade(&self.target)
    }

    /// `EventTarget.addEventListener`, with the caller's listener and options untouched.
    pub(crate) fn add_listener(
        &self,
        kind: &str,
        listener: &JsValue,
        options: &JsValue,
    ) -> Result<(), JsValue> {
        self.target
            .unchecked_ref::<UntypedTarget>()
            .add_listener(kind, listener, options)
    }

    /// `EventTarget.removeEventListener`.
    pub(crate) fn remove_listener(
        &self,
        kind: &str,
        listener: &JsValue,
        options: &JsValue,
    ) -> Result<(), JsValue> {
        self.target
            .unchecked_ref::<UntypedTarget>()
            .remove_listener(kind, listener, options)
    }

    /// The handler `names[i]`, or `null`.
    pub(crate) fn handler(&self, i: usize) -> JsValue {
        self.handlers
            .get(i)
            .and_then(Option::as_ref)
            .and_then(|h| h.slot.borrow().clone())
            .map_or(JsValue::NULL, Into::into)
    }

    /// A function installs the handler; anything else clears it (as `ws.onmessage = null`).
    pub(crate) fn set_handler(&mut self, i: usize, f: JsValue) {
        let f = f.dyn_into::<Function>().ok();
        let (Some(entry), Some(name)) = (self.handlers.get_mut(i), self.names.get(i)) else {
            return;
        };
        if f.is_none() && entry.is_none() {
            return;
        }
        let handler = entry.get_or_insert_with(|| Handler::new(&self.target, name));
        *handler.slot.borrow_mut() = f;
    }
}
