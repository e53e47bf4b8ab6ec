//! `draw`: draw a digit in the browser and watch a trained model guess it.
//!
//! A small web server (axum on tokio, the ecosystem's usual stack) that loads a run trained by
//! `trainer` with the `model` crate and serves, on 127.0.0.1:
//!
//! - `GET /`: a page with a canvas (mouse, pen, touch), the 28x28 picture the model sees and
//!   the class probabilities as bars, updated as you draw: static HTML and plain JavaScript
//!   embedded in the binary, no front-end build;
//! - `POST /api/predict` with a PNG body (`Content-Type: image/png`): `{"class", "label",
//!   "probabilities", "input"}`;
//! - `GET /api/model`: the loaded model (dataset, head, classes, test accuracy).
//!
//! ```text
//! cargo run --release -p draw -- --artifacts artifacts/default --port 8080
//! ```

mod api;
mod classifier;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;

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

fn main() -> Result<()> {
    let args = Args::parse();
    let classifier = classifier::Classifier::load(&args.artifacts)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let timeout = std::time::Duration::from_secs(args.timeout);
    runtime.block_on(serve(Arc::new(classifier), args.port, timeout))
}

/// Binds the port, says where, and serves until Ctrl-C or SIGTERM.
async fn serve(
    classifier: Arc<classifier::Classifier>,
    port: u16,
    timeout: std::time::Duration,
) -> Result<()> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| {
            format!("cannot listen on {address}: pick another --port, or 0 for a free one")
        })?;
    let address = listener.local_addr()?;
    let info = &classifier.info;
    println!(
        "serving {} ({} head, {}) on http://{address}/",
        info.artifacts.display(),
        info.head,
        info.test_accuracy
            .map_or("test accuracy unknown".to_string(), |accuracy| format!(
                "test accuracy {:.2} %",
                100.0 * accuracy
            ))
    );
    axum::serve(listener, api::router(classifier, timeout))
        .with_graceful_shutdown(shutdown())
        .await
        .context("the server stopped")
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            term.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
