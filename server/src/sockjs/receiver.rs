//! Receiving HTTP requests: the response bodies of the polling and streaming transports, which
//! carry the session's frames to the client in each transport's framing.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use futures_util::stream::{self, StreamExt};
use tokio::sync::Notify;
use tokio::time::Instant;

use cometkit_protocol::server::{Detach, Pull, ReceiverId, BUSY};
use cometkit_protocol::sockjs::{encode_close_frame, quote_server_html_into, quote_server_into};

use super::session::SessionCore;
use super::Attached;

/// The page the htmlfile transport opens with; `{cb}` is the callback. Safari wants 1 KiB before
/// it starts parsing, hence the padding added by [`Kind::prelude`].
const HTMLFILE_HEAD: &str = r#"<!doctype html>
<html><head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
</head><body><h2>Don't panic!</h2>
  <script>
    document.domain = document.domain;
    var c = parent.{cb};
    c.start();
    function p(d) {c.message(d);};
    window.onload = function() {c.stop();};
  </script>
"#;

/// A receiving transport and its framing.
pub(crate) enum Kind {
    XhrPolling,
    XhrStreaming,
    EventSource,
    /// With its (validated) callback name.
    HtmlFile(String),
    /// With its (validated) callback name.
    Jsonp(String),
}

impl Kind {
    pub(crate) fn protocol(&self) -> &'static str {
        match self {
            Kind::XhrPolling => "xhr-polling",
            Kind::XhrStreaming => "xhr-streaming",
            Kind::EventSource => "eventsource",
            Kind::HtmlFile(_) => "htmlfile",
            Kind::Jsonp(_) => "jsonp-polling",
        }
    }

    pub(crate) fn content_type(&self) -> &'static str {
        match self {
            Kind::XhrPolling | Kind::XhrStreaming | Kind::Jsonp(_) => {
                "application/javascript; charset=UTF-8"
            }
            Kind::EventSource => "text/event-stream",
            Kind::HtmlFile(_) => "text/html; charset=UTF-8",
        }
    }

    /// Bytes sent before any frame (not counted against the response limit).
    fn prelude(&self) -> Option<String> {
        match self {
            // Old IE buffers the first 2 KiB of an XHR response.
            Kind::XhrStreaming => Some(["h".repeat(2048).as_str(), "\n"].concat()),
            // Opera wanted a line before the first event.
            Kind::EventSource => Some("\r\n".into()),
            Kind::HtmlFile(cb) => {
                let mut page = HTMLFILE_HEAD.replace("{cb}", cb);
                let pad = 1024usize.saturating_sub(page.len());
                page.push_str(&" ".repeat(pad));
                page.push_str("\r\n\r\n");
                Some(page)
            }
            Kind::XhrPolling | Kind::Jsonp(_) => None,
        }
    }

    /// `frame` in this transport's framing.
    pub(crate) fn encode(&self, frame: &str) -> String {
        match self {
            Kind::XhrPolling | Kind::XhrStreaming => [frame, "\n"].concat(),
            Kind::EventSource => {
                // sockjs-client `decodeURI`s each event; frames are JSON so only `%` can
                // actually occur, but CR, LF and NUL would also break the event stream.
                let mut out = String::with_capacity(frame.len() + 10);
                out.push_str("data: ");
                for c in frame.chars() {
                    match c {
                        '%' => out.push_str("%25"),
                        '\r' => out.push_str("%0D"),
                        '\n' => out.push_str("%0A"),
                        '\0' => out.push_str("%00"),
                        c => out.push(c),
                    }
                }
                out.push_str("\r\n\r\n");
                out
            }
            Kind::HtmlFile(_) => {
                let mut out = String::from("<script>\np(");
                quote_server_html_into(&mut out, frame);
                out.push_str(");\n</script>\r\n");
                out
            }
            Kind::Jsonp(cb) => {
                // The leading comment defuses the Flash "Rosetta" JSONP attack.
                let mut out = ["/**/", cb, "("].concat();
                quote_server_into(&mut out, frame);
                out.push_str(");\r\n");
                out
            }
        }
    }

    /// Frame bytes after which the response ends: polling transports carry one frame.
    fn limit(&self, response_limit: usize) -> usize {
        match self {
            Kind::XhrPolling | Kind::Jsonp(_) => 1,
            Kind::XhrStreaming | Kind::EventSource | Kind::HtmlFile(_) => response_limit.max(1),
        }
    }
}

/// A receiver attached to a session, pulling its frames.
struct Receiver {
    core: Arc<SessionCore>,
    attach: ReceiverId,
    wake: Arc<Notify>,
    kind: Kind,
    limit: usize,
    sent: usize,
    heartbeat: Duration,
    next_heartbeat: Instant,
    /// The response ended on its own terms (or the receiver was replaced): dropping it then is
    /// not an interruption.
    done: bool,
}

impl Receiver {
    async fn next(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        let frame = loop {
            match self.core.pull(self.attach) {
                Pull::Frame(frame) => break frame,
                // Only raw WebSockets carry raw messages.
                Pull::Raw(_) => continue,
                Pull::Last(frame) => {
                    // `pull` detached us: this is the last frame.
                    self.done = true;
                    return Some(self.kind.encode(&frame).into());
                }
                Pull::Gone => {
                    self.done = true;
                    return None;
                }
                Pull::Wait => {
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep_until(self.next_heartbeat) => break "h".to_owned(),
                    }
                }
            }
        };
        let mut bytes = self.kind.encode(&frame);
        // A resumable session's client is cometkit's, which reads every line of a polling
        // answer: frames already waiting go in the same answer, so a new session's `o` and
        // `r` frames (and a take-back's `r` and replay) cost one round trip, not one each.
        // Plain SockJS clients keep one frame per poll.
        if matches!(self.kind, Kind::XhrPolling) && self.core.token().is_some() {
            loop {
                match self.core.pull(self.attach) {
                    Pull::Frame(more) => bytes.push_str(&self.kind.encode(&more)),
                    Pull::Last(last) => {
                        // `pull` detached us: the close frame ends the answer.
                        bytes.push_str(&self.kind.encode(&last));
                        self.done = true;
                        return Some(bytes.into());
                    }
                    Pull::Gone => {
                        self.done = true;
                        return Some(bytes.into());
                    }
                    Pull::Raw(_) | Pull::Wait => break,
                }
            }
        }
        self.sent += bytes.len();
        self.next_heartbeat = Instant::now() + self.heartbeat;
        if self.sent >= self.limit {
            self.core.detach(self.attach, Detach::Finished);
            self.done = true;
        }
        Some(bytes.into())
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if !self.done {
            // The response was dropped mid-way: the client went away.
            self.core.detach(self.attach, Detach::Aborted);
        }
    }
}

/// The response body of a receiving request.
pub(crate) fn body(
    kind: Kind,
    core: Arc<SessionCore>,
    attached: Attached,
    response_limit: usize,
    heartbeat: Duration,
) -> Body {
    let prelude = kind.prelude();
    match attached {
        // (A session is never found expired: it leaves the registry as it expires.)
        Err(_) => {
            let mut text = prelude.unwrap_or_default();
            text.push_str(&kind.encode(&encode_close_frame(BUSY.0, BUSY.1)));
            Body::from(text)
        }
        Ok((id, wake)) => {
            let receiver = Receiver {
                core,
                attach: id,
                wake,
                limit: kind.limit(response_limit),
                kind,
                sent: 0,
                heartbeat,
                next_heartbeat: Instant::now() + heartbeat,
                done: false,
            };
            let frames = stream::unfold(
                receiver,
                |mut r| async move { r.next().await.map(|b| (b, r)) },
            );
            let all = stream::iter(prelude.map(Bytes::from)).chain(frames);
            Body::from_stream(all.map(Ok::<_, Infallible>))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cometkit_protocol::sockjs::encode_message_frame;

    #[test]
    fn framings() {
        assert_eq!(Kind::XhrPolling.encode("o"), "o\n");
        assert_eq!(
            Kind::EventSource.encode(r#"a["50%"]"#),
            "data: a[\"50%25\"]\r\n\r\n"
        );
        assert_eq!(
            Kind::Jsonp("cb".into()).encode(r#"a["x"]"#),
            "/**/cb(\"a[\\\"x\\\"]\");\r\n"
        );
        assert_eq!(
            Kind::HtmlFile("cb".into()).encode(r#"a["</script>"]"#),
            "<script>\np(\"a[\\\"\\u003c/script\\u003e\\\"]\");\n</script>\r\n"
        );
    }

    /// The frames the protocol crate writes for us are plain JSON after their type letter:
    /// serde_json, a decoder of its own, reads every character back, including through the
    /// htmlfile escaping.
    #[test]
    fn frames_are_standard_json() {
        let all: String = (0u32..0x11_0000).filter_map(char::from_u32).collect();
        let frame = encode_message_frame(&[all.clone(), "<&>".into()]);
        let body = frame.strip_prefix('a').unwrap_or_default();
        let decoded: Vec<String> = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(decoded, [all.clone(), "<&>".into()]);
        let mut html = String::new();
        quote_server_html_into(&mut html, &frame);
        assert_eq!(serde_json::from_str::<String>(&html).ok(), Some(frame));
        let close = encode_close_frame(3000, &all);
        let body = close.strip_prefix('c').unwrap_or_default();
        let decoded: (u16, String) = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(decoded, (3000, all));
    }

    #[test]
    fn preludes() {
        let xhr = Kind::XhrStreaming.prelude().unwrap_or_default();
        assert_eq!(xhr.len(), 2049);
        assert!(xhr.ends_with("h\n"));
        let html = Kind::HtmlFile("cb".into()).prelude().unwrap_or_default();
        assert!(html.len() > 1024);
        assert!(html.contains("var c = parent.cb;"));
        assert_eq!(Kind::XhrPolling.prelude(), None);
    }
}
