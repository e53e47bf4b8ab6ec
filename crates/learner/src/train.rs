//! One training run: burn-train's `SupervisedTraining` with SGD and cross-entropy, then test
//! evaluation and the saved artifacts.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use burn::lr_scheduler::LrSchedulerRecord;
use burn::optim::OptimizerRecord;
use burn::prelude::*;
use burn::train::checkpoint::KeepLastNCheckpoints;
use burn::train::metric::store::{Aggregate, Direction, Split};
use burn::train::metric::{AccuracyMetric, CpuMemory, CpuUse, LearningRateMetric, LossMetric};
use burn::train::renderer::tui::TuiMetricsRendererWrapper;
use burn::train::{
    ExecutionStrategy, Interrupter, Learner, MetricEarlyStoppingStrategy, MultiDeviceOptim,
    StoppingCondition, SupervisedTraining,
};
use data::{EpochTimer, Mnist, MnistLoader};
use model::{LogisticRegression, LogisticRegressionConfig};

use crate::interrupt::CtrlC;
use crate::metric_log::MetricFiles;
use crate::{
    ArtifactDir, BackendKind, Classifier, ConfigError, EvalReport, Evaluation, HistoryEntry,
    LearnerError, PlainRenderer, Summary, ValidConfig, evaluate, plots, write_atomic,
};

/// How training progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressMode {
    /// Burn's dashboard when stdout is a terminal, plain lines otherwise.
    #[default]
    Auto,
    /// Burn's terminal dashboard.
    Dashboard,
    /// Plain lines ([`PlainRenderer`]).
    Plain,
    /// Nothing (benchmarks, library use).
    Quiet,
}

/// Settings of a run that are not hyperparameters.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The artifacts folder.
    pub artifacts: PathBuf,
    /// The backend to train on.
    pub backend: BackendKind,
    /// Devices to train on: 1, or more for Burn's multi-device data-parallel strategy (each
    /// device computes the gradients of its share of every step; the main device, the first,
    /// applies them and runs validation).
    pub devices: usize,
    /// Continue from the last complete checkpoint in `artifacts` instead of starting afresh.
    pub resume: bool,
    /// Replace an earlier run found in `artifacts`.
    pub overwrite: bool,
    /// How progress is shown.
    pub progress: ProgressMode,
}

/// What a finished run produced (also saved in its artifacts folder).
#[derive(Debug)]
pub struct TrainReport {
    /// The figures saved as `summary.json`.
    pub summary: Summary,
    /// The trained model (saved as `model.bpk`).
    pub model: LogisticRegression,
    /// The final model's evaluation on the test set.
    pub test: Evaluation,
    /// Where everything was saved.
    pub artifacts: ArtifactDir,
}

/// Trains a logistic-regression model on `data` as `config` says, evaluates it on the test
/// set and writes the artifacts folder.
///
/// The validation set is evaluated after every epoch (Burn's Learner) and drives early
/// stopping; the test set is only evaluated after training, for the report, including the
/// per-epoch history rebuilt from the checkpoints.
pub fn train(
    config: &ValidConfig,
    data: &Mnist,
    options: &TrainOptions,
) -> Result<TrainReport, LearnerError> {
    // The data as the task sees it (relabelled for a pair or one-against-rest task).
    let relabelled;
    let data = if data.task == config.task {
        data
    } else {
        relabelled = data.clone().with_task(config.task)?;
        &relabelled
    };
    let artifacts = ArtifactDir::new(&options.artifacts);
    let resume_from = if options.resume {
        Some(resume_point(&artifacts, config)?)
    } else {
        artifacts.prepare_new_run(options.overwrite)?;
        None
    };
    artifacts.save_config(config)?;

    if options.devices > 1 && config.iterations_per_epoch.is_some() {
        return Err(ConfigError::Invalid {
            field: "iterations_per_epoch",
            problem: "must be null (epochs that are passes over the data) to train on several \
                      devices"
                .to_string(),
        }
        .into());
    }
    let devices = options.backend.devices(options.devices)?;
    let device = devices[0].clone();
    let autodiff = device.clone().autodiff();
    let model_config = LogisticRegressionConfig::new()
        .with_input_size(data.input_size())
        .with_num_classes(data.num_classes())
        .with_bias(config.model.bias)
        .with_head(config.model.head);
    model_config.validate()?;
    if let Some(epoch) = resume_from {
        // Burn panics on a checkpoint it cannot read; find a damaged one before it does.
        check_checkpoints(&artifacts, epoch, &model_config, &device)?;
    }
    let interrupter = Interrupter::new();
    let classifier = Classifier::new(seeded_init(&model_config, &autodiff, config.seed))
        .with_divergence_guard(interrupter.clone());
    // Shares the guard's record with the copies Burn trains.
    let watch = classifier.clone();

    let timer = EpochTimer::new();
    let mut train_loader = MnistLoader::new(data.train.clone(), config.batch_size, &autodiff)
        .shuffled(config.seed)
        .timed(timer.clone());
    if let Some(iterations) = config.iterations_per_epoch {
        train_loader = train_loader.with_batches_per_epoch(iterations);
    }
    if let Some(done) = resume_from {
        train_loader = train_loader.starting_at_epoch(done);
    }
    let iterations_per_epoch = train_loader.batches_per_epoch();
    let valid_loader = MnistLoader::new(data.validation.clone(), config.eval_batch_size, &device);

    // Burn's own metric logger panics (and may abort the process) when a write fails.
    let metric_files = MetricFiles::new(artifacts.root(), interrupter.clone());
    let log_status = metric_files.status();
    let mut training = SupervisedTraining::new(
        artifacts.root(),
        Arc::new(train_loader),
        Arc::new(valid_loader),
    )
    .with_metric_logger(metric_files)
    .metrics((AccuracyMetric::new(), LossMetric::new()))
    .metric_train_numeric(LearningRateMetric::new())
    .metric_train_numeric(CpuUse::new())
    .metric_train_numeric(CpuMemory::new())
    .with_checkpointing_strategy(KeepLastNCheckpoints::new(usize::MAX))
    .with_default_checkpointers()
    .with_interrupter(interrupter.clone())
    .num_epochs(config.epochs)
    .summary();
    if let Some(early) = &config.early_stopping {
        training = training.early_stopping(MetricEarlyStoppingStrategy::new(
            &LossMetric::new(),
            Aggregate::Mean,
            Direction::Lowest,
            Split::Valid,
            StoppingCondition::NoImprovementSince {
                n_epochs: early.patience,
            },
        ));
    }
    if let Some(done) = resume_from {
        training = training.checkpoint(done);
    }
    if devices.len() > 1 {
        let devices = devices
            .iter()
            .map(|device| device.clone().autodiff())
            .collect();
        training = training.with_training_strategy(
            ExecutionStrategy::MultiDevice(devices, MultiDeviceOptim::OptimMainDevice).into(),
        );
    }
    let dashboard = match options.progress {
        ProgressMode::Auto => std::io::stdout().is_terminal(),
        ProgressMode::Dashboard => true,
        ProgressMode::Plain | ProgressMode::Quiet => false,
    };
    // Ctrl-C and SIGTERM stop the run cleanly (Ctrl-C under the dashboard's raw mode too); not
    // in quiet mode, which is for library use, where the application owns its signals.
    let ctrl_c = (options.progress != ProgressMode::Quiet)
        .then(|| CtrlC::install(interrupter.clone(), dashboard))
        .flatten();
    training = if dashboard {
        training.renderer(Box::new(TuiMetricsRendererWrapper::new(
            interrupter,
            resume_from,
        )))
    } else if options.progress == ProgressMode::Quiet {
        training.renderer(Box::new(PlainRenderer::silent()))
    } else {
        training.renderer(Box::new(PlainRenderer::new(config.log_interval)))
    };

    let learner = Learner::new(
        classifier,
        config.sgd().init(),
        config.scheduler(iterations_per_epoch)?,
    );
    // Burn's checkpointers report write errors through the interrupter and the metric logs
    // through `log_status`; a panic left in Burn's loop still becomes an error, not a wall of
    // thread panics.
    let result = crate::backend::quietly(|| training.launch(learner)).map_err(|message| {
        let message = format!("Burn's training loop panicked: {message}");
        on_full_disk(&artifacts, LearnerError::Training(message))
    })?;
    // Dropping the renderer closes the dashboard and gives the terminal back.
    drop(result.renderer);
    // Burn closes the metric logs on a thread of its own, after `launch` returns: wait for them
    // (curves.png reads them). Ten seconds is far more than it takes; past them, carry on.
    let (_closed, log_failure) = log_status.finish(Duration::from_secs(10));
    if let Some((path, source)) = log_failure {
        return Err(on_full_disk(
            &artifacts,
            LearnerError::Write { path, source },
        ));
    }
    if let Some(error) = result.error {
        let error = LearnerError::Training(error.to_string());
        return Err(on_full_disk(&artifacts, error));
    }
    if let Some(divergence) = watch.divergence() {
        let done_before = resume_from.unwrap_or(0);
        let iteration = done_before * iterations_per_epoch + divergence.iteration;
        return Err(LearnerError::Diverged {
            loss: divergence.loss,
            iteration,
            epoch: (iteration - 1) / iterations_per_epoch + 1,
            learning_rate: config.optimizer.learning_rate,
            kept: artifacts.checkpoint_epochs().last().copied(),
            artifacts: artifacts.root().to_path_buf(),
        });
    }
    let model = result.model.model.valid();
    let checkpoints = artifacts.checkpoint_epochs();
    let epochs_done = checkpoints.last().copied().unwrap_or(0);
    // Burn's dashboard resets the interrupter when training ends, so `result.interrupted` misses
    // a stop from its quit menu: the watcher's record and a short run without early stopping
    // tell it too.
    let interrupted = result.interrupted.is_some()
        || ctrl_c.as_ref().is_some_and(CtrlC::saw_stop)
        || (config.early_stopping.is_none() && epochs_done < config.epochs);
    drop(ctrl_c);
    let stopped_early = !interrupted && epochs_done < config.epochs;

    let test = evaluate(&model, &data.test, config.eval_batch_size, &device)?;
    let validation = evaluate(&model, &data.validation, config.eval_batch_size, &device)?;
    let timed = timer.epochs();
    let mut elapsed = 0.0;
    let seconds_by_epoch: Vec<(usize, f64)> = timed
        .iter()
        .enumerate()
        .map(|(done, (duration, _))| {
            elapsed += duration.as_secs_f64();
            (resume_from.unwrap_or(0) + done + 1, elapsed)
        })
        .collect();
    let history = history(
        &artifacts,
        &model_config,
        data,
        config,
        iterations_per_epoch,
        &device,
        &seconds_by_epoch,
    )?;

    // The running total after the last epoch this process trained; 0 when it trained none (a
    // resume that only finishes the artifacts).
    let train_seconds = seconds_by_epoch.last().map_or(0.0, |(_, seconds)| *seconds);
    let samples: usize = timed.iter().map(|(_, items)| items).sum();
    let summary = Summary {
        dataset: data.kind.to_string(),
        backend: options.backend.to_string(),
        device: devices
            .iter()
            .map(|device| options.backend.describe(device))
            .collect::<Vec<_>>()
            .join(", "),
        epochs: epochs_done,
        iterations: epochs_done * iterations_per_epoch,
        batch_size: config.batch_size,
        learning_rate: config.optimizer.learning_rate,
        train_size: data.train.len(),
        validation_size: data.validation.len(),
        test_size: data.test.len(),
        validation_accuracy: validation.accuracy,
        validation_loss: validation.loss,
        test_accuracy: test.accuracy,
        test_loss: test.loss,
        train_seconds,
        samples_per_second: if train_seconds > 0.0 {
            samples as f64 / train_seconds
        } else {
            0.0
        },
        stopped_early,
        interrupted,
        resumed_from_epoch: resume_from,
        data_source: data.source.to_string(),
        history,
    };
    let report = EvalReport::new(&test, &data.class_names());
    save_results(&artifacts, &model, &summary, &report, data)
        .map_err(|err| on_full_disk(&artifacts, err))?;
    Ok(TrainReport {
        summary,
        model,
        test,
        artifacts,
    })
}

/// Initialises the model from `seed`. The backend's random generator is global to the process,
/// so seeding and drawing happen under one lock: two runs in one process (tests, notebooks)
/// cannot interleave and each gets the weights its seed gives.
fn seeded_init(
    config: &LogisticRegressionConfig,
    device: &Device,
    seed: u64,
) -> LogisticRegression {
    static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    device.seed(seed);
    config.init(device)
}

/// Writes what a finished run leaves besides its checkpoints, `summary.json` last: a run
/// without it is unfinished, and `--resume` finishes it.
fn save_results(
    artifacts: &ArtifactDir,
    model: &LogisticRegression,
    summary: &Summary,
    report: &EvalReport,
    data: &Mnist,
) -> Result<(), LearnerError> {
    artifacts.save_model(model)?;
    artifacts.save_report(report)?;
    // Through the artifacts' own atomic writer, which keeps the io error (a full disk) as it is.
    let safetensors = model
        .to_pytorch_safetensors()
        .map_err(|err| LearnerError::Write {
            path: artifacts.safetensors_path(),
            source: std::io::Error::other(err.reason),
        })?;
    write_atomic(&artifacts.safetensors_path(), &safetensors)?;
    plots::save_curves(artifacts, summary, &artifacts.picture_path("curves.png"))?;
    plots::save_weights(
        model,
        data.train.rows(),
        data.train.cols(),
        &report.class_names,
        &artifacts.picture_path("weights.png"),
    )?;
    artifacts.save_summary(summary)
}

/// `err`, or the full-disk error with its advice when a full disk caused it.
fn on_full_disk(artifacts: &ArtifactDir, err: LearnerError) -> LearnerError {
    let mut cause = String::new();
    let mut full = false;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(error) = source {
        full |= error
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::StorageFull)
            || error.to_string().contains("No space left");
        if !cause.is_empty() {
            cause.push_str(": ");
        }
        cause.push_str(&error.to_string());
        source = error.source();
    }
    if full {
        disk_full(artifacts, cause)
    } else {
        err
    }
}

fn disk_full(artifacts: &ArtifactDir, cause: String) -> LearnerError {
    let next = match artifacts.checkpoint_epochs().last() {
        Some(epoch) => format!(
            "free some space, then run again with --resume, which continues from the \
             checkpoint of epoch {epoch}"
        ),
        None => "no epoch completed: free some space, then run again with --overwrite, or \
                 choose another --artifacts folder"
            .to_string(),
    };
    LearnerError::Artifacts {
        path: artifacts.root().to_path_buf(),
        problem: format!("the disk is full ({cause}); {next}"),
    }
}

/// The checkpoint epoch to resume from: the last complete one, which must come before the
/// configured last epoch (or be it, for a run killed before its summary was written).
fn resume_point(artifacts: &ArtifactDir, config: &ValidConfig) -> Result<usize, LearnerError> {
    artifacts.ensure_writable()?;
    let last = artifacts
        .checkpoint_epochs()
        .last()
        .copied()
        .ok_or_else(|| LearnerError::Artifacts {
            path: artifacts.checkpoint_dir(),
            problem:
                "holds no complete checkpoint to resume from; start a new run without --resume"
                    .to_string(),
        })?;
    // A run killed after its last epoch but before its summary was written is finished by a
    // resume (no epoch to train, the artifacts to write); a finished run is not.
    if last > config.epochs || (last == config.epochs && artifacts.summary_path().is_file()) {
        return Err(LearnerError::Artifacts {
            path: artifacts.root().to_path_buf(),
            problem: format!(
                "already holds {last} trained epochs, and the config asks for {}; pass a larger \
                 --epochs to train further",
                config.epochs
            ),
        });
    }
    Ok(last)
}

/// The model of `epoch`'s checkpoint.
fn load_checkpoint(
    artifacts: &ArtifactDir,
    epoch: usize,
    model_config: &LogisticRegressionConfig,
    device: &Device,
) -> Result<Classifier, LearnerError> {
    let path = artifacts.checkpoint_model_path(epoch);
    Classifier::new(model_config.init(device))
        .try_load_file(&path)
        .map_err(|err| damaged_checkpoint(artifacts, epoch, path, err))
}

/// Reads every checkpoint's model and the optimizer and scheduler `resume_from` continues with,
/// so that a damaged file is an error naming it before training starts, not a panic in Burn's
/// loop or a failure after it.
fn check_checkpoints(
    artifacts: &ArtifactDir,
    resume_from: usize,
    model_config: &LogisticRegressionConfig,
    device: &Device,
) -> Result<(), LearnerError> {
    for epoch in artifacts.checkpoint_epochs() {
        load_checkpoint(artifacts, epoch, model_config, device)?;
    }
    let optimizer = artifacts.checkpoint_path("optim", resume_from);
    OptimizerRecord::load(&optimizer)
        .map_err(|err| damaged_checkpoint(artifacts, resume_from, optimizer, err))?;
    let scheduler = artifacts.checkpoint_path("scheduler", resume_from);
    LrSchedulerRecord::load(&scheduler)
        .map_err(|err| damaged_checkpoint(artifacts, resume_from, scheduler, err))?;
    Ok(())
}

fn damaged_checkpoint(
    artifacts: &ArtifactDir,
    epoch: usize,
    path: PathBuf,
    err: impl std::fmt::Display,
) -> LearnerError {
    LearnerError::ReadArtifact {
        path,
        problem: format!(
            "the checkpoint of epoch {epoch} is damaged ({err}); delete its three files \
             (model-{epoch}.bpk, optim-{epoch}.bpk and scheduler-{epoch}.bpk in {}), then run \
             again with --resume, which continues from the last complete checkpoint left, or \
             with --overwrite to start afresh",
            artifacts.checkpoint_dir().display()
        ),
    }
}

/// Validation and test figures of every epoch's checkpoint, with the training seconds this
/// process had spent by the end of the epochs it ran.
fn history(
    artifacts: &ArtifactDir,
    model_config: &LogisticRegressionConfig,
    data: &Mnist,
    config: &ValidConfig,
    iterations_per_epoch: usize,
    device: &Device,
    seconds_by_epoch: &[(usize, f64)],
) -> Result<Vec<HistoryEntry>, LearnerError> {
    artifacts
        .checkpoint_epochs()
        .into_iter()
        .map(|epoch| {
            let checkpoint = load_checkpoint(artifacts, epoch, model_config, device)?;
            let validation = evaluate(
                &checkpoint.model,
                &data.validation,
                config.eval_batch_size,
                device,
            )?;
            let test = evaluate(
                &checkpoint.model,
                &data.test,
                config.eval_batch_size,
                device,
            )?;
            Ok(HistoryEntry {
                epoch,
                iteration: epoch * iterations_per_epoch,
                validation_accuracy: validation.accuracy,
                validation_loss: validation.loss,
                test_accuracy: test.accuracy,
                test_loss: test.loss,
                train_seconds: seconds_by_epoch
                    .iter()
                    .find(|(done, _)| *done == epoch)
                    .map(|(_, seconds)| *seconds),
            })
        })
        .collect()
}
