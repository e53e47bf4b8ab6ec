//! A model of the user's own through `learner::train_model`: a mismatch with the data is an
//! error naming it, before anything is written; a model's extra artifacts are written under
//! the run's names only.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use data::{DatasetKind, Mnist, SplitConfig};
use integration_tests::mnist_dir;
use learner::{
    BackendKind, ExtraArtifact, ImageClassifier, LearnerError, ProgressMode, RunContext,
    TrainOptions, TrainReport, TrainingConfig, ValidConfig,
};

/// One linear layer of any size, with an extra artifact of any name.
#[derive(Module, Debug)]
struct Probe {
    linear: Linear,
    #[module(skip)]
    extra: &'static str,
}

impl ImageClassifier for Probe {
    fn logits(&self, images: Tensor<2>) -> Tensor<2> {
        self.linear.forward(images)
    }

    fn extra_artifacts(&self, _run: &RunContext<'_>) -> Result<Vec<ExtraArtifact>, LearnerError> {
        Ok(vec![ExtraArtifact {
            name: self.extra,
            bytes: b"probe".to_vec(),
        }])
    }
}

fn probe(inputs: usize, outputs: usize, extra: &'static str) -> impl Fn(&Device) -> Probe {
    move |device| Probe {
        linear: LinearConfig::new(inputs, outputs).init(device),
        extra,
    }
}

fn short() -> ValidConfig {
    TrainingConfig::from_json(r#"{"epochs": 1, "iterations_per_epoch": 5}"#)
        .unwrap()
        .validate()
        .unwrap()
}

/// MNIST, or `None` when the test cannot run.
fn mnist(test: &str) -> Option<Mnist> {
    let dir = mnist_dir(test)?;
    Some(Mnist::load(DatasetKind::Mnist, Some(&dir), SplitConfig::default()).unwrap())
}

/// Five iterations of `model` on flex, quietly, into `artifacts`.
fn train(
    model: impl Fn(&Device) -> Probe,
    data: &Mnist,
    artifacts: &std::path::Path,
) -> Result<TrainReport<Probe>, LearnerError> {
    let options = TrainOptions::new(artifacts)
        .with_backend(Some(BackendKind::Flex))
        .with_progress(ProgressMode::Quiet);
    learner::train_model(model, &short(), data, &options)
}

#[test]
fn a_model_that_does_not_fit_the_data_is_named_before_anything_is_written() {
    let Some(data) = mnist("a_model_that_does_not_fit_the_data_is_named") else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    let artifacts = folder.path().join("run");
    let err = train(probe(784, 7, "weights.png"), &data, &artifacts)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("must have 10 outputs") && err.contains("[1, 7]"),
        "{err}"
    );
    let err = train(probe(100, 10, "weights.png"), &data, &artifacts)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot classify") && err.contains("784 pixels"),
        "{err}"
    );
    assert!(!err.contains("panicked at"), "{err}");
    assert!(
        !artifacts.exists(),
        "nothing is written for a model that does not fit"
    );
}

#[test]
fn extra_artifacts_are_written_under_the_runs_names_only() {
    let Some(data) = mnist("extra_artifacts_are_written_under_the_runs_names_only") else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    let good = folder.path().join("good");
    let report = train(probe(784, 10, "weights.png"), &data, &good).unwrap();
    assert_eq!(std::fs::read(good.join("weights.png")).unwrap(), b"probe");
    assert!(good.join("model.bpk").is_file() && good.join("summary.json").is_file());
    assert_eq!(report.summary.iterations, 5);

    let bad = folder.path().join("bad");
    let err = train(probe(784, 10, "../escape.txt"), &data, &bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not a file name a run may write"), "{err}");
    assert!(!folder.path().join("escape.txt").exists());
    assert!(
        !bad.join("summary.json").exists(),
        "the run is not finished"
    );
}
