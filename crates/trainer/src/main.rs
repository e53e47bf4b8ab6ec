//! `trainer`: train and evaluate multinomial logistic regression on MNIST with Burn.
//!
//! `cargo run --release -p trainer` trains with `configs/default.json`'s settings; `trainer
//! --help` lists the options.

mod bench;
mod output;
mod predict;
mod runs;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use data::{DatasetKind, Mnist};
use learner::{
    ArtifactDir, BackendKind, EvalReport, LearnerError, ProgressMode, RunFolder, TrainOptions,
    TrainReport, TrainingConfig, ValidConfig, evaluate,
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
    /// List the runs under a folder side by side (dataset, model, epochs, learning rate, batch
    /// size, accuracies, training time, how each ended), sortable, or as JSON.
    Runs(runs::RunsArgs),
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
    /// Compute backend, among those compiled in; default: the one a cargo feature beyond the
    /// default asked for (tch-cuda with a CUDA LibTorch, wgpu, tch, ndarray), else flex.
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
        Some(Command::Runs(args)) => runs::run(args),
        None => run_train(cli.train),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => output::fail(&err),
    }
}

fn run_train(args: TrainArgs) -> Result<()> {
    let (config, artifacts) = train_config(&args)?;
    let progress = match args.progress {
        Progress::Auto => ProgressMode::Auto,
        Progress::Dashboard => ProgressMode::Dashboard,
        Progress::Plain => ProgressMode::Plain,
    };
    progress.dashboard()?;
    let backend = open_backend(args.backend, usize::from(args.devices))?;
    let data = load_data(&config, args.data_dir.as_deref())?;
    say!("artifacts: {}", artifacts.display());
    let options = TrainOptions::new(artifacts)
        .with_backend(Some(backend))
        .with_devices(usize::from(args.devices))
        .with_resume(args.resume)
        .with_overwrite(args.overwrite)
        .with_progress(progress);
    let report = learner::train(&config, &data, &options)?;
    print_outcome(&report, &config)
}

/// The run's config (the saved one for `--resume`, else `--config` or the built-in default,
/// with the command line's overrides), checked, and its artifacts folder.
fn train_config(args: &TrainArgs) -> Result<(ValidConfig, PathBuf)> {
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
    let config = apply_overrides(config, args).validate()?;
    let artifacts = args
        .artifacts
        .clone()
        .unwrap_or_else(|| Path::new("artifacts").join(name.unwrap_or_else(|| "run".to_string())));
    Ok((config, artifacts))
}

/// Opens the backend (`--backend`, else the preferred one) and says which it is; a software
/// adapter, a GPU API emulated on the CPU, is named as such.
fn open_backend(requested: Option<BackendKind>, count: usize) -> Result<BackendKind> {
    let (backend, devices) = BackendKind::choose(requested, count)?;
    for device in &devices {
        say!("backend: {backend} ({})", backend.describe(device));
        if backend.is_software(device) {
            say!(
                "note: this is a software adapter, {backend} emulated on the CPU, not a GPU: on \
                 the machine of docs/benchmarks.md it trained {SOFTWARE_SLOWDOWN} slower than \
                 --backend flex; pass --backend flex to train on the CPU directly"
            );
        }
    }
    Ok(backend)
}

/// How much slower wgpu on Mesa's lavapipe trained than flex, per epoch, in `trainer bench
/// --backend flex --backend wgpu` on the 2-core machine of docs/benchmarks.md.
const SOFTWARE_SLOWDOWN: &str = "about 47x";

/// The dataset as the config's task sees it, and a line saying what it is.
fn load_data(config: &ValidConfig, data_dir: Option<&Path>) -> Result<Mnist> {
    let data = Mnist::load(config.dataset, data_dir, config.validation)?.with_task(config.task)?;
    say!(
        "data: {}, {}, from {}: {} training, {} validation, {} test images of {}x{}",
        data.kind,
        data.task,
        data.source,
        thousands(data.train.len()),
        thousands(data.validation.len()),
        thousands(data.test.len()),
        data.train.rows(),
        data.train.cols()
    );
    Ok(data)
}

/// The end of a run in one block: what was trained, the figures, where it was saved, and the
/// commands that come next.
fn print_outcome(report: &TrainReport, config: &ValidConfig) -> Result<()> {
    let summary = &report.summary;
    let dir = shell_word(&report.artifacts.root().display().to_string());
    let model = &report.model;
    say!();
    say!(
        "trained   logistic regression ({} head, {} parameters) on {} ({}): {} epochs, {} \
         iterations",
        model.head().name(),
        thousands(burn::module::Module::num_params(model)),
        summary.dataset,
        config.task,
        summary.epochs,
        thousands(summary.iterations)
    );
    say!(
        "          {:.2} s of training ({} images/s) on {} ({})",
        summary.train_seconds,
        thousands(summary.samples_per_second.round() as usize),
        summary.backend,
        summary.device
    );
    if summary.interrupted {
        say!("          training was interrupted; continue it with --resume --artifacts {dir}");
    }
    if summary.stopped_early {
        say!(
            "          early stopping ended it after epoch {}: the validation loss had not \
             improved for {} epochs",
            summary.epochs,
            config
                .early_stopping
                .as_ref()
                .map_or(0, |early| early.patience)
        );
    }
    say!(
        "result    test accuracy {:.2} % (loss {:.4}), validation accuracy {:.2} %",
        100.0 * summary.test_accuracy,
        summary.test_loss,
        100.0 * summary.validation_accuracy
    );
    say!(
        "saved     {dir}: model.bpk, model.safetensors, summary.json, eval.json, curves.png, \
         confusion.png, weights.png"
    );
    say!("next      trainer eval --artifacts {dir}");
    say!("          trainer predict --artifacts {dir} DIGIT.png");
    if !summary.interrupted {
        say!(
            "          trainer --resume --artifacts {dir} --epochs {}   (to train further)",
            config.epochs * 2
        );
    }
    Ok(())
}

/// `n` with thousands separators: 50,000.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `text` as one word for a POSIX shell: as it is when plain, else in single quotes.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

fn run_eval(args: EvalArgs) -> Result<()> {
    // eval.json and confusion.png are written into the run: one process at a time, and not
    // while a training writes there.
    let folder = ArtifactDir::new(&args.artifacts).reopen_run()?;
    let artifacts = folder.dir();
    let config = artifacts.load_config()?.validate()?;
    let (backend, device) = pick_device(args.backend)?;
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
    let (_, device) = pick_device(args.backend)?;
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
    folder.save_model_config(&model.config())?;
    folder.save_model(&model)?;
    // Not a training run: `trainer runs` says what it is instead of "unfinished".
    folder.manifest().record_ending("imported from PyTorch")?;
    say!(
        "imported {} into {} ({} and {})",
        args.weights.display(),
        folder.root().display(),
        folder.model_config_path().display(),
        folder.model_path().display()
    );
    evaluate_and_report(&folder, &model, &data, config.eval_batch_size, &device)
}

/// The backend and its first device, opened and checked: `--backend`, else the preferred one.
fn pick_device(requested: Option<BackendKind>) -> Result<(BackendKind, burn::prelude::Device)> {
    let (backend, mut devices) = BackendKind::choose(requested, 1)?;
    Ok((backend, devices.remove(0)))
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
