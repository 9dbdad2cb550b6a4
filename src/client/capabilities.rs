//! What this browser and page offer the transport ladder, read from the real environment when a
//! socket is created (a test may delete `window.EventSource` or install a `window.XDomainRequest`
//! before that, and the next socket sees it).

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::protocol::ladder::{Capabilities, TransportKind};
use crate::transport::cors::{self, CorsSupport};

/// `globalThis[name]` is a function (a constructor the page can use). Deleted or overwritten
/// globals (`window.EventSource = undefined`) count as absent.
fn has_constructor(name: &str) -> bool {
    Reflect::get(&crate::transport::page::global(), &JsValue::from_str(name))
        .is_ok_and(|v| v.is_function())
}

/// `location.<field>` of the page (window or worker), if there is one.
fn location_field(field: &str) -> Option<String> {
    crate::transport::page::location_field(&crate::transport::page::location()?, field)
}

/// The capabilities for a socket to `url` (absolute), with the user's `whitelist`.
///
/// XDR-style transports count as available when the page has an `XDomainRequest` (as in
/// sockjs-client), or when the whitelist names one of them explicitly: no browser that runs
/// WebAssembly has a native `XDomainRequest` (Internet Explorer 8-9 do not run it), so there
/// they run on XHR held to XDomainRequest's limits ([`crate::transport::xdr`]), which is only
/// worth it when asked for.
pub(crate) fn detect(url: &str, whitelist: &[TransportKind]) -> Capabilities {
    let xdr_asked = whitelist
        .iter()
        .any(|k| matches!(k, TransportKind::XdrStreaming | TransportKind::XdrPolling));
    let page_origin = location_field("origin");
    let page_scheme = location_field("protocol");
    let target = web_sys::Url::new(url).ok();
    let same_origin = match (&target, &page_origin) {
        (Some(t), Some(o)) => t.origin() == *o,
        _ => false,
    };
    let same_scheme = match (&target, &page_scheme) {
        (Some(t), Some(s)) => t.protocol() == *s,
        _ => false,
    };
    Capabilities {
        websocket: has_constructor("WebSocket"),
        xhr: has_constructor("XMLHttpRequest"),
        xhr_cors: cors::detect() == CorsSupport::Xhr,
        xdr: has_constructor("XDomainRequest") || xdr_asked,
        eventsource: has_constructor("EventSource"),
        dom: crate::transport::page::window()
            .and_then(|w| w.document())
            .is_some(),
        scripts_trusted: crate::security::check_jsonp_url(url, None).is_ok(),
        null_origin: page_origin.as_deref() == Some("null"),
        same_origin,
        same_scheme,
    }
}
