//! A run's history: the validation and test figures of each epoch's model, measured as its
//! checkpoint is written and appended to `history.jsonl`, one JSON line per epoch. Checkpoints
//! may then be deleted (a run keeps only its last few) without losing the history.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use burn::prelude::*;
use data::{ImageBatcher, ImageSet};
use model::Classify;

use crate::run::manifest::Manifest;
use crate::{Evaluation, HistoryEntry, LearnerError, RunFolder, evaluate};

/// Largest history read: a line is about 200 bytes.
const MAX_HISTORY_BYTES: u64 = 64 << 20;

/// What a model is measured on: the validation and test sets, batched as for evaluation.
#[derive(Debug, Clone)]
pub(crate) struct EvalSets {
    pub(crate) validation: ImageSet,
    pub(crate) test: ImageSet,
    pub(crate) batcher: ImageBatcher,
    pub(crate) batch_size: usize,
    pub(crate) device: Device,
}

impl EvalSets {
    /// `model` on the validation set and the test set.
    pub(crate) fn measure(
        &self,
        model: &dyn Classify,
    ) -> Result<(Evaluation, Evaluation), LearnerError> {
        let on =
            |set: &ImageSet| evaluate(model, set, self.batch_size, &self.batcher, &self.device);
        Ok((on(&self.validation)?, on(&self.test)?))
    }

    /// The history line of `model` after `epoch` (at `iteration`).
    pub(crate) fn entry(
        &self,
        model: &dyn Classify,
        epoch: usize,
        iteration: usize,
    ) -> Result<HistoryEntry, LearnerError> {
        let (validation, test) = self.measure(model)?;
        Ok(HistoryEntry {
            epoch,
            iteration,
            validation_accuracy: validation.accuracy,
            validation_loss: validation.loss,
            test_accuracy: test.accuracy,
            test_loss: test.loss,
            train_seconds: None,
        })
    }
}

/// A run's `history.jsonl`, for appending.
#[derive(Debug, Clone)]
pub(crate) struct History {
    manifest: Arc<Manifest>,
    path: PathBuf,
}

impl History {
    pub(crate) fn new(folder: &RunFolder) -> Self {
        Self {
            manifest: folder.manifest().clone(),
            path: folder.history_path(),
        }
    }

    /// Appends `entry` as one line (one write, so a kill leaves whole lines and at most one torn
    /// last line, which the reader skips).
    pub(crate) fn append(&self, entry: &HistoryEntry) -> Result<(), LearnerError> {
        self.manifest.claim(&self.path)?;
        let line = serde_json::to_string(entry).expect("a history entry serialises") + "\n";
        let write = || {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            file.write_all(line.as_bytes())?;
            file.sync_data()
        };
        write().map_err(|source| LearnerError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

/// The history of the run in `folder`: the last line written for each epoch (a resumed run
/// measures again the epochs it trains again). Lines that do not parse are skipped; a missing
/// file is an empty history.
pub(crate) fn read(folder: &crate::ArtifactDir) -> BTreeMap<usize, HistoryEntry> {
    let path = folder.history_path();
    let Ok(bytes) = data::read_regular_file(&path, MAX_HISTORY_BYTES, "a run's history") else {
        return BTreeMap::new();
    };
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|line| serde_json::from_str::<HistoryEntry>(line).ok())
        .map(|entry| (entry.epoch, entry))
        .collect()
}
