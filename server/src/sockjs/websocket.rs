//! The WebSocket transports: framed (`<server>/<session>/websocket`, SockJS frames one per
//! WebSocket message) and raw (`/websocket`, application messages as they are).
//!
//! Each socket has a session of its own that ends with the socket; there is no reconnecting
//! to it, so the URL session id is not used.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use tokio::time::Instant;

use cometkit_protocol::sockjs::{decode_ws_message, encode_close_frame, encode_message_frame};

use super::session::{Detach, Out, Register};
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
pub(crate) async fn serve(mut socket: WebSocket, shared: Arc<Shared>, framed: bool) {
    let heartbeat = shared.options.heartbeat_delay;
    let (core, registered) = shared.open_socket_session(framed);
    let Register::Attached { id, wake } = registered else {
        return;
    };
    let mut next_heartbeat = Instant::now() + heartbeat;
    // `Some(code, reason)`: close the socket with this frame; `None`: it is gone already.
    let mut detach = Detach::Aborted;
    let closing: Option<(u16, String)> = 'serve: loop {
        let outgoing = match core.pull(id) {
            Out::Open => vec!["o".to_owned()],
            Out::Messages(messages) if framed => vec![encode_message_frame(&messages)],
            Out::Messages(messages) => messages,
            Out::Close(code, reason) => {
                detach = Detach::Finished;
                if !framed {
                    let code = if sendable_close_code(code) {
                        code
                    } else {
                        1000
                    };
                    break Some((code, reason));
                }
                if socket
                    .send(Message::text(encode_close_frame(code, &reason)))
                    .await
                    .is_err()
                {
                    break None;
                }
                break Some((1000, "Normal closure".to_owned()));
            }
            Out::Gone => break None,
            Out::Wait => {
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
                        // The session lives and dies with this socket, so it is open while
                        // messages arrive on it: nothing is refused here.
                        if !framed {
                            let _ = core.deliver(vec![text]);
                            continue;
                        }
                        match decode_ws_message(&text) {
                            Ok(messages) => {
                                let _ = core.deliver(messages);
                            }
                            // sockjs-node drops the connection on broken framing.
                            Err(_) => break Some((3000, "Broken framing.".to_owned())),
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
