//! The Engine.IO v4 client: the packet codec and a sans-IO connection machine, the transport
//! layer under Socket.IO ([`crate::socketio`]).
//!
//! # Wire format (protocol revision 4)
//!
//! A packet is a one-digit type followed by its data: `0` open (the handshake JSON), `1` close,
//! `2` ping, `3` pong, `4` message, `5` upgrade, `6` noop. On HTTP long polling a payload joins
//! packets with the record separator `\x1e`, and a binary message is written `b` + base64 of
//! its bytes. On WebSocket every packet is one frame and a binary message is a binary frame of
//! its raw bytes.
//!
//! # The machine
//!
//! [`Engine`] follows the model of [`crate::session::Session`]: the driver feeds what happened
//! through `handle_*` calls, each given the time in milliseconds, carries out the
//! [`Action`]s it polls, passes the [`Event`]s on to the user (or to the Socket.IO layer) and
//! arms one timer at [`Engine::poll_timeout`].
//!
//! * **Opening**: the transports of [`Config::transports`] are tried in order (the handshake
//!   on polling is a GET without `sid`; on WebSocket the server's first frame is the open
//!   packet). A transport that fails to open or misses [`Config::open_timeout_ms`] is reported
//!   as an [`Event::Error`] and the next one is tried: a browser refusing CORS to XHR polling
//!   falls back to JSONP or XDR-style polling that way. With [`Config::websocket_first`] (set
//!   by the driver when a WebSocket upgrade worked on an earlier connection, as engine.io-client's
//!   `rememberUpgrade` does) the WebSocket is tried first.
//! * **Heartbeat**: the server pings; the client answers each ping with a pong. Silence (no
//!   packet at all) for longer than `pingInterval + pingTimeout` is a lost connection.
//! * **Sending**: one request in flight at a time. On polling the queued packets go out in one
//!   POST whose body stays within the server's `maxPayload`; a single message larger than
//!   `maxPayload` is refused ([`Engine::send`] fails, or [`Event::Rejected`] when it was queued
//!   before the limit was known), never dropped silently.
//! * **Upgrade**: on a polling connection whose server offers `websocket`, a WebSocket is
//!   opened beside it and probed (`2probe` → `3probe`); polling then pauses (the in-flight GET
//!   and POST finish, no new ones start), `5` goes out on the WebSocket and the queue flushes
//!   there. A probe that fails or stays silent beyond [`Config::upgrade_timeout_ms`] is
//!   abandoned ([`Event::UpgradeFailed`]) and polling goes on.
//! * **Reconnection**: a lost connection, or a round of transports that all failed, schedules a
//!   new round after a backoff ([`crate::backoff`]), up to `max_attempts` in a row. Engine.IO has
//!   no session resumption: each connection gets a new `sid`.
//! * **Closing**: [`Engine::close`] sends what is queued and a close packet (`1`) on the open
//!   transport, then closes it.
//!
//! # Messages are opaque
//!
//! The machine carries messages as [`Message`] handles and only asks their size and whether
//! they are binary (for `maxPayload` and the queue bounds); it asks a cheap bound first
//! ([`Message::size_at_most`]) and the exact size only when the bound would break a limit, or to
//! batch a polling payload. Natively the handle is [`Data`]; a
//! browser driver can keep JavaScript strings and `ArrayBuffer`s and encode packets itself with
//! the rules above. The codec functions here ([`decode_payload`], [`encode_payload`],
//! [`encode_frame`], ...) are the native reference.

use std::collections::VecDeque;

use crate::backoff::Retries;
use crate::session::Reconnect;
use crate::sockjs::Json;
use crate::url::{append_query, encode_uri_component};
use crate::Error;

/// The protocol revision this module speaks (`EIO=4`).
pub const PROTOCOL: u32 = 4;
/// The record separator between packets in a polling payload.
pub const SEPARATOR: char = '\x1e';
/// Default time for a transport to open (socket.io-client's `timeout`).
pub const DEFAULT_OPEN_TIMEOUT_MS: u32 = 20_000;

/// Reconnection with socket.io-client's defaults: 1 s doubling up to 5 s, a random share of
/// 0.5 (added on top of each delay, see [`crate::backoff::Backoff`]), never giving up. (The
/// SockJS session's [`Reconnect::default`] waits up to 30 s.)
pub const DEFAULT_RECONNECT: Reconnect = Reconnect {
    backoff: crate::backoff::Backoff {
        min: 1_000,
        max: 5_000,
        factor: 2.0,
        jitter: 0.5,
    },
    max_attempts: None,
};

/// Default time for an upgrade probe to succeed (engine.io's server-side `upgradeTimeout`).
pub const DEFAULT_UPGRADE_TIMEOUT_MS: u32 = 10_000;
/// Default bound on messages waiting to be sent.
pub const DEFAULT_MAX_QUEUED_MESSAGES: usize = 1_024;
/// Default bound on bytes waiting to be sent.
pub const DEFAULT_MAX_QUEUED_BYTES: usize = 1 << 20;

// ---------------------------------------------------------------------------------------------
// Packets and the codec

/// An Engine.IO packet. `M` is the message handle ([`Data`] natively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet<M = Data> {
    /// `0`: the handshake, with its JSON (see [`Handshake::parse`]).
    Open(String),
    /// `1`: the connection ends.
    Close,
    /// `2`: a ping; `true` for the upgrade probe (`2probe`).
    Ping(bool),
    /// `3`: a pong; `true` for the probe's answer (`3probe`).
    Pong(bool),
    /// `4`: a message.
    Message(M),
    /// `5`: switch to the transport this packet came on.
    Upgrade,
    /// `6`: nothing (the server ends a paused poll with it).
    Noop,
}

/// A message handle as the [`Engine`] holds it: it only needs the size and the kind.
///
/// ```
/// use cometkit_protocol::engineio::{Data, Message};
///
/// assert_eq!(Data::from("é").size(), 2); // UTF-8 bytes, as the server counts them
/// assert!(Data::Binary(vec![1, 2, 3]).is_binary());
/// ```
pub trait Message {
    /// True for binary data (an `ArrayBuffer` in the browser).
    fn is_binary(&self) -> bool;
    /// The size in bytes: UTF-8 bytes of a text (what the server counts), bytes of binary.
    fn size(&self) -> usize;
    /// A bound no smaller than [`size`](Message::size), for a handle whose exact size costs
    /// a walk over the text (a JavaScript string's UTF-8 length: 3 bytes per UTF-16 unit at
    /// most). The engine asks [`size`](Message::size) only when this bound would break a limit.
    fn size_at_most(&self) -> usize {
        self.size()
    }
}

/// A message natively: text or bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

impl Message for Data {
    fn is_binary(&self) -> bool {
        matches!(self, Data::Binary(_))
    }
    fn size(&self) -> usize {
        match self {
            Data::Text(s) => s.len(),
            Data::Binary(b) => b.len(),
        }
    }
}

impl From<&str> for Data {
    fn from(s: &str) -> Data {
        Data::Text(s.to_owned())
    }
}

impl From<String> for Data {
    fn from(s: String) -> Data {
        Data::Text(s)
    }
}

impl From<Vec<u8>> for Data {
    fn from(b: Vec<u8>) -> Data {
        Data::Binary(b)
    }
}

/// The bytes one message takes in an encoded packet: on polling (`websocket == false`) the
/// type digit or `b` plus the text or the base64, on WebSocket the type digit plus the text, or
/// the raw bytes of a binary frame.
pub fn encoded_len<M: Message>(message: &M, websocket: bool) -> usize {
    framed_len(message, message.size(), websocket)
}

fn framed_len<M: Message>(message: &M, n: usize, websocket: bool) -> usize {
    match (message.is_binary(), websocket) {
        (true, true) => n,
        (true, false) => 1 + base64_len(n),
        (false, _) => 1 + n,
    }
}

/// Whether `message` encoded fits in `max` bytes; the exact size is asked only when its bound
/// does not settle it.
fn fits<M: Message>(message: &M, websocket: bool, max: u64) -> bool {
    framed_len(message, message.size_at_most(), websocket) as u64 <= max
        || encoded_len(message, websocket) as u64 <= max
}

/// Decodes one text packet: a polling payload's segment or a WebSocket text frame.
///
/// ```
/// use cometkit_protocol::engineio::{decode_packet, Data, Packet};
///
/// assert_eq!(decode_packet("4hello")?, Packet::Message(Data::from("hello")));
/// assert_eq!(decode_packet("2probe")?, Packet::Ping(true));
/// assert_eq!(decode_packet("bAQID")?, Packet::Message(Data::Binary(vec![1, 2, 3])));
/// assert!(decode_packet("9").unwrap_err().is_protocol());
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
pub fn decode_packet(text: &str) -> Result<Packet<Data>, Error> {
    let bytes = text.as_bytes();
    let data = text.get(1..).unwrap_or("");
    Ok(match bytes.first() {
        Some(b'0') => Packet::Open(data.to_owned()),
        Some(b'1') => Packet::Close,
        Some(b'2') => Packet::Ping(data == "probe"),
        Some(b'3') => Packet::Pong(data == "probe"),
        Some(b'4') => Packet::Message(Data::Text(data.to_owned())),
        Some(b'5') => Packet::Upgrade,
        Some(b'6') => Packet::Noop,
        Some(b'b') => Packet::Message(Data::Binary(base64_decode(data)?)),
        None => return Err(Error::protocol("Engine.IO: empty packet")),
        Some(_) => return Err(Error::protocol("Engine.IO: unknown packet type")),
    })
}

/// Decodes a polling payload: packets separated by `\x1e`.
///
/// ```
/// use cometkit_protocol::engineio::{decode_payload, Data, Packet};
///
/// let packets = decode_payload("4hello\x1ebAQIDBA==\x1e2")?;
/// assert_eq!(packets, [
///     Packet::Message(Data::from("hello")),
///     Packet::Message(Data::Binary(vec![1, 2, 3, 4])),
///     Packet::Ping(false),
/// ]);
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
pub fn decode_payload(text: &str) -> Result<Vec<Packet<Data>>, Error> {
    text.split(SEPARATOR).map(decode_packet).collect()
}

/// Encodes one packet in its text form (polling; also a WebSocket text frame for everything
/// but binary messages, see [`encode_frame`]).
pub fn encode_packet(packet: &Packet<Data>, out: &mut String) {
    let (digit, data): (char, &str) = match packet {
        Packet::Open(json) => ('0', json),
        Packet::Close => ('1', ""),
        Packet::Ping(probe) => ('2', if *probe { "probe" } else { "" }),
        Packet::Pong(probe) => ('3', if *probe { "probe" } else { "" }),
        Packet::Message(Data::Text(s)) => ('4', s),
        Packet::Message(Data::Binary(b)) => {
            out.push('b');
            base64_encode(b, out);
            return;
        }
        Packet::Upgrade => ('5', ""),
        Packet::Noop => ('6', ""),
    };
    out.push(digit);
    out.push_str(data);
}

/// Encodes packets as one polling payload (a POST body). A text message holding `\x1e`
/// cannot travel on polling (the server would split it there); Socket.IO's JSON never holds
/// one raw.
///
/// ```
/// use cometkit_protocol::engineio::{encode_payload, Data, Packet};
///
/// let body = encode_payload(&[Packet::Message(Data::from("hi")), Packet::Message(Data::Binary(vec![1, 2, 3]))]);
/// assert_eq!(body, "4hi\x1ebAQID");
/// ```
pub fn encode_payload(packets: &[Packet<Data>]) -> String {
    let mut out = String::new();
    for (i, packet) in packets.iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        encode_packet(packet, &mut out);
    }
    out
}

/// One WebSocket frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
}

/// Encodes a packet as a WebSocket frame: binary messages as raw binary frames, the rest as
/// text frames.
pub fn encode_frame(packet: &Packet<Data>) -> Frame {
    if let Packet::Message(Data::Binary(b)) = packet {
        return Frame::Binary(b.clone());
    }
    let mut out = String::new();
    encode_packet(packet, &mut out);
    Frame::Text(out)
}

/// Decodes a WebSocket frame: a text frame is one packet, a binary frame one binary message.
pub fn decode_frame(frame: Frame) -> Result<Packet<Data>, Error> {
    match frame {
        Frame::Text(text) => decode_packet(&text),
        Frame::Binary(bytes) => Ok(Packet::Message(Data::Binary(bytes))),
    }
}

/// The JSONP POST body for a payload: `d=` and the payload, URL-encoded. The engine.io server
/// turns the two characters `\n` back into a newline and `\\n` into `\n` (browsers once
/// rewrote newlines in form fields), so newlines and escaped newlines are escaped first.
/// (A backslash right before a raw newline comes out as `\n` text at the server: the
/// scheme's own ambiguity, which JSON text, holding no raw newline, never meets.)
///
/// ```
/// use cometkit_protocol::engineio::jsonp_post_body;
///
/// assert_eq!(jsonp_post_body("4a\nb"), "d=4a%5Cnb");
/// assert_eq!(jsonp_post_body(r"4a\nb"), "d=4a%5C%5Cnb");
/// ```
pub fn jsonp_post_body(payload: &str) -> String {
    let mut escaped = String::with_capacity(payload.len() + 8);
    let mut rest = payload;
    while let Some(i) = rest.find(['\n', '\\']) {
        escaped.push_str(rest.get(..i).unwrap_or(""));
        let tail = rest.get(i..).unwrap_or("");
        if tail.starts_with("\\n") {
            escaped.push_str("\\\\n");
            rest = tail.get(2..).unwrap_or("");
        } else if tail.starts_with('\n') {
            escaped.push_str("\\n");
            rest = tail.get(1..).unwrap_or("");
        } else {
            escaped.push('\\');
            rest = tail.get(1..).unwrap_or("");
        }
    }
    escaped.push_str(rest);
    let mut out = String::from("d=");
    out.push_str(&encode_uri_component(&escaped));
    out
}

/// The payload out of a JSONP polling response, `___eio[<index>]("<payload>");`. Fails with a
/// protocol error for a script of any other shape or another index.
///
/// ```
/// use cometkit_protocol::engineio::jsonp_response_payload;
///
/// assert_eq!(jsonp_response_payload(r#"___eio[3]("4hi\u001e2");"#, 3)?, "4hi\x1e2");
/// assert!(jsonp_response_payload(r#"___eio[4]("4hi");"#, 3).is_err());
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
pub fn jsonp_response_payload(body: &str, index: u32) -> Result<String, Error> {
    const BAD: &str = "Engine.IO JSONP: not a ___eio[index](\"...\") script";
    let mut head = String::from("___eio[");
    crate::error::push_decimal(&mut head, index);
    head.push_str("](");
    let rest = body
        .trim_ascii()
        .strip_prefix(&*head)
        .ok_or(Error::protocol(BAD))?;
    let rest = rest.strip_suffix(";").unwrap_or(rest).trim_ascii_end();
    let inner = rest.strip_suffix(")").ok_or(Error::protocol(BAD))?;
    let mut json = Json::new(inner);
    let payload = json.string()?.into_owned();
    json.end()?;
    Ok(payload)
}

// ---------------------------------------------------------------------------------------------
// Base64 (standard alphabet, padded), as engine.io's `b` packets use it. Written here rather
// than taken from a crate: the crate has no dependencies and this is a few dozen lines.

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The length of the padded base64 text for `n` bytes.
pub fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Appends the padded standard base64 of `bytes` to `out`.
///
/// ```
/// let mut s = String::new();
/// cometkit_protocol::engineio::base64_encode(b"hello", &mut s);
/// assert_eq!(s, "aGVsbG8=");
/// ```
pub fn base64_encode(bytes: &[u8], out: &mut String) {
    out.reserve(base64_len(bytes.len()));
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
}

/// Decodes standard base64 (padding optional, no whitespace). Fails with a protocol error on
/// any other character or an impossible length.
///
/// ```
/// use cometkit_protocol::engineio::base64_decode;
///
/// assert_eq!(base64_decode("aGVsbG8=")?, b"hello");
/// assert_eq!(base64_decode("aGVsbG8")?, b"hello");
/// assert!(base64_decode("a").is_err());
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
pub fn base64_decode(text: &str) -> Result<Vec<u8>, Error> {
    const BAD: &str = "Engine.IO: invalid base64 in a binary packet";
    let body = text.trim_end_matches('=');
    let pad = text.len() - body.len();
    if pad > 2 || body.len() % 4 == 1 || (pad > 0 && body.len() % 4 != 4 - pad) {
        return Err(Error::protocol(BAD));
    }
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 2);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in body.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(Error::protocol(BAD)),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Handshake

/// The server's open packet.
///
/// ```
/// use cometkit_protocol::engineio::Handshake;
///
/// let h = Handshake::parse(r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000,"maxPayload":1000000}"#)?;
/// assert_eq!(h.sid, "lv_VI97HAXpY6yYWAAAC");
/// assert!(h.can_upgrade_to_websocket());
/// assert_eq!((h.ping_interval, h.ping_timeout, h.max_payload), (25_000, 5_000, 1_000_000));
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The session id.
    pub sid: String,
    /// Transports the connection may upgrade to.
    pub upgrades: Vec<String>,
    /// How often the server pings, in ms.
    pub ping_interval: u64,
    /// How long the server waits for the pong, in ms.
    pub ping_timeout: u64,
    /// The largest polling payload (or WebSocket frame) the server accepts, in bytes;
    /// `u64::MAX` when the server did not say.
    pub max_payload: u64,
}

impl Handshake {
    /// Parses the open packet's JSON. `sid`, `pingInterval` and `pingTimeout` are required;
    /// `upgrades` (default none) and `maxPayload` (default unlimited) are optional; unknown
    /// fields are skipped. Fails with a protocol error that names the field at fault.
    pub fn parse(json_text: &str) -> Result<Handshake, Error> {
        fn bad(message: &'static str) -> impl FnOnce(Error) -> Error {
            move |_| Error::protocol(message)
        }
        let mut json = Json::new(json_text);
        json.expect(b'{', "Engine.IO handshake: expected a JSON object")?;
        let (mut sid, mut interval, mut timeout) = (None, None, None);
        let mut upgrades = Vec::new();
        let mut max_payload = u64::MAX;
        if !json.eat(b'}') {
            loop {
                let key = json.string()?;
                json.expect(b':', "Engine.IO handshake: expected ':' after a key")?;
                match &*key {
                    "sid" => {
                        sid = Some(
                            json.string()
                                .map_err(bad("Engine.IO handshake: \"sid\" must be a string"))?,
                        )
                    }
                    "upgrades" => {
                        upgrades = json.string_array().map_err(bad(
                            "Engine.IO handshake: \"upgrades\" must be an array of strings",
                        ))?
                    }
                    "pingInterval" => {
                        interval = Some(json.uint().map_err(bad(
                            "Engine.IO handshake: \"pingInterval\" must be a non-negative integer",
                        ))?)
                    }
                    "pingTimeout" => {
                        timeout = Some(json.uint().map_err(bad(
                            "Engine.IO handshake: \"pingTimeout\" must be a non-negative integer",
                        ))?)
                    }
                    "maxPayload" => {
                        max_payload = json.uint().map_err(bad(
                            "Engine.IO handshake: \"maxPayload\" must be a non-negative integer",
                        ))?
                    }
                    _ => json.skip_value()?,
                }
                if json.eat(b'}') {
                    break;
                }
                json.expect(b',', "Engine.IO handshake: expected ',' or '}'")?;
            }
        }
        json.end()?;
        let sid = sid.ok_or(Error::protocol("Engine.IO handshake: \"sid\" is missing"))?;
        if sid.is_empty() {
            return Err(Error::protocol("Engine.IO handshake: \"sid\" is empty"));
        }
        Ok(Handshake {
            sid: sid.into_owned(),
            upgrades,
            ping_interval: interval.ok_or(Error::protocol(
                "Engine.IO handshake: \"pingInterval\" is missing",
            ))?,
            ping_timeout: timeout.ok_or(Error::protocol(
                "Engine.IO handshake: \"pingTimeout\" is missing",
            ))?,
            max_payload,
        })
    }

    /// True when the server offers the WebSocket upgrade.
    pub fn can_upgrade_to_websocket(&self) -> bool {
        self.upgrades.iter().any(|u| u == "websocket")
    }
}

// ---------------------------------------------------------------------------------------------
// Transports, configuration, actions and events

/// A way to reach an Engine.IO server; the driver carries each out with one browser primitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// A WebSocket (`transport=websocket`).
    WebSocket,
    /// XHR long polling (`transport=polling`): GET to receive, POST to send.
    XhrPolling,
    /// JSONP polling (`transport=polling&j=<index>`): receive by `<script>`, the server calling
    /// `___eio[index]("payload")`; send by a form-encoded POST ([`jsonp_post_body`]) whose
    /// answer is not read, so it needs no CORS at all.
    JsonpPolling,
    /// XDomainRequest-style polling: `text/plain` bodies, no custom headers and no
    /// credentials, so the browser never sends a CORS preflight.
    XdrPolling,
}

impl Transport {
    /// The name used in options: `websocket`, `polling`, `jsonp-polling`, `xdr-polling`.
    pub fn name(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::XhrPolling => "polling",
            Transport::JsonpPolling => "jsonp-polling",
            Transport::XdrPolling => "xdr-polling",
        }
    }

    /// The value of the `transport=` query parameter the server expects.
    pub fn query_name(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            _ => "polling",
        }
    }

    /// True for the three polling transports.
    pub fn is_polling(self) -> bool {
        self != Transport::WebSocket
    }

    /// The transport of an option name (see [`Transport::name`]); `xhr-polling` is accepted
    /// for `polling`.
    ///
    /// ```
    /// use cometkit_protocol::engineio::Transport;
    ///
    /// assert_eq!(Transport::parse("jsonp-polling")?, Transport::JsonpPolling);
    /// assert!(Transport::parse("flashsocket").unwrap_err().is_invalid());
    /// # Ok::<(), cometkit_protocol::Error>(())
    /// ```
    pub fn parse(name: &str) -> Result<Transport, Error> {
        Ok(match name {
            "websocket" => Transport::WebSocket,
            "polling" | "xhr-polling" => Transport::XhrPolling,
            "jsonp-polling" => Transport::JsonpPolling,
            "xdr-polling" => Transport::XdrPolling,
            _ => return Err(Error::invalid("unknown Engine.IO transport")),
        })
    }
}

/// Engine options.
///
/// ```
/// use cometkit_protocol::engineio::{Config, Transport};
///
/// let mut config = Config::default();
/// assert_eq!(config.transports, [Transport::XhrPolling, Transport::WebSocket]);
/// config.transports.push(Transport::JsonpPolling); // when CORS is refused
/// config.query.push(("token".into(), "abc".into()));
/// config.websocket_first = true; // the driver remembered a working upgrade
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// The transports to open with, in order (duplicates are ignored). The WebSocket is also
    /// the upgrade target of a polling connection when listed.
    pub transports: Vec<Transport>,
    /// Upgrade a polling connection to WebSocket when the server offers it.
    pub upgrade: bool,
    /// Try the WebSocket first (the driver's memory that an upgrade worked before). The driver
    /// sets its memory on [`Event::Upgraded`] and clears it when a connection opens on polling
    /// although this flag was set (the WebSocket failed to open).
    pub websocket_first: bool,
    /// Extra query parameters for every request (the names Engine.IO uses are refused).
    pub query: Vec<(String, String)>,
    /// Deadline for a transport to deliver the handshake, in ms.
    pub open_timeout_ms: u32,
    /// Deadline for an upgrade probe, in ms.
    pub upgrade_timeout_ms: u32,
    /// Reconnection policy; `None` closes for good on the first loss.
    pub reconnect: Option<Reconnect>,
    /// Bound on queued messages; [`Engine::send`] fails beyond it.
    pub max_queued_messages: usize,
    /// Bound on queued bytes; [`Engine::send`] fails beyond it.
    pub max_queued_bytes: usize,
    /// The JSONP callback slot (`j=`): the driver answers polls through `___eio[index]`.
    pub jsonp_index: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            transports: vec![Transport::XhrPolling, Transport::WebSocket],
            upgrade: true,
            websocket_first: false,
            query: Vec::new(),
            open_timeout_ms: DEFAULT_OPEN_TIMEOUT_MS,
            upgrade_timeout_ms: DEFAULT_UPGRADE_TIMEOUT_MS,
            reconnect: Some(DEFAULT_RECONNECT),
            max_queued_messages: DEFAULT_MAX_QUEUED_MESSAGES,
            max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
            jsonp_index: 0,
        }
    }
}

/// Names one transport the engine asked for; the driver passes it back with every input about
/// it, so late news from an abandoned transport is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransportId(u32);

impl TransportId {
    /// The number behind the id.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<M = Data> {
    /// Long-poll: `GET url` (XHR, XDR-style or a JSONP `<script>`). Answer with
    /// [`Engine::handle_poll`] (the decoded packets) or [`Engine::handle_poll_failed`].
    Poll {
        /// The transport.
        id: TransportId,
        /// Which polling transport.
        transport: Transport,
        /// The URL, with a fresh `t=` cache buster.
        url: String,
    },
    /// Open a WebSocket at `url`. Report its opening with [`Engine::handle_ws_open`], each
    /// frame with [`Engine::handle_packet`] and its end with [`Engine::handle_transport_closed`].
    OpenWebSocket {
        /// The transport.
        id: TransportId,
        /// The `ws:`/`wss:` URL.
        url: String,
    },
    /// Send packets: on WebSocket one frame each ([`encode_frame`]); on polling one POST of
    /// the payload ([`encode_payload`]; for JSONP the form body of [`jsonp_post_body`]) to
    /// `url`. Confirm with [`Engine::handle_send_done`].
    Send {
        /// The transport.
        id: TransportId,
        /// Which transport.
        transport: Transport,
        /// The POST URL (`None` on WebSocket).
        url: Option<String>,
        /// The packets, in order.
        packets: Vec<Packet<M>>,
    },
    /// Close the transport (abort its requests, close the WebSocket) and release it.
    CloseTransport {
        /// The transport.
        id: TransportId,
    },
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// [`Engine::close`].
    Client,
    /// The server sent a close packet.
    Server,
    /// No packet for `pingInterval + pingTimeout`.
    PingTimeout,
    /// The transport closed (a WebSocket closing).
    TransportClose,
    /// The transport failed (a request failing, a WebSocket error).
    TransportError,
    /// The server sent something undecodable.
    ParseError,
    /// No transport could open.
    ConnectFailed,
}

impl CloseReason {
    /// The reason as socket.io-client names it (`"io client disconnect"`, `"transport close"`,
    /// `"ping timeout"`, `"transport error"`, `"parse error"`, `"connect failed"`).
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Client => "io client disconnect",
            CloseReason::Server | CloseReason::TransportClose => "transport close",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::TransportError => "transport error",
            CloseReason::ParseError => "parse error",
            CloseReason::ConnectFailed => "connect failed",
        }
    }
}

/// Something to tell the user (or the Socket.IO layer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<M = Data> {
    /// A connection opened on `transport`.
    Open {
        /// The server's handshake.
        handshake: Handshake,
        /// The transport it opened on.
        transport: Transport,
    },
    /// A message from the server.
    Message(M),
    /// The connection moved to the WebSocket (a driver remembers this for
    /// [`Config::websocket_first`]).
    Upgraded(Transport),
    /// An upgrade probe failed; the connection goes on over polling.
    UpgradeFailed(Error),
    /// A transport failed to open; the next one is tried (informational).
    Error(Error),
    /// A queued message could not go out: larger than the server's `maxPayload`.
    Rejected {
        /// The message.
        message: M,
        /// Why.
        error: Error,
    },
    /// An open connection was lost. `unsent` holds the messages still queued (a payload in
    /// flight when the connection died may or may not have arrived, and is not in it).
    Disconnected {
        /// Why.
        reason: CloseReason,
        /// The failure behind it, when there was one.
        error: Option<Error>,
        /// Messages never sent, in order.
        unsent: Vec<M>,
    },
    /// A new connection is tried after `delay_ms`; `attempt` counts from 1.
    Reconnecting {
        /// The wait, in ms.
        delay_ms: u32,
        /// Retries in a row.
        attempt: u32,
    },
    /// The engine closed for good; the last event.
    Closed {
        /// Why.
        reason: CloseReason,
        /// Messages never sent, in order.
        unsent: Vec<M>,
    },
}

// ---------------------------------------------------------------------------------------------
// The machine

#[derive(Debug, Clone, Copy)]
struct Link {
    id: TransportId,
    kind: Transport,
    poll_in_flight: bool,
    send_in_flight: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProbeStage {
    Connecting,
    Probing,
    Pausing,
}

#[derive(Debug, Clone, Copy)]
struct Probe {
    id: TransportId,
    stage: ProbeStage,
    deadline: u64,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Idle,
    Opening { link: Link, deadline: u64 },
    Open { link: Link, silent_deadline: u64 },
    Closing { link: Link, deadline: u64 },
    Waiting { until: u64 },
    Closed,
}

/// The Engine.IO v4 client machine. See the [module docs](self).
///
/// A scripted server: the handshake over polling, one message each way, a ping answered, then
/// the upgrade declined so the connection stays on polling.
///
/// ```
/// use cometkit_protocol::engineio::{decode_payload, Action, Config, Data, Engine, Event, Packet, Transport};
///
/// let mut config = Config::default();
/// config.transports = vec![Transport::XhrPolling];
/// let mut e: Engine = Engine::new("http://localhost:3000/engine.io/", config, Box::new(|| 0))?;
/// e.connect(0);
/// let Some(Action::Poll { id, url, .. }) = e.poll_action() else { unreachable!() };
/// assert!(url.starts_with("http://localhost:3000/engine.io/?EIO=4&transport=polling&t="));
/// let open = r#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
/// e.handle_poll(10, id, decode_payload(&[open, "\x1e4hello"].concat())?);
/// assert!(matches!(e.poll_event(), Some(Event::Open { .. })));
/// assert_eq!(e.poll_event(), Some(Event::Message(Data::from("hello"))));
/// // The next long poll carries the sid.
/// let Some(Action::Poll { url, .. }) = e.poll_action() else { unreachable!() };
/// assert!(url.contains("&sid=abc&"));
/// e.send(Data::from("hi"))?;
/// let Some(Action::Send { packets, url, .. }) = e.poll_action() else { unreachable!() };
/// assert_eq!(packets, [Packet::Message(Data::from("hi"))]);
/// assert!(url.is_some());
/// e.handle_send_done(20, id, Ok(()));
/// // The server pings; the engine answers.
/// e.handle_poll(30, id, vec![Packet::Ping(false)]);
/// let Some(Action::Send { packets, .. }) = e.poll_action() else { unreachable!() };
/// assert_eq!(packets, [Packet::Pong(false)]);
/// // Silence past pingInterval + pingTimeout is a drop.
/// assert_eq!(e.poll_timeout(), Some(30 + 45_000));
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
pub struct Engine<M: Message = Data> {
    base: String,
    ws_base: String,
    config: Config,
    ladder: Vec<Transport>,
    rung: usize,
    random: Box<dyn FnMut() -> u32>,
    phase: Phase,
    probe: Option<Probe>,
    handshake: Option<Handshake>,
    /// Each packet with the bytes it adds to `queued_bytes`: a message's size or its bound
    /// ([`Message::size_at_most`]), which `send` tightens when the bound would refuse one.
    queue: VecDeque<(Packet<M>, usize)>,
    queued_bytes: usize,
    retries: Option<Retries>,
    next_id: u32,
    stamp: (u64, u32),
    clock: u64,
    /// A message came on the open link by [`Engine::handle_message`], with no time, since the
    /// silent deadline was last set: at that deadline the connection is alive after all.
    heard: bool,
    actions: VecDeque<Action<M>>,
    events: VecDeque<Event<M>>,
}

const RESERVED: [&str; 5] = ["EIO", "transport", "sid", "j", "t"];

impl<M: Message> Engine<M> {
    /// A machine for the Engine.IO endpoint `url` (an absolute `http:`, `https:`, `ws:` or
    /// `wss:` URL with the path, such as `https://host/socket.io/`). `random` gives uniform
    /// `u32`s for the backoff jitter. Nothing happens before [`Engine::connect`].
    ///
    /// Fails with [`Error::invalid`] for another URL scheme, an empty transport list, or a
    /// query parameter named `EIO`, `transport`, `sid`, `j` or `t`.
    pub fn new(url: &str, config: Config, random: Box<dyn FnMut() -> u32>) -> Result<Self, Error> {
        let ws = crate::wsurl::to_ws_url(url)?;
        let rest = ws
            .strip_prefix("wss:")
            .map(|r| ("https:", r))
            .or_else(|| ws.strip_prefix("ws:").map(|r| ("http:", r)))
            .ok_or(Error::invalid(
                "Engine.IO URL must be http:, https:, ws: or wss:",
            ))?;
        let http = crate::error::concat(&[rest.0, rest.1]);
        if config
            .query
            .iter()
            .any(|(name, _)| RESERVED.contains(&name.as_str()))
        {
            return Err(Error::invalid(
                "query parameters EIO, transport, sid, j and t are Engine.IO's own",
            ));
        }
        let mut ladder: Vec<Transport> = Vec::new();
        for &t in &config.transports {
            if !ladder.contains(&t) {
                ladder.push(t);
            }
        }
        if ladder.is_empty() {
            return Err(Error::invalid("no Engine.IO transport to try"));
        }
        if config.websocket_first {
            if let Some(i) = ladder.iter().position(|&t| t == Transport::WebSocket) {
                let ws = ladder.remove(i);
                ladder.insert(0, ws);
            }
        }
        let retries = config
            .reconnect
            .as_ref()
            .map(|r| Retries::new(r.backoff, r.max_attempts));
        Ok(Engine {
            base: append_query(&http, &config.query),
            ws_base: append_query(&ws, &config.query),
            config,
            ladder,
            rung: 0,
            random,
            phase: Phase::Idle,
            probe: None,
            handshake: None,
            queue: VecDeque::new(),
            queued_bytes: 0,
            retries,
            next_id: 0,
            stamp: (u64::MAX, 0),
            clock: 0,
            heard: false,
            actions: VecDeque::new(),
            events: VecDeque::new(),
        })
    }

    /// The handshake of the open connection.
    pub fn handshake(&self) -> Option<&Handshake> {
        match self.phase {
            Phase::Open { .. } | Phase::Closing { .. } => self.handshake.as_ref(),
            _ => None,
        }
    }

    /// The transport of the open connection.
    pub fn transport(&self) -> Option<Transport> {
        match self.phase {
            Phase::Open { link, .. } | Phase::Closing { link, .. } => Some(link.kind),
            _ => None,
        }
    }

    /// True while a connection is open (and not closing).
    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open { .. })
    }

    /// True once the engine closed for good.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// The order transports are tried in (after [`Config::websocket_first`]).
    pub fn ladder(&self) -> &[Transport] {
        &self.ladder
    }

    /// Bytes queued and not yet handed to a transport.
    pub fn queued_bytes(&self) -> usize {
        let mut n = 0;
        for (packet, _) in &self.queue {
            if let Packet::Message(m) = packet {
                n += m.size();
            }
        }
        n
    }

    /// New reconnection policy and open deadline, taking effect at the next failed attempt or
    /// loss, and the next attempt. Attempts already counted stay counted (a lower
    /// `max_attempts` can end a reconnection under way); an attempt already scheduled still
    /// happens.
    pub fn retune(&mut self, reconnect: Option<Reconnect>, open_timeout_ms: u32) {
        self.retries = match (&reconnect, self.retries.take()) {
            (Some(r), Some(mut retries)) => {
                retries.backoff = r.backoff;
                retries.limit = r.max_attempts;
                Some(retries)
            }
            (Some(r), None) => Some(Retries::new(r.backoff, r.max_attempts)),
            (None, _) => None,
        };
        self.config.reconnect = reconnect;
        self.config.open_timeout_ms = open_timeout_ms;
    }

    /// Starts connecting (once; later calls do nothing).
    pub fn connect(&mut self, now: u64) {
        self.clock = self.clock.max(now);
        if matches!(self.phase, Phase::Idle) {
            self.rung = 0;
            self.start_attempt(now);
        }
    }

    /// Queues `message`. It goes out as soon as a transport is free, batched with the other
    /// messages queued before the next [`Engine::poll_action`].
    ///
    /// Fails with [`Error::invalid`] when the engine is closed or closing, when the message
    /// is larger than the server's `maxPayload` on the current transport, or when the queue
    /// bounds would be exceeded; the message was not queued.
    pub fn send(&mut self, message: M) -> Result<(), Error> {
        if matches!(self.phase, Phase::Closed | Phase::Closing { .. }) {
            return Err(Error::invalid("the Engine.IO connection is closed"));
        }
        if let (Some(max), Some(kind)) = (self.max_payload(), self.transport()) {
            if !fits(&message, kind == Transport::WebSocket, max) {
                return Err(too_large());
            }
        }
        if self.queue.len() >= self.config.max_queued_messages {
            return Err(queue_full());
        }
        let max = self.config.max_queued_bytes;
        let mut charge = message.size_at_most();
        if self.queued_bytes.saturating_add(charge) > max {
            // Bounds may refuse what exact sizes allow: count this message and the queue.
            charge = message.size();
            self.queued_bytes = 0;
            for (packet, n) in &mut self.queue {
                if let Packet::Message(m) = packet {
                    *n = m.size();
                    self.queued_bytes += *n;
                }
            }
            if self.queued_bytes.saturating_add(charge) > max {
                return Err(queue_full());
            }
        }
        self.queued_bytes += charge;
        self.queue.push_back((Packet::Message(message), charge));
        Ok(())
    }

    /// Closes: on an open connection, queued messages and a close packet go out first, then
    /// the transport closes; otherwise at once. Ends with [`Event::Closed`].
    pub fn close(&mut self, now: u64) {
        self.clock = self.clock.max(now);
        match self.phase {
            Phase::Open { link, .. } => {
                self.abandon_probe(None);
                self.queue.push_back((Packet::Close, 0));
                self.phase = Phase::Closing {
                    link,
                    deadline: now + u64::from(self.config.open_timeout_ms),
                };
                self.flush();
            }
            Phase::Closing { .. } | Phase::Closed => {}
            Phase::Opening { link, .. } => {
                self.actions
                    .push_back(Action::CloseTransport { id: link.id });
                self.finish(CloseReason::Client);
            }
            Phase::Idle | Phase::Waiting { .. } => self.finish(CloseReason::Client),
        }
    }

    /// A long poll answered with `packets` (decoded from the response body; for JSONP, from
    /// [`jsonp_response_payload`]).
    pub fn handle_poll(&mut self, now: u64, id: TransportId, packets: Vec<Packet<M>>) {
        self.clock = self.clock.max(now);
        let Some(mut link) = self.link_of(id) else {
            return;
        };
        if !link.poll_in_flight {
            return;
        }
        link.poll_in_flight = false;
        self.set_link(link);
        for packet in packets {
            if self.link_of(id).is_none() {
                return; // the connection ended on an earlier packet
            }
            self.on_packet(now, id, packet);
        }
        if matches!(self.phase, Phase::Opening { link, .. } if link.id == id) {
            return self.attempt_failed(
                now,
                Error::protocol("Engine.IO: the handshake response held no open packet"),
            );
        }
        self.after_poll(id);
    }

    /// A long poll failed (network, HTTP status, JSONP script error; a body that does not
    /// decode is a protocol error and ends the connection as a parse error).
    pub fn handle_poll_failed(&mut self, now: u64, id: TransportId, error: Error) {
        self.clock = self.clock.max(now);
        if self.link_of(id).is_some_and(|l| l.poll_in_flight) {
            self.transport_lost(now, id, error);
        }
    }

    /// A WebSocket opened.
    pub fn handle_ws_open(&mut self, now: u64, id: TransportId) {
        self.clock = self.clock.max(now);
        if let Some(probe) = &mut self.probe {
            if probe.id == id && probe.stage == ProbeStage::Connecting {
                probe.stage = ProbeStage::Probing;
                self.actions.push_back(Action::Send {
                    id,
                    transport: Transport::WebSocket,
                    url: None,
                    packets: vec![Packet::Ping(true)],
                });
            }
        }
    }

    /// One packet from a WebSocket (decoded from its frame with [`decode_frame`]).
    pub fn handle_packet(&mut self, now: u64, id: TransportId, packet: Packet<M>) {
        self.clock = self.clock.max(now);
        if self.probe.is_some_and(|p| p.id == id) {
            self.on_probe_packet(now, packet);
        } else if self.link_of(id).is_some() {
            self.on_packet(now, id, packet);
        }
    }

    /// A message from the open connection's WebSocket, taken without the time (reading the
    /// browser's clock for every frame costs more than the rest of the engine's work on it).
    /// Any packet proves the connection alive; for this one the proof is kept until the silent
    /// deadline, which it then moves a full `pingInterval + pingTimeout` past that instant. A
    /// connection that dies after such a message is noticed at most that period later than it
    /// would be had the message come with its time; pings and every other packet still come
    /// with it.
    ///
    /// Gives the message back, to be handed to [`Engine::handle_packet`] with the time, when
    /// the engine needs the time for it: `id` is not the open connection's link (a probe, a
    /// stale transport), or the connection is not open.
    pub fn handle_message(&mut self, id: TransportId, message: M) -> Result<(), M> {
        match self.phase {
            Phase::Open { link, .. } if link.id == id => {
                self.heard = true;
                self.events.push_back(Event::Message(message));
                Ok(())
            }
            _ => Err(message),
        }
    }

    /// A frame or response the driver could not decode: a parse error that ends the
    /// connection (or the attempt, or the probe).
    pub fn handle_malformed(&mut self, now: u64, id: TransportId, error: Error) {
        self.clock = self.clock.max(now);
        if self.probe.is_some_and(|p| p.id == id) {
            self.abandon_probe(Some(error));
            self.resume_polling();
        } else if self.link_of(id).is_some() {
            self.lose(now, id, CloseReason::ParseError, Some(error));
        }
    }

    /// A POST (or the WebSocket's sends) finished: `Ok` once the server (or the browser, for
    /// a WebSocket) took it. `now` matters only for an error (the connection is lost then): a
    /// driver may pass its last reading with `Ok`, as the browser one does for each WebSocket
    /// frame.
    pub fn handle_send_done(&mut self, now: u64, id: TransportId, result: Result<(), Error>) {
        self.clock = self.clock.max(now);
        let Some(mut link) = self.link_of(id) else {
            return;
        };
        if !link.send_in_flight {
            return;
        }
        if let Err(error) = result {
            self.transport_lost(now, id, error);
            return;
        }
        link.send_in_flight = false;
        self.set_link(link);
        self.check_pause();
        self.flush();
    }

    /// A transport closed or failed (`error` says why; `None` for a clean WebSocket close).
    pub fn handle_transport_closed(&mut self, now: u64, id: TransportId, error: Option<Error>) {
        self.clock = self.clock.max(now);
        if self.probe.is_some_and(|p| p.id == id) {
            self.abandon_probe(Some(
                error.unwrap_or(Error::network("the WebSocket closed during the probe")),
            ));
            self.resume_polling();
            return;
        }
        if self.link_of(id).is_none() {
            return;
        }
        match error {
            Some(error) => self.transport_lost(now, id, error),
            None => match self.phase {
                Phase::Opening { .. } => self.attempt_failed(
                    now,
                    Error::network("the transport closed before the handshake"),
                ),
                _ => self.lose(now, id, CloseReason::TransportClose, None),
            },
        }
    }

    /// The timer armed at [`Engine::poll_timeout`] fired.
    pub fn handle_timeout(&mut self, now: u64) {
        self.clock = self.clock.max(now);
        if let Some(probe) = self.probe {
            if now >= probe.deadline {
                self.abandon_probe(Some(Error::timeout(
                    "the WebSocket upgrade probe timed out",
                )));
                self.resume_polling();
            }
        }
        match self.phase {
            Phase::Opening { deadline, .. } if now >= deadline => {
                self.attempt_failed(now, Error::timeout("the Engine.IO handshake timed out"))
            }
            Phase::Open {
                link,
                silent_deadline,
            } if now >= silent_deadline => {
                if std::mem::take(&mut self.heard) {
                    self.set_silent_deadline(now);
                } else {
                    self.lose(now, link.id, CloseReason::PingTimeout, None)
                }
            }
            Phase::Closing { link, deadline } if now >= deadline => {
                self.actions
                    .push_back(Action::CloseTransport { id: link.id });
                self.finish(CloseReason::Client);
            }
            Phase::Waiting { until } if now >= until => {
                self.rung = 0;
                self.start_attempt(now);
            }
            _ => {}
        }
    }

    /// When to call [`Engine::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<u64> {
        let phase = match self.phase {
            Phase::Opening { deadline, .. } | Phase::Closing { deadline, .. } => Some(deadline),
            Phase::Open {
                silent_deadline, ..
            } => Some(silent_deadline),
            Phase::Waiting { until } => Some(until),
            Phase::Idle | Phase::Closed => None,
        };
        match (phase, self.probe.map(|p| p.deadline)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next thing the driver must do. Queued messages are batched here, so everything
    /// sent since the last call can share one request.
    pub fn poll_action(&mut self) -> Option<Action<M>> {
        self.flush();
        self.actions.pop_front()
    }

    /// The next thing to tell the user.
    pub fn poll_event(&mut self) -> Option<Event<M>> {
        self.events.pop_front()
    }

    // --- internals ---------------------------------------------------------------------------

    fn max_payload(&self) -> Option<u64> {
        self.handshake().map(|h| h.max_payload)
    }

    fn new_id(&mut self) -> TransportId {
        self.next_id = self.next_id.wrapping_add(1);
        TransportId(self.next_id)
    }

    /// A cache buster unique per request: the time in base 64 (as engine.io-client's `yeast`),
    /// with `.n` added for requests in the same millisecond.
    fn stamp(&mut self) -> String {
        let now = self.clock;
        const ALPHABET: &[u8; 64] =
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
        let mut digits = Vec::new();
        let mut n = now;
        loop {
            digits.push(ALPHABET[(n % 64) as usize]);
            n /= 64;
            if n == 0 {
                break;
            }
        }
        let mut out: String = digits.iter().rev().map(|&b| char::from(b)).collect();
        if self.stamp.0 == now {
            self.stamp.1 = self.stamp.1.wrapping_add(1);
            out.push('.');
            crate::error::push_decimal(&mut out, self.stamp.1);
        } else {
            self.stamp = (now, 0);
        }
        out
    }

    fn url(&mut self, kind: Transport, sid: Option<&str>) -> String {
        let mut pairs = vec![
            ("EIO".to_owned(), "4".to_owned()),
            ("transport".to_owned(), kind.query_name().to_owned()),
        ];
        if let Some(sid) = sid {
            pairs.push(("sid".to_owned(), sid.to_owned()));
        }
        if kind == Transport::JsonpPolling {
            let mut j = String::new();
            crate::error::push_decimal(&mut j, self.config.jsonp_index);
            pairs.push(("j".to_owned(), j));
        }
        if kind == Transport::WebSocket {
            return append_query(&self.ws_base, &pairs);
        }
        pairs.push(("t".to_owned(), self.stamp()));
        append_query(&self.base, &pairs)
    }

    fn sid(&self) -> Option<String> {
        self.handshake.as_ref().map(|h| h.sid.clone())
    }

    fn start_attempt(&mut self, now: u64) {
        let Some(&kind) = self.ladder.get(self.rung) else {
            return self.round_failed(now);
        };
        let id = self.new_id();
        self.handshake = None;
        let url = self.url(kind, None);
        let mut link = Link {
            id,
            kind,
            poll_in_flight: false,
            send_in_flight: false,
        };
        if kind == Transport::WebSocket {
            self.actions.push_back(Action::OpenWebSocket { id, url });
        } else {
            link.poll_in_flight = true;
            self.actions.push_back(Action::Poll {
                id,
                transport: kind,
                url,
            });
        }
        self.phase = Phase::Opening {
            link,
            deadline: now + u64::from(self.config.open_timeout_ms),
        };
    }

    fn link_of(&self, id: TransportId) -> Option<Link> {
        match self.phase {
            Phase::Opening { link, .. }
            | Phase::Open { link, .. }
            | Phase::Closing { link, .. }
                if link.id == id =>
            {
                Some(link)
            }
            _ => None,
        }
    }

    fn set_link(&mut self, new: Link) {
        match &mut self.phase {
            Phase::Opening { link, .. }
            | Phase::Open { link, .. }
            | Phase::Closing { link, .. } => *link = new,
            _ => {}
        }
    }

    /// On the open connection: silence is a drop from `now` + `pingInterval + pingTimeout`.
    fn set_silent_deadline(&mut self, now: u64) {
        if let Phase::Open {
            silent_deadline, ..
        } = &mut self.phase
        {
            if let Some(h) = &self.handshake {
                *silent_deadline =
                    now.saturating_add(h.ping_interval.saturating_add(h.ping_timeout));
                self.heard = false;
            }
        }
    }

    fn on_packet(&mut self, now: u64, id: TransportId, packet: Packet<M>) {
        if let Phase::Opening { link, .. } = self.phase {
            let Packet::Open(json) = packet else {
                return self.attempt_failed(
                    now,
                    Error::protocol("Engine.IO: the first packet was not the handshake"),
                );
            };
            return match Handshake::parse(&json) {
                Ok(handshake) => self.opened(now, link, handshake),
                Err(error) => self.attempt_failed(now, error),
            };
        }
        self.set_silent_deadline(now);
        match packet {
            Packet::Ping(_) => {
                if matches!(self.phase, Phase::Open { .. }) {
                    self.queue.push_back((Packet::Pong(false), 0));
                    self.flush();
                }
            }
            Packet::Message(m) => self.events.push_back(Event::Message(m)),
            Packet::Close => self.lose(now, id, CloseReason::Server, None),
            Packet::Open(_) => self.lose(
                now,
                id,
                CloseReason::ParseError,
                Some(Error::protocol("Engine.IO: a second handshake")),
            ),
            Packet::Pong(_) | Packet::Upgrade | Packet::Noop => {}
        }
    }

    fn opened(&mut self, now: u64, link: Link, handshake: Handshake) {
        let silent = now.saturating_add(
            handshake
                .ping_interval
                .saturating_add(handshake.ping_timeout),
        );
        let can_upgrade = self.config.upgrade
            && link.kind.is_polling()
            && handshake.can_upgrade_to_websocket()
            && self.ladder.contains(&Transport::WebSocket);
        self.events.push_back(Event::Open {
            handshake: handshake.clone(),
            transport: link.kind,
        });
        self.handshake = Some(handshake);
        self.phase = Phase::Open {
            link,
            silent_deadline: silent,
        };
        self.heard = false;
        if let Some(r) = &mut self.retries {
            r.reset();
        }
        if can_upgrade {
            let id = self.new_id();
            let sid = self.sid();
            let url = self.url(Transport::WebSocket, sid.as_deref());
            self.actions.push_back(Action::OpenWebSocket { id, url });
            self.probe = Some(Probe {
                id,
                stage: ProbeStage::Connecting,
                deadline: now + u64::from(self.config.upgrade_timeout_ms),
            });
        }
        self.flush();
    }

    /// After a poll's packets: the next long poll, unless paused or ended.
    fn after_poll(&mut self, id: TransportId) {
        let Some(mut link) = self.link_of(id) else {
            return;
        };
        if !matches!(self.phase, Phase::Open { .. })
            || link.poll_in_flight
            || self.probe.is_some_and(|p| p.stage == ProbeStage::Pausing)
        {
            self.check_pause();
            return;
        }
        link.poll_in_flight = true;
        self.set_link(link);
        let sid = self.sid();
        let url = self.url(link.kind, sid.as_deref());
        self.actions.push_back(Action::Poll {
            id,
            transport: link.kind,
            url,
        });
    }

    fn resume_polling(&mut self) {
        if let Phase::Open { link, .. } = self.phase {
            if link.kind.is_polling() && !link.poll_in_flight {
                self.after_poll(link.id);
            }
            self.flush();
        }
    }

    fn on_probe_packet(&mut self, _now: u64, packet: Packet<M>) {
        let Some(probe) = &mut self.probe else {
            return;
        };
        if probe.stage == ProbeStage::Probing && matches!(packet, Packet::Pong(true)) {
            probe.stage = ProbeStage::Pausing;
            self.check_pause();
        } else if probe.stage != ProbeStage::Pausing {
            self.abandon_probe(Some(Error::protocol(
                "Engine.IO: the upgrade probe got no 3probe",
            )));
            self.resume_polling();
        }
    }

    fn check_pause(&mut self) {
        let (
            Some(probe),
            Phase::Open {
                link,
                silent_deadline,
            },
        ) = (self.probe, self.phase)
        else {
            return;
        };
        if probe.stage != ProbeStage::Pausing || link.poll_in_flight || link.send_in_flight {
            return;
        }
        self.probe = None;
        self.actions
            .push_back(Action::CloseTransport { id: link.id });
        self.actions.push_back(Action::Send {
            id: probe.id,
            transport: Transport::WebSocket,
            url: None,
            packets: vec![Packet::Upgrade],
        });
        self.phase = Phase::Open {
            link: Link {
                id: probe.id,
                kind: Transport::WebSocket,
                poll_in_flight: false,
                send_in_flight: true,
            },
            silent_deadline,
        };
        self.events.push_back(Event::Upgraded(Transport::WebSocket));
    }

    fn abandon_probe(&mut self, error: Option<Error>) {
        if let Some(probe) = self.probe.take() {
            self.actions
                .push_back(Action::CloseTransport { id: probe.id });
            if let Some(error) = error {
                self.events.push_back(Event::UpgradeFailed(error));
            }
        }
    }

    fn flush(&mut self) {
        let link = match self.phase {
            Phase::Open { link, .. } | Phase::Closing { link, .. } => link,
            _ => return,
        };
        if link.send_in_flight || self.probe.is_some_and(|p| p.stage == ProbeStage::Pausing) {
            return;
        }
        let websocket = link.kind == Transport::WebSocket;
        let max = self.max_payload().unwrap_or(u64::MAX);
        let mut packets = Vec::new();
        let mut total: u64 = 0;
        while let Some((packet, charge)) = self.queue.pop_front() {
            let small = match &packet {
                Packet::Ping(true) | Packet::Pong(true) => 6,
                _ => 1,
            };
            let fit = match &packet {
                Packet::Message(m) => fits(m, websocket, max),
                _ => small <= max,
            };
            if !fit {
                if let Packet::Message(message) = packet {
                    self.queued_bytes -= charge;
                    self.events.push_back(Event::Rejected {
                        message,
                        error: too_large(),
                    });
                }
                continue;
            }
            // Polling batches packets up to `max` bytes, which needs their exact lengths; a
            // WebSocket frame carries one packet.
            if !websocket {
                let len = match &packet {
                    Packet::Message(m) => encoded_len(m, false) as u64,
                    _ => small,
                };
                let sep = u64::from(!packets.is_empty());
                if !packets.is_empty() && total + sep + len > max {
                    self.queue.push_front((packet, charge));
                    break;
                }
                total += sep + len;
            }
            self.queued_bytes -= charge;
            packets.push(packet);
        }
        if packets.is_empty() {
            if let Phase::Closing { link, .. } = self.phase {
                self.actions
                    .push_back(Action::CloseTransport { id: link.id });
                self.finish(CloseReason::Client);
            }
            return;
        }
        let url = if websocket {
            None
        } else {
            let sid = self.sid();
            Some(self.url(link.kind, sid.as_deref()))
        };
        self.actions.push_back(Action::Send {
            id: link.id,
            transport: link.kind,
            url,
            packets,
        });
        self.set_link(Link {
            send_in_flight: true,
            ..link
        });
    }

    fn transport_lost(&mut self, now: u64, id: TransportId, error: Error) {
        match self.phase {
            Phase::Opening { .. } => self.attempt_failed(now, error),
            Phase::Closing { link, .. } => {
                self.actions
                    .push_back(Action::CloseTransport { id: link.id });
                self.finish(CloseReason::Client);
            }
            _ => {
                let reason = if error.is_protocol() {
                    CloseReason::ParseError
                } else {
                    CloseReason::TransportError
                };
                self.lose(now, id, reason, Some(error))
            }
        }
    }

    fn attempt_failed(&mut self, now: u64, error: Error) {
        if let Phase::Opening { link, .. } = self.phase {
            self.actions
                .push_back(Action::CloseTransport { id: link.id });
            self.events.push_back(Event::Error(error));
            self.rung += 1;
            self.start_attempt(now);
        }
    }

    fn round_failed(&mut self, now: u64) {
        self.phase = Phase::Idle;
        self.schedule_reconnect(now, CloseReason::ConnectFailed);
    }

    /// An open connection ended (not by the user).
    fn lose(&mut self, now: u64, id: TransportId, reason: CloseReason, error: Option<Error>) {
        if let Phase::Opening { .. } = self.phase {
            let error = error.unwrap_or(Error::protocol(
                "Engine.IO: the transport ended before the handshake",
            ));
            return self.attempt_failed(now, error);
        }
        if let Phase::Closing { .. } = self.phase {
            self.actions.push_back(Action::CloseTransport { id });
            return self.finish(CloseReason::Client);
        }
        self.abandon_probe(None);
        self.actions.push_back(Action::CloseTransport { id });
        let unsent = self.take_unsent();
        self.events.push_back(Event::Disconnected {
            reason,
            error,
            unsent,
        });
        self.phase = Phase::Idle;
        self.schedule_reconnect(now, reason);
    }

    fn schedule_reconnect(&mut self, now: u64, reason: CloseReason) {
        let random = f64::from((self.random)()) / 4_294_967_296.0;
        match self.retries.as_mut().and_then(|r| r.next(random)) {
            Some(delay_ms) => {
                let attempt = self.retries.as_ref().map_or(1, |r| r.attempt());
                self.phase = Phase::Waiting {
                    until: now + u64::from(delay_ms),
                };
                self.events
                    .push_back(Event::Reconnecting { delay_ms, attempt });
            }
            None => self.finish(reason),
        }
    }

    fn take_unsent(&mut self) -> Vec<M> {
        self.queued_bytes = 0;
        // By pop_front: `VecDeque::drain` costs 1.2 KB of wasm, an iterator chain 0.7 KB.
        let mut out = Vec::new();
        while let Some((p, _)) = self.queue.pop_front() {
            if let Packet::Message(m) = p {
                out.push(m);
            }
        }
        out
    }

    fn finish(&mut self, reason: CloseReason) {
        self.abandon_probe(None);
        self.phase = Phase::Closed;
        let unsent = self.take_unsent();
        self.events.push_back(Event::Closed { reason, unsent });
    }
}

impl Engine<Data> {
    /// Native convenience: a long-poll response body, decoded with [`decode_payload`] (a body
    /// that does not decode is a parse error).
    pub fn handle_poll_body(&mut self, now: u64, id: TransportId, body: &str) {
        match decode_payload(body) {
            Ok(packets) => self.handle_poll(now, id, packets),
            Err(error) => self.handle_poll_failed(now, id, error),
        }
    }

    /// Native convenience: a WebSocket frame, decoded with [`decode_frame`].
    pub fn handle_frame(&mut self, now: u64, id: TransportId, frame: Frame) {
        match decode_frame(frame) {
            Ok(packet) => self.handle_packet(now, id, packet),
            Err(error) => self.handle_malformed(now, id, error),
        }
    }
}

fn queue_full() -> Error {
    Error::invalid("the Engine.IO send queue is full")
}

fn too_large() -> Error {
    Error::invalid("the message is larger than the server's maxPayload")
}
