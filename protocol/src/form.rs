//! HTML form encoding without a browser: the
//! [`application/x-www-form-urlencoded`](https://url.spec.whatwg.org/#application/x-www-form-urlencoded)
//! serializer, the `text/plain` form encoding, and the HTML rules for which form controls are
//! submitted and with what value ("constructing the entry list").
//!
//! The XHR transport only reads each control's state out of the DOM into a [`FormControl`];
//! every decision is made here, so the rules are tested natively.
//!
//! The other direction, for a server: [`form_decode`] and [`form_field`] read an urlencoded
//! body or a query string (the SockJS server takes JSONP callbacks and `jsonp_send` form
//! bodies through them).

use crate::url::{push_percent, split_byte};

/// What kind of element a form control is.
///
/// ```
/// use cometkit_protocol::form::{form_entries, ControlTag, FormControl};
///
/// let mut button = FormControl::new(ControlTag::Button, "", "go");
/// button.value = Some("1".into());
/// let mut note = FormControl::new(ControlTag::TextArea, "", "note");
/// note.value = Some("a\nb".into());
/// // Buttons are never submitted; a textarea's line breaks become CRLF.
/// let entries = form_entries(&[button, note]);
/// assert_eq!(entries, [("note".to_string(), "a\r\nb".to_string())]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlTag {
    /// `<input>`; its `type` state is in [`FormControl::input_type`].
    Input,
    /// `<button>`.
    Button,
    /// `<select>`.
    Select,
    /// `<textarea>`.
    TextArea,
    /// Anything else listed in `form.elements` (`<fieldset>`, `<output>`, `<object>`, custom
    /// elements): never submitted by these rules.
    Other,
}

/// The state of one form control, as read from the DOM.
///
/// ```
/// use cometkit_protocol::form::{form_entries, urlencode, ControlTag, FormControl};
///
/// let mut name = FormControl::new(ControlTag::Input, "text", "name");
/// name.value = Some("Ada Lovelace".into());
/// let mut news = FormControl::new(ControlTag::Input, "checkbox", "news");
/// news.checked = true; // no value attribute: submits "on"
/// let body = urlencode(&form_entries(&[name, news]));
/// assert_eq!(body, "name=Ada+Lovelace&news=on");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormControl {
    /// The element kind.
    pub tag: ControlTag,
    /// For inputs, the `type` state as the `type` property reports it (lowercase; unknown
    /// types read as `"text"`). Ignored for other tags.
    pub input_type: String,
    /// The `name` attribute (empty when absent).
    pub name: String,
    /// True when the control is disabled, including through a disabled `<fieldset>`
    /// (`:disabled` matches).
    pub disabled: bool,
    /// True when the control has a `<datalist>` ancestor (such controls are never submitted).
    pub in_datalist: bool,
    /// Checkedness of a checkbox or radio button.
    pub checked: bool,
    /// The control's current value (the `value` property). For checkboxes and radio buttons,
    /// the `value` *attribute* instead, `None` when absent (then `"on"` is sent).
    pub value: Option<String>,
    /// For `<select>`: the values of the options that are selected and not disabled.
    pub selected: Vec<String>,
    /// For `<input type=file>`: the names of the chosen files.
    pub files: Vec<String>,
}

impl FormControl {
    /// A control of `tag` named `name` with every other field at its default (enabled,
    /// unchecked, no value, nothing selected, no files).
    pub fn new(tag: ControlTag, input_type: &str, name: &str) -> FormControl {
        FormControl {
            tag,
            input_type: input_type.to_owned(),
            name: name.to_owned(),
            disabled: false,
            in_datalist: false,
            checked: false,
            value: None,
            selected: Vec::new(),
            files: Vec::new(),
        }
    }
}

/// Appends the name/value pairs `control` contributes to a form submitted without a submitter
/// button, following the HTML "constructing the entry list" rules as converted for the
/// urlencoded and text/plain encodings (a file contributes its file name; a file input with
/// no file contributes an empty string):
///
/// - skipped: disabled controls, controls inside a `<datalist>`, controls without a name,
///   every kind of button (`<button>`, `submit`, `reset`, `button`, `image`), unchecked
///   checkboxes and radio buttons, and elements that are not submittable;
/// - `<select>`: one pair per selected, enabled option;
/// - checkbox/radio: the `value` attribute, or `"on"`;
/// - `<input type=hidden name=_charset_>`: `"UTF-8"`;
/// - anything else: the control's value.
pub fn push_control_entries(control: &FormControl, out: &mut Vec<(String, String)>) {
    if control.disabled || control.in_datalist || control.name.is_empty() {
        return;
    }
    let name = &control.name;
    match control.tag {
        ControlTag::Button | ControlTag::Other => {}
        ControlTag::Select => {
            out.extend(control.selected.iter().map(|v| (name.clone(), v.clone())));
        }
        ControlTag::TextArea => out.push((name.clone(), control.value.clone().unwrap_or_default())),
        ControlTag::Input => match control.input_type.as_str() {
            "submit" | "reset" | "button" | "image" => {}
            "checkbox" | "radio" => {
                if control.checked {
                    let value = control.value.as_deref().unwrap_or("on");
                    out.push((name.clone(), value.to_owned()));
                }
            }
            "file" => {
                if control.files.is_empty() {
                    out.push((name.clone(), String::new()));
                } else {
                    out.extend(control.files.iter().map(|f| (name.clone(), f.clone())));
                }
            }
            "hidden" if name.eq_ignore_ascii_case("_charset_") => {
                out.push((name.clone(), "UTF-8".to_owned()));
            }
            _ => out.push((name.clone(), control.value.clone().unwrap_or_default())),
        },
    }
}

/// The name/value pairs a whole form submits, in control order (see [`push_control_entries`]),
/// with line breaks normalised to CRLF as form submission does.
pub fn form_entries(controls: &[FormControl]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for control in controls {
        push_control_entries(control, &mut out);
    }
    out.into_iter()
        .map(|(n, v)| (normalize_newlines(&n), normalize_newlines(&v)))
        .collect()
}

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
/// are left as given; [`form_entries`] has already normalised a form's.
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

    fn input(ty: &str, name: &str, value: &str) -> FormControl {
        let mut c = FormControl::new(ControlTag::Input, ty, name);
        c.value = Some(value.to_owned());
        c
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
    fn plain_inputs_and_textareas_send_their_value() {
        let mut ta = FormControl::new(ControlTag::TextArea, "", "msg");
        ta.value = Some("line1\nline2".into());
        let controls = [
            input("text", "t", "hello"),
            input("email", "e", ""),
            input("hidden", "h", "v"),
            ta,
        ];
        assert_eq!(
            form_entries(&controls),
            p(&[
                ("t", "hello"),
                ("e", ""),
                ("h", "v"),
                ("msg", "line1\r\nline2")
            ])
        );
    }

    #[test]
    fn skips_disabled_unnamed_datalist_and_buttons() {
        let mut disabled = input("text", "d", "x");
        disabled.disabled = true;
        let mut in_list = input("text", "l", "x");
        in_list.in_datalist = true;
        let controls = [
            disabled,
            in_list,
            input("text", "", "unnamed"),
            input("submit", "s", "Send"),
            input("reset", "r", "x"),
            input("button", "b", "x"),
            input("image", "i", "x"),
            FormControl::new(ControlTag::Button, "", "btn"),
            FormControl::new(ControlTag::Other, "", "fieldset"),
            input("text", "kept", "yes"),
        ];
        assert_eq!(form_entries(&controls), p(&[("kept", "yes")]));
    }

    #[test]
    fn checkboxes_and_radios_need_checkedness() {
        let mut on = FormControl::new(ControlTag::Input, "checkbox", "c1");
        on.checked = true;
        let mut valued = input("checkbox", "c2", "yes");
        valued.checked = true;
        let off = input("checkbox", "c3", "no");
        let mut radio = input("radio", "r", "b");
        radio.checked = true;
        let radio_off = input("radio", "r", "a");
        let mut empty_value = input("checkbox", "c4", "");
        empty_value.checked = true;
        assert_eq!(
            form_entries(&[on, valued, off, radio_off, radio, empty_value]),
            p(&[("c1", "on"), ("c2", "yes"), ("r", "b"), ("c4", "")])
        );
    }

    #[test]
    fn selects_give_one_pair_per_selected_option() {
        let mut multi = FormControl::new(ControlTag::Select, "", "m");
        multi.selected = vec!["a".into(), "c".into()];
        let none = FormControl::new(ControlTag::Select, "", "n");
        assert_eq!(form_entries(&[multi, none]), p(&[("m", "a"), ("m", "c")]));
    }

    #[test]
    fn files_become_file_names() {
        let empty = FormControl::new(ControlTag::Input, "file", "f");
        let mut two = FormControl::new(ControlTag::Input, "file", "g");
        two.files = vec!["a.txt".into(), "b.png".into()];
        assert_eq!(
            form_entries(&[empty, two]),
            p(&[("f", ""), ("g", "a.txt"), ("g", "b.png")])
        );
    }

    #[test]
    fn charset_hidden_field() {
        let controls = [
            input("hidden", "_Charset_", "ignored"),
            input("text", "_charset_", "kept"),
        ];
        assert_eq!(
            form_entries(&controls),
            p(&[("_Charset_", "UTF-8"), ("_charset_", "kept")])
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
