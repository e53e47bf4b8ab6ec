//! Data, model and learner together on real MNIST (needs `MNIST_DIR`).

use burn::prelude::*;
use data::{DatasetSpec, ImageBatcher, ImageData, LoadOptions};
use integration_tests::{load_mnist as load, mnist_dir, train, workspace_root};
use learner::{
    ArtifactDir, BackendKind, ProgressMode, Summary, TrainOptions, TrainingConfig, evaluate,
};
use model::LogisticRegressionConfig;

fn options(artifacts: &std::path::Path) -> TrainOptions {
    TrainOptions {
        artifacts: artifacts.to_path_buf(),
        backend: Some(BackendKind::Flex),
        devices: 1,
        resume: false,
        overwrite: false,
        progress: ProgressMode::Plain,
        limit_batches: None,
        max_steps: None,
    }
}

fn config_file(name: &str) -> TrainingConfig {
    TrainingConfig::from_file(&workspace_root().join("configs").join(name)).expect("config parses")
}

#[test]
fn default_config_reaches_90_percent_within_two_epochs() {
    let Some(dir) = mnist_dir("default_config_reaches_90_percent_within_two_epochs") else {
        return;
    };
    let data = load(&dir);
    assert_eq!(
        (data.train.len(), data.validation.len(), data.test.len()),
        (50_000, 10_000, 10_000)
    );
    let mut config = config_file("default.json");
    config.epochs = 2;
    let config = config.validate().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let report = train(&config, &data, &options(folder.path())).unwrap();

    let summary = &report.summary;
    assert!(
        summary.test_accuracy >= 0.90,
        "test accuracy {}",
        summary.test_accuracy
    );
    assert!(
        summary.validation_accuracy >= 0.90,
        "validation accuracy {}",
        summary.validation_accuracy
    );
    assert_eq!(summary.epochs, 2);
    assert_eq!(
        summary.iterations,
        2 * 50_000usize.div_ceil(config.batch_size)
    );
    assert_eq!(summary.history.len(), 2);
    assert_eq!(summary.history[1].test_accuracy, summary.test_accuracy);
    assert!(summary.train_seconds > 0.0 && summary.samples_per_second > 0.0);
    assert!(!summary.interrupted && !summary.stopped_early);

    // Everything the issue lists is in the artifacts folder, and summary.json holds the fields.
    let artifacts = ArtifactDir::new(folder.path());
    for file in [
        "config.json",
        "model.json",
        "model.bpk",
        "summary.json",
        "experiment.log",
    ] {
        assert!(folder.path().join(file).is_file(), "{file} missing");
    }
    assert!(folder.path().join("train").is_dir() && folder.path().join("valid").is_dir());
    assert_eq!(artifacts.checkpoint_epochs(), vec![1, 2]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(artifacts.summary_path()).unwrap()).unwrap();
    for key in [
        "dataset",
        "backend",
        "epochs",
        "iterations",
        "validation_accuracy",
        "test_accuracy",
        "test_loss",
        "train_seconds",
        "samples_per_second",
        "history",
    ] {
        assert!(json.get(key).is_some(), "summary.json lacks {key}");
    }
    assert_eq!(json["dataset"], "mnist");
    assert_eq!(json["history"][0]["iteration"], 391);
    let saved: Summary = artifacts.load_summary().unwrap();
    assert_eq!(&saved, summary);
    assert_eq!(artifacts.load_config().unwrap(), *config);

    // The saved model, opened with the model crate alone, gives the same test accuracy.
    let device = Device::flex();
    let run = model::zoo::load_run(artifacts.root(), &device).unwrap();
    assert_eq!(run.card.kind, "logistic");
    assert_eq!(run.card.input, model::DataShape::mnist());
    let again = evaluate(&*run.model, &data.test, 1000, &ImageBatcher::new(), &device).unwrap();
    assert_eq!(again.accuracy, summary.test_accuracy);
    assert_eq!(again.confusion.iter().flatten().sum::<u64>(), 10_000);
}

#[test]
fn seed_config_reproduces_the_article_run() {
    let Some(dir) = mnist_dir("seed_config_reproduces_the_article_run") else {
        return;
    };
    let data = load(&dir);
    let config = config_file("seed.json").validate().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let report = train(&config, &data, &options(folder.path())).unwrap();
    let summary = &report.summary;
    let iterations: Vec<usize> = summary
        .history
        .iter()
        .map(|entry| entry.iteration)
        .collect();
    assert_eq!(iterations, vec![500, 1000, 1500]);
    assert_eq!(summary.iterations, 1500);
    // PyTorch's run of the article's script: 66.9 % / 75.8 % / 78.7 %.
    assert!(
        (0.74..=0.83).contains(&summary.test_accuracy),
        "test accuracy at 1500 iterations: {}",
        summary.test_accuracy
    );
    let accuracies: Vec<f64> = summary
        .history
        .iter()
        .map(|entry| entry.test_accuracy)
        .collect();
    assert!(
        accuracies.windows(2).all(|pair| pair[0] < pair[1]),
        "{accuracies:?} should rise"
    );
}

#[test]
fn resume_continues_from_the_last_checkpoint() {
    let Some(dir) = mnist_dir("resume_continues_from_the_last_checkpoint") else {
        return;
    };
    let data = load(&dir);
    let mut config = config_file("default.json");
    config.epochs = 1;
    let folder = tempfile::tempdir().unwrap();
    let first = train(
        &config.clone().validate().unwrap(),
        &data,
        &options(folder.path()),
    )
    .unwrap();
    assert_eq!(first.summary.epochs, 1);

    // A second run into the same folder is refused without --resume / --overwrite.
    let refused = train(
        &config.clone().validate().unwrap(),
        &data,
        &options(folder.path()),
    );
    let message = refused.unwrap_err().to_string();
    assert!(
        message.contains("--overwrite") && message.contains("--resume"),
        "{message}"
    );

    config.epochs = 2;
    let mut resume = options(folder.path());
    resume.resume = true;
    let second = train(&config.validate().unwrap(), &data, &resume).unwrap();
    assert_eq!(second.summary.resumed_from_epoch, Some(1));
    assert_eq!(second.summary.epochs, 2);
    assert_eq!(second.summary.history.len(), 2);
    // Epoch 1 comes from the first run's checkpoint: same figures; its time belongs to the
    // first process.
    let (before, after) = (&first.summary.history[0], &second.summary.history[0]);
    assert_eq!(before.test_accuracy, after.test_accuracy);
    assert_eq!(before.validation_loss, after.validation_loss);
    assert!(before.train_seconds.is_some() && after.train_seconds.is_none());
    assert!(second.summary.history[1].train_seconds.is_some());
    assert!(
        second.summary.test_accuracy >= 0.90,
        "{}",
        second.summary.test_accuracy
    );
}

#[test]
fn every_config_in_configs_is_valid() {
    let folder = workspace_root().join("configs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "json") {
            let config = TrainingConfig::from_file(&path).unwrap_or_else(|err| panic!("{err}"));
            config
                .validate()
                .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            seen += 1;
        }
    }
    assert!(seen >= 2, "configs/ should hold default.json and seed.json");
    // default.json spells out the model block the defaults imply.
    let mut file = config_file("default.json");
    assert_eq!(
        file.model,
        serde_json::json!({"kind": "logistic", "bias": true, "head": "Softmax"})
    );
    file.model = TrainingConfig::default().model;
    assert_eq!(file, TrainingConfig::default());
}

#[test]
fn early_stopping_ends_a_run_whose_validation_loss_stops_improving() {
    let Some(dir) = mnist_dir("early_stopping_ends_a_run_whose_validation_loss_stops_improving")
    else {
        return;
    };
    let data = load(&dir);
    // A large constant step makes the validation loss bounce instead of settling.
    let mut config = config_file("default.json");
    config.epochs = 30;
    config.optimizer.set_learning_rate(1.0);
    sgd(&mut config).momentum = 0.9;
    config.lr_schedule = learner::LrSchedule::Constant;
    config.early_stopping = Some(learner::EarlyStopping {
        patience: 2,
        min_delta: 0.0,
    });
    let folder = tempfile::tempdir().unwrap();
    let report = train(&config.validate().unwrap(), &data, &options(folder.path())).unwrap();
    let summary = &report.summary;
    assert!(summary.stopped_early, "{summary:?}");
    assert!(summary.epochs < 30);
    // It stopped `patience` epochs after the best validation loss.
    let losses: Vec<f64> = summary
        .history
        .iter()
        .map(|entry| entry.validation_loss)
        .collect();
    let best = losses.iter().enumerate().fold(
        0,
        |best, (i, loss)| if *loss < losses[best] { i } else { best },
    );
    assert_eq!(summary.epochs, best + 1 + 2, "validation losses {losses:?}");
}

#[test]
fn fashion_mnist_trains_through_the_dataset_setting() {
    let installed = std::path::Path::new(data::FASHION_MNIST_SYSTEM_DIR);
    if !installed.is_dir() && std::env::var_os("FASHION_MNIST_DIR").is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have Fashion-MNIST: scripts/setup.sh installs dataset-fashion-mnist"
        );
        eprintln!(
            "\n*** SKIPPED fashion_mnist_trains_through_the_dataset_setting: run scripts/setup.sh ***\n"
        );
        return;
    }
    let mut config = config_file("default.json");
    config.dataset = DatasetSpec::fashion_mnist();
    config.epochs = 1;
    let options_load = LoadOptions {
        split: config.validation,
        ..LoadOptions::default()
    };
    let data = ImageData::load(&config.dataset, options_load).unwrap();
    assert_eq!(data.classes[9], "Ankle boot");
    assert_eq!(
        (data.train.len() + data.validation.len(), data.test.len()),
        (60_000, 10_000)
    );
    let folder = tempfile::tempdir().unwrap();
    let report = train(&config.validate().unwrap(), &data, &options(folder.path())).unwrap();
    assert_eq!(report.summary.dataset, "fashion-mnist");
    // Logistic regression reaches about 84 % on Fashion-MNIST; one epoch is well above 75 %.
    assert!(
        report.summary.test_accuracy > 0.75,
        "{}",
        report.summary.test_accuracy
    );
}

/// The article's other logistic regressions, trained for two epochs each: the binary head on a
/// pair of digits and on one digit against the rest, and ten one-vs-rest sigmoid heads.
#[test]
fn binary_and_one_vs_rest_heads_train_on_real_mnist() {
    let Some(dir) = mnist_dir("binary_and_one_vs_rest_heads_train_on_real_mnist") else {
        return;
    };
    let data = load(&dir);
    for (file, expected_classes, expected_test_images, floor) in [
        ("binary-pair.json", 2, 974 + 1010, 0.95),
        ("binary-vs-rest.json", 2, 10_000, 0.98),
        ("one-vs-rest.json", 10, 10_000, 0.88),
    ] {
        let artifacts = tempfile::tempdir().unwrap();
        let mut config = config_file(file);
        config.epochs = 2;
        let report = train(
            &config.clone().validate().unwrap(),
            &data,
            &options(artifacts.path()),
        )
        .unwrap_or_else(|err| panic!("{file}: {err}"));
        let summary = &report.summary;
        assert_eq!(report.model.num_classes(), expected_classes, "{file}");
        assert_eq!(summary.test_size, expected_test_images, "{file}");
        assert!(
            summary.test_accuracy >= floor,
            "{file}: test accuracy {} below {floor}",
            summary.test_accuracy
        );
        // The saved model, opened back, predicts the same.
        let device = Device::flex();
        assert_eq!(
            serde_json::json!(report.model.head()),
            config.model["head"],
            "{file}"
        );
        let run = model::zoo::load_run(artifacts.path(), &device).unwrap();
        let relabelled = data.clone().with_task(config.task).unwrap();
        let again = evaluate(
            &*run.model,
            &relabelled.test,
            1000,
            &ImageBatcher::new(),
            &device,
        )
        .unwrap();
        assert_eq!(again.accuracy, summary.test_accuracy, "{file}");
    }
}

/// Same seed, same backend (CPU): identical metrics and identical weights, run after run.
#[test]
fn the_same_seed_gives_identical_runs_on_the_cpu() {
    let Some(dir) = mnist_dir("the_same_seed_gives_identical_runs_on_the_cpu") else {
        return;
    };
    let data = load(&dir);
    let config = TrainingConfig {
        epochs: 2,
        ..TrainingConfig::default()
    }
    .validate()
    .unwrap();
    fn bits<const D: usize>(tensor: Tensor<D>) -> Vec<u8> {
        let values = tensor.into_data().try_to_vec::<f32>().unwrap();
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }
    let runs: Vec<(Summary, Vec<u8>)> = (0..2)
        .map(|_| {
            let artifacts = tempfile::tempdir().unwrap();
            let mut summary = train(&config, &data, &options(artifacts.path()))
                .unwrap()
                .summary;
            // Timings differ between runs by nature; everything else must not.
            summary.train_seconds = 0.0;
            summary.samples_per_second = 0.0;
            for entry in &mut summary.history {
                entry.train_seconds = None;
            }
            let model = LogisticRegressionConfig::new()
                .load_weights(artifacts.path().join("model.bpk"), &Device::flex())
                .unwrap();
            let mut weights = bits(model.weights());
            weights.extend(bits(model.bias().unwrap()));
            // The exported file is byte-identical too.
            weights.extend(std::fs::read(artifacts.path().join("model.safetensors")).unwrap());
            (summary, weights)
        })
        .collect();
    assert_eq!(runs[0].0, runs[1].0);
    assert!(runs[0].1 == runs[1].1, "the weights are bit-identical");
}

/// A learning rate that makes the loss infinite stops the run with an error naming the cause;
/// the last good checkpoint and the earlier model stay as they were.
#[test]
fn divergence_stops_the_run_and_keeps_the_last_good_checkpoint() {
    let Some(dir) = mnist_dir("divergence_stops_the_run_and_keeps_the_last_good_checkpoint") else {
        return;
    };
    let data = load(&dir);
    let artifacts = tempfile::tempdir().unwrap();
    let folder = ArtifactDir::new(artifacts.path());
    let mut config = TrainingConfig {
        epochs: 1,
        lr_schedule: learner::LrSchedule::Constant,
        ..TrainingConfig::default()
    };
    train(
        &config.clone().validate().unwrap(),
        &data,
        &options(artifacts.path()),
    )
    .unwrap();
    let good_model = std::fs::read(folder.model_path()).unwrap();
    let good_checkpoint = std::fs::read(folder.checkpoint_model_path(1)).unwrap();

    // Continue for a second epoch with an absurd learning rate.
    config.epochs = 2;
    config.optimizer.set_learning_rate(1e37);
    let mut resume = options(artifacts.path());
    resume.resume = true;
    let err = train(&config.clone().validate().unwrap(), &data, &resume).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(
            err,
            learner::LearnerError::Diverged {
                epoch: 2,
                kept: Some(1),
                ..
            }
        ),
        "{message}"
    );
    assert!(message.contains("training diverged"), "{message}");
    assert!(
        message.contains("lower optimizer.learning_rate")
            && message.contains("config.json, then continue from it with --resume"),
        "{message}"
    );
    assert!(message.contains("checkpoint of epoch 1"), "{message}");
    assert_eq!(
        folder.checkpoint_epochs(),
        vec![1],
        "no checkpoint of the bad epoch"
    );
    assert_eq!(
        std::fs::read(folder.checkpoint_model_path(1)).unwrap(),
        good_checkpoint
    );
    assert_eq!(std::fs::read(folder.model_path()).unwrap(), good_model);
}

/// The SGD settings of a config (the default optimizer).
fn sgd(config: &mut TrainingConfig) -> &mut learner::SgdSettings {
    match &mut config.optimizer {
        learner::Optimizer::Sgd(settings) => settings,
        other => panic!("not SGD: {other:?}"),
    }
}

/// Two batches of 64 accumulated into one step train as one batch of 128: the same images
/// (one shuffled stream), the gradient of their mean loss, the same weights after the run.
#[test]
fn accumulating_two_batches_is_one_batch_twice_as_large() {
    let Some(dir) = mnist_dir("accumulating_two_batches_is_one_batch_twice_as_large") else {
        return;
    };
    let data = load(&dir);
    let train = |json: &str| {
        let config = TrainingConfig::from_json(json).unwrap().validate().unwrap();
        let folder = tempfile::tempdir().unwrap();
        let report = train(&config, &data, &options(folder.path())).unwrap();
        (report.model, report.summary)
    };
    let (large, large_summary) = train(
        r#"{"epochs": 1, "iterations_per_epoch": 10, "batch_size": 128,
            "lr_schedule": {"type": "constant"}}"#,
    );
    let (small, small_summary) = train(
        r#"{"epochs": 1, "iterations_per_epoch": 20, "batch_size": 64, "accumulation": 2,
            "lr_schedule": {"type": "constant"}}"#,
    );
    assert_eq!(small_summary.effective_batch_size, 128);
    assert_eq!(large_summary.effective_batch_size, 128);
    let values = |model: &model::LogisticRegression| {
        model.weights().into_data().try_to_vec::<f32>().unwrap()
    };
    let (a, b) = (values(&large), values(&small));
    let largest = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(largest < 1e-5, "weights differ by up to {largest}");
}

/// `final_model: best` keeps the epoch with the lowest validation loss: a bouncing run keeps
/// an earlier epoch than its last, says which, and its model.bpk is that epoch's.
#[test]
fn the_best_epoch_is_kept_when_asked() {
    let Some(dir) = mnist_dir("the_best_epoch_is_kept_when_asked") else {
        return;
    };
    let data = load(&dir);
    // A large constant step makes the validation loss bounce from epoch to epoch.
    let config = TrainingConfig::from_json(
        r#"{"epochs": 6, "iterations_per_epoch": 60, "lr_schedule": {"type": "constant"},
            "optimizer": {"learning_rate": 1.0}, "final_model": "best"}"#,
    )
    .unwrap()
    .validate()
    .unwrap();
    let folder = tempfile::tempdir().unwrap();
    let report = train(&config, &data, &options(folder.path())).unwrap();
    let summary = &report.summary;
    let losses: Vec<f64> = summary
        .history
        .iter()
        .map(|entry| entry.validation_loss)
        .collect();
    let best = losses.iter().enumerate().fold(
        0,
        |best, (i, loss)| if *loss < losses[best] { i } else { best },
    ) + 1;
    assert_eq!(
        summary.best_epoch,
        Some(best),
        "validation losses {losses:?}"
    );
    let entry = &summary.history[best - 1];
    assert_eq!(summary.test_accuracy, entry.test_accuracy);
    assert_eq!(summary.validation_loss, entry.validation_loss);
    // The best epoch's checkpoint is kept beside the last two.
    let kept = ArtifactDir::new(folder.path()).checkpoint_epochs();
    assert!(kept.contains(&best) && kept.contains(&6), "{kept:?}");
    // model.bpk is that epoch's model.
    let device = Device::flex();
    let run = model::zoo::load_run(folder.path(), &device).unwrap();
    let again = evaluate(&*run.model, &data.test, 1000, &ImageBatcher::new(), &device).unwrap();
    assert_eq!(again.accuracy, entry.test_accuracy);
}

/// A resumed AdamW run continues with its moments: two epochs in one go and one epoch resumed
/// to two end with the same weights (restarting the moments at zero would change the second
/// epoch's steps).
#[test]
fn a_resumed_adamw_run_keeps_its_moments() {
    let Some(dir) = mnist_dir("a_resumed_adamw_run_keeps_its_moments") else {
        return;
    };
    let data = load(&dir);
    let config = |epochs: usize| {
        TrainingConfig::from_json(&format!(
            r#"{{"epochs": {epochs}, "iterations_per_epoch": 20,
                "lr_schedule": {{"type": "constant"}},
                "optimizer": {{"type": "adamw", "learning_rate": 0.01}}}}"#
        ))
        .unwrap()
        .validate()
        .unwrap()
    };
    let straight = tempfile::tempdir().unwrap();
    let whole = train(&config(2), &data, &options(straight.path())).unwrap();
    let halves = tempfile::tempdir().unwrap();
    train(&config(1), &data, &options(halves.path())).unwrap();
    let mut resume = options(halves.path());
    resume.resume = true;
    let resumed = train(&config(2), &data, &resume).unwrap();
    assert_eq!(resumed.summary.resumed_from_epoch, Some(1));
    assert_eq!(resumed.summary.optimizer, "adamw");
    let values = |model: &model::LogisticRegression| {
        model.weights().into_data().try_to_vec::<f32>().unwrap()
    };
    let (a, b) = (values(&whole.model), values(&resumed.model));
    let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert_eq!(differing, 0, "{differing} of {} weights differ", a.len());
}
