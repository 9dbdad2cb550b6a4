//! `openWebSocket(url, options?)`: the WebSocket for JavaScript, with cometkit's URL mapping and
//! input validation in front of the browser's
//! [`WebSocket`](https://developer.mozilla.org/docs/Web/API/WebSocket).
//!
//! The returned `CometWebSocket` (not named `WebSocket`, which would shadow the global inside the
//! generated glue) looks like the native object: `send`, `close`, `readyState`,
//! `bufferedAmount`, `protocol`, `url`, `extensions`, `binaryType`, `addEventListener` /
//! `removeEventListener` and `onopen`/`onmessage`/`onerror`/`onclose`, with real `Event`,
//! `MessageEvent` and `CloseEvent` objects. Differences: bad input to `close`/`send`, a bad URL
//! or bad subprotocols throw a cometkit `Error` with `kind: "invalid"` (not a `DOMException`),
//! `send` throws unless the socket is open, `close()` without a code sends 1000, and
//! `event.target` is an internal `EventTarget`, not the `CometWebSocket`.
//!
//! Events are re-dispatched by a local task reading the transport's channel; it ends after the
//! close event, or as soon as the object is freed (`free()` also closes the socket with 1000).
//! Keep a reference to the object while you use it: where the glue registers exported objects
//! with a `FinalizationRegistry`, one that is garbage-collected is freed, which closes it.

use std::rc::Weak;

use futures_channel::mpsc::UnboundedReceiver;
use futures_util::StreamExt;
use js_sys::{Array, ArrayBuffer, Object};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    BinaryType, Blob, CloseEvent, CloseEventInit, Event, EventTarget, MessageEvent,
    MessageEventInit,
};

use crate::js::events::Events;
use crate::js::opts;
use crate::protocol::close;
use crate::transport::websocket::{Conn, Raw, ReadyState};
use crate::Error;

#[wasm_bindgen(typescript_custom_section)]
const TS: &str = r#"
/** Options of `openWebSocket`. */
export interface WebSocketOptions {
  /** Subprotocols to offer, in order of preference: HTTP tokens, none listed twice. */
  protocols?: string | string[];
  /** How binary messages arrive in `MessageEvent.data`: `ArrayBuffer` (default) or `Blob`. */
  binaryType?: "arraybuffer" | "blob";
}

/** The events of a `CometWebSocket`, by name. */
export interface CometWebSocketEventMap {
  open: Event;
  message: MessageEvent<string | ArrayBuffer | Blob>;
  error: Event;
  close: CloseEvent;
}

/**
 * A WebSocket opened by `openWebSocket`; mirrors the browser's `WebSocket`.
 * Bad input throws an `Error` with `kind: "invalid"`. `free()` closes the socket (code 1000);
 * keep a reference while using it, since a garbage-collected object is freed too.
 * `event.target` is an internal EventTarget, not this object.
 */
export class CometWebSocket {
  private constructor();
  /** Closes the socket (1000) if still connecting or open, and releases it. */
  free(): void;
  [Symbol.dispose](): void;
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: 0 | 1 | 2 | 3;
  /** Bytes queued by `send` but not yet transmitted. */
  readonly bufferedAmount: number;
  /** The subprotocol the server chose, or "". */
  readonly protocol: string;
  /** The absolute ws: or wss: URL. */
  readonly url: string;
  /** The extensions the server accepted. */
  readonly extensions: string;
  /** How binary messages arrive; other values are ignored, as by the browser. */
  binaryType: "arraybuffer" | "blob";
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent<string | ArrayBuffer | Blob>) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  /** Sends a message. Throws (kind "invalid") unless the socket is open, or for other data types. */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void;
  /**
   * Starts the closing handshake. `code` defaults to 1000 and must be 1000 or 3000-4999;
   * `reason` must be at most 123 UTF-8 bytes. Throws (kind "invalid") otherwise; the socket
   * then stays as it was.
   */
  close(code?: number, reason?: string): void;
  addEventListener<K extends keyof CometWebSocketEventMap>(
    type: K,
    listener: (ev: CometWebSocketEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof CometWebSocketEventMap>(
    type: K,
    listener: (ev: CometWebSocketEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}

/**
 * Opens a WebSocket. `url` may be relative (resolved against the page) and may use http: or
 * https: (mapped to ws: and wss:); a fragment is removed. Throws an `Error` with
 * `kind: "invalid"` for an unparsable URL, another scheme, or bad `protocols`. A refused
 * handshake is not thrown: it arrives as an `error` event then a `close` event with code 1006.
 */
export function openWebSocket(url: string | URL, options?: WebSocketOptions): CometWebSocket;
"#;

const EVENT_NAMES: [&str; 4] = ["open", "message", "error", "close"];

/// A WebSocket for JavaScript; see the module docs.
#[wasm_bindgen(js_name = CometWebSocket, skip_typescript)]
pub struct JsWebSocket {
    conn: Conn,
    /// Where JS listeners live. The event task holds only a weak reference, so freeing the
    /// object stops event delivery at once.
    events: Events,
}

fn invalid(message: &'static str) -> JsValue {
    Error::invalid(message).into()
}

/// `protocols`: a string, an array of strings, or absent.
fn read_protocols(options: &JsValue) -> Result<Vec<String>, Error> {
    let v = opts::get(options, "protocols");
    if v.is_undefined() || v.is_null() {
        return Ok(Vec::new());
    }
    if let Some(s) = v.as_string() {
        return Ok(vec![s]);
    }
    let bad = || opts::bad("protocols", "a string or an array of strings");
    let list = v.dyn_into::<Array>().map_err(|_| bad())?;
    list.iter().map(|p| p.as_string().ok_or_else(bad)).collect()
}

fn read_binary_type(options: &JsValue) -> Result<Option<BinaryType>, Error> {
    match opts::string(options, "binaryType")?.as_deref() {
        None => Ok(None),
        Some("arraybuffer") => Ok(Some(BinaryType::Arraybuffer)),
        Some("blob") => Ok(Some(BinaryType::Blob)),
        Some(_) => Err(opts::bad("binaryType", "\"arraybuffer\" or \"blob\"")),
    }
}

/// Opens a WebSocket; see the TypeScript declaration above for the contract.
#[wasm_bindgen(js_name = openWebSocket, skip_typescript)]
pub fn open_web_socket(url: JsValue, options: JsValue) -> Result<JsWebSocket, JsValue> {
    let url = match url.as_string() {
        Some(s) => s,
        None => match url.dyn_ref::<web_sys::Url>() {
            Some(u) => u.href(),
            None => return Err(invalid("url must be a string or a URL")),
        },
    };
    opts::check_object(&options, "options")?;
    let protocols = read_protocols(&options)?;
    let binary_type = read_binary_type(&options)?;
    let names: Vec<&str> = protocols.iter().map(String::as_str).collect();
    let (conn, rx) = Conn::connect(&url, &names)?;
    if let Some(t) = binary_type {
        conn.raw().set_binary_type(t);
    }
    // Native `MessageEvent.origin` of a WebSocket message is the origin of its URL.
    let origin = web_sys::Url::new(&conn.raw().url())
        .map(|u| u.origin())
        .unwrap_or_default();
    let events = Events::new(&EVENT_NAMES)?;
    wasm_bindgen_futures::spawn_local(pump(rx, events.weak_target(), origin));
    Ok(JsWebSocket { conn, events })
}

async fn pump(mut rx: UnboundedReceiver<Raw>, target: Weak<EventTarget>, origin: String) {
    while let Some(raw) = rx.next().await {
        let Some(target) = target.upgrade() else {
            break;
        };
        if let Ok(event) = make_event(raw, &origin) {
            // Listener exceptions are reported by the browser; dispatch itself does not throw.
            let _ = target.dispatch_event(&event);
        }
    }
}

fn make_event(raw: Raw, origin: &str) -> Result<Event, JsValue> {
    Ok(match raw {
        Raw::Open => Event::new("open")?,
        Raw::Error => Event::new("error")?,
        Raw::Message(data) => {
            let init = MessageEventInit::new();
            init.set_data(&data);
            init.set_origin(origin);
            MessageEvent::new_with_event_init_dict("message", &init)?.into()
        }
        Raw::Close(info) => {
            let init = CloseEventInit::new();
            init.set_code(info.code);
            init.set_reason(&info.reason);
            init.set_was_clean(info.was_clean);
            CloseEvent::new_with_event_init_dict("close", &init)?.into()
        }
    })
}

#[wasm_bindgen(js_class = CometWebSocket)]
impl JsWebSocket {
    /// Sends a string, `ArrayBuffer`, typed array / `DataView`, or `Blob`.
    pub fn send(&self, data: JsValue) -> Result<(), JsValue> {
        let ws = self.conn.raw();
        let sent = if let Some(s) = data.as_string() {
            self.conn.check_open()?;
            ws.send_with_str(&s)
        } else if let Some(buf) = data.dyn_ref::<ArrayBuffer>() {
            self.conn.check_open()?;
            ws.send_with_array_buffer(buf)
        } else if ArrayBuffer::is_view(&data) {
            self.conn.check_open()?;
            ws.send_with_array_buffer_view(data.unchecked_ref::<Object>())
        } else if let Some(blob) = data.dyn_ref::<Blob>() {
            self.conn.check_open()?;
            ws.send_with_blob(blob)
        } else {
            return Err(invalid(
                "send() takes a string, an ArrayBuffer, a typed array or DataView, or a Blob",
            ));
        };
        sent.map_err(|e| Conn::send_failed(e).into())
    }

    /// Starts the closing handshake (code defaults to 1000).
    pub fn close(&self, code: JsValue, reason: JsValue) -> Result<(), JsValue> {
        let code = if code.is_undefined() {
            close::NORMAL
        } else {
            match code.as_f64() {
                Some(n) if n.fract() == 0.0 && (0.0..=65535.0).contains(&n) => n as u16,
                _ => return Err(invalid("close code must be an integer")),
            }
        };
        let reason = if reason.is_undefined() {
            String::new()
        } else {
            reason
                .as_string()
                .ok_or_else(|| invalid("close reason must be a string"))?
        };
        self.conn.close_with(code, &reason).map_err(Into::into)
    }

    /// 0 connecting, 1 open, 2 closing, 3 closed.
    #[wasm_bindgen(getter, js_name = readyState)]
    pub fn ready_state(&self) -> u16 {
        match self.conn.ready_state() {
            ReadyState::Connecting => 0,
            ReadyState::Open => 1,
            ReadyState::Closing => 2,
            ReadyState::Closed => 3,
        }
    }

    /// Bytes queued but not yet transmitted.
    #[wasm_bindgen(getter, js_name = bufferedAmount)]
    pub fn buffered_amount(&self) -> u32 {
        self.conn.raw().buffered_amount()
    }

    /// The chosen subprotocol, or "".
    #[wasm_bindgen(getter)]
    pub fn protocol(&self) -> String {
        self.conn.raw().protocol()
    }

    /// The absolute ws:/wss: URL.
    #[wasm_bindgen(getter)]
    pub fn url(&self) -> String {
        self.conn.raw().url()
    }

    /// The accepted extensions.
    #[wasm_bindgen(getter)]
    pub fn extensions(&self) -> String {
        self.conn.raw().extensions()
    }

    /// "arraybuffer" or "blob".
    #[wasm_bindgen(getter, js_name = binaryType)]
    pub fn binary_type(&self) -> String {
        match self.conn.raw().binary_type() {
            BinaryType::Blob => "blob".into(),
            _ => "arraybuffer".into(),
        }
    }

    /// Sets how binary messages arrive; other values are ignored, as by the browser.
    #[wasm_bindgen(setter, js_name = binaryType)]
    pub fn set_binary_type(&self, value: JsValue) {
        match value.as_string().as_deref() {
            Some("arraybuffer") => self.conn.raw().set_binary_type(BinaryType::Arraybuffer),
            Some("blob") => self.conn.raw().set_binary_type(BinaryType::Blob),
            _ => {}
        }
    }

    /// `EventTarget.addEventListener`.
    #[wasm_bindgen(js_name = addEventListener)]
    pub fn add_event_listener(
        &self,
        kind: &str,
        listener: JsValue,
        options: JsValue,
    ) -> Result<(), JsValue> {
        self.events.add_listener(kind, &listener, &options)
    }

    /// `EventTarget.removeEventListener`.
    #[wasm_bindgen(js_name = removeEventListener)]
    pub fn remove_event_listener(
        &self,
        kind: &str,
        listener: JsValue,
        options: JsValue,
    ) -> Result<(), JsValue> {
        self.events.remove_listener(kind, &listener, &options)
    }

    /// The `open` handler.
    #[wasm_bindgen(getter)]
    pub fn onopen(&self) -> JsValue {
        self.events.handler(0)
    }
    /// Sets the `open` handler.
    #[wasm_bindgen(setter)]
    pub fn set_onopen(&mut self, f: JsValue) {
        self.events.set_handler(0, f)
    }
    /// The `message` handler.
    #[wasm_bindgen(getter)]
    pub fn onmessage(&self) -> JsValue {
        self.events.handler(1)
    }
    /// Sets the `message` handler.
    #[wasm_bindgen(setter)]
    pub fn set_onmessage(&mut self, f: JsValue) {
        self.events.set_handler(1, f)
    }
    /// The `error` handler.
    #[wasm_bindgen(getter)]
    pub fn onerror(&self) -> JsValue {
        self.events.handler(2)
    }
    /// Sets the `error` handler.
    #[wasm_bindgen(setter)]
    pub fn set_onerror(&mut self, f: JsValue) {
        self.events.set_handler(2, f)
    }
    /// The `close` handler.
    #[wasm_bindgen(getter)]
    pub fn onclose(&self) -> JsValue {
        self.events.handler(3)
    }
    /// Sets the `close` handler.
    #[wasm_bindgen(setter)]
    pub fn set_onclose(&mut self, f: JsValue) {
        self.events.set_handler(3, f)
    }
}
