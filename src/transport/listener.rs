//! An event listener that removes itself when dropped.

use std::borrow::Cow;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventTarget};

/// Registered with `addEventListener` on creation, removed with `removeEventListener` on drop,
/// so the closure and everything it captures are freed with the owner.
pub(crate) struct Listener {
    target: EventTarget,
    name: Cow<'static, str>,
    closure: Closure<dyn FnMut(Event)>,
}

impl Listener {
    pub(crate) fn new(
        target: &EventTarget,
        name: impl Into<Cow<'static, str>>,
        f: impl FnMut(Event) + 'static,
    ) -> Self {
        let name = name.into();
        let closure = Closure::<dyn FnMut(Event)>::new(f);
        // addEventListener only throws for a non-callable listener, which a Closure never is.
        let _ = target.add_event_listener_with_callback(&name, closure.as_ref().unchecked_ref());
        Listener {
            target: target.clone(),
            name,
            closure,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(&self.name, self.closure.as_ref().unchecked_ref());
    }
}
