//! Burn's dashboard in a real terminal: the trainer runs inside tmux, the test reads the screen
//! (`capture-pane`) and presses keys (`send-keys`), as a user would.

use integration_tests::mnist_dir;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn tmux_available(test: &str) -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var_os("CI").is_some() {
            panic!("{test}: tmux is missing; scripts/setup.sh installs it");
        }
        eprintln!("\n*** SKIPPED {test}: install tmux to run it ***\n");
    }
    found
}

/// A tmux server of its own, killed when the test ends.
struct Terminal {
    socket: String,
}

impl Terminal {
    /// Runs `command` in a 160x45 terminal; the pane stays open after it ends and shows
    /// `EXIT=<status>`.
    fn start(name: &str, command: &str) -> Self {
        let socket = format!("trainer-test-{name}-{}", std::process::id());
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "t",
            ])
            .args(["-x", "160", "-y", "45"])
            .arg(format!("{command}; echo EXIT=$?; sleep 600"))
            .status()
            .unwrap();
        assert!(status.success(), "tmux starts");
        Self { socket }
    }

    fn screen(&self) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "t"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn keys(&self, keys: &str) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "t", keys])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits until the screen satisfies `ready`, returning it; panics with the last screen
    /// after `seconds`.
    fn wait_for(&self, what: &str, seconds: u64, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// A long run of short epochs (300 iterations each), so that checkpoints appear quickly and
/// the run is still going when the test presses keys.
fn start_training(name: &str, mnist: &Path, artifacts: &Path) -> Terminal {
    let config = artifacts.with_extension("json");
    let mut json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/default.json"),
        )
        .unwrap(),
    )
    .unwrap();
    json["epochs"] = 1000.into();
    json["iterations_per_epoch"] = 300.into();
    json["batch_size"] = 32.into();
    std::fs::write(&config, json.to_string()).unwrap();
    let command = format!(
        "env XDG_RUNTIME_DIR={runtime} {trainer} train --backend flex --progress dashboard --config {config} \
         --data-dir {mnist} --artifacts {artifacts}",
        runtime = std::env::temp_dir().display(),
        trainer = env!("CARGO_BIN_EXE_trainer"),
        config = config.display(),
        mnist = mnist.display(),
        artifacts = artifacts.display(),
    );
    Terminal::start(name, &command)
}

/// The remaining time the progress panel shows at the end of a progress bar line, such as
/// `(3 mins)`; `None` while it still shows `(---)`.
fn eta(screen: &str) -> Option<String> {
    screen.lines().find_map(|line| {
        let line = line.trim_end_matches(['│', ' ']);
        let open = line.rfind('(')?;
        let eta = &line[open..];
        (line.contains('%') && eta.ends_with(')') && eta != "(---)").then(|| eta.to_string())
    })
}

fn summary(artifacts: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(artifacts.join("summary.json")).unwrap()).unwrap()
}

/// Complete checkpoints in the run's folder.
fn checkpoints(artifacts: &Path) -> usize {
    learner::ArtifactDir::new(artifacts)
        .checkpoint_epochs()
        .len()
}

/// The dashboard shows the metrics and the progress; `q` then `s` stops the run, which leaves
/// the terminal usable, saves the run as interrupted, and can be resumed from its checkpoint.
#[test]
fn dashboard_shows_progress_and_q_stops_cleanly() {
    let test = "dashboard_shows_progress_and_q_stops_cleanly";
    let Some(mnist) = mnist_dir(test) else { return };
    if !tmux_available(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    let terminal = start_training("q", &mnist, &artifacts);

    let screen = terminal.wait_for(
        "the dashboard with a checkpoint and an ETA",
        120,
        |screen| {
            screen.contains("Learning Rate")
                && eta(screen).is_some()
                && checkpoints(&artifacts) >= 2
        },
    );
    for needle in [
        "Loss",
        "Accuracy",
        "Learning Rate",
        "Train epoch",
        "Valid epoch",
        "Epochs",
        "Iteration",
        "Progress",
        "Quit",
    ] {
        assert!(
            screen.contains(needle),
            "dashboard lacks {needle}:\n{screen}"
        );
    }
    let eta = eta(&screen).unwrap();
    assert!(
        eta.contains("min") || eta.contains("sec") || eta.contains("hour"),
        "ETA {eta}"
    );

    terminal.keys("q");
    terminal.wait_for("the quit menu", 30, |s| s.contains("Stop the training"));
    terminal.keys("s");
    let screen = terminal.wait_for("the trainer to exit", 120, |s| s.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        screen.contains("training was interrupted; continue it with --resume"),
        "the normal screen is back with the message:\n{screen}"
    );
    let saved = summary(&artifacts);
    assert_eq!(saved["interrupted"], true, "{saved}");
    let done = saved["epochs"].as_u64().unwrap();
    assert!(done >= 1, "{saved}");

    // The checkpoint is usable: the run continues from it.
    let output = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args([
            "train",
            "--backend",
            "flex",
            "--resume",
            "--progress",
            "plain",
            "--epochs",
        ])
        .arg((done + 1).to_string())
        .arg("--data-dir")
        .arg(&mnist)
        .arg("--artifacts")
        .arg(&artifacts)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let resumed = summary(&artifacts);
    assert_eq!(resumed["interrupted"], false, "{resumed}");
    assert_eq!(resumed["epochs"].as_u64(), Some(done + 1), "{resumed}");
}

/// Ctrl-C, which Burn's raw-mode dashboard would swallow, stops the run the same clean way.
#[test]
fn ctrl_c_stops_the_dashboard_cleanly() {
    let test = "ctrl_c_stops_the_dashboard_cleanly";
    let Some(mnist) = mnist_dir(test) else { return };
    if !tmux_available(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    let terminal = start_training("ctrl-c", &mnist, &artifacts);
    terminal.wait_for("the dashboard with a checkpoint", 120, |screen| {
        screen.contains("Learning Rate") && checkpoints(&artifacts) >= 2
    });
    terminal.keys("C-c");
    let screen = terminal.wait_for("the trainer to exit", 120, |s| s.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
    let saved = summary(&artifacts);
    assert_eq!(saved["interrupted"], true, "{saved}");
    assert!(artifacts.join("model.bpk").is_file());
}
