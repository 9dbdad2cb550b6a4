//! The websocket transport: a framed SockJS session over the browser's
//! [`WebSocket`](https://developer.mozilla.org/docs/Web/API/WebSocket) at `…/websocket`, one
//! frame per message in each direction (the driver sends payloads on the [`Conn`] directly).

use futures_util::StreamExt;

use crate::protocol::session::OpId;
use crate::transport::websocket::{Conn, Raw};
use crate::Error;

use super::driver::{Sink, Task};

/// Connects to `url` (`ws:`/`wss:`) and starts the task that turns its events into inputs.
/// Fails when the browser refuses the URL (mixed content, bad port, ...).
pub(crate) fn open(id: OpId, url: &str, sink: &Sink) -> Result<(Conn, Task), Error> {
    let (conn, mut rx) = Conn::connect(url, &[])?;
    let sink = sink.clone();
    let task = Task::spawn(async move {
        while let Some(raw) = rx.next().await {
            match raw {
                Raw::Message(data) => match data.as_string() {
                    Some(frame) => sink.frame(id, frame),
                    None => {
                        return sink.failed(
                            id,
                            Error::protocol("SockJS server sent a binary WebSocket message"),
                        )
                    }
                },
                Raw::Close(info) => {
                    let reason = if info.reason.is_empty() {
                        "WebSocket connection closed".to_owned()
                    } else {
                        info.reason
                    };
                    return sink.closed(id, info.code, reason);
                }
                Raw::Open | Raw::Error => {}
            }
        }
    });
    Ok((conn, task))
}
