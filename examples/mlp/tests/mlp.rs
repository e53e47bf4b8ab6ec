//! The MLP example trains through the learner's public API, and a run of it resumes.

use std::path::Path;
use std::process::Command;

use integration_tests::{mnist_dir, run_to_end, summary};

fn mlp(mnist: &Path, artifacts: &Path, extra: &[&str]) -> (bool, String, String) {
    run_to_end(
        Command::new(env!("CARGO_BIN_EXE_mlp"))
            .args(["--backend", "flex", "--progress", "plain"])
            .args(extra)
            .arg("--data-dir")
            .arg(mnist)
            .arg("--artifacts")
            .arg(artifacts),
    )
}

/// One epoch, then a resume to two: the run continues from its checkpoint, and the artifacts
/// a generic model gets are there (and the linear model's own are not).
#[test]
fn the_mlp_trains_and_resumes() {
    let Some(mnist) = mnist_dir("the_mlp_trains_and_resumes") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("mlp");
    let (ok, stdout, stderr) = mlp(&mnist, &artifacts, &["--epochs", "1"]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("epoch 1/1 valid"), "{stdout}");
    let first = summary(&artifacts);
    assert_eq!(first["epochs"], 1);
    assert!(first["test_accuracy"].as_f64().unwrap() > 0.9, "{first}");

    let (ok, stdout, stderr) = mlp(&mnist, &artifacts, &["--resume", "--epochs", "2"]);
    assert!(ok, "{stdout}\n{stderr}");
    let second = summary(&artifacts);
    assert_eq!(second["epochs"], 2);
    assert_eq!(second["resumed_from_epoch"], 1);
    assert_eq!(second["history"].as_array().unwrap().len(), 2);
    assert_eq!(second["model"], "my MLP 784-256-10");
    assert!(
        second["test_accuracy"].as_f64().unwrap() > first["test_accuracy"].as_f64().unwrap(),
        "{second}"
    );
    for name in [
        "model.bpk",
        "model.json",
        "eval.json",
        "curves.png",
        "confusion.png",
        "config.json",
    ] {
        assert!(artifacts.join(name).is_file(), "{name} is missing");
    }
    for name in ["weights.png", "model.safetensors"] {
        assert!(
            !artifacts.join(name).exists(),
            "{name} is the linear model's"
        );
    }
    // The run records the model: its kind is the example's own type, not the zoo's.
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(artifacts.join("model.json")).unwrap())
            .unwrap();
    assert_eq!(card["kind"], "mlp::Mlp");
    // Its own binary evaluates and predicts with it; the trainer's zoo cannot, and says why.
    let eval = Command::new(env!("CARGO_BIN_EXE_mlp"))
        .args(["eval", "--backend", "flex", "--artifacts"])
        .arg(&artifacts)
        .output()
        .unwrap();
    assert!(
        eval.status.success(),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    assert!(String::from_utf8_lossy(&eval.stdout).contains("test accuracy"));
    // A finished run is not trained again by accident.
    let (ok, _, stderr) = mlp(&mnist, &artifacts, &["--epochs", "2"]);
    assert!(!ok && stderr.contains("--resume"), "{stderr}");
}
