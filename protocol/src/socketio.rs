//! Socket.IO v5 on top of [Engine.IO](crate::engineio): the packet codec, binary attachment
//! bookkeeping, and a sans-IO client machine for namespaces, acknowledgements and the send
//! buffer.
//!
//! # Wire format (protocol revision 5)
//!
//! Every packet travels as one Engine.IO text message
//! `<type>[<attachments>-][/<namespace>,][<ack id>][<JSON>]`, where the type is `0` CONNECT,
//! `1` DISCONNECT, `2` EVENT, `3` ACK, `4` CONNECT_ERROR, `5` BINARY_EVENT, `6` BINARY_ACK; the
//! namespace is left out for `/`. A binary packet replaces each binary value of its arguments
//! by `{"_placeholder":true,"num":<n>}` and is followed by its attachments as that many binary
//! Engine.IO messages.
//!
//! # Layers
//!
//! * [`parse_header`] reads everything up to the JSON and says where the JSON starts; the
//!   JSON itself stays opaque. In the browser the arguments stay a JavaScript string and the
//!   placeholders are put back in JavaScript; [`Reassembly`] is the bookkeeping for the binary
//!   messages that follow a binary packet, generic over the handles.
//! * [`decode`], [`Decoder`], [`encode`] and [`Payload`] are the full native path (text JSON
//!   plus attachments as bytes), used by the tests and by native drivers.
//! * [`Client`] is the machine: the driver reports the engine's state and each decoded server
//!   packet; the machine says what to transmit ([`Client::poll_transmit`]), what to tell the
//!   user ([`Client::poll_event`]) and when its next ack deadline is ([`Client::poll_timeout`]).
//!
//! # Behaviour of the client
//!
//! * **Namespaces** share one engine connection. [`Client::connect`] asks for one (with its
//!   `auth`); the CONNECT goes out whenever the engine is open, again after each reconnection.
//!   The server's answer carries the socket's `sid`, and a `pid` when the server has
//!   connection state recovery on. The machine then remembers the last string argument of
//!   every event as the `offset` and sends `pid` and `offset` with the next CONNECT; the
//!   server answering with the same `pid` means the session was recovered
//!   ([`Event::Connect`]'s `recovered`). A CONNECT_ERROR (`{message, data}`) ends the
//!   namespace's attempt ([`Event::ConnectError`]); it is not retried by itself.
//! * **Acknowledgements**: an emit that wants an ack gets an id (counted per namespace, from
//!   0) and, when asked, a deadline; the server's ACK completes it ([`Event::Ack`]), the
//!   deadline fails it ([`Event::AckFailed`] with a timeout error). A disconnection fails the
//!   acks of packets already sent, as socket.io-client does; packets still buffered keep
//!   theirs.
//! * **Buffering**: events emitted while the namespace is not connected are buffered, bounded
//!   by count and bytes ([`Config`]); beyond the bound the emit fails, never a silent drop
//!   (socket.io-client's buffer has no bound). `volatile` emits are dropped instead of
//!   buffered, as in socket.io-client.

use std::collections::VecDeque;

use crate::engineio::{CloseReason, Data};
use crate::sockjs::Json;
use crate::Error;

// ---------------------------------------------------------------------------------------------
// Header

/// The seven Socket.IO packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// `0`: connect to a namespace (client: with `auth`; server: with `sid`, `pid`).
    Connect,
    /// `1`: leave a namespace.
    Disconnect,
    /// `2`: an event: a JSON array whose first element is the name.
    Event,
    /// `3`: the answer to an event that asked for one.
    Ack,
    /// `4`: the server refused the namespace: `{message, data}`.
    ConnectError,
    /// `5`: an event with binary attachments.
    BinaryEvent,
    /// `6`: an ack with binary attachments.
    BinaryAck,
}

impl PacketType {
    /// The type's digit.
    pub fn digit(self) -> u8 {
        match self {
            PacketType::Connect => b'0',
            PacketType::Disconnect => b'1',
            PacketType::Event => b'2',
            PacketType::Ack => b'3',
            PacketType::ConnectError => b'4',
            PacketType::BinaryEvent => b'5',
            PacketType::BinaryAck => b'6',
        }
    }

    fn from_digit(b: u8) -> Option<PacketType> {
        Some(match b {
            b'0' => PacketType::Connect,
            b'1' => PacketType::Disconnect,
            b'2' => PacketType::Event,
            b'3' => PacketType::Ack,
            b'4' => PacketType::ConnectError,
            b'5' => PacketType::BinaryEvent,
            b'6' => PacketType::BinaryAck,
            _ => return None,
        })
    }

    /// True for the two types that carry attachments.
    pub fn is_binary(self) -> bool {
        matches!(self, PacketType::BinaryEvent | PacketType::BinaryAck)
    }
}

/// Everything of a packet but its JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The type.
    pub kind: PacketType,
    /// The binary attachments that follow (0 unless the type is binary).
    pub attachments: u32,
    /// The namespace (`/` when the packet names none).
    pub nsp: String,
    /// The ack id.
    pub id: Option<u64>,
}

impl Header {
    /// A header with no attachments and no id.
    pub fn new(kind: PacketType, nsp: &str) -> Header {
        Header {
            kind,
            attachments: 0,
            nsp: nsp.to_owned(),
            id: None,
        }
    }

    /// Appends the header's text: `<type>[<attachments>-][/<nsp>,][<id>]`.
    ///
    /// ```
    /// use cometkit_protocol::socketio::{Header, PacketType};
    ///
    /// let mut h = Header::new(PacketType::BinaryEvent, "/admin");
    /// h.attachments = 2;
    /// h.id = Some(15);
    /// let mut s = String::new();
    /// h.encode(&mut s);
    /// assert_eq!(s, "52-/admin,15");
    /// ```
    pub fn encode(&self, out: &mut String) {
        out.push(char::from(self.kind.digit()));
        if self.kind.is_binary() {
            crate::error::push_decimal(out, self.attachments);
            out.push('-');
        }
        if !self.nsp.is_empty() && self.nsp != "/" {
            out.push_str(&self.nsp);
            out.push(',');
        }
        if let Some(id) = self.id {
            push_u64(out, id);
        }
    }
}

fn push_u64(out: &mut String, n: u64) {
    if n >= 10 {
        push_u64(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// Reads a packet's header and returns it with the byte offset where its JSON starts (the
/// text's length when it has none). `text` may be just a prefix of the packet, as long as it
/// reaches the JSON's first character.
///
/// Fails with a protocol error for an unknown type, a binary type without `<n>-`, a
/// namespace that does not start with `/`, an id too large, or an ACK without an id.
///
/// ```
/// use cometkit_protocol::socketio::{parse_header, PacketType};
///
/// let text = r#"61-/admin,15[{"_placeholder":true,"num":0}]"#;
/// let (h, start) = parse_header(text)?;
/// assert_eq!(h.kind, PacketType::BinaryAck);
/// assert_eq!((h.attachments, h.nsp.as_str(), h.id), (1, "/admin", Some(15)));
/// assert_eq!(&text[start..], r#"[{"_placeholder":true,"num":0}]"#);
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
pub fn parse_header(text: &str) -> Result<(Header, usize), Error> {
    let bytes = text.as_bytes();
    let kind = bytes
        .first()
        .and_then(|&b| PacketType::from_digit(b))
        .ok_or(Error::protocol("Socket.IO: unknown packet type"))?;
    let mut i = 1;
    let mut attachments = 0u32;
    if kind.is_binary() {
        let start = i;
        while let Some(&b @ b'0'..=b'9') = bytes.get(i) {
            attachments = attachments
                .checked_mul(10)
                .and_then(|v| v.checked_add(u32::from(b - b'0')))
                .ok_or(Error::protocol("Socket.IO: attachment count too large"))?;
            i += 1;
        }
        if i == start || bytes.get(i) != Some(&b'-') {
            return Err(Error::protocol(
                "Socket.IO: a binary packet needs its attachment count",
            ));
        }
        i += 1;
    }
    let mut nsp = "/";
    if bytes.get(i) == Some(&b'/') {
        let end = bytes
            .iter()
            .skip(i)
            .position(|&b| b == b',')
            .map_or(bytes.len(), |p| i + p);
        nsp = text
            .get(i..end)
            .ok_or(Error::protocol("Socket.IO: malformed namespace"))?;
        i = (end + 1).min(bytes.len());
    }
    let mut id = None;
    while let Some(&b @ b'0'..=b'9') = bytes.get(i) {
        let v: u64 = id.unwrap_or(0);
        id = Some(
            v.checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
                .ok_or(Error::protocol("Socket.IO: ack id too large"))?,
        );
        i += 1;
    }
    if id.is_none() && matches!(kind, PacketType::Ack | PacketType::BinaryAck) {
        return Err(Error::protocol("Socket.IO: an ACK without an id"));
    }
    Ok((
        Header {
            kind,
            attachments,
            nsp: nsp.to_owned(),
            id,
        },
        i,
    ))
}

// ---------------------------------------------------------------------------------------------
// Payloads and the native codec

/// Event or ack arguments as the [`Client`] holds them: an opaque handle (natively a
/// [`Payload`] or a JSON `String`; in the browser a JavaScript value). `Clone` because a
/// namespace's `auth` goes out again with every reconnection (cheap for a `JsValue`).
pub trait Args: Clone {
    /// The size counted against [`Config::max_buffered_bytes`]; asked only for an event
    /// buffered while the namespace is not connected.
    fn size(&self) -> usize;
    /// How many binary attachments the arguments carry (placeholders in the JSON).
    fn attachments(&self) -> u32 {
        0
    }
    /// The last argument when it is a string: the recovery `offset` a server with connection
    /// state recovery appends to every event. Only asked while recovery is on.
    fn last_string(&self) -> Option<String>;
}

/// The arguments as JSON text, natively.
impl Args for String {
    fn size(&self) -> usize {
        self.len()
    }
    fn last_string(&self) -> Option<String> {
        last_string_arg(self)
    }
}

/// Arguments natively: the JSON array (binary values replaced by placeholders) and the
/// attachments in placeholder order.
///
/// ```
/// use cometkit_protocol::socketio::{placeholder, Payload};
///
/// let p = Payload::new(["[\"file\",", &placeholder(0), "]"].concat(), vec![vec![1, 2, 3]]);
/// assert_eq!(p.json, r#"["file",{"_placeholder":true,"num":0}]"#);
/// assert_eq!(p.placeholders()?, [(8..37, 0)]);
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The JSON text.
    pub json: String,
    /// The binary attachments.
    pub attachments: Vec<Vec<u8>>,
}

impl Payload {
    /// A payload from its parts.
    pub fn new(json: impl Into<String>, attachments: Vec<Vec<u8>>) -> Payload {
        Payload {
            json: json.into(),
            attachments,
        }
    }

    /// Text arguments only.
    pub fn text(json: impl Into<String>) -> Payload {
        Payload::new(json, Vec::new())
    }

    /// Where each placeholder is in the JSON (byte range) and which attachment it stands for;
    /// fails when one names an attachment that is not there.
    pub fn placeholders(&self) -> Result<Vec<(std::ops::Range<usize>, u32)>, Error> {
        let found = find_placeholders(&self.json);
        if found
            .iter()
            .any(|(_, num)| *num as usize >= self.attachments.len())
        {
            return Err(Error::protocol(
                "Socket.IO: a placeholder names a missing attachment",
            ));
        }
        Ok(found)
    }
}

impl Args for Payload {
    fn size(&self) -> usize {
        self.json.len() + self.attachments.iter().map(Vec::len).sum::<usize>()
    }
    fn attachments(&self) -> u32 {
        u32::try_from(self.attachments.len()).unwrap_or(u32::MAX)
    }
    fn last_string(&self) -> Option<String> {
        last_string_arg(&self.json)
    }
}

/// The placeholder object that stands for attachment `num`.
pub fn placeholder(num: u32) -> String {
    let mut s = String::from("{\"_placeholder\":true,\"num\":");
    crate::error::push_decimal(&mut s, num);
    s.push('}');
    s
}

/// The placeholders in `json`, as `JSON.stringify` writes them (no whitespace), outside
/// strings: each one's byte range and number.
pub fn find_placeholders(json: &str) -> Vec<(std::ops::Range<usize>, u32)> {
    const HEAD: &str = "{\"_placeholder\":true,\"num\":";
    let bytes = json.as_bytes();
    let mut found = Vec::new();
    let (mut i, mut in_string) = (0, false);
    while let Some(&b) = bytes.get(i) {
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b'{' && json.get(i..).is_some_and(|r| r.starts_with(HEAD)) {
            let mut j = i + HEAD.len();
            let mut num: u32 = 0;
            let digits = j;
            while let Some(&d @ b'0'..=b'9') = bytes.get(j) {
                num = num.saturating_mul(10).saturating_add(u32::from(d - b'0'));
                j += 1;
            }
            if j > digits && bytes.get(j) == Some(&b'}') {
                found.push((i..j + 1, num));
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    found
}

/// The last element of a JSON array when it is a string (the recovery offset); `None` for
/// anything else, malformed JSON included.
///
/// ```
/// use cometkit_protocol::socketio::last_string_arg;
///
/// assert_eq!(last_string_arg(r#"["chat",{"a":1},"MzUPkW0"]"#).as_deref(), Some("MzUPkW0"));
/// assert_eq!(last_string_arg(r#"["chat",1]"#), None);
/// ```
pub fn last_string_arg(json: &str) -> Option<String> {
    let mut reader = Json::new(json);
    if !reader.eat(b'[') || reader.eat(b']') {
        return None;
    }
    loop {
        let last = match reader.string() {
            Ok(s) => Some(s.into_owned()),
            Err(_) => {
                reader.skip_value().ok()?;
                None
            }
        };
        if reader.eat(b']') {
            return reader.end().ok().and(last);
        }
        if !reader.eat(b',') {
            return None;
        }
    }
}

/// The event names socket.io-client keeps for itself; `emit` refuses them.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Checks that `json` is one JSON value of the kind `open` starts (`b'['` an array, `b'{'` an
/// object), with nothing after it; `what` names it in the [`Error::invalid`].
fn check_one(json: &str, open: u8, what: &'static str) -> Result<(), Error> {
    let mut reader = Json::new(json);
    let starts = json.trim_ascii_start().as_bytes().first() == Some(&open);
    if !starts || reader.skip_value().and(reader.end()).is_err() {
        return Err(Error::invalid(what));
    }
    Ok(())
}

/// Checks that `json` is the text of one JSON array (the arguments of an emit or an ack).
pub fn check_array(json: &str) -> Result<(), Error> {
    check_one(
        json,
        b'[',
        "Socket.IO arguments must be the text of a JSON array",
    )
}

/// Checks that `json` is the text of one JSON object (a namespace's `auth`).
pub fn check_object(json: &str) -> Result<(), Error> {
    check_one(
        json,
        b'{',
        "Socket.IO auth must be the text of a JSON object",
    )
}

/// An event's arguments as they go on the wire, `["event", ...args]`, from its name and the
/// JSON text of the array of its other arguments. Fails with [`Error::invalid`] for an empty
/// or reserved name ([`RESERVED_EVENTS`]), or `args` that is not one JSON array.
///
/// ```
/// use cometkit_protocol::socketio::event_json;
///
/// assert_eq!(event_json("chat", r#"["hi", 1]"#)?, r#"["chat","hi", 1]"#);
/// assert_eq!(event_json("ping", " [ ] ")?, r#"["ping"]"#);
/// assert!(event_json("connect", "[]").is_err());
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
pub fn event_json(event: &str, args: &str) -> Result<String, Error> {
    if event.is_empty() {
        return Err(Error::invalid("a Socket.IO event name must not be empty"));
    }
    if RESERVED_EVENTS.contains(&event) {
        return Err(Error::invalid(crate::error::concat(&[
            "\"",
            event,
            "\" is a reserved Socket.IO event name",
        ])));
    }
    check_array(args)?;
    let inner = args.trim_ascii().get(1..).unwrap_or("").trim_ascii_start();
    let mut out = String::with_capacity(event.len() + args.len() + 4);
    out.push('[');
    crate::sockjs::quote_into(&mut out, event);
    if !inner.starts_with(']') {
        out.push(',');
    }
    out.push_str(inner);
    Ok(out)
}

/// Splits a server event's arguments `["event", ...args]` into the name (a number name as
/// its decimal text) and the JSON text of the array of the other arguments, as sent.
///
/// ```
/// use cometkit_protocol::socketio::split_event;
///
/// assert_eq!(split_event(r#"["chat","hi",{"a":1}]"#)?, ("chat".to_string(), r#"["hi",{"a":1}]"#.to_string()));
/// assert_eq!(split_event(r#"[7]"#)?, ("7".to_string(), "[]".to_string()));
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
pub fn split_event(json: &str) -> Result<(String, String), Error> {
    check_payload(PacketType::Event, json)?;
    let mut reader = Json::new(json);
    reader.expect(b'[', "Socket.IO: an event is a JSON array")?;
    let name = match reader.string() {
        Ok(name) => name.into_owned(),
        Err(_) => {
            let mut s = String::new();
            push_u64(&mut s, reader.uint()?);
            s
        }
    };
    let rest = if reader.eat(b',') {
        let mut s = String::with_capacity(json.len() - reader.pos() + 1);
        s.push('[');
        s.push_str(json.get(reader.pos()..).unwrap_or("]").trim_ascii_end());
        s
    } else {
        String::from("[]")
    };
    Ok((name, rest))
}

/// Checks that `json` is what a packet of `kind` carries from a server: CONNECT an object,
/// CONNECT_ERROR an object or a string, EVENT an array starting with a string or an integer
/// (the event name), ACK an array, DISCONNECT nothing.
pub fn check_payload(kind: PacketType, json: &str) -> Result<(), Error> {
    const BAD: &str = "Socket.IO: the packet's JSON does not fit its type";
    let mut reader = Json::new(json);
    let empty = json.trim_ascii().is_empty();
    match kind {
        PacketType::Disconnect => {
            return if empty {
                Ok(())
            } else {
                Err(Error::protocol(BAD))
            }
        }
        _ if empty => return Err(Error::protocol(BAD)),
        PacketType::Connect => {
            if !json.trim_ascii_start().starts_with('{') {
                return Err(Error::protocol(BAD));
            }
        }
        PacketType::ConnectError => {
            if !json.trim_ascii_start().starts_with(['{', '"']) {
                return Err(Error::protocol(BAD));
            }
        }
        PacketType::Event | PacketType::BinaryEvent => {
            reader.expect(b'[', BAD)?;
            if reader.string().is_err() && reader.uint().is_err() {
                return Err(Error::protocol(BAD));
            }
            while reader.eat(b',') {
                reader.skip_value()?;
            }
            reader.expect(b']', BAD)?;
            return reader.end();
        }
        PacketType::Ack | PacketType::BinaryAck => {
            if !json.trim_ascii_start().starts_with('[') {
                return Err(Error::protocol(BAD));
            }
        }
    }
    reader.skip_value()?;
    reader.end()
}

/// Reads a CONNECT answer: the socket's `sid` and, with connection state recovery, its `pid`.
///
/// ```
/// use cometkit_protocol::socketio::parse_connect;
///
/// assert_eq!(parse_connect(r#"{"sid":"oSO0OpakMV_3jnilAAAA"}"#)?, ("oSO0OpakMV_3jnilAAAA".into(), None));
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
pub fn parse_connect(json: &str) -> Result<(String, Option<String>), Error> {
    let mut reader = Json::new(json);
    reader.expect(b'{', "Socket.IO CONNECT: expected a JSON object")?;
    let (mut sid, mut pid) = (None, None);
    if !reader.eat(b'}') {
        loop {
            let key = reader.string()?;
            reader.expect(b':', "Socket.IO CONNECT: expected ':'")?;
            match &*key {
                "sid" => sid = Some(reader.string()?.into_owned()),
                "pid" => pid = Some(reader.string()?.into_owned()),
                _ => reader.skip_value()?,
            }
            if reader.eat(b'}') {
                break;
            }
            reader.expect(b',', "Socket.IO CONNECT: expected ',' or '}'")?;
        }
    }
    reader.end()?;
    let sid = sid.ok_or(Error::protocol("Socket.IO CONNECT: \"sid\" is missing"))?;
    Ok((sid, pid))
}

/// Reads a CONNECT_ERROR: its `message` and its `data` as raw JSON text. A bare string (older
/// servers) is the message.
///
/// ```
/// use cometkit_protocol::socketio::parse_connect_error;
///
/// let (message, data) = parse_connect_error(r#"{"message":"Not authorized","data":{"code":401}}"#)?;
/// assert_eq!((message.as_str(), data.as_deref()), ("Not authorized", Some(r#"{"code":401}"#)));
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
pub fn parse_connect_error(json: &str) -> Result<(String, Option<String>), Error> {
    let mut reader = Json::new(json);
    if let Ok(message) = reader.string() {
        reader.end()?;
        return Ok((message.into_owned(), None));
    }
    reader.expect(
        b'{',
        "Socket.IO CONNECT_ERROR: expected an object or a string",
    )?;
    let mut message = None;
    let mut data = None;
    if !reader.eat(b'}') {
        loop {
            let key = reader.string()?;
            reader.expect(b':', "Socket.IO CONNECT_ERROR: expected ':'")?;
            match &*key {
                "message" => message = Some(reader.string()?.into_owned()),
                "data" => {
                    // The value's text: between the end of ':' and the reader's next stop.
                    let rest = after_colon(json, data_key_end(json)?);
                    reader.skip_value()?;
                    data = Some(rest);
                }
                _ => reader.skip_value()?,
            }
            if reader.eat(b'}') {
                break;
            }
            reader.expect(b',', "Socket.IO CONNECT_ERROR: expected ',' or '}'")?;
        }
    }
    reader.end()?;
    let message = message.ok_or(Error::protocol(
        "Socket.IO CONNECT_ERROR: \"message\" is missing",
    ))?;
    Ok((message, data.flatten()))
}

/// Where the top-level `"data":` key of a CONNECT_ERROR object ends (byte after the colon).
fn data_key_end(json: &str) -> Result<usize, Error> {
    // Walk the top level of the object; strings are skipped so a "data" inside a value or a
    // message never matches.
    let bytes = json.as_bytes();
    let (mut i, mut depth, mut in_string, mut string_start) = (0, 0u32, false, 0);
    while let Some(&b) = bytes.get(i) {
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => {
                    in_string = false;
                    if depth == 1 && json.get(string_start..i) == Some("data") {
                        let mut j = i + 1;
                        while matches!(bytes.get(j), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                            j += 1;
                        }
                        if bytes.get(j) == Some(&b':') {
                            return Ok(j + 1);
                        }
                    }
                }
                _ => {}
            }
        } else {
            match b {
                b'"' => {
                    in_string = true;
                    string_start = i + 1;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        i += 1;
    }
    Err(Error::protocol("Socket.IO CONNECT_ERROR: malformed data"))
}

/// The JSON value starting at `from` (after whitespace), as text; `None` for `null` or
/// anything that is not one whole JSON value.
fn after_colon(json: &str, from: usize) -> Option<String> {
    let rest = json.get(from..)?;
    let start = rest.len() - rest.trim_ascii_start().len();
    let value = rest.get(start..value_end(rest, start)?)?;
    let mut check = Json::new(value);
    check.skip_value().and(check.end()).ok()?;
    (value != "null").then(|| value.to_owned())
}

/// The end of the JSON value starting at `start` in `text` (strings and nesting respected).
fn value_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let (mut i, mut depth, mut in_string) = (start, 0u32, false);
    while let Some(&b) = bytes.get(i) {
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => {
                    in_string = false;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    if depth == 0 {
                        return Some(i);
                    }
                    depth -= 1;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                b',' if depth == 0 => return Some(i),
                _ => {}
            }
        }
        i += 1;
    }
    Some(text.trim_ascii_end().len())
}

/// A packet from the server, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming<P> {
    /// The namespace accepted the connection.
    Connect {
        /// The namespace.
        nsp: String,
        /// The socket's id.
        sid: String,
        /// The private session id of connection state recovery.
        pid: Option<String>,
    },
    /// The namespace refused the connection.
    ConnectError {
        /// The namespace.
        nsp: String,
        /// The server's `message`.
        message: String,
        /// The server's `data`, as JSON text.
        data: Option<String>,
    },
    /// The server disconnected the socket.
    Disconnect {
        /// The namespace.
        nsp: String,
    },
    /// An event; answer with [`Client::ack`] when `id` is set.
    Event {
        /// The namespace.
        nsp: String,
        /// The ack id the server waits for.
        id: Option<u64>,
        /// The arguments (the event name first).
        args: P,
    },
    /// The answer to one of our events.
    Ack {
        /// The namespace.
        nsp: String,
        /// The ack id.
        id: u64,
        /// The answer's arguments.
        args: P,
    },
}

/// Builds an [`Incoming`] from a header and its JSON text (checked with [`check_payload`]);
/// `args` makes the argument handle from the JSON for events and acks.
pub fn incoming<P>(
    header: Header,
    json: &str,
    args: impl FnOnce(&str) -> P,
) -> Result<Incoming<P>, Error> {
    check_payload(header.kind, json)?;
    let nsp = header.nsp;
    Ok(match header.kind {
        PacketType::Connect => {
            let (sid, pid) = parse_connect(json)?;
            Incoming::Connect { nsp, sid, pid }
        }
        PacketType::ConnectError => {
            let (message, data) = parse_connect_error(json)?;
            Incoming::ConnectError { nsp, message, data }
        }
        PacketType::Disconnect => Incoming::Disconnect { nsp },
        PacketType::Event | PacketType::BinaryEvent => Incoming::Event {
            nsp,
            id: header.id,
            args: args(json),
        },
        PacketType::Ack | PacketType::BinaryAck => Incoming::Ack {
            nsp,
            id: header
                .id
                .ok_or(Error::protocol("Socket.IO: an ACK without an id"))?,
            args: args(json),
        },
    })
}

/// Decodes a text packet that has no attachments (natively; a binary packet needs the
/// [`Decoder`]).
///
/// ```
/// use cometkit_protocol::socketio::{decode, Incoming};
///
/// let packet = decode(r#"2/admin,12["project:delete",123]"#)?;
/// assert_eq!(packet, Incoming::Event { nsp: "/admin".into(), id: Some(12), args: r#"["project:delete",123]"#.to_string() });
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
pub fn decode(text: &str) -> Result<Incoming<String>, Error> {
    let (header, start) = parse_header(text)?;
    if header.attachments > 0 {
        return Err(Error::protocol(
            "Socket.IO: a binary packet needs its attachments (use a Decoder)",
        ));
    }
    let json = text.get(start..).unwrap_or("");
    incoming(header, json, str::to_owned)
}

/// The bookkeeping for binary packets: a binary header announces `n` attachments and the next
/// `n` binary Engine.IO messages are its; anything else in between is a protocol error.
/// Generic over the JSON handle `T` and the binary handle `B`, so a browser driver keeps both
/// as JavaScript values.
///
/// ```
/// use cometkit_protocol::socketio::{parse_header, Reassembly};
///
/// let mut r: Reassembly<&str, Vec<u8>> = Reassembly::new(16);
/// let text = r#"51-["baz",{"_placeholder":true,"num":0}]"#;
/// let (header, start) = parse_header(text)?;
/// assert!(r.text(header, &text[start..])?.is_none()); // waits for its attachment
/// let (header, json, bins) = r.binary(vec![1, 2, 3])?.unwrap();
/// assert_eq!((header.attachments, bins.len()), (1, 1));
/// # let _ = json;
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
#[derive(Debug)]
pub struct Reassembly<T, B> {
    max_attachments: u32,
    pending: Option<(Header, T, Vec<B>)>,
}

/// A packet complete with its attachments.
pub type Complete<T, B> = (Header, T, Vec<B>);

impl<T, B> Reassembly<T, B> {
    /// Refuses packets announcing more than `max_attachments`.
    pub fn new(max_attachments: u32) -> Self {
        Reassembly {
            max_attachments,
            pending: None,
        }
    }

    /// True while attachments are awaited.
    pub fn is_waiting(&self) -> bool {
        self.pending.is_some()
    }

    /// A text packet: complete at once unless it announces attachments.
    pub fn text(&mut self, header: Header, json: T) -> Result<Option<Complete<T, B>>, Error> {
        if self.pending.take().is_some() {
            return Err(Error::protocol(
                "Socket.IO: a packet arrived before the attachments of the previous one",
            ));
        }
        if header.attachments > self.max_attachments {
            return Err(Error::protocol("Socket.IO: too many attachments"));
        }
        if header.attachments == 0 {
            return Ok(Some((header, json, Vec::new())));
        }
        let n = header.attachments as usize;
        self.pending = Some((header, json, Vec::with_capacity(n)));
        Ok(None)
    }

    /// A binary message: the next attachment of the pending packet.
    pub fn binary(&mut self, bin: B) -> Result<Option<Complete<T, B>>, Error> {
        let Some((header, json, mut bins)) = self.pending.take() else {
            return Err(Error::protocol(
                "Socket.IO: a binary message that no packet announced",
            ));
        };
        bins.push(bin);
        if bins.len() as u64 == u64::from(header.attachments) {
            Ok(Some((header, json, bins)))
        } else {
            self.pending = Some((header, json, bins));
            Ok(None)
        }
    }
}

/// The native decoder: Engine.IO messages in, [`Incoming`] packets with [`Payload`]s out.
///
/// ```
/// use cometkit_protocol::engineio::Data;
/// use cometkit_protocol::socketio::{Decoder, Incoming};
///
/// let mut d = Decoder::default();
/// assert_eq!(d.decode(Data::from(r#"51-["baz",{"_placeholder":true,"num":0}]"#))?, None);
/// let Some(Incoming::Event { args, .. }) = d.decode(Data::Binary(vec![1, 2, 3]))? else { unreachable!() };
/// assert_eq!(args.attachments, [vec![1, 2, 3]]);
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
#[derive(Debug)]
pub struct Decoder {
    reassembly: Reassembly<String, Vec<u8>>,
}

/// Default bound on the attachments of one packet.
pub const DEFAULT_MAX_ATTACHMENTS: u32 = 1_000;

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            reassembly: Reassembly::new(DEFAULT_MAX_ATTACHMENTS),
        }
    }
}

impl Decoder {
    /// One Engine.IO message; `Some` when a packet is complete. Errors are protocol errors
    /// (after one, the decoder starts afresh).
    pub fn decode(&mut self, message: Data) -> Result<Option<Incoming<Payload>>, Error> {
        let complete = match message {
            Data::Text(text) => {
                let (header, start) = parse_header(&text)?;
                let json = text.get(start..).unwrap_or("").to_owned();
                self.reassembly.text(header, json)?
            }
            Data::Binary(bytes) => self.reassembly.binary(bytes)?,
        };
        let Some((header, json, attachments)) = complete else {
            return Ok(None);
        };
        let payload = Payload::new(json, attachments);
        payload.placeholders()?;
        let json = payload.json.clone();
        let mut payload = Some(payload);
        incoming(header, &json, |_| {
            payload.take().unwrap_or(Payload::text(""))
        })
        .map(Some)
    }
}

/// A packet for the server, as the [`Client`] asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing<P> {
    /// CONNECT to `nsp`, with `auth` and, for connection state recovery, the `pid` and
    /// `offset` merged into it ([`encode`] does the merge natively).
    Connect {
        /// The namespace.
        nsp: String,
        /// The `auth` object.
        auth: Option<P>,
        /// `(pid, offset)` of the session to recover.
        recovery: Option<(String, Option<String>)>,
    },
    /// DISCONNECT from `nsp`.
    Disconnect {
        /// The namespace.
        nsp: String,
    },
    /// An event (BINARY_EVENT when the arguments carry attachments).
    Event {
        /// The namespace.
        nsp: String,
        /// The ack id, when an answer is wanted.
        id: Option<u64>,
        /// The arguments.
        args: P,
    },
    /// The answer to a server's event (BINARY_ACK when it carries attachments).
    Ack {
        /// The namespace.
        nsp: String,
        /// The server's ack id.
        id: u64,
        /// The arguments.
        args: P,
    },
}

impl<P: Args> Outgoing<P> {
    /// The packet's header.
    pub fn header(&self) -> Header {
        let (kind, nsp, id, args) = match self {
            Outgoing::Connect { nsp, auth, .. } => (PacketType::Connect, nsp, None, auth.as_ref()),
            Outgoing::Disconnect { nsp } => (PacketType::Disconnect, nsp, None, None),
            Outgoing::Event { nsp, id, args } => (PacketType::Event, nsp, *id, Some(args)),
            Outgoing::Ack { nsp, id, args } => (PacketType::Ack, nsp, Some(*id), Some(args)),
        };
        let attachments = args.map_or(0, |a| a.attachments());
        let kind = match (kind, attachments > 0) {
            (PacketType::Event, true) => PacketType::BinaryEvent,
            (PacketType::Ack, true) => PacketType::BinaryAck,
            (kind, _) => kind,
        };
        Header {
            kind,
            attachments: if kind.is_binary() { attachments } else { 0 },
            nsp: nsp.clone(),
            id,
        }
    }
}

/// Encodes a packet natively as its Engine.IO messages: the text packet, then the
/// attachments. Fails with [`Error::invalid`] when `auth` is not a JSON object or a
/// placeholder names a missing attachment.
///
/// ```
/// use cometkit_protocol::engineio::Data;
/// use cometkit_protocol::socketio::{encode, Outgoing, Payload};
///
/// let connect = Outgoing::Connect { nsp: "/admin".into(), auth: Some(Payload::text(r#"{"token":"123"}"#)), recovery: None };
/// assert_eq!(encode(&connect)?, [Data::from(r#"0/admin,{"token":"123"}"#)]);
/// let event = Outgoing::Event { nsp: "/".into(), id: None, args: Payload::new(r#"["baz",{"_placeholder":true,"num":0}]"#, vec![vec![1, 2, 3]]) };
/// assert_eq!(encode(&event)?, [Data::from(r#"51-["baz",{"_placeholder":true,"num":0}]"#), Data::Binary(vec![1, 2, 3])]);
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
pub fn encode(packet: &Outgoing<Payload>) -> Result<Vec<Data>, Error> {
    let mut text = String::new();
    packet.header().encode(&mut text);
    let mut out = Vec::new();
    match packet {
        Outgoing::Connect { auth, recovery, .. } => {
            let auth = auth.as_ref().map(|a| a.json.trim_ascii());
            if let Some(auth) = auth {
                let mut reader = Json::new(auth);
                if !auth.starts_with('{') || reader.skip_value().and(reader.end()).is_err() {
                    return Err(Error::invalid("Socket.IO auth must be a JSON object"));
                }
            }
            match recovery {
                Some((pid, offset)) => {
                    text.push_str("{\"pid\":");
                    crate::sockjs::quote_into(&mut text, pid);
                    if let Some(offset) = offset {
                        text.push_str(",\"offset\":");
                        crate::sockjs::quote_into(&mut text, offset);
                    }
                    let inner = auth
                        .and_then(|a| a.strip_prefix('{'))
                        .map(str::trim_start)
                        .unwrap_or("}");
                    if !inner.starts_with('}') {
                        text.push(',');
                    }
                    text.push_str(inner);
                }
                None => text.push_str(auth.unwrap_or("")),
            }
        }
        Outgoing::Disconnect { .. } => {}
        Outgoing::Event { args, .. } | Outgoing::Ack { args, .. } => {
            args.placeholders().map_err(|_| {
                Error::invalid("Socket.IO: a placeholder names a missing attachment")
            })?;
            text.push_str(&args.json);
            out.extend(args.attachments.iter().cloned().map(Data::Binary));
        }
    }
    out.insert(0, Data::Text(text));
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The client machine

/// Why a namespace's socket was disconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The server sent DISCONNECT (`"io server disconnect"`); not reconnected.
    Server,
    /// [`Client::disconnect`] (`"io client disconnect"`).
    Client,
    /// The engine connection was lost (its reason); reconnected with the engine.
    Engine(CloseReason),
}

impl DisconnectReason {
    /// socket.io-client's name for the reason.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::Server => "io server disconnect",
            DisconnectReason::Client => "io client disconnect",
            DisconnectReason::Engine(reason) => reason.as_str(),
        }
    }
}

/// Client options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Bound on events buffered while disconnected (all namespaces).
    pub max_buffered_packets: usize,
    /// Bound on the bytes ([`Args::size`]) buffered while disconnected.
    pub max_buffered_bytes: usize,
    /// Default ack deadline in ms for emits that want an ack and name none (socket.io-client's
    /// `ackTimeout`); `None`: wait forever.
    pub ack_timeout_ms: Option<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_buffered_packets: 1_024,
            max_buffered_bytes: 1 << 20,
            ack_timeout_ms: None,
        }
    }
}

/// How to emit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Emit {
    /// Ask the server for an ack.
    pub ack: bool,
    /// Ack deadline in ms (socket.io-client's `timeout(ms)`); `None` takes
    /// [`Config::ack_timeout_ms`].
    pub timeout_ms: Option<u32>,
    /// Drop the event rather than buffer it when the namespace is not connected.
    pub volatile: bool,
}

/// What became of an emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emitted {
    /// Handed to the engine; the ack id if one was asked for.
    Sent(Option<u64>),
    /// Buffered until the namespace connects; the ack id if one was asked for.
    Buffered(Option<u64>),
    /// A volatile event dropped: the namespace was not connected.
    Dropped,
}

/// Something to tell the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<P> {
    /// A namespace connected (socket.io-client's `connect`).
    Connect {
        /// The namespace.
        nsp: String,
        /// The socket's id.
        sid: String,
        /// The server recovered the previous session (missed events follow).
        recovered: bool,
    },
    /// A namespace was refused (`connect_error`; `message` is the server's).
    ConnectError {
        /// The namespace.
        nsp: String,
        /// The server's message.
        message: String,
        /// The server's `data`, as JSON text.
        data: Option<String>,
    },
    /// A namespace disconnected.
    Disconnect {
        /// The namespace.
        nsp: String,
        /// Why.
        reason: DisconnectReason,
    },
    /// An event from the server; answer with [`Client::ack`] when `ack` is set.
    Event {
        /// The namespace.
        nsp: String,
        /// The arguments, the event name first.
        args: P,
        /// The id to answer.
        ack: Option<u64>,
    },
    /// The server answered one of our emits.
    Ack {
        /// The namespace.
        nsp: String,
        /// The id [`Client::emit`] returned.
        id: u64,
        /// The answer.
        args: P,
    },
    /// An ack will never come: its deadline passed (a timeout error) or the packet was sent
    /// and the connection was lost (a network error).
    AckFailed {
        /// The namespace.
        nsp: String,
        /// The id [`Client::emit`] returned.
        id: u64,
        /// Why.
        error: Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NsState {
    /// Wants to connect; CONNECT not sent (engine not open).
    Pending,
    /// CONNECT sent.
    Connecting,
    /// Connected.
    Connected,
}

struct Namespace<P> {
    name: String,
    state: NsState,
    auth: Option<P>,
    sid: Option<String>,
    pid: Option<String>,
    offset: Option<String>,
    next_ack: u64,
    /// Events that came while the CONNECT was unanswered: a recovering socket.io server
    /// (4.6+) sends the missed events before its CONNECT answer. Delivered right after the
    /// [`Event::Connect`], as socket.io-client does with its receive buffer.
    early: Vec<(Option<u64>, P)>,
}

struct PendingAck {
    nsp: String,
    id: u64,
    deadline: Option<u64>,
    /// Still in the send buffer (not sent yet).
    buffered: bool,
}

struct Buffered<P> {
    nsp: String,
    id: Option<u64>,
    args: P,
}

/// The Socket.IO client machine: namespaces over one engine connection. See the
/// [module docs](self).
///
/// The driver reports the engine ([`Client::handle_engine_open`],
/// [`Client::handle_engine_closed`]) and each decoded server packet
/// ([`Client::handle_packet`]), hands what [`Client::poll_transmit`] gives to the engine, and
/// passes [`Client::poll_event`] on to the user:
///
/// ```
/// use cometkit_protocol::socketio::{decode, Client, Config, Emit, Emitted, Event, Outgoing};
///
/// let mut c: Client<String> = Client::new(Config::default());
/// c.connect("/", Some(r#"{"token":"abc"}"#.to_string()))?;
/// // Emitted before the connection: buffered, with an ack id and a 5 s deadline.
/// let emitted = c.emit(0, "/", r#"["hello",1]"#.to_string(), Emit { ack: true, timeout_ms: Some(5_000), volatile: false })?;
/// assert_eq!(emitted, Emitted::Buffered(Some(0)));
/// c.handle_engine_open(10);
/// assert!(matches!(c.poll_transmit(), Some(Outgoing::Connect { auth: Some(_), .. })));
/// c.handle_packet(decode(r#"0{"sid":"s1"}"#)?);
/// assert!(matches!(c.poll_event(), Some(Event::Connect { recovered: false, .. })));
/// // The buffered event goes out on connect; the server acks it.
/// assert!(matches!(c.poll_transmit(), Some(Outgoing::Event { id: Some(0), .. })));
/// c.handle_packet(decode(r#"30["ok"]"#)?);
/// assert!(matches!(c.poll_event(), Some(Event::Ack { id: 0, .. })));
/// assert_eq!(c.poll_timeout(), None); // no deadline left
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
pub struct Client<P: Args> {
    config: Config,
    engine_open: bool,
    namespaces: Vec<Namespace<P>>,
    acks: Vec<PendingAck>,
    buffer: VecDeque<Buffered<P>>,
    buffered_bytes: usize,
    transmits: VecDeque<Outgoing<P>>,
    events: VecDeque<Event<P>>,
}

impl<P: Args> Client<P> {
    /// A client with no namespace yet.
    pub fn new(config: Config) -> Self {
        Client {
            config,
            engine_open: false,
            namespaces: Vec::new(),
            acks: Vec::new(),
            buffer: VecDeque::new(),
            buffered_bytes: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Opens namespace `nsp` (`/` for the main one) with an optional `auth` object. The
    /// CONNECT goes out now if the engine is open, else when it opens. Connecting a
    /// namespace that is already active replaces its `auth` for the next CONNECT.
    ///
    /// Fails with [`Error::invalid`] for a namespace that does not start with `/` or holds a
    /// `,`.
    pub fn connect(&mut self, nsp: &str, auth: Option<P>) -> Result<(), Error> {
        if !nsp.starts_with('/') || nsp.as_bytes().contains(&b',') {
            return Err(Error::invalid(
                "a Socket.IO namespace starts with '/' and holds no ','",
            ));
        }
        match self.namespaces.iter_mut().find(|n| n.name == nsp) {
            Some(ns) => ns.auth = auth,
            None => {
                self.namespaces.push(Namespace {
                    name: nsp.to_owned(),
                    state: NsState::Pending,
                    auth,
                    sid: None,
                    pid: None,
                    offset: None,
                    next_ack: 0,
                    early: Vec::new(),
                });
                if self.engine_open {
                    self.send_connect(nsp);
                }
            }
        }
        Ok(())
    }

    /// Leaves namespace `nsp`: DISCONNECT goes out if it was connected, its buffered events
    /// and pending acks are dropped (acks fail with an abort error), and
    /// [`Event::Disconnect`] follows if it was connected.
    pub fn disconnect(&mut self, nsp: &str) {
        let Some(i) = self.namespaces.iter().position(|n| n.name == nsp) else {
            return;
        };
        let ns = self.namespaces.remove(i);
        if matches!(ns.state, NsState::Connected | NsState::Connecting) && self.engine_open {
            self.transmits.push_back(Outgoing::Disconnect {
                nsp: nsp.to_owned(),
            });
        }
        self.drop_buffered(nsp);
        let mut failed = Vec::new();
        self.acks.retain(|a| {
            let keep = a.nsp != nsp;
            if !keep {
                failed.push(a.id);
            }
            keep
        });
        for id in failed {
            self.events.push_back(Event::AckFailed {
                nsp: nsp.to_owned(),
                id,
                error: Error::abort("the socket was disconnected by the client"),
            });
        }
        if ns.state == NsState::Connected {
            self.events.push_back(Event::Disconnect {
                nsp: nsp.to_owned(),
                reason: DisconnectReason::Client,
            });
        }
    }

    /// True when no namespace is active (a driver may then close the engine, as
    /// socket.io-client's manager does).
    pub fn is_idle(&self) -> bool {
        self.namespaces.is_empty()
    }

    /// True when `nsp` is connected.
    pub fn is_connected(&self, nsp: &str) -> bool {
        self.ns(nsp).is_some_and(|n| n.state == NsState::Connected)
    }

    /// The socket id of a connected namespace.
    pub fn sid(&self, nsp: &str) -> Option<&str> {
        self.ns(nsp)
            .filter(|n| n.state == NsState::Connected)
            .and_then(|n| n.sid.as_deref())
    }

    /// Events buffered while disconnected.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Emits `args` (the event name first) on `nsp` at time `now`, which is read only for an
    /// event with an ack (its deadline): a driver may pass its last reading otherwise.
    ///
    /// Fails with [`Error::invalid`] when `nsp` was never connected (or was disconnected), or
    /// when the event would have to be buffered beyond [`Config`]'s bounds.
    pub fn emit(&mut self, now: u64, nsp: &str, args: P, how: Emit) -> Result<Emitted, Error> {
        let state = self
            .ns(nsp)
            .map(|n| n.state)
            .ok_or(Error::invalid("emit on a namespace that is not open"))?;
        let connected = state == NsState::Connected && self.engine_open;
        if !connected && how.volatile {
            return Ok(Emitted::Dropped);
        }
        // Only a buffered event is counted: a size can cost a walk over the text.
        let size = if connected { 0 } else { args.size() };
        if !connected
            && (self.buffer.len() >= self.config.max_buffered_packets
                || self.buffered_bytes.saturating_add(size) > self.config.max_buffered_bytes)
        {
            return Err(Error::invalid("the Socket.IO send buffer is full"));
        }
        let id = if how.ack {
            let ns = self
                .namespaces
                .iter_mut()
                .find(|n| n.name == nsp)
                .ok_or(Error::invalid("emit on a namespace that is not open"))?;
            let id = ns.next_ack;
            ns.next_ack += 1;
            let deadline = how
                .timeout_ms
                .or(self.config.ack_timeout_ms)
                .map(|t| now + u64::from(t));
            self.acks.push(PendingAck {
                nsp: nsp.to_owned(),
                id,
                deadline,
                buffered: !connected,
            });
            Some(id)
        } else {
            None
        };
        if connected {
            self.transmits.push_back(Outgoing::Event {
                nsp: nsp.to_owned(),
                id,
                args,
            });
            Ok(Emitted::Sent(id))
        } else {
            self.buffered_bytes += size;
            self.buffer.push_back(Buffered {
                nsp: nsp.to_owned(),
                id,
                args,
            });
            Ok(Emitted::Buffered(id))
        }
    }

    /// Answers the server's event `id` on `nsp`. Fails with [`Error::invalid`] when the
    /// namespace is not connected (the server forgot the ack with the connection).
    pub fn ack(&mut self, nsp: &str, id: u64, args: P) -> Result<(), Error> {
        if !self.is_connected(nsp) || !self.engine_open {
            return Err(Error::invalid("ack on a namespace that is not connected"));
        }
        self.transmits.push_back(Outgoing::Ack {
            nsp: nsp.to_owned(),
            id,
            args,
        });
        Ok(())
    }

    /// The engine opened (first time or after a reconnection): CONNECT goes out for every
    /// active namespace.
    pub fn handle_engine_open(&mut self, _now: u64) {
        self.engine_open = true;
        let names: Vec<String> = self.namespaces.iter().map(|n| n.name.clone()).collect();
        for name in names {
            self.send_connect(&name);
        }
    }

    /// The engine connection was lost (`reason`); `for_good` when the engine closed and will
    /// not reconnect. Connected namespaces report [`Event::Disconnect`], and the acks of
    /// events already sent fail; with `for_good`, everything still buffered or pending fails
    /// too and the namespaces are forgotten. Packets not yet taken with
    /// [`Client::poll_transmit`] are dropped (a driver drains it after every call, so there
    /// are none).
    ///
    /// Events handed to the engine count as sent: those the engine returns unsent
    /// ([`engineio::Event::Disconnected`](crate::engineio::Event::Disconnected)) are not
    /// buffered again here; a driver that wants them re-emitted does so itself.
    pub fn handle_engine_closed(&mut self, _now: u64, reason: CloseReason, for_good: bool) {
        self.engine_open = false;
        self.transmits.clear();
        for ns in &mut self.namespaces {
            if ns.state == NsState::Connected {
                self.events.push_back(Event::Disconnect {
                    nsp: ns.name.clone(),
                    reason: DisconnectReason::Engine(reason),
                });
            }
            ns.state = NsState::Pending;
            ns.early.clear();
        }
        let events = &mut self.events;
        self.acks.retain(|a| {
            let keep = a.buffered && !for_good;
            if !keep {
                events.push_back(Event::AckFailed {
                    nsp: a.nsp.clone(),
                    id: a.id,
                    error: Error::network("the socket has been disconnected"),
                });
            }
            keep
        });
        if for_good {
            self.buffer.clear();
            self.buffered_bytes = 0;
            self.namespaces.clear();
        }
    }

    /// A packet from the server (decoded by the driver). It needs no time: a driver need not
    /// read its clock for a received event.
    pub fn handle_packet(&mut self, packet: Incoming<P>) {
        match packet {
            Incoming::Connect { nsp, sid, pid } => {
                let Some(ns) = self.namespaces.iter_mut().find(|n| n.name == nsp) else {
                    return;
                };
                if ns.state != NsState::Connecting {
                    return;
                }
                let recovered = pid.is_some() && ns.pid == pid;
                if !recovered {
                    ns.offset = None;
                }
                ns.pid = pid;
                ns.sid = Some(sid.clone());
                ns.state = NsState::Connected;
                let early = std::mem::take(&mut ns.early);
                let track = ns.pid.is_some();
                for (_, args) in &early {
                    if let Some(offset) = args.last_string().filter(|_| track) {
                        ns.offset = Some(offset);
                    }
                }
                self.events.push_back(Event::Connect {
                    nsp: nsp.clone(),
                    sid,
                    recovered,
                });
                for (ack, args) in early {
                    self.events.push_back(Event::Event {
                        nsp: nsp.clone(),
                        args,
                        ack,
                    });
                }
                self.flush_buffered(&nsp);
            }
            Incoming::ConnectError { nsp, message, data } => {
                if self.ns(&nsp).is_none() {
                    return;
                }
                // The namespace is refused: it stops trying (socket.io-client destroys the
                // socket); the user may connect it again.
                self.namespaces.retain(|n| n.name != nsp);
                self.drop_buffered(&nsp);
                let events = &mut self.events;
                self.acks.retain(|a| {
                    let keep = a.nsp != nsp;
                    if !keep {
                        events.push_back(Event::AckFailed {
                            nsp: a.nsp.clone(),
                            id: a.id,
                            error: Error::network("the namespace refused the connection"),
                        });
                    }
                    keep
                });
                self.events
                    .push_back(Event::ConnectError { nsp, message, data });
            }
            Incoming::Disconnect { nsp } => {
                if !self.is_connected(&nsp) {
                    return;
                }
                self.namespaces.retain(|n| n.name != nsp);
                self.drop_buffered(&nsp);
                let events = &mut self.events;
                self.acks.retain(|a| {
                    let keep = a.nsp != nsp;
                    if !keep {
                        events.push_back(Event::AckFailed {
                            nsp: a.nsp.clone(),
                            id: a.id,
                            error: Error::network("the server disconnected the socket"),
                        });
                    }
                    keep
                });
                self.events.push_back(Event::Disconnect {
                    nsp,
                    reason: DisconnectReason::Server,
                });
            }
            Incoming::Event { nsp, id, args } => {
                let Some(ns) = self.namespaces.iter_mut().find(|n| n.name == nsp) else {
                    return;
                };
                match ns.state {
                    NsState::Connected => {}
                    NsState::Connecting => {
                        // Bounded like the send buffer; beyond it the server is misbehaving.
                        if ns.early.len() < self.config.max_buffered_packets {
                            ns.early.push((id, args));
                        }
                        return;
                    }
                    NsState::Pending => return,
                }
                if ns.pid.is_some() {
                    if let Some(offset) = args.last_string() {
                        ns.offset = Some(offset);
                    }
                }
                self.events.push_back(Event::Event { nsp, args, ack: id });
            }
            Incoming::Ack { nsp, id, args } => {
                let Some(i) = self.acks.iter().position(|a| a.nsp == nsp && a.id == id) else {
                    return; // unknown, late (timed out) or duplicate: ignored
                };
                self.acks.remove(i);
                self.events.push_back(Event::Ack { nsp, id, args });
            }
        }
    }

    /// The timer armed at [`Client::poll_timeout`] fired: acks past their deadline fail, and
    /// their events, if still buffered, are dropped.
    pub fn handle_timeout(&mut self, now: u64) {
        let mut expired = Vec::new();
        self.acks.retain(|a| {
            let late = a.deadline.is_some_and(|d| now >= d);
            if late {
                expired.push((a.nsp.clone(), a.id));
            }
            !late
        });
        if !expired.is_empty() {
            self.remove_buffered(|b| {
                b.id.is_some_and(|id| expired.iter().any(|(n, i)| *i == id && *n == b.nsp))
            });
        }
        for (nsp, id) in expired {
            self.events.push_back(Event::AckFailed {
                nsp,
                id,
                error: Error::timeout("operation has timed out"),
            });
        }
    }

    /// The earliest ack deadline.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.acks.iter().filter_map(|a| a.deadline).min()
    }

    /// The next packet to hand to the engine.
    pub fn poll_transmit(&mut self) -> Option<Outgoing<P>> {
        self.transmits.pop_front()
    }

    /// The next thing to tell the user.
    pub fn poll_event(&mut self) -> Option<Event<P>> {
        self.events.pop_front()
    }

    fn ns(&self, nsp: &str) -> Option<&Namespace<P>> {
        self.namespaces.iter().find(|n| n.name == nsp)
    }

    fn send_connect(&mut self, nsp: &str) {
        let Some(ns) = self.namespaces.iter_mut().find(|n| n.name == nsp) else {
            return;
        };
        ns.state = NsState::Connecting;
        let recovery = ns.pid.clone().map(|pid| (pid, ns.offset.clone()));
        // The namespace keeps its auth for the CONNECT after the next reconnection.
        let auth = ns.auth.clone();
        self.transmits.push_back(Outgoing::Connect {
            nsp: nsp.to_owned(),
            auth,
            recovery,
        });
    }

    fn flush_buffered(&mut self, nsp: &str) {
        let mut rest = VecDeque::new();
        while let Some(b) = self.buffer.pop_front() {
            if b.nsp == nsp {
                self.buffered_bytes -= b.args.size();
                if let Some(id) = b.id {
                    if let Some(a) = self.acks.iter_mut().find(|a| a.nsp == nsp && a.id == id) {
                        a.buffered = false;
                    }
                }
                self.transmits.push_back(Outgoing::Event {
                    nsp: b.nsp,
                    id: b.id,
                    args: b.args,
                });
            } else {
                rest.push_back(b);
            }
        }
        self.buffer = rest;
    }

    fn drop_buffered(&mut self, nsp: &str) {
        self.remove_buffered(|b| b.nsp == nsp);
    }

    /// Drops the buffered events `gone` picks. By pop_front, as `flush_buffered`:
    /// `VecDeque::retain` and `remove` each cost over half a kilobyte of wasm.
    fn remove_buffered(&mut self, gone: impl Fn(&Buffered<P>) -> bool) {
        let mut rest = VecDeque::new();
        while let Some(b) = self.buffer.pop_front() {
            if gone(&b) {
                self.buffered_bytes -= b.args.size();
            } else {
                rest.push_back(b);
            }
        }
        self.buffer = rest;
    }
}
