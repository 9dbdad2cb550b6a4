//! `new Socket(url, options?)`: the negotiating SockJS socket ([`crate::client`]) for
//! JavaScript, shaped like the browser's `WebSocket`.
//!
//! `readyState` (and the `CONNECTING`/`OPEN`/`CLOSING`/`CLOSED` constants, static and on
//! instances), `transport`, `url`, `bufferedAmount`, `send(string)`, `close(code?, reason?)`,
//! `addEventListener`/`removeEventListener` and `onopen`/`onmessage`/`onclose`/`onerror`/
//! `ontransport`. Events are real `Event`, `MessageEvent` and `CloseEvent` objects; the
//! `transport` event carries the new transport's name in `event.transport`, `error` events the
//! cause in `event.error`, and `reconnecting` events `code`, `reason`, `delay` and `attempt`.
//! Bad input throws a cometkit `Error` with `kind: "invalid"`, including `send` on a closed
//! socket or a full queue: a message is never dropped silently. As with the other cometkit
//! classes, `event.target` is an internal `EventTarget`, not the `Socket`.
//!
//! Events are re-dispatched by a local task that holds the socket only weakly: `free()` (or
//! garbage collection of the object) releases every request, script, EventSource, WebSocket
//! and timer at once and stops delivery.

use std::future::poll_fn;
use std::rc::Weak;

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, CloseEventInit, Event, EventTarget, MessageEvent, MessageEventInit};

use crate::client::{
    Backoff, Reconnect, Socket, SocketEvent, SocketOptions, TransportKind, WeakSocket,
};
use crate::js::events::Events;
use crate::js::opts;
use crate::protocol::ladder;
use crate::Error;

#[wasm_bindgen(typescript_custom_section)]
const TS: &str = r#"
/** A SockJS transport name. */
export type SocketTransport =
  | "websocket" | "xhr-streaming" | "xdr-streaming" | "eventsource"
  | "xhr-polling" | "xdr-polling" | "jsonp-polling";

/** Reconnection after a lost session: exponential backoff with jitter. */
export interface SocketReconnectOptions {
  /** First delay in ms (default 1000). */
  minDelay?: number;
  /** Largest delay in ms (default 30000). */
  maxDelay?: number;
  /** Growth per attempt, at least 1 (default 2). */
  factor?: number;
  /** Random share added on top of each delay, 0 to 1 (default 0.5). */
  jitter?: number;
  /** Attempts in a row before giving up (default: unlimited). */
  maxAttempts?: number;
}

/** Options of `new Socket(url, options)`. */
export interface SocketOptions {
  /** Transports allowed, in the order to try them (default: all, in the order above). */
  transports?: SocketTransport | SocketTransport[];
  /** Least time in ms each transport gets to open (default: from the /info round trip). */
  timeout?: number;
  /** Time in ms allowed for /info (default 8000). */
  infoTimeout?: number;
  /** Silence in ms on an open session that counts as a lost connection (default 62500; 0: off). */
  heartbeatTimeout?: number;
  /** `false`: a lost session closes the socket; otherwise backoff settings (default on). */
  reconnect?: boolean | SocketReconnectOptions;
  /** Send cookies with CORS requests and the EventSource (default true). */
  withCredentials?: boolean;
  /** The server id path segment (default: 3 random digits). */
  serverId?: string;
  /** A fixed session id for every attempt (tests). */
  sessionId?: string;
}

/** The `transport` event: a session is opening on another transport than before. */
export interface SocketTransportEvent extends Event {
  readonly transport: SocketTransport;
}

/** The `error` event: something the socket is handling; the next events say what follows. */
export interface SocketErrorEvent extends Event {
  /** A cometkit Error with `kind`. */
  readonly error: CometkitError;
}

/** The `reconnecting` event: the session was lost, a new one is tried after `delay` ms. */
export interface SocketReconnectingEvent extends Event {
  readonly code: number;
  readonly reason: string;
  /** Wait before the next attempt, in ms. */
  readonly delay: number;
  /** Backoff retries in a row (0: an immediate move to the next transport). */
  readonly attempt: number;
}

/** The events of a `Socket`, by name. */
export interface SocketEventMap {
  open: Event;
  message: MessageEvent<string>;
  close: CloseEvent;
  error: SocketErrorEvent;
  transport: SocketTransportEvent;
  reconnecting: SocketReconnectingEvent;
  heartbeat: Event;
}

/**
 * A SockJS socket that negotiates its transport. Bad input throws an `Error` with
 * `kind: "invalid"`. `free()` releases everything at once; keep a reference while using it.
 * `event.target` is an internal EventTarget, not this object.
 */
export class Socket {
  /**
   * Starts connecting to the SockJS service at `url` (http(s), absolute or relative to the
   * page). Throws (kind "invalid") for a bad URL or option; connection failures arrive as a
   * `close` event (2000 "All transports failed", 1002 "Cannot connect to server").
   */
  constructor(url: string | URL, options?: SocketOptions);
  /** Releases every request, script, EventSource, WebSocket and timer at once. */
  free(): void;
  [Symbol.dispose](): void;
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
  /** 0 connecting (or reconnecting), 1 open, 2 closing, 3 closed. */
  readonly readyState: 0 | 1 | 2 | 3;
  /** The transport of the open session, or null. */
  readonly transport: SocketTransport | null;
  /** The service URL. */
  readonly url: string;
  /** Bytes of messages sent but not yet confirmed delivered. */
  readonly bufferedAmount: number;
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent<string>) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  onerror: ((ev: SocketErrorEvent) => unknown) | null;
  ontransport: ((ev: SocketTransportEvent) => unknown) | null;
  /** Queues a message, sent in order once a session is open. Throws (kind "invalid") when the
   * socket is closed or the queue is full, or for a non-string. */
  send(data: string): void;
  /**
   * Closes the socket for good. `code` defaults to 1000 and must be 1000 or 3000-4999;
   * `reason` must be at most 123 UTF-8 bytes. Throws (kind "invalid") otherwise.
   */
  close(code?: number, reason?: string): void;
  addEventListener<K extends keyof SocketEventMap>(
    type: K,
    listener: (ev: SocketEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof SocketEventMap>(
    type: K,
    listener: (ev: SocketEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}
"#;

/// The `on<event>` handlers, by index.
const HANDLERS: [&str; 5] = ["open", "message", "close", "error", "transport"];

/// A socket for JavaScript; see the module docs.
#[wasm_bindgen(js_name = Socket, skip_typescript)]
pub struct JsSocket {
    socket: Socket,
    events: Events,
}

fn invalid(message: &'static str) -> JsValue {
    Error::invalid(message).into()
}

fn read_transports(options: &JsValue) -> Result<Vec<TransportKind>, Error> {
    let v = opts::get(options, "transports");
    if v.is_undefined() || v.is_null() {
        return Ok(Vec::new());
    }
    let bad = || opts::bad("transports", "a transport name or an array of them");
    let names: Vec<String> = match v.as_string() {
        Some(s) => vec![s],
        None => v
            .dyn_into::<Array>()
            .map_err(|_| bad())?
            .iter()
            .map(|n| n.as_string().ok_or_else(bad))
            .collect::<Result<_, _>>()?,
    };
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    ladder::parse_whitelist(&names)
}

fn read_reconnect(options: &JsValue) -> Result<Option<Reconnect>, Error> {
    let v = opts::get(options, "reconnect");
    if v.is_undefined() || v.is_null() || v.as_bool() == Some(true) {
        return Ok(Some(Reconnect::default()));
    }
    if v.as_bool() == Some(false) {
        return Ok(None);
    }
    if !v.is_object() {
        return Err(opts::bad("reconnect", "a boolean or an object"));
    }
    let default = Backoff::default();
    let min = opts::uint(&v, "minDelay")?.unwrap_or(default.min);
    let max = opts::uint(&v, "maxDelay")?.unwrap_or(default.max.max(min));
    if min > max {
        return Err(opts::bad("maxDelay", "at least minDelay"));
    }
    let factor = opts::number(&v, "factor")?.unwrap_or(default.factor);
    if factor < 1.0 {
        return Err(opts::bad("factor", "a number of at least 1"));
    }
    let jitter = opts::number(&v, "jitter")?.unwrap_or(default.jitter);
    if !(0.0..=1.0).contains(&jitter) {
        return Err(opts::bad("jitter", "a number from 0 to 1"));
    }
    Ok(Some(Reconnect {
        backoff: Backoff {
            min,
            max,
            factor,
            jitter,
        },
        max_attempts: opts::uint(&v, "maxAttempts")?,
    }))
}

fn read_options(options: &JsValue) -> Result<SocketOptions, Error> {
    opts::check_object(options, "Socket options")?;
    let mut o = SocketOptions::new()
        .transports(&read_transports(options)?)
        .reconnect(read_reconnect(options)?);
    if let Some(ms) = opts::uint(options, "timeout")? {
        o = o.timeout(ms);
    }
    if let Some(ms) = opts::uint(options, "infoTimeout")? {
        o = o.info_timeout(ms);
    }
    if let Some(ms) = opts::uint(options, "heartbeatTimeout")? {
        o = o.heartbeat_timeout(ms);
    }
    if let Some(yes) = opts::boolean(options, "withCredentials")? {
        o = o.with_credentials(yes);
    }
    if let Some(id) = opts::string(options, "serverId")? {
        o = o.server_id(&id);
    }
    if let Some(id) = opts::string(options, "sessionId")? {
        o = o.session_id(&id);
    }
    Ok(o)
}

/// Reads the socket's events and dispatches them until the socket closes or is freed.
async fn dispatch(socket: WeakSocket, target: Weak<EventTarget>, origin: String) {
    loop {
        let next = poll_fn(|cx| socket.poll_event(cx)).await;
        let (Some(event), Some(target)) = (next, target.upgrade()) else {
            break;
        };
        if let Ok(event) = make_event(event, &origin) {
            // Listener exceptions are reported by the browser; dispatch itself does not throw.
            let _ = target.dispatch_event(&event);
        }
    }
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    // Own properties on a fresh Event: cannot throw.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

fn make_event(event: SocketEvent, origin: &str) -> Result<Event, JsValue> {
    Ok(match event {
        SocketEvent::TransportChanged(kind) => {
            let e = Event::new("transport")?;
            set(&e, "transport", &JsValue::from_str(kind.name()));
            e
        }
        SocketEvent::Open => Event::new("open")?,
        SocketEvent::Message(text) => {
            let init = MessageEventInit::new();
            init.set_data(&JsValue::from_str(&text));
            init.set_origin(origin);
            MessageEvent::new_with_event_init_dict("message", &init)?.into()
        }
        SocketEvent::Heartbeat => Event::new("heartbeat")?,
        SocketEvent::Reconnecting {
            code,
            reason,
            delay_ms,
            attempt,
        } => {
            let e = Event::new("reconnecting")?;
            set(&e, "code", &JsValue::from(code));
            set(&e, "reason", &JsValue::from_str(&reason));
            set(&e, "delay", &JsValue::from(delay_ms));
            set(&e, "attempt", &JsValue::from(attempt));
            e
        }
        SocketEvent::Error(error) => {
            let e = Event::new("error")?;
            set(&e, "error", &JsValue::from(error));
            e
        }
        SocketEvent::Close {
            code,
            reason,
            was_clean,
        } => {
            let init = CloseEventInit::new();
            init.set_code(code);
            init.set_reason(&reason);
            init.set_was_clean(was_clean);
            CloseEvent::new_with_event_init_dict("close", &init)?.into()
        }
    })
}

#[wasm_bindgen(js_class = Socket)]
impl JsSocket {
    /// Starts connecting; see the TypeScript declaration above for the contract.
    #[wasm_bindgen(constructor)]
    pub fn new(url: JsValue, options: JsValue) -> Result<JsSocket, JsValue> {
        let url = match url.as_string() {
            Some(s) => s,
            None => match url.dyn_ref::<web_sys::Url>() {
                Some(u) => u.href(),
                None => return Err(invalid("url must be a string or a URL")),
            },
        };
        let options = read_options(&options)?;
        let socket = Socket::connect(&url, options)?;
        let events = Events::new(&HANDLERS)?;
        let origin = web_sys::Url::new(&socket.url())
            .map(|u| u.origin())
            .unwrap_or_default();
        wasm_bindgen_futures::spawn_local(dispatch(
            socket.downgrade(),
            events.weak_target(),
            origin,
        ));
        Ok(JsSocket { socket, events })
    }

    /// Queues a string message.
    pub fn send(&self, data: JsValue) -> Result<(), JsValue> {
        let text = data
            .as_string()
            .ok_or_else(|| invalid("send() takes a string"))?;
        self.socket.send(&text).map_err(Into::into)
    }

    /// Closes the socket (code defaults to 1000).
    pub fn close(&self, code: JsValue, reason: JsValue) -> Result<(), JsValue> {
        let code = if code.is_undefined() {
            1000
        } else {
            match code.as_f64() {
                Some(n) if n.fract() == 0.0 && (0.0..=65535.0).contains(&n) => n as u16,
                _ => {
                    return Err(invalid(
                        "close code must be 1000 or in 3000-4999 (1001-2999 are reserved to the protocol)",
                    ))
                }
            }
        };
        let reason = if reason.is_undefined() {
            String::new()
        } else {
            reason
                .as_string()
                .ok_or_else(|| invalid("close reason must be a string"))?
        };
        self.socket.close(code, &reason).map_err(Into::into)
    }

    /// 0 connecting, 1 open, 2 closing, 3 closed.
    #[wasm_bindgen(getter, js_name = readyState)]
    pub fn ready_state(&self) -> u16 {
        self.socket.ready_state() as u16
    }

    /// The transport of the open session, or `null`.
    #[wasm_bindgen(getter)]
    pub fn transport(&self) -> JsValue {
        self.socket
            .transport()
            .map_or(JsValue::NULL, |k| JsValue::from_str(k.name()))
    }

    /// The service URL.
    #[wasm_bindgen(getter)]
    pub fn url(&self) -> String {
        self.socket.url()
    }

    /// Bytes sent but not yet confirmed delivered.
    #[wasm_bindgen(getter, js_name = bufferedAmount)]
    pub fn buffered_amount(&self) -> f64 {
        self.socket.buffered_amount() as f64
    }

    /// 0.
    #[wasm_bindgen(getter = CONNECTING)]
    pub fn connecting(&self) -> u16 {
        0
    }
    /// 1.
    #[wasm_bindgen(getter = OPEN)]
    pub fn open(&self) -> u16 {
        1
    }
    /// 2.
    #[wasm_bindgen(getter = CLOSING)]
    pub fn closing(&self) -> u16 {
        2
    }
    /// 3.
    #[wasm_bindgen(getter = CLOSED)]
    pub fn closed(&self) -> u16 {
        3
    }
    /// 0.
    #[wasm_bindgen(getter = CONNECTING)]
    pub fn connecting_static() -> u16 {
        0
    }
    /// 1.
    #[wasm_bindgen(getter = OPEN)]
    pub fn open_static() -> u16 {
        1
    }
    /// 2.
    #[wasm_bindgen(getter = CLOSING)]
    pub fn closing_static() -> u16 {
        2
    }
    /// 3.
    #[wasm_bindgen(getter = CLOSED)]
    pub fn closed_static() -> u16 {
        3
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
    /// The `close` handler.
    #[wasm_bindgen(getter)]
    pub fn onclose(&self) -> JsValue {
        self.events.handler(2)
    }
    /// Sets the `close` handler.
    #[wasm_bindgen(setter)]
    pub fn set_onclose(&mut self, f: JsValue) {
        self.events.set_handler(2, f)
    }
    /// The `error` handler.
    #[wasm_bindgen(getter)]
    pub fn onerror(&self) -> JsValue {
        self.events.handler(3)
    }
    /// Sets the `error` handler.
    #[wasm_bindgen(setter)]
    pub fn set_onerror(&mut self, f: JsValue) {
        self.events.set_handler(3, f)
    }
    /// The `transport` handler.
    #[wasm_bindgen(getter)]
    pub fn ontransport(&self) -> JsValue {
        self.events.handler(4)
    }
    /// Sets the `transport` handler.
    #[wasm_bindgen(setter)]
    pub fn set_ontransport(&mut self, f: JsValue) {
        self.events.set_handler(4, f)
    }
}
