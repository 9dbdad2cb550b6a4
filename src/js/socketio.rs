//! `io(url, options?)`: the Socket.IO client ([`crate::socketio`]) for JavaScript, with
//! socket.io-client's names and behaviour.
//!
//! The `Manager` and namespace `SocketIO` classes (exported beside `io`, as socket.io-client
//! exports `Manager` and `Socket`) are hand-written JavaScript (`js/socketio.js`): emitter
//! semantics, the placeholder deconstruction and reconstruction of binary arguments,
//! `JSON.stringify`/`JSON.parse` of arguments. Each manager holds a
//! [`SioCore`], which owns the driver and decides everything else: options, URL, transports,
//! Engine.IO and Socket.IO framing, namespaces, acks and their deadlines, the bounded send
//! buffer, reconnection and recovery. Arguments cross as a JSON string handle (out) or the
//! parsed array (in), never copied into wasm.

use std::rc::Rc;

use js_sys::{Array, JsString};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::js::opts;
use crate::js::Cores;
use crate::protocol::engineio::{self, Transport};
use crate::protocol::session::Reconnect;
use crate::protocol::socketio::{self, Emit, Emitted};
use crate::socketio::driver::{Face, JsArgs, Note, Settings, Shared, Utf8Size};
use crate::Error;

#[wasm_bindgen(typescript_custom_section)]
const TS: &str = r#"
/** An Engine.IO transport: socket.io-client's two, and the two fallbacks cometkit keeps for
 * servers whose CORS the browser refuses. */
export type SocketIOTransport = "websocket" | "polling" | "jsonp-polling" | "xdr-polling";

/** Options of the connection (socket.io-client's `ManagerOptions`). */
export interface SocketIOManagerOptions {
  /** The server's Engine.IO path (default "/socket.io"). */
  path?: string;
  /** Query parameters for every request (merged with the URL's). */
  query?: Record<string, string | number | boolean>;
  /**
   * Open the connection at once, and connect each namespace socket as it is made (default
   * true). With false nothing opens before `manager.open()` or a socket's `connect()`.
   */
  autoConnect?: boolean;
  /**
   * Headers for every XHR polling request (socket.io-client's option). A WebSocket, JSONP
   * and XDR-style polling cannot carry headers and go without; with only `jsonp-polling`
   * and `xdr-polling` to try, `io()`/`new Manager` throw. Custom headers make each polling
   * request preflighted: a cross-origin server must allow them (CORS `allowedHeaders`).
   * Throws (kind "invalid") for a name that is not an HTTP token or a value with CR, LF,
   * NUL or characters above U+00FF.
   */
  extraHeaders?: Record<string, string>;
  /** Transports in the order to try them (default ["polling", "websocket"]). */
  transports?: SocketIOTransport | SocketIOTransport[];
  /** Upgrade a polling connection to WebSocket when the server offers it (default true). */
  upgrade?: boolean;
  /** Reconnect after a lost connection (default true). */
  reconnection?: boolean;
  /** Attempts in a row before giving up (default Infinity). */
  reconnectionAttempts?: number;
  /** First delay between attempts in ms (default 1000). */
  reconnectionDelay?: number;
  /** Largest delay in ms (default 5000). */
  reconnectionDelayMax?: number;
  /** Random share of each delay, 0 to 1 (default 0.5). */
  randomizationFactor?: number;
  /** Time in ms a transport gets to open (default 20000). */
  timeout?: number;
  /** Send cookies with the XHR polling requests (default false). */
  withCredentials?: boolean;
  /** A connection of its own, not shared with other `io()` calls (default false). */
  forceNew?: boolean;
  /** Share the connection between namespaces of the same origin and path (default true). */
  multiplex?: boolean;
  /** Default ack deadline in ms; callbacks then take an error first. */
  ackTimeout?: number;
  /** Default `retries` of the namespace sockets. */
  retries?: number;
  /** Most events buffered while disconnected (default 1024); beyond it `emit` throws. With
   * `retries`, also the most emits waiting for their ack. */
  maxBufferedPackets?: number;
  /** Most bytes of such events (default 1048576). */
  maxBufferedBytes?: number;
}

/** Options of one namespace socket. */
export interface SocketIOSocketOptions {
  /** Sent with the namespace's CONNECT; a function is called at each connection. */
  auth?: Record<string, unknown> | ((cb: (data: Record<string, unknown>) => void) => void);
  /** Ack deadline in ms for this namespace. */
  ackTimeout?: number;
  /**
   * Delivery with retries (socket.io-client's option): each emit is sent when the one before it
   * was acknowledged, and a try that fails (its ack deadline passed, or the connection dropped)
   * is sent again, up to this many more times; then its callback gets the error. Callbacks
   * take the error first. 0 (the default) sends at once without waiting.
   */
  retries?: number;
}

/** A listener of any arguments (parameters checked bivariantly, so a listener may declare
 * the types it expects). */
export type SocketIOAnyListener = { bivarianceHack(...args: unknown[]): void }["bivarianceHack"];

/** A catch-all listener: the event name, then any arguments. */
export type SocketIOCatchAllListener = {
  bivarianceHack(event: string, ...args: unknown[]): void;
}["bivarianceHack"];

/** Any event, any arguments: the default event maps. */
export interface SocketIODefaultEventsMap {
  [event: string]: SocketIOAnyListener;
}

/** Why a socket disconnected. */
export type SocketIODisconnectReason =
  | "io server disconnect" | "io client disconnect" | "ping timeout"
  | "transport close" | "transport error" | "parse error" | "connect failed";

/** `connect_error`: the server's refusal (`message`, `data`) or a failed transport. */
export interface SocketIOConnectError extends Error {
  data?: unknown;
}

/** The events every socket has. */
export interface SocketIOReservedEvents {
  connect: () => void;
  connect_error: (err: SocketIOConnectError) => void;
  disconnect: (reason: SocketIODisconnectReason) => void;
}

type SioNames<M> = keyof M & string;
type SioParams<M, Ev extends keyof M> = M[Ev] extends (...args: infer P) => unknown ? P : never;
type SioAllButLast<T extends unknown[]> = T extends [...infer H, unknown] ? H : unknown[];
type SioLast<T extends unknown[]> = T extends [...unknown[], infer L] ? L : unknown;
type SioFirstArg<F> = F extends (arg: infer A, ...rest: never[]) => unknown ? A : unknown;
type SioWithError<P extends unknown[]> = P extends [...infer H, infer L]
  ? L extends (...args: infer A) => infer R
    ? [...H, (err: Error | null, ...args: A) => R]
    : P
  : P;
type SioListenNames<L> = SioNames<SioIOReserved> | SioNames<L>;
type SioIOReserved = SocketIOReservedEvents;
type SioListener<L, Ev> = Ev extends keyof SioIOReserved
  ? SioIOReserved[Ev]
  : Ev extends keyof L
    ? L[Ev]
    : never;

/** An emit with an ack deadline (`socket.timeout(ms)`): callbacks take an error first. */
export interface SocketIOTimedEmitter<EmitEvents> {
  emit<Ev extends SioNames<EmitEvents>>(ev: Ev, ...args: SioWithError<SioParams<EmitEvents, Ev>>): void;
  emitWithAck<Ev extends SioNames<EmitEvents>>(
    ev: Ev,
    ...args: SioAllButLast<SioParams<EmitEvents, Ev>>
  ): Promise<SioFirstArg<SioLast<SioParams<EmitEvents, Ev>>>>;
}

/**
 * One namespace of a Socket.IO connection: socket.io-client's `Socket`, under another name
 * because the package's `Socket` is the SockJS one.
 * `import { io, Manager, SocketIO as Socket } from 'cometkit'` stands in for
 * `import { io, Manager, Socket } from 'socket.io-client'`.
 */
export class SocketIO<
  ListenEvents = SocketIODefaultEventsMap,
  EmitEvents = ListenEvents,
> {
  /**
   * A socket for namespace `nsp` ("/" or "/admin"...) on `io`; it connects at once when
   * the manager has `autoConnect` on. Throws (kind "invalid") for a namespace that does not
   * start with "/", or one the manager has a socket for already (`manager.socket(nsp)`
   * returns that one).
   */
  constructor(io: Manager<ListenEvents, EmitEvents>, nsp: string, opts?: SocketIOSocketOptions);
  /** The connection it shares with the other namespaces. */
  readonly io: Manager<ListenEvents, EmitEvents>;
  /** The namespace ("/" or "/admin"...). */
  readonly nsp: string;
  /** The socket's id while connected. */
  readonly id: string | undefined;
  readonly connected: boolean;
  readonly disconnected: boolean;
  /** The server recovered the previous session: missed events follow the connect event. */
  readonly recovered: boolean;
  /** Connecting or connected, and not given up. */
  readonly active: boolean;
  auth: SocketIOSocketOptions["auth"];
  connect(): this;
  open(): this;
  disconnect(): this;
  close(): this;
  on<Ev extends SioListenNames<ListenEvents>>(ev: Ev, listener: SioListener<ListenEvents, Ev>): this;
  once<Ev extends SioListenNames<ListenEvents>>(ev: Ev, listener: SioListener<ListenEvents, Ev>): this;
  off<Ev extends SioListenNames<ListenEvents>>(ev?: Ev, listener?: SioListener<ListenEvents, Ev>): this;
  listeners<Ev extends SioListenNames<ListenEvents>>(ev: Ev): SioListener<ListenEvents, Ev>[];
  hasListeners(ev: string): boolean;
  /**
   * Emits `ev`; a function last asks for an ack. Throws (a `CometkitError` of kind
   * "invalid") for a reserved name, arguments JSON cannot hold (a BigInt, a cycle), a
   * message larger than the server's maxPayload, or a full buffer while disconnected.
   */
  emit<Ev extends SioNames<EmitEvents>>(ev: Ev, ...args: SioParams<EmitEvents, Ev>): this;
  /** Emits and resolves with the ack's first argument. */
  emitWithAck<Ev extends SioNames<EmitEvents>>(
    ev: Ev,
    ...args: SioAllButLast<SioParams<EmitEvents, Ev>>
  ): Promise<SioFirstArg<SioLast<SioParams<EmitEvents, Ev>>>>;
  /** The next emit fails its ack after `ms` (a "timeout" error first argument). */
  timeout(ms: number): SocketIOTimedEmitter<EmitEvents>;
  /** The next emit is dropped rather than buffered while disconnected. */
  readonly volatile: this;
  send(...args: unknown[]): this;
  onAny(listener: SocketIOCatchAllListener): this;
  prependAny(listener: SocketIOCatchAllListener): this;
  offAny(listener?: SocketIOCatchAllListener): this;
  listenersAny(): SocketIOCatchAllListener[];
  onAnyOutgoing(listener: SocketIOCatchAllListener): this;
  offAnyOutgoing(listener?: SocketIOCatchAllListener): this;
}

/** The events of a connection. */
export interface SocketIOManagerEvents {
  open: (transport: SocketIOTransport) => void;
  upgrade: (transport: SocketIOTransport) => void;
  error: (err: CometkitError) => void;
  reconnect_attempt: (attempt: number) => void;
  reconnect: (attempt: number) => void;
  reconnect_failed: () => void;
  close: (reason: string) => void;
}

/**
 * One Engine.IO connection and its namespaces (socket.io-client's `Manager`). The type
 * parameters are the event maps of the sockets `socket()` makes.
 */
export class Manager<
  ListenEvents = SocketIODefaultEventsMap,
  EmitEvents = ListenEvents,
> {
  /**
   * A connection to the Socket.IO server at `uri` (absolute, or relative to the page; the
   * page's origin when left out): its origin and query are used, the Engine.IO path is
   * `opts.path`. Opens at once unless `opts.autoConnect` is false. Throws (kind "invalid")
   * for a bad URL or option.
   */
  constructor(uri?: string | URL, opts?: SocketIOManagerOptions);
  constructor(opts: SocketIOManagerOptions);
  readonly opts: SocketIOManagerOptions;
  /** The transport in use, or null while not connected. */
  readonly transport: SocketIOTransport | null;
  /**
   * Opens the connection unless it is open or opening. `fn` is called once: when it opens
   * (at once if it is open), or with the error of the first attempt that fails.
   */
  open(fn?: (err?: CometkitError) => void): this;
  connect(fn?: (err?: CometkitError) => void): this;
  /** The socket of namespace `nsp`, made on the first call (one per namespace). */
  socket<L = ListenEvents, E = EmitEvents>(nsp: string, opts?: SocketIOSocketOptions): SocketIO<L, E>;
  /**
   * Reconnection settings and the open deadline, read and changed (socket.io-client's
   * methods; the option of the same name sets the start value). A change applies to the
   * running connection from its next failed attempt or loss (a reconnection already
   * scheduled still happens); attempts already made still count. A bad value throws.
   */
  reconnection(): boolean;
  reconnection(v: boolean): this;
  reconnectionAttempts(): number;
  reconnectionAttempts(v: number): this;
  reconnectionDelay(): number;
  reconnectionDelay(v: number): this;
  reconnectionDelayMax(): number;
  reconnectionDelayMax(v: number): this;
  randomizationFactor(): number;
  randomizationFactor(v: number): this;
  timeout(): number;
  timeout(v: number): this;
  on<Ev extends keyof SocketIOManagerEvents>(ev: Ev, listener: SocketIOManagerEvents[Ev]): this;
  once<Ev extends keyof SocketIOManagerEvents>(ev: Ev, listener: SocketIOManagerEvents[Ev]): this;
  off<Ev extends keyof SocketIOManagerEvents>(ev?: Ev, listener?: SocketIOManagerEvents[Ev]): this;
  /** Closes the connection: every namespace disconnects ("io client disconnect"). */
  close(): this;
  disconnect(): this;
  /** Releases every request, socket and timer at once, without events. */
  free(): void;
}

/** The earlier name of `Manager`'s type. */
export type SocketIOManager<
  ListenEvents = SocketIODefaultEventsMap,
  EmitEvents = ListenEvents,
> = Manager<ListenEvents, EmitEvents>;

/**
 * socket.io-client's `io()`: a socket for the namespace in `uri`'s path ("/" by default),
 * sharing the connection of the same origin and path unless `forceNew` or
 * `multiplex: false`. Throws (kind "invalid") for a bad URL or option, such as an unknown
 * transport name. `Manager` and `SocketIO` are the classes behind it.
 */
export function io<
  ListenEvents = SocketIODefaultEventsMap,
  EmitEvents = ListenEvents,
>(
  uri?: string | URL,
  opts?: SocketIOManagerOptions & SocketIOSocketOptions,
): SocketIO<ListenEvents, EmitEvents>;
export function io<
  ListenEvents = SocketIODefaultEventsMap,
  EmitEvents = ListenEvents,
>(opts: SocketIOManagerOptions & SocketIOSocketOptions): SocketIO<ListenEvents, EmitEvents>;
"#;

#[wasm_bindgen(module = "/js/socketio.js")]
extern "C" {
    #[wasm_bindgen(js_name = deliver)]
    fn deliver_js(target: &JsValue, code: u32, nsp: &JsValue, a: &JsValue, b: &JsValue);
    #[wasm_bindgen(js_name = ioFunction)]
    fn io_function() -> js_sys::Function;
    #[wasm_bindgen(js_name = classes)]
    fn classes_js() -> JsValue;
}

/// The `io` function (for tests, which call it with `Reflect::apply`).
#[doc(hidden)]
pub fn io() -> js_sys::Function {
    io_function()
}

/// `{ Manager, SocketIO }`, the classes behind `io` (for tests).
#[doc(hidden)]
pub fn classes() -> JsValue {
    classes_js()
}

/// The JavaScript face of the driver: notes go to the JavaScript `Manager`, arguments are
/// parsed into JavaScript values.
#[derive(Clone)]
struct JsManager(JsValue);

impl Face for JsManager {
    type Args = JsArgs;

    fn js(args: &JsArgs) -> &JsArgs {
        args
    }

    fn decode(json: JsValue, bins: Vec<JsValue>, is_event: bool) -> Result<JsArgs, Error> {
        JsArgs::parse(json, bins, is_event)
    }

    fn no_args() -> JsArgs {
        JsArgs::new(JsValue::UNDEFINED, None, Utf8Size::exact(0))
    }

    fn deliver(&self, note: Note<JsArgs>) {
        deliver(&self.0, note)
    }
}

/// A note's namespace for `deliver`: `undefined` for the main namespace `/` (nearly every note
/// of most managers), which the JavaScript side reads as `/`, so no string is made from wasm
/// memory for it.
fn namespace(nsp: &str) -> JsValue {
    if nsp == "/" {
        JsValue::UNDEFINED
    } else {
        JsValue::from_str(nsp)
    }
}

fn deliver(target: &JsValue, note: Note<JsArgs>) {
    let deliver_js =
        |code, nsp: &str, a: &JsValue, b: &JsValue| deliver_js(target, code, &namespace(nsp), a, b);
    let u = JsValue::UNDEFINED;
    match note {
        Note::Connect {
            nsp,
            sid,
            recovered,
        } => deliver_js(0, &nsp, &sid.into(), &recovered.into()),
        Note::ConnectError { nsp, message, data } => {
            deliver_js(1, &nsp, &message.into(), &data.map_or(u, JsValue::from))
        }
        Note::Disconnect { nsp, reason } => deliver_js(2, &nsp, &reason.as_str().into(), &u),
        Note::Event { nsp, args, ack } => deliver_js(
            3,
            &nsp,
            &args.into_value(),
            &ack.map_or(u, |id| JsValue::from(id as f64)),
        ),
        Note::Ack { nsp, id, args } => deliver_js(4, &nsp, &(id as f64).into(), &args.into_value()),
        Note::AckFailed { nsp, id, error } => {
            deliver_js(5, &nsp, &(id as f64).into(), &error.into())
        }
        Note::Open(transport) => deliver_js(6, "", &transport.name().into(), &u),
        Note::Upgrade(transport) => deliver_js(7, "", &transport.name().into(), &u),
        Note::Error(error) => deliver_js(8, "", &error.into(), &u),
        Note::ReconnectAttempt(n) => deliver_js(9, "", &n.into(), &u),
        Note::Closed(reason) => deliver_js(10, "", &reason.as_str().into(), &u),
    }
}

/// The Rust core of one JavaScript Socket.IO `Manager`. Not part of the public API.
#[wasm_bindgen(skip_typescript)]
pub struct SioCore {
    shared: Rc<Shared<JsManager>>,
}

impl Drop for SioCore {
    fn drop(&mut self) {
        self.shared.with(|inner| inner.shutdown());
    }
}

fn busy() -> JsValue {
    Error::invalid("the Socket.IO manager is busy (called from inside its own event handling)")
        .into()
}

fn read_transports(options: &JsValue) -> Result<Option<Vec<Transport>>, Error> {
    let Some(names) = opts::strings(options, "transports", "an array of transport names")? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for name in names {
        out.push(Transport::parse(&name).map_err(|_| {
            Error::invalid(crate::error::concat(&[
                "unknown transport \"",
                &name,
                "\" (websocket, polling, jsonp-polling, xdr-polling)",
            ]))
        })?);
    }
    if out.is_empty() {
        return Err(opts::bad("transports", "a non-empty array"));
    }
    Ok(Some(out))
}

/// The options a manager's setters may change later: the reconnection policy and `timeout`.
fn read_tuning(options: &JsValue) -> Result<(Option<Reconnect>, u32), Error> {
    let ms = opts::uint(options, "timeout")?.unwrap_or(engineio::DEFAULT_OPEN_TIMEOUT_MS);
    if opts::boolean(options, "reconnection")? == Some(false) {
        return Ok((None, ms));
    }
    let mut backoff = engineio::DEFAULT_RECONNECT.backoff;
    if let Some(ms) = opts::uint(options, "reconnectionDelay")? {
        backoff.min = ms;
    }
    if let Some(ms) = opts::uint(options, "reconnectionDelayMax")? {
        backoff.max = ms;
    }
    if let Some(f) = opts::number(options, "randomizationFactor")? {
        if !(0.0..=1.0).contains(&f) {
            return Err(opts::bad("randomizationFactor", "between 0 and 1"));
        }
        backoff.jitter = f;
    }
    // Infinity (socket.io-client's default) is "no limit".
    let attempts = opts::get(options, "reconnectionAttempts");
    let max_attempts = match attempts.as_f64() {
        Some(n) if n == f64::INFINITY => None,
        _ => opts::uint(options, "reconnectionAttempts")?,
    };
    let reconnect = Reconnect {
        backoff,
        max_attempts,
    };
    Ok((Some(reconnect), ms))
}

fn read_settings(url: String, options: &JsValue) -> Result<Settings, Error> {
    opts::check_object(options, "options")?;
    let mut engine = engineio::Config::default();
    if let Some(t) = read_transports(options)? {
        engine.transports = t;
    }
    if let Some(upgrade) = opts::boolean(options, "upgrade")? {
        engine.upgrade = upgrade;
    }
    engine.query = opts::pairs(options, "query")?;
    (engine.reconnect, engine.open_timeout_ms) = read_tuning(options)?;
    let mut client = socketio::Config::default();
    if let Some(ms) = opts::uint(options, "ackTimeout")? {
        client.ack_timeout_ms = Some(ms);
    }
    if let Some(n) = opts::uint(options, "maxBufferedPackets")? {
        client.max_buffered_packets = n as usize;
    }
    if let Some(n) = opts::uint(options, "maxBufferedBytes")? {
        client.max_buffered_bytes = n as usize;
    }
    Ok(Settings {
        url,
        engine,
        client,
        credentials: opts::boolean(options, "withCredentials")?.unwrap_or(false),
        // Checked by the driver.
        headers: opts::pairs(options, "extraHeaders")?,
    })
}

#[wasm_bindgen]
impl Cores {
    /// A core for a Socket.IO manager at the Engine.IO endpoint `url` (absolute, with the
    /// path); throws (kind "invalid") for a bad URL or option.
    pub fn socketio(&self, url: String, options: JsValue) -> Result<SioCore, JsValue> {
        let settings = read_settings(url, &options)?;
        Ok(SioCore {
            shared: Shared::start(settings)?,
        })
    }
}

fn bins_of(bins: JsValue) -> Option<Array> {
    bins.dyn_into::<Array>().ok()
}

#[wasm_bindgen]
impl SioCore {
    /// Connects namespace `nsp` with `auth` (JSON text of an object, or undefined), opening
    /// the connection if it is not open or opening; notes go to `target`. An empty `nsp` only
    /// opens the connection (`manager.open()`: one export for both).
    pub fn connect(&self, nsp: &str, auth: Option<String>, target: JsValue) -> Result<(), JsValue> {
        let auth = auth.map(|a| {
            let size = a.len();
            JsArgs::new(JsValue::from(a), None, Utf8Size::exact(size))
        });
        let target = JsManager(target);
        let result = self
            .shared
            .with(|inner| {
                if nsp.is_empty() {
                    inner.open(target)
                } else {
                    inner.connect(nsp, auth, target)
                }
            })
            .ok_or_else(busy)?;
        self.shared.deliver();
        result.map_err(JsValue::from)
    }

    /// Applies `options`' `timeout` and reconnection settings (all of them, defaults for
    /// those missing) to the running connection and the next ones.
    pub fn tune(&self, options: JsValue) -> Result<(), JsValue> {
        let (reconnect, ms) = read_tuning(&options)?;
        self.shared
            .with(|inner| inner.retune(reconnect, ms))
            .ok_or_else(busy)?;
        Ok(())
    }

    /// Leaves `nsp`.
    pub fn disconnect(&self, nsp: &str) -> Result<(), JsValue> {
        self.shared
            .with(|inner| inner.disconnect(nsp))
            .ok_or_else(busy)?;
        self.shared.deliver();
        Ok(())
    }

    /// Closes the connection for every namespace.
    pub fn close(&self) -> Result<(), JsValue> {
        self.shared.with(|inner| inner.close()).ok_or_else(busy)?;
        self.shared.deliver();
        Ok(())
    }

    /// Emits the event whose arguments are `json` (`units` UTF-16 code units) with binary
    /// attachments `bins` (an array, or undefined). Returns the ack id, -1 without an ack, -2
    /// when a volatile event was dropped.
    #[allow(clippy::too_many_arguments)]
    pub fn emit(
        &self,
        nsp: &str,
        json: JsString,
        bins: JsValue,
        units: u32,
        ack: bool,
        timeout: Option<u32>,
        volatile: bool,
    ) -> Result<f64, JsValue> {
        let args = JsArgs::new(json.into(), bins_of(bins), Utf8Size::units(units as usize));
        let how = Emit {
            ack,
            timeout_ms: timeout,
            volatile,
        };
        let result = self
            .shared
            .with(|inner| inner.emit(nsp, args, how))
            .ok_or_else(busy)?;
        self.shared.deliver();
        Ok(match result? {
            Emitted::Sent(id) | Emitted::Buffered(id) => id.map_or(-1.0, |id| id as f64),
            Emitted::Dropped => -2.0,
        })
    }

    /// Answers the server's event `id` on `nsp`.
    pub fn ack(
        &self,
        nsp: &str,
        id: f64,
        json: JsString,
        bins: JsValue,
        units: u32,
    ) -> Result<(), JsValue> {
        let args = JsArgs::new(json.into(), bins_of(bins), Utf8Size::units(units as usize));
        let result = self
            .shared
            .with(|inner| inner.ack(nsp, id as u64, args))
            .ok_or_else(busy)?;
        self.shared.deliver();
        result.map_err(JsValue::from)
    }

    /// The transport of the open connection, or undefined.
    #[wasm_bindgen(getter)]
    pub fn transport(&self) -> Option<String> {
        self.shared
            .with(|inner| inner.transport())
            .flatten()
            .map(str::to_owned)
    }
}
