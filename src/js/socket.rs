//! `new Socket(url, options?)`: the negotiating SockJS socket ([`crate::client`]) for
//! JavaScript, shaped like the browser's `WebSocket`.
//!
//! The class itself is hand-written JavaScript (`js/socket.js`): an `EventTarget`, so
//! `event.target` is the socket. It holds a [`SocketCore`], which owns the driver and makes
//! every decision: options, URL, protocol, queue bounds, close codes. Events are dispatched by
//! `emit` in the same file, called once per event (once per received frame for messages) on
//! the stack of the browser callback that caused them. Message payloads stay JavaScript
//! strings both ways.
//!
//! Lifetime: the core holds the JS object strongly until the close event has been
//! dispatched, so a socket only its listeners reference stays open and keeps delivering; after
//! that the object can be collected, which frees the core. `free()` releases every request,
//! script, EventSource, WebSocket and timer at once, without a close event.

use std::rc::Rc;

use js_sys::{Array, JsString};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::client::{
    self, Backoff, JsEvent, JsMessage, Output, Reconnect, Shared, SocketOptions, TransportKind,
};
use crate::js::opts;
use crate::js::Cores;
use crate::protocol::ladder;
use crate::protocol::session::{self, Event, ReadyState};
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
  /** Most messages accepted by `send` and not yet delivered (default 1024). */
  maxQueuedMessages?: number;
  /** Most UTF-16 code units of such messages (default 1048576); a longer message is refused. */
  maxQueuedBytes?: number;
  /** Refuse an `http:` URL (and so `ws:`) before anything is sent; overrides `setDefaults`. */
  secureOnly?: SecureOnly;
  /** Use cometkit's resume extension when the server offers it (default true): exactly once
   * across dropped connections. Plain SockJS servers never offer it. */
  resume?: boolean;
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

/** The `resumefailed` event: the lost session could not be resumed (the server no longer had
 * it); the socket goes on with a fresh one. `unconfirmed` messages were sent but never
 * acknowledged: the server may or may not have them, and they are not sent again. */
export interface SocketResumeFailedEvent extends Event {
  /** 2011. */
  readonly code: number;
  readonly reason: string;
  readonly unconfirmed: string[];
}

/** The events of a `Socket`, by name. */
export interface SocketEventMap {
  open: Event;
  message: MessageEvent<string>;
  close: CloseEvent;
  error: SocketErrorEvent;
  transport: SocketTransportEvent;
  reconnecting: SocketReconnectingEvent;
  resumefailed: SocketResumeFailedEvent;
  heartbeat: Event;
}

/**
 * A SockJS socket that negotiates its transport: an `EventTarget` like the browser's
 * `WebSocket` (`event.target` is the socket). Bad input throws an `Error` with
 * `kind: "invalid"`. While connecting or open it stays alive even if only its listeners
 * reference it; after its close event it is released, or at once with `free()`.
 */
export class Socket extends EventTarget {
  /**
   * Starts connecting to the SockJS service at `url` (http(s), absolute or relative to the
   * page). Throws (kind "invalid") for a bad URL or option; connection failures arrive as a
   * `close` event (2000 "All transports failed", 1002 "Cannot connect to server"), as does a
   * message the server refuses as too large (1009; it comes back from `takeUnsent()`).
   */
  constructor(url: string | URL, options?: SocketOptions);
  /** Releases every request, script, EventSource, WebSocket and timer at once, without a
   * close event; the socket is then CLOSED and `send`/`close` throw. */
  free(): void;
  /** `free()`, for `using`. */
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
  /** The open session took back the one lost before, nothing lost nor repeated (resume
   * extension), rather than being the first or a fresh one (as socket.io's `recovered`). */
  readonly recovered: boolean;
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent<string>) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  onerror: ((ev: SocketErrorEvent) => unknown) | null;
  ontransport: ((ev: SocketTransportEvent) => unknown) | null;
  onreconnecting: ((ev: SocketReconnectingEvent) => unknown) | null;
  onresumefailed: ((ev: SocketResumeFailedEvent) => unknown) | null;
  onheartbeat: ((ev: Event) => unknown) | null;
  /** Queues a message, sent in order once a session is open. Throws (kind "invalid") when the
   * socket is closed, the queue is full, the message alone exceeds `maxQueuedBytes`, or for a
   * non-string. */
  send(data: string): void;
  /** Once closed, the messages that were never confirmed delivered (some may have reached the
   * server), in order; empty before. */
  takeUnsent(): string[];
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

#[wasm_bindgen(module = "/js/socket.js")]
extern "C" {
    fn emit(target: &JsValue, kind: u32, a: &JsValue, x: u32, y: u32, z: u32);
    #[wasm_bindgen(js_name = socketClass)]
    fn socket_class() -> js_sys::Function;
}

/// The `Socket` class (for tests, which construct it with `Reflect::construct`).
#[doc(hidden)]
pub fn class() -> js_sys::Function {
    socket_class()
}

fn invalid(message: &'static str) -> JsValue {
    Error::invalid(message).into()
}

fn read_transports(options: &JsValue) -> Result<Vec<TransportKind>, Error> {
    let Some(names) = opts::strings(
        options,
        "transports",
        "a transport name or an array of them",
    )?
    else {
        return Ok(Vec::new());
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
    if let Some(yes) = opts::boolean(options, "resume")? {
        o = o.resume(yes);
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
    if let Some(policy) = crate::js::security::secure_only(options)? {
        o = o.secure_only(policy);
    }
    let messages = opts::uint(options, "maxQueuedMessages")?;
    let bytes = opts::uint(options, "maxQueuedBytes")?;
    if messages.is_some() || bytes.is_some() {
        o = o.max_queued(
            messages.map_or(session::DEFAULT_MAX_QUEUED_MESSAGES, |n| n as usize),
            bytes.map_or(session::DEFAULT_MAX_QUEUED_BYTES, |n| n as usize),
        );
    }
    Ok(o)
}

/// Dispatches one event on the JS socket (see `emit` in `js/socket.js`).
fn deliver(target: &JsValue, event: JsEvent) {
    let none = &JsValue::UNDEFINED;
    match event {
        Event::Open => emit(target, 0, none, 0, 0, 0),
        Event::Messages(batch) => emit(target, 1, &batch, 0, 0, 0),
        Event::Close {
            code,
            reason,
            was_clean,
        } => emit(
            target,
            2,
            &JsValue::from_str(&reason),
            code.into(),
            was_clean.into(),
            0,
        ),
        Event::Error(error) => emit(target, 3, &error.into(), 0, 0, 0),
        Event::TransportChanged(kind) => emit(target, 4, &JsValue::from_str(kind.name()), 0, 0, 0),
        Event::Reconnecting {
            code,
            reason,
            delay_ms,
            attempt,
        } => emit(
            target,
            5,
            &JsValue::from_str(&reason),
            code.into(),
            delay_ms,
            attempt,
        ),
        Event::Heartbeat => emit(target, 6, none, 0, 0, 0),
        Event::ResumeFailed {
            code,
            reason,
            unconfirmed,
        } => {
            let list: Array = unconfirmed
                .into_iter()
                .map(|m| JsValue::from(m.0))
                .collect();
            let a = Array::of2(&JsValue::from_str(&reason), &list);
            emit(target, 7, &a, code.into(), 0, 0)
        }
    }
}

/// The Rust side of one JS `Socket`; see the module docs.
#[wasm_bindgen(skip_typescript)]
pub struct SocketCore {
    shared: Rc<Shared>,
}

#[wasm_bindgen]
impl Cores {
    /// A core for the JS `Socket` `target`; throws (kind "invalid") for a bad URL or option.
    pub fn socket(
        &self,
        url: JsValue,
        options: JsValue,
        target: JsValue,
    ) -> Result<SocketCore, JsValue> {
        let url = match url.as_string() {
            Some(s) => s,
            None => match url.dyn_ref::<web_sys::Url>() {
                Some(u) => u.href(),
                None => return Err(invalid("url must be a string or a URL")),
            },
        };
        let options = read_options(&options)?;
        let shared = client::start(
            &url,
            options,
            Output::Js {
                target: Some(target),
                deliver,
            },
        )?;
        Ok(SocketCore { shared })
    }
}

fn busy() -> JsValue {
    invalid("the socket is busy (called from inside its own event handling)")
}

#[wasm_bindgen]
impl SocketCore {
    /// Queues the string `data` of `length` UTF-16 code units (checked to be a string by
    /// the caller, `send` in `js/socket.js`), which `follows` another send of the same task
    /// (the caller tracks tasks); `true` when the caller must call `flush` once the task's
    /// code is done (events are waiting, or the send is held to leave with the task's next).
    pub fn send(&self, data: JsString, length: u32, follows: bool) -> Result<bool, JsValue> {
        self.shared
            .send_from_js(JsMessage::with_length(data, length), follows)
            .ok_or_else(busy)?
            .map_err(Into::into)
    }

    /// Closes the socket (code defaults to 1000); the close event follows from `flush`.
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
        self.shared
            .with(|inner| inner.close(Some(code), &reason))
            .ok_or_else(busy)?
            .map_err(Into::into)
    }

    /// Sends what `send` held and delivers the events caused by the last call.
    pub fn flush(&self) {
        self.shared.flush();
    }

    /// Releases every browser resource and drops undelivered events (`free()` in JS; the
    /// memory follows with `free`).
    pub fn shutdown(&self) {
        self.shared.with(|inner| inner.shutdown());
    }

    /// 0 connecting, 1 open, 2 closing, 3 closed.
    #[wasm_bindgen(getter, js_name = readyState)]
    pub fn ready_state(&self) -> u32 {
        self.shared
            .inner
            .try_borrow()
            .map_or(ReadyState::Connecting, |i| i.ready_state()) as u32
    }

    /// The transport of the open session, or `null`.
    #[wasm_bindgen(getter)]
    pub fn transport(&self) -> Option<String> {
        let kind = self.shared.inner.try_borrow().ok()?.session().transport()?;
        Some(kind.name().to_owned())
    }

    /// Whether the open session took back the one lost before (resume extension).
    #[wasm_bindgen(getter)]
    pub fn recovered(&self) -> bool {
        self.shared
            .inner
            .try_borrow()
            .is_ok_and(|i| i.session().recovered())
    }

    /// The service URL.
    #[wasm_bindgen(getter)]
    pub fn url(&self) -> String {
        self.shared
            .inner
            .try_borrow()
            .map(|i| i.session().url().to_owned())
            .unwrap_or_default()
    }

    /// UTF-16 code units sent but not yet confirmed delivered.
    #[wasm_bindgen(getter, js_name = bufferedAmount)]
    pub fn buffered_amount(&self) -> f64 {
        self.shared
            .inner
            .try_borrow()
            .map_or(0, |i| i.session().buffered_amount()) as f64
    }

    /// Once closed, the messages never confirmed delivered.
    #[wasm_bindgen(js_name = takeUnsent)]
    pub fn take_unsent(&self) -> Array {
        let unsent = self
            .shared
            .with(|inner| inner.take_unsent())
            .unwrap_or_default();
        unsent.iter().collect()
    }
}

impl Drop for SocketCore {
    fn drop(&mut self) {
        self.shared.with(|inner| inner.shutdown());
    }
}
