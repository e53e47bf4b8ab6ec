//! The draw page in a real browser: headless Chromium (Debian's `chromium`) driven by
//! playwright-core (`tests/browser/draw.cjs`) draws digits as strokes on the canvas; the page
//! must show each one's class, clear, and keep its console free of errors. The screenshot of
//! the last drawing is written to `DRAW_SCREENSHOT` when set (docs/draw.png is one).
//!
//! Needs `DRAW_NODE_PATH` (the `node_modules` of `scripts/setup-browser.sh`, which
//! `scripts/test.sh` sets); without it the test says so loudly, and fails under CI.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Server, trained_run};
use integration_tests::mnist_dir;

fn node_path() -> Option<PathBuf> {
    integration_tests::required_path(
        "DRAW_NODE_PATH",
        "the browser test",
        "to $(scripts/setup-browser.sh) (scripts/test.sh does)",
    )
}

#[test]
fn digits_drawn_in_chromium_are_classified_on_the_page() {
    let (Some(mnist), Some(node_path)) = (mnist_dir("digits_drawn_in_chromium"), node_path())
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (artifacts, _) = trained_run(dir.path(), &mnist);
    let server = Server::start(&artifacts, &[]);
    let screenshot = std::env::var_os("DRAW_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.path().join("draw.png"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/draw.cjs");
    let output = Command::new("node")
        .arg(script)
        .arg(format!("http://{}/", server.address))
        .arg(&screenshot)
        .env("NODE_PATH", node_path)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["errors"], serde_json::json!([]), "page errors");
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 4, "{report}");
    for result in results {
        assert_eq!(result["shown"], result["drawn"], "{report}");
        assert_eq!(result["top_bar"], result["drawn"], "{report}");
        if let Some(cleared) = result.get("cleared") {
            assert_eq!(cleared, true, "{report}");
        }
    }
    let picture = std::fs::read(&screenshot).unwrap();
    assert!(picture.starts_with(b"\x89PNG"), "a screenshot was taken");
}
