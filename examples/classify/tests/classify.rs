//! The example app as a user runs it: on a model trained by the learner crate and on real MNIST
//! test digits saved as pictures (dark-on-light and enlarged, unlike MNIST itself).

use std::process::Command;

use integration_tests::{load_mnist, mnist_dir, train};
use learner::{BackendKind, ProgressMode, TrainOptions, TrainingConfig};

#[test]
fn classifies_pictures_with_a_trained_model() {
    let Some(mnist_dir) = mnist_dir("classifies_pictures_with_a_trained_model") else {
        return;
    };
    let data = load_mnist(&mnist_dir);
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    let config = TrainingConfig {
        epochs: 1,
        ..TrainingConfig::default()
    }
    .validate()
    .unwrap();
    train(
        &config,
        &data,
        &TrainOptions {
            artifacts: artifacts.clone(),
            backend: Some(BackendKind::Flex),
            devices: 1,
            resume: false,
            overwrite: false,
            progress: ProgressMode::Quiet,
            limit_batches: None,
            max_steps: None,
        },
    )
    .unwrap();

    // The first 40 test digits, inverted (black ink on white) and enlarged to 84x84.
    let mut pictures = Vec::new();
    for index in 0..40 {
        let pixels: Vec<u8> = data.test.image(index).iter().map(|&p| 255 - p).collect();
        let small = image::GrayImage::from_raw(28, 28, pixels).unwrap();
        let large = image::imageops::resize(&small, 84, 84, image::imageops::FilterType::Triangle);
        let path = dir.path().join(format!("digit-{index:02}.png"));
        large.save(&path).unwrap();
        pictures.push((path, data.test.label(index)));
    }

    let output = Command::new(env!("CARGO_BIN_EXE_classify"))
        .arg("--artifacts")
        .arg(&artifacts)
        .args(pictures.iter().map(|(path, _)| path))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), pictures.len(), "{stdout}");
    let correct = lines
        .iter()
        .zip(&pictures)
        .filter(|(line, (path, label))| line.starts_with(&format!("{}: {label} (", path.display())))
        .count();
    assert!(correct >= 34, "{correct}/40 correct:\n{stdout}");

    // A file that is not a picture: an error naming it, and a failed exit.
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a picture").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_classify"))
        .arg("--artifacts")
        .arg(&artifacts)
        .arg(&text)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("notes.txt"), "{stderr}");
}
