//! The transport ladder: which ways of talking to a SockJS server exist, what each needs, and
//! in which order a socket tries them.
//!
//! Transports are data ([`TRANSPORTS`]): a name, the round trips opening one costs, the paths it
//! uses, and a list of [`Need`]s. [`candidates`] is a pure filter from the browser's
//! [`Capabilities`], the server's [`Info`] and the user's whitelist to the ordered list to try.
//! [`attempt_timeout`] gives each attempt's deadline and [`Demotions`] remembers transports
//! that opened but died young, so the socket stops leading with them.

use crate::info::Info;
use crate::Error;

/// A SockJS transport.
///
/// ```
/// use cometkit_protocol::ladder::TransportKind;
///
/// let kind = TransportKind::from_name("xhr-streaming").unwrap();
/// assert_eq!(kind, TransportKind::XhrStreaming);
/// assert_eq!(kind.name(), "xhr-streaming");
/// assert!(TransportKind::from_name("flash").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// `websocket`: a framed WebSocket at `…/websocket`.
    WebSocket,
    /// `xhr-streaming`: one long CORS XHR POST at `…/xhr_streaming`, sends via `…/xhr_send`.
    XhrStreaming,
    /// `xdr-streaming`: the same endpoints through a cookie-less XDomainRequest-style request.
    XdrStreaming,
    /// `eventsource`: an EventSource at `…/eventsource`, sends via `…/xhr_send`.
    EventSource,
    /// `xhr-polling`: repeated CORS XHR POSTs at `…/xhr`, sends via `…/xhr_send`.
    XhrPolling,
    /// `xdr-polling`: the same through a cookie-less XDomainRequest-style request.
    XdrPolling,
    /// `jsonp-polling`: repeated `<script>` loads of `…/jsonp?c=…`, sends via `…/jsonp_send`.
    JsonpPolling,
}

/// Something a transport needs from the browser, the page or the server.
///
/// ```
/// use cometkit_protocol::ladder::{Need, TransportKind};
///
/// // jsonp-polling loads <script> elements, so it needs a document.
/// assert!(TransportKind::JsonpPolling.spec().needs.contains(&Need::Dom));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The browser has `WebSocket` and the server's `/info` says `"websocket": true`.
    WebSocket,
    /// XHR with CORS (XMLHttpRequest level 2).
    XhrCors,
    /// XHR to the same origin, or XHR with CORS.
    XhrLocalOrCors,
    /// An XDomainRequest-style request (cookie-less, text/plain only).
    Xdr,
    /// The browser has `EventSource`.
    EventSource,
    /// A document to add `<script>` elements to.
    Dom,
    /// The page has a real origin (not `null`: not a `file:` page or a sandboxed frame).
    RealOrigin,
    /// The server URL has the page's scheme (XDomainRequest cannot cross schemes).
    SameScheme,
    /// The server does not need cookies (`"cookie_needed": false`): for cookie-less transports.
    NoCookies,
}

/// A transport described as data.
///
/// ```
/// use cometkit_protocol::ladder::{Need, TransportKind};
///
/// let spec = TransportKind::EventSource.spec();
/// assert_eq!((spec.name, spec.receive_path, spec.send_path), ("eventsource", "/eventsource", Some("/xhr_send")));
/// assert!(spec.streaming && spec.needs.contains(&Need::EventSource));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transport {
    /// Which transport.
    pub kind: TransportKind,
    /// Its SockJS name, as used in whitelists.
    pub name: &'static str,
    /// Round trips needed to open it (the attempt timeout is `RTO × round_trips`).
    pub round_trips: u32,
    /// Frames arrive on one long-lived response (otherwise one request per batch of frames).
    pub streaming: bool,
    /// The receiving path appended to the session URL.
    pub receive_path: &'static str,
    /// The path client payloads are POSTed to, or `None` when they travel on the receiving
    /// connection itself (WebSocket).
    pub send_path: Option<&'static str>,
    /// What it needs; all must hold for it to be a candidate.
    pub needs: &'static [Need],
}

/// Every transport, in the default order of preference (fastest and most capable first).
pub static TRANSPORTS: [Transport; 7] = [
    Transport {
        kind: TransportKind::WebSocket,
        name: "websocket",
        // One in theory; a second TLS connection often makes it two in practice.
        round_trips: 2,
        streaming: true,
        receive_path: "/websocket",
        send_path: None,
        needs: &[Need::WebSocket],
    },
    Transport {
        kind: TransportKind::XhrStreaming,
        name: "xhr-streaming",
        round_trips: 2, // preflight + request
        streaming: true,
        receive_path: "/xhr_streaming",
        send_path: Some("/xhr_send"),
        needs: &[Need::RealOrigin, Need::XhrCors],
    },
    Transport {
        kind: TransportKind::XdrStreaming,
        name: "xdr-streaming",
        round_trips: 2,
        streaming: true,
        receive_path: "/xhr_streaming",
        send_path: Some("/xhr_send"),
        needs: &[
            Need::RealOrigin,
            Need::Xdr,
            Need::SameScheme,
            Need::NoCookies,
        ],
    },
    Transport {
        kind: TransportKind::EventSource,
        name: "eventsource",
        round_trips: 2,
        streaming: true,
        receive_path: "/eventsource",
        send_path: Some("/xhr_send"),
        needs: &[Need::EventSource, Need::XhrCors],
    },
    Transport {
        kind: TransportKind::XhrPolling,
        name: "xhr-polling",
        round_trips: 2,
        streaming: false,
        receive_path: "/xhr",
        send_path: Some("/xhr_send"),
        needs: &[Need::RealOrigin, Need::XhrLocalOrCors],
    },
    Transport {
        kind: TransportKind::XdrPolling,
        name: "xdr-polling",
        round_trips: 2,
        streaming: false,
        receive_path: "/xhr",
        send_path: Some("/xhr_send"),
        needs: &[
            Need::RealOrigin,
            Need::Xdr,
            Need::SameScheme,
            Need::NoCookies,
        ],
    },
    Transport {
        kind: TransportKind::JsonpPolling,
        name: "jsonp-polling",
        round_trips: 1,
        streaming: false,
        receive_path: "/jsonp",
        send_path: Some("/jsonp_send"),
        needs: &[Need::Dom],
    },
];

impl TransportKind {
    /// Every transport, in the default order.
    pub const ALL: [TransportKind; 7] = [
        TransportKind::WebSocket,
        TransportKind::XhrStreaming,
        TransportKind::XdrStreaming,
        TransportKind::EventSource,
        TransportKind::XhrPolling,
        TransportKind::XdrPolling,
        TransportKind::JsonpPolling,
    ];

    /// Its description in [`TRANSPORTS`].
    pub fn spec(self) -> &'static Transport {
        // Constant indexes into a fixed-size array: checked at compile time.
        match self {
            TransportKind::WebSocket => &TRANSPORTS[0],
            TransportKind::XhrStreaming => &TRANSPORTS[1],
            TransportKind::XdrStreaming => &TRANSPORTS[2],
            TransportKind::EventSource => &TRANSPORTS[3],
            TransportKind::XhrPolling => &TRANSPORTS[4],
            TransportKind::XdrPolling => &TRANSPORTS[5],
            TransportKind::JsonpPolling => &TRANSPORTS[6],
        }
    }

    /// Its SockJS name (`"websocket"`, `"xhr-streaming"`, ...).
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The transport with this SockJS name.
    pub fn from_name(name: &str) -> Option<TransportKind> {
        TRANSPORTS.iter().find(|t| t.name == name).map(|t| t.kind)
    }
}

/// What the browser and page offer, as detected by the driver.
///
/// ```
/// use cometkit_protocol::ladder::Capabilities;
///
/// let mut caps = Capabilities::modern(false, true); // a cross-origin server, same scheme
/// caps.websocket = false; // say a proxy strips WebSocket upgrades
/// let refused = caps.without_cors(); // what is left when the server refuses CORS
/// assert!(!refused.xhr_cors && !refused.eventsource);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// `WebSocket` exists.
    pub websocket: bool,
    /// `XMLHttpRequest` exists.
    pub xhr: bool,
    /// XHR supports CORS (`withCredentials` exists).
    pub xhr_cors: bool,
    /// An XDomainRequest-style request is available.
    pub xdr: bool,
    /// `EventSource` exists.
    pub eventsource: bool,
    /// There is a document to inject `<script>` elements into.
    pub dom: bool,
    /// The page lets scripts load from the server (its JSONP trusted origins, when it set
    /// some, include the server's); `false` rules out jsonp-polling.
    pub scripts_trusted: bool,
    /// The page's origin is `null` (`file:` page, sandboxed frame).
    pub null_origin: bool,
    /// The server URL has the page's origin.
    pub same_origin: bool,
    /// The server URL has the page's scheme.
    pub same_scheme: bool,
}

impl Capabilities {
    /// A current browser on a normal page, talking to a server of the given origin relation.
    pub fn modern(same_origin: bool, same_scheme: bool) -> Self {
        Capabilities {
            websocket: true,
            xhr: true,
            xhr_cors: true,
            xdr: true,
            eventsource: true,
            dom: true,
            scripts_trusted: true,
            null_origin: false,
            same_origin,
            same_scheme,
        }
    }

    /// These capabilities towards a server that refuses CORS: no XHR, XDR or EventSource to
    /// it (the browser blocks each of those cross-origin requests, same-origin fallbacks
    /// included, since the server could not be reached that way either), which leaves
    /// WebSocket and JSONP script loads.
    pub fn without_cors(self) -> Capabilities {
        Capabilities {
            xhr: false,
            xhr_cors: false,
            xdr: false,
            eventsource: false,
            ..self
        }
    }

    fn meets(&self, need: Need, info: &Info) -> bool {
        match need {
            Need::WebSocket => self.websocket && info.websocket,
            Need::XhrCors => self.xhr_cors,
            Need::XhrLocalOrCors => self.xhr_cors || (self.xhr && self.same_origin),
            Need::Xdr => self.xdr,
            Need::EventSource => self.eventsource,
            Need::Dom => self.dom && self.scripts_trusted,
            Need::RealOrigin => !self.null_origin,
            Need::SameScheme => self.same_scheme,
            Need::NoCookies => !info.cookie_needed,
        }
    }
}

/// Whether `kind` can work with these capabilities and this server.
pub fn enabled(kind: TransportKind, caps: &Capabilities, info: &Info) -> bool {
    kind.spec().needs.iter().all(|&n| caps.meets(n, info))
}

/// Resolves a user's whitelist of transport names, keeping the user's order.
///
/// Fails with [`Error::invalid`] on an unknown name (including sockjs-client's iframe and
/// htmlfile transports, which are not offered) or a name given twice. An empty list is allowed
/// and means "every transport" (as in sockjs-client).
pub fn parse_whitelist(names: &[&str]) -> Result<Vec<TransportKind>, Error> {
    let mut kinds = Vec::with_capacity(names.len());
    for name in names {
        let kind = TransportKind::from_name(name).ok_or(Error::invalid(
            "transports: unknown transport name (known: websocket, xhr-streaming, \
             xdr-streaming, eventsource, xhr-polling, xdr-polling, jsonp-polling)",
        ))?;
        if kinds.contains(&kind) {
            return Err(Error::invalid("transports: a transport is listed twice"));
        }
        kinds.push(kind);
    }
    Ok(kinds)
}

/// The transports to try, in order: the whitelist's order (or the default order when the
/// whitelist is empty), keeping only those [`enabled`] here.
pub fn candidates(
    caps: &Capabilities,
    info: &Info,
    whitelist: &[TransportKind],
) -> Vec<TransportKind> {
    let order: &[TransportKind] = if whitelist.is_empty() {
        &TransportKind::ALL
    } else {
        whitelist
    };
    // A plain loop: the iterator chain costs 0.4 KB of wasm in the browser build.
    let mut out = Vec::new();
    for &k in order {
        if enabled(k, caps, info) {
            out.push(k);
        }
    }
    out
}

/// What a socket takes a server to say when its `/info` cannot be read because of a network
/// error, which in a browser is also how a refused CORS request looks: it accepts WebSockets
/// (they need no CORS; a wrong guess costs one failed attempt) and needs no cookies.
pub fn info_without_cors() -> Info {
    Info {
        websocket: true,
        cookie_needed: false,
        origins: Vec::new(),
        entropy: 0,
        resume: 0,
    }
}

/// The transports to try with a server that refuses CORS (its `/info` failed with a network
/// error): [`candidates`] for [`Capabilities::without_cors`] and [`info_without_cors`], so at
/// most websocket and jsonp-polling, in the whitelist's order.
pub fn candidates_without_cors(
    caps: &Capabilities,
    whitelist: &[TransportKind],
) -> Vec<TransportKind> {
    candidates(&caps.without_cors(), &info_without_cors(), whitelist)
}

/// The timeout of one attempt to open a transport: the larger of the configured minimum and
/// `rto × round_trips` (sockjs-client's rule).
pub fn attempt_timeout(min_ms: u32, rto_ms: u32, round_trips: u32) -> u32 {
    min_ms.max(rto_ms.saturating_mul(round_trips))
}

/// Whether a transport that opened at `opened_at` and died at `now` died young (within
/// `window_ms`), which suggests it does not work on this path (a proxy that buffers or cuts
/// streams, a WebSocket killed by a middlebox) rather than a passing network failure.
pub fn died_young(opened_at: u64, now: u64, window_ms: u32) -> bool {
    now.saturating_sub(opened_at) < u64::from(window_ms)
}

/// Transports demoted for one socket: they move to the end of every later candidate list (in
/// the order they were demoted), so they remain a last resort rather than disappearing.
///
/// ```
/// use cometkit_protocol::ladder::{Demotions, TransportKind::*};
///
/// let mut demotions = Demotions::new();
/// demotions.demote(WebSocket); // it opened and died young: a proxy kills it
/// let mut candidates = vec![WebSocket, XhrStreaming, XhrPolling];
/// demotions.apply(&mut candidates);
/// assert_eq!(candidates, [XhrStreaming, XhrPolling, WebSocket]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Demotions {
    order: Vec<TransportKind>,
}

impl Demotions {
    /// No demotions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Demotes `kind` (again: it moves behind the ones demoted before).
    pub fn demote(&mut self, kind: TransportKind) {
        self.order.retain(|&k| k != kind);
        self.order.push(kind);
    }

    /// Whether `kind` has been demoted.
    pub fn is_demoted(&self, kind: TransportKind) -> bool {
        self.order.contains(&kind)
    }

    /// Reorders `candidates`: the others first in their order, then the demoted ones.
    pub fn apply(&self, candidates: &mut Vec<TransportKind>) {
        let mut demoted: Vec<TransportKind> = Vec::new();
        for &k in &self.order {
            if let Some(pos) = candidates.iter().position(|&c| c == k) {
                candidates.remove(pos);
                demoted.push(k);
            }
        }
        candidates.extend(demoted);
    }
}

/// `url` with `path` appended to its path, before any query string
/// (`http://h/echo?t=1` + `/info` = `http://h/echo/info?t=1`).
pub fn add_path(url: &str, path: &str) -> String {
    // A byte split, not find + split_at (a panic path) or split_once(char) (a char searcher).
    let (base, sep, query) = match crate::url::split_byte(url, b'?') {
        Some((base, query)) => (base, "?", query),
        None => (url, "", ""),
    };
    crate::error::concat(&[base, path, sep, query])
}

/// `url` with `param` (already encoded, `name=value`) added to its query string.
pub fn add_query(url: &str, param: &str) -> String {
    let sep = if url.as_bytes().contains(&b'?') {
        "&"
    } else {
        "?"
    };
    crate::error::concat(&[url, sep, param])
}

/// The URL `kind` receives on for the session at `session_url` (`<base>/<server>/<session>`);
/// for WebSocket the scheme becomes `ws:` or `wss:`.
pub fn receive_url(kind: TransportKind, session_url: &str) -> String {
    let url = add_path(session_url, kind.spec().receive_path);
    if kind == TransportKind::WebSocket {
        to_ws_scheme(&url)
    } else {
        url
    }
}

/// The URL `kind` POSTs client payloads to, or `None` for WebSocket.
pub fn send_url(kind: TransportKind, session_url: &str) -> Option<String> {
    kind.spec().send_path.map(|p| add_path(session_url, p))
}

/// `http:` -> `ws:`, `https:` -> `wss:` (any case); other URLs are returned unchanged.
fn to_ws_scheme(url: &str) -> String {
    let lower_starts = |p: &str| {
        url.get(..p.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(p))
    };
    if lower_starts("https:") {
        crate::error::concat(&["wss:", url.get(6..).unwrap_or_default()])
    } else if lower_starts("http:") {
        crate::error::concat(&["ws:", url.get(5..).unwrap_or_default()])
    } else {
        url.to_owned()
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use TransportKind::*;

    fn info(websocket: bool, cookie_needed: bool) -> Info {
        Info {
            websocket,
            cookie_needed,
            origins: vec![],
            entropy: 0,
            resume: 0,
        }
    }

    #[test]
    fn table_is_in_enum_order_with_sockjs_facts() {
        for (i, t) in TRANSPORTS.iter().enumerate() {
            assert_eq!(t.kind as usize, i);
            assert_eq!(TransportKind::ALL[i], t.kind);
            assert_eq!(TransportKind::from_name(t.name), Some(t.kind));
            assert_eq!(t.kind.name(), t.name);
        }
        assert_eq!(JsonpPolling.spec().round_trips, 1);
        assert!(TransportKind::ALL
            .iter()
            .filter(|&&k| k != JsonpPolling)
            .all(|k| k.spec().round_trips == 2));
        assert_eq!(TransportKind::from_name("iframe-eventsource"), None);
        assert_eq!(TransportKind::from_name("WebSocket"), None);
    }

    #[test]
    fn modern_browser_gets_the_full_ladder_in_default_order() {
        let caps = Capabilities::modern(false, true);
        assert_eq!(
            candidates(&caps, &info(true, false), &[]),
            TransportKind::ALL.to_vec()
        );
    }

    #[test]
    fn server_and_browser_restrictions_filter_rungs() {
        let caps = Capabilities::modern(false, true);
        // Server without WebSocket.
        assert!(!candidates(&caps, &info(false, false), &[]).contains(&WebSocket));
        // Cookies needed: the XDR transports go.
        assert_eq!(
            candidates(&caps, &info(true, true), &[]),
            vec![
                WebSocket,
                XhrStreaming,
                EventSource,
                XhrPolling,
                JsonpPolling
            ]
        );
        // Other scheme: XDR cannot cross it.
        let cross = Capabilities::modern(false, false);
        assert!(!candidates(&cross, &info(true, false), &[]).contains(&XdrPolling));
        // A null-origin page keeps only WebSocket, EventSource and JSONP.
        let null = Capabilities {
            null_origin: true,
            ..caps
        };
        assert_eq!(
            candidates(&null, &info(true, false), &[]),
            vec![WebSocket, EventSource, JsonpPolling]
        );
        // An old browser: XHR without CORS, no WebSocket or EventSource.
        let old = Capabilities {
            websocket: false,
            xhr_cors: false,
            eventsource: false,
            xdr: false,
            ..caps
        };
        assert_eq!(
            candidates(&old, &info(true, false), &[]),
            vec![JsonpPolling]
        );
        let old_same_origin = Capabilities {
            same_origin: true,
            ..old
        };
        assert_eq!(
            candidates(&old_same_origin, &info(true, false), &[]),
            vec![XhrPolling, JsonpPolling]
        );
        let nothing = Capabilities {
            dom: false,
            xhr: false,
            ..old
        };
        assert!(candidates(&nothing, &info(true, false), &[]).is_empty());
    }

    #[test]
    fn without_cors_only_websocket_and_jsonp_remain() {
        for caps in [
            Capabilities::modern(false, true),
            Capabilities::modern(true, true),
            Capabilities::modern(false, false),
        ] {
            assert_eq!(
                candidates_without_cors(&caps, &[]),
                vec![WebSocket, JsonpPolling]
            );
        }
        // The whitelist's order is kept; transports needing CORS are dropped from it.
        let caps = Capabilities::modern(false, true);
        assert_eq!(
            candidates_without_cors(&caps, &[XhrStreaming, JsonpPolling, EventSource, WebSocket]),
            vec![JsonpPolling, WebSocket]
        );
        assert!(candidates_without_cors(&caps, &[XhrPolling, XdrStreaming]).is_empty());
        // What the browser lacks still counts: no WebSocket, no scripts.
        let no_ws = Capabilities {
            websocket: false,
            ..caps
        };
        assert_eq!(candidates_without_cors(&no_ws, &[]), vec![JsonpPolling]);
        let untrusted = Capabilities {
            scripts_trusted: false,
            ..caps
        };
        assert_eq!(candidates_without_cors(&untrusted, &[]), vec![WebSocket]);
        let assumed = info_without_cors();
        assert!(assumed.websocket && !assumed.cookie_needed);
    }

    #[test]
    fn whitelist_keeps_user_order_and_rejects_unknown_names() {
        let caps = Capabilities::modern(true, true);
        let wl = parse_whitelist(&["xhr-polling", "websocket", "eventsource"]).unwrap();
        assert_eq!(wl, vec![XhrPolling, WebSocket, EventSource]);
        assert_eq!(
            candidates(&caps, &info(true, false), &wl),
            vec![XhrPolling, WebSocket, EventSource]
        );
        assert_eq!(
            candidates(&caps, &info(false, false), &wl),
            vec![XhrPolling, EventSource]
        );
        assert!(parse_whitelist(&[]).unwrap().is_empty());
        for bad in [
            &["websocket", "iframe-htmlfile"][..],
            &["Websocket"],
            &[""],
            &["xhr_streaming"],
        ] {
            let e = parse_whitelist(bad).unwrap_err();
            assert!(
                e.is_invalid() && e.message().contains("unknown transport"),
                "{bad:?}"
            );
        }
        let e = parse_whitelist(&["websocket", "xhr-polling", "websocket"]).unwrap_err();
        assert!(e.is_invalid() && e.message().contains("twice"));
    }

    #[test]
    fn attempt_timeouts() {
        assert_eq!(attempt_timeout(0, 400, 2), 800);
        assert_eq!(attempt_timeout(5_000, 400, 2), 5_000);
        assert_eq!(attempt_timeout(0, 1_000, 1), 1_000);
        assert_eq!(attempt_timeout(0, u32::MAX, 2), u32::MAX);
    }

    #[test]
    fn demotion_moves_rungs_down_in_demotion_order() {
        assert!(died_young(1_000, 5_999, 5_000));
        assert!(!died_young(1_000, 6_000, 5_000));
        assert!(died_young(1_000, 500, 5_000)); // clock went backwards: still young
        let mut d = Demotions::new();
        let mut list = TransportKind::ALL.to_vec();
        d.apply(&mut list);
        assert_eq!(list, TransportKind::ALL.to_vec());
        d.demote(WebSocket);
        d.demote(XhrStreaming);
        let mut list = vec![WebSocket, XhrStreaming, EventSource, XhrPolling];
        d.apply(&mut list);
        assert_eq!(list, vec![EventSource, XhrPolling, WebSocket, XhrStreaming]);
        // Demoting again moves it behind the others.
        d.demote(WebSocket);
        let mut list = vec![WebSocket, XhrStreaming, EventSource];
        d.apply(&mut list);
        assert_eq!(list, vec![EventSource, XhrStreaming, WebSocket]);
        assert!(d.is_demoted(WebSocket) && !d.is_demoted(EventSource));
        // Demoted kinds absent from the list are not added.
        let mut list = vec![JsonpPolling];
        d.apply(&mut list);
        assert_eq!(list, vec![JsonpPolling]);
    }

    #[test]
    fn urls_for_each_transport() {
        let s = "https://h:8/echo/123/abcd?token=x";
        assert_eq!(
            receive_url(WebSocket, s),
            "wss://h:8/echo/123/abcd/websocket?token=x"
        );
        assert_eq!(send_url(WebSocket, s), None);
        assert_eq!(
            receive_url(XhrStreaming, s),
            "https://h:8/echo/123/abcd/xhr_streaming?token=x"
        );
        assert_eq!(
            send_url(XdrPolling, s).unwrap(),
            "https://h:8/echo/123/abcd/xhr_send?token=x"
        );
        assert_eq!(
            receive_url(EventSource, "HTTP://h/e/1/2"),
            "HTTP://h/e/1/2/eventsource"
        );
        assert_eq!(
            receive_url(WebSocket, "HTTP://h/e/1/2"),
            "ws://h/e/1/2/websocket"
        );
        assert_eq!(
            send_url(JsonpPolling, "http://h/e/1/2").unwrap(),
            "http://h/e/1/2/jsonp_send"
        );
        let jsonp = receive_url(JsonpPolling, "http://h/e/1/2?t=1");
        assert_eq!(add_query(&jsonp, "c=cb"), "http://h/e/1/2/jsonp?t=1&c=cb");
        assert_eq!(add_query("http://h/jsonp", "c=cb"), "http://h/jsonp?c=cb");
    }
}
