//! WebSocket handshake inputs: the URL scheme mapping and subprotocol validation.
//!
//! Browsers accept `ws:` and `wss:` URLs everywhere, and since 2024 also `http:`/`https:` and
//! relative URLs; older browsers throw a `SyntaxError` for those. cometkit maps the scheme itself
//! so every browser gets the same, newer behaviour:
//!
//! - `http:` becomes `ws:`, `https:` becomes `wss:`, `ws:`/`wss:` stay;
//! - any other scheme (`ftp:`, `javascript:`, `data:`, `file:` ...) is an [`Error::invalid`];
//! - a fragment (`#...`) is **stripped**: it is never sent to the server, and older browsers
//!   refuse a WebSocket URL that has one. This matches what `fetch` and XHR do with fragments.
//!
//! Resolving a relative URL against the page is the transport's job (it uses the browser's URL
//! parser); [`to_ws_url`] then maps the absolute URL the parser produced.

use crate::url::split_byte;
use crate::Error;

/// Maps an absolute URL to the `ws:`/`wss:` URL to connect to (see the module docs).
///
/// `url` is expected in the form the WHATWG URL parser serializes (`scheme://host/path?query`),
/// as `new URL(..).href` returns; the scheme is matched case-insensitively and written in lower
/// case.
///
/// Fails with [`Error::invalid`] when `url` has no scheme, a scheme other than `ws`, `wss`,
/// `http` or `https`, or no host.
pub fn to_ws_url(url: &str) -> Result<String, Error> {
    let (scheme, rest) = match split_byte(url, b':') {
        Some((s, rest)) if is_scheme(s) => (s, rest),
        _ => {
            return Err(Error::invalid(
                "WebSocket URL must be absolute, with a scheme",
            ))
        }
    };
    let scheme = if scheme.eq_ignore_ascii_case("ws") || scheme.eq_ignore_ascii_case("http") {
        "ws"
    } else if scheme.eq_ignore_ascii_case("wss") || scheme.eq_ignore_ascii_case("https") {
        "wss"
    } else {
        return Err(Error::invalid(
            "WebSocket URL scheme must be ws:, wss:, http: or https:",
        ));
    };
    let rest = split_byte(rest, b'#').map_or(rest, |(before, _)| before);
    let has_host = rest
        .strip_prefix("//")
        .and_then(|authority| authority.chars().next())
        .is_some_and(|c| !matches!(c, '/' | '?'));
    if !has_host {
        return Err(Error::invalid("WebSocket URL has no host"));
    }
    Ok(crate::error::concat(&[scheme, ":", rest]))
}

/// RFC 3986 scheme: a letter, then letters, digits, `+`, `-`, `.`.
fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Checks one subprotocol name: a non-empty HTTP token (letters, digits and
/// ``!#$%&'*+-.^_`|~``; no spaces, commas, quotes or non-ASCII).
pub fn check_protocol(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::invalid("WebSocket subprotocol must not be empty"));
    }
    if !name.bytes().all(super::is_tchar) {
        return Err(Error::invalid(crate::error::concat(&[
            "WebSocket subprotocol `",
            name,
            "` has a character not allowed in a token",
        ])));
    }
    Ok(())
}

/// Checks the subprotocols offered in a handshake: each valid ([`check_protocol`]), none listed
/// twice (names are compared exactly, as browsers do). Fails with [`Error::invalid`].
pub fn check_protocols(names: &[&str]) -> Result<(), Error> {
    for (i, name) in names.iter().enumerate() {
        check_protocol(name)?;
        if names.iter().take(i).any(|earlier| earlier == name) {
            return Err(Error::invalid(crate::error::concat(&[
                "WebSocket subprotocol `",
                name,
                "` is listed twice",
            ])));
        }
    }
    Ok(())
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn maps_http_schemes_and_keeps_ws_schemes() {
        assert_eq!(
            to_ws_url("http://example.com/chat").unwrap(),
            "ws://example.com/chat"
        );
        assert_eq!(
            to_ws_url("https://example.com:8443/a?b=c").unwrap(),
            "wss://example.com:8443/a?b=c"
        );
        assert_eq!(to_ws_url("ws://127.0.0.1:9/").unwrap(), "ws://127.0.0.1:9/");
        assert_eq!(to_ws_url("wss://[::1]/x").unwrap(), "wss://[::1]/x");
        assert_eq!(
            to_ws_url("HTTPS://Example.com/").unwrap(),
            "wss://Example.com/"
        );
        assert_eq!(to_ws_url("Ws://h/").unwrap(), "ws://h/");
    }

    #[test]
    fn strips_fragments() {
        assert_eq!(to_ws_url("ws://h/p?q=1#frag").unwrap(), "ws://h/p?q=1");
        assert_eq!(to_ws_url("http://h/p#").unwrap(), "ws://h/p");
        assert_eq!(to_ws_url("https://h#x").unwrap(), "wss://h");
    }

    #[test]
    fn rejects_other_schemes() {
        for url in [
            "ftp://example.com/",
            "javascript:alert(1)",
            "data:text/plain,hi",
            "file:///etc/passwd",
            "blob:http://h/uuid",
            "mailto:a@b",
        ] {
            let err = to_ws_url(url).unwrap_err();
            assert!(err.is_invalid(), "{url}");
            assert!(
                err.message().contains("ws:, wss:, http: or https:"),
                "{url}"
            );
        }
    }

    #[test]
    fn rejects_urls_without_scheme_or_host() {
        for url in [
            "",
            "example.com/x",
            "/relative",
            "//host/x",
            "1ws://h/",
            "w s://h/",
        ] {
            let err = to_ws_url(url).unwrap_err();
            assert!(err.message().contains("absolute"), "{url}: {err}");
        }
        for url in [
            "ws:",
            "ws:/x",
            "ws:///x",
            "http://?q",
            "wss://#x",
            "ws:host/x",
        ] {
            let err = to_ws_url(url).unwrap_err();
            assert!(
                err.is_invalid() && err.message().contains("no host"),
                "{url}: {err}"
            );
        }
    }

    #[test]
    fn protocols_are_tokens() {
        for ok in [
            "chat",
            "chat.v2",
            "graphql-transport-ws",
            "v10.stomp",
            "a!#$%&'*+-.^_`|~9",
        ] {
            assert!(check_protocol(ok).is_ok(), "{ok}");
        }
        assert!(check_protocol("").unwrap_err().message().contains("empty"));
        for bad in [
            "a b", "a,b", "\"q\"", "chat/1", "é", "a\tb", "(x)", "a:b", "[x]", "a=b",
        ] {
            let err = check_protocol(bad).unwrap_err();
            assert!(
                err.is_invalid() && err.message().contains("not allowed"),
                "{bad}"
            );
        }
    }

    #[test]
    fn protocol_lists_have_no_duplicates() {
        assert!(check_protocols(&[]).is_ok());
        assert!(check_protocols(&["a", "b", "A"]).is_ok());
        let err = check_protocols(&["a", "b", "a"]).unwrap_err();
        assert!(err.is_invalid() && err.message().contains("`a` is listed twice"));
        assert!(check_protocols(&["ok", "not ok"])
            .unwrap_err()
            .message()
            .contains("not ok"));
    }
}
