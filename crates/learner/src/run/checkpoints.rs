//! Burn's checkpoints of a run: written through Burn's own file checkpointer, each file listed
//! in the run's manifest first; the model's checkpoint also measured on the validation and test
//! sets as it is written (its line of `history.jsonl`), so that the history needs no checkpoint
//! kept; read back to check them before a resume and to find where a resume continues.

use std::path::PathBuf;
use std::sync::Arc;

use burn::lr_scheduler::LrSchedulerRecord;
use burn::optim::OptimizerRecord;
use burn::prelude::*;
use burn::store::{ModuleRecord, RecordError};
use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError, FileCheckpointer};
use model::ImageClassifier;

use crate::run::history::{EvalSets, History};
use crate::run::manifest::Manifest;
use crate::train::classifier::Classifier;
use crate::{ArtifactDir, LearnerError, RunFolder, ValidConfig};

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
    /// The checkpointer of `part`, its folder created and listed first.
    pub(crate) fn new(folder: &RunFolder, part: &'static str) -> Result<Self, LearnerError> {
        folder.manifest().create_dir_all(&folder.checkpoint_dir())?;
        Ok(Self {
            inner: FileCheckpointer::new(folder.checkpoint_dir(), part),
            manifest: folder.manifest().clone(),
            artifacts: folder.dir().clone(),
            part,
        })
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

/// The model's checkpointer: writes the checkpoint as [`ListedCheckpointer`] does, then
/// measures it on the validation and test sets and appends the epoch's line to the history.
/// Burn runs it on a thread of its own, so the measuring overlaps the next epoch's training.
pub(crate) struct ModelCheckpointer<M: ImageClassifier> {
    files: ListedCheckpointer,
    /// One thread for the measuring's parallel work (flex splits large products over rayon's
    /// threads): on the global pool it took both cores from the next epoch's training, whose
    /// epochs then varied from 0.061 to 0.10 s on a logistic regression; see
    /// docs/benchmarks.md. LibTorch's own threads are kept off it too (its OpenMP team slowed
    /// the training thread's operations: CNN epochs of 6.3 s instead of 4.5 s). `None` if the
    /// thread could not be started (it then runs as before).
    pool: Option<rayon::ThreadPool>,
    // Burn's checkpointers must be `Sync`, and a module need not be: the template is only ever
    // cloned, under the lock.
    template: std::sync::Mutex<Classifier<M>>,
    sets: EvalSets,
    history: History,
    iterations_per_epoch: usize,
}

impl<M: ImageClassifier> ModelCheckpointer<M> {
    /// `template`: a model of the run's architecture on the evaluation device, to load each
    /// checkpoint into.
    pub(crate) fn new(
        folder: &RunFolder,
        template: M,
        sets: EvalSets,
        iterations_per_epoch: usize,
    ) -> Result<Self, LearnerError> {
        Ok(Self {
            files: ListedCheckpointer::new(folder, "model")?,
            pool: rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .thread_name(|_| "checkpoint-eval".to_string())
                .start_handler(|_| crate::train::threads::background_thread())
                .build()
                .ok(),
            template: std::sync::Mutex::new(Classifier::new(template)),
            sets,
            history: History::new(folder),
            iterations_per_epoch,
        })
    }

    fn measure(&self, epoch: usize, record: ModuleRecord) -> Result<(), String> {
        let template = self
            .template
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let model = template
            .try_load_record(record)
            .map_err(|err| err.to_string())?;
        // A panic here (a backend failing on this thread) becomes an error for Burn's
        // interrupter; the training loop's own panic hook has its message.
        let entry = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.sets
                .entry(&model.model, epoch, epoch * self.iterations_per_epoch)
        }))
        .map_err(|_| {
            "measuring the checkpoint on the validation and test sets panicked".to_string()
        })?
        .map_err(|err| err.to_string())?;
        self.history.append(&entry).map_err(|err| err.to_string())
    }
}

impl<M: ImageClassifier> Checkpointer<ModuleRecord> for ModelCheckpointer<M> {
    fn save(&self, epoch: usize, record: ModuleRecord) -> Result<(), CheckpointerError> {
        self.files.save(epoch, record.clone())?;
        match &self.pool {
            Some(pool) => pool.install(|| self.measure(epoch, record)),
            None => self.measure(epoch, record),
        }
        .map_err(|problem| CheckpointerError::Unknown(format!("epoch {epoch}: {problem}")))
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        Checkpointer::<ModuleRecord>::delete(&self.files, epoch)
    }

    fn restore(&self, epoch: usize) -> Result<ModuleRecord, CheckpointerError> {
        self.files.restore(epoch)
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
        .map_err(|err| unreadable_checkpoint(artifacts, epoch, path, err))
}

/// Reads every checkpoint's model and the optimizer and scheduler `resume_from` continues with,
/// so that a damaged file, or a model that no longer fits the checkpoints, is an error naming
/// it before training starts, not a panic in Burn's loop or a failure after it.
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
        .map_err(|err| unreadable_checkpoint(artifacts, resume_from, optimizer, err))?;
    let scheduler = artifacts.checkpoint_path("scheduler", resume_from);
    LrSchedulerRecord::load(&scheduler)
        .map_err(|err| unreadable_checkpoint(artifacts, resume_from, scheduler, err))?;
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
        let changes = crate::config::resume::resume_changes(recorded, config);
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
                "already holds {last} trained epoch{}, and the config asks for {}; pass a \
                 larger --epochs to train further",
                if last == 1 { "" } else { "s" },
                config.epochs
            ),
        });
    }
    Ok(last)
}

/// A checkpoint that cannot be loaded: one whose tensors do not fit the model (the model
/// changed since the run made it) is named as such, with the shapes; only a file that does not
/// read is damaged, and gets the advice to delete it.
fn unreadable_checkpoint(
    artifacts: &ArtifactDir,
    epoch: usize,
    path: PathBuf,
    err: impl std::fmt::Display + 'static,
) -> LearnerError {
    let any: &dyn std::any::Any = &err;
    let mismatch = match any.downcast_ref::<RecordError>() {
        Some(RecordError::Validation(reason)) => Some(reason.clone()),
        _ => None,
    };
    if let Some(reason) = mismatch {
        return LearnerError::ModelChanged {
            path,
            epoch,
            reason,
        };
    }
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
