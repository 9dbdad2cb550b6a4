//! HTTP header handling for the XHR family: parsing the text of
//! [`getAllResponseHeaders()`](https://developer.mozilla.org/docs/Web/API/XMLHttpRequest/getAllResponseHeaders)
//! into [`Headers`], and checking request methods and headers before anything is sent, so a
//! bad one is reported as [`ErrorKind::Invalid`](crate::ErrorKind::Invalid) instead of a
//! browser `SyntaxError`.

use crate::url::split_byte;
use crate::Error;

/// Response headers, names lowercased, in the order the browser listed them.
///
/// The browser has already joined repeated headers into one `a, b` value (and hidden the ones
/// CORS does not expose), so each name appears once.
///
/// ```
/// use cometkit_protocol::headers::Headers;
///
/// let headers = Headers::parse("Content-Type: Text/HTML; charset=utf-8\r\nX-Request-Id: 42\r\n");
/// assert_eq!(headers.get("x-request-id"), Some("42"));
/// assert_eq!(headers.get("X-REQUEST-ID"), Some("42"));
/// assert_eq!(headers.content_type().as_deref(), Some("text/html"));
/// assert_eq!(headers.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

/// HTTP whitespace around header values (space and horizontal tab).
fn trim_ows(s: &str) -> &str {
    // Byte positions rather than `trim_matches`: OWS is ASCII, and the char searchers cost wasm.
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let bytes = s.as_bytes();
    let start = bytes.iter().position(|b| !ows(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !ows(b)).map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or_default()
}

impl Headers {
    /// An empty header list.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// Parses `getAllResponseHeaders()` text: `name: value` lines separated by CRLF (a bare LF
    /// is accepted too). Lines without a colon or with a name that is not an HTTP token are
    /// skipped rather than failing the response.
    pub fn parse(text: &str) -> Headers {
        let mut headers = Headers::new();
        // Byte splits rather than `split('\n')`/`split_once(':')`: see `url::split_byte`.
        let mut rest = Some(text);
        while let Some(chunk) = rest {
            let line = match split_byte(chunk, b'\n') {
                Some((line, next)) => {
                    rest = Some(next);
                    line
                }
                None => {
                    rest = None;
                    chunk
                }
            };
            let line = line.strip_suffix("\r").unwrap_or(line);
            let Some((name, value)) = split_byte(line, b':') else {
                continue;
            };
            if is_token(name) {
                headers.append(name, trim_ows(value));
            }
        }
        headers
    }

    /// Adds a header; the name is stored lowercased.
    pub fn append(&mut self, name: &str, value: &str) {
        self.entries
            .push((name.to_ascii_lowercase(), value.to_owned()));
    }

    /// The value of `name`, compared case-insensitively; the first one if it was listed twice.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True when `name` (any case) is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// `(lowercase name, value)` pairs in the order received.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// How many headers there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `Content-Type` essence (`type/subtype`), lowercased, without parameters:
    /// `Text/HTML; charset=utf-8` gives `text/html`. `None` when absent or empty.
    pub fn content_type(&self) -> Option<String> {
        self.get("content-type").and_then(mime_essence)
    }
}

/// The lowercased `type/subtype` of a MIME type string, or `None` when it has no `/`.
pub fn mime_essence(mime: &str) -> Option<String> {
    let essence = trim_ows(split_byte(mime, b';').map_or(mime, |(essence, _)| essence));
    let (ty, sub) = split_byte(essence, b'/')?;
    if ty.is_empty() || sub.is_empty() {
        return None;
    }
    Some(essence.to_ascii_lowercase())
}

/// True when the MIME essence denotes JSON: `application/json`, `text/json` or any `+json`.
pub fn is_json_mime(essence: &str) -> bool {
    essence == "application/json" || essence == "text/json" || essence.ends_with("+json")
}

/// An HTTP token (RFC 9110 `tchar`s, at least one): what method and header names must be.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(super::is_tchar)
}

/// Checks a request method: it must be a token, and not `CONNECT`, `TRACE` or `TRACK`, which
/// browsers refuse.
pub fn validate_method(method: &str) -> Result<(), Error> {
    if !is_token(method) {
        return Err(Error::invalid(
            "request method must be an HTTP token (letters, digits, !#$%&'*+-.^_`|~)",
        ));
    }
    if ["CONNECT", "TRACE", "TRACK"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method))
    {
        return Err(Error::invalid(
            "request method CONNECT, TRACE and TRACK are forbidden by browsers",
        ));
    }
    Ok(())
}

/// Checks a request header: the name must be an HTTP token, and the value must not contain
/// NUL, CR or LF (header injection) or characters above U+00FF (headers are byte strings).
///
/// Names the browser manages itself (`Cookie`, `Host`, `Content-Length`, ...) pass this check;
/// the browser silently drops them, as the XHR specification requires.
pub fn validate_header(name: &str, value: &str) -> Result<(), Error> {
    if !is_token(name) {
        return Err(Error::invalid("request header name must be an HTTP token"));
    }
    if value.chars().any(|c| matches!(c, '\0' | '\r' | '\n')) {
        return Err(Error::invalid(
            "request header value must not contain NUL, CR or LF",
        ));
    }
    if value.chars().any(|c| u32::from(c) > 0xff) {
        return Err(Error::invalid(
            "request header value must only contain characters up to U+00FF",
        ));
    }
    Ok(())
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn parses_all_response_headers_text() {
        let h = Headers::parse(
            "content-type: Text/Plain; charset=UTF-8\r\nx-fixture: echo\r\nx-multi: a, b\r\n\
             junk line\r\n: no name\r\nbad name: x\r\nx-empty:\r\nx-colon: a:b \t\r\n",
        );
        assert_eq!(h.len(), 5);
        assert_eq!(h.get("Content-Type"), Some("Text/Plain; charset=UTF-8"));
        assert_eq!(h.get("X-FIXTURE"), Some("echo"));
        assert_eq!(h.get("x-multi"), Some("a, b"));
        assert_eq!(h.get("x-empty"), Some(""));
        assert_eq!(h.get("x-colon"), Some("a:b"));
        assert_eq!(h.get("missing"), None);
        assert!(h.contains("X-Multi"));
        assert_eq!(h.content_type().as_deref(), Some("text/plain"));
        let names: Vec<&str> = h.iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["content-type", "x-fixture", "x-multi", "x-empty", "x-colon"]
        );
    }

    #[test]
    fn parses_bare_lf_and_empty_text() {
        assert!(Headers::parse("").is_empty());
        let h = Headers::parse("A: 1\nB: 2\n");
        assert_eq!((h.get("a"), h.get("b")), (Some("1"), Some("2")));
        assert_eq!(h.get("a"), Some("1"));
    }

    #[test]
    fn first_of_repeated_names_wins() {
        let mut h = Headers::new();
        h.append("X-A", "1");
        h.append("x-a", "2");
        assert_eq!(h.get("X-a"), Some("1"));
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn content_type_essence() {
        assert_eq!(
            mime_essence("application/JSON;charset=utf-8").as_deref(),
            Some("application/json")
        );
        assert_eq!(mime_essence("  text/html  ").as_deref(), Some("text/html"));
        assert_eq!(mime_essence("nonsense"), None);
        assert_eq!(mime_essence("/x"), None);
        assert_eq!(Headers::new().content_type(), None);
        assert!(is_json_mime("application/json"));
        assert!(is_json_mime("application/problem+json"));
        assert!(!is_json_mime("text/plain"));
    }

    #[test]
    fn validates_methods() {
        for ok in [
            "GET",
            "post",
            "PATCH",
            "OPTIONS",
            "X-CUSTOM",
            "M!#$%&'*+-.^_`|~",
        ] {
            assert!(validate_method(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "GE T", "GET\r\n", "G(ET", "GÉT", "CONNECT", "trace", "Track",
        ] {
            assert!(validate_method(bad).unwrap_err().is_invalid(), "{bad:?}");
        }
    }

    #[test]
    fn validates_headers() {
        assert!(validate_header("X-Custom", "a value, with: anything é").is_ok());
        assert!(validate_header("Accept", "").is_ok());
        assert!(validate_header("X-A", "bad\r\nInjected: 1")
            .unwrap_err()
            .is_invalid());
        assert!(validate_header("X-A", "bad\nx").is_err());
        assert!(validate_header("X-A", "nul\0").is_err());
        assert!(validate_header("X-A", "€").is_err());
        assert!(validate_header("X A", "1").is_err());
        assert!(validate_header("", "1").is_err());
        assert!(validate_header("X:A", "1").is_err());
    }
}
