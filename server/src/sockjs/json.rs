//! The text codecs of the SockJS wire: quoting strings the way every SockJS client can decode
//! them, parsing the client's JSON string arrays, and the few URL/form decodings the HTTP
//! transports need.

/// Why a client payload was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PayloadError {
    /// Nothing (or only whitespace) was sent.
    Empty,
    /// The text is not JSON.
    Broken,
    /// Valid JSON, but not an array of strings.
    NotStrings,
}

impl PayloadError {
    /// The body of the 500 answer, worded as sockjs-node words it (clients and tests match it).
    pub(crate) fn message(self) -> &'static str {
        match self {
            PayloadError::Empty | PayloadError::NotStrings => "Payload expected.",
            PayloadError::Broken => "Broken JSON encoding.",
        }
    }
}

/// Whether the server must write `c` as a `\uXXXX` escape.
///
/// Beyond what JSON requires (`"`, `\`, C0 controls), SockJS escapes the code points that
/// browsers or proxies mangle in transit: zero-width and bidi marks, the line/paragraph
/// separators (U+2028/U+2029 also end a JavaScript line in older engines, which would break the
/// JSONP and htmlfile transports), invisible operators, and the specials block.
fn needs_unicode_escape(c: char) -> bool {
    matches!(c as u32,
        0x00..=0x1f | 0x200c..=0x200f | 0x2028..=0x202f | 0x2060..=0x206f | 0xfff0..=0xffff)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_unicode_escape(out: &mut String, unit: u32) {
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.push(char::from(HEX[((unit >> shift) & 0xf) as usize]));
    }
}

/// Appends `s` as a JSON string literal, escaped as SockJS requires. With `html` set, `<`, `>`
/// and `&` are escaped too, so the literal can sit inside an HTML `<script>` element.
pub(crate) fn quote_into(out: &mut String, s: &str, html: bool) {
    out.reserve(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if html => push_unicode_escape(out, c as u32),
            c if needs_unicode_escape(c) => push_unicode_escape(out, c as u32),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `s` as a SockJS-escaped JSON string literal.
#[cfg(test)]
fn quote(s: &str) -> String {
    let mut out = String::new();
    quote_into(&mut out, s, false);
    out
}

/// The `a[...]` frame carrying `messages`.
pub(crate) fn message_frame(messages: &[String]) -> String {
    let mut out = String::with_capacity(3 + messages.iter().map(|m| m.len() + 3).sum::<usize>());
    out.push_str("a[");
    for (i, m) in messages.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        quote_into(&mut out, m, false);
    }
    out.push(']');
    out
}

/// The `c[code,"reason"]` frame.
pub(crate) fn close_frame(code: u16, reason: &str) -> String {
    let mut out = String::with_capacity(reason.len() + 12);
    out.push_str("c[");
    out.push_str(&code.to_string());
    out.push(',');
    quote_into(&mut out, reason, false);
    out.push(']');
    out
}

/// A cursor over the bytes of a JSON text.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes.get(self.pos..self.pos + 4)?;
        let mut v = 0u32;
        for &d in digits {
            v = v * 16 + char::from(d).to_digit(16)?;
        }
        self.pos += 4;
        Some(v)
    }

    /// Parses one string literal, the cursor on its opening quote. A lone surrogate (which a
    /// JavaScript client can send, but Rust strings cannot hold) becomes U+FFFD.
    fn string(&mut self) -> Option<String> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            // Copy the run of plain bytes up to the next quote, backslash or control byte. The
            // input is a `str` and the run ends on an ASCII byte, so it is valid UTF-8.
            let start = self.pos;
            while let Some(&b) = self.bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(std::str::from_utf8(&self.bytes[start..self.pos]).ok()?);
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.pos += 1;
                    let esc = self.peek()?;
                    self.pos += 1;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let unit = self.hex4()?;
                            out.push(self.finish_unit(unit));
                        }
                        _ => return None,
                    }
                }
                // A raw control character: JSON forbids it.
                _ => return None,
            }
        }
    }

    /// Turns a `\uXXXX` unit into a char, consuming the low half of a surrogate pair if it
    /// follows.
    fn finish_unit(&mut self, unit: u32) -> char {
        if (0xd800..0xdc00).contains(&unit) {
            let save = self.pos;
            if self.bytes.get(self.pos..self.pos + 2) == Some(b"\\u") {
                self.pos += 2;
                if let Some(low @ 0xdc00..=0xdfff) = self.hex4() {
                    let c = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
                    return char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER);
                }
            }
            self.pos = save;
            return char::REPLACEMENT_CHARACTER;
        }
        char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER)
    }
}

fn classify_failure(text: &str) -> PayloadError {
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
        PayloadError::NotStrings
    } else {
        PayloadError::Broken
    }
}

/// Parses a client payload: a JSON array of strings (`[]` gives no messages).
pub(crate) fn parse_messages(text: &str) -> Result<Vec<String>, PayloadError> {
    if text.trim().is_empty() {
        return Err(PayloadError::Empty);
    }
    parse_array(text).ok_or_else(|| classify_failure(text))
}

fn parse_array(text: &str) -> Option<Vec<String>> {
    let mut cur = Cursor {
        bytes: text.as_bytes(),
        pos: 0,
    };
    cur.skip_ws();
    if cur.peek()? != b'[' {
        return None;
    }
    cur.pos += 1;
    let mut out = Vec::new();
    cur.skip_ws();
    if cur.peek()? == b']' {
        cur.pos += 1;
    } else {
        loop {
            cur.skip_ws();
            out.push(cur.string()?);
            cur.skip_ws();
            match cur.peek()? {
                b',' => cur.pos += 1,
                b']' => {
                    cur.pos += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    cur.skip_ws();
    (cur.pos == cur.bytes.len()).then_some(out)
}

/// Parses one WebSocket message of the framed transport: an array of strings, or (as
/// sockjs-node accepts) a single JSON string. `Ok(empty)` for an empty message.
pub(crate) fn parse_ws_message(text: &str) -> Result<Vec<String>, PayloadError> {
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r']);
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    if trimmed.starts_with('[') {
        return parse_messages(text);
    }
    let mut cur = Cursor {
        bytes: trimmed.as_bytes(),
        pos: 0,
    };
    match cur.string() {
        Some(s) => {
            cur.skip_ws();
            if cur.pos == cur.bytes.len() {
                Ok(vec![s])
            } else {
                Err(PayloadError::Broken)
            }
        }
        None => Err(classify_failure(text)),
    }
}

/// Decodes `application/x-www-form-urlencoded` text (also used for query strings): `+` is a
/// space, `%XX` a byte; malformed escapes stay as they are, bad UTF-8 becomes U+FFFD.
pub(crate) fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded value of the first `name` field of a query or form body.
pub(crate) fn form_field(s: &str, name: &str) -> Option<String> {
    s.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (form_decode(k) == name).then(|| form_decode(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_escapes_json_and_sockjs_ranges() {
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(
            quote("\n\r\t\u{8}\u{c}\u{0}\u{1f}"),
            r#""\n\r\t\b\f\u0000\u001f""#
        );
        assert_eq!(
            quote("\u{2028}\u{2029}\u{200c}\u{206f}\u{fff0}\u{ffff}"),
            r#""\u2028\u2029\u200c\u206f\ufff0\uffff""#
        );
        // Left verbatim: `/`, DEL, ordinary non-ASCII, astral characters.
        assert_eq!(
            quote("/\u{7f}é\u{2027}\u{2030}\u{1f600}"),
            "\"/\u{7f}é\u{2027}\u{2030}\u{1f600}\""
        );
    }

    #[test]
    fn html_quote_escapes_markup() {
        let mut out = String::new();
        quote_into(&mut out, "</script>&", true);
        assert_eq!(out, r#""\u003c/script\u003e\u0026""#);
    }

    #[test]
    fn frames() {
        assert_eq!(
            message_frame(&["a".into(), "b\"".into()]),
            r#"a["a","b\""]"#
        );
        assert_eq!(message_frame(&[]), "a[]");
        assert_eq!(close_frame(3000, "Go away!"), r#"c[3000,"Go away!"]"#);
    }

    #[test]
    fn parses_string_arrays() {
        assert_eq!(
            parse_messages(r#"["a","b"]"#),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(parse_messages(" [ ] "), Ok(vec![]));
        assert_eq!(
            parse_messages(r#"[ "x" , "" ]"#),
            Ok(vec!["x".to_owned(), String::new()])
        );
        assert_eq!(
            parse_messages(r#"["\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"]"#),
            Ok(vec!["\"\\/\u{8}\u{c}\n\r\té\u{1f600}".to_owned()])
        );
        // Lone surrogates become U+FFFD instead of failing the whole payload.
        assert_eq!(
            parse_messages(r#"["\ud800x\udc00"]"#),
            Ok(vec!["\u{fffd}x\u{fffd}".to_owned()])
        );
        assert_eq!(
            parse_messages(r#"["\ud800\u0041"]"#),
            Ok(vec!["\u{fffd}A".to_owned()])
        );
    }

    #[test]
    fn rejects_bad_payloads() {
        for broken in [
            r#"["x"#,
            "[",
            r#"["a",]"#,
            r#"["a" "b"]"#,
            r#"["\x"]"#,
            r#"["\u12"]"#,
            "[\"\u{1}\"]",
            r#"["a"]x"#,
            "{",
            "nope",
        ] {
            assert_eq!(
                parse_messages(broken),
                Err(PayloadError::Broken),
                "{broken:?}"
            );
        }
        for not_strings in ["[1]", r#"{"a":1}"#, r#""a""#, "null", r#"["a",["b"]]"#] {
            assert_eq!(
                parse_messages(not_strings),
                Err(PayloadError::NotStrings),
                "{not_strings:?}"
            );
        }
        assert_eq!(parse_messages(""), Err(PayloadError::Empty));
        assert_eq!(parse_messages(" \n"), Err(PayloadError::Empty));
    }

    #[test]
    fn websocket_messages() {
        assert_eq!(parse_ws_message(""), Ok(vec![]));
        assert_eq!(parse_ws_message("[]"), Ok(vec![]));
        assert_eq!(
            parse_ws_message(r#"["a","b"]"#),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(
            parse_ws_message(r#""single""#),
            Ok(vec!["single".to_owned()])
        );
        assert_eq!(parse_ws_message(r#"["a"#), Err(PayloadError::Broken));
        assert_eq!(parse_ws_message(r#""a" x"#), Err(PayloadError::Broken));
        assert_eq!(parse_ws_message("12"), Err(PayloadError::NotStrings));
    }

    #[test]
    fn round_trip_through_quote() {
        let all: String = (0u32..0x11000).filter_map(char::from_u32).collect();
        let frame = message_frame(std::slice::from_ref(&all));
        let body = frame.strip_prefix('a').unwrap_or_default();
        assert_eq!(parse_messages(body), Ok(vec![all.clone()]));
        // serde_json agrees with our encoding.
        let decoded: Vec<String> = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(decoded, vec![all]);
    }

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("%5B%22x%22%5D"), r#"["x"]"#);
        assert_eq!(form_decode("a+b%20c"), "a b c");
        assert_eq!(form_decode("100%"), "100%");
        assert_eq!(form_decode("%zz%4"), "%zz%4");
        assert_eq!(form_field("a=1&d=%5B%5D&d=2", "d").as_deref(), Some("[]"));
        assert_eq!(form_field("c", "c").as_deref(), Some(""));
        assert_eq!(form_field("p=p", "d"), None);
        assert_eq!(form_field("%63=x", "c").as_deref(), Some("x"));
    }
}
