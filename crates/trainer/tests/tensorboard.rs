//! Every run is readable by TensorBoard: its event files, read with TensorBoard's own
//! `EventAccumulator` (tests/tensorboard/read_run.py, in the Python environment
//! scripts/setup-tensorboard.sh makes, named by `TENSORBOARD_PYTHON`), hold the training,
//! validation and test curves that match summary.json, the pictures and the hyperparameters;
//! a run stopped mid-epoch and resumed continues its curves without repeated or missing steps.
//! And `trainer runs` lists runs, damaged ones too.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{json, run, train_plain, trainer, wait_for_a_checkpoint};
use integration_tests::mnist_dir;

/// The Python with TensorBoard installed, or `None` (loudly; a failure under CI).
fn tensorboard_python(test: &str) -> Option<PathBuf> {
    integration_tests::required_path(
        "TENSORBOARD_PYTHON",
        test,
        "to $(scripts/setup-tensorboard.sh) (scripts/test.sh does)",
    )
}

/// What TensorBoard reads of a run folder.
fn read_run(python: &Path, run: &Path) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tensorboard/read_run.py");
    let output = Command::new(python).arg(script).arg(run).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "read_run.py: {stderr}");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The steps of a scalar series.
fn steps(read: &serde_json::Value, tag: &str) -> Vec<u64> {
    read["scalars"][tag]
        .as_array()
        .unwrap_or_else(|| panic!("no {tag} in {}", read["scalars"]))
        .iter()
        .map(|point| point[0].as_u64().unwrap())
        .collect()
}

/// The value of a scalar series at `step`.
fn value_at(read: &serde_json::Value, tag: &str, step: u64) -> f64 {
    read["scalars"][tag]
        .as_array()
        .unwrap()
        .iter()
        .find(|point| point[0].as_u64() == Some(step))
        .unwrap_or_else(|| panic!("{tag} has no step {step}"))[1]
        .as_f64()
        .unwrap()
}

#[test]
fn tensorboard_reads_the_curves_pictures_and_hyperparameters_of_a_run() {
    let test = "tensorboard_reads_a_run";
    let (Some(mnist), Some(python)) = (mnist_dir(test), tensorboard_python(test)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    let (output, stdout, stderr) = run(&mut train_plain(&mnist, &artifacts, &["--epochs", "3"]));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let summary = json(artifacts.join("summary.json"));
    let read = read_run(&python, &artifacts);

    let iterations = summary["iterations"].as_u64().unwrap();
    let per_epoch = iterations / 3;
    for tag in ["train/loss", "train/accuracy", "train/learning_rate"] {
        assert_eq!(
            steps(&read, tag),
            (1..=iterations).collect::<Vec<_>>(),
            "{tag}"
        );
    }
    let epoch_ends: Vec<u64> = (1..=3).map(|epoch| epoch * per_epoch).collect();
    for tag in [
        "validation/loss",
        "validation/accuracy",
        "test/loss",
        "test/accuracy",
    ] {
        assert_eq!(steps(&read, tag), epoch_ends, "{tag}");
    }
    // The figures are summary.json's (TensorBoard holds 32-bit floats; accuracies in %).
    for (index, entry) in summary["history"].as_array().unwrap().iter().enumerate() {
        let step = epoch_ends[index];
        let test_accuracy = 100.0 * entry["test_accuracy"].as_f64().unwrap();
        assert!((value_at(&read, "test/accuracy", step) - test_accuracy).abs() < 1e-4);
        let test_loss = entry["test_loss"].as_f64().unwrap();
        assert!((value_at(&read, "test/loss", step) - test_loss).abs() < 1e-5);
        // Burn's validation metric, computed during training, agrees with the checkpoint's.
        let validation = 100.0 * entry["validation_accuracy"].as_f64().unwrap();
        assert!((value_at(&read, "validation/accuracy", step) - validation).abs() < 1e-3);
    }
    let first_lr = value_at(&read, "train/learning_rate", 1);
    assert!((first_lr - 0.2).abs() < 1e-3, "{first_lr}");

    for picture in ["curves", "confusion", "weights"] {
        let tag = format!("pictures/{picture}");
        let events = read["images"][&tag]
            .as_array()
            .unwrap_or_else(|| panic!("{tag}"));
        assert_eq!(events.len(), 1, "{tag}");
        assert_eq!(events[0][0].as_u64(), Some(iterations), "{tag}");
        assert!(events[0][1].as_u64().unwrap() > 100, "{tag}: width");
        assert_eq!(events[0][3], true, "{tag}: a PNG");
    }

    let hparams = &read["hparams"];
    assert_eq!(hparams["optimizer.learning_rate"], 0.2);
    assert_eq!(hparams["batch_size"], 128.0);
    assert_eq!(hparams["lr_schedule.type"], "cosine");
    assert_eq!(hparams["epochs"], 3.0);
    assert_eq!(hparams["model"], "logistic regression (softmax head)");
    assert_eq!(hparams["backend"], "flex");
    assert_eq!(read["status"], 1, "STATUS_SUCCESS");
}

/// Ctrl-C in the middle of an epoch, then --resume: the first process logged steps past its
/// last checkpoint, which TensorBoard drops at the second process's restart mark, so every
/// step is there once.
#[test]
fn a_resumed_run_continues_its_curves_without_repeated_steps() {
    let test = "a_resumed_run_continues_its_curves";
    let (Some(mnist), Some(python)) = (mnist_dir(test), tensorboard_python(test)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("long.json");
    std::fs::write(&config, r#"{"epochs": 1000, "iterations_per_epoch": 300}"#).unwrap();
    let config = config.to_str().unwrap();
    // A stop that lands exactly on an epoch's end leaves nothing past the checkpoint, and the
    // test would prove nothing: try again, in a fresh folder, a few times.
    let (artifacts, done) = (0..5)
        .find_map(|attempt| {
            let artifacts = dir.path().join(format!("run-{attempt}"));
            let done = stop_mid_epoch(&mnist, &artifacts, config);
            let first = event_files(&artifacts);
            assert_eq!(first.len(), 1);
            let logged = logged_steps(&first[0], "train/loss");
            // The first process's file holds steps past its last checkpoint.
            logged
                .iter()
                .any(|&step| step > done * 300)
                .then_some((artifacts, done))
        })
        .expect("one of five runs stopped in the middle of an epoch");

    let total = (done + 1).to_string();
    let (output, stdout, stderr) = run(&mut train_plain(
        &mnist,
        &artifacts,
        &["--resume", "--epochs", &total],
    ));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_eq!(event_files(&artifacts).len(), 2, "one file per process");
    let read = read_run(&python, &artifacts);
    let end = (done + 1) * 300;
    assert_eq!(steps(&read, "train/loss"), (1..=end).collect::<Vec<_>>());
    let epochs: Vec<u64> = (1..=done + 1).map(|epoch| epoch * 300).collect();
    assert_eq!(steps(&read, "validation/loss"), epochs);
    assert_eq!(steps(&read, "test/accuracy"), epochs);
    // The hyperparameters are the first process's; the run finished.
    assert_eq!(read["hparams"]["epochs"], 1000.0);
    assert_eq!(read["status"], 1);
}

/// Trains with `config` until the first checkpoint and a little more, then Ctrl-C: the epochs
/// it completed.
fn stop_mid_epoch(mnist: &Path, artifacts: &Path, config: &str) -> u64 {
    let mut child = train_plain(mnist, artifacts, &["--config", config])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_a_checkpoint(artifacts, &mut child);
    // Into the next epoch's iterations, then Ctrl-C.
    std::thread::sleep(Duration::from_millis(60));
    let stopped = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    learner::ArtifactDir::new(artifacts)
        .checkpoint_epochs()
        .last()
        .copied()
        .unwrap() as u64
}

/// The run's event files, oldest first.
fn event_files(run: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(run)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(learner::EVENTS_PREFIX)
        })
        .collect();
    files.sort();
    files
}

/// The steps of `tag` in one event file, read with this workspace's reader.
fn logged_steps(file: &Path, tag: &str) -> BTreeSet<u64> {
    let read = tfevents::read_events(&std::fs::read(file).unwrap()).unwrap();
    read.events
        .iter()
        .filter(|event| match &event.what {
            Some(tfevents::proto::event::What::Summary(summary)) => {
                summary.value.iter().any(|value| value.tag == tag)
            }
            _ => false,
        })
        .map(|event| event.step as u64)
        .collect()
}

/// `trainer runs` lists finished, unfinished and damaged runs side by side, sorts them, and
/// writes JSON; it never fails on a run it cannot read.
#[test]
fn runs_lists_every_run_damaged_ones_too() {
    let Some(mnist) = mnist_dir("runs_lists_every_run_damaged_ones_too") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.json");
    std::fs::write(&short, r#"{"epochs": 1, "iterations_per_epoch": 20}"#).unwrap();
    let short = short.to_str().unwrap();
    for (name, lr) in [("a-slow", "0.01"), ("b-fast", "0.3")] {
        let (output, _, stderr) = run(&mut train_plain(
            &mnist,
            &dir.path().join(name),
            &["--config", short, "--learning-rate", lr],
        ));
        assert!(output.status.success(), "{stderr}");
    }
    // A run whose summary is cut short, and one that never finished.
    let damaged = dir.path().join("c-damaged");
    let (output, _, stderr) = run(&mut train_plain(&mnist, &damaged, &["--config", short]));
    assert!(output.status.success(), "{stderr}");
    std::fs::write(damaged.join("summary.json"), "{\"dataset\": \"mni").unwrap();
    let unfinished = dir.path().join("nested/d-unfinished");
    std::fs::create_dir_all(&unfinished).unwrap();
    // As a run killed before its first checkpoint leaves it: its manifest and config.
    for name in ["config.json", "manifest.jsonl"] {
        std::fs::copy(damaged.join(name), unfinished.join(name)).unwrap();
    }
    // A folder made by import-pytorch: no training, so no summary.
    let (output, _, stderr) = run(trainer()
        .args(["import-pytorch", "--backend", "flex", "--weights"])
        .arg(dir.path().join("a-slow/model.safetensors"))
        .arg("--artifacts")
        .arg(dir.path().join("e-imported"))
        .arg("--data-dir")
        .arg(&mnist));
    assert!(output.status.success(), "{stderr}");

    let (output, stdout, stderr) = run(trainer()
        .args(["runs", "--sort", "test", "--reverse"])
        .arg(dir.path()));
    assert!(output.status.success(), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{stdout}");
    assert!(
        lines[0].starts_with("run") && lines[0].contains("status"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("b-fast") && lines[2].starts_with("a-slow"),
        "{stdout}"
    );
    assert!(stdout.contains("damaged: cannot read"), "{stdout}");
    assert!(
        stdout.contains("nested/d-unfinished") && stdout.contains("unfinished"),
        "{stdout}"
    );
    assert!(
        stdout.contains("e-imported") && stdout.contains("imported from PyTorch"),
        "{stdout}"
    );

    let (output, stdout, _) = run(trainer()
        .args(["runs", "--json", "--sort", "lr"])
        .arg(dir.path()));
    assert!(output.status.success());
    let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0]["name"], "a-slow");
    assert_eq!(rows[0]["learning_rate"], 0.01);
    assert_eq!(rows[0]["status"], "finished");
    assert!(rows[0]["test_accuracy"].as_f64().unwrap() > 0.5);

    let (output, _, stderr) = run(trainer().args(["runs", "/no/such/folder"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("is not a folder"), "{stderr}");
}
