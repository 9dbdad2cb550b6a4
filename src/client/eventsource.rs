//! The eventsource receiver: the browser's native
//! [`EventSource`](https://developer.mozilla.org/docs/Web/API/EventSource) on
//! `…/eventsource`, one SockJS frame per event (unescaped with
//! [`eventsource_frame`](crate::protocol::sockjs::eventsource_frame)). Payloads go out through
//! `xhr_send` ([`super::http::send`]).
//!
//! The browser reconnects an EventSource by itself when its response ends, which SockJS
//! servers do after `response_limit` bytes. Like sockjs-client, the receiver instead closes
//! the object on every `error` and, if the stream had delivered frames and the browser was
//! going to retry, opens a fresh one on the same session. A stream that fails before any frame
//! (refused, non-200, wrong type, CORS) fails the transport.

use futures_channel::mpsc;
use futures_util::StreamExt;

use crate::protocol::session::OpId;
use crate::protocol::sockjs::eventsource_frame;
use crate::transport::eventsource::RawSource;
use crate::Error;

use super::driver::{Sink, Task};

enum News {
    Data(String),
    Error,
}

/// The browser's EventSource (the primitive in [`crate::transport::eventsource`]) with its
/// news on a channel.
fn open(url: &str, credentials: bool) -> Option<(RawSource, mpsc::UnboundedReceiver<News>)> {
    let (tx, rx) = mpsc::unbounded();
    let on_error = tx.clone();
    let source = RawSource::open(
        url,
        credentials,
        move |data| {
            let _ = tx.unbounded_send(News::Data(data));
        },
        move || {
            let _ = on_error.unbounded_send(News::Error);
        },
    )
    .ok()?;
    Some((source, rx))
}

/// The receiving loop at `url` (`…/eventsource`).
pub(crate) fn receive(id: OpId, url: String, credentials: bool, sink: &Sink) -> Task {
    let sink = sink.clone();
    Task::spawn(async move {
        loop {
            let Some((source, mut rx)) = open(&url, credentials) else {
                return sink.failed(
                    id,
                    Error::invalid("the browser refused to open the EventSource"),
                );
            };
            let mut frames = false;
            while let Some(News::Data(data)) = rx.next().await {
                frames = true;
                sink.frame_str(id, &eventsource_frame(&data));
            }
            let retrying = source.retrying();
            drop(source);
            if !(frames && retrying) {
                return sink.failed(id, Error::network("EventSource failed"));
            }
        }
    })
}
