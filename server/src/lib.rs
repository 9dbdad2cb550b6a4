//! cometkit's server, usable as a library: [`app`] returns an axum [`Router`] a Rust backend can
//! mount, and the `cometkit-server` binary serves it.
//!
//! It serves the demo page (`www/`) and the fixtures the browser tests run against.

use std::path::PathBuf;

use axum::Router;
use tower_http::services::ServeDir;

pub mod chaos;
pub mod fixtures;
pub mod sockjs;

/// The whole application: fixture endpoints, the demo SockJS endpoints under `/sockjs/`
/// ([`sockjs::demo`]), the fault-injecting SockJS endpoints under `/chaos/` ([`chaos`]), with
/// `www` (when given) served for every other path.
pub fn app(www: Option<PathBuf>) -> Router {
    // SockJS answers its own CORS: merged here, outside the fixtures' CORS layer.
    let router = fixtures::router()
        .merge(sockjs::demo::routes())
        .merge(chaos::routes());
    match www {
        Some(dir) => router.fallback_service(ServeDir::new(dir)),
        None => router,
    }
}
