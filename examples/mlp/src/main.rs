//! `mlp`: a multi-layer perceptron trained on MNIST through the learner's public API.
//!
//! Nothing here knows about checkpoints, resuming, the dashboard, Ctrl-C, full disks,
//! divergence or reports: the model implements [`learner::ImageClassifier`] (one method,
//! `logits`) and [`learner::train_model`] gives it everything the logistic-regression trainer
//! has. This file is the pattern to copy for a model of your own.
//!
//! ```text
//! cargo run --release -p mlp -- --data-dir ../shared/datasets/mnist
//! ```

use std::path::PathBuf;

use anyhow::Result;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::prelude::*;
use clap::{Parser, ValueEnum};
use learner::{BackendKind, ImageClassifier, ProgressMode, TrainOptions, TrainingConfig};

/// Train a multi-layer perceptron (784 -> hidden -> 10, ReLU) on MNIST with the workspace's
/// learner: checkpoints every epoch, --resume, dashboard, test report and pictures.
#[derive(Debug, Parser)]
struct Args {
    /// Folder with the four MNIST IDX files (raw or .gz); default: $MNIST_DIR, else Burn's
    /// cache or download.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Where the run is saved (checkpoints, model.bpk, summary.json, pictures).
    #[arg(long, value_name = "DIR", default_value = "artifacts/mlp")]
    artifacts: PathBuf,
    /// Training config (JSON, the trainer's format); default: configs/mlp.json's settings.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Epochs to train (overrides the config).
    #[arg(long)]
    epochs: Option<usize>,
    /// Hidden units.
    #[arg(long, default_value_t = 256)]
    hidden: usize,
    /// Backend; default: the first compiled in of wgpu, tch, flex.
    #[arg(long, value_parser = parse_backend)]
    backend: Option<BackendKind>,
    /// Continue the run in --artifacts from its last checkpoint.
    #[arg(long, conflicts_with = "overwrite")]
    resume: bool,
    /// Replace the earlier run in --artifacts (only the files it wrote are removed).
    #[arg(long)]
    overwrite: bool,
    /// How progress is shown: the dashboard on a terminal, else plain lines.
    #[arg(long, value_enum, default_value_t = Progress::Auto)]
    progress: Progress,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Progress {
    Auto,
    Dashboard,
    Plain,
}

fn parse_backend(name: &str) -> Result<BackendKind, String> {
    name.parse()
        .map_err(|err: learner::BackendError| err.to_string())
}

/// The model's own Burn config.
#[derive(Config, Debug)]
struct MlpConfig {
    /// Pixels in.
    #[config(default = 784)]
    inputs: usize,
    /// Hidden units.
    #[config(default = 256)]
    hidden: usize,
    /// Classes out.
    #[config(default = 10)]
    classes: usize,
}

impl MlpConfig {
    fn init(&self, device: &Device) -> Mlp {
        Mlp {
            hidden: LinearConfig::new(self.inputs, self.hidden).init(device),
            out: LinearConfig::new(self.hidden, self.classes).init(device),
            act: Relu::new(),
        }
    }
}

/// Two linear layers with a ReLU between them.
#[derive(Module, Debug)]
struct Mlp {
    hidden: Linear,
    out: Linear,
    act: Relu,
}

impl ImageClassifier for Mlp {
    // images: [batch, 784] floats in [0, 1]; one logit per class. The loss (softmax
    // cross-entropy) and the scores (softmax) are the trait's defaults.
    fn logits(&self, images: Tensor<2>) -> Tensor<2> {
        self.out
            .forward(self.act.forward(self.hidden.forward(images)))
    }

    // Optional: how summary.json, TensorBoard's HParams view and `trainer runs` name it.
    fn describe(&self) -> String {
        let [inputs, hidden] = self.hidden.weight.dims();
        let [_, classes] = self.out.weight.dims();
        format!("MLP {inputs}-{hidden}-{classes}")
    }
}

/// The settings `configs/mlp.json` holds: SGD with momentum, cosine schedule, 15 epochs.
const DEFAULT_CONFIG: &str = include_str!("../../../configs/mlp.json");

fn main() -> Result<()> {
    let args = Args::parse();
    let config = training_config(&args)?;
    let data = data::Mnist::load(config.dataset, args.data_dir.as_deref(), config.validation)?;
    let options = TrainOptions::new(&args.artifacts)
        .with_backend(args.backend)
        .with_resume(args.resume)
        .with_overwrite(args.overwrite)
        .with_progress(match args.progress {
            Progress::Auto => ProgressMode::Auto,
            Progress::Dashboard => ProgressMode::Dashboard,
            Progress::Plain => ProgressMode::Plain,
        });
    let model = MlpConfig::new().with_hidden(args.hidden);
    let report = learner::train_model(|device| model.init(device), &config, &data, &options)?;

    let summary = &report.summary;
    println!(
        "mlp ({} parameters): test accuracy {:.2} % after {} epochs, {:.1} s of training; \
         saved in {}",
        report.model.num_params(),
        100.0 * summary.test_accuracy,
        summary.epochs,
        summary.train_seconds,
        report.artifacts.root().display()
    );
    Ok(())
}

/// `--config`, or the saved config of the run for `--resume`, or the built-in one; with
/// `--epochs` applied, checked once.
fn training_config(args: &Args) -> Result<learner::ValidConfig> {
    let mut config = if args.resume {
        learner::ArtifactDir::new(&args.artifacts).load_config()?
    } else if let Some(path) = &args.config {
        TrainingConfig::from_file(path)?
    } else {
        TrainingConfig::from_json(DEFAULT_CONFIG)?
    };
    if let Some(epochs) = args.epochs {
        config.epochs = epochs;
    }
    Ok(config.validate()?)
}
