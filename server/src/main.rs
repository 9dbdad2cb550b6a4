//! `cometkit-server [--host H] [--port P] [--www DIR]`
//!
//! Defaults: host 127.0.0.1, port 8080, www `./www`. `COMETKIT_HOST`, `COMETKIT_PORT` and
//! `COMETKIT_WWW` set the same from the environment; flags win.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use axum::serve::ListenerExt;

fn usage() -> ExitCode {
    eprintln!("usage: cometkit-server [--host HOST] [--port PORT] [--www DIR]");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut host = std::env::var("COMETKIT_HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let mut port = std::env::var("COMETKIT_PORT").unwrap_or_else(|_| "8080".into());
    let mut www = std::env::var("COMETKIT_WWW").unwrap_or_else(|_| "www".into());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let slot = match arg.as_str() {
            "--host" => &mut host,
            "--port" => &mut port,
            "--www" => &mut www,
            "-h" | "--help" => return usage(),
            _ => {
                eprintln!("unknown argument: {arg}");
                return usage();
            }
        };
        match args.next() {
            Some(v) => *slot = v,
            None => return usage(),
        }
    }
    let addr: SocketAddr = match format!("{host}:{port}").parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bad address {host}:{port}: {e}");
            return ExitCode::from(2);
        }
    };
    let www = PathBuf::from(www);
    let www = www.is_dir().then_some(www);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Small answers (polls, sends, /info) must not wait for Nagle's algorithm: ~40 ms each.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    println!("cometkit-server listening on http://{addr}/");
    let app = cometkit_server::app(www);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server error: {e}");
            ExitCode::FAILURE
        }
    }
}
