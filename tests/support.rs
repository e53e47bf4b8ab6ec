//! Helpers shared by the workspace-level tests.
#![warn(missing_docs)]

use std::path::PathBuf;

/// The folder holding real MNIST, from `MNIST_DIR`.
///
/// When `MNIST_DIR` is unset the calling test cannot run: under CI (`CI` set) that is a failure,
/// elsewhere the test says so loudly on stderr and returns early.
pub fn mnist_dir(test: &str) -> Option<PathBuf> {
    match std::env::var_os("MNIST_DIR").filter(|value| !value.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None if std::env::var_os("CI").is_some() => {
            panic!("{test}: MNIST_DIR is not set, and CI must run every MNIST test")
        }
        None => {
            eprintln!(
                "\n*** SKIPPED {test}: set MNIST_DIR to a folder with the four MNIST IDX files \
                 (e.g. MNIST_DIR=../shared/datasets/mnist) to run it ***\n"
            );
            None
        }
    }
}

/// The workspace root (where `configs/` is).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}
