//! Burn's training loop, run: its display closed, its metric logs awaited, and what stopped it
//! turned into an error where it failed (a full disk, a write refused, divergence, a panic).

use std::time::Duration;

use burn::train::{Learner, LearningResult, SupervisedTraining};
use data::EpochTimer;
use model::ImageClassifier;

use super::build::Training;
use super::prepare::Run;
use super::signals::CtrlC;
use crate::record::events::EventLog;
use crate::record::renderer::OutputStatus;
use crate::train::classifier::Classifier;
use crate::{LearnerError, RunFolder, ValidConfig};

/// What the training loop left for [`finish`](super::finish::finish).
pub(crate) struct Outcome<M> {
    pub(crate) model: M,
    pub(crate) events: EventLog,
    pub(crate) interrupted: bool,
    pub(crate) ctrl_c: Option<CtrlC>,
    pub(crate) output: OutputStatus,
    pub(crate) timer: EpochTimer,
    pub(crate) iterations_per_epoch: usize,
    /// Training steps taken by this process.
    pub(crate) steps: usize,
}

/// Runs Burn's training loop, closes its display, waits for its metric logs, and turns what
/// stopped it into an error where it failed: a full disk, a write refused, divergence, a panic.
pub(crate) fn launch<M: ImageClassifier>(
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
        || (config.early_stopping.is_none() && epochs_done < run.epochs);
    Ok(Outcome {
        steps: watch.steps(),
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
    crate::train::backend::quietly(|| supervised.launch(learner)).map_err(|message| {
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

/// The error of a run whose loss stopped being a number: the model's own fault when the very
/// first step of a fresh model failed, else divergence, with advice that fits where it stopped.
fn diverged(
    divergence: crate::Divergence,
    run: &Run<'_>,
    config: &ValidConfig,
    iterations_per_epoch: usize,
) -> LearnerError {
    let artifacts = run.folder.root().to_path_buf();
    if run.done == 0 && divergence.iteration == 1 {
        return LearnerError::NotFiniteAtStart {
            loss: divergence.loss,
            artifacts,
        };
    }
    let iteration = run.done * iterations_per_epoch + divergence.iteration;
    let kept = run.folder.checkpoint_epochs().last().copied();
    LearnerError::Diverged {
        loss: divergence.loss,
        iteration,
        epoch: (iteration - 1) / iterations_per_epoch + 1,
        advice: crate::config::resume::divergence_advice(config, kept, &artifacts),
        kept,
        artifacts,
    }
}

/// `err`, or the full-disk error with its advice when a full disk or the file-size limit
/// (`ulimit -f`, whose signal [`crate::survive_file_size_limit`] turns into a failed write)
/// caused it.
pub(crate) fn on_full_disk(folder: &RunFolder, err: LearnerError) -> LearnerError {
    let mut cause = String::new();
    let (mut full, mut too_large) = (false, false);
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(error) = source {
        let io = error.downcast_ref::<std::io::Error>();
        full |= io.is_some_and(|io| io.kind() == std::io::ErrorKind::StorageFull)
            || error.to_string().contains("No space left");
        too_large |= io.is_some_and(|io| io.kind() == std::io::ErrorKind::FileTooLarge)
            || error.to_string().contains("File too large");
        let text = error.to_string();
        // A wrapper that repeats its cause's text adds nothing.
        if !cause.ends_with(&text) {
            if !cause.is_empty() {
                cause.push_str(": ");
            }
            cause.push_str(&text);
        }
        source = error.source();
    }
    if !full && !too_large {
        return err;
    }
    let (what, free) = if full {
        ("the disk is full", "free some space")
    } else {
        (
            "a file reached the process's file-size limit (ulimit -f)",
            "raise the limit (ulimit -f unlimited)",
        )
    };
    let next = match folder.checkpoint_epochs().last() {
        Some(epoch) => format!(
            "{free}, then run again with --resume, which continues from the checkpoint of epoch \
             {epoch}"
        ),
        None => format!(
            "no epoch completed: {free}, then run again with --resume (which starts it again) \
             or --overwrite, or choose another --artifacts folder"
        ),
    };
    LearnerError::Artifacts {
        path: folder.root().to_path_buf(),
        problem: format!("{what} ({cause}); {next}"),
    }
}
