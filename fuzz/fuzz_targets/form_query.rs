//! The server's query strings and form bodies, and the client's URL query building: `form_decode`,
//! `form_field`, `urlencode`, `url::{encode_uri_component, query_string, append_query_str}` and
//! `sse::url_with_last_event_id` (whose ID comes from the server's `id:` field).
//!
//! The first byte picks the check, the rest is `0xFF`-separated strings:
//! 0. `form_decode(s)`: text without `%` or `+` is unchanged; decoding never grows the text
//!    (beyond U+FFFD replacements); what `urlencode` and `encode_uri_component` write decodes back.
//! 1. `form_field(query, name)` against a plain reading of the query.
//! 2. pairs (`n1 v1 n2 v2 ...`) -> `urlencode` / `query_string` -> `form_field` gives, for each
//!    name, the value of its first pair.
//! 3. `append_query_str(url, query)`: the URL's text, the query and the fragment all survive, in
//!    that order.
//! 4. `url_with_last_event_id(url, name, id)`: the server reading the query finds `id` under
//!    `name` (for URLs without `%` or `+`, whose keys read as written), the fragment is kept.
#![no_main]

use cometkit_fuzz::{all_fields, fields, text};
use cometkit_protocol::form::{form_decode, form_field, urlencode};
use cometkit_protocol::sse::url_with_last_event_id;
use cometkit_protocol::url::{append_query_str, encode_uri_component, query_string};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 5 {
        0 => decode(&text(rest)),
        1 => {
            let f = fields(rest, 2);
            field(&f[0], &f[1]);
        }
        2 => pairs(&all_fields(rest, 16)),
        3 => {
            let f = fields(rest, 2);
            append(&f[0], &f[1]);
        }
        _ => {
            let f = fields(rest, 3);
            last_event_id(&f[0], &f[1], &f[2]);
        }
    }
});

fn decode(s: &str) {
    let decoded = form_decode(s);
    if !s.contains(['%', '+']) {
        assert_eq!(decoded, s);
    }
    // Each `%XX` shrinks by two bytes and each invalid byte becomes 3 bytes of U+FFFD: a
    // decoded escape alone never makes the text longer than 3 bytes per input byte.
    assert!(decoded.len() <= 3 * s.len());
    let form = urlencode(&[(s.to_owned(), s.to_owned())]);
    assert!(form.bytes().all(|b| b.is_ascii_graphic()));
    assert_eq!(form_field(&form, s).as_deref(), Some(s));
    assert_eq!(form_decode(&encode_uri_component(s)), s);
}

/// `form_field` as the URL standard reads `application/x-www-form-urlencoded`, written plainly:
/// split at `&`, skip empty sequences, split each at its first `=`.
fn plain_field(query: &str, name: &str) -> Option<String> {
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = match pair.find('=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, ""),
        };
        if form_decode(k) == name {
            return Some(form_decode(v));
        }
    }
    None
}

fn field(query: &str, name: &str) {
    assert_eq!(form_field(query, name), plain_field(query, name));
}

fn pairs(strings: &[String]) {
    let pairs: Vec<(String, String)> = strings
        .chunks(2)
        .map(|c| (c[0].clone(), c.get(1).cloned().unwrap_or_default()))
        .collect();
    let form = urlencode(&pairs);
    let query = query_string(&pairs);
    for (name, _) in &pairs {
        let first = pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        assert_eq!(form_field(&form, name).as_deref(), first);
        assert_eq!(form_field(&query, name).as_deref(), first);
    }
}

fn append(url: &str, query: &str) {
    let out = append_query_str(url, query);
    if query.is_empty() {
        assert_eq!(out, url);
        return;
    }
    // The documented rule: `?` when the URL has no query, nothing when it ends in `?` or `&`,
    // else `&`; the fragment stays at the end.
    let (base, fragment) = url.split_at(url.find('#').unwrap_or(url.len()));
    let sep = if !base.contains('?') {
        "?"
    } else if base.ends_with(['?', '&']) {
        ""
    } else {
        "&"
    };
    assert_eq!(out, [base, sep, query, fragment].concat());
}

fn last_event_id(url: &str, name: &str, id: &str) {
    let out = url_with_last_event_id(url, name, id);
    let (rest, fragment) = out.split_at(out.find('#').unwrap_or(out.len()));
    assert_eq!(fragment, &url[url.find('#').unwrap_or(url.len())..]);
    let query = rest.split_once('?').map_or("", |(_, q)| q);
    if !url.contains(['%', '+']) {
        let found = form_field(query, name);
        if id.is_empty() {
            assert_eq!(found, None);
        } else {
            assert_eq!(found.as_deref(), Some(id));
        }
    }
    // Setting the same ID again changes nothing.
    assert_eq!(url_with_last_event_id(&out, name, id), out);
}
