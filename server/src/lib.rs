//! cometkit's server, usable as a library: [`app`] returns an axum [`Router`] a Rust backend can
//! mount, and the `cometkit-server` binary serves it.
//!
//! It serves the demo page (`www/`) and the fixtures the browser tests run against.

use std::path::PathBuf;

use axum::Router;
use tower_http::services::ServeDir;

pub mod fixtures;

/// The whole application: fixture endpoints, with `www` (when given) served for every other path.
pub fn app(www: Option<PathBuf>) -> Router {
    let router = fixtures::router();
    match www {
        Some(dir) => router.fallback_service(ServeDir::new(dir)),
        None => router,
    }
}
