//! WebSocket close codes and reasons: what a client may send, and what a received code means.
//!
//! The rules are the browser's (WHATWG WebSockets, `close()`): a script may only send code 1000
//! or an application code in 3000-4999, and a reason of at most 123 UTF-8 bytes (a close frame's
//! payload is at most 125 bytes, two of which hold the code). cometkit checks them itself so a
//! bad value becomes an [`Error::invalid`] before anything reaches the socket, instead of a
//! `DOMException` thrown from deep inside the browser. The registered codes are listed in
//! [RFC 6455 section 7.4](https://www.rfc-editor.org/rfc/rfc6455#section-7.4) and the
//! [IANA registry](https://www.iana.org/assignments/websocket/websocket.xhtml).
//!
//! Both the WebSocket wrapper and the SockJS socket use these helpers.

use crate::Error;

/// 1000: the purpose of the connection was fulfilled.
pub const NORMAL: u16 = 1000;
/// 1001: an endpoint is going away (page navigation, server shutdown).
pub const GOING_AWAY: u16 = 1001;
/// 1002: the peer broke the WebSocket protocol.
pub const PROTOCOL_ERROR: u16 = 1002;
/// 1005: the close frame carried no code (never sent on the wire).
pub const NO_STATUS: u16 = 1005;
/// 1006: the connection dropped without a close frame (never sent on the wire).
pub const ABNORMAL: u16 = 1006;
/// 1011: the server hit an unexpected condition.
pub const INTERNAL_ERROR: u16 = 1011;
/// The longest close reason a client may send, in UTF-8 bytes.
pub const MAX_REASON_BYTES: usize = 123;

/// Checks a close code a client wants to send: 1000, or 3000-4999.
///
/// Fails with [`Error::invalid`] for anything else: 1001-2999 are reserved to the protocol and
/// its extensions (browsers refuse them from scripts), 0-999 and 5000+ are not close codes.
pub fn check_code(code: u16) -> Result<(), Error> {
    if code == NORMAL || (3000..=4999).contains(&code) {
        Ok(())
    } else {
        Err(Error::invalid(
            "close code must be 1000 or in 3000-4999 (1001-2999 are reserved to the protocol)",
        ))
    }
}

/// Checks a close reason a client wants to send: at most [`MAX_REASON_BYTES`] UTF-8 bytes.
pub fn check_reason(reason: &str) -> Result<(), Error> {
    if reason.len() > MAX_REASON_BYTES {
        Err(Error::invalid(
            "close reason must be at most 123 bytes of UTF-8",
        ))
    } else {
        Ok(())
    }
}

/// [`check_code`] then [`check_reason`].
pub fn check_close(code: u16, reason: &str) -> Result<(), Error> {
    check_code(code)?;
    check_reason(reason)
}

/// What a received close code says about how the connection ended.
///
/// ```
/// use cometkit_protocol::close::{classify, CloseClass};
///
/// assert_eq!(classify(1000), CloseClass::Normal);
/// assert_eq!(classify(1006), CloseClass::Abnormal);
/// assert_eq!(classify(1013), CloseClass::Retry);
/// assert_eq!(classify(4001), CloseClass::Application);
/// let reconnect = matches!(classify(1001), CloseClass::GoingAway | CloseClass::Retry);
/// assert!(reconnect);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseClass {
    /// 1000: closed on purpose, all is well.
    Normal,
    /// 1001: one side is going away (navigation, shutdown); reconnecting later is reasonable.
    GoingAway,
    /// 1005: a close frame arrived without a code.
    NoStatus,
    /// 1006: the connection dropped without a closing handshake (network failure, refused
    /// handshake, server crash).
    Abnormal,
    /// 1002-1003, 1007-1011, 1014-1015: the closing side reports a failure (protocol error,
    /// bad data, policy, size, missing extension, internal error, bad gateway, TLS).
    Failure,
    /// 1012-1013: the server restarts or is overloaded; try again later.
    Retry,
    /// 3000-4999: chosen by the application (3000-3999 registered, 4000-4999 private).
    Application,
    /// Anything else (unassigned or invalid on the wire).
    Unknown,
}

/// Classifies a received close code.
pub fn classify(code: u16) -> CloseClass {
    match code {
        NORMAL => CloseClass::Normal,
        GOING_AWAY => CloseClass::GoingAway,
        NO_STATUS => CloseClass::NoStatus,
        ABNORMAL => CloseClass::Abnormal,
        1002 | 1003 | 1007..=1011 | 1014 | 1015 => CloseClass::Failure,
        1012 | 1013 => CloseClass::Retry,
        3000..=4999 => CloseClass::Application,
        _ => CloseClass::Unknown,
    }
}

/// True when `code` means the connection was lost rather than closed (1006).
pub fn is_abnormal(code: u16) -> bool {
    code == ABNORMAL
}

/// True when `code` reports an error: 1006 or any [`CloseClass::Failure`] code.
pub fn is_error(code: u16) -> bool {
    matches!(classify(code), CloseClass::Abnormal | CloseClass::Failure)
}

/// The registered name of a close code, for messages and logs (`"abnormal closure"`).
pub fn describe(code: u16) -> &'static str {
    match code {
        1000 => "normal closure",
        1001 => "going away",
        1002 => "protocol error",
        1003 => "unsupported data",
        1005 => "no status received",
        1006 => "abnormal closure",
        1007 => "invalid frame payload data",
        1008 => "policy violation",
        1009 => "message too big",
        1010 => "mandatory extension missing",
        1011 => "internal error",
        1012 => "service restart",
        1013 => "try again later",
        1014 => "bad gateway",
        1015 => "TLS handshake failure",
        3000..=3999 => "registered application code",
        4000..=4999 => "private application code",
        _ => "unknown code",
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn client_may_send_1000_and_3000_to_4999() {
        for code in [1000, 3000, 3001, 4000, 4999] {
            assert!(check_code(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn other_codes_are_invalid_and_name_the_rule() {
        for code in [
            0,
            999,
            1001,
            1005,
            1006,
            1011,
            1015,
            2000,
            2999,
            5000,
            u16::MAX,
        ] {
            let err = check_code(code).unwrap_err();
            assert!(err.is_invalid(), "{code}");
            assert!(err.message().contains("1000 or in 3000-4999"), "{code}");
        }
    }

    #[test]
    fn reason_is_limited_to_123_bytes_not_chars() {
        assert!(check_reason("").is_ok());
        assert!(check_reason(&"a".repeat(123)).is_ok());
        assert!(check_reason(&"a".repeat(124)).unwrap_err().is_invalid());
        // 41 three-byte characters = 123 bytes; one more two-byte character breaks the limit.
        let euros = "€".repeat(41);
        assert_eq!(euros.len(), 123);
        assert!(check_reason(&euros).is_ok());
        let over = [euros.as_str(), "é"].concat();
        assert!(check_reason(&over)
            .unwrap_err()
            .message()
            .contains("123 bytes"));
        // 30 four-byte emoji: 30 chars, 120 bytes; 31 are 124 bytes.
        assert!(check_reason(&"😀".repeat(30)).is_ok());
        assert!(check_reason(&"😀".repeat(31)).is_err());
    }

    #[test]
    fn check_close_checks_both() {
        assert!(check_close(3001, "done").is_ok());
        assert!(check_close(1001, "").is_err());
        assert!(check_close(1000, &"x".repeat(124)).is_err());
    }

    #[test]
    fn classifies_received_codes() {
        assert_eq!(classify(1000), CloseClass::Normal);
        assert_eq!(classify(1001), CloseClass::GoingAway);
        assert_eq!(classify(1005), CloseClass::NoStatus);
        assert_eq!(classify(1006), CloseClass::Abnormal);
        assert_eq!(classify(1002), CloseClass::Failure);
        assert_eq!(classify(1011), CloseClass::Failure);
        assert_eq!(classify(1013), CloseClass::Retry);
        assert_eq!(classify(3000), CloseClass::Application);
        assert_eq!(classify(4999), CloseClass::Application);
        assert_eq!(classify(1004), CloseClass::Unknown);
        assert_eq!(classify(2000), CloseClass::Unknown);
        assert_eq!(classify(5000), CloseClass::Unknown);
        assert!(is_abnormal(1006) && !is_abnormal(1000));
        assert!(is_error(1006) && is_error(1011) && !is_error(1000) && !is_error(4000));
    }

    #[test]
    fn describes_codes() {
        assert_eq!(describe(1006), "abnormal closure");
        assert_eq!(describe(3500), "registered application code");
        assert_eq!(describe(4500), "private application code");
        assert_eq!(describe(2500), "unknown code");
    }
}
