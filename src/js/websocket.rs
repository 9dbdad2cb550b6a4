//! `openWebSocket(url, options?)`: the WebSocket for JavaScript, with cometkit's URL mapping and
//! input validation in front of the browser's
//! [`WebSocket`](https://developer.mozilla.org/docs/Web/API/WebSocket).
//!
//! The returned `CometWebSocket` (not named `WebSocket`, which would shadow the global inside the
//! generated glue) is hand-written JavaScript (`js/websocket.js`): an `EventTarget` with the
//! native object's surface (`send`, `close`, `readyState`, `bufferedAmount`, `protocol`, `url`,
//! `extensions`, `binaryType`, the state constants and `onopen`/`onmessage`/`onerror`/`onclose`),
//! whose events are real `Event`, `MessageEvent` and `CloseEvent` objects with the object
//! itself as `target`. Differences from the native object: bad input to `close`/`send`, a bad
//! URL or bad subprotocols throw a cometkit `Error` with `kind: "invalid"` (not a
//! `DOMException`), `send` throws unless the socket is open, `close()` without a code sends
//! 1000, and `free()` closes with 1000 and stops every event.
//!
//! Who does what: `openWebSocket` is exported from Rust because everything it does is a rule
//! (URL resolution and `http:`→`ws:` mapping, subprotocol and option validation; see
//! [`crate::transport::websocket`]); it creates the native socket and hands it to the class.
//! The class listens to the native socket itself, so received messages never enter wasm: it
//! re-dispatches each one with the data the browser made (string, `ArrayBuffer` or `Blob`).
//! `send`, `close` and the `binaryType` setter call the stateless [`Cores`] methods below,
//! which decide what is accepted; nothing per socket lives in wasm, so there is nothing to
//! free and no finalizer. The object lives exactly as long as the native socket (see
//! `js/websocket.js`).

use js_sys::ArrayBuffer;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, Blob};

use crate::js::opts;
use crate::js::Cores;
use crate::protocol::close;
use crate::transport::websocket;
use crate::Error;

#[wasm_bindgen(typescript_custom_section)]
const TS: &str = r#"
/** Options of `openWebSocket`. */
export interface WebSocketOptions {
  /** Subprotocols to offer, in order of preference: HTTP tokens, none listed twice. */
  protocols?: string | string[];
  /** How binary messages arrive in `MessageEvent.data`: `ArrayBuffer` (default) or `Blob`. */
  binaryType?: "arraybuffer" | "blob";
  /** Refuse a `ws:` (or `http:`) URL before connecting; overrides `setDefaults`. */
  secureOnly?: SecureOnly;
}

/** The events of a `CometWebSocket`, by name. */
export interface CometWebSocketEventMap {
  open: Event;
  message: MessageEvent<string | ArrayBuffer | Blob>;
  error: Event;
  close: CloseEvent;
}

/**
 * A WebSocket opened by `openWebSocket`: an `EventTarget` that mirrors the browser's
 * `WebSocket` (`event.target` is this object). Bad input throws an `Error` with
 * `kind: "invalid"`. While connecting or open it stays alive even if only its listeners
 * reference it, as a native WebSocket does.
 */
export class CometWebSocket extends EventTarget {
  private constructor();
  /** Closes the socket (1000) if still connecting or open; no event is dispatched after it. */
  free(): void;
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
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

#[wasm_bindgen(module = "/js/websocket.js")]
extern "C" {
    /// The hand-written class (`js/websocket.js`).
    pub type CometWebSocket;
    #[wasm_bindgen(constructor)]
    fn new(ws: &web_sys::WebSocket) -> CometWebSocket;
}

#[wasm_bindgen]
extern "C" {
    /// A WebSocket seen through the untyped `send`, so a string, buffer, view or Blob goes to
    /// the browser as the JS value it is (web-sys's `send_with_str` would copy a string
    /// through wasm memory and back).
    type AnySender;
    #[wasm_bindgen(method, catch, js_name = send)]
    fn send_any(this: &AnySender, data: &JsValue) -> Result<(), JsValue>;
}

fn invalid(message: &'static str) -> JsValue {
    Error::invalid(message).into()
}

/// `protocols`: a string, an array of strings, or absent.
fn read_protocols(options: &JsValue) -> Result<Vec<String>, Error> {
    Ok(opts::strings(options, "protocols", "a string or an array of strings")?.unwrap_or_default())
}

/// The `binaryType` values, for the option and the setter alike.
fn binary_type(value: &JsValue) -> Option<BinaryType> {
    match value.as_string().as_deref() {
        Some("arraybuffer") => Some(BinaryType::Arraybuffer),
        Some("blob") => Some(BinaryType::Blob),
        _ => None,
    }
}

/// Opens a WebSocket; see the TypeScript declaration above for the contract.
#[wasm_bindgen(js_name = openWebSocket, skip_typescript)]
pub fn open_web_socket(url: JsValue, options: JsValue) -> Result<CometWebSocket, JsValue> {
    let url = match url.as_string() {
        Some(s) => s,
        None => match url.dyn_ref::<web_sys::Url>() {
            Some(u) => u.href(),
            None => return Err(invalid("url must be a string or a URL")),
        },
    };
    opts::check_object(&options, "options")?;
    let protocols = read_protocols(&options)?;
    let kind = opts::get(&options, "binaryType");
    let kind = if kind.is_undefined() || kind.is_null() {
        None
    } else {
        Some(
            binary_type(&kind)
                .ok_or_else(|| opts::bad("binaryType", "\"arraybuffer\" or \"blob\""))?,
        )
    };
    let secure_only = crate::js::security::secure_only(&options)?;
    let names: Vec<&str> = protocols.iter().map(String::as_str).collect();
    let url = websocket::resolve_url(&url)?;
    crate::security::check_url(&url, secure_only)?;
    let ws = websocket::create(&url, &names)?;
    if let Some(kind) = kind {
        ws.set_binary_type(kind);
    }
    Ok(CometWebSocket::new(&ws))
}

/// The rules behind `CometWebSocket`'s methods (`js/websocket.js`), one call each.
#[wasm_bindgen]
impl Cores {
    /// `send(data)`: a string, `ArrayBuffer`, typed array / `DataView` or `Blob`, on an open
    /// socket; anything else throws (kind "invalid") and nothing is sent.
    #[wasm_bindgen(js_name = wsSend)]
    pub fn ws_send(&self, ws: &web_sys::WebSocket, data: JsValue) -> Result<(), JsValue> {
        let accepted = data.is_string()
            || data.is_instance_of::<ArrayBuffer>()
            || ArrayBuffer::is_view(&data)
            || data.is_instance_of::<Blob>();
        if !accepted {
            return Err(invalid(
                "send() takes a string, an ArrayBuffer, a typed array or DataView, or a Blob",
            ));
        }
        websocket::check_open(ws)?;
        ws.unchecked_ref::<AnySender>()
            .send_any(&data)
            .map_err(|e| websocket::send_failed(e).into())
    }

    /// `close(code?, reason?)`: code 1000 by default, else 1000 or 3000-4999; a reason of at
    /// most 123 UTF-8 bytes. Bad input throws (kind "invalid") and the socket stays as it was.
    #[wasm_bindgen(js_name = wsClose)]
    pub fn ws_close(
        &self,
        ws: &web_sys::WebSocket,
        code: JsValue,
        reason: JsValue,
    ) -> Result<(), JsValue> {
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
        websocket::close_with(ws, code, &reason).map_err(Into::into)
    }

    /// The `binaryType` setter: other values are ignored, as by the browser.
    #[wasm_bindgen(js_name = wsBinaryType)]
    pub fn ws_binary_type(&self, ws: &web_sys::WebSocket, value: JsValue) {
        if let Some(kind) = binary_type(&value) {
            ws.set_binary_type(kind);
        }
    }
}
