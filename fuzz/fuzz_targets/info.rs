//! The SockJS `/info` answer (`Info::parse`), the first thing a client reads from a server.
//! The whole input is the body. A body that parses, written again as JSON with the fields
//! in another order and an unknown nested field, parses to the same `Info`.
#![no_main]

use cometkit_fuzz::text;
use cometkit_protocol::info::Info;
use cometkit_protocol::sockjs::encode_payload;
use cometkit_protocol::ErrorKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let body = text(data);
    match Info::parse(&body) {
        Ok(info) => {
            let flag = |b: bool| if b { "true" } else { "false" };
            let again = [
                "{\"entropy\":",
                &info.entropy.to_string(),
                ",\"x\":[{\"a\":[1,-2.5e3,null,\"\\u00e9\"]}],\"origins\":",
                &encode_payload(&info.origins),
                ",\"cookie_needed\":",
                flag(info.cookie_needed),
                ", \"websocket\" : ",
                flag(info.websocket),
                "}",
            ]
            .concat();
            assert_eq!(Info::parse(&again).as_ref(), Ok(&info));
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Protocol);
            assert!(!e.message().is_empty());
        }
    }
});
