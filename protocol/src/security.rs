//! The rules behind cometkit's security helpers, as pure functions over strings: which origins
//! may receive a CSRF token, which JSONP origins are trusted, which URLs secure-only mode
//! refuses, and how a token is read out of a `document.cookie` string.
//!
//! Origins are compared in the form the browser serialises them (`URL.origin`, `self.origin`):
//! lowercase scheme and host, no default port, no trailing slash, IPv6 in brackets, IDN hosts
//! in punycode. Allow-list entries written by people go through [`normalize_origin`] first, so
//! `HTTPS://Example.com:443/` and `https://example.com` are the same entry. An opaque origin
//! (`"null"`: sandboxed frames, `data:` and `file:` pages) matches nothing, not even itself.
//!
//! The browser side (resolving a URL against the page, reading `document.cookie` and `<meta>`
//! tags) lives in `transport::page`; the policy that combines both in [`crate::security`].

use crate::url::split_byte;

/// Whether plain-text URLs (`http:`, `ws:`) are refused before anything is sent.
///
/// ```
/// use cometkit_protocol::security::{check_secure, SecureOnly};
///
/// let policy = SecureOnly::AllowLoopback;
/// assert!(check_secure("https:", "example.com", policy).is_ok());
/// assert!(check_secure("ws:", "localhost", policy).is_ok());
/// assert!(check_secure("http:", "example.com", policy).is_err());
/// assert!(check_secure("http:", "example.com", SecureOnly::default()).is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecureOnly {
    /// Any scheme the transport supports (the default).
    #[default]
    Off,
    /// Only `https:` and `wss:`.
    Always,
    /// Only `https:` and `wss:`, except to loopback hosts ([`is_loopback_host`]): traffic that
    /// never leaves the machine, as in local development.
    AllowLoopback,
}

/// Why [`check_secure`] refused a URL.
pub const INSECURE_URL: &str = "secure-only mode refuses http: and ws: URLs; use https: or wss:";

/// True for hosts that name this machine: `localhost` and `*.localhost` (RFC 6761; browsers
/// resolve them to loopback without asking DNS), IPv4 `127.0.0.0/8` and IPv6 `[::1]`, as the
/// URL parser serialises them. A trailing root dot (`localhost.`) is allowed.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.strip_suffix(".").unwrap_or(host);
    if host.eq_ignore_ascii_case("localhost") || host == "[::1]" {
        return true;
    }
    let suffix = ".localhost";
    if host.len() > suffix.len() {
        if let Some(tail) = host.get(host.len() - suffix.len()..) {
            if tail.eq_ignore_ascii_case(suffix) {
                return true;
            }
        }
    }
    is_ipv4_loopback(host)
}

/// Four dotted decimal octets, the first 127 (the URL parser has already turned `127.1` and
/// `0x7f.0.0.1` into this form).
fn is_ipv4_loopback(host: &str) -> bool {
    let mut parts = 0;
    let mut first = true;
    let mut rest = Some(host);
    while let Some(chunk) = rest {
        let part = match split_byte(chunk, b'.') {
            Some((part, next)) => {
                rest = Some(next);
                part
            }
            None => {
                rest = None;
                chunk
            }
        };
        parts += 1;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let value = part.bytes().fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
        if value > 255 || (first && value != 127) {
            return false;
        }
        first = false;
    }
    parts == 4
}

/// Applies `policy` to a URL whose scheme (`"https:"` as `URL.protocol` gives it, or without
/// the colon) and host (`URL.hostname`) are known. Only `http` and `ws` are refused: other
/// schemes do not travel over the network in clear, and each transport refuses the ones it
/// cannot use anyway.
pub fn check_secure(scheme: &str, host: &str, policy: SecureOnly) -> Result<(), &'static str> {
    let scheme = scheme.strip_suffix(":").unwrap_or(scheme);
    let plain = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("ws");
    match policy {
        SecureOnly::Off => Ok(()),
        _ if !plain => Ok(()),
        SecureOnly::AllowLoopback if is_loopback_host(host) => Ok(()),
        SecureOnly::Always | SecureOnly::AllowLoopback => Err(INSECURE_URL),
    }
}

/// An allow-list entry in the browser's serialisation: `scheme://host[:port]`, scheme `http`
/// or `https`, scheme and host lowercased, the scheme's default port and one trailing `/`
/// dropped. A leading `*.` label (`https://*.example.com`) matches every subdomain of
/// `example.com` (not `example.com` itself) on that scheme and port.
///
/// Refused: other schemes, a path, query, fragment or user info, an empty or malformed host,
/// a port above 65535, and non-ASCII hosts (write them in punycode, `xn--...`, as the browser
/// serialises them).
pub fn normalize_origin(entry: &str) -> Result<String, &'static str> {
    let lower = entry.to_ascii_lowercase();
    let (scheme, rest, default_port) = if let Some(rest) = lower.strip_prefix("https://") {
        ("https://", rest, 443)
    } else if let Some(rest) = lower.strip_prefix("http://") {
        ("http://", rest, 80)
    } else {
        return Err(BAD_ORIGIN);
    };
    let rest = rest.strip_suffix("/").unwrap_or(rest);
    // The port follows the last ':' that is not inside an IPv6 literal's brackets.
    let (host, port) = match rest.bytes().rposition(|b| b == b':' || b == b']') {
        Some(i) if rest.as_bytes().get(i) == Some(&b':') => (
            rest.get(..i).ok_or(BAD_ORIGIN)?,
            rest.get(i + 1..).ok_or(BAD_ORIGIN)?,
        ),
        _ => (rest, ""),
    };
    let valid_host = if let Some(v6) = host.strip_prefix("[").and_then(|h| h.strip_suffix("]")) {
        !v6.is_empty()
            && v6
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
    } else {
        let name = host.strip_prefix("*.").unwrap_or(host);
        !name.is_empty()
            && !name.starts_with('.')
            && !name.ends_with('.')
            && find(name, b"..").is_none()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    };
    if !valid_host || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BAD_ORIGIN);
    }
    let explicit = !port.is_empty();
    let port = port.bytes().fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
    if port > 65_535 {
        return Err(BAD_ORIGIN);
    }
    let mut out = String::with_capacity(lower.len());
    out.push_str(scheme);
    out.push_str(host);
    if explicit && port != default_port {
        out.push(':');
        crate::error::push_decimal(&mut out, port);
    }
    Ok(out)
}

/// Why [`normalize_origin`] refused an entry.
pub const BAD_ORIGIN: &str =
    "an origin must look like https://host or http://host:port (host in ASCII: punycode for IDN)";

/// True when `origin` (as the browser serialises it) matches the normalised entry `pattern`:
/// equal, or for a `*.` pattern, same scheme and port on a strict subdomain.
pub fn origin_matches(pattern: &str, origin: &str) -> bool {
    if origin == "null" {
        return false;
    }
    let Some(star) = find(pattern, b"://*.") else {
        return pattern == origin;
    };
    let (Some(scheme), Some(suffix)) = (pattern.get(..star + 3), pattern.get(star + 4..)) else {
        return false;
    };
    // `suffix` is `.example.com[:port]`: the origin must be `scheme://<labels>.example.com[:port]`.
    let Some(rest) = origin.strip_prefix(scheme) else {
        return false;
    };
    rest.len() > suffix.len()
        && rest.ends_with(suffix)
        && rest
            .get(..rest.len() - suffix.len())
            .is_some_and(|labels| !labels.bytes().any(|b| matches!(b, b':' | b'[' | b'/')))
}

/// True when `origin` matches an entry of `list`; an entry that is not a valid origin is an
/// error (naming no entry: the caller knows which option it came from).
pub fn origin_in_list<S: AsRef<str>>(list: &[S], origin: &str) -> Result<bool, &'static str> {
    let mut found = false;
    for entry in list {
        let pattern = normalize_origin(entry.as_ref())?;
        found |= origin_matches(&pattern, origin);
    }
    Ok(found)
}

/// Same-origin in the browser's sense: two serialised origins are equal and not opaque.
pub fn same_origin(page: &str, target: &str) -> bool {
    page != "null" && page == target
}

/// The CSRF rule: a token may go to the page's own origin, and to origins matching one of the
/// `patterns` (entries already through [`normalize_origin`]), never elsewhere: a token sent to
/// another origin can be replayed by it.
pub fn may_send_token<S: AsRef<str>>(page: &str, target: &str, patterns: &[S]) -> bool {
    same_origin(page, target) || patterns.iter().any(|p| origin_matches(p.as_ref(), target))
}

/// The value of cookie `name` in a `document.cookie` string (`a=1; b=2`): the first cookie of
/// that exact name, surrounding double quotes removed, percent-decoded ([`percent_decode`];
/// kept as it is when that fails). `None` when absent or empty.
pub fn cookie_value(cookies: &str, name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    let mut rest = Some(cookies);
    while let Some(chunk) = rest {
        let part = match split_byte(chunk, b';') {
            Some((part, next)) => {
                rest = Some(next);
                part
            }
            None => {
                rest = None;
                chunk
            }
        };
        let Some((key, value)) = split_byte(part, b'=') else {
            continue;
        };
        if key.trim_ascii() != name {
            continue;
        }
        let value = value.trim_ascii();
        let value = value
            .strip_prefix("\"")
            .and_then(|v| v.strip_suffix("\""))
            .unwrap_or(value);
        if value.is_empty() {
            return None;
        }
        return Some(percent_decode(value).unwrap_or_else(|| value.to_owned()));
    }
    None
}

/// `%XX` escapes of ASCII characters decoded, as `decodeURIComponent` does; `None` for a
/// malformed escape or an escaped non-ASCII byte. Tokens are ASCII, and leaving the rare other
/// case undecoded keeps UTF-8 validation (about 0.7 KB of wasm) out of the build.
pub fn percent_decode(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.bytes().position(|b| b == b'%') {
        out.push_str(rest.get(..i)?);
        let escape = rest.as_bytes().get(i + 1..i + 3)?;
        let byte = hex_value(*escape.first()?)? << 4 | hex_value(*escape.get(1)?)?;
        if byte >= 0x80 {
            return None;
        }
        out.push(char::from(byte));
        rest = rest.get(i + 3..)?;
    }
    out.push_str(rest);
    Some(out)
}

/// The byte offset of the first `needle` in `hay`. Used instead of `str::find(&str)`, whose
/// two-way searcher costs wasm bytes for these short, rare searches.
fn find(hay: &str, needle: &[u8]) -> Option<usize> {
    hay.as_bytes()
        .windows(needle.len())
        .position(|w| w == needle)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "LOCALHOST",
            "localhost.",
            "app.localhost",
            "a.b.Localhost",
            "127.0.0.1",
            "127.1.2.3",
            "127.255.255.255",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "",
            ".localhost",
            "localhost.example.com",
            "mylocalhost",
            "128.0.0.1",
            "127.0.0",
            "127.0.0.1.5",
            "127.0.0.256",
            "127.0.0.1a",
            "1270.0.0.1",
            "[::2]",
            "[::ffff:127.0.0.1]",
            "example.com",
            "0.0.0.0",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn secure_only_refuses_plain_schemes() {
        use SecureOnly::*;
        for scheme in ["http:", "ws:", "HTTP", "ws"] {
            assert_eq!(check_secure(scheme, "example.com", Off), Ok(()));
            assert_eq!(
                check_secure(scheme, "example.com", Always),
                Err(INSECURE_URL)
            );
            assert_eq!(
                check_secure(scheme, "example.com", AllowLoopback),
                Err(INSECURE_URL)
            );
            assert_eq!(check_secure(scheme, "127.0.0.1", Always), Err(INSECURE_URL));
            assert_eq!(check_secure(scheme, "127.0.0.1", AllowLoopback), Ok(()));
            assert_eq!(check_secure(scheme, "localhost", AllowLoopback), Ok(()));
            assert_eq!(check_secure(scheme, "[::1]", AllowLoopback), Ok(()));
        }
        for scheme in ["https:", "wss:", "https", "blob:"] {
            for policy in [Off, Always, AllowLoopback] {
                assert_eq!(check_secure(scheme, "example.com", policy), Ok(()));
            }
        }
        assert_eq!(SecureOnly::default(), Off);
    }

    #[test]
    fn origins_normalise_to_the_browser_form() {
        let ok = |s: &str| normalize_origin(s).unwrap();
        assert_eq!(ok("https://example.com"), "https://example.com");
        assert_eq!(ok("HTTPS://Example.COM:443/"), "https://example.com");
        assert_eq!(ok("http://example.com:80"), "http://example.com");
        assert_eq!(ok("http://example.com:443"), "http://example.com:443");
        assert_eq!(ok("https://example.com:8443"), "https://example.com:8443");
        assert_eq!(ok("http://127.0.0.1:08090"), "http://127.0.0.1:8090");
        assert_eq!(ok("http://127.0.0.1:"), "http://127.0.0.1");
        assert_eq!(ok("http://[::1]:8080"), "http://[::1]:8080");
        assert_eq!(ok("http://[::1]"), "http://[::1]");
        assert_eq!(ok("http://[::1]:80/"), "http://[::1]");
        assert_eq!(ok("http://example.com:0"), "http://example.com:0");
        assert_eq!(ok("https://*.Example.com"), "https://*.example.com");
        assert_eq!(
            ok("https://xn--bcher-kva.example"),
            "https://xn--bcher-kva.example"
        );
        for bad in [
            "",
            "example.com",
            "//example.com",
            "ftp://example.com",
            "javascript://example.com",
            "https://",
            "https:///",
            "https://example.com/path",
            "https://example.com?q",
            "https://example.com#f",
            "https://user@example.com",
            "https://example.com:99999",
            "https://example.com:123456",
            "https://example.com:8a",
            "https://a:b:c",
            "https://exa mple.com",
            "https://bücher.example",
            "https://*",
            "https://*.",
            "https://a.*.example.com",
            "https://*example.com",
            "https://.example.com",
            "https://example..com",
            "https://[::1",
            "https://[]",
            "https://[::1]x",
            "https://[zz::1]",
            "null",
            "*",
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn origins_match_exactly_or_by_subdomain_wildcard() {
        let m = |pattern: &str, origin: &str| {
            origin_matches(&normalize_origin(pattern).unwrap(), origin)
        };
        assert!(m("https://example.com", "https://example.com"));
        assert!(m("https://example.com:443", "https://example.com"));
        assert!(!m("https://example.com", "http://example.com"));
        assert!(!m("https://example.com", "https://example.com:8443"));
        assert!(!m("https://example.com", "https://api.example.com"));
        assert!(!m("https://example.com", "https://example.com.evil.test"));
        assert!(!m("http://127.0.0.1:8090", "http://127.0.0.1:8091"));
        assert!(m("http://127.0.0.1:8090", "http://127.0.0.1:8090"));

        assert!(m("https://*.example.com", "https://api.example.com"));
        assert!(m("https://*.example.com", "https://a.b.example.com"));
        assert!(!m("https://*.example.com", "https://example.com"));
        assert!(!m("https://*.example.com", "https://.example.com"));
        assert!(!m("https://*.example.com", "http://api.example.com"));
        assert!(!m("https://*.example.com", "https://api.example.com:8443"));
        assert!(!m("https://*.example.com", "https://evilexample.com"));
        assert!(!m(
            "https://*.example.com",
            "https://api.example.com.evil.test"
        ));
        assert!(m(
            "https://*.example.com:8443",
            "https://api.example.com:8443"
        ));
        assert!(!m("https://*.example.com:8443", "https://api.example.com"));
        assert!(!m(
            "https://*.example.com:8443",
            "https://x:1.example.com:8443"
        ));

        // An opaque origin matches nothing.
        assert!(!origin_matches("null", "null"));
    }

    #[test]
    fn token_goes_same_origin_or_to_listed_origins_only() {
        let none: [&str; 0] = [];
        let page = "http://127.0.0.1:4000";
        assert!(may_send_token(page, page, &none));
        assert!(!may_send_token(page, "http://127.0.0.1:8090", &none));
        assert!(!may_send_token(page, "http://localhost:4000", &none));
        assert!(!may_send_token(page, "https://127.0.0.1:4000", &none));
        let list = [normalize_origin("http://127.0.0.1:8090/").unwrap()];
        assert!(may_send_token(page, "http://127.0.0.1:8090", &list));
        assert!(!may_send_token(page, "http://127.0.0.1:8091", &list));
        assert!(may_send_token(page, page, &list));
        let wildcard = [normalize_origin("https://*.example.com").unwrap()];
        assert!(may_send_token(page, "https://api.example.com", &wildcard));
        assert!(!may_send_token(page, "https://example.com", &wildcard));
        // Opaque page origin: nothing is same-origin.
        assert!(!may_send_token("null", "null", &none));
        assert!(!same_origin("null", "null"));
        // Lists of raw entries (JSONP) are normalised on use; a malformed one is an error.
        assert_eq!(
            origin_in_list(&["HTTP://127.0.0.1:8090/"], "http://127.0.0.1:8090"),
            Ok(true)
        );
        assert!(origin_in_list(&["x.example"], "http://x").is_err());
        assert_eq!(origin_in_list(&none, "https://example.com"), Ok(false));
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let jar =
            "a=1; XSRF-TOKEN=abc%2Fdef%3D;  other=x ;quoted=\"q v\"; empty=; dup=first; dup=second";
        assert_eq!(cookie_value(jar, "XSRF-TOKEN").as_deref(), Some("abc/def="));
        assert_eq!(cookie_value(jar, "a").as_deref(), Some("1"));
        assert_eq!(cookie_value(jar, "other").as_deref(), Some("x"));
        assert_eq!(cookie_value(jar, "quoted").as_deref(), Some("q v"));
        assert_eq!(cookie_value(jar, "dup").as_deref(), Some("first"));
        assert_eq!(cookie_value(jar, "empty"), None);
        assert_eq!(cookie_value(jar, "xsrf-token"), None);
        assert_eq!(cookie_value(jar, "XSRF"), None);
        assert_eq!(cookie_value(jar, "TOKEN"), None);
        assert_eq!(cookie_value(jar, ""), None);
        assert_eq!(cookie_value("", "a"), None);
        assert_eq!(cookie_value("novalue; a=2", "a").as_deref(), Some("2"));
        // A value that does not decode is kept as it is.
        assert_eq!(cookie_value("t=100%; u=%E9", "t").as_deref(), Some("100%"));
        assert_eq!(cookie_value("t=100%; u=%E9", "u").as_deref(), Some("%E9"));
        // '=' inside the value belongs to the value.
        assert_eq!(cookie_value("t=a=b", "t").as_deref(), Some("a=b"));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%2fc").as_deref(), Some("a b/c"));
        assert_eq!(percent_decode("%7E%41").as_deref(), Some("~A"));
        assert_eq!(percent_decode("é%20x").as_deref(), Some("é x"));
        assert_eq!(percent_decode("%C3%A9"), None);
        assert_eq!(percent_decode("plain").as_deref(), Some("plain"));
        assert_eq!(percent_decode("%"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%FF"), None);
    }
}
