//! `train`: the config (a file, a run's own, or the default; with the command line's
//! overrides), checked; the data; the model's training; one block at the end saying what was
//! trained, how well, where it is and what comes next.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::prelude::*;
use clap::{Args, ValueEnum};
use data::{DatasetSpec, ImageData, LoadOptions};

use super::output::say;
use super::source::{ModelSource, Trained};
use crate::{ArtifactDir, BackendKind, ProgressMode, TrainOptions, TrainingConfig, ValidConfig};

/// `train`'s options (also those of the bare command).
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// JSON training config (see configs/); default: the built-in default (configs/default.json;
    /// with --model, configs/<model>.json).
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    config: Option<PathBuf>,
    /// The model to train, from the zoo (logistic, mlp, cnn), with its defaults (overrides the
    /// config's model block; with --resume, it must be the run's).
    #[arg(long, value_name = "NAME")]
    model: Option<String>,
    /// Folder with the data: four IDX files, CIFAR-10 or CIFAR-100 binary files, or an image
    /// folder (train/<class>/, test/<class>/); default: the config's dataset.path, else
    /// $MNIST_DIR, Burn's MNIST cache or download.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Where to save the model, logs, checkpoints and summary; default: artifacts/<config or
    /// model name>.
    #[arg(long, value_name = "DIR")]
    artifacts: Option<PathBuf>,
    /// Data set known by name: mnist or fashion-mnist (overrides the config).
    #[arg(long, value_name = "NAME", conflicts_with = "resume")]
    dataset: Option<String>,
    /// Number of epochs (overrides the config; with --resume, the new total).
    #[arg(long, value_name = "N")]
    epochs: Option<usize>,
    /// Initial learning rate (overrides the config).
    #[arg(long, value_name = "X", conflicts_with = "resume")]
    learning_rate: Option<f64>,
    /// Optimizer, with its defaults: sgd, adam, adamw, rmsprop, adagrad (overrides the
    /// config's; --learning-rate applies after it).
    #[arg(long, value_name = "NAME", conflicts_with = "resume")]
    optimizer: Option<String>,
    /// Training images per iteration (overrides the config).
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    batch_size: Option<usize>,
    /// Seed of initialisation, shuffling and augmentation (overrides the config).
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
    /// A smoke test: one batch of training, validation and test through every step of a run
    /// (checkpoint, history, report, pictures), in a temporary folder removed at the end unless
    /// --artifacts is given.
    #[arg(long, conflicts_with_all = ["resume", "max_steps", "limit_batches"])]
    fast_dev_run: bool,
    /// Stop after N training batches in all.
    #[arg(long, value_name = "N")]
    max_steps: Option<usize>,
    /// At most N batches of training and of validation each epoch, and of the test set.
    #[arg(long, value_name = "N")]
    limit_batches: Option<usize>,
}

/// How progress is shown, as `--progress` names it.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Progress {
    /// The dashboard on a terminal, plain lines elsewhere.
    Auto,
    /// Burn's terminal dashboard.
    Dashboard,
    /// Plain lines.
    Plain,
}

/// Trains as `args` say, with the models of `source`, and prints the end-of-run block.
pub fn train(args: TrainArgs, source: &dyn ModelSource) -> Result<()> {
    let (config, artifacts) = train_config(&args, source)?;
    // A smoke test without --artifacts runs in a folder of its own, removed at the end.
    let scratch = match (args.fast_dev_run, &args.artifacts) {
        (true, None) => Some(tempfile::tempdir().context("cannot create a temporary folder")?),
        _ => None,
    };
    let artifacts = scratch
        .as_ref()
        .map_or(artifacts, |dir| dir.path().join("fast-dev-run"));
    let (limit_batches, max_steps) = if args.fast_dev_run {
        (Some(1), Some(1))
    } else {
        (args.limit_batches, args.max_steps)
    };
    let progress = match args.progress {
        Progress::Auto => ProgressMode::Auto,
        Progress::Dashboard => ProgressMode::Dashboard,
        Progress::Plain => ProgressMode::Plain,
    };
    progress.dashboard()?;
    let backend = open_backend(args.backend, usize::from(args.devices))?;
    let data = load_data(&config, args.data_dir.as_deref())?;
    source.check_data(&config.model, &crate::run::card::data_shape(&data))?;
    say!("artifacts: {}", artifacts.display());
    let options = TrainOptions::new(artifacts)
        .with_backend(Some(backend))
        .with_devices(usize::from(args.devices))
        .with_resume(args.resume)
        .with_overwrite(args.overwrite)
        .with_progress(progress)
        .with_limit_batches(limit_batches)
        .with_max_steps(max_steps);
    let trained = source.train(&config.model, &config, &data, &options)?;
    print_outcome(&trained, &config, scratch.is_none())?;
    drop(scratch);
    Ok(())
}

/// The run's config (the saved one for `--resume`, else `--config`, else the model's or the
/// built-in default, with the command line's overrides), checked, and its artifacts folder. A
/// `--data-dir` is recorded in the config (absolute), so that `eval` finds the data again.
fn train_config(args: &TrainArgs, source: &dyn ModelSource) -> Result<(ValidConfig, PathBuf)> {
    let named = match &args.model {
        Some(name) => Some(
            source
                .named(name)
                .ok_or_else(|| unknown_model(name, source))?,
        ),
        None => None,
    };
    let (mut config, name) = if args.resume {
        let folder = args
            .artifacts
            .clone()
            .context("--resume needs --artifacts: the folder of the run to continue")?;
        (ArtifactDir::new(folder).load_config()?, None)
    } else if let Some(path) = &args.config {
        (TrainingConfig::from_file(path)?, Some(config_name(path)))
    } else if let Some((_, Some(json))) = &named {
        let name = args.model.clone();
        (TrainingConfig::from_json(json)?, name)
    } else if let Some(json) = source.default_config() {
        (
            TrainingConfig::from_json(json)?,
            Some("default".to_string()),
        )
    } else {
        (TrainingConfig::default(), Some("default".to_string()))
    };
    match named {
        // A run keeps its model: the name is checked against its card.
        Some(_) if args.resume => check_resumed_model(args, source)?,
        Some((block, _)) => config.model = block,
        None => {}
    }
    config = apply_overrides(config, args)?;
    config.model = source.check(&config.model)?;
    let config = config.validate()?;
    let artifacts = args
        .artifacts
        .clone()
        .unwrap_or_else(|| Path::new("artifacts").join(name.unwrap_or_else(|| "run".to_string())));
    Ok((config, artifacts))
}

/// `--model NAME --resume`: the run must hold a model of that kind.
fn check_resumed_model(args: &TrainArgs, source: &dyn ModelSource) -> Result<()> {
    let (Some(name), Some(folder)) = (&args.model, &args.artifacts) else {
        return Ok(());
    };
    let _ = source;
    let card = ArtifactDir::new(folder).load_card()?;
    if card.kind != *name {
        return Err(crate::LearnerError::OtherModel {
            artifacts: folder.clone(),
            recorded: format!("`{}` ({})", card.kind, card.describe),
            asked: format!("`{name}` (--model {name})"),
        }
        .into());
    }
    Ok(())
}

/// The error for `--model NAME` naming no model `source` has, listing those it has.
pub(super) fn unknown_model(name: &str, source: &dyn ModelSource) -> anyhow::Error {
    let names = source.names();
    if names.is_empty() {
        anyhow::anyhow!(
            "--model {name}: this binary trains one model, its own; remove --model (the zoo's \
             models are trainer's: trainer --model NAME)"
        )
    } else {
        anyhow::anyhow!(
            "--model {name}: no such model; the zoo has {}",
            names.join(", ")
        )
    }
}

fn apply_overrides(mut config: TrainingConfig, args: &TrainArgs) -> Result<TrainingConfig> {
    if let Some(name) = &args.dataset {
        config.dataset = match name.as_str() {
            "mnist" => DatasetSpec::mnist(),
            "fashion-mnist" => DatasetSpec::fashion_mnist(),
            other => anyhow::bail!(
                "--dataset {other}: the data sets known by name are mnist and fashion-mnist; \
                 give any other data with --data-dir"
            ),
        };
    }
    if let Some(folder) = &args.data_dir {
        // Recorded absolute, so that eval and --resume find it from any folder.
        let folder = std::path::absolute(folder).unwrap_or_else(|_| folder.clone());
        config.dataset = config.dataset.for_folder(&folder).with_path(folder);
    }
    if let Some(epochs) = args.epochs {
        config.epochs = epochs;
    }
    if let Some(name) = &args.optimizer {
        config.optimizer = crate::Optimizer::named(name).with_context(|| {
            format!(
                "--optimizer {name}: no such optimizer; there are {}",
                crate::OPTIMIZERS.join(", ")
            )
        })?;
    }
    if let Some(learning_rate) = args.learning_rate {
        config.optimizer.set_learning_rate(learning_rate);
    }
    if let Some(batch_size) = args.batch_size {
        config.batch_size = batch_size;
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    Ok(config)
}

fn config_name(path: &Path) -> String {
    path.file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".to_string())
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

/// The data as the config's task sees it, and a line saying what it is. A large image folder
/// says how far its decoding has gone.
pub(crate) fn load_data(config: &ValidConfig, data_dir: Option<&Path>) -> Result<ImageData> {
    let last = std::sync::atomic::AtomicUsize::new(0);
    let progress = |done: usize, total: usize| {
        let percent = 100 * done / total.max(1);
        let before = last.swap(percent / 10, std::sync::atomic::Ordering::Relaxed);
        if total >= 2_000 && percent / 10 != before {
            // A write error here shows again, and stops the run, at the next line printed.
            let _ = super::output::line(format_args!("reading pictures: {percent} %"));
        }
    };
    let options = LoadOptions {
        data_dir,
        split: config.validation,
        progress: Some(&progress),
    };
    let data = ImageData::load(&config.dataset, options)?.with_task(config.task)?;
    say!(
        "data: {} ({}), {}, from {}: {} training, {} validation, {} test images of {}, {} \
         classes",
        data.name,
        data.format,
        data.task,
        data.source,
        thousands(data.train.len()),
        thousands(data.validation.len()),
        thousands(data.test.len()),
        data.shape(),
        data.num_classes()
    );
    Ok(data)
}

/// The end of a run in one block: what was trained, the figures, where it was saved, and the
/// commands that come next; `kept` is false for a smoke test's temporary folder, which gets no
/// `saved` and `next` lines (it is removed).
fn print_outcome(trained: &Trained, config: &ValidConfig, kept: bool) -> Result<()> {
    let summary = &trained.summary;
    let dir = shell_word(&trained.artifacts.root().display().to_string());
    let command = program();
    say!();
    say!(
        "trained   {}, {} parameters, on {} ({}): {}, {} iteration{}",
        summary.model,
        thousands(summary.parameters),
        summary.dataset,
        config.task,
        plural(summary.epochs, "epoch"),
        thousands(summary.iterations),
        if summary.iterations == 1 { "" } else { "s" }
    );
    say!(
        "          {} with batches of {}{}; {:.2} s of training ({} images/s) on {} ({})",
        summary.optimizer,
        summary.batch_size,
        if summary.effective_batch_size > summary.batch_size {
            format!(
                " (effective batch {}, gradients accumulated)",
                summary.effective_batch_size
            )
        } else {
            String::new()
        },
        summary.train_seconds,
        thousands(summary.samples_per_second.round() as usize),
        summary.backend,
        summary.device
    );
    if let Some(limited) = &summary.limited {
        say!("          a quick run: {limited}");
    }
    if let Some(best) = summary.best_epoch {
        say!(
            "          kept the weights of epoch {best}, the best by validation {}",
            match config.monitor.metric {
                crate::Metric::Loss => "loss",
                crate::Metric::Accuracy => "accuracy",
            }
        );
    }
    if summary.interrupted {
        say!("          training was interrupted; continue it with --resume --artifacts {dir}");
    }
    if summary.stopped_early {
        say!(
            "          early stopping ended it after epoch {}: the validation {} had not \
             improved for {}",
            summary.epochs,
            match config.monitor.metric {
                crate::Metric::Loss => "loss",
                crate::Metric::Accuracy => "accuracy",
            },
            plural(
                config
                    .early_stopping
                    .as_ref()
                    .map_or(0, |early| early.patience),
                "epoch"
            )
        );
    }
    say!(
        "result    test accuracy {:.2} % (loss {:.4}), validation accuracy {:.2} %",
        100.0 * summary.test_accuracy,
        summary.test_loss,
        100.0 * summary.validation_accuracy
    );
    if !kept {
        say!("(a smoke test: its temporary folder is removed; give --artifacts to keep it)");
        return Ok(());
    }
    let files: Vec<String> = ["model.bpk", "model.json", "summary.json", "eval.json"]
        .into_iter()
        .chain([
            "curves.png",
            "confusion.png",
            "model.safetensors",
            "weights.png",
        ])
        .filter(|name| trained.artifacts.root().join(name).is_file())
        .map(str::to_string)
        .collect();
    say!("saved     {dir}: {}", files.join(", "));
    say!("next      {command} eval --artifacts {dir}");
    say!("          {command} predict --artifacts {dir} PICTURE.png");
    if !summary.interrupted {
        say!(
            "          {command} --resume --artifacts {dir} --epochs {}   (to train further)",
            config.epochs * 2
        );
    }
    Ok(())
}

/// The name the user ran this binary by (`trainer`, `mlp`).
fn program() -> String {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|path| path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "trainer".to_string())
}

/// `n` and `word`, plural when `n` is not 1: `1 epoch`, `3 epochs`.
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{} {word}s", thousands(n))
    }
}

/// `n` with thousands separators: 50,000.
pub fn thousands(n: usize) -> String {
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
pub fn shell_word(text: &str) -> String {
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

/// The backend and its first device, opened and checked: `requested`, else the preferred one.
pub fn pick_device(requested: Option<BackendKind>) -> Result<(BackendKind, Device)> {
    let (backend, mut devices) = BackendKind::choose(requested, 1)?;
    Ok((backend, devices.remove(0)))
}
