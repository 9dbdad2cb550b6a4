//! The small text rules that see untrusted text: response headers, request method and header
//! checks, close codes and reasons, WebSocket URLs and subprotocols, JSONP callback names,
//! origins and allow lists, loopback hosts, `document.cookie`, and transport whitelists.
//!
//! The first byte picks the function, the rest is `0xFF`-separated strings:
//! 0. `Headers::parse` (`getAllResponseHeaders()` text), `mime_essence`, `is_json_mime`.
//! 1. `validate_method(a)`, `validate_header(a, b)`.
//! 2. `close::{check_code, check_reason, check_close, classify, describe, is_error}` with the
//!    code from two bytes and the reason after them.
//! 3. `wsurl::to_ws_url(a)`, `check_protocols` of the `,`-separated `b`.
//! 4. `jsonp::{is_valid_callback, is_identifier, check_callback_param}`, `callback_name`.
//! 5. `security::{normalize_origin, origin_matches, origin_in_list, same_origin,
//!    may_send_token}` with an entry `a`, an origin `b` and a list of the others.
//! 6. `security::{is_loopback_host, check_secure}`.
//! 7. `security::{cookie_value, percent_decode}`, `ladder::parse_whitelist`.
#![no_main]

use cometkit_fuzz::{all_fields, fields, text, Bytes};
use cometkit_protocol::close::{
    check_close, check_code, check_reason, classify, describe, is_abnormal, is_error, CloseClass,
    MAX_REASON_BYTES,
};
use cometkit_protocol::headers::{
    is_json_mime, is_token, mime_essence, validate_header, validate_method, Headers,
};
use cometkit_protocol::jsonp::{
    callback_name, check_callback_param, is_identifier, is_valid_callback, MAX_CALLBACK_LEN,
};
use cometkit_protocol::ladder::parse_whitelist;
use cometkit_protocol::security::{
    check_secure, cookie_value, is_loopback_host, may_send_token, normalize_origin, origin_in_list,
    origin_matches, percent_decode, same_origin, SecureOnly,
};
use cometkit_protocol::wsurl::{check_protocol, check_protocols, to_ws_url};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 8 {
        0 => headers(&text(rest)),
        1 => {
            let f = fields(rest, 2);
            method_and_header(&f[0], &f[1]);
        }
        2 => {
            let mut b = Bytes::new(rest);
            let code = b.u16();
            close(code, &text(b.rest()));
        }
        3 => {
            let f = fields(rest, 2);
            ws(&f[0], &f[1]);
        }
        4 => jsonp(rest),
        5 => origins(&all_fields(rest, 8)),
        6 => {
            let f = fields(rest, 2);
            loopback(&f[0], &f[1]);
        }
        _ => {
            let f = fields(rest, 2);
            cookies(&f[0], &f[1]);
        }
    }
});

fn headers(t: &str) {
    let h = Headers::parse(t);
    for (name, value) in h.iter() {
        assert!(is_token(name));
        assert_eq!(name, name.to_ascii_lowercase());
        assert!(!value.starts_with([' ', '\t']) && !value.ends_with([' ', '\t']));
        assert!(!value.contains('\n'));
        assert!(h.get(name).is_some());
        assert!(h.contains(&name.to_ascii_uppercase()));
    }
    assert_eq!(h.is_empty(), h.iter().count() == 0);
    let essence = h.content_type();
    if let Some(e) = &essence {
        assert_eq!(mime_essence(e).as_ref(), Some(e));
    }
    if let Some(e) = mime_essence(t) {
        assert!(e.contains('/') && !e.contains(';'));
        assert_eq!(e, e.to_ascii_lowercase());
        assert_eq!(mime_essence(&e).as_ref(), Some(&e));
        let _ = is_json_mime(&e);
    }
}

fn method_and_header(a: &str, b: &str) {
    if validate_method(a).is_ok() {
        assert!(is_token(a));
        assert!(!a.eq_ignore_ascii_case("connect"));
    }
    match validate_header(a, b) {
        Ok(()) => {
            assert!(is_token(a));
            assert!(!b.contains(['\0', '\r', '\n']));
            assert!(b.chars().all(|c| u32::from(c) <= 0xff));
        }
        Err(e) => assert!(e.is_invalid()),
    }
}

fn close(code: u16, reason: &str) {
    let code_ok = code == 1000 || (3000..=4999).contains(&code);
    assert_eq!(check_code(code).is_ok(), code_ok);
    assert_eq!(
        check_reason(reason).is_ok(),
        reason.len() <= MAX_REASON_BYTES
    );
    assert_eq!(
        check_close(code, reason).is_ok(),
        code_ok && reason.len() <= MAX_REASON_BYTES
    );
    let class = classify(code);
    assert_eq!(is_abnormal(code), class == CloseClass::Abnormal);
    if is_error(code) {
        assert!(matches!(class, CloseClass::Abnormal | CloseClass::Failure));
    }
    if code_ok {
        assert!(matches!(
            class,
            CloseClass::Normal | CloseClass::Application
        ));
    }
    assert!(!describe(code).is_empty());
}

fn ws(url: &str, protocols: &str) {
    if let Ok(w) = to_ws_url(url) {
        assert!(w.starts_with("ws://") || w.starts_with("wss://"));
        assert!(!w.contains('#'));
        assert_eq!(to_ws_url(&w).as_deref(), Ok(&*w));
    }
    let names: Vec<&str> = protocols.split(',').collect();
    if check_protocols(&names).is_ok() {
        for (i, name) in names.iter().enumerate() {
            assert!(check_protocol(name).is_ok());
            assert!(!names[..i].contains(name));
        }
    }
}

fn jsonp(rest: &[u8]) {
    let name = text(rest);
    if is_valid_callback(&name) {
        assert!((1..=MAX_CALLBACK_LEN).contains(&name.len()));
        assert!(!name.contains(['(', ')', ';', '"', '\'', ' ', '<']));
    }
    if is_identifier(&name) && name.len() <= MAX_CALLBACK_LEN {
        assert!(is_valid_callback(&name));
    }
    assert_eq!(check_callback_param(&name).is_ok(), !name.is_empty());
    let mut random = [0u8; 16];
    for (r, b) in random.iter_mut().zip(rest) {
        *r = *b;
    }
    let generated = callback_name(&random);
    assert!(is_valid_callback(&generated) && is_identifier(&generated));
}

fn origins(f: &[String]) {
    let entry = f.first().map_or("", String::as_str);
    let origin = f.get(1).map_or("", String::as_str);
    let list = f.get(2..).unwrap_or_default();
    if let Ok(n) = normalize_origin(entry) {
        assert_eq!(normalize_origin(&n).as_ref(), Ok(&n));
        assert!(n.starts_with("http://") || n.starts_with("https://"));
        if !n.contains("://*.") {
            // A plain entry is the origin it names.
            assert!(origin_matches(&n, &n));
            assert_eq!(origin_matches(&n, origin), n == origin);
        }
    }
    let _ = origin_matches(entry, origin);
    assert_eq!(
        same_origin(entry, origin),
        entry == origin && entry != "null"
    );
    match origin_in_list(list, origin) {
        Ok(found) => {
            let patterns: Vec<String> = list
                .iter()
                .filter_map(|e| normalize_origin(e).ok())
                .collect();
            assert_eq!(patterns.len(), list.len());
            assert_eq!(found, patterns.iter().any(|p| origin_matches(p, origin)));
            assert_eq!(
                may_send_token(entry, origin, &patterns),
                same_origin(entry, origin) || found
            );
        }
        Err(e) => assert!(!e.is_empty()),
    }
}

fn loopback(scheme: &str, host: &str) {
    let lo = is_loopback_host(host);
    assert!(check_secure(scheme, host, SecureOnly::Off).is_ok());
    let plain = {
        let s = scheme.strip_suffix(':').unwrap_or(scheme);
        s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("ws")
    };
    assert_eq!(
        check_secure(scheme, host, SecureOnly::Always).is_ok(),
        !plain
    );
    assert_eq!(
        check_secure(scheme, host, SecureOnly::AllowLoopback).is_ok(),
        !plain || lo
    );
    if lo {
        let h = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        assert!(
            h == "localhost" || h.ends_with(".localhost") || h == "[::1]" || h.starts_with("127.")
        );
    }
}

fn cookies(jar: &str, name: &str) {
    if let Some(v) = cookie_value(jar, name) {
        assert!(!v.is_empty());
        assert!(!name.is_empty());
    }
    if let Some(d) = percent_decode(jar) {
        assert!(d.len() <= jar.len());
        if !jar.contains('%') {
            assert_eq!(d, jar);
        }
    } else {
        assert!(jar.contains('%'));
    }
    // A whitelist of transport names, as a page passes it.
    let names: Vec<&str> = jar.split(',').filter(|n| !n.is_empty()).collect();
    if let Ok(kinds) = parse_whitelist(&names) {
        assert_eq!(kinds.len(), names.len());
        for (kind, name) in kinds.iter().zip(&names) {
            assert_eq!(kind.name(), *name);
        }
    }
}
