//! URL dispatch and the HTTP side of every endpoint: greeting, info, iframe page, the session
//! transports, CORS, caching and cookie headers.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::Response;

use cometkit_protocol::form::form_field;
use cometkit_protocol::resume;
use cometkit_protocol::server::Refused;
use cometkit_protocol::sockjs::{decode_payload, PayloadError};

use super::receiver::{self, Kind};
use super::session::random_u64;
use super::{websocket, Shared};

/// One year: how long preflight answers and the iframe page may be cached.
const CACHE_FOR: Duration = Duration::from_secs(365 * 24 * 60 * 60);
const NO_CACHE: &str = "no-store, no-cache, no-transform, must-revalidate, max-age=0";
const TEXT: &str = "text/plain; charset=UTF-8";

/// A URL under the endpoint.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    Greeting,
    Info,
    Iframe,
    RawWebSocket,
    Session {
        session: &'a str,
        transport: Transport,
    },
    NotFound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Xhr,
    XhrSend,
    XhrStreaming,
    EventSource,
    HtmlFile,
    Jsonp,
    JsonpSend,
    WebSocket,
}

impl Transport {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "xhr" => Transport::Xhr,
            "xhr_send" => Transport::XhrSend,
            "xhr_streaming" => Transport::XhrStreaming,
            "eventsource" => Transport::EventSource,
            "htmlfile" => Transport::HtmlFile,
            "jsonp" => Transport::Jsonp,
            "jsonp_send" => Transport::JsonpSend,
            "websocket" => Transport::WebSocket,
            _ => return None,
        })
    }

    /// The method that uses the endpoint.
    fn method(self) -> Method {
        match self {
            Transport::Xhr
            | Transport::XhrSend
            | Transport::XhrStreaming
            | Transport::JsonpSend => Method::POST,
            Transport::EventSource
            | Transport::HtmlFile
            | Transport::Jsonp
            | Transport::WebSocket => Method::GET,
        }
    }
}

/// A server or session id: not empty, no dot (the URL grammar of sockjs-node).
fn valid_id(s: &str) -> bool {
    !s.is_empty() && !s.contains('.')
}

/// `/iframe.html`, `/iframe-<version>.html`: versioned names let clients bust caches.
fn is_iframe(path: &str) -> bool {
    path.strip_prefix("/iframe")
        .and_then(|p| p.strip_suffix(".html"))
        .is_some_and(|v| {
            v.bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'z' | b'-' | b'.' | b'_'))
        })
}

impl<'a> Route<'a> {
    fn parse(path: &'a str, websocket: bool) -> Self {
        // One trailing slash is tolerated everywhere, as sockjs-node does.
        let p = path.strip_suffix('/').unwrap_or(path);
        match p {
            "" => return Route::Greeting,
            "/info" => return Route::Info,
            "/websocket" if websocket => return Route::RawWebSocket,
            _ if is_iframe(p) => return Route::Iframe,
            _ => {}
        }
        let mut parts = p.strip_prefix('/').unwrap_or("\0").split('/');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(server), Some(session), Some(name), None)
                if valid_id(server) && valid_id(session) =>
            {
                match Transport::parse(name) {
                    Some(Transport::WebSocket) if !websocket => Route::NotFound,
                    Some(transport) => Route::Session { session, transport },
                    None => Route::NotFound,
                }
            }
            _ => Route::NotFound,
        }
    }
}

/// The iframe page (for transports the client runs in an iframe on the server's origin), made
/// once per endpoint.
pub(crate) struct Iframe {
    body: Bytes,
    etag: HeaderValue,
}

impl Iframe {
    pub(crate) fn new(sockjs_url: &str) -> Self {
        let page = [
            "<!DOCTYPE html>\n<html>\n<head>\n",
            "  <meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n",
            "  <meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n",
            "  <script src=\"",
            &sockjs_url.replace('"', "%22"),
            "\"></script>\n  <script>\n    document.domain = document.domain;\n",
            "    SockJS.bootstrap_iframe();\n  </script>\n</head>\n<body>\n",
            "  <h2>Don't panic!</h2>\n",
            "  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>\n",
            "</body>\n</html>",
        ]
        .concat();
        // FNV-1a: a stable content hash is all an ETag needs.
        let hash = page.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        let etag = HeaderValue::from_str(&format!("\"{hash:016x}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
        Iframe {
            body: Bytes::from(page),
            etag,
        }
    }
}

/// An HTTP date (RFC 9110 IMF-fixdate) for `Expires`.
fn http_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm), in eras of 400 years.
    let z = days + 719_468;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize % 12],
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn set(res: &mut Response, name: HeaderName, value: &'static str) {
    res.headers_mut()
        .insert(name, HeaderValue::from_static(value));
}

fn response(
    status: StatusCode,
    content_type: Option<&'static str>,
    body: impl Into<Body>,
) -> Response {
    let mut res = Response::new(body.into());
    *res.status_mut() = status;
    // SockJS is cross-origin by design: let pages with `Cross-Origin-Embedder-Policy:
    // require-corp` load the jsonp transport's scripts too.
    res.headers_mut().insert(
        header::HeaderName::from_static("cross-origin-resource-policy"),
        header::HeaderValue::from_static("cross-origin"),
    );
    if let Some(ct) = content_type {
        set(&mut res, header::CONTENT_TYPE, ct);
    }
    res
}

fn text(status: StatusCode, body: &'static str) -> Response {
    response(status, Some(TEXT), body)
}

fn not_found() -> Response {
    Fail::NOT_FOUND.into_response()
}

/// A refused request: status and plain-text body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fail(StatusCode, &'static str);

impl Fail {
    const NOT_FOUND: Fail = Fail(StatusCode::NOT_FOUND, "404 Error: Page not found\n");
    const BAD_RESUME: Fail = Fail(
        StatusCode::BAD_REQUEST,
        "Malformed resume parameters: expected resume=new or resume=<token>&ack=<n>\n",
    );

    fn into_response(self) -> Response {
        text(self.0, self.1)
    }
}

/// 405 with the `Allow` list, no body and no content type.
fn method_not_allowed(allow: &'static str) -> Response {
    let mut res = response(StatusCode::METHOD_NOT_ALLOWED, None, Body::empty());
    set(&mut res, header::ALLOW, allow);
    res
}

fn cache_for_a_year(res: &mut Response) {
    set(res, header::CACHE_CONTROL, "public, max-age=31536000");
    if let Ok(expires) = HeaderValue::from_str(&http_date(SystemTime::now() + CACHE_FOR)) {
        res.headers_mut().insert(header::EXPIRES, expires);
    }
}

/// The answer to a CORS preflight: cacheable for a year.
fn preflight(methods: &'static str) -> Response {
    let mut res = response(StatusCode::NO_CONTENT, None, Body::empty());
    cache_for_a_year(&mut res);
    set(&mut res, header::ACCESS_CONTROL_ALLOW_METHODS, methods);
    set(&mut res, header::ACCESS_CONTROL_MAX_AGE, "31536000");
    res
}

/// CORS for every answer: the Origin echoed with credentials (so `JSESSIONID` cookies fly), or
/// `*` without an Origin; requested headers allowed.
fn cors(req: &HeaderMap, res: &mut Response) {
    let h = res.headers_mut();
    match req.get(header::ORIGIN) {
        Some(origin) => {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        None => {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
    }
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(requested) = req
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .filter(|v| !v.is_empty())
    {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
    }
}

/// `JSESSIONID=<the client's or dummy>; path=/`, refreshed on every answer so a load
/// balancer can attach its own.
fn session_cookie(req: &HeaderMap) -> HeaderValue {
    let existing = req
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.split_once('='))
        .find(|(name, _)| name.trim() == "JSESSIONID")
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty() && !v.contains([',', ' ']));
    existing
        .and_then(|v| HeaderValue::from_str(&["JSESSIONID=", v, "; path=/"].concat()).ok())
        .unwrap_or_else(|| HeaderValue::from_static("JSESSIONID=dummy; path=/"))
}

/// The JSONP/htmlfile callback name from `c` (or `callback`), validated.
fn callback(query: &str) -> Result<String, Fail> {
    let Some(cb) = form_field(query, "c")
        .or_else(|| form_field(query, "callback"))
        .filter(|c| !c.is_empty())
    else {
        return Err(Fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "\"callback\" parameter required",
        ));
    };
    let valid = cb.len() <= 32
        && cb
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if valid {
        Ok(cb)
    } else {
        Err(Fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "invalid \"callback\" parameter",
        ))
    }
}

fn payload_error(e: PayloadError) -> Fail {
    Fail(StatusCode::INTERNAL_SERVER_ERROR, e.message())
}

/// The request body as text, within `max` bytes.
async fn read_body(body: Body, max: usize) -> Result<String, Fail> {
    match axum::body::to_bytes(body, max).await {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(_) => Err(Fail(StatusCode::PAYLOAD_TOO_LARGE, "Payload too large.")),
    }
}

/// The essence of the request's content type (`text/plain` of `text/plain; charset=x`).
fn content_type(req: &HeaderMap) -> String {
    req.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

fn info(shared: &Shared) -> Response {
    let mut body = serde_json::json!({
        "websocket": shared.options.websocket,
        "cookie_needed": shared.options.cookie_needed,
        "origins": ["*:*"],
        "entropy": random_u64() as u32,
    });
    if shared.options.resume {
        body["resume"] = resume::VERSION.into();
    }
    let body = body.to_string();
    let mut res = response(
        StatusCode::OK,
        Some("application/json; charset=UTF-8"),
        body,
    );
    set(&mut res, header::CACHE_CONTROL, NO_CACHE);
    res
}

fn iframe(shared: &Shared, req: &HeaderMap) -> Response {
    let page = &shared.iframe;
    let mut res = if req.get(header::IF_NONE_MATCH) == Some(&page.etag) {
        response(StatusCode::NOT_MODIFIED, None, Body::empty())
    } else {
        response(
            StatusCode::OK,
            Some("text/html; charset=UTF-8"),
            page.body.clone(),
        )
    };
    cache_for_a_year(&mut res);
    res.headers_mut().insert(header::ETAG, page.etag.clone());
    res
}

/// What a receiving request's query asks of the resume extension (nothing when the endpoint
/// does not offer it); a malformed request is refused.
fn resume_request(shared: &Shared, query: &str) -> Result<Option<resume::Request>, Fail> {
    if !shared.options.resume {
        return Ok(None);
    }
    resume::parse_query(query)
        .transpose()
        .map_err(|_| Fail::BAD_RESUME)
}

async fn websocket(shared: Arc<Shared>, req: Request, framed: bool) -> Response {
    let resume = if framed {
        match resume_request(&shared, req.uri().query().unwrap_or("")) {
            Ok(resume) => resume,
            Err(fail) => return fail.into_response(),
        }
    } else {
        None
    };
    let (mut parts, _body) = req.into_parts();
    match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => {
            upgrade.on_upgrade(move |socket| websocket::serve(socket, shared, framed, resume))
        }
        Err(_) => text(StatusCode::BAD_REQUEST, "Not a valid websocket request"),
    }
}

/// A receiving request: attaches to (or opens, or takes back) the session and streams its
/// frames.
fn receive(shared: &Shared, session: &str, kind: Kind, query: &str) -> Response {
    let resume = match resume_request(shared, query) {
        Ok(resume) => resume,
        Err(fail) => return fail.into_response(),
    };
    let (core, registered) = shared.register(session, kind.protocol(), resume);
    let content_type = kind.content_type();
    let jsonp = matches!(kind, Kind::Jsonp(_));
    let body = receiver::body(
        kind,
        core,
        registered,
        shared.options.response_limit,
        shared.options.heartbeat_delay,
    );
    let mut res = response(StatusCode::OK, Some(content_type), body);
    if jsonp {
        set(&mut res, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    }
    res
}

/// `xhr_send` and `jsonp_send`: messages from the client to the session. A session that is
/// no longer open (interrupted after its receiving request was cut, or closing) answers 404
/// as an unknown one does, so the client sends the messages again on its next session rather
/// than counting them delivered (sockjs-node answers 204 and drops them). A resumable
/// session takes numbered payloads, and drops the messages it has already.
fn deliver(shared: &Shared, session: &str, payload: &str) -> Result<(), Fail> {
    let Some(core) = shared.find(session) else {
        // A payload no session could take is refused as such, as before sessions had kinds.
        return match decode_payload(payload) {
            Err(e) if resume::decode_payload(payload).is_err() => Err(payload_error(e)),
            _ => Err(Fail::NOT_FOUND),
        };
    };
    core.deliver(payload, false)
        .map_err(|refused| match refused {
            Refused::Payload(e) => payload_error(e),
            Refused::Gap => Fail(
                StatusCode::BAD_REQUEST,
                "Resume: messages missing before this payload.\n",
            ),
            Refused::BadAck => Fail(
                StatusCode::BAD_REQUEST,
                "Resume: acknowledgement of messages never sent.\n",
            ),
            _ => Fail::NOT_FOUND,
        })
}

async fn transport(
    shared: Arc<Shared>,
    req: Request,
    session: &str,
    transport: Transport,
) -> Response {
    let query = req.uri().query().unwrap_or("").to_owned();
    match transport {
        Transport::Xhr => receive(&shared, session, Kind::XhrPolling, &query),
        Transport::XhrStreaming => receive(&shared, session, Kind::XhrStreaming, &query),
        Transport::EventSource => receive(&shared, session, Kind::EventSource, &query),
        Transport::HtmlFile => match callback(&query) {
            Ok(cb) => receive(&shared, session, Kind::HtmlFile(cb), &query),
            Err(fail) => fail.into_response(),
        },
        Transport::Jsonp => match callback(&query) {
            Ok(cb) => receive(&shared, session, Kind::Jsonp(cb), &query),
            Err(fail) => fail.into_response(),
        },
        Transport::XhrSend => {
            let delivered = match read_body(req.into_body(), shared.options.max_payload).await {
                Ok(body) => deliver(&shared, session, &body),
                Err(fail) => Err(fail),
            };
            match delivered {
                // Firefox treats a body-less answer without a content type as XML and complains.
                Ok(()) => response(StatusCode::NO_CONTENT, Some(TEXT), Body::empty()),
                Err(fail) => fail.into_response(),
            }
        }
        Transport::JsonpSend => {
            let form = content_type(req.headers()) == "application/x-www-form-urlencoded";
            let delivered = match read_body(req.into_body(), shared.options.max_payload).await {
                // A form carries the JSON in field `d`; anything else is the JSON itself.
                Ok(body) if form => deliver(
                    &shared,
                    session,
                    &form_field(&body, "d").unwrap_or_default(),
                ),
                Ok(body) => deliver(&shared, session, &body),
                Err(fail) => Err(fail),
            };
            match delivered {
                // Not 204: some browsers mishandle an empty answer to a form post.
                Ok(()) => text(StatusCode::OK, "ok"),
                Err(fail) => fail.into_response(),
            }
        }
        Transport::WebSocket => websocket(shared, req, true).await,
    }
}

/// An endpoint as mounted: its state and the path prefix it is mounted at.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub(crate) shared: Arc<Shared>,
    pub(crate) prefix: Arc<str>,
}

/// Serves every request under the endpoint.
pub(crate) async fn dispatch(State(endpoint): State<Endpoint>, req: Request) -> Response {
    let shared = endpoint.shared;
    let req_headers = req.headers().clone();
    let method = req.method().clone();
    // The router only sends paths under the prefix; anything else would be a 404 (`/.`).
    let path = req
        .uri()
        .path()
        .strip_prefix(&*endpoint.prefix)
        .unwrap_or("/.")
        .to_owned();
    let mut res = match Route::parse(&path, shared.options.websocket) {
        Route::Greeting if method == Method::GET => text(StatusCode::OK, "Welcome to SockJS!\n"),
        Route::Iframe if method == Method::GET => iframe(&shared, &req_headers),
        Route::Greeting | Route::Iframe => method_not_allowed("GET"),
        Route::Info if method == Method::GET => info(&shared),
        Route::Info if method == Method::OPTIONS => preflight("OPTIONS, GET"),
        Route::Info => method_not_allowed("OPTIONS, GET"),
        Route::RawWebSocket if method == Method::GET => return websocket(shared, req, false).await,
        Route::RawWebSocket
        | Route::Session {
            transport: Transport::WebSocket,
            ..
        } if method != Method::GET => method_not_allowed("GET"),
        Route::Session {
            session,
            transport: t,
        } => {
            let (allow, preflight_methods) = match t.method() {
                Method::POST => ("OPTIONS, POST", "OPTIONS, POST"),
                _ => ("OPTIONS, GET", "OPTIONS, GET"),
            };
            let mut res = if method == Method::OPTIONS {
                preflight(preflight_methods)
            } else if method != t.method() {
                method_not_allowed(allow)
            } else {
                let res = transport(shared.clone(), req, session, t).await;
                if res.status() == StatusCode::SWITCHING_PROTOCOLS {
                    return res;
                }
                res
            };
            if method != Method::OPTIONS && res.status() != StatusCode::METHOD_NOT_ALLOWED {
                set(&mut res, header::CACHE_CONTROL, NO_CACHE);
            }
            if shared.options.cookie_needed && t != Transport::WebSocket {
                res.headers_mut()
                    .insert(header::SET_COOKIE, session_cookie(&req_headers));
            }
            res
        }
        Route::RawWebSocket | Route::NotFound => not_found(),
    };
    cors(&req_headers, &mut res);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever JSON encoder a client uses, its string arrays decode; serde_json stands in for
    /// one that escapes differently from sockjs-client.
    #[test]
    fn payloads_from_any_json_encoder() {
        let all: String = (0u32..0x11_0000).filter_map(char::from_u32).collect();
        let sent = vec![all, String::new(), "</script>".to_owned()];
        let json = serde_json::to_string(&sent).unwrap_or_default();
        assert_eq!(decode_payload(&json), Ok(sent));
        let answer = |payload: &str| {
            let Fail(status, body) = decode_payload(payload).map_err(payload_error).err()?;
            Some((status.as_u16(), body))
        };
        assert_eq!(answer("[1]"), Some((500, "Payload expected.")));
        assert_eq!(answer(""), Some((500, "Payload expected.")));
        assert_eq!(answer("[\"a\""), Some((500, "Broken JSON encoding.")));
        assert_eq!(answer("[]"), None);
    }

    #[test]
    fn routes() {
        assert_eq!(Route::parse("/", true), Route::Greeting);
        assert_eq!(Route::parse("", true), Route::Greeting);
        assert_eq!(Route::parse("//", true), Route::NotFound);
        assert_eq!(Route::parse("/info/", true), Route::Info);
        assert_eq!(Route::parse("/websocket", true), Route::RawWebSocket);
        assert_eq!(Route::parse("/websocket", false), Route::NotFound);
        assert_eq!(
            Route::parse("/iframe-0.1.2abc-dirty.2144.html", true),
            Route::Iframe
        );
        for bad in ["/iframe.htm", "/iframe", "/IFRAME.HTML", "/iframe-/.html"] {
            assert_eq!(Route::parse(bad, true), Route::NotFound, "{bad}");
        }
        assert_eq!(
            Route::parse("/000/abc/xhr_send", true),
            Route::Session {
                session: "abc",
                transport: Transport::XhrSend
            }
        );
        assert_eq!(
            Route::parse("/a/b/websocket/", true),
            Route::Session {
                session: "b",
                transport: Transport::WebSocket
            }
        );
        assert_eq!(Route::parse("/a/b/websocket", false), Route::NotFound);
        for bad in [
            "/a./a/xhr",
            "/a/a./xhr",
            "/./././xhr",
            "//xhr",
            "///xhr",
            "/a/b/c/xhr",
            "/a/b/nope",
            "/a/b",
        ] {
            assert_eq!(Route::parse(bad, true), Route::NotFound, "{bad}");
        }
    }

    #[test]
    fn dates() {
        let at = |s: u64| http_date(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(at(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(at(1_700_000_000), "Tue, 14 Nov 2023 22:13:20 GMT");
        assert_eq!(at(4_107_542_399), "Sun, 28 Feb 2100 23:59:59 GMT");
        assert_eq!(at(4_133_980_799), "Fri, 31 Dec 2100 23:59:59 GMT");
    }

    #[test]
    fn callbacks() {
        assert_eq!(callback("c=%63allback").ok().as_deref(), Some("callback"));
        assert_eq!(
            callback("callback=a.b_c-1").ok().as_deref(),
            Some("a.b_c-1")
        );
        for bad in [
            "c=%20",
            "c=*",
            "c=abc(",
            "c=abc%28",
            "c=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ] {
            assert!(callback(bad).is_err(), "{bad}");
        }
        assert!(callback("").is_err());
        assert!(callback("c=").is_err());
    }

    #[test]
    fn cookies() {
        let mut h = HeaderMap::new();
        assert_eq!(session_cookie(&h), "JSESSIONID=dummy; path=/");
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; JSESSIONID=abcdef"),
        );
        assert_eq!(session_cookie(&h), "JSESSIONID=abcdef; path=/");
    }
}
