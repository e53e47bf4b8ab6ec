//! What the trainer's command-line tests share: running the binary as a user would.
#![allow(dead_code)] // each test file uses its own share of these

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The trainer, with a private, empty user cache (no Burn MNIST cache, and no download on this
/// offline machine) and no `MNIST_DIR`.
pub fn trainer() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trainer"));
    command.env(
        "XDG_CACHE_HOME",
        std::env::temp_dir().join("trainer-cli-test-cache"),
    );
    command.env_remove("MNIST_DIR");
    command
}

/// `trainer COMMAND --backend flex`: the tests that train or evaluate name their backend (a
/// build with every backend would otherwise pick wgpu, on lavapipe here).
pub fn on_flex(command: &str) -> Command {
    let mut trainer = trainer();
    trainer.args([command, "--backend", "flex"]);
    trainer
}

/// `trainer train --backend flex --progress plain ARGS --data-dir MNIST --artifacts ARTIFACTS`.
pub fn train_plain(mnist: &Path, artifacts: &Path, args: &[&str]) -> Command {
    let mut command = on_flex("train");
    command
        .args(["--progress", "plain"])
        .args(args)
        .arg("--data-dir")
        .arg(mnist)
        .arg("--artifacts")
        .arg(artifacts);
    command
}

/// Runs `command` to its end: its output, stdout and stderr.
pub fn run(command: &mut Command) -> (Output, String, String) {
    let output = command.output().expect("trainer runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

/// A file of the workspace, by its path from the workspace root.
pub fn workspace_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

/// Every file under `dir`.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// A JSON artifact of a run.
pub fn json(path: impl AsRef<Path>) -> serde_json::Value {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// Makes a FIFO (named pipe) at `path`; false where `mkfifo` is missing.
pub fn mkfifo(path: &Path) -> bool {
    Command::new("mkfifo")
        .arg(path)
        .status()
        .is_ok_and(|status| status.success())
}

/// A config file in `dir` holding `text`.
pub fn config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Neither a Rust panic nor Burn's panic banner in `stderr`.
pub fn no_panic(stderr: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("PANIC"),
        "{stderr}"
    );
}

/// Trains a short run (`config`, a JSON config) into `artifacts`, replacing an earlier one;
/// panics unless it succeeds.
pub fn short_run_with(mnist: &Path, artifacts: &Path, config_text: &str) {
    let dir = artifacts.parent().unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let short = config(dir, "short.json", config_text);
    let (output, stdout, stderr) =
        run(
            train_plain(mnist, artifacts, &["--config", short.to_str().unwrap()])
                .arg("--overwrite"),
        );
    assert!(output.status.success(), "{stdout}\n{stderr}");
}

/// Waits until the run in `artifacts` has a complete checkpoint (model, optimizer and
/// scheduler of one epoch), whichever epoch: on a fast machine the first is pruned before a
/// poll can see it. Fails if `child` exits first or two minutes pass.
pub fn wait_for_a_checkpoint(artifacts: &Path, child: &mut std::process::Child) {
    let run = learner::ArtifactDir::new(artifacts);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while run.checkpoint_epochs().is_empty() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before any checkpoint");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint in two minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
