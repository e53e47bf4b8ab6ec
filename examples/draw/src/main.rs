//! `draw`: draw a digit in the browser and watch a trained model guess it.
//!
//! A small web server (axum on tokio, the ecosystem's usual stack) that opens any run of the
//! model zoo (logistic regression, MLP, CNN) with the `model` crate and serves, on 127.0.0.1:
//!
//! - `GET /`: a page with a canvas (mouse, pen, touch), the 28x28 picture the model sees and
//!   the class probabilities as bars, updated as you draw: static HTML and plain JavaScript
//!   embedded in the binary, no front-end build;
//! - `POST /api/predict` with a PNG body (`Content-Type: image/png`): `{"class", "label",
//!   "probabilities", "input"}`;
//! - `GET /api/model`: the loaded model (what it is, its data, classes, input, test accuracy).
//!
//! ```text
//! cargo run --release -p draw -- --artifacts artifacts/default --port 8080
//! ```

mod api;
mod classifier;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use tower::ServiceExt;

/// Serve a page where you draw a digit and a model trained by `trainer` classifies it.
#[derive(Debug, Parser)]
struct Args {
    /// Artifacts folder of a trained model (holding model.json and model.bpk).
    #[arg(long, value_name = "DIR", default_value = "artifacts/default")]
    artifacts: PathBuf,
    /// Port on 127.0.0.1; 0 picks a free one (the URL is printed).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Seconds a request may take to arrive and be answered before it gets 408.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
}

/// Exit codes: 0 after a clean stop (Ctrl-C or SIGTERM, open requests answered or the grace
/// period over), 1 an error (the message names it), 2 a usage error, 130 / 143 a second Ctrl-C /
/// SIGTERM during the grace period.
fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(code) => code,
        Err(err) => {
            // `{:#}`: the cause chain on one line, never a backtrace (RUST_BACKTRACE is for
            // panics, not for a bad folder or a busy port).
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<ExitCode> {
    let classifier = classifier::Classifier::load(&args.artifacts)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let timeout = std::time::Duration::from_secs(args.timeout);
    let code = runtime.block_on(serve(Arc::new(classifier), args.port, timeout))?;
    // Connections still open after the grace period are dropped with the runtime.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    Ok(code)
}

/// How long open connections may take to finish once a stop is asked for.
const GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Binds the port, says where, and serves until Ctrl-C or SIGTERM; then lets open requests
/// finish for [`GRACE`], or stops at once on a second signal.
///
/// The accept loop is hyper's own rather than `axum::serve`, which sets no timer: hyper's
/// header-read timeout then never fires, and a client that sends its headers a line at a time
/// holds a connection for ever. Here every connection gets `timeout` to send its headers, and
/// open connections are capped below the process's file limit, so slow clients cannot take every
/// descriptor (new clients wait in the kernel's queue until a slot frees).
async fn serve(
    classifier: Arc<classifier::Classifier>,
    port: u16,
    timeout: std::time::Duration,
) -> Result<ExitCode> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| {
            format!("cannot listen on {address}: pick another --port, or 0 for a free one")
        })?;
    let address = listener.local_addr()?;
    let mut signals = Signals::new()?;
    let info = &classifier.info;
    note(format_args!(
        "serving {} ({}, {}) on http://{address}/",
        info.artifacts.display(),
        info.model,
        info.test_accuracy
            .map_or("test accuracy unknown".to_string(), |accuracy| format!(
                "test accuracy {:.2} %",
                100.0 * accuracy
            ))
    ));
    let app = api::router(classifier, timeout, address.port());
    let slots = Arc::new(tokio::sync::Semaphore::new(connection_limit()));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit.context("connection slots closed")?,
            _ = signals.next() => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of descriptors or a connection reset before it was accepted: wait a moment
                // rather than spin.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = signals.next() => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone().map_request(
            |request: axum::http::Request<hyper::body::Incoming>| {
                request.map(axum::body::Body::new)
            },
        ));
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(timeout)
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    let open = graceful.count();
    if open > 0 {
        note(format_args!(
            "stopping: {open} connection(s) open, waiting up to {} s for them; Ctrl-C again to \
             stop at once",
            GRACE.as_secs()
        ));
    }
    tokio::select! {
        () = graceful.shutdown() => Ok(ExitCode::SUCCESS),
        () = tokio::time::sleep(GRACE) => {
            note(format_args!("stopped: the connections still open were closed"));
            Ok(ExitCode::SUCCESS)
        }
        signal = signals.next() => Ok(ExitCode::from(128 + signal as u8)),
    }
}

/// A line on standard output, if anyone still reads it (a closed pipe is no reason to fail a
/// shutdown).
fn note(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// Most connections open at once: the file-descriptor limit, less some for the process's own
/// files, at most 1,024.
fn connection_limit() -> usize {
    #[cfg(unix)]
    let files = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(1024);
    #[cfg(not(unix))]
    let files = 1024;
    (files.saturating_sub(32) as usize).clamp(8, 1024)
}

/// Ctrl-C and SIGTERM, as a stream: each `next` waits for the next one and says which
/// (`SIGINT` 2, `SIGTERM` 15).
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt()).context("cannot watch Ctrl-C")?,
                terminate: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn next(&mut self) -> i32 {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => 2,
                _ = self.terminate.recv() => 15,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            2
        }
    }
}
