//! JSONP callback names: how cometkit makes them and which names a server should accept.
//!
//! A JSONP response is a script that calls a global function whose name the client chose and
//! sent in the query string. Anyone who can guess a pending name can race the real response
//! (another script on the page, or a second response), so names carry
//! [`CALLBACK_RANDOM_BYTES`] bytes (128 bits) of randomness from `crypto.getRandomValues`,
//! encoded in lowercase base32 after the [`CALLBACK_PREFIX`]. The result is a valid JavaScript
//! identifier and passes the usual server-side filter `^[A-Za-z0-9_.$]+$` ([`is_valid_callback`]).
//!
//! Everything here is pure: the random bytes are a parameter.

/// Every callback name cometkit generates starts with this prefix.
pub const CALLBACK_PREFIX: &str = "__ck";

/// Random bytes in a callback name: 128 bits, more than the 96 that make guessing hopeless.
pub const CALLBACK_RANDOM_BYTES: usize = 16;

/// Length of a generated callback name: the prefix plus 26 base32 characters.
pub const CALLBACK_NAME_LEN: usize =
    CALLBACK_PREFIX.len() + (CALLBACK_RANDOM_BYTES * 8).div_ceil(5);

/// The longest callback name [`is_valid_callback`] accepts (servers commonly cap it too).
pub const MAX_CALLBACK_LEN: usize = 128;

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Appends `bytes` to `out` as unpadded lowercase base32 (RFC 4648 alphabet): 5 bits per
/// character, the last character carrying the remaining bits padded with zeros.
pub fn encode_base32(bytes: &[u8], out: &mut String) {
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(BASE32[((acc << (5 - bits)) & 31) as usize]));
    }
}

/// The callback name for these random bytes: [`CALLBACK_PREFIX`] + base32 of `random`.
pub fn callback_name(random: &[u8; CALLBACK_RANDOM_BYTES]) -> String {
    let mut name = String::with_capacity(CALLBACK_NAME_LEN);
    name.push_str(CALLBACK_PREFIX);
    encode_base32(random, &mut name);
    name
}

/// The server-side rule: 1 to [`MAX_CALLBACK_LEN`] characters from `[A-Za-z0-9_.$]`.
///
/// Dots allow `ns.fn` style callbacks; everything that could end the call expression
/// (parentheses, quotes, `;`, whitespace, `<`) is refused, so a reflected name cannot inject
/// script.
pub fn is_valid_callback(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_CALLBACK_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'$'))
}

/// True when `name` is a plain ASCII JavaScript identifier (`[A-Za-z_$][A-Za-z0-9_$]*`), so a
/// response can call it as a global (`name(...)`) and it can be a property of `window`.
pub fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b'$' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
}

/// Checks the name of the query parameter that carries the callback name (`callback`, `cb`,
/// `jsonp`, ...): it must be non-empty.
pub fn check_callback_param(param: &str) -> Result<(), &'static str> {
    if param.is_empty() {
        return Err("the JSONP callback parameter name is empty");
    }
    Ok(())
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn b32(bytes: &[u8]) -> String {
        let mut s = String::new();
        encode_base32(bytes, &mut s);
        s
    }

    #[test]
    fn base32_matches_rfc4648_vectors() {
        // RFC 4648 section 10, lowercased and without padding.
        assert_eq!(b32(b""), "");
        assert_eq!(b32(b"f"), "my");
        assert_eq!(b32(b"fo"), "mzxq");
        assert_eq!(b32(b"foo"), "mzxw6");
        assert_eq!(b32(b"foob"), "mzxw6yq");
        assert_eq!(b32(b"fooba"), "mzxw6ytb");
        assert_eq!(b32(b"foobar"), "mzxw6ytboi");
    }

    #[test]
    fn callback_names_have_prefix_length_and_are_identifiers() {
        for fill in [0u8, 1, 0x7f, 0xa5, 0xff] {
            let name = callback_name(&[fill; CALLBACK_RANDOM_BYTES]);
            assert!(name.starts_with(CALLBACK_PREFIX));
            assert_eq!(name.len(), CALLBACK_NAME_LEN);
            assert_eq!(CALLBACK_NAME_LEN, 30);
            assert!(is_identifier(&name), "{name}");
            assert!(is_valid_callback(&name), "{name}");
        }
        assert_eq!(
            callback_name(&[0; CALLBACK_RANDOM_BYTES]),
            "__ckaaaaaaaaaaaaaaaaaaaaaaaaaa"
        );
        assert_eq!(
            callback_name(&[0xff; CALLBACK_RANDOM_BYTES]),
            "__ck77777777777777777777777774"
        );
    }

    #[test]
    fn callback_names_keep_every_random_bit() {
        // Flipping any single input bit changes the name: no entropy is dropped by the encoding.
        let base = [0u8; CALLBACK_RANDOM_BYTES];
        let reference = callback_name(&base);
        let mut seen = std::collections::HashSet::new();
        for byte in 0..CALLBACK_RANDOM_BYTES {
            for bit in 0..8 {
                let mut r = base;
                r[byte] ^= 1 << bit;
                let name = callback_name(&r);
                assert_ne!(name, reference);
                assert!(seen.insert(name), "two different inputs gave the same name");
            }
        }
        assert_eq!(seen.len(), CALLBACK_RANDOM_BYTES * 8);
    }

    #[test]
    fn server_side_rule_accepts_the_usual_names_and_refuses_injection() {
        for ok in [
            "cb",
            "jQuery1234_5678",
            "ns.handlers.done",
            "$",
            "_0",
            "a$b",
        ] {
            assert!(is_valid_callback(ok), "{ok}");
        }
        for bad in [
            "", "alert(1)", "a;b", "a b", "a\nb", "cb//", "<script>", "a-b", "x\"", "é", "a=1",
        ] {
            assert!(!is_valid_callback(bad), "{bad:?}");
        }
        assert!(is_valid_callback(&"a".repeat(MAX_CALLBACK_LEN)));
        assert!(!is_valid_callback(&"a".repeat(MAX_CALLBACK_LEN + 1)));
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("__ck0"));
        assert!(is_identifier("$x"));
        assert!(!is_identifier("0abc"));
        assert!(!is_identifier("a.b"));
        assert!(!is_identifier(""));
        assert!(!is_identifier("a-b"));
    }

    #[test]
    fn callback_param_must_be_non_empty() {
        assert!(check_callback_param("callback").is_ok());
        assert!(check_callback_param("c").is_ok());
        assert!(check_callback_param("").is_err());
    }
}
