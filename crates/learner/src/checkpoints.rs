//! Burn's checkpoints of a run: written through Burn's own file checkpointer, each file listed
//! in the run's manifest first; read back to check them before a resume, to find where a
//! resume continues, and to rebuild the run's history.

use std::path::PathBuf;
use std::sync::Arc;

use burn::lr_scheduler::LrSchedulerRecord;
use burn::optim::OptimizerRecord;
use burn::prelude::*;
use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError, FileCheckpointer};
use data::Mnist;

use crate::manifest::Manifest;
use crate::{
    ArtifactDir, Classifier, HistoryEntry, ImageClassifier, LearnerError, RunFolder, ValidConfig,
    evaluate,
};

/// Builds a fresh model on a device: what a checkpoint is loaded into.
pub(crate) type Init<'a, M> = &'a dyn Fn(&Device) -> M;

/// Burn's [`FileCheckpointer`] for one part of the checkpoints (`model`, `optim` or
/// `scheduler`), which lists each file in the manifest before Burn writes it, and refuses a
/// file in the way that the run did not write.
pub(crate) struct ListedCheckpointer {
    inner: FileCheckpointer,
    manifest: Arc<Manifest>,
    artifacts: ArtifactDir,
    part: &'static str,
}

impl ListedCheckpointer {
    /// The three checkpointers of a run (model, optimizer, scheduler), their folder created and
    /// listed first.
    pub(crate) fn for_run(folder: &RunFolder) -> Result<[Self; 3], LearnerError> {
        folder.manifest().create_dir_all(&folder.checkpoint_dir())?;
        Ok(["model", "optim", "scheduler"].map(|part| Self {
            inner: FileCheckpointer::new(folder.checkpoint_dir(), part),
            manifest: folder.manifest().clone(),
            artifacts: folder.dir().clone(),
            part,
        }))
    }
}

impl<R: Checkpoint> Checkpointer<R> for ListedCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        self.manifest
            .claim(&self.artifacts.checkpoint_path(self.part, epoch))
            .map_err(|err| CheckpointerError::Unknown(err.to_string()))?;
        self.inner.save(epoch, record)
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        Checkpointer::<R>::delete(&self.inner, epoch)
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        self.inner.restore(epoch)
    }
}

/// The model of `epoch`'s checkpoint.
pub(crate) fn load_checkpoint<M: ImageClassifier>(
    artifacts: &ArtifactDir,
    epoch: usize,
    init: Init<'_, M>,
    device: &Device,
) -> Result<Classifier<M>, LearnerError> {
    let path = artifacts.checkpoint_model_path(epoch);
    Classifier::new(init(device))
        .try_load_file(&path)
        .map_err(|err| damaged_checkpoint(artifacts, epoch, path, err))
}

/// Reads every checkpoint's model and the optimizer and scheduler `resume_from` continues with,
/// so that a damaged file is an error naming it before training starts, not a panic in Burn's
/// loop or a failure after it.
pub(crate) fn check_checkpoints<M: ImageClassifier>(
    artifacts: &ArtifactDir,
    resume_from: usize,
    init: Init<'_, M>,
    device: &Device,
) -> Result<(), LearnerError> {
    for epoch in artifacts.checkpoint_epochs() {
        load_checkpoint(artifacts, epoch, init, device)?;
    }
    let optimizer = artifacts.checkpoint_path("optim", resume_from);
    OptimizerRecord::load(&optimizer)
        .map_err(|err| damaged_checkpoint(artifacts, resume_from, optimizer, err))?;
    let scheduler = artifacts.checkpoint_path("scheduler", resume_from);
    LrSchedulerRecord::load(&scheduler)
        .map_err(|err| damaged_checkpoint(artifacts, resume_from, scheduler, err))?;
    Ok(())
}

/// The epoch a resumed run continues after: its last complete checkpoint, or 0 when it stopped
/// before its first one (it then starts again from the beginning, with its saved config). A run
/// that has all its epochs is refused, unless it was stopped before its summary was written
/// (the resume then only finishes it). The config must not change what the checkpoints are
/// made of.
pub(crate) fn resume_point(
    folder: &RunFolder,
    config: &ValidConfig,
) -> Result<usize, LearnerError> {
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

/// How the history is rebuilt: the run's data and config, its epochs' length, and the training
/// seconds this process had spent by the end of each epoch it ran.
pub(crate) struct HistorySource<'a> {
    pub(crate) data: &'a Mnist,
    pub(crate) config: &'a ValidConfig,
    pub(crate) iterations_per_epoch: usize,
    pub(crate) seconds_by_epoch: &'a [(usize, f64)],
}

/// Validation and test figures of every epoch's checkpoint; `stop` is asked between
/// checkpoints.
pub(crate) fn history<M: ImageClassifier>(
    folder: &RunFolder,
    init: Init<'_, M>,
    source: &HistorySource<'_>,
    device: &Device,
    stop: &dyn Fn() -> Result<(), LearnerError>,
) -> Result<Vec<HistoryEntry>, LearnerError> {
    let batch = source.config.eval_batch_size;
    folder
        .checkpoint_epochs()
        .into_iter()
        .map(|epoch| {
            stop()?;
            let checkpoint = load_checkpoint(folder, epoch, init, device)?;
            let validation = evaluate(&checkpoint.model, &source.data.validation, batch, device)?;
            let test = evaluate(&checkpoint.model, &source.data.test, batch, device)?;
            Ok(HistoryEntry {
                epoch,
                iteration: epoch * source.iterations_per_epoch,
                validation_accuracy: validation.accuracy,
                validation_loss: validation.loss,
                test_accuracy: test.accuracy,
                test_loss: test.loss,
                train_seconds: source
                    .seconds_by_epoch
                    .iter()
                    .find(|(done, _)| *done == epoch)
                    .map(|(_, seconds)| *seconds),
            })
        })
        .collect()
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
