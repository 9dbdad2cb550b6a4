//! Response bodies as a misbehaving network would deliver them: cut off mid-stream when the
//! key restarts, or held back whole by a buffering proxy.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, BodyDataStream, Bytes};
use axum::response::Response;
use futures_util::{Stream, StreamExt};
use tokio::sync::watch;

/// Resolves when the instance behind `cut` is restarted or forgotten.
pub(super) async fn cut_off(mut cut: watch::Receiver<bool>) {
    // `Err`: the sender is gone, which means the same.
    let _ = cut.wait_for(|cut| *cut).await;
}

fn aborted() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "cut by the chaos layer")
}

/// A body that fails (so the server drops the connection without ending the response
/// properly) as soon as its instance is cut off.
struct Cuttable {
    body: Option<BodyDataStream>,
    cut: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl Stream for Cuttable {
    type Item = Result<Bytes, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(body) = this.body.as_mut() else {
            return Poll::Ready(None);
        };
        if this.cut.as_mut().poll(cx).is_ready() {
            this.body = None;
            return Poll::Ready(Some(Err(aborted())));
        }
        match body.poll_next_unpin(cx) {
            Poll::Ready(Some(Err(_))) => {
                this.body = None;
                Poll::Ready(Some(Err(aborted())))
            }
            Poll::Ready(None) => {
                this.body = None;
                Poll::Ready(None)
            }
            other => other.map(|item| item.map(|r| r.map_err(|_| aborted()))),
        }
    }
}

/// `body`, failing as soon as `cut` fires.
pub(super) fn cuttable(body: Body, cut: watch::Receiver<bool>) -> Body {
    Body::from_stream(Cuttable {
        body: Some(body.into_data_stream()),
        cut: Box::pin(cut_off(cut)),
    })
}

/// `body`, failing `after` it starts (or at a restart before that), as a network that drops
/// long-lived connections does.
pub(super) fn cut_after(
    body: Body,
    cut: watch::Receiver<bool>,
    after: std::time::Duration,
) -> Body {
    let cut = async move {
        tokio::select! {
            () = cut_off(cut) => {}
            () = tokio::time::sleep(after) => {}
        }
    };
    Body::from_stream(Cuttable {
        body: Some(body.into_data_stream()),
        cut: Box::pin(cut),
    })
}

/// A response that breaks the connection instead of answering (its body fails at once).
pub(super) fn broken() -> Response {
    Response::new(Body::from_stream(futures_util::stream::once(async {
        Err::<Bytes, _>(aborted())
    })))
}

/// Holds `res` back until its body has ended, then sends it whole, as a buffering proxy does.
/// A body beyond `max` bytes, or a restart meanwhile, breaks the connection instead.
pub(super) async fn buffered(res: Response, max: usize, cut: watch::Receiver<bool>) -> Response {
    let (parts, body) = res.into_parts();
    tokio::select! {
        collected = axum::body::to_bytes(body, max) => match collected {
            Ok(bytes) => Response::from_parts(parts, Body::from(bytes)),
            Err(_) => broken(),
        },
        () = cut_off(cut) => broken(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cut_fails_the_body() {
        let (tx, rx) = watch::channel(false);
        let (feed_tx, feed_rx) = tokio::sync::mpsc::unbounded_channel::<Result<Bytes, io::Error>>();
        let inner = Body::from_stream(futures_util::stream::unfold(feed_rx, |mut rx| async {
            rx.recv().await.map(|item| (item, rx))
        }));
        let mut body = cuttable(inner, rx).into_data_stream();
        let _ = feed_tx.send(Ok(Bytes::from_static(b"one")));
        assert_eq!(
            body.next().await.and_then(Result::ok).as_deref(),
            Some(&b"one"[..])
        );
        tx.send_replace(true);
        assert!(matches!(body.next().await, Some(Err(_))));
        assert!(body.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn cut_after_fails_the_body_in_time() {
        let (_tx, rx) = watch::channel(false);
        let endless =
            Body::from_stream(futures_util::stream::pending::<Result<Bytes, io::Error>>());
        let mut body =
            cut_after(endless, rx, std::time::Duration::from_millis(300)).into_data_stream();
        let started = tokio::time::Instant::now();
        assert!(matches!(body.next().await, Some(Err(_))));
        assert_eq!(started.elapsed(), std::time::Duration::from_millis(300));
        assert!(body.next().await.is_none());
    }

    #[tokio::test]
    async fn dropped_sender_cuts_too() {
        let (tx, rx) = watch::channel(false);
        drop(tx);
        let res = buffered(
            Response::new(Body::from_stream(futures_util::stream::pending::<
                Result<Bytes, io::Error>,
            >())),
            1024,
            rx,
        )
        .await;
        let got = axum::body::to_bytes(res.into_body(), 1024).await;
        assert!(got.is_err());
    }

    #[tokio::test]
    async fn buffering_sends_the_whole_body() {
        let (_tx, rx) = watch::channel(false);
        let chunks = futures_util::stream::iter(["a", "b", "c"].map(Ok::<_, io::Error>));
        let res = buffered(Response::new(Body::from_stream(chunks)), 1024, rx).await;
        assert_eq!(axum::body::HttpBody::size_hint(res.body()).exact(), Some(3));
        let got = axum::body::to_bytes(res.into_body(), 1024).await.ok();
        assert_eq!(got.as_deref(), Some(&b"abc"[..]));
        let (_tx, rx) = watch::channel(false);
        let big = Response::new(Body::from("x".repeat(2000)));
        let res = buffered(big, 1024, rx).await;
        assert!(axum::body::to_bytes(res.into_body(), 4096).await.is_err());
    }
}
