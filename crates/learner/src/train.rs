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
use model::LogisticRegression;

use crate::checkpoints::{
    HistorySource, Init, ListedCheckpointer, check_checkpoints, history, resume_point,
};
use crate::events::EventLog;
use crate::interrupt::CtrlC;
use crate::metric_log::{LogStatus, MetricFiles, final_values};
use crate::renderer::OutputStatus;
use crate::{
    ArtifactDir, BackendKind, Classifier, ConfigError, EvalReport, Evaluation, HistoryEntry,
    ImageClassifier, LearnerError, PlainRenderer, RunContext, RunFolder, Summary, ValidConfig,
    evaluate, plots,
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
///
/// ```
/// use learner::{ProgressMode, TrainOptions};
///
/// let options = TrainOptions::new("artifacts/mlp") // the preferred backend, auto progress
///     .with_progress(ProgressMode::Plain)
///     .with_resume(true);
/// assert_eq!(options.devices, 1);
/// ```
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The artifacts folder.
    pub artifacts: PathBuf,
    /// The backend to train on; `None`: [`BackendKind::preferred`].
    pub backend: Option<BackendKind>,
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

impl TrainOptions {
    /// A fresh run in `artifacts` on one device of the preferred backend, with progress shown
    /// as [`ProgressMode::Auto`] says.
    pub fn new(artifacts: impl Into<PathBuf>) -> Self {
        Self {
            artifacts: artifacts.into(),
            backend: None,
            devices: 1,
            resume: false,
            overwrite: false,
            progress: ProgressMode::Auto,
        }
    }

    /// Trains on `backend` (`None`: the preferred one).
    pub fn with_backend(mut self, backend: Option<BackendKind>) -> Self {
        self.backend = backend;
        self
    }

    /// Trains on `devices` devices of the backend.
    pub fn with_devices(mut self, devices: usize) -> Self {
        self.devices = devices;
        self
    }

    /// Continues the run in the artifacts folder.
    pub fn with_resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Replaces an earlier run in the artifacts folder.
    pub fn with_overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// Shows progress as `progress` says.
    pub fn with_progress(mut self, progress: ProgressMode) -> Self {
        self.progress = progress;
        self
    }
}

/// What a finished run produced (also saved in its artifacts folder).
#[derive(Debug)]
pub struct TrainReport<M = LogisticRegression> {
    /// The figures saved as `summary.json`.
    pub summary: Summary,
    /// The trained model (saved as `model.bpk`).
    pub model: M,
    /// The final model's evaluation on the test set.
    pub test: Evaluation,
    /// Where everything was saved.
    pub artifacts: ArtifactDir,
}

/// Trains the logistic regression `config` describes on `data`, evaluates it on the test set
/// and writes the artifacts folder: [`train_model`] with the model crate's
/// [`LogisticRegression`].
pub fn train(
    config: &ValidConfig,
    data: &Mnist,
    options: &TrainOptions,
) -> Result<TrainReport, LearnerError> {
    let model = config.model_config(data.input_size(), config.task.num_classes(data.kind))?;
    train_model(|device| model.init(device), config, data, options)
}

/// Trains any [`ImageClassifier`], built on a device by `init`, on `data` as `config` says;
/// evaluates it on the test set and writes the artifacts folder.
///
/// Everything the trainer does for its own model comes with it: SGD with the config's
/// schedule, metrics, the dashboard or plain lines, a checkpoint every epoch,
/// [`TrainOptions::resume`], early stopping, the divergence stop, Ctrl-C and SIGTERM, full-disk
/// errors, `summary.json`, `eval.json`, `curves.png`, `confusion.png`, `model.bpk` and the
/// model's [extra artifacts](ImageClassifier::extra_artifacts). The config's `model` block
/// describes the logistic regression and is not used here.
///
/// `init` is called on the training device (seeded from `config.seed` first), and again to
/// load checkpoints into. The validation set is evaluated after every epoch (Burn's Learner)
/// and drives early stopping; the test set only after training, for the report, including the
/// per-epoch history rebuilt from the checkpoints.
///
/// ```no_run
/// use burn::nn::{Linear, LinearConfig, Relu};
/// use burn::prelude::*;
/// use learner::{ImageClassifier, TrainOptions, TrainingConfig};
///
/// #[derive(Module, Debug)]
/// struct Mlp { hidden: Linear, out: Linear, act: Relu }
///
/// impl ImageClassifier for Mlp {
///     // images: [batch, input_size] floats in [0, 1]; returns one logit per class
///     fn logits(&self, images: Tensor<2>) -> Tensor<2> {
///         self.out.forward(self.act.forward(self.hidden.forward(images)))
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let json = "{}";
/// # let mnist_dir = std::path::PathBuf::from("../shared/datasets/mnist");
/// let config = TrainingConfig::from_json(&json)?.validate()?;
/// let data = data::Mnist::load(config.dataset, Some(&mnist_dir), config.validation)?;
/// let options = TrainOptions::new("artifacts/mlp"); // defaults: preferred backend, auto progress, fresh run
/// let report = learner::train_model(
///     |device: &Device| Mlp { hidden: LinearConfig::new(784, 128).init(device),
///                             out: LinearConfig::new(128, 10).init(device), act: Relu::new() },
///     &config, &data, &options)?;
/// // report.summary (the summary.json figures), report.model (the trained Mlp), report.test
/// println!("{:.2} %", 100.0 * report.summary.test_accuracy);
/// # Ok(())
/// # }
/// ```
pub fn train_model<M, F>(
    init: F,
    config: &ValidConfig,
    data: &Mnist,
    options: &TrainOptions,
) -> Result<TrainReport<M>, LearnerError>
where
    M: ImageClassifier,
    F: Fn(&Device) -> M,
{
    let init: Init<'_, M> = &init;
    let run = prepare(init, config, data, options)?;
    let training = build(init, config, &run, options)?;
    let outcome = launch(training, &run, config)?;
    finish(init, config, run, options, outcome)
}

/// Everything a run needs that is settled before Burn starts.
struct Run<'a> {
    data: Cow<'a, Mnist>,
    folder: RunFolder,
    /// Complete epochs already trained (0 for a new run, or a resume before the first
    /// checkpoint).
    done: usize,
    /// Whether this is a resumed run.
    resumed: bool,
    backend: BackendKind,
    devices: Vec<Device>,
}

/// Checks what can be checked before anything is written (the config against the devices,
/// the data, the model against the data), then takes the artifacts folder: a new run
/// (refusing or replacing an earlier one) or the run to resume, whose config and checkpoints
/// are checked.
fn prepare<'a, M: ImageClassifier>(
    init: Init<'_, M>,
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
    let (backend, devices) = BackendKind::choose(options.backend, options.devices)?;
    check_model(init, &data, &devices[0])?;
    let artifacts = ArtifactDir::new(&options.artifacts);
    let (folder, done) = if options.resume {
        let folder = artifacts.reopen_run()?;
        let done = resume_point(&folder, config)?;
        if done > 0 {
            // Burn panics on a checkpoint it cannot read; find a damaged one before it does.
            check_checkpoints(&folder, done, init, &devices[0])?;
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
        resumed: options.resume,
        backend,
        devices,
    })
}

/// The model must take the data's images and give one score per class: checked on one blank
/// image, so that a mismatch is an error naming both sizes, not a panic inside Burn's loop.
fn check_model<M: ImageClassifier>(
    init: Init<'_, M>,
    data: &Mnist,
    device: &Device,
) -> Result<(), LearnerError> {
    let (inputs, classes) = (data.input_size(), data.num_classes());
    let scores = crate::backend::quietly(|| {
        let model = init(device);
        model
            .scores(model.logits(Tensor::zeros([1, inputs], device)))
            .dims()
    })
    .map_err(|message| {
        LearnerError::Model(format!(
            "it cannot classify the data's images of {inputs} pixels ([batch, {inputs}] \
             floats): {message}"
        ))
    })?;
    if scores != [1, classes] {
        return Err(LearnerError::Model(format!(
            "it gives scores of shape {scores:?} for one image, and the task has {classes} \
             classes: its last layer must have {classes} outputs"
        )));
    }
    Ok(())
}

/// Burn's training, ready to launch, and what the run watches while it goes.
struct Training<M: ImageClassifier> {
    supervised: SupervisedTraining<Classifier<M>>,
    learner: Learner<Classifier<M>>,
    watch: Classifier<M>,
    ctrl_c: Option<CtrlC>,
    logs: LogStatus,
    events: EventLog,
    output: OutputStatus,
    timer: EpochTimer,
    iterations_per_epoch: usize,
}

/// Builds Burn's `SupervisedTraining` in three steps: the loaders; the metrics, logs and
/// checkpoints; the progress display and Ctrl-C handler. Then the learner: the seeded model,
/// SGD and the schedule.
fn build<M: ImageClassifier>(
    init: Init<'_, M>,
    config: &ValidConfig,
    run: &Run<'_>,
    options: &TrainOptions,
) -> Result<Training<M>, LearnerError> {
    let interrupter = Interrupter::new();
    let autodiff = run.devices[0].clone().autodiff();
    let classifier = Classifier::new(seeded_init(init, &autodiff, config.seed))
        .with_divergence_guard(interrupter.clone());
    // Shares the guard's record with the copies Burn trains.
    let watch = classifier.clone();

    let loaders = loaders(config, run);
    let iterations_per_epoch = loaders.iterations_per_epoch;
    let timer = loaders.timer.clone();
    let events = EventLog::create(
        &run.folder,
        config,
        (&classifier.model.describe(), run.backend.name()),
        run.resumed
            .then_some((run.done * iterations_per_epoch + 1) as i64),
    )?;
    let (supervised, logs) = recorded(config, run, loaders, &events, &interrupter)?;
    let Displayed {
        supervised,
        ctrl_c,
        output,
    } = displayed(supervised, config, run, options, &interrupter)?;
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
        events,
        output,
        timer,
        iterations_per_epoch,
    })
}

/// The run's data loaders: shuffled training batches from where a resume continues, timed
/// per epoch; validation in evaluation-sized batches.
struct Loaders {
    train: MnistLoader,
    valid: MnistLoader,
    timer: EpochTimer,
    iterations_per_epoch: usize,
}

fn loaders(config: &ValidConfig, run: &Run<'_>) -> Loaders {
    let device = &run.devices[0];
    let timer = EpochTimer::new();
    let mut train = MnistLoader::new(
        run.data.train.clone(),
        config.batch_size,
        &device.clone().autodiff(),
    )
    .shuffled(config.seed)
    .timed(timer.clone())
    .starting_at_epoch(run.done);
    if let Some(iterations) = config.iterations_per_epoch {
        train = train.with_batches_per_epoch(iterations);
    }
    let iterations_per_epoch = train.batches_per_epoch();
    let valid = MnistLoader::new(run.data.validation.clone(), config.eval_batch_size, device);
    Loaders {
        train,
        valid,
        timer,
        iterations_per_epoch,
    }
}

/// Burn's `SupervisedTraining` with the metrics, the run's own metric logger (which also feeds
/// the event file) and checkpointers (which list their files in the manifest), early stopping,
/// where a resume starts, and the strategy for several devices.
fn recorded<M: ImageClassifier>(
    config: &ValidConfig,
    run: &Run<'_>,
    loaders: Loaders,
    events: &EventLog,
    interrupter: &Interrupter,
) -> Result<(SupervisedTraining<Classifier<M>>, LogStatus), LearnerError> {
    let folder = &run.folder;
    // Burn's own metric logger panics (and may abort the process) when a write fails.
    let metric_files = MetricFiles::new(
        folder.manifest().clone(),
        folder.root(),
        interrupter.clone(),
    )
    .with_events(events.clone(), loaders.iterations_per_epoch);
    let logs = metric_files.status();
    // Burn writes its log there when the training starts.
    folder
        .manifest()
        .claim(&folder.root().join("experiment.log"))?;
    let [model_files, optim_files, scheduler_files] = ListedCheckpointer::for_run(folder)?;
    let mut supervised = SupervisedTraining::new(
        folder.root(),
        Arc::new(loaders.train),
        Arc::new(loaders.valid),
    )
    .with_metric_logger(metric_files)
    .metrics((AccuracyMetric::new(), LossMetric::new()))
    .metric_train_numeric(LearningRateMetric::new())
    .with_checkpointing_strategy(KeepLastNCheckpoints::new(usize::MAX))
    .with_custom_checkpointers(model_files, optim_files, scheduler_files)
    .with_interrupter(interrupter.clone())
    .num_epochs(config.epochs);
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
    Ok((supervised, logs))
}

/// Burn's training with its display, and what watches the display and the signals.
struct Displayed<M: ImageClassifier> {
    supervised: SupervisedTraining<Classifier<M>>,
    ctrl_c: Option<CtrlC>,
    output: OutputStatus,
}

/// The progress display (Burn's dashboard, with CPU plots; plain lines; or nothing) and the
/// Ctrl-C / SIGTERM handler. Burn's end-of-run summary is not asked for: the caller prints
/// one block of its own.
fn displayed<M: ImageClassifier>(
    supervised: SupervisedTraining<Classifier<M>>,
    config: &ValidConfig,
    run: &Run<'_>,
    options: &TrainOptions,
    interrupter: &Interrupter,
) -> Result<Displayed<M>, LearnerError> {
    let dashboard = options.progress.dashboard()?;
    // Ctrl-C and SIGTERM stop the run cleanly (Ctrl-C under the dashboard's raw mode too); not
    // in quiet mode, which is for library use, where the application owns its signals.
    let ctrl_c = (options.progress != ProgressMode::Quiet)
        .then(|| CtrlC::install(interrupter.clone(), dashboard))
        .flatten();
    let output = OutputStatus::default();
    let supervised = if dashboard {
        let resumed = (run.done > 0).then_some(run.done);
        // Plots for the dashboard; as plain lines they only repeat a machine-wide figure.
        supervised
            .metric_train_numeric(CpuUse::new())
            .metric_train_numeric(CpuMemory::new())
            .renderer(Box::new(TuiMetricsRendererWrapper::new(
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
    Ok(Displayed {
        supervised,
        ctrl_c,
        output,
    })
}

/// What the training loop left for [`finish`].
struct Outcome<M> {
    model: M,
    events: EventLog,
    interrupted: bool,
    ctrl_c: Option<CtrlC>,
    output: OutputStatus,
    timer: EpochTimer,
    iterations_per_epoch: usize,
}

/// Runs Burn's training loop, closes its display, waits for its metric logs, and turns what
/// stopped it into an error where it failed: a full disk, a write refused, divergence, a panic.
fn launch<M: ImageClassifier>(
    training: Training<M>,
    run: &Run<'_>,
    config: &ValidConfig,
) -> Result<Outcome<M>, LearnerError> {
    let Training {
        supervised,
        learner,
        watch,
        ctrl_c,
        logs,
        events,
        output,
        timer,
        iterations_per_epoch,
    } = training;
    let folder = &run.folder;
    let result = run_loop(supervised, learner, folder)?;
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
        let _ = events.end(false);
        run.folder.manifest().record_ending("diverged")?;
        return Err(diverged(divergence, run, config, iterations_per_epoch));
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
        events,
        interrupted,
        // Alive until the run is saved: a signal during the final writes stops them.
        ctrl_c: ctrl_c.map(CtrlC::after_training),
        output,
        timer,
        iterations_per_epoch,
    })
}

/// Burn's loop itself. Burn's checkpointers report write errors through the interrupter and
/// the metric logs through their status; a panic left in Burn's loop still becomes an error,
/// not a wall of thread panics.
fn run_loop<M: ImageClassifier>(
    supervised: SupervisedTraining<Classifier<M>>,
    learner: Learner<Classifier<M>>,
    folder: &RunFolder,
) -> Result<LearningResult<Classifier<M>>, LearnerError> {
    crate::backend::quietly(|| supervised.launch(learner)).map_err(|message| {
        let message = if message.contains("ThreadPoolBuildError") {
            // Under a tight memory limit (`ulimit -v`) the threads' stacks do not fit.
            format!(
                "Burn could not start its worker threads ({message}); the process is short of \
                 memory or of threads: free some, or raise its limits (ulimit -v, ulimit -u)"
            )
        } else {
            format!("Burn's training loop panicked: {message}")
        };
        on_full_disk(folder, LearnerError::Training(message))
    })
}

/// The error of a run whose loss stopped being a number.
fn diverged(
    divergence: crate::Divergence,
    run: &Run<'_>,
    config: &ValidConfig,
    iterations_per_epoch: usize,
) -> LearnerError {
    let iteration = run.done * iterations_per_epoch + divergence.iteration;
    LearnerError::Diverged {
        loss: divergence.loss,
        iteration,
        epoch: (iteration - 1) / iterations_per_epoch + 1,
        advice: crate::config::divergence_advice(config),
        kept: run.folder.checkpoint_epochs().last().copied(),
        artifacts: run.folder.root().to_path_buf(),
    }
}

/// Evaluates the final model, rebuilds the history from the checkpoints, and writes the
/// results, `summary.json` last. A Ctrl-C or SIGTERM now stops before the next step and leaves
/// the run for `--resume` to finish.
fn finish<M: ImageClassifier>(
    init: Init<'_, M>,
    config: &ValidConfig,
    run: Run<'_>,
    options: &TrainOptions,
    outcome: Outcome<M>,
) -> Result<TrainReport<M>, LearnerError> {
    let folder = &run.folder;
    let device = &run.devices[0];
    let stop = || stopped(&outcome.ctrl_c, folder);
    let epochs_done = folder.checkpoint_epochs().last().copied().unwrap_or(0);
    options.progress.announce(format_args!(
        "evaluating the checkpoints of {epochs_done} epochs on the validation and test sets ..."
    ));
    let batch = config.eval_batch_size;
    let test = evaluate(&outcome.model, &run.data.test, batch, device)?;
    let validation = evaluate(&outcome.model, &run.data.validation, batch, device)?;
    stop()?;
    let seconds_by_epoch = seconds_by_epoch(&outcome.timer, run.done);
    let source = HistorySource {
        data: &run.data,
        config,
        iterations_per_epoch: outcome.iterations_per_epoch,
        seconds_by_epoch: &seconds_by_epoch,
    };
    let history = history(folder, init, &source, device, &stop)?;
    let summary = summarize(config, &run, &outcome, (&validation, &test), history);
    let report = EvalReport::new(&test, &run.data.class_names());
    let saved = Saved {
        folder,
        events: &outcome.events,
        step: summary.iterations,
    };
    save_results(&saved, &outcome.model, &summary, &report, &run.data, &stop)
        .map_err(|err| on_full_disk(folder, err))?;
    outcome.output.check(folder, epochs_done)?;
    Ok(TrainReport {
        summary,
        model: outcome.model,
        test,
        artifacts: folder.dir().clone(),
    })
}

/// The figures of the run, as `summary.json` holds them.
fn summarize<M: ImageClassifier>(
    config: &ValidConfig,
    run: &Run<'_>,
    outcome: &Outcome<M>,
    (validation, test): (&Evaluation, &Evaluation),
    history: Vec<HistoryEntry>,
) -> Summary {
    let epochs_done = run.folder.checkpoint_epochs().last().copied().unwrap_or(0);
    let seconds_by_epoch = seconds_by_epoch(&outcome.timer, run.done);
    let (train_seconds, samples_per_second) = speed(&outcome.timer, &seconds_by_epoch);
    let data = &run.data;
    Summary {
        dataset: data.kind.to_string(),
        model: outcome.model.describe(),
        backend: run.backend.to_string(),
        device: run
            .devices
            .iter()
            .map(|device| run.backend.describe(device))
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
        stopped_early: !outcome.interrupted && epochs_done < config.epochs,
        interrupted: outcome.interrupted,
        resumed_from_epoch: run.resumed.then_some(run.done),
        data_source: data.source.to_string(),
        history,
    }
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

/// Builds the model from `seed`. The backend's random generator is global to the process, so
/// seeding and drawing happen under one lock: two runs in one process (tests, notebooks)
/// cannot interleave and each gets the weights its seed gives.
///
/// Burn initialises parameters lazily, on their first use; every one is initialised here, in
/// the module's field order, while the lock is held. Otherwise the draws would happen later,
/// outside the lock, in the order the parameters happen to be used first (a model's
/// `describe` reading a weight's shape would change the weights).
fn seeded_init<M: ImageClassifier>(init: Init<'_, M>, device: &Device, seed: u64) -> M {
    static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    device.seed(seed);
    let model = init(device);
    model.visit(&mut Initialise);
    model
}

/// Initialises every parameter it visits (Burn's parameters are lazy).
struct Initialise;

impl burn::module::ModuleVisitor for Initialise {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        let _ = param.val();
    }

    fn visit_int<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D, Int>>) {
        let _ = param.val();
    }

    fn visit_bool<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D, Bool>>) {
        let _ = param.val();
    }
}

/// Where a finished run's results go: its folder, and its event file at its last step.
struct Saved<'a> {
    folder: &'a RunFolder,
    events: &'a EventLog,
    step: usize,
}

impl Saved<'_> {
    /// A picture of the run: its file, and the same picture in the event file.
    fn picture(&self, name: &str, png: &[u8]) -> Result<(), LearnerError> {
        self.folder.write(&self.folder.picture_path(name), png)?;
        let tag = name.strip_suffix(".png").unwrap_or(name);
        (self.events.picture(tag, self.step, png)).map_err(|err| self.events.error(err))
    }
}

/// Writes what a finished run leaves besides its checkpoints, `summary.json` last: a run
/// without it is unfinished, and `--resume` finishes it. The event file gets the test figures
/// of every epoch, the pictures and how the run ended.
fn save_results<M: ImageClassifier>(
    saved: &Saved<'_>,
    model: &M,
    summary: &Summary,
    report: &EvalReport,
    data: &Mnist,
    stop: &dyn Fn() -> Result<(), LearnerError>,
) -> Result<(), LearnerError> {
    let (folder, events) = (saved.folder, saved.events);
    folder.save_model(model)?;
    folder.save_eval(report)?;
    saved.picture("confusion.png", &plots::confusion_png(report)?)?;
    stop()?;
    let curves = curves(folder.dir(), summary);
    saved.picture("curves.png", &plots::curves_png(&curves)?)?;
    let context = RunContext {
        rows: data.train.rows(),
        cols: data.train.cols(),
        class_names: &report.class_names,
    };
    let extras = model.extra_artifacts(&context)?;
    folder.save_extras(&extras)?;
    for extra in extras.iter().filter(|extra| extra.name.ends_with(".png")) {
        let tag = extra.name.trim_end_matches(".png");
        (events.picture(tag, saved.step, &extra.bytes)).map_err(|err| events.error(err))?;
    }
    test_scalars(events, summary).map_err(|err| events.error(err))?;
    stop()?;
    (events.end(!summary.interrupted)).map_err(|err| events.error(err))?;
    folder.save_summary(summary)
}

/// The test figures of every epoch's checkpoint, at the epoch's last iteration.
fn test_scalars(events: &EventLog, summary: &Summary) -> std::io::Result<()> {
    for entry in &summary.history {
        events.scalar("test/loss", entry.iteration, entry.test_loss)?;
        events.scalar(
            "test/accuracy",
            entry.iteration,
            100.0 * entry.test_accuracy,
        )?;
    }
    Ok(())
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
