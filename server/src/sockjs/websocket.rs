//! The WebSocket transports: framed (`<server>/<session>/websocket`, SockJS frames one per
//! WebSocket message) and raw (`/websocket`, application messages as they are).
//!
//! A plain socket has a session of its own that ends with the socket; there is no
//! reconnecting to it, so the URL session id is not used. A framed socket that asks for the
//! resume extension (`?resume=...`) carries a resumable session, which outlives the socket for
//! its grace period and can be taken back over any transport.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use tokio::time::Instant;

use cometkit_protocol::resume;
use cometkit_protocol::server::{Detach, Pull, Refused};

use super::Shared;

/// How long to wait for the client's close frame after sending ours.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// A close code a server may put in a WebSocket close frame (RFC 6455 section 7.4).
fn sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// `reason` cut to the 123 bytes a close frame can carry, on a char boundary.
fn close_reason(reason: &str) -> &str {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

fn text_of(message: Message) -> Option<String> {
    match message {
        Message::Text(t) => Some(t.as_str().to_owned()),
        Message::Binary(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        Message::Ping(_) | Message::Pong(_) | Message::Close(_) => None,
    }
}

/// Serves one upgraded socket until it or its session ends.
pub(crate) async fn serve(
    mut socket: WebSocket,
    shared: Arc<Shared>,
    framed: bool,
    resume: Option<resume::Request>,
) {
    let heartbeat = shared.options.heartbeat_delay;
    let (core, attached) = shared.open_socket_session(framed, resume);
    let Ok((id, wake)) = attached else {
        return;
    };
    let mut next_heartbeat = Instant::now() + heartbeat;
    // `Some(code, reason)`: close the socket with this frame; `None`: it is gone already.
    let mut detach = Detach::Aborted;
    let closing: Option<(u16, String)> = 'serve: loop {
        let outgoing = match core.pull(id) {
            Pull::Frame(frame) => vec![frame],
            Pull::Raw(messages) => messages,
            Pull::Last(frame) => {
                detach = Detach::Finished;
                if !framed {
                    let (code, reason) = core.close_status().unwrap_or((1000, String::new()));
                    let code = if sendable_close_code(code) {
                        code
                    } else {
                        1000
                    };
                    break Some((code, reason));
                }
                if socket.send(Message::text(frame)).await.is_err() {
                    break None;
                }
                break Some((1000, "Normal closure".to_owned()));
            }
            // Replaced by a connection that took the session back: this socket is stale.
            Pull::Gone => break Some((1000, "Normal closure".to_owned())),
            Pull::Wait => {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep_until(next_heartbeat), if framed => {
                        if socket.send(Message::text("h")).await.is_err() {
                            break None;
                        }
                        next_heartbeat = Instant::now() + heartbeat;
                    }
                    incoming = socket.recv() => {
                        let Some(Ok(message)) = incoming else { break None };
                        if let Message::Close(_) = message {
                            // Complete the closing handshake: flushing sends the reply close
                            // frame tungstenite queued, so the client sees a clean close.
                            let _ = socket.send(Message::Close(None)).await;
                            break None;
                        }
                        let Some(text) = text_of(message) else { continue };
                        if !framed {
                            let _ = core.deliver(&text, true);
                            continue;
                        }
                        match core.deliver(&text, true) {
                            // A plain session lives and dies with this socket, so it is open
                            // while messages arrive on it; a session the application closed
                            // has its close frame coming.
                            Ok(()) | Err(Refused::NotOpen) => {}
                            // sockjs-node drops the connection on broken framing.
                            Err(Refused::Payload(_)) => {
                                break Some((3000, "Broken framing.".to_owned()))
                            }
                            // A resumable client out of step: the session waits for it to
                            // come back in step.
                            Err(_) => break Some((1002, "Resume protocol error".to_owned())),
                        }
                    }
                }
                continue;
            }
        };
        for frame in outgoing {
            if socket.send(Message::text(frame)).await.is_err() {
                break 'serve None;
            }
        }
        next_heartbeat = Instant::now() + heartbeat;
    };
    core.detach(id, detach);
    let Some((code, reason)) = closing else {
        return;
    };
    let frame = CloseFrame {
        code,
        reason: close_reason(&reason).into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    // Let the client answer the close handshake, within bounds.
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(message)) = socket.recv().await {
            if let Message::Close(_) = message {
                break;
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_frames_stay_valid() {
        assert!(sendable_close_code(1000));
        assert!(sendable_close_code(3000));
        assert!(!sendable_close_code(1005));
        assert!(!sendable_close_code(2010));
        assert_eq!(close_reason("short"), "short");
        let long = "é".repeat(100);
        assert_eq!(close_reason(&long).len(), 122);
    }
}
