//! `io()` against the npm `socket.io` 4.8 server (tests/socketio/server.cjs), in the browser:
//! each transport forced and in auto mode; acks and ack timeouts, namespaces and auth refusal,
//! unicode and binary both ways, 1,000 events in order, reconnection after a cut, connection
//! state recovery, bad input; the `Manager` and `SocketIO` constructors, and `extraHeaders`. The scenarios are JavaScript (tests/socketio/tests.js): they use
//! the API exactly as a page does.
#![cfg(all(target_arch = "wasm32", feature = "socketio", feature = "js"))]

use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const URL: &str = match option_env!("COMETKIT_SOCKETIO_URL") {
    Some(url) => url,
    None => "http://127.0.0.1:18096",
};

#[wasm_bindgen(module = "/tests/socketio/tests.js")]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn run(
        io: &js_sys::Function,
        classes: &JsValue,
        url: &str,
        name: &str,
        transports: &JsValue,
    ) -> Result<JsValue, JsValue>;
}

async fn scenario(name: &str, transports: &[&str]) {
    cometkit::js::install();
    let list: JsValue = if transports.is_empty() {
        JsValue::NULL
    } else {
        transports
            .iter()
            .map(|t| JsValue::from_str(t))
            .collect::<Array>()
            .into()
    };
    let classes = cometkit::js::socketio::classes();
    if let Err(e) = run(&cometkit::js::socketio::io(), &classes, URL, name, &list).await {
        let message = js_sys::Reflect::get(&e, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| format!("{e:?}"));
        panic!("{name} {transports:?}: {message}");
    }
}

const ALL: [&str; 4] = ["websocket", "polling", "jsonp-polling", "xdr-polling"];

#[wasm_bindgen_test]
async fn basic_on_each_transport() {
    for t in ALL {
        scenario("basic", &[t]).await;
    }
}

#[wasm_bindgen_test]
async fn auto_mode_upgrades_to_websocket() {
    scenario("basic", &[]).await;
    scenario("upgrade", &[]).await;
}

#[wasm_bindgen_test]
async fn ack_timeouts() {
    scenario("acks", &["websocket"]).await;
    scenario("acks", &["polling"]).await;
}

#[wasm_bindgen_test]
async fn retries_deliver_in_order_across_a_cut() {
    scenario("retries", &["websocket"]).await;
    scenario("retries", &["polling"]).await;
}

#[wasm_bindgen_test]
async fn namespaces_and_auth_refusal() {
    for t in ALL {
        scenario("namespaces", &[t]).await;
    }
}

#[wasm_bindgen_test]
async fn thousand_events_in_order() {
    for t in ALL {
        scenario("order", &[t]).await;
    }
}

#[wasm_bindgen_test]
async fn reconnect_after_a_cut() {
    for t in ALL {
        scenario("reconnect", &[t]).await;
    }
}

#[wasm_bindgen_test]
async fn recovery_after_a_short_cut() {
    scenario("recovery", &["websocket"]).await;
    scenario("recovery", &["polling"]).await;
    scenario("recovery", &[]).await;
}

#[wasm_bindgen_test]
async fn bad_input_is_a_clear_error() {
    scenario("bad_input", &[]).await;
}

#[wasm_bindgen_test]
async fn buffered_before_connect_bounded_and_volatile_dropped() {
    scenario("buffering", &["websocket"]).await;
    scenario("buffering", &["polling"]).await;
    scenario("buffered_bytes_are_utf8", &["websocket"]).await;
}

#[wasm_bindgen_test]
async fn server_disconnect_is_not_retried() {
    scenario("kicked", &["websocket"]).await;
    scenario("kicked", &["jsonp-polling"]).await;
}

#[wasm_bindgen_test]
async fn a_socket_only_its_listeners_reference_keeps_delivering() {
    scenario("unreferenced", &["websocket"]).await;
    scenario("unreferenced", &["polling"]).await;
}

#[wasm_bindgen_test]
async fn a_manager_without_auto_connect_waits_and_multiplexes_namespaces() {
    scenario("manager_lazy", &["websocket"]).await;
    scenario("manager_lazy", &["polling"]).await;
}

#[wasm_bindgen_test]
async fn a_manager_opens_at_once_or_on_open_and_its_setters_take_effect() {
    scenario("manager_open", &["websocket"]).await;
    scenario("manager_open", &["polling"]).await;
}

#[wasm_bindgen_test]
async fn extra_headers_go_on_every_polling_request() {
    scenario("headers", &["polling"]).await;
    // JSONP polling beside XHR polling is allowed (only the XHR requests carry headers).
    scenario("headers", &["polling", "jsonp-polling"]).await;
}
