//! Demo SockJS endpoints, mounted by [`crate::app`] under `/sockjs/`. They are the services the
//! sockjs-protocol test suite and sockjs-client's own tests expect, so a client can be tested
//! against them:
//!
//! - `/sockjs/echo`: sends every message back;
//! - `/sockjs/close`: closes every session at once with `3000 "Go away!"`;
//! - `/sockjs/disabled_websocket_echo`: echo without the WebSocket transports;
//! - `/sockjs/cookie_needed_echo`: echo that sets `JSESSIONID` cookies;
//! - `/sockjs/broadcast`: every message goes to every open session;
//! - `/sockjs/amplify`: message `n` is answered with `x` repeated 2^n times, n in [1, 19].
//!
//! All use a 4096-byte response limit, as the protocol test suite requires.

use std::sync::{Arc, Mutex};

use axum::Router;

use super::session::lock;
use super::{Options, Session, SessionHandle, SockJs};

/// The demo endpoints with their usual options.
pub fn routes() -> Router {
    routes_with(Options {
        response_limit: 4096,
        ..Options::default()
    })
}

/// The demo endpoints, built from `base` (tests shorten the delays with it). `websocket` and
/// `cookie_needed` are set per endpoint.
pub fn routes_with(base: Options) -> Router {
    let echo_opts = Options {
        websocket: true,
        cookie_needed: false,
        ..base.clone()
    };
    let broadcast = Broadcast::default();
    Router::new()
        .merge(SockJs::new(echo_opts.clone(), echo).router("/sockjs/echo"))
        .merge(SockJs::new(echo_opts.clone(), close).router("/sockjs/close"))
        .merge(
            SockJs::new(
                Options {
                    websocket: false,
                    ..echo_opts.clone()
                },
                echo,
            )
            .router("/sockjs/disabled_websocket_echo"),
        )
        .merge(
            SockJs::new(
                Options {
                    cookie_needed: true,
                    ..echo_opts.clone()
                },
                echo,
            )
            .router("/sockjs/cookie_needed_echo"),
        )
        .merge(
            SockJs::new(echo_opts.clone(), move |s| broadcast.clone().serve(s))
                .router("/sockjs/broadcast"),
        )
        .merge(SockJs::new(echo_opts, amplify).router("/sockjs/amplify"))
}

async fn echo(mut session: Session) {
    while let Some(message) = session.recv().await {
        session.send(message);
    }
}

async fn close(session: Session) {
    session.close(3000, "Go away!");
}

/// `x` repeated 2^n times for message `n` (clamped to [1, 19]; not a number counts as 1).
fn amplified(message: &str) -> String {
    let n = message
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map_or(1.0, f64::floor);
    "x".repeat(1 << n.clamp(1.0, 19.0) as u32)
}

async fn amplify(mut session: Session) {
    while let Some(message) = session.recv().await {
        session.send(amplified(&message));
    }
}

/// The open sessions of the broadcast endpoint.
#[derive(Clone, Default)]
struct Broadcast {
    members: Arc<Mutex<Vec<SessionHandle>>>,
}

impl Broadcast {
    async fn serve(self, mut session: Session) {
        lock(&self.members).push(session.handle());
        while let Some(message) = session.recv().await {
            let mut members = lock(&self.members);
            members.retain(SessionHandle::is_open);
            for member in members.iter() {
                member.send(message.clone());
            }
        }
        lock(&self.members).retain(|m| m.is_open() && m.id() != session.id());
    }
}

#[cfg(test)]
mod tests {
    use super::amplified;

    #[test]
    fn amplify_clamps() {
        assert_eq!(amplified("3"), "x".repeat(8));
        assert_eq!(amplified("3.9"), "x".repeat(8));
        assert_eq!(amplified("0"), "xx");
        assert_eq!(amplified("-5"), "xx");
        assert_eq!(amplified("nope"), "xx");
        assert_eq!(amplified("NaN"), "xx");
        assert_eq!(amplified("25").len(), 1 << 19);
    }
}
