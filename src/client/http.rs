//! The XHR family: `/info`, the xhr-streaming, xhr-polling, xdr-streaming and xdr-polling
//! receivers, and the `xhr_send` sender.
//!
//! Both flavours use the same endpoints. [`Flavor::Xhr`] is a CORS XHR (with cookies when the
//! socket asks for credentials); [`Flavor::Xdr`] stays within XDomainRequest's limits: no
//! cookies, no custom headers, `text/plain` bodies, so it never costs a preflight. Polling and
//! sending go through [`XdrRequest`] (the page's `XDomainRequest` when it has one); the streaming
//! receiver needs the response while it grows, which `XdrRequest` does not expose, so it runs
//! an XHR under the same limits (a browser running WebAssembly has no native XDomainRequest).
//!
//! Receivers re-issue their request after every complete response, on the same session. A
//! response that ends without a single frame fails the transport: a SockJS server always sends
//! at least one (`o`, `h`, `a`, `c`), and re-requesting would otherwise spin.

use futures_util::StreamExt;

use crate::protocol::ladder::TransportKind;
use crate::protocol::session::OpId;
use crate::protocol::sockjs::XhrStreamReader;
use crate::transport::cors::{self, CorsSupport};
use crate::transport::xdr::XdrRequest;
use crate::transport::xhr::{Body, Request, Response};
use crate::Error;

use super::driver::{Sink, Task};

const NO_FRAME: &str = "SockJS response ended without a frame";

/// How requests are made; see the module docs.
#[derive(Clone, Copy)]
pub(crate) enum Flavor {
    /// A CORS XHR; `true`: with credentials.
    Xhr(bool),
    /// Within XDomainRequest's limits.
    Xdr,
}

/// `GET <base>/info`, reported as [`Sink::info`]. Uses XHR when it speaks CORS, else the
/// XDomainRequest-style request.
pub(crate) fn fetch_info(id: OpId, url: String, credentials: bool, sink: &Sink) -> Task {
    let sink = sink.clone();
    Task::spawn(async move {
        let result = if cors::detect() == CorsSupport::Xdr {
            XdrRequest::new("GET", &url).send().await
        } else {
            Request::get(&url)
                .with_credentials(credentials)
                .send()
                .await
        };
        sink.info(id, result.map(|r| r.text().unwrap_or_default()));
    })
}

/// One complete response (polling).
async fn post(url: &str, flavor: Flavor) -> Result<Response, Error> {
    match flavor {
        Flavor::Xhr(credentials) => {
            Request::post(url)
                .with_credentials(credentials)
                .send()
                .await
        }
        Flavor::Xdr => XdrRequest::new("POST", url).send().await,
    }
}

/// The receiving loop of `kind`: its first request at `first`, each later one at the URL the
/// session gives for it (with the resume extension, carrying what was received).
pub(crate) fn receive(
    id: OpId,
    kind: TransportKind,
    first: String,
    flavor: Flavor,
    sink: &Sink,
) -> Task {
    let sink = sink.clone();
    if kind.spec().streaming {
        Task::spawn(async move {
            // Each request asks for its URL: with the resume extension it carries an ack.
            while let Some(url) = sink.receive_url(id, &first) {
                if let Err(e) = stream_once(id, &url, flavor, &sink).await {
                    return sink.failed(id, e);
                }
            }
        })
    } else {
        Task::spawn(async move {
            while let Some(url) = sink.receive_url(id, &first) {
                let text = match post(&url, flavor).await {
                    Ok(response) => response.text().unwrap_or_default(),
                    Err(e) => return sink.failed(id, e),
                };
                let mut reader = XhrStreamReader::new();
                let mut frames = 0;
                while let Some(frame) = reader.next_frame(&text) {
                    frames += 1;
                    sink.frame_str(id, frame);
                }
                if frames == 0 {
                    return sink.failed(id, Error::protocol(NO_FRAME));
                }
            }
        })
    }
}

/// One streaming response, frame by frame; `Ok` when it ended normally (open the next one).
async fn stream_once(id: OpId, url: &str, flavor: Flavor, sink: &Sink) -> Result<(), Error> {
    let request = match flavor {
        Flavor::Xhr(credentials) => Request::post(url).with_credentials(credentials),
        // XDR's limits: no custom header, so no page-wide CSRF token either.
        Flavor::Xdr => Request::post(url).no_xsrf().body(Body::Text(String::new())),
    };
    let mut stream = request.stream().await?;
    let mut text = String::new();
    let mut reader = XhrStreamReader::new();
    let mut frames = 0u32;
    while let Some(chunk) = stream.next().await {
        text.push_str(&chunk?);
        while let Some(frame) = reader.next_frame(&text) {
            frames = frames.saturating_add(1);
            sink.frame_str(id, frame);
        }
        // Keep only the unfinished tail: a long-lived stream must not grow without bound.
        let used = reader.consumed();
        if used > 0 {
            text.drain(..used.min(text.len()));
            reader.reset();
        }
    }
    if frames == 0 {
        return Err(Error::protocol(NO_FRAME));
    }
    Ok(())
}

/// POSTs `payload` (a JSON array of strings, as `text/plain`) to `url` (`…/xhr_send`),
/// reported as [`Sink::send_done`]: delivered on a 2xx answer.
pub(crate) fn send(id: OpId, url: String, payload: String, flavor: Flavor, sink: &Sink) -> Task {
    let sink = sink.clone();
    Task::spawn(async move {
        let result = match flavor {
            Flavor::Xhr(credentials) => Request::post(&url)
                .with_credentials(credentials)
                .body(Body::Text(payload))
                .send()
                .await
                .map(drop),
            Flavor::Xdr => XdrRequest::new("POST", &url)
                .body(payload)
                .send()
                .await
                .map(drop),
        };
        sink.send_done(id, result.is_ok());
    })
}
