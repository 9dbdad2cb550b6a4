//! A WebSocket proxy in front of a key's SockJS endpoint, as a middlebox would be: it accepts
//! the browser's upgrade, upgrades to the endpoint over an in-memory connection, copies bytes
//! both ways, and can drop both ends at any moment without a close frame.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::Router;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};
use tower::ServiceExt;

use super::body::cut_off;
use super::{Faults, KeyState, WsMode};

/// Bytes in flight per direction inside the in-memory connection.
const PIPE: usize = 64 * 1024;

/// Whether `req` asks for a WebSocket upgrade.
pub(super) fn is_upgrade(req: &Request) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

fn bad_gateway() -> Response {
    let mut res = Response::new(Body::from("chaos proxy: the endpoint did not answer\n"));
    *res.status_mut() = StatusCode::BAD_GATEWAY;
    res
}

/// Resolves when the socket must be killed: `kill_after` once `ws=kill` holds, counted from
/// the later of the socket's opening and the switch to `kill` (so switching at run time also
/// kills the sockets already open).
async fn kill_due(mut faults: watch::Receiver<Faults>) {
    let mut since: Option<Instant> = None;
    loop {
        let now = *faults.borrow_and_update();
        since = match (now.ws, since) {
            (WsMode::Kill, Some(since)) => Some(since),
            (WsMode::Kill, None) => Some(Instant::now()),
            _ => None,
        };
        let changed = match since {
            Some(since) => tokio::select! {
                () = sleep_until(since + now.kill_after) => return,
                changed = faults.changed() => changed,
            },
            None => faults.changed().await,
        };
        if changed.is_err() {
            // The key is gone; the cut signal ends the socket.
            return std::future::pending().await;
        }
    }
}

/// Counts an open proxied socket while alive.
struct Open(Arc<KeyState>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.websockets.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Answers the upgrade `req` (already relative to the endpoint) by proxying it to `endpoint`.
pub(super) async fn proxy(
    key: Arc<KeyState>,
    endpoint: Router,
    cut: watch::Receiver<bool>,
    mut req: Request,
) -> Response {
    let Some(client_upgrade) = req.extensions_mut().remove::<OnUpgrade>() else {
        // Not upgradable (HTTP/2, or a test calling the router directly): let the endpoint
        // refuse it.
        return match endpoint.oneshot(req).await {
            Ok(res) => res,
            Err(never) => match never {},
        };
    };
    let (near, far) = tokio::io::duplex(PIPE);
    tokio::spawn(
        hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(far), TowerToHyperService::new(endpoint))
            .with_upgrades(),
    );
    let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(near)).await
    else {
        return bad_gateway();
    };
    tokio::spawn(conn.with_upgrades());
    let (parts, _) = req.into_parts();
    let Ok(inner) = sender
        .send_request(Request::from_parts(parts, Body::empty()))
        .await
    else {
        return bad_gateway();
    };
    if inner.status() != StatusCode::SWITCHING_PROTOCOLS {
        // Refused (bad version, not a GET...): relay the endpoint's answer.
        return inner.map(Body::new);
    }
    let mut answer = Response::new(Body::empty());
    *answer.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    *answer.headers_mut() = inner.headers().clone();
    let inner_upgrade = hyper::upgrade::on(inner);
    let faults = key.faults.subscribe();
    tokio::spawn(async move {
        let (Ok(client), Ok(inner)) = tokio::join!(client_upgrade, inner_upgrade) else {
            return;
        };
        key.websockets.fetch_add(1, Ordering::Relaxed);
        let _open = Open(key.clone());
        let (mut client, mut inner) = (TokioIo::new(client), TokioIo::new(inner));
        tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut client, &mut inner) => {}
            () = cut_off(cut) => {}
            () = kill_due(faults) => {
                key.killed.fetch_add(1, Ordering::Relaxed);
            }
        }
        // Dropping both ends closes the browser's TCP connection with no close frame, and the
        // endpoint sees its socket end.
    });
    answer
}
