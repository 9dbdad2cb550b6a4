//! Cryptographically strong random bytes from
//! [`crypto.getRandomValues`](https://developer.mozilla.org/docs/Web/API/Crypto/getRandomValues).
//!
//! Used by the `jsonp` transport (unguessable callback names) and the `ping` transport
//! (cache-busting tokens). `Math.random` is not used: its output is predictable enough to guess
//! a pending JSONP callback name.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use crate::Error;

#[wasm_bindgen]
extern "C" {
    /// `crypto.getRandomValues(buf)` on the global `crypto` (window or worker). Where there is
    /// none, the lookup throws a `ReferenceError`, returned as `Err` like any other failure.
    /// Bound directly: no global-object lookup, `Reflect.get` or `instanceof Crypto` on the way.
    #[wasm_bindgen(catch, js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]) -> Result<JsValue, JsValue>;
}

/// Fills `buf` from `crypto.getRandomValues` of the global object (window or worker).
///
/// Fails with [`crate::ErrorKind::Invalid`] (nothing was sent) when the environment has no Web
/// Crypto.
pub(crate) fn fill(buf: &mut [u8]) -> Result<(), Error> {
    get_random_values(buf)
        .map(drop)
        .map_err(|_| Error::invalid("this environment has no working crypto.getRandomValues"))
}

/// Lowercase hexadecimal of `bytes`.
#[cfg_attr(not(feature = "_ping"), allow(dead_code))]
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::hex;

    #[test]
    fn hex_encodes_every_nibble() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(
            hex(&[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0]),
            "123456789abcdef0"
        );
    }
}
