//! After the training loop: the final model evaluated, the history gathered, the results
//! written (`summary.json` last, so that a run without it is unfinished and `--resume`
//! finishes it).

use std::collections::BTreeMap;

use burn::prelude::*;
use burn::train::metric::store::Split;
use data::EpochTimer;
use model::{ArtifactContext, ImageClassifier};

use super::launch::{Outcome, on_full_disk};
use super::prepare::Run;
use super::signals::CtrlC;
use super::{Init, TrainOptions, TrainReport, stopping};
use crate::config::FinalModel;
use crate::record::events::EventLog;
use crate::record::metric_log::final_values;
use crate::run::checkpoints::load_checkpoint;
use crate::run::history::{self, EvalSets};
use crate::{
    ArtifactDir, EvalReport, Evaluation, HistoryEntry, LearnerError, RunFolder, Summary,
    ValidConfig, plots,
};

/// Evaluates the final model, gathers the history, and writes the results, `summary.json`
/// last. A Ctrl-C or SIGTERM now stops before the next step and leaves the run for `--resume`
/// to finish.
pub(crate) fn finish<M: ImageClassifier>(
    init: Init<'_, M>,
    config: &ValidConfig,
    run: Run<'_>,
    options: &TrainOptions,
    outcome: Outcome<M>,
) -> Result<TrainReport<M>, LearnerError> {
    let folder = &run.folder;
    let stop = || stopped(&outcome.ctrl_c, folder);
    let epochs_done = folder.checkpoint_epochs().last().copied().unwrap_or(0);
    options.progress.announce(format_args!(
        "evaluating the model on the validation and test sets ..."
    ));
    let sets = super::build::eval_sets(config, &run);
    let (model, best_epoch) = final_model(init, config, &run, &outcome, options)?;
    let (validation, test) = sets.measure(&model)?;
    stop()?;
    let history = gather_history(init, &run, &sets, &outcome, &stop)?;
    let mut summary = summarize(config, &run, &outcome, &sets, (&validation, &test), history);
    summary.best_epoch = best_epoch;
    let report = EvalReport::new(&test, &run.data.class_names());
    let saved = Saved {
        folder,
        events: &outcome.events,
        step: summary.iterations,
    };
    save_results(&saved, &model, &summary, &report, &run, &stop)
        .map_err(|err| on_full_disk(folder, err))?;
    outcome.output.check(folder, epochs_done)?;
    Ok(TrainReport {
        summary,
        model,
        test,
        artifacts: folder.dir().clone(),
    })
}

/// The model the run keeps: the last one, or with `final_model: best` the checkpoint of the
/// epoch with the best monitored validation figure (Burn's epoch means, as its checkpointing
/// strategy kept them), and that epoch.
fn final_model<M: ImageClassifier>(
    init: Init<'_, M>,
    config: &ValidConfig,
    run: &Run<'_>,
    outcome: &Outcome<M>,
    options: &TrainOptions,
) -> Result<(M, Option<usize>), LearnerError> {
    if config.final_model == FinalModel::Last {
        return Ok((outcome.model.clone(), None));
    }
    let folder = &run.folder;
    let kept = folder.checkpoint_epochs();
    let epochs = kept.last().copied().unwrap_or(0).max(1);
    let metric = config.monitor.metric.burn_name();
    let values: Vec<(usize, f64)> = final_values(folder.root(), Split::Valid, metric, epochs)
        .into_iter()
        .map(|(epoch, value)| (epoch as usize, value))
        .filter(|(epoch, _)| kept.contains(epoch))
        .collect();
    let Some(best) = stopping::best_epoch(&config.monitor, &values) else {
        return Ok((outcome.model.clone(), None));
    };
    options.progress.announce(format_args!(
        "keeping the weights of epoch {best}, the best by validation {}",
        metric.to_lowercase()
    ));
    let make = |device: &Device| init(device, &run.shape);
    let checkpoint = load_checkpoint(folder, best, &make, &run.devices[0])?;
    Ok((checkpoint.model, Some(best)))
}

/// The history in `history.jsonl`, with each checkpoint it lacks a line for (a run from before
/// the history, or one killed between writing a checkpoint and measuring it) measured now and
/// its line appended, so that pruning the checkpoint later cannot lose its figures.
fn measure_unmeasured<M: ImageClassifier>(
    init: Init<'_, M>,
    run: &Run<'_>,
    sets: &EvalSets,
    iterations_per_epoch: usize,
    stop: &dyn Fn() -> Result<(), LearnerError>,
) -> Result<BTreeMap<usize, HistoryEntry>, LearnerError> {
    let folder = &run.folder;
    let mut entries = history::read(folder);
    let file = history::History::new(folder);
    let make = |device: &Device| init(device, &run.shape);
    for epoch in folder.checkpoint_epochs() {
        if entries.contains_key(&epoch) {
            continue;
        }
        stop()?;
        let checkpoint = load_checkpoint(folder, epoch, &make, &sets.device)?;
        let entry = sets.entry(&checkpoint.model, epoch, epoch * iterations_per_epoch)?;
        file.append(&entry)?;
        entries.insert(epoch, entry);
    }
    Ok(entries)
}

/// For a resumed run, the checkpoints its stopped run had not measured, measured now
/// ([`measure_unmeasured`]), before training on prunes them.
pub(crate) fn measure_before_resuming<M: ImageClassifier>(
    init: Init<'_, M>,
    config: &ValidConfig,
    run: &Run<'_>,
) -> Result<(), LearnerError> {
    if !run.resumed {
        return Ok(());
    }
    let sets = super::build::eval_sets(config, run);
    let no_stop = || Ok(());
    measure_unmeasured(init, run, &sets, run.batches_per_epoch, &no_stop)?;
    Ok(())
}

/// Every epoch's figures: those `history.jsonl` holds (measured as each epoch was
/// checkpointed), and any checkpoint it lacks measured now ([`measure_unmeasured`]). Epochs
/// this process trained get their training seconds.
fn gather_history<M: ImageClassifier>(
    init: Init<'_, M>,
    run: &Run<'_>,
    sets: &EvalSets,
    outcome: &Outcome<M>,
    stop: &dyn Fn() -> Result<(), LearnerError>,
) -> Result<Vec<HistoryEntry>, LearnerError> {
    let entries = measure_unmeasured(init, run, sets, outcome.iterations_per_epoch, stop)?;
    let last = run.folder.checkpoint_epochs().last().copied().unwrap_or(0);
    let seconds = seconds_by_epoch(&outcome.timer, run.done);
    Ok(entries
        .into_values()
        .filter(|entry| entry.epoch <= last)
        .map(|mut entry| {
            entry.train_seconds = seconds
                .iter()
                .find(|(epoch, _)| *epoch == entry.epoch)
                .map(|(_, seconds)| *seconds);
            entry
        })
        .collect())
}

/// The figures of the run, as `summary.json` holds them.
fn summarize<M: ImageClassifier>(
    config: &ValidConfig,
    run: &Run<'_>,
    outcome: &Outcome<M>,
    sets: &EvalSets,
    (validation, test): (&Evaluation, &Evaluation),
    history: Vec<HistoryEntry>,
) -> Summary {
    let epochs_done = run.folder.checkpoint_epochs().last().copied().unwrap_or(0);
    let seconds_by_epoch = seconds_by_epoch(&outcome.timer, run.done);
    let (train_seconds, samples_per_second) = speed(&outcome.timer, &seconds_by_epoch);
    let data = &run.data;
    Summary {
        dataset: data.name.clone(),
        data_format: data.format.to_string(),
        image_shape: data.shape().to_string(),
        classes: data.num_classes(),
        model: run.card.describe.clone(),
        model_kind: run.card.kind.clone(),
        parameters: run.card.parameters,
        backend: run.backend.to_string(),
        device: run
            .devices
            .iter()
            .map(|device| run.backend.describe(device))
            .collect::<Vec<_>>()
            .join(", "),
        epochs: epochs_done,
        // The steps of complete epochs, or more when a stop came inside an epoch (its model
        // is the one saved); never more than --max-steps allows.
        iterations: (epochs_done * outcome.iterations_per_epoch)
            .max(run.done * outcome.iterations_per_epoch + outcome.steps)
            .min(run.max_steps.unwrap_or(usize::MAX)),
        batch_size: config.batch_size,
        effective_batch_size: config.effective_batch_size(),
        optimizer: config.optimizer.name().to_string(),
        learning_rate: config.optimizer.learning_rate(),
        train_size: data.train.len(),
        validation_size: sets.validation.len(),
        test_size: sets.test.len(),
        validation_accuracy: validation.accuracy,
        validation_loss: validation.loss,
        test_accuracy: test.accuracy,
        test_loss: test.loss,
        train_seconds,
        samples_per_second,
        stopped_early: !outcome.interrupted && epochs_done < run.epochs,
        best_epoch: None,
        limited: limits(run),
        interrupted: outcome.interrupted,
        resumed_from_epoch: run.resumed.then_some(run.done),
        data_source: data.source.to_string(),
        history,
    }
}

/// A quick run's limits in words (`1 batch an epoch, 20 steps in all`).
fn limits(run: &Run<'_>) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(limit) = run.limit_batches {
        parts.push(format!(
            "at most {limit} batch{} of training and of evaluation an epoch",
            if limit == 1 { "" } else { "es" }
        ));
    }
    if let Some(steps) = run.max_steps {
        parts.push(format!(
            "at most {steps} training step{} in all",
            if steps == 1 { "" } else { "s" }
        ));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
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

/// Training seconds of this process (0 when it trained no step: a resume that only finishes
/// the artifacts) and training images per second, an epoch cut short by a stop included.
fn speed(timer: &EpochTimer, seconds_by_epoch: &[(usize, f64)]) -> (f64, f64) {
    let (cut_seconds, cut_samples) = timer.cut_short().map_or((0.0, 0), |(duration, items)| {
        (duration.as_secs_f64(), items)
    });
    let seconds = seconds_by_epoch.last().map_or(0.0, |(_, seconds)| *seconds) + cut_seconds;
    let samples = cut_samples + timer.epochs().iter().map(|(_, items)| items).sum::<usize>();
    let per_second = if seconds > 0.0 {
        samples as f64 / seconds
    } else {
        0.0
    };
    (seconds, per_second)
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
        self.event_picture(name, png)
    }

    /// A picture in the event file only, tagged by its name without `.png`.
    fn event_picture(&self, name: &str, png: &[u8]) -> Result<(), LearnerError> {
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
    run: &Run<'_>,
    stop: &dyn Fn() -> Result<(), LearnerError>,
) -> Result<(), LearnerError> {
    let (folder, events) = (saved.folder, saved.events);
    folder.save_model(model)?;
    folder.save_eval(report)?;
    saved.picture("confusion.png", &plots::confusion_png(report)?)?;
    stop()?;
    let curves = curves(folder.dir(), summary);
    saved.picture("curves.png", &plots::curves_png(&curves)?)?;
    let context = ArtifactContext {
        shape: run.shape,
        class_names: &report.class_names,
    };
    let extras = model
        .extra_artifacts(&context)
        .map_err(LearnerError::ExtraArtifacts)?;
    for (name, png) in folder.save_extras(&extras)? {
        saved.event_picture(&name, &png)?;
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
