//! Burn's training, put together: the loaders; the metrics, logs and checkpoints; the progress
//! display and the signal handler; the learner with the seeded model, the optimizer and the
//! schedule. Every piece is burn-train's own, configured; only what Burn lacks is ours (the
//! loader of epochs of any length, the logger that survives a full disk, the checkpointers that
//! list their files and measure each epoch).

use std::sync::Arc;

use burn::train::metric::{AccuracyMetric, CpuMemory, CpuUse, LearningRateMetric, LossMetric};
use burn::train::renderer::tui::TuiMetricsRendererWrapper;
use burn::train::{ExecutionStrategy, Interrupter, Learner, MultiDeviceOptim, SupervisedTraining};
use data::{EpochTimer, ImageLoader};
use model::ImageClassifier;

use super::prepare::Run;
use super::signals::CtrlC;
use super::stopping::{self, DeltaEarlyStopping};
use super::{Init, ProgressMode, TrainOptions, seeded_init};
use crate::record::events::EventLog;
use crate::record::metric_log::{LogStatus, MetricFiles};
use crate::record::renderer::OutputStatus;
use crate::run::checkpoints::{ListedCheckpointer, ModelCheckpointer};
use crate::run::history::EvalSets;
use crate::train::classifier::Classifier;
use crate::{LearnerError, PlainRenderer, ValidConfig};

/// Burn's training, ready to launch, and what the run watches while it goes.
pub(crate) struct Training<M: ImageClassifier> {
    pub(crate) supervised: SupervisedTraining<Classifier<M>>,
    pub(crate) learner: Learner<Classifier<M>>,
    pub(crate) watch: Classifier<M>,
    pub(crate) ctrl_c: Option<CtrlC>,
    pub(crate) logs: LogStatus,
    pub(crate) events: EventLog,
    pub(crate) output: OutputStatus,
    pub(crate) timer: EpochTimer,
    pub(crate) iterations_per_epoch: usize,
}

/// Builds Burn's `SupervisedTraining` in three steps: the loaders; the metrics, logs and
/// checkpoints; the progress display and Ctrl-C handler. Then the learner: the seeded model,
/// the optimizer and the schedule.
pub(crate) fn build<M: ImageClassifier>(
    init: Init<'_, M>,
    config: &ValidConfig,
    run: &Run<'_>,
    options: &TrainOptions,
) -> Result<Training<M>, LearnerError> {
    let interrupter = Interrupter::new();
    let autodiff = run.devices[0].clone().autodiff();
    let classifier = Classifier::new(seeded_init(init, &autodiff, &run.shape, config.seed))
        .with_divergence_guard(interrupter.clone())
        .with_accumulation(config.accumulation);
    // Shares the guard's record with the copies Burn trains.
    let watch = classifier.clone();

    let loaders = loaders(config, run);
    let iterations_per_epoch = loaders.iterations_per_epoch;
    let timer = loaders.timer.clone();
    let events = EventLog::create(
        &run.folder,
        config,
        (&run.card.describe, run.backend.name()),
        run.resumed
            .then_some((run.done * iterations_per_epoch + 1) as i64),
    )?;
    // The model each checkpoint is loaded into to be measured: drawn under the seed's lock like
    // the trained one (its draws then happen at a fixed point, never amid training's).
    let template = seeded_init(init, &run.devices[0], &run.shape, config.seed);
    let (supervised, logs) = recorded(config, run, loaders, (&events, &interrupter), template)?;
    let Displayed {
        supervised,
        ctrl_c,
        output,
    } = displayed(supervised, config, run, options, &interrupter)?;
    let steps_per_epoch = iterations_per_epoch.div_ceil(config.accumulation);
    let learner = Learner::new(
        classifier,
        config.optimizer(),
        config.scheduler(steps_per_epoch)?,
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

/// The run's data loaders: shuffled (and augmented, if the data asks) training batches from
/// where a resume continues, timed per epoch; validation in evaluation-sized batches.
struct Loaders {
    train: ImageLoader,
    valid: ImageLoader,
    eval: EvalSets,
    timer: EpochTimer,
    iterations_per_epoch: usize,
}

fn loaders(config: &ValidConfig, run: &Run<'_>) -> Loaders {
    let device = &run.devices[0];
    let timer = EpochTimer::new();
    let spec = &config.dataset;
    let batcher = spec.eval_batcher(run.shape.channels);
    let mut train = ImageLoader::new(
        run.data.train.clone(),
        config.batch_size,
        &device.clone().autodiff(),
    )
    .with_batcher(spec.train_batcher(run.shape.channels))
    .shuffled(config.seed)
    .timed(timer.clone())
    .starting_at_epoch(run.done);
    if config.iterations_per_epoch.is_some() || run.limit_batches.is_some() {
        train = train.with_batches_per_epoch(run.batches_per_epoch);
    }
    if let Some(steps) = run.max_steps {
        train = train.with_total_batches(steps);
    }
    let iterations_per_epoch = train.batches_per_epoch();
    let eval = eval_sets(config, run);
    let valid = ImageLoader::new(eval.validation.clone(), config.eval_batch_size, device)
        .with_batcher(batcher);
    Loaders {
        train,
        valid,
        eval,
        timer,
        iterations_per_epoch,
    }
}

/// The validation and test sets a run measures on: a quick run (`--limit-batches`) validates
/// and tests on their first batches only, the same ones every epoch and at the end.
pub(super) fn eval_sets(config: &ValidConfig, run: &Run<'_>) -> EvalSets {
    let limited = |set: &data::ImageSet| match run.limit_batches {
        Some(limit) => {
            let count = set.len().min(limit.saturating_mul(config.eval_batch_size));
            set.select(&(0..count).collect::<Vec<_>>())
                .unwrap_or_else(|_| set.clone())
        }
        None => set.clone(),
    };
    EvalSets {
        validation: limited(&run.data.validation),
        test: limited(&run.data.test),
        batcher: config.dataset.eval_batcher(run.shape.channels),
        batch_size: config.eval_batch_size,
        device: run.devices[0].clone(),
    }
}

/// Burn's `SupervisedTraining` with the metrics, the run's own metric logger (which also feeds
/// the event file) and checkpointers (which list their files in the manifest; the model's also
/// measures each epoch for the history), the last few checkpoints kept, early stopping, where a
/// resume starts, and the strategy for several devices.
fn recorded<M: ImageClassifier>(
    config: &ValidConfig,
    run: &Run<'_>,
    loaders: Loaders,
    (events, interrupter): (&EventLog, &Interrupter),
    template: M,
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
    let model_files =
        ModelCheckpointer::new(folder, template, loaders.eval, loaders.iterations_per_epoch)?;
    let optim_files = ListedCheckpointer::new(folder, "optim")?;
    let scheduler_files = ListedCheckpointer::new(folder, "scheduler")?;
    let mut supervised = SupervisedTraining::new(
        folder.root(),
        Arc::new(loaders.train),
        Arc::new(loaders.valid),
    )
    .with_metric_logger(metric_files)
    .metrics((AccuracyMetric::new(), LossMetric::new()))
    .metric_train_numeric(LearningRateMetric::new())
    .with_custom_checkpointers(model_files, optim_files, scheduler_files)
    .with_interrupter(interrupter.clone())
    .num_epochs(run.epochs);
    supervised = stopping::keep_checkpoints(supervised, config);
    if let Some(early) = &config.early_stopping {
        supervised =
            supervised.early_stopping(DeltaEarlyStopping::new(config.monitor, early.clone()));
    }
    if config.accumulation > 1 {
        supervised = supervised.grads_accumulation(config.accumulation);
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
