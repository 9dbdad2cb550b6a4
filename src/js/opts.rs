//! Reading option objects passed from JavaScript, with an [`Error::invalid`] naming the option
//! whenever a value has the wrong type. `undefined` and `null` both mean "not given".

// Each export uses a subset of these; single-feature builds leave the rest unused.
#![allow(dead_code)]

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::Error;

/// The property `key` of `obj`, or `undefined` when `obj` is not an object.
pub(crate) fn get(obj: &JsValue, key: &str) -> JsValue {
    if !obj.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn given(v: &JsValue) -> bool {
    !(v.is_undefined() || v.is_null())
}

pub(crate) fn bad(key: &str, expected: &str) -> Error {
    Error::invalid(crate::error::concat(&[
        "option `",
        key,
        "` must be ",
        expected,
    ]))
}

/// Fails unless `obj` is `undefined`, `null` or an object.
pub(crate) fn check_object(obj: &JsValue, what: &str) -> Result<(), Error> {
    if given(obj) && !obj.is_object() {
        return Err(Error::invalid(crate::error::concat(&[
            what,
            " must be an object",
        ])));
    }
    Ok(())
}

/// Option `key` as a list of strings: one string, or an array of strings (anything else fails
/// with `expected`); `None` when not given. A plain loop: collecting into a `Result` costs half a
/// kilobyte of wasm per caller.
pub(crate) fn strings(
    obj: &JsValue,
    key: &str,
    expected: &str,
) -> Result<Option<Vec<String>>, Error> {
    let v = get(obj, key);
    if !given(&v) {
        return Ok(None);
    }
    if let Some(s) = v.as_string() {
        return Ok(Some(vec![s]));
    }
    let list: &Array = v.dyn_ref().ok_or_else(|| bad(key, expected))?;
    let mut out = Vec::new();
    for i in 0..list.length() {
        out.push(list.get(i).as_string().ok_or_else(|| bad(key, expected))?);
    }
    Ok(Some(out))
}

pub(crate) fn string(obj: &JsValue, key: &str) -> Result<Option<String>, Error> {
    let v = get(obj, key);
    if !given(&v) {
        return Ok(None);
    }
    v.as_string().map(Some).ok_or_else(|| bad(key, "a string"))
}

pub(crate) fn number(obj: &JsValue, key: &str) -> Result<Option<f64>, Error> {
    let v = get(obj, key);
    if !given(&v) {
        return Ok(None);
    }
    match v.as_f64() {
        Some(n) if n.is_finite() => Ok(Some(n)),
        _ => Err(bad(key, "a finite number")),
    }
}

/// A non-negative integer that fits in `u32` (timeouts in ms, counts).
pub(crate) fn uint(obj: &JsValue, key: &str) -> Result<Option<u32>, Error> {
    match number(obj, key)? {
        None => Ok(None),
        Some(n) if n >= 0.0 && n <= u32::MAX as f64 && n.fract() == 0.0 => Ok(Some(n as u32)),
        Some(_) => Err(bad(key, "a non-negative integer")),
    }
}

pub(crate) fn boolean(obj: &JsValue, key: &str) -> Result<Option<bool>, Error> {
    let v = get(obj, key);
    if !given(&v) {
        return Ok(None);
    }
    v.as_bool().map(Some).ok_or_else(|| bad(key, "a boolean"))
}

pub(crate) fn function(obj: &JsValue, key: &str) -> Result<Option<Function>, Error> {
    let v = get(obj, key);
    if !given(&v) {
        return Ok(None);
    }
    v.dyn_into::<Function>()
        .map(Some)
        .map_err(|_| bad(key, "a function"))
}

/// A scalar rendered the way JS `String(v)` would for strings, numbers and booleans.
fn scalar(v: &JsValue) -> Option<String> {
    if let Some(s) = v.as_string() {
        Some(s)
    } else if v.as_bool().is_some() || v.as_f64().is_some() {
        Some(js_string(v))
    } else {
        None
    }
}

/// Name/value pairs given as a plain object (`{a: "1", b: 2}`), as an array of `[name, value]`
/// pairs (repeated names allowed), or as anything iterable yielding pairs (`URLSearchParams`,
/// `Headers`, `Map`). Values may be strings, numbers or booleans; an array value in an object
/// repeats the name once per element.
pub(crate) fn pairs(obj: &JsValue, key: &str) -> Result<Vec<(String, String)>, Error> {
    let v = get(obj, key);
    pairs_of(&v, key)
}

pub(crate) fn pairs_of(v: &JsValue, key: &str) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    if !given(v) {
        return Ok(out);
    }
    if !v.is_object() {
        return Err(bad(key, "an object or an array of [name, value] pairs"));
    }
    let err = || {
        bad(
            key,
            "an object or an array of [name, value] pairs of strings",
        )
    };
    // Both shapes become one JS array of [name, value] entries, read by a single loop: an
    // iterable through `Array.from` (one import instead of the iterator protocol's five), a
    // plain object through `Object.entries`.
    let iterable = Reflect::get(v, &js_sys::Symbol::iterator()).is_ok_and(|f| f.is_function());
    let entries = if iterable {
        array_from(v).map_err(|_| err())?
    } else {
        Object::entries(v.unchecked_ref())
    };
    // Indexing with `get` rather than `iter()`: `iter()` binds a second, identical element
    // getter (`get_unchecked`) into the glue.
    for i in 0..entries.length() {
        let entry: Array = entries.get(i).dyn_into().map_err(|_| err())?;
        if iterable && entry.length() != 2 {
            return Err(err());
        }
        let name = entry.get(0).as_string().ok_or_else(err)?;
        let value = entry.get(1);
        match value.dyn_ref::<Array>() {
            // Only an object's values may be arrays (the name repeats); null/undefined skip.
            Some(list) if !iterable => {
                for k in 0..list.length() {
                    out.push((name.clone(), scalar(&list.get(k)).ok_or_else(err)?));
                }
            }
            _ if !iterable && !given(&value) => {}
            _ => out.push((name, scalar(&value).ok_or_else(err)?)),
        }
    }
    Ok(out)
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// JS `String(v)`: for a number, its shortest round-trip decimal form, as `toString()`.
    #[wasm_bindgen(js_name = String)]
    fn js_string(v: &JsValue) -> String;

    /// `Array.from(v)`, with an exception thrown by the iteration returned as `Err`.
    #[wasm_bindgen(catch, js_namespace = Array, js_name = from)]
    fn array_from(v: &JsValue) -> Result<Array, JsValue>;
}
