//! A model of the user's own through `learner::train_model`: a mismatch with the data is an
//! error naming it, before anything is written; a model's extra artifacts are written under
//! its own names only; a run records its model, and a resume with another model, or another
//! architecture, is refused as such, never as a damaged checkpoint; a model whose very first
//! output is not finite is told so.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use data::ImageData;
use integration_tests::{load_mnist, mnist_dir};
use learner::{
    BackendKind, LearnerError, ProgressMode, TrainOptions, TrainReport, TrainingConfig, ValidConfig,
};
use model::{ArtifactContext, DataShape, ExtraArtifact, ImageClassifier};

/// One linear layer of any size, with extra artifacts of any names, whose logits may be
/// reshaped or spoiled.
#[derive(Module, Debug)]
struct Probe {
    linear: Linear,
    #[module(skip)]
    extras: Vec<&'static str>,
    #[module(skip)]
    spoil: Spoil,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Spoil {
    None,
    /// One row of logits whatever the batch.
    OneRow,
    /// Two rows per image.
    TwoRows,
    /// `log(0)`: the loss is NaN from the first batch on.
    LogZero,
}

impl ImageClassifier for Probe {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        let logits = self.linear.forward(images.flatten(1, 3));
        match self.spoil {
            Spoil::None => logits,
            Spoil::OneRow => logits.narrow(0, 0, 1),
            Spoil::TwoRows => Tensor::cat(vec![logits.clone(), logits], 0),
            Spoil::LogZero => logits.mul_scalar(0.0).log().mul_scalar(0.0),
        }
    }

    fn extra_artifacts(&self, _run: &ArtifactContext<'_>) -> Result<Vec<ExtraArtifact>, String> {
        Ok(self
            .extras
            .iter()
            .map(|name| ExtraArtifact::File {
                name: name.to_string(),
                bytes: b"probe".to_vec(),
            })
            .collect())
    }
}

fn probe(
    inputs: usize,
    outputs: usize,
    extras: Vec<&'static str>,
    spoil: Spoil,
) -> impl Fn(&Device, &DataShape) -> Probe {
    move |device, _shape| Probe {
        linear: LinearConfig::new(inputs, outputs).init(device),
        extras: extras.clone(),
        spoil,
    }
}

fn short() -> ValidConfig {
    TrainingConfig::from_json(r#"{"epochs": 1, "iterations_per_epoch": 5}"#)
        .unwrap()
        .validate()
        .unwrap()
}

/// MNIST, or `None` when the test cannot run.
fn mnist(test: &str) -> Option<ImageData> {
    Some(load_mnist(&mnist_dir(test)?))
}

/// `config` on flex, quietly, into `artifacts`.
fn train_with<M: ImageClassifier>(
    model: impl Fn(&Device, &DataShape) -> M,
    config: &ValidConfig,
    data: &ImageData,
    artifacts: &std::path::Path,
    resume: bool,
) -> Result<TrainReport<M>, LearnerError> {
    let options = TrainOptions::new(artifacts)
        .with_backend(Some(BackendKind::Flex))
        .with_progress(ProgressMode::Quiet)
        .with_resume(resume);
    learner::train_model(model, config, data, &options)
}

/// Five iterations of `model`.
fn train(
    model: impl Fn(&Device, &DataShape) -> Probe,
    data: &ImageData,
    artifacts: &std::path::Path,
) -> Result<TrainReport<Probe>, LearnerError> {
    train_with(model, &short(), data, artifacts, false)
}

#[test]
fn a_model_that_does_not_fit_the_data_is_named_before_anything_is_written() {
    let Some(data) = mnist("a_model_that_does_not_fit_the_data_is_named") else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    let artifacts = folder.path().join("run");
    let check = |model, expected: &[&str]| {
        let err = train(model, &data, &artifacts).unwrap_err().to_string();
        for part in expected {
            assert!(err.contains(part), "{part:?} not in: {err}");
        }
        assert!(!err.contains("panicked at"), "{err}");
    };
    check(
        probe(784, 7, vec![], Spoil::None),
        &["must have 10 outputs", "[2, 7]"],
    );
    check(
        probe(100, 10, vec![], Spoil::None),
        &["cannot classify", "[batch, 1, 28, 28]"],
    );
    // The batch axis, checked on two images: one row for any batch, or two rows per image.
    check(
        probe(784, 10, vec![], Spoil::OneRow),
        &["[1, 10]", "first axis of its logits must be the batch"],
    );
    check(
        probe(784, 10, vec![], Spoil::TwoRows),
        &["[4, 10]", "first axis of its logits must be the batch"],
    );
    assert!(
        !artifacts.exists(),
        "nothing is written for a model that does not fit"
    );
}

#[test]
fn extra_artifacts_are_written_under_the_models_names_only() {
    let Some(data) = mnist("extra_artifacts_are_written_under_the_models_names_only") else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    let good = folder.path().join("good");
    let extras = vec!["weights.png", "extras/notes.txt"];
    let report = train(probe(784, 10, extras, Spoil::None), &data, &good).unwrap();
    assert_eq!(std::fs::read(good.join("weights.png")).unwrap(), b"probe");
    assert_eq!(
        std::fs::read(good.join("extras/notes.txt")).unwrap(),
        b"probe"
    );
    assert!(good.join("model.bpk").is_file() && good.join("summary.json").is_file());
    assert_eq!(report.summary.iterations, 5);
    // The run's files are its own: --overwrite removes the extras folder it made.
    let options = TrainOptions::new(&good)
        .with_backend(Some(BackendKind::Flex))
        .with_progress(ProgressMode::Quiet)
        .with_overwrite(true);
    learner::train_model(
        probe(784, 10, vec![], Spoil::None),
        &short(),
        &data,
        &options,
    )
    .unwrap();
    assert!(!good.join("extras").exists());

    for (names, expected) in [
        (vec!["../escape.txt"], "is not a file a model may add"),
        (vec!["model.bpk"], "is not a file a model may add"),
        (vec!["config.json"], "is not a file a model may add"),
        (vec!["weights.png", "weights.png"], "is named twice"),
        (vec!["extras/../x"], "is not a file a model may add"),
    ] {
        let bad = tempfile::tempdir().unwrap();
        let err = train(
            probe(784, 10, names.clone(), Spoil::None),
            &data,
            bad.path(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(expected), "{names:?}: {err}");
        assert!(!folder.path().join("escape.txt").exists());
        assert!(
            !bad.path().join("summary.json").exists(),
            "the run is not finished"
        );
        // The learner's own files were not written over.
        if bad.path().join("model.bpk").exists() {
            assert_ne!(
                std::fs::read(bad.path().join("model.bpk")).unwrap(),
                b"probe"
            );
        }
    }
}

#[test]
fn a_model_whose_first_output_is_not_finite_is_not_told_to_lower_the_learning_rate() {
    let Some(data) = mnist("a_model_whose_first_output_is_not_finite") else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    let err = train(probe(784, 10, vec![], Spoil::LogZero), &data, folder.path()).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, LearnerError::NotFiniteAtStart { .. }),
        "{text}"
    );
    assert!(
        text.contains("before any update") && !text.contains("learning rate 0.2 is probably"),
        "{text}"
    );
}

/// Two layers of a width the test chooses: a second architecture of the same kind.
#[derive(Module, Debug)]
struct Wide {
    hidden: Linear,
    out: Linear,
}

impl ImageClassifier for Wide {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        self.out.forward(self.hidden.forward(images.flatten(1, 3)))
    }
}

fn wide(width: usize) -> impl Fn(&Device, &DataShape) -> Wide {
    move |device, shape| Wide {
        hidden: LinearConfig::new(shape.input_size(), width).init(device),
        out: LinearConfig::new(width, shape.num_classes).init(device),
    }
}

#[test]
fn a_run_records_its_model_and_refuses_another_on_resume() {
    let Some(data) = mnist("a_run_records_its_model_and_refuses_another_on_resume") else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    let run = folder.path().join("wide");
    train_with(wide(32), &short(), &data, &run, false).unwrap();
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("model.json")).unwrap()).unwrap();
    assert!(card["kind"].as_str().unwrap().ends_with("::Wide"), "{card}");
    assert_eq!(card["input"]["channels"], 1);
    assert_eq!(card["classes"].as_array().unwrap().len(), 10);

    let mut longer = short().into_inner();
    longer.epochs = 2;
    let longer = longer.validate().unwrap();
    let before: Vec<_> = walk(&run);
    // Another model: named with both, before anything is touched.
    let err = train_with(
        probe(784, 10, vec![], Spoil::None),
        &longer,
        &data,
        &run,
        true,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, LearnerError::OtherModel { .. }), "{text}");
    assert!(text.contains("Wide") && text.contains("Probe"), "{text}");
    assert!(!text.contains("damaged"), "{text}");
    // The same kind, another width: the checkpoints no longer fit, which is named as such.
    let err = train_with(wide(64), &longer, &data, &run, true).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, LearnerError::ModelChanged { .. }), "{text}");
    assert!(
        text.contains("no longer matches") && text.contains("not damaged"),
        "{text}"
    );
    assert!(!text.contains("delete its three files"), "{text}");
    assert_eq!(walk(&run), before, "nothing of the run changed");
    // The right model resumes.
    let report = train_with(wide(32), &longer, &data, &run, true).unwrap();
    assert_eq!(report.summary.epochs, 2);
}

/// Every file under `dir` with its bytes, sorted.
fn walk(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.file_name().is_some_and(|name| name != ".lock") {
            files.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    files.sort();
    files
}

/// Scores without parameters: the mean brightness repeated for every class.
#[derive(Module, Debug)]
struct NoParameters {
    classes: usize,
}

impl ImageClassifier for NoParameters {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        let [batch, ..] = images.dims();
        images
            .flatten::<2>(1, 3)
            .mean_dim(1)
            .reshape([batch, 1])
            .repeat_dim(1, self.classes)
    }
}

/// A model with nothing to train is named as such before anything is written, not left to
/// Burn's optimizer (whose loop panicked on it: "index out of bounds").
#[test]
fn a_model_without_parameters_is_named_before_anything_is_written() {
    let Some(data) = mnist("a_model_without_parameters_is_named_before_anything_is_written") else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    let artifacts = folder.path().join("run");
    let model = |_: &Device, shape: &DataShape| NoParameters {
        classes: shape.num_classes,
    };
    let err = train_with(model, &short(), &data, &artifacts, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no parameters"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!artifacts.exists());
}
