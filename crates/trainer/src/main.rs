//! `trainer`: train and evaluate multinomial logistic regression on MNIST with Burn.
//!
//! `cargo run --release -p trainer` trains with `configs/default.json`'s settings; `trainer
//! --help` lists the options.

mod bench;
mod output;
mod predict;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use data::{DatasetKind, Mnist};
use learner::{
    ArtifactDir, BackendKind, EvalReport, LearnerError, ProgressMode, RunFolder, TrainOptions,
    TrainingConfig, evaluate,
};
use output::say;

/// Train and evaluate multinomial logistic regression (one linear layer + softmax) on MNIST
/// with Burn. Without a subcommand, `trainer` trains.
#[derive(Debug, Parser)]
#[command(name = "trainer", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a model and save it with its test evaluation in an artifacts folder.
    Train(TrainArgs),
    /// Re-evaluate a saved model on the test set: accuracy, loss, confusion matrix, per-class
    /// precision / recall / F1 and the most confused classes (printed, and written to
    /// eval.json and confusion.png in the artifacts folder).
    Eval(EvalArgs),
    /// Classify pictures of digits (any size, PNG / JPEG / ...) with a trained model, printing
    /// the most probable classes.
    Predict(predict::PredictArgs),
    /// Make an artifacts folder from the weights of a PyTorch nn.Linear, saved with
    /// safetensors.torch.save_file(linear.state_dict(), FILE), and evaluate it.
    ImportPytorch(ImportArgs),
    /// Measure training and evaluation speed and peak memory of each compiled-in backend.
    Bench(bench::BenchArgs),
}

#[derive(Debug, Args)]
struct TrainArgs {
    /// JSON training config (see configs/); default: the built-in default, identical to
    /// configs/default.json.
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    config: Option<PathBuf>,
    /// Folder with the four IDX files (raw or .gz); default: $MNIST_DIR, else Burn's MNIST cache
    /// or download.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Where to save the model, logs, checkpoints and summary; default: artifacts/<config name>.
    #[arg(long, value_name = "DIR")]
    artifacts: Option<PathBuf>,
    /// Dataset: mnist or fashion-mnist (overrides the config).
    #[arg(long, value_name = "NAME", conflicts_with = "resume")]
    dataset: Option<DatasetKind>,
    /// Number of epochs (overrides the config; with --resume, the new total).
    #[arg(long, value_name = "N")]
    epochs: Option<usize>,
    /// Initial learning rate (overrides the config).
    #[arg(long, value_name = "X", conflicts_with = "resume")]
    learning_rate: Option<f64>,
    /// Training images per iteration (overrides the config).
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    batch_size: Option<usize>,
    /// Seed of initialisation and shuffling (overrides the config).
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    seed: Option<u64>,
    /// Compute backend, among those compiled in; default: the first compiled in.
    #[arg(long, value_name = "NAME")]
    backend: Option<BackendKind>,
    /// Devices to train on with Burn's multi-device data-parallel strategy, for backends that
    /// offer several (wgpu adapters, CUDA GPUs).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    devices: u16,
    /// Continue the run in the artifacts folder from its last complete checkpoint, with its
    /// saved config.
    #[arg(long)]
    resume: bool,
    /// Replace an earlier run in the artifacts folder (only its own files are removed).
    #[arg(long, conflicts_with = "resume")]
    overwrite: bool,
    /// Progress display: the dashboard on a terminal and plain lines elsewhere (auto), or force
    /// one.
    #[arg(long, value_enum, default_value_t = Progress::Auto)]
    progress: Progress,
}

#[derive(Debug, Args)]
struct EvalArgs {
    /// Artifacts folder of a finished run (holding model.json, model.bpk and config.json).
    #[arg(long, value_name = "DIR")]
    artifacts: PathBuf,
    /// Folder with the four IDX files; default: as for training.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Compute backend, among those compiled in.
    #[arg(long, value_name = "NAME")]
    backend: Option<BackendKind>,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// safetensors file holding `weight` [classes, pixels] and `bias` [classes] (PyTorch's
    /// nn.Linear state_dict).
    #[arg(long, value_name = "FILE")]
    weights: PathBuf,
    /// Artifacts folder to create (it must not hold a run, unless --overwrite).
    #[arg(long, value_name = "DIR")]
    artifacts: PathBuf,
    /// Dataset the weights were trained on: mnist or fashion-mnist.
    #[arg(long, value_name = "NAME", default_value = "mnist")]
    dataset: DatasetKind,
    /// Folder with the four IDX files for the test evaluation; default: as for training.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Replace an earlier run in the artifacts folder.
    #[arg(long)]
    overwrite: bool,
    /// Compute backend, among those compiled in.
    #[arg(long, value_name = "NAME")]
    backend: Option<BackendKind>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Progress {
    Auto,
    Dashboard,
    Plain,
}

/// Exit codes: 0 success; 1 an error (bad input, a failed run: the message names it and the
/// fix); 2 a command-line usage error (clap's, for an unknown option or a value of the wrong
/// form); 130 / 143 a second Ctrl-C / SIGTERM; 141 standard output closed early (`| head`).
fn main() -> ExitCode {
    output::exit_quietly_on_closed_stdout();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Some(Command::Train(args)) => run_train(args),
        Some(Command::Eval(args)) => run_eval(args),
        Some(Command::Bench(args)) => bench::run(args),
        Some(Command::Predict(args)) => predict::run(args),
        Some(Command::ImportPytorch(args)) => run_import(args),
        None => run_train(cli.train),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => output::fail(&err),
    }
}

fn run_train(args: TrainArgs) -> Result<()> {
    let (config, name) = if args.resume {
        let folder = args
            .artifacts
            .clone()
            .context("--resume needs --artifacts: the folder of the run to continue")?;
        (ArtifactDir::new(folder).load_config()?, None)
    } else {
        match &args.config {
            Some(path) => (TrainingConfig::from_file(path)?, Some(config_name(path))),
            None => (TrainingConfig::default(), Some("default".to_string())),
        }
    };
    let config = apply_overrides(config, &args).validate()?;
    let artifacts = args
        .artifacts
        .clone()
        .unwrap_or_else(|| Path::new("artifacts").join(name.unwrap_or_else(|| "run".to_string())));
    let progress = match args.progress {
        Progress::Auto => ProgressMode::Auto,
        Progress::Dashboard => ProgressMode::Dashboard,
        Progress::Plain => ProgressMode::Plain,
    };
    progress.dashboard()?;
    let backend = pick_backend(args.backend)?;
    let devices = backend.devices(usize::from(args.devices))?;
    for device in &devices {
        say!("backend: {backend} ({})", backend.describe(device));
    }

    let data = Mnist::load(config.dataset, args.data_dir.as_deref(), config.validation)?
        .with_task(config.task)?;
    say!(
        "data: {} ({}, {} head) from {}: {} training, {} validation, {} test images of {}x{}",
        data.kind,
        data.task,
        config.model.head,
        data.source,
        data.train.len(),
        data.validation.len(),
        data.test.len(),
        data.train.rows(),
        data.train.cols()
    );
    say!("artifacts: {}", artifacts.display());

    let options = TrainOptions {
        artifacts,
        backend,
        devices: usize::from(args.devices),
        resume: args.resume,
        overwrite: args.overwrite,
        progress,
    };
    let report = learner::train(&config, &data, &options)?;
    let summary = &report.summary;
    say!();
    for entry in &summary.history {
        say!(
            "after epoch {:>3} (iteration {:>6}): validation accuracy {:6.2} % | test accuracy {:6.2} % (loss {:.4})",
            entry.epoch,
            entry.iteration,
            100.0 * entry.validation_accuracy,
            100.0 * entry.test_accuracy,
            entry.test_loss
        );
    }
    if summary.interrupted {
        say!(
            "training was interrupted; continue it with --resume --artifacts {}",
            report.artifacts.root().display()
        );
    }
    if summary.stopped_early {
        say!(
            "early stopping ended the run after epoch {}",
            summary.epochs
        );
    }
    say!(
        "test accuracy {:.2} % (loss {:.4}), validation accuracy {:.2} %, {} epochs / {} iterations, {:.2} s of training ({:.0} images/s)",
        100.0 * summary.test_accuracy,
        summary.test_loss,
        100.0 * summary.validation_accuracy,
        summary.epochs,
        summary.iterations,
        summary.train_seconds,
        summary.samples_per_second
    );
    say!("saved {}", report.artifacts.root().display());
    Ok(())
}

fn run_eval(args: EvalArgs) -> Result<()> {
    // eval.json and confusion.png are written into the run: one process at a time, and not
    // while a training writes there.
    let folder = ArtifactDir::new(&args.artifacts).reopen_run()?;
    let artifacts = folder.dir();
    let config = artifacts.load_config()?.validate()?;
    let backend = pick_backend(args.backend)?;
    let device = backend.device()?;
    let model = artifacts.load_model(&device)?;
    let data = Mnist::load(config.dataset, args.data_dir.as_deref(), config.validation)?
        .with_task(config.task)?;
    say!("backend: {backend} ({})", backend.describe(&device));
    say!("model: {}", artifacts.model_path().display());
    evaluate_and_report(&folder, &model, &data, config.eval_batch_size, &device)
}

/// Evaluates on the test set, prints the report and writes eval.json and confusion.png.
fn evaluate_and_report(
    folder: &RunFolder,
    model: &model::LogisticRegression,
    data: &Mnist,
    batch_size: usize,
    device: &burn::prelude::Device,
) -> Result<()> {
    if model.input_size() != data.input_size() || model.num_classes() != data.num_classes() {
        bail!(
            "the model takes {} pixels and tells {} classes apart, but the {} test set ({}) has {}x{} images of {} classes",
            model.input_size(),
            model.num_classes(),
            data.kind,
            data.task,
            data.test.rows(),
            data.test.cols(),
            data.num_classes()
        );
    }
    let test = evaluate(model, &data.test, batch_size, device)?;
    let report = EvalReport::new(&test, &data.class_names());
    say!(
        "data: {} test images from {} ({})",
        test.count,
        data.source,
        data.task
    );
    say!();
    say!("test {}", report.to_table().trim_end());
    folder.save_report(&report)?;
    say!();
    say!(
        "wrote {} and {}",
        folder.eval_path().display(),
        folder.picture_path("confusion.png").display()
    );
    Ok(())
}

fn run_import(args: ImportArgs) -> Result<()> {
    // Refused before the data is read: a folder, a FIFO, a device.
    data::ensure_regular_file(&args.weights)?;
    let backend = pick_backend(args.backend)?;
    let device = backend.device()?;
    // Read and check everything before the folder is touched.
    let data = Mnist::load(args.dataset, args.data_dir.as_deref(), Default::default())?;
    let model_config = model::LogisticRegressionConfig::new()
        .with_input_size(data.input_size())
        .with_num_classes(data.num_classes());
    let model = model_config
        .load_pytorch_safetensors(&args.weights, &device)
        .with_context(|| {
            format!(
                "importing {} as nn.Linear({}, {})",
                args.weights.display(),
                data.input_size(),
                data.num_classes()
            )
        })?;
    let folder = ArtifactDir::new(&args.artifacts)
        .start_run(args.overwrite)
        .map_err(|err| match err {
            // import-pytorch has no --resume to offer.
            LearnerError::RunExists { path } => anyhow::anyhow!(
                "artifacts folder {} holds an earlier run; pass --overwrite to replace it, or \
                 choose another --artifacts folder",
                path.display()
            ),
            other => other.into(),
        })?;
    let config = TrainingConfig {
        dataset: args.dataset,
        ..TrainingConfig::default()
    };
    folder.save_config(&config)?;
    folder.save_model(&model)?;
    say!(
        "imported {} into {} ({} and {})",
        args.weights.display(),
        folder.root().display(),
        folder.model_config_path().display(),
        folder.model_path().display()
    );
    evaluate_and_report(&folder, &model, &data, config.eval_batch_size, &device)
}

fn pick_backend(requested: Option<BackendKind>) -> Result<BackendKind> {
    Ok(match requested {
        Some(kind) => kind,
        None => BackendKind::preferred()?,
    })
}

fn apply_overrides(mut config: TrainingConfig, args: &TrainArgs) -> TrainingConfig {
    if let Some(dataset) = args.dataset {
        config.dataset = dataset;
    }
    if let Some(epochs) = args.epochs {
        config.epochs = epochs;
    }
    if let Some(learning_rate) = args.learning_rate {
        config.optimizer.learning_rate = learning_rate;
    }
    if let Some(batch_size) = args.batch_size {
        config.batch_size = batch_size;
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    config
}

fn config_name(path: &Path) -> String {
    path.file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".to_string())
}
