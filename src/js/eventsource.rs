//! `openEventSource(url, options?)`: Server-Sent Events for JavaScript, native or polyfilled
//! ([`crate::transport::eventsource`]).
//!
//! The returned `CometEventSource` (not named `EventSource`, which would shadow the global
//! inside the generated glue) looks like the native object: `readyState`, `url`,
//! `withCredentials`, `close()`, `addEventListener` / `removeEventListener`,
//! `onopen`/`onmessage`/`onerror`, the `CONNECTING`/`OPEN`/`CLOSED` constants, and real
//! `MessageEvent`s (`data`, `lastEventId`, `origin`, `type`) and `Event`s. It adds
//! `lastEventId`, `polyfilled`, and on `error` events `fatal` (no reconnection follows) and,
//! when the polyfill knows the cause, `error` (a cometkit `Error` with `kind`). As with the
//! other cometkit classes, `event.target` (and `this` in listeners) is an internal
//! `EventTarget`, not the `CometEventSource`.
//!
//! Events are re-dispatched by a local task that reads the source; it ends as soon as the
//! source is closed (by `close()`, a fatal error, or `free()`), and `free()` releases
//! everything (the native object or the polyfill's XHR and timer).

use std::cell::RefCell;
use std::future::poll_fn;
use std::rc::{Rc, Weak};
use std::task::Poll;

use futures_util::StreamExt;
use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventTarget, MessageEvent, MessageEventInit};

use crate::js::events::Events;
use crate::js::opts;
use crate::transport::eventsource::{
    EventSource, EventSourceOptions, Polyfill, SseEvent, DEFAULT_LAST_EVENT_ID_PARAM,
};
use crate::Error;

#[wasm_bindgen(typescript_custom_section)]
const TS: &str = r#"
/** Options of `openEventSource`. */
export interface EventSourceOptions {
  /**
   * `"auto"` (default): the native EventSource unless `headers`, a `method` other than GET,
   * `body`, `lastEventId` or `lastEventIdParam` is given (or the browser has none);
   * `"always"`: the XHR polyfill; `"never"`: the native object (the options above then throw).
   */
  polyfill?: "auto" | "always" | "never";
  /** Send cookies and HTTP authentication cross-origin. */
  withCredentials?: boolean;
  /** Request headers (polyfill). Any but `Accept`, `Accept-Language`, `Content-Language` and a
   * simple `Content-Type` makes a cross-origin request preflighted. */
  headers?: Record<string, string> | Iterable<[string, string]>;
  /** Request method (polyfill). Default "GET". */
  method?: string;
  /** Request body, sent on every (re)connection (polyfill; needs a method such as POST). */
  body?: string;
  /** Start as if this event ID had been received (polyfill). */
  lastEventId?: string;
  /**
   * Send the last event ID as this query parameter (`true`: "lastEventId") instead of the
   * `Last-Event-ID` header, so a cross-origin reconnection needs no preflight (polyfill).
   */
  lastEventIdParam?: string | boolean;
  /** First reconnection delay in ms until the server sends `retry:` (polyfill; default 3000). */
  retry?: number;
  /** Largest reconnection delay in ms; delays double after each failure (polyfill; default 30000). */
  maxRetryDelay?: number;
  /** Reconnection attempts in a row before a fatal error (polyfill; default unlimited). */
  maxRetries?: number;
}

/** The `error` event of a `CometEventSource`. */
export interface EventSourceErrorEvent extends Event {
  /** True when the source is now closed and will not reconnect. */
  readonly fatal: boolean;
  /** The cause, when known (polyfill only): a cometkit Error with `kind`
   * "http" (status other than 200; has `status`), "protocol" (wrong Content-Type) or "network". */
  readonly error?: CometkitError;
}

/** The events of a `CometEventSource`, by name. Named server events are `MessageEvent`s too. */
export interface CometEventSourceEventMap {
  open: Event;
  message: MessageEvent<string>;
  error: EventSourceErrorEvent;
}

/**
 * An event source opened by `openEventSource`; mirrors the browser's `EventSource`.
 * `free()` closes it and releases everything.
 */
export class CometEventSource {
  private constructor();
  /** Closes the source and releases it. */
  free(): void;
  [Symbol.dispose](): void;
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSED: 2;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSED: 2;
  /** 0 connecting (or waiting to reconnect), 1 open, 2 closed. */
  readonly readyState: 0 | 1 | 2;
  /** The absolute URL. */
  readonly url: string;
  /** Whether credentials are sent cross-origin. */
  readonly withCredentials: boolean;
  /** The last event ID, sent on reconnection. */
  readonly lastEventId: string;
  /** True when the XHR polyfill is in use. */
  readonly polyfilled: boolean;
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent<string>) => unknown) | null;
  onerror: ((ev: EventSourceErrorEvent) => unknown) | null;
  /** Closes the connection; no more events, no reconnection. */
  close(): void;
  addEventListener<K extends keyof CometEventSourceEventMap>(
    type: K,
    listener: (ev: CometEventSourceEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: (ev: MessageEvent<string>) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof CometEventSourceEventMap>(
    type: K,
    listener: (ev: CometEventSourceEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}

/**
 * Opens an event stream. `url` may be relative (resolved against the page) and must be http(s).
 * Throws an `Error` with `kind: "invalid"` for a bad URL or option. Connection failures are not
 * thrown: they arrive as `error` events (`fatal` for a status other than 200 or a
 * Content-Type other than text/event-stream).
 */
export function openEventSource(url: string | URL, options?: EventSourceOptions): CometEventSource;
"#;

const HANDLER_NAMES: [&str; 3] = ["open", "message", "error"];

/// An event source for JavaScript; see the module docs.
#[wasm_bindgen(js_name = CometEventSource, skip_typescript)]
pub struct JsEventSource {
    /// The event task holds only weak references, so `free()` ends it.
    source: Rc<RefCell<EventSource>>,
    events: Events,
    url: String,
    with_credentials: bool,
    polyfilled: bool,
}

fn read_polyfill(options: &JsValue) -> Result<Polyfill, Error> {
    match opts::string(options, "polyfill")?.as_deref() {
        None | Some("auto") => Ok(Polyfill::Auto),
        Some("always") => Ok(Polyfill::Always),
        Some("never") => Ok(Polyfill::Never),
        Some(_) => Err(opts::bad("polyfill", "\"auto\", \"always\" or \"never\"")),
    }
}

fn read_param(options: &JsValue) -> Result<Option<String>, Error> {
    let v = opts::get(options, "lastEventIdParam");
    if let Some(b) = v.as_bool() {
        return Ok(b.then(|| DEFAULT_LAST_EVENT_ID_PARAM.to_owned()));
    }
    opts::string(options, "lastEventIdParam")
        .map_err(|_| opts::bad("lastEventIdParam", "a string or a boolean"))
}

fn read_options(options: &JsValue) -> Result<EventSourceOptions, Error> {
    opts::check_object(options, "EventSource options")?;
    let mut o = EventSourceOptions::default().polyfill(read_polyfill(options)?);
    if let Some(yes) = opts::boolean(options, "withCredentials")? {
        o = o.with_credentials(yes);
    }
    for (name, value) in opts::pairs(options, "headers")? {
        o = o.header(name, value);
    }
    if let Some(method) = opts::string(options, "method")? {
        o = o.method(method);
    }
    if let Some(body) = opts::string(options, "body")? {
        o = o.body(body);
    }
    if let Some(id) = opts::string(options, "lastEventId")? {
        o = o.last_event_id(id);
    }
    if let Some(param) = read_param(options)? {
        o = o.last_event_id_query(param);
    }
    if let Some(ms) = opts::uint(options, "retry")? {
        o = o.retry(ms);
    }
    if let Some(ms) = opts::uint(options, "maxRetryDelay")? {
        o = o.max_retry_delay(ms);
    }
    if let Some(n) = opts::uint(options, "maxRetries")? {
        o = o.max_retries(n);
    }
    Ok(o)
}

/// Opens an event source; see the TypeScript declaration above for the contract.
#[wasm_bindgen(js_name = openEventSource, skip_typescript)]
pub fn open_event_source(url: JsValue, options: JsValue) -> Result<JsEventSource, JsValue> {
    let url = match url.as_string() {
        Some(s) => s,
        None => match url.dyn_ref::<web_sys::Url>() {
            Some(u) => u.href(),
            None => return Err(Error::invalid("url must be a string or a URL").into()),
        },
    };
    let options = read_options(&options)?;
    let source = EventSource::open(&url, options)?;
    let events = Events::new(&HANDLER_NAMES)?;
    let js = JsEventSource {
        url: source.url().to_owned(),
        with_credentials: source.with_credentials(),
        polyfilled: source.is_polyfill(),
        source: Rc::new(RefCell::new(source)),
        events,
    };
    wasm_bindgen_futures::spawn_local(pump(Rc::downgrade(&js.source), js.events.weak_target()));
    Ok(js)
}

/// Reads the source and re-dispatches its events until it ends or the object is freed.
async fn pump(source: Weak<RefCell<EventSource>>, target: Weak<EventTarget>) {
    loop {
        // Borrow only while polling: listeners run below and may call close().
        let next = poll_fn(|cx| match source.upgrade() {
            None => Poll::Ready(None),
            Some(rc) => match rc.try_borrow_mut() {
                Ok(mut s) => s.poll_next_unpin(cx),
                Err(_) => {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            },
        })
        .await;
        let (Some(event), Some(target)) = (next, target.upgrade()) else {
            break;
        };
        if let Ok(event) = make_event(event) {
            // Listener exceptions are reported by the browser; dispatch itself does not throw.
            let _ = target.dispatch_event(&event);
        }
    }
}

fn make_event(event: SseEvent) -> Result<Event, JsValue> {
    Ok(match event {
        SseEvent::Open => Event::new("open")?,
        SseEvent::Message(m) => {
            let init = MessageEventInit::new();
            init.set_data(&JsValue::from_str(&m.data));
            init.set_last_event_id(&m.last_event_id);
            init.set_origin(&m.origin);
            MessageEvent::new_with_event_init_dict(&m.event_type, &init)?.into()
        }
        SseEvent::Error { fatal, error } => {
            let e = Event::new("error")?;
            let _ = Reflect::set(&e, &JsValue::from_str("fatal"), &JsValue::from_bool(fatal));
            if let Some(error) = error {
                let _ = Reflect::set(&e, &JsValue::from_str("error"), &JsValue::from(error));
            }
            e
        }
    })
}

#[wasm_bindgen(js_class = CometEventSource)]
impl JsEventSource {
    /// Closes the source: no more events, no reconnection.
    pub fn close(&self) {
        if let Ok(mut s) = self.source.try_borrow_mut() {
            s.close();
        }
    }

    /// 0 connecting, 1 open, 2 closed.
    #[wasm_bindgen(getter, js_name = readyState)]
    pub fn ready_state(&self) -> u16 {
        self.source
            .try_borrow()
            .map_or(2, |s| s.ready_state().as_u16())
    }

    /// The absolute URL.
    #[wasm_bindgen(getter)]
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Whether credentials are sent cross-origin.
    #[wasm_bindgen(getter, js_name = withCredentials)]
    pub fn with_credentials(&self) -> bool {
        self.with_credentials
    }

    /// The last event ID.
    #[wasm_bindgen(getter, js_name = lastEventId)]
    pub fn last_event_id(&self) -> String {
        self.source
            .try_borrow()
            .map(|s| s.last_event_id())
            .unwrap_or_default()
    }

    /// True when the XHR polyfill is in use.
    #[wasm_bindgen(getter)]
    pub fn polyfilled(&self) -> bool {
        self.polyfilled
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
    #[wasm_bindgen(getter = CLOSED)]
    pub fn closed(&self) -> u16 {
        2
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
    #[wasm_bindgen(getter = CLOSED)]
    pub fn closed_static() -> u16 {
        2
    }

    /// `EventTarget.addEventListener`; also asks the source for events of that type.
    #[wasm_bindgen(js_name = addEventListener)]
    pub fn add_event_listener(
        &self,
        kind: &str,
        listener: JsValue,
        options: JsValue,
    ) -> Result<(), JsValue> {
        self.events.add_listener(kind, &listener, &options)?;
        if let Ok(mut s) = self.source.try_borrow_mut() {
            s.add_event_type(kind);
        }
        Ok(())
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
}
