//! URL query building shared by every transport that puts data in a URL (XHR `params`, the
//! EventSource polyfill's `lastEventId`, JSONP callbacks, image pings).
//!
//! Encoding follows JavaScript's
//! [`encodeURIComponent`](https://developer.mozilla.org/docs/Web/JavaScript/Reference/Global_Objects/encodeURIComponent)
//! exactly, so a server sees the same bytes as from hand-written JS.

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// True for the characters `encodeURIComponent` leaves alone: `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        )
}

/// Appends `%XX` (uppercase hex) for `b` to `out`.
pub(crate) fn push_percent(out: &mut String, b: u8) {
    out.push('%');
    out.push(HEX[usize::from(b >> 4)] as char);
    out.push(HEX[usize::from(b & 0x0f)] as char);
}

/// Percent-encodes `s` like JavaScript's `encodeURIComponent`: unreserved characters
/// (`A-Z a-z 0-9 - _ . ! ~ * ' ( )`) are kept, every other character becomes its UTF-8 bytes
/// as `%XX` with uppercase hex.
///
/// Rust strings cannot hold lone surrogates, so the one case where the JS function throws
/// (`URIError`) cannot arise here.
pub fn encode_uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if is_unreserved(b) {
            out.push(b as char);
        } else {
            push_percent(&mut out, b);
        }
    }
    out
}

/// `name=value&name=value` with both sides encoded by [`encode_uri_component`].
pub fn query_string(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&encode_uri_component(name));
        out.push('=');
        out.push_str(&encode_uri_component(value));
    }
    out
}

/// `s` split around the first `delim` (an ASCII byte). The transports' parsers use this instead
/// of `str::split_once(char)`: the char searcher behind that carries a slice-index panic, which
/// links `core::fmt`'s integer formatting into the wasm.
pub(crate) fn split_byte(s: &str, delim: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|b| b == delim)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// Appends already-encoded query text (`a=1&b=2`) to `url`: `?` when the URL has no query yet,
/// `&` when it has one (nothing when it already ends in `?` or `&`), and any `#fragment` stays
/// at the end. An empty `query` returns `url` unchanged.
pub fn append_query_str(url: &str, query: &str) -> String {
    if query.is_empty() {
        return url.to_owned();
    }
    // No slicing and no char searcher, so no panic path in the binary.
    let (base, hash, fragment) = match split_byte(url, b'#') {
        Some((base, fragment)) => (base, "#", fragment),
        None => (url, "", ""),
    };
    let sep = if !base.bytes().any(|b| b == b'?') {
        "?"
    } else if matches!(base.as_bytes().last(), Some(b'?' | b'&')) {
        ""
    } else {
        "&"
    };
    crate::error::concat(&[base, sep, query, hash, fragment])
}

/// Appends `pairs` to the query of `url`, encoded with [`encode_uri_component`]; see
/// [`append_query_str`] for where they go. No pairs returns `url` unchanged.
pub fn append_query(url: &str, pairs: &[(String, String)]) -> String {
    append_query_str(url, &query_string(pairs))
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
    fn split_byte_splits_at_the_first_delimiter() {
        assert_eq!(split_byte("a#b#c", b'#'), Some(("a", "b#c")));
        assert_eq!(split_byte("#", b'#'), Some(("", "")));
        assert_eq!(split_byte("é:€", b':'), Some(("é", "€")));
        assert_eq!(split_byte("no delimiter", b'#'), None);
        assert_eq!(split_byte("", b'#'), None);
    }

    #[test]
    fn encodes_like_encode_uri_component() {
        // Expected values produced by `encodeURIComponent` in a browser.
        assert_eq!(encode_uri_component("AZaz09-_.!~*'()"), "AZaz09-_.!~*'()");
        assert_eq!(
            encode_uri_component("a b&c=d+e#f?g/h"),
            "a%20b%26c%3Dd%2Be%23f%3Fg%2Fh"
        );
        assert_eq!(
            encode_uri_component(";,:@$[]%\"<>\\^`{|}"),
            "%3B%2C%3A%40%24%5B%5D%25%22%3C%3E%5C%5E%60%7B%7C%7D"
        );
        assert_eq!(encode_uri_component("é"), "%C3%A9");
        assert_eq!(encode_uri_component("€"), "%E2%82%AC");
        assert_eq!(encode_uri_component("😀"), "%F0%9F%98%80");
        assert_eq!(encode_uri_component("\0\r\n\t"), "%00%0D%0A%09");
        assert_eq!(encode_uri_component("\u{7f}"), "%7F");
        assert_eq!(encode_uri_component(""), "");
    }

    #[test]
    fn builds_query_strings() {
        assert_eq!(
            query_string(&p(&[("a", "1"), ("b c", "x&y"), ("a", "")])),
            "a=1&b%20c=x%26y&a="
        );
        assert_eq!(query_string(&[]), "");
    }

    #[test]
    fn appends_with_the_right_separator() {
        let q = p(&[("k", "v w")]);
        assert_eq!(append_query("/x", &q), "/x?k=v%20w");
        assert_eq!(append_query("/x?a=1", &q), "/x?a=1&k=v%20w");
        assert_eq!(append_query("/x?", &q), "/x?k=v%20w");
        assert_eq!(append_query("/x?a=1&", &q), "/x?a=1&k=v%20w");
        assert_eq!(
            append_query("http://h/p#frag", &q),
            "http://h/p?k=v%20w#frag"
        );
        assert_eq!(
            append_query("http://h/p?a#frag?x", &q),
            "http://h/p?a&k=v%20w#frag?x"
        );
        assert_eq!(append_query("/x#", &q), "/x?k=v%20w#");
        assert_eq!(append_query("/x?a=1#f", &[]), "/x?a=1#f");
        assert_eq!(append_query_str("/x", "lastEventId=7"), "/x?lastEventId=7");
    }
}
