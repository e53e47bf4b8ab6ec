//! Helpers shared by the workspace-level tests.
#![warn(missing_docs)]

use std::path::PathBuf;

/// The folder holding real MNIST, from `MNIST_DIR`.
///
/// When `MNIST_DIR` is unset the calling test cannot run: under CI (`CI` set) that is a failure,
/// elsewhere the test says so loudly on stderr and returns early.
pub fn mnist_dir(test: &str) -> Option<PathBuf> {
    required_path(
        "MNIST_DIR",
        test,
        "to a folder with the four MNIST IDX files (e.g. MNIST_DIR=../shared/datasets/mnist)",
    )
}

/// The path in the environment variable `var`, which `test` needs; `how` says how to set it.
/// Unset or empty: a failure under CI (`CI` set), elsewhere a loud SKIPPED line on stderr and
/// `None`, for the test to return early.
pub fn required_path(var: &str, test: &str, how: &str) -> Option<PathBuf> {
    match std::env::var_os(var).filter(|value| !value.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None if std::env::var_os("CI").is_some() => {
            panic!("{test}: {var} is not set, and CI must run this test")
        }
        None => {
            eprintln!("\n*** SKIPPED {test}: set {var} {how} to run it ***\n");
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

/// MNIST from `dir` (the four IDX files), split as the default config splits it: 50,000
/// training, 10,000 validation and 10,000 test images.
pub fn load_mnist(dir: &std::path::Path) -> data::ImageData {
    let spec = data::DatasetSpec::mnist().with_path(dir);
    data::ImageData::load(&spec, data::LoadOptions::default()).expect("the folder holds MNIST")
}

/// Trains the logistic regression the config's `model` block describes (a block of the zoo's
/// `logistic` kind, or none), as `trainer` does: what the tests of the learner train.
pub fn train(
    config: &learner::ValidConfig,
    data: &data::ImageData,
    options: &learner::TrainOptions,
) -> Result<learner::TrainReport<model::LogisticRegression>, learner::LearnerError> {
    let mut block = config.model.clone();
    if let Some(fields) = block.as_object_mut() {
        fields.remove("kind");
    }
    let settings: model::zoo::LogisticSettings =
        serde_json::from_value(block).expect("a logistic regression's model block");
    let shape = learner::run::card::data_shape(&data.clone().with_task(config.task)?);
    let model = settings.for_data(&shape)?;
    learner::train_model(
        |device: &burn::prelude::Device, _: &model::DataShape| model.init(device),
        config,
        data,
        options,
    )
}

/// Runs `command` to its end: whether it succeeded, its stdout and its stderr.
pub fn run_to_end(command: &mut std::process::Command) -> (bool, String, String) {
    let output = command.output().expect("the command starts");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The `summary.json` of the run in `artifacts`.
pub fn summary(artifacts: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(artifacts.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("summary.json is JSON")
}
