//! Burn's checkpoints of a run: written through Burn's own file checkpointer, each file listed
//! in the run's manifest first; and read back to check them before a resume.

use std::path::PathBuf;
use std::sync::Arc;

use burn::lr_scheduler::LrSchedulerRecord;
use burn::optim::OptimizerRecord;
use burn::prelude::*;
use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError, FileCheckpointer};
use model::LogisticRegressionConfig;

use crate::manifest::Manifest;
use crate::{ArtifactDir, Classifier, LearnerError, RunFolder};

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
pub(crate) fn load_checkpoint(
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
pub(crate) fn check_checkpoints(
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
