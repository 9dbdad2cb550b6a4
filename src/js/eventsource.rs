//! `openEventSource(url, options?)`: Server-Sent Events for JavaScript, native or polyfilled
//! ([`crate::transport::eventsource`]).
//!
//! The returned `CometEventSource` (not named `EventSource`, which would shadow the global
//! inside the generated glue) is hand-written JavaScript (`js/eventsource.js`): an
//! `EventTarget` with the native object's surface (`readyState`, `url`, `withCredentials`,
//! `close()`, `onopen`/`onmessage`/`onerror`, the `CONNECTING`/`OPEN`/`CLOSED` constants) whose
//! events are real `MessageEvent`s (`data`, `lastEventId`, `origin`, `type`) and `Event`s with
//! the object itself as `target`. It adds `lastEventId`, `polyfilled`, `free()`, and on `error`
//! events `fatal` (no reconnection follows) and, when the polyfill knows the cause, `error` (a
//! cometkit `Error` with `kind`). As on the native object, events of a type other than
//! open/message/error arrive once a listener for that type has been added.
//!
//! Who does what: `openEventSource` is exported from Rust, which reads the options, resolves
//! the URL, chooses the engine ([`eventsource::prepare`]) and creates it before the class is
//! constructed. With the native engine the class listens to the browser's object itself, so
//! events never enter wasm, and nothing per source lives in wasm. With the polyfill an
//! [`EventSourceCore`] owns the driver (request, reconnection timer, and the sans-IO
//! [`Machine`](crate::protocol::eventsource::Machine) that decides what they do). The driver
//! runs on the request's and the timer's own callbacks, with no task or channel: each received
//! chunk's events are dispatched one by one through `emit` (`js/eventsource.js`) on the
//! browser's stack. A listener that calls `close()` stops delivery at once, even for the rest
//! of its chunk.
//!
//! Lifetime: a native source lives as long as the browser keeps its `EventSource` (while
//! connecting or open, with listeners). The polyfill's core holds the JS object strongly until
//! the source is closed (by `close()`, a fatal error or `free()`), then lets it go; the object's
//! collection frees the core. `free()` releases everything at once.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::js::opts;
use crate::transport::eventsource::{
    self, EventSourceOptions, Out, Polyfill, PolyfillDriver, Shared, SseEvent,
    DEFAULT_LAST_EVENT_ID_PARAM,
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
  /** Refuse an `http:` URL before connecting (both engines, reconnections too); overrides
   * `setDefaults`. */
  secureOnly?: SecureOnly;
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
 * An event source opened by `openEventSource`: an `EventTarget` that mirrors the browser's
 * `EventSource` (`event.target` is this object). While connecting or open it stays alive even
 * if only its listeners reference it; `free()` closes it and releases everything at once.
 */
export class CometEventSource extends EventTarget {
  private constructor();
  /** Closes the source and releases everything it holds. */
  free(): void;
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
    if let Some(policy) = crate::js::security::secure_only(options)? {
        o = o.secure_only(policy);
    }
    Ok(o)
}

#[wasm_bindgen(module = "/js/eventsource.js")]
extern "C" {
    /// The hand-written class (`js/eventsource.js`).
    pub type CometEventSource;
    #[wasm_bindgen(constructor)]
    fn new(es: &JsValue, core: JsValue, url: &str, with_credentials: bool) -> CometEventSource;
    fn emit(target: &JsValue, kind: u32, a: &JsValue, b: &JsValue, c: &JsValue, d: &JsValue);
}

/// Opens an event source; see the TypeScript declaration above for the contract.
#[wasm_bindgen(js_name = openEventSource, skip_typescript)]
pub fn open_event_source(url: JsValue, options: JsValue) -> Result<CometEventSource, JsValue> {
    let url = match url.as_string() {
        Some(s) => s,
        None => match url.dyn_ref::<web_sys::Url>() {
            Some(u) => u.href(),
            None => return Err(Error::invalid("url must be a string or a URL").into()),
        },
    };
    let mut options = read_options(&options)?;
    let (url, polyfill) = eventsource::prepare(&url, &mut options)?;
    let with_credentials = options.with_credentials;
    if !polyfill {
        let es = eventsource::create_native(&url, with_credentials)?;
        return Ok(CometEventSource::new(
            &es,
            JsValue::UNDEFINED,
            &url,
            with_credentials,
        ));
    }
    let shared = Shared::new(&options);
    let link = Rc::new(Link {
        target: RefCell::new(None),
        origin: JsValue::from_str(&eventsource::origin_of(&url)),
    });
    let weak = Rc::downgrade(&link);
    let out: Out = Rc::new(move |event| deliver(&weak, event));
    let driver = Rc::new(eventsource::polyfill(
        url.clone(),
        options,
        shared.clone(),
        out,
    ));
    let core = EventSourceCore {
        shared,
        link: link.clone(),
        driver: RefCell::new(Some(driver.clone())),
    };
    let target = CometEventSource::new(&JsValue::NULL, core.into(), &url, with_credentials);
    // Set before the driver starts, so no event can be missed.
    *link.target.borrow_mut() = Some(target.clone());
    driver.start();
    Ok(target)
}

/// The polyfill's way to its JS object.
struct Link {
    /// Held strongly until the source is closed; see the module docs.
    target: RefCell<Option<JsValue>>,
    /// `MessageEvent.origin`, made once.
    origin: JsValue,
}

/// Dispatches one polyfill event on the JS object, unless the source was closed.
fn deliver(link: &Weak<Link>, event: SseEvent) {
    let Some(link) = link.upgrade() else {
        return;
    };
    // Cloned out of the cell: listeners may close the source, which empties it.
    let Some(target) = link.target.borrow().clone() else {
        return;
    };
    let none = &JsValue::UNDEFINED;
    match event {
        SseEvent::Open => emit(&target, 0, none, none, none, none),
        SseEvent::Message(m) => emit(
            &target,
            1,
            &JsValue::from_str(&m.event_type),
            &JsValue::from_str(&m.data),
            &JsValue::from_str(&m.last_event_id),
            &link.origin,
        ),
        SseEvent::Error { fatal, error } => {
            let error = error.map_or(JsValue::UNDEFINED, JsValue::from);
            emit(&target, 2, &JsValue::from_bool(fatal), &error, none, none);
            if fatal {
                // The source is closed: nothing holds the object for it any more.
                link.target.borrow_mut().take();
            }
        }
    }
}

/// The Rust side of a polyfilled JS `CometEventSource`; see the module docs.
#[wasm_bindgen(skip_typescript)]
pub struct EventSourceCore {
    shared: Rc<Shared>,
    link: Rc<Link>,
    /// The driver; dropping it aborts the request and clears the timer.
    driver: RefCell<Option<Rc<PolyfillDriver>>>,
}

#[wasm_bindgen]
impl EventSourceCore {
    /// Closes the source: no more events (not even the rest of a chunk being dispatched), no
    /// reconnection; lets the JS object go.
    pub fn close(&self) {
        self.shared.close();
        self.link.target.borrow_mut().take();
        // Dropped outside the borrow (a listener may be closing it from inside a turn).
        let driver = self.driver.try_borrow_mut().ok().and_then(|mut d| d.take());
        drop(driver);
    }

    /// 0 connecting, 1 open, 2 closed.
    #[wasm_bindgen(getter, js_name = readyState)]
    pub fn ready_state(&self) -> u16 {
        self.shared.ready_state().as_u16()
    }

    /// The last event ID.
    #[wasm_bindgen(getter, js_name = lastEventId)]
    pub fn last_event_id(&self) -> String {
        self.shared.last_event_id()
    }

    /// Also deliver events of this type.
    #[wasm_bindgen(js_name = addEventType)]
    pub fn add_event_type(&self, event_type: &str) {
        self.shared.add_type(event_type);
    }
}

impl Drop for EventSourceCore {
    fn drop(&mut self) {
        self.close();
    }
}
