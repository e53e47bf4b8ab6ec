//! One training run: burn-train's `SupervisedTraining` with SGD and the model's loss, then the
//! test evaluation and the saved artifacts.
//!
//! [`train`] reads as its phases: [`prepare`] the run folder and resume point, [`build`] Burn's
//! training, [`launch`] it, and [`finish`]: evaluation, history, summary and pictures. What
//! touches the disk lives in [`crate::artifacts`], [`crate::manifest`] and
//! [`crate::checkpoints`].

use std::borrow::Cow;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use burn::prelude::*;
use burn::train::checkpoint::KeepLastNCheckpoints;
use burn::train::metric::store::{Aggregate, Direction, Split};
use burn::train::metric::{AccuracyMetric, CpuMemory, CpuUse, LearningRateMetric, LossMetric};
use burn::train::renderer::tui::TuiMetricsRendererWrapper;
use burn::train::{
    ExecutionStrategy, Interrupter, Learner, LearningResult, MetricEarlyStoppingStrategy,
    MultiDeviceOptim, StoppingCondition, SupervisedTraining,
};
use data::{EpochTimer, Mnist, MnistLoader};
use model::{LogisticRegression, LogisticRegressionConfig};

use crate::checkpoints::{ListedCheckpointer, check_checkpoints, load_checkpoint};
use crate::interrupt::CtrlC;
use crate::metric_log::{LogStatus, MetricFiles, final_values};
use crate::renderer::OutputStatus;
use crate::{
    ArtifactDir, BackendKind, Classifier, ConfigError, EvalReport, Evaluation, HistoryEntry,
    LearnerError, PlainRenderer, RunFolder, Summary, ValidConfig, evaluate, plots,
};

/// How training progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressMode {
    /// Burn's dashboard when stdout is a terminal, plain lines otherwise.
    #[default]
    Auto,
    /// Burn's terminal dashboard (needs a terminal).
    Dashboard,
    /// Plain lines ([`PlainRenderer`]).
    Plain,
    /// Nothing (benchmarks, library use).
    Quiet,
}

impl ProgressMode {
    /// Prints a line about the run's progress, unless quiet. A write error is ignored here: the
    /// progress lines report it, and the caller's own output will meet it too.
    pub(crate) fn announce(self, line: std::fmt::Arguments<'_>) {
        if self != ProgressMode::Quiet {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}").and_then(|()| out.flush());
        }
    }

    /// Whether this mode shows the dashboard here; an error for the dashboard without a
    /// terminal, which Burn's dashboard cannot draw on (its thread panics and training goes on
    /// unseen).
    pub fn dashboard(self) -> Result<bool, LearnerError> {
        let terminal = std::io::stdout().is_terminal();
        match self {
            ProgressMode::Auto => Ok(terminal),
            ProgressMode::Dashboard if terminal => Ok(true),
            ProgressMode::Dashboard => Err(LearnerError::NoTerminal),
            ProgressMode::Plain | ProgressMode::Quiet => Ok(false),
        }
    }
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
    /// Continue the run in `artifacts` (from its last complete checkpoint, or from the start
    /// when it stopped before its first) instead of starting afresh.
    pub resume: bool,
    /// Replace an earlier run found in `artifacts` (only what it wrote is removed).
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
    let run = prepare(config, data, options)?;
    let training = build(config, &run, options)?;
    let outcome = launch(training, &run, config)?;
    finish(config, run, options, outcome)
}

/// Everything a run needs that is settled before Burn starts.
struct Run<'a> {
    data: Cow<'a, Mnist>,
    folder: RunFolder,
    /// Complete epochs already trained (0 for a new run, or a resume before the first
    /// checkpoint).
    done: usize,
    devices: Vec<Device>,
    model_config: LogisticRegressionConfig,
}

/// Checks what can be checked before anything is written, then takes the artifacts folder: a
/// new run (refusing or replacing an earlier one) or the run to resume, whose config and
/// checkpoints are checked.
fn prepare<'a>(
    config: &ValidConfig,
    data: &'a Mnist,
    options: &TrainOptions,
) -> Result<Run<'a>, LearnerError> {
    options.progress.dashboard()?;
    if options.devices > 1 && config.iterations_per_epoch.is_some() {
        return Err(ConfigError::Invalid {
            field: "iterations_per_epoch",
            problem: "must be null (epochs that are passes over the data) to train on several \
                      devices"
                .to_string(),
        }
        .into());
    }
    // The data as the task sees it (relabelled for a pair or one-against-rest task).
    let data = if data.task == config.task {
        data.ensure_not_empty()?;
        Cow::Borrowed(data)
    } else {
        Cow::Owned(data.clone().with_task(config.task)?)
    };
    let model_config = LogisticRegressionConfig::new()
        .with_input_size(data.input_size())
        .with_num_classes(data.num_classes())
        .with_bias(config.model.bias)
        .with_head(config.model.head);
    model_config.validate()?;
    let devices = options.backend.devices(options.devices)?;
    let artifacts = ArtifactDir::new(&options.artifacts);
    let (folder, done) = if options.resume {
        let folder = artifacts.reopen_run()?;
        let done = resume_point(&folder, config)?;
        if done > 0 {
            // Burn panics on a checkpoint it cannot read; find a damaged one before it does.
            check_checkpoints(&folder, done, &model_config, &devices[0])?;
        }
        (folder, done)
    } else {
        (artifacts.start_run(options.overwrite)?, 0)
    };
    folder.save_config(config)?;
    Ok(Run {
        data,
        folder,
        done,
        devices,
        model_config,
    })
}

/// The epoch a resumed run continues after: its last complete checkpoint, or 0 when it stopped
/// before its first one (it then starts again from the beginning, with its saved config). A run
/// that has all its epochs is refused, unless it was stopped before its summary was written
/// (the resume then only finishes it). The config must not change what the checkpoints are
/// made of.
fn resume_point(folder: &RunFolder, config: &ValidConfig) -> Result<usize, LearnerError> {
    let last = folder.checkpoint_epochs().last().copied().unwrap_or(0);
    // Without a checkpoint there is nothing for a changed config to break.
    if let Some(recorded) = folder.recorded_config().filter(|_| last > 0) {
        let changes = crate::config::resume_changes(recorded, config);
        if !changes.is_empty() {
            return Err(LearnerError::ConfigChanged {
                path: folder.config_path(),
                changes: changes.join("; "),
            });
        }
    }
    if last > config.epochs || (last == config.epochs && folder.summary_path().is_file()) {
        return Err(LearnerError::Artifacts {
            path: folder.root().to_path_buf(),
            problem: format!(
                "already holds {last} trained epochs, and the config asks for {}; pass a larger \
                 --epochs to train further",
                config.epochs
            ),
        });
    }
    Ok(last)
}

/// Burn's training, ready to launch, and what the run watches while it goes.
struct Training {
    supervised: SupervisedTraining<Classifier>,
    learner: Learner<Classifier>,
    watch: Classifier,
    ctrl_c: Option<CtrlC>,
    logs: LogStatus,
    output: OutputStatus,
    timer: EpochTimer,
    iterations_per_epoch: usize,
}

/// Builds Burn's `SupervisedTraining`: model, loaders, metrics, the run's own metric logger
/// and checkpointers (which list their files in the manifest), early stopping, the strategy for
/// several devices, the progress display and the Ctrl-C handler.
fn build(
    config: &ValidConfig,
    run: &Run<'_>,
    options: &TrainOptions,
) -> Result<Training, LearnerError> {
    let device = &run.devices[0];
    let autodiff = device.clone().autodiff();
    let interrupter = Interrupter::new();
    let classifier = Classifier::new(seeded_init(&run.model_config, &autodiff, config.seed))
        .with_divergence_guard(interrupter.clone());
    // Shares the guard's record with the copies Burn trains.
    let watch = classifier.clone();

    let timer = EpochTimer::new();
    let mut train_loader = MnistLoader::new(run.data.train.clone(), config.batch_size, &autodiff)
        .shuffled(config.seed)
        .timed(timer.clone())
        .starting_at_epoch(run.done);
    if let Some(iterations) = config.iterations_per_epoch {
        train_loader = train_loader.with_batches_per_epoch(iterations);
    }
    let iterations_per_epoch = train_loader.batches_per_epoch();
    let valid_loader =
        MnistLoader::new(run.data.validation.clone(), config.eval_batch_size, device);

    let folder = &run.folder;
    // Burn's own metric logger panics (and may abort the process) when a write fails.
    let metric_files = MetricFiles::new(
        folder.manifest().clone(),
        folder.root(),
        interrupter.clone(),
    );
    let logs = metric_files.status();
    // Burn writes its log there when the training starts.
    folder
        .manifest()
        .claim(&folder.root().join("experiment.log"))?;
    let [model_files, optim_files, scheduler_files] = ListedCheckpointer::for_run(folder)?;
    let mut supervised = SupervisedTraining::new(
        folder.root(),
        Arc::new(train_loader),
        Arc::new(valid_loader),
    )
    .with_metric_logger(metric_files)
    .metrics((AccuracyMetric::new(), LossMetric::new()))
    .metric_train_numeric(LearningRateMetric::new())
    .with_checkpointing_strategy(KeepLastNCheckpoints::new(usize::MAX))
    .with_custom_checkpointers(model_files, optim_files, scheduler_files)
    .with_interrupter(interrupter.clone())
    .num_epochs(config.epochs);
    // Burn's end-of-run summary is not asked for: the caller prints one block of its own.
    let dashboard = options.progress.dashboard()?;
    if dashboard {
        // Plots for the dashboard; as plain lines they only repeat a machine-wide figure.
        supervised = supervised
            .metric_train_numeric(CpuUse::new())
            .metric_train_numeric(CpuMemory::new());
    }
    if let Some(early) = &config.early_stopping {
        supervised = supervised.early_stopping(MetricEarlyStoppingStrategy::new(
            &LossMetric::new(),
            Aggregate::Mean,
            Direction::Lowest,
            Split::Valid,
            StoppingCondition::NoImprovementSince {
                n_epochs: early.patience,
            },
        ));
    }
    if run.done > 0 {
        supervised = supervised.checkpoint(run.done);
    }
    if run.devices.len() > 1 {
        let devices = run
            .devices
            .iter()
            .map(|device| device.clone().autodiff())
            .collect();
        supervised = supervised.with_training_strategy(
            ExecutionStrategy::MultiDevice(devices, MultiDeviceOptim::OptimMainDevice).into(),
        );
    }
    // Ctrl-C and SIGTERM stop the run cleanly (Ctrl-C under the dashboard's raw mode too); not
    // in quiet mode, which is for library use, where the application owns its signals.
    let ctrl_c = (options.progress != ProgressMode::Quiet)
        .then(|| CtrlC::install(interrupter.clone(), dashboard))
        .flatten();
    let output = OutputStatus::default();
    supervised = if dashboard {
        let resumed = (run.done > 0).then_some(run.done);
        supervised.renderer(Box::new(TuiMetricsRendererWrapper::new(
            interrupter.clone(),
            resumed,
        )))
    } else if options.progress == ProgressMode::Quiet {
        supervised.renderer(Box::new(PlainRenderer::silent()))
    } else {
        supervised.renderer(Box::new(
            PlainRenderer::new(config.log_interval).reporting(output.clone(), interrupter.clone()),
        ))
    };
    let learner = Learner::new(
        classifier,
        config.sgd().init(),
        config.scheduler(iterations_per_epoch)?,
    );
    Ok(Training {
        supervised,
        learner,
        watch,
        ctrl_c,
        logs,
        output,
        timer,
        iterations_per_epoch,
    })
}

/// What the training loop left for [`finish`].
struct Outcome {
    model: LogisticRegression,
    interrupted: bool,
    ctrl_c: Option<CtrlC>,
    output: OutputStatus,
    timer: EpochTimer,
    iterations_per_epoch: usize,
}

/// Runs Burn's training loop, closes its display, waits for its metric logs, and turns what
/// stopped it into an error where it failed: a full disk, a write refused, divergence, a panic.
fn launch(
    training: Training,
    run: &Run<'_>,
    config: &ValidConfig,
) -> Result<Outcome, LearnerError> {
    let Training {
        supervised,
        learner,
        watch,
        ctrl_c,
        logs,
        output,
        timer,
        iterations_per_epoch,
    } = training;
    let folder = &run.folder;
    // Burn's checkpointers report write errors through the interrupter and the metric logs
    // through `logs`; a panic left in Burn's loop still becomes an error, not a wall of thread
    // panics.
    let result: LearningResult<Classifier> = crate::backend::quietly(|| supervised.launch(learner))
        .map_err(|message| {
            let message = if message.contains("ThreadPoolBuildError") {
                // Under a tight memory limit (`ulimit -v`) the threads' stacks do not fit.
                format!(
                    "Burn could not start its worker threads ({message}); the process is short \
                     of memory or of threads: free some, or raise its limits (ulimit -v, \
                     ulimit -u)"
                )
            } else {
                format!("Burn's training loop panicked: {message}")
            };
            on_full_disk(folder, LearnerError::Training(message))
        })?;
    // Dropping the renderer closes the dashboard and gives the terminal back.
    drop(result.renderer);
    // Burn closes the metric logs on a thread of its own, after `launch` returns: wait for them
    // (curves.png reads them). Ten seconds is far more than it takes; past them, carry on.
    let (_closed, log_failure) = logs.finish(Duration::from_secs(10));
    if let Some((path, failure)) = log_failure {
        return Err(on_full_disk(folder, failure.into_learner_error(path)));
    }
    if let Some(error) = result.error {
        let error = LearnerError::Training(error.to_string());
        return Err(on_full_disk(folder, error));
    }
    if let Some(divergence) = watch.divergence() {
        let iteration = run.done * iterations_per_epoch + divergence.iteration;
        return Err(LearnerError::Diverged {
            loss: divergence.loss,
            iteration,
            epoch: (iteration - 1) / iterations_per_epoch + 1,
            advice: crate::config::divergence_advice(config),
            kept: folder.checkpoint_epochs().last().copied(),
            artifacts: folder.root().to_path_buf(),
        });
    }
    let epochs_done = folder.checkpoint_epochs().last().copied().unwrap_or(0);
    // Burn's dashboard resets the interrupter when training ends, so `result.interrupted` misses
    // a stop from its quit menu: the watcher's record and a short run without early stopping
    // tell it too.
    let interrupted = result.interrupted.is_some()
        || ctrl_c.as_ref().is_some_and(CtrlC::saw_stop)
        || (config.early_stopping.is_none() && epochs_done < config.epochs);
    Ok(Outcome {
        model: result.model.model.valid(),
        interrupted,
        // Alive until the run is saved: a signal during the final writes stops them.
        ctrl_c: ctrl_c.map(CtrlC::after_training),
        output,
        timer,
        iterations_per_epoch,
    })
}

/// Evaluates the final model, rebuilds the history from the checkpoints, and writes the
/// results, `summary.json` last. A Ctrl-C or SIGTERM now stops before the next step and leaves
/// the run for `--resume` to finish.
fn finish(
    config: &ValidConfig,
    run: Run<'_>,
    options: &TrainOptions,
    outcome: Outcome,
) -> Result<TrainReport, LearnerError> {
    let Run {
        data,
        folder,
        done,
        devices,
        model_config,
    } = run;
    let device = &devices[0];
    let stop = || stopped(&outcome.ctrl_c, &folder);
    let epochs_done = folder.checkpoint_epochs().last().copied().unwrap_or(0);
    options.progress.announce(format_args!(
        "evaluating the checkpoints of {epochs_done} epochs on the validation and test sets ..."
    ));
    let stopped_early = !outcome.interrupted && epochs_done < config.epochs;
    let test = evaluate(&outcome.model, &data.test, config.eval_batch_size, device)?;
    let validation = evaluate(
        &outcome.model,
        &data.validation,
        config.eval_batch_size,
        device,
    )?;
    stop()?;
    let seconds_by_epoch = seconds_by_epoch(&outcome.timer, done);
    let history = history(
        &folder,
        &model_config,
        &data,
        config,
        outcome.iterations_per_epoch,
        device,
        &seconds_by_epoch,
        &stop,
    )?;
    let (train_seconds, samples_per_second) = speed(&outcome.timer, &seconds_by_epoch);
    let summary = Summary {
        dataset: data.kind.to_string(),
        backend: options.backend.to_string(),
        device: devices
            .iter()
            .map(|device| options.backend.describe(device))
            .collect::<Vec<_>>()
            .join(", "),
        epochs: epochs_done,
        iterations: epochs_done * outcome.iterations_per_epoch,
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
        samples_per_second,
        stopped_early,
        interrupted: outcome.interrupted,
        resumed_from_epoch: options.resume.then_some(done),
        data_source: data.source.to_string(),
        history,
    };
    let report = EvalReport::new(&test, &data.class_names());
    save_results(&folder, &outcome.model, &summary, &report, &data, &stop)
        .map_err(|err| on_full_disk(&folder, err))?;
    outcome.output.check(&folder, epochs_done)?;
    Ok(TrainReport {
        summary,
        model: outcome.model,
        test,
        artifacts: folder.dir().clone(),
    })
}

/// An error when a Ctrl-C or SIGTERM came after the training loop ended: the run's checkpoints
/// are complete, and `--resume` writes what is missing.
fn stopped(ctrl_c: &Option<CtrlC>, folder: &RunFolder) -> Result<(), LearnerError> {
    if ctrl_c.as_ref().is_some_and(CtrlC::signalled_after_training) {
        return Err(LearnerError::StoppedWhileSaving {
            artifacts: folder.root().to_path_buf(),
        });
    }
    Ok(())
}

/// The running total of training seconds after each epoch this process trained, by epoch
/// number (the first is `done + 1`).
fn seconds_by_epoch(timer: &EpochTimer, done: usize) -> Vec<(usize, f64)> {
    let mut elapsed = 0.0;
    timer
        .epochs()
        .iter()
        .enumerate()
        .map(|(index, (duration, _))| {
            elapsed += duration.as_secs_f64();
            (done + index + 1, elapsed)
        })
        .collect()
}

/// Training seconds of this process (0 when it trained no epoch: a resume that only finishes
/// the artifacts) and training images per second.
fn speed(timer: &EpochTimer, seconds_by_epoch: &[(usize, f64)]) -> (f64, f64) {
    let seconds = seconds_by_epoch.last().map_or(0.0, |(_, seconds)| *seconds);
    let samples: usize = timer.epochs().iter().map(|(_, items)| items).sum();
    let per_second = if seconds > 0.0 {
        samples as f64 / seconds
    } else {
        0.0
    };
    (seconds, per_second)
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
    folder: &RunFolder,
    model: &LogisticRegression,
    summary: &Summary,
    report: &EvalReport,
    data: &Mnist,
    stop: &dyn Fn() -> Result<(), LearnerError>,
) -> Result<(), LearnerError> {
    folder.save_model(model)?;
    folder.save_report(report)?;
    stop()?;
    let safetensors = model
        .to_pytorch_safetensors()
        .map_err(|err| LearnerError::Write {
            path: folder.safetensors_path(),
            source: std::io::Error::other(err.reason),
        })?;
    folder.write(&folder.safetensors_path(), &safetensors)?;
    let curves = curves(folder.dir(), summary);
    folder.write(
        &folder.picture_path("curves.png"),
        &plots::curves_png(&curves)?,
    )?;
    let weights = plots::weights_png(
        model,
        data.train.rows(),
        data.train.cols(),
        &report.class_names,
    )?;
    folder.write(&folder.picture_path("weights.png"), &weights)?;
    stop()?;
    folder.save_summary(summary)
}

/// The run's curves: training and validation from the metric logs, test from the history.
fn curves(artifacts: &ArtifactDir, summary: &Summary) -> plots::Curves {
    let epochs = summary.epochs.max(1);
    let logged = |split, metric| final_values(artifacts.root(), split, metric, epochs);
    let history = |value: fn(&HistoryEntry) -> f64| {
        summary
            .history
            .iter()
            .map(|entry| (entry.epoch as f64, value(entry)))
            .collect()
    };
    plots::Curves {
        epochs,
        train_loss: logged(Split::Train, "Loss"),
        valid_loss: logged(Split::Valid, "Loss"),
        test_loss: history(|entry| entry.test_loss),
        train_accuracy: logged(Split::Train, "Accuracy"),
        valid_accuracy: logged(Split::Valid, "Accuracy"),
        test_accuracy: history(|entry| 100.0 * entry.test_accuracy),
    }
}

/// `err`, or the full-disk error with its advice when a full disk caused it.
fn on_full_disk(folder: &RunFolder, err: LearnerError) -> LearnerError {
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
    if !full {
        return err;
    }
    let next = match folder.checkpoint_epochs().last() {
        Some(epoch) => format!(
            "free some space, then run again with --resume, which continues from the \
             checkpoint of epoch {epoch}"
        ),
        None => "no epoch completed: free some space, then run again with --resume (which \
                 starts it again) or --overwrite, or choose another --artifacts folder"
            .to_string(),
    };
    LearnerError::Artifacts {
        path: folder.root().to_path_buf(),
        problem: format!("the disk is full ({cause}); {next}"),
    }
}

/// Validation and test figures of every epoch's checkpoint, with the training seconds this
/// process had spent by the end of the epochs it ran; `stop` is asked between checkpoints.
#[allow(clippy::too_many_arguments)]
fn history(
    folder: &RunFolder,
    model_config: &LogisticRegressionConfig,
    data: &Mnist,
    config: &ValidConfig,
    iterations_per_epoch: usize,
    device: &Device,
    seconds_by_epoch: &[(usize, f64)],
    stop: &dyn Fn() -> Result<(), LearnerError>,
) -> Result<Vec<HistoryEntry>, LearnerError> {
    folder
        .checkpoint_epochs()
        .into_iter()
        .map(|epoch| {
            stop()?;
            let checkpoint = load_checkpoint(folder, epoch, model_config, device)?;
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
