//! HTML form encoding without a browser: the
//! [`application/x-www-form-urlencoded`](https://url.spec.whatwg.org/#application/x-www-form-urlencoded)
//! serializer, the `text/plain` form encoding, and the line-break normalisation both apply to
//! a form's entries.
//!
//! Which controls a form submits, and with what value ("constructing the entry list"), is the
//! browser's own: the XHR transport takes it from `new FormData(form)`, which follows the HTML
//! standard exactly (including its newer rules, such as `dirname`) and costs no code here.
//!
//! The other direction, for a server: [`form_decode`] and [`form_field`] read an urlencoded
//! body or a query string (the SockJS server takes JSONP callbacks and `jsonp_send` form
//! bodies through them).

use crate::url::{push_percent, split_byte};

/// Replaces every CR not followed by LF, and every LF not preceded by CR, with CRLF.
pub fn normalize_newlines(s: &str) -> String {
    if !s.bytes().any(|b| b == b'\r' || b == b'\n') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                out.push_str("\r\n");
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
            }
            '\n' => out.push_str("\r\n"),
            c => out.push(c),
        }
    }
    out
}

/// Appends `s` in `application/x-www-form-urlencoded` byte serialization: space becomes `+`,
/// ASCII alphanumerics and `*-._` stay, every other UTF-8 byte becomes `%XX`.
fn push_urlencoded(out: &mut String, s: &str) {
    for &b in s.as_bytes() {
        match b {
            b' ' => out.push('+'),
            b if b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_') => {
                out.push(b as char)
            }
            b => push_percent(out, b),
        }
    }
}

/// Serializes pairs as `application/x-www-form-urlencoded` (what `URLSearchParams.toString()`
/// produces): `name=value` joined by `&`, each side byte-serialized (space as `+`). Newlines
/// are left as given (see [`normalize_newlines`]).
pub fn urlencode(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        push_urlencoded(&mut out, name);
        out.push('=');
        push_urlencoded(&mut out, value);
    }
    out
}

/// The `text/plain` form encoding: `name=value` followed by CRLF for each pair, nothing
/// escaped (the format is ambiguous by design; HTML says it is for humans).
pub fn text_plain(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        out.push_str(name);
        out.push('=');
        out.push_str(value);
        out.push_str("\r\n");
    }
    out
}

/// The value of one ASCII hex digit.
fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes one name or value of `application/x-www-form-urlencoded` text (a form body or a
/// query string), as the URL standard's parser does: `+` is a space, `%` and two hex digits a
/// byte; a `%` without two hex digits stays as it is, and bytes that are not UTF-8 become
/// U+FFFD.
pub fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.get(i).copied().and_then(hex_digit);
                let lo = bytes.get(i + 1).copied().and_then(hex_digit);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => {
                        out.push(hi << 4 | lo);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
    }
    match String::from_utf8(out) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// The decoded value of the first field called `name` in urlencoded text (`a=1&b=2`), matching
/// on the decoded name. A field without `=` has the empty value; an empty field (`a=1&&b=2`, or
/// empty text) is no field at all, as in the URL standard's parser, so it never matches the
/// empty name; `None` when no field has the name.
pub fn form_field(s: &str, name: &str) -> Option<String> {
    s.split('&').find_map(|pair| {
        if pair.is_empty() {
            return None;
        }
        let (key, value) = split_byte(pair, b'=').unwrap_or((pair, ""));
        (form_decode(key) == name).then(|| form_decode(value))
    })
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn urlencodes_like_url_search_params() {
        // Expected strings from `new URLSearchParams(pairs).toString()` in a browser.
        assert_eq!(
            urlencode(&p(&[("a b", "c+d"), ("é", "&=?#/")])),
            "a+b=c%2Bd&%C3%A9=%26%3D%3F%23%2F"
        );
        assert_eq!(
            urlencode(&p(&[("k", "*-._~!'()")])),
            "k=*-._%7E%21%27%28%29"
        );
        assert_eq!(urlencode(&p(&[("x", "1\r\n2"), ("", "")])), "x=1%0D%0A2&=");
        assert_eq!(urlencode(&p(&[("e", "😀")])), "e=%F0%9F%98%80");
        assert_eq!(urlencode(&[]), "");
    }

    #[test]
    fn normalizes_newlines_to_crlf() {
        assert_eq!(
            normalize_newlines("a\nb\rc\r\nd\n\re"),
            "a\r\nb\r\nc\r\nd\r\n\r\ne"
        );
        assert_eq!(normalize_newlines("\r"), "\r\n");
        assert_eq!(normalize_newlines("plain"), "plain");
    }

    #[test]
    fn text_plain_encoding() {
        assert_eq!(
            text_plain(&p(&[("a", "1 2"), ("b", "x=y")])),
            "a=1 2\r\nb=x=y\r\n"
        );
    }

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("%5B%22m%22%5d"), r#"["m"]"#);
        assert_eq!(form_decode("one+two%20three"), "one two three");
        assert_eq!(form_decode("%C3%A9%F0%9F%98%80"), "é😀");
        // A `%` without two hex digits is kept, and a sign is no hex digit (a `+` is still a
        // space).
        assert_eq!(form_decode("50%"), "50%");
        assert_eq!(form_decode("%g1%4"), "%g1%4");
        assert_eq!(form_decode("%+5%-5"), "% 5%-5");
        assert_eq!(form_decode("%%41"), "%A");
        // Bytes that are not UTF-8.
        assert_eq!(form_decode("a%FFb%C3"), "a\u{fffd}b\u{fffd}");
        assert_eq!(form_decode(""), "");
    }

    #[test]
    fn form_fields() {
        assert_eq!(
            form_field("x=1&d=%5B%5D&d=other", "d").as_deref(),
            Some("[]")
        );
        assert_eq!(form_field("flag&c=cb", "flag").as_deref(), Some(""));
        assert_eq!(form_field("c=a=b", "c").as_deref(), Some("a=b"));
        assert_eq!(form_field("%63allback=f", "callback").as_deref(), Some("f"));
        assert_eq!(form_field("a+b=1", "a b").as_deref(), Some("1"));
        assert_eq!(form_field("cc=1&=2", "c"), None);
        assert_eq!(form_field("", "c"), None);
    }

    /// Found by the `form_query` fuzz target: the query of a URL without `?` is empty, and
    /// `form_field` answered `Some("")` for the empty name there, as if an empty query held
    /// one field named "". The URL standard skips empty fields.
    #[test]
    fn fuzz_form_field_empty_pairs_are_not_fields() {
        // The crashing input: `url_with_last_event_id(url, "", "")` on this URL (no `?`).
        let url = "htt\u{fffd}&=bps:/stEve=back=jQuerod/\u{e9}&=";
        let out = crate::sse::url_with_last_event_id(url, "", "");
        assert_eq!(out, url);
        let query = out.split_once('?').map_or("", |(_, q)| q);
        assert_eq!(form_field(query, ""), None);
        assert_eq!(form_field("", ""), None);
        assert_eq!(form_field("a=1&&b=2&", ""), None);
        // A field with an empty name still counts.
        assert_eq!(form_field("a=1&&=x", "").as_deref(), Some("x"));
        assert_eq!(form_field("&&c=cb", "c").as_deref(), Some("cb"));
    }
}
