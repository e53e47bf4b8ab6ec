//! The artifacts folder of a run: what is saved where, written so that no file is ever left
//! half-written.
//!
//! ```text
//! <artifacts>/
//!   config.json     the training config of the run
//!   model.json      the model's Burn config (input size, classes, bias)
//!   model.bpk       the trained weights (Burn burnpack record of model::LogisticRegression)
//!   summary.json    figures of the run (accuracies, loss, timings, history)
//!   eval.json       the test evaluation: confusion matrix, per-class figures, most confused
//!   model.safetensors  the weights in PyTorch's nn.Linear layout
//!   curves.png confusion.png weights.png   pictures of the run
//!   experiment.log  Burn's log
//!   train/ valid/   metric logs in Burn's layout, one folder per epoch
//!   checkpoint/     Burn's checkpoints (model, optimizer, scheduler) of every epoch
//! ```

use std::path::{Path, PathBuf};

use burn::config::Config;
use burn::prelude::*;
use model::{LogisticRegression, LogisticRegressionConfig};
use serde::{Deserialize, Serialize};

use crate::{LearnerError, TrainingConfig};

/// File and folder names a run writes into its artifacts folder; `--overwrite` removes these
/// and nothing else.
pub const RUN_ENTRIES: [&str; 13] = [
    "config.json",
    "model.json",
    "model.bpk",
    "model.safetensors",
    "summary.json",
    "eval.json",
    "curves.png",
    "confusion.png",
    "weights.png",
    "experiment.log",
    "train",
    "valid",
    "checkpoint",
];

/// Figures of a finished (or interrupted) run, saved as `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Dataset name (`mnist`, `fashion-mnist`).
    pub dataset: String,
    /// Backend name.
    pub backend: String,
    /// The device, as Burn describes it.
    pub device: String,
    /// Epochs completed.
    pub epochs: usize,
    /// Optimizer steps completed.
    pub iterations: usize,
    /// Training images per iteration.
    pub batch_size: usize,
    /// Initial learning rate.
    pub learning_rate: f64,
    /// Images in the training, validation and test sets.
    pub train_size: usize,
    /// Images in the validation set.
    pub validation_size: usize,
    /// Images in the test set.
    pub test_size: usize,
    /// Accuracy of the final model on the validation set, in `[0, 1]`.
    pub validation_accuracy: f64,
    /// Mean cross-entropy of the final model on the validation set.
    pub validation_loss: f64,
    /// Accuracy of the final model on the test set, in `[0, 1]`.
    pub test_accuracy: f64,
    /// Mean cross-entropy of the final model on the test set.
    pub test_loss: f64,
    /// Seconds spent in training epochs by this process (validation excluded).
    pub train_seconds: f64,
    /// Training images per second over those epochs.
    pub samples_per_second: f64,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// Whether the run was interrupted (the dashboard's `q`, Ctrl-C) before its last epoch.
    pub interrupted: bool,
    /// The checkpoint epoch this process resumed from, if it resumed.
    pub resumed_from_epoch: Option<usize>,
    /// Where the data came from.
    pub data_source: String,
    /// Test (and validation) figures after each epoch, from that epoch's checkpoint.
    pub history: Vec<HistoryEntry>,
}

/// The model's figures after one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Optimizer steps done by the end of this epoch.
    pub iteration: usize,
    /// Validation accuracy, in `[0, 1]`.
    pub validation_accuracy: f64,
    /// Validation loss.
    pub validation_loss: f64,
    /// Test accuracy, in `[0, 1]` (a report only: never used to choose anything).
    pub test_accuracy: f64,
    /// Test loss.
    pub test_loss: f64,
    /// Training seconds (validation excluded) spent by the end of this epoch, counted from the
    /// start of the process that trained it; `None` for epochs trained by an earlier process
    /// before a resume.
    pub train_seconds: Option<f64>,
}

/// An artifacts folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactDir {
    root: PathBuf,
}

impl ArtifactDir {
    /// The artifacts folder at `root` (nothing is touched on disk).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config.json`: the training config.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.json")
    }

    /// `model.json`: the model config.
    pub fn model_config_path(&self) -> PathBuf {
        self.root.join("model.json")
    }

    /// `model.bpk`: the trained weights.
    pub fn model_path(&self) -> PathBuf {
        self.root.join("model.bpk")
    }

    /// `summary.json`.
    pub fn summary_path(&self) -> PathBuf {
        self.root.join("summary.json")
    }

    /// `eval.json`: the test evaluation report.
    pub fn eval_path(&self) -> PathBuf {
        self.root.join("eval.json")
    }

    /// `model.safetensors`: the weights in PyTorch's layout.
    pub fn safetensors_path(&self) -> PathBuf {
        self.root.join("model.safetensors")
    }

    /// A picture in the folder (`curves.png`, `confusion.png`, `weights.png`).
    pub fn picture_path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Burn's checkpoint folder.
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.root.join("checkpoint")
    }

    /// Whether the folder holds (part of) an earlier run.
    pub fn holds_run(&self) -> bool {
        RUN_ENTRIES
            .iter()
            .any(|entry| self.root.join(entry).exists())
    }

    /// Makes the folder ready for a new run: creates it, refuses to touch an earlier run unless
    /// `overwrite` (then removes that run's files, and only those), and checks that it can be
    /// written to.
    pub fn prepare_new_run(&self, overwrite: bool) -> Result<(), LearnerError> {
        if self.root.exists() && !self.root.is_dir() {
            return Err(self.problem("exists but is not a folder; choose another --artifacts path"));
        }
        if self.holds_run() {
            if !overwrite {
                return Err(self.problem(
                    "holds an earlier run; pass --resume to continue it, --overwrite to replace \
                     it, or choose another --artifacts folder",
                ));
            }
            for entry in RUN_ENTRIES {
                let path = self.root.join(entry);
                let removed = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else if path.exists() {
                    std::fs::remove_file(&path)
                } else {
                    Ok(())
                };
                removed.map_err(|source| LearnerError::Write { path, source })?;
            }
        }
        self.ensure_writable()
    }

    /// Creates the folder if needed and checks that a file can be written in it.
    pub fn ensure_writable(&self) -> Result<(), LearnerError> {
        std::fs::create_dir_all(&self.root).map_err(|err| {
            self.problem(&format!(
                "cannot be created ({err}); choose a writable --artifacts folder"
            ))
        })?;
        let probe = self.root.join(".write-test");
        std::fs::write(&probe, b"ok")
            .and_then(|()| std::fs::remove_file(&probe))
            .map_err(|err| {
                self.problem(&format!(
                    "is not writable ({err}); choose a writable --artifacts folder"
                ))
            })
    }

    /// Epochs that have a complete checkpoint (model, optimizer and scheduler), in order.
    pub fn checkpoint_epochs(&self) -> Vec<usize> {
        let dir = self.checkpoint_dir();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut epochs: Vec<usize> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                name.strip_prefix("model-")?
                    .strip_suffix(".bpk")?
                    .parse()
                    .ok()
            })
            .filter(|&epoch| {
                ["optim", "scheduler"]
                    .iter()
                    .all(|part| self.checkpoint_path(part, epoch).is_file())
            })
            .collect();
        epochs.sort_unstable();
        epochs
    }

    /// The model checkpoint file of `epoch`.
    pub fn checkpoint_model_path(&self, epoch: usize) -> PathBuf {
        self.checkpoint_path("model", epoch)
    }

    /// The checkpoint file of `epoch` for `part` (`model`, `optim` or `scheduler`), as Burn's
    /// checkpointers name them.
    pub fn checkpoint_path(&self, part: &str, epoch: usize) -> PathBuf {
        self.checkpoint_dir().join(format!("{part}-{epoch}.bpk"))
    }

    /// Reads `config.json`.
    pub fn load_config(&self) -> Result<TrainingConfig, LearnerError> {
        let path = self.config_path();
        if !path.is_file() {
            return Err(self.missing(&path));
        }
        Ok(TrainingConfig::from_file(&path)?)
    }

    /// Reads `model.json`.
    pub fn load_model_config(&self) -> Result<LogisticRegressionConfig, LearnerError> {
        let path = self.model_config_path();
        if !path.is_file() {
            return Err(self.missing(&path));
        }
        let config = <LogisticRegressionConfig as Config>::load(&path).map_err(|err| {
            LearnerError::ReadArtifact {
                path: path.clone(),
                problem: err.to_string(),
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Rebuilds the trained model from `model.json` and `model.bpk` on `device`.
    pub fn load_model(&self, device: &Device) -> Result<LogisticRegression, LearnerError> {
        let config = self.load_model_config()?;
        Ok(config.load_weights(self.model_path(), device)?)
    }

    /// Reads `summary.json`.
    pub fn load_summary(&self) -> Result<Summary, LearnerError> {
        let path = self.summary_path();
        let text = std::fs::read_to_string(&path).map_err(|_| self.missing(&path))?;
        serde_json::from_str(&text).map_err(|err| LearnerError::ReadArtifact {
            path,
            problem: err.to_string(),
        })
    }

    /// Saves the final model (`model.bpk`, atomically by Burn's burnpack writer) and its config
    /// (`model.json`).
    pub fn save_model(&self, model: &LogisticRegression) -> Result<(), LearnerError> {
        write_atomic(
            &self.model_config_path(),
            burn::config::config_to_json(&model.config()).as_bytes(),
        )?;
        let path = self.model_path();
        model
            .clone()
            .save_file(&path)
            .map_err(|err| LearnerError::Write {
                path,
                source: std::io::Error::other(err.to_string()),
            })
    }

    /// Writes `config.json`.
    pub fn save_config(&self, config: &TrainingConfig) -> Result<(), LearnerError> {
        write_atomic(&self.config_path(), config.to_json().as_bytes())
    }

    /// Writes the test evaluation: `eval.json` and its heat map `confusion.png`.
    pub fn save_report(&self, report: &crate::EvalReport) -> Result<(), LearnerError> {
        let json = serde_json::to_string_pretty(report).expect("an EvalReport always serialises");
        write_atomic(&self.eval_path(), json.as_bytes())?;
        crate::plots::save_confusion(report, &self.picture_path("confusion.png"))
    }

    /// Writes `summary.json`.
    pub fn save_summary(&self, summary: &Summary) -> Result<(), LearnerError> {
        let json = serde_json::to_string_pretty(summary).expect("a Summary always serialises");
        write_atomic(&self.summary_path(), json.as_bytes())
    }

    fn problem(&self, problem: &str) -> LearnerError {
        LearnerError::Artifacts {
            path: self.root.clone(),
            problem: problem.to_string(),
        }
    }

    fn missing(&self, path: &Path) -> LearnerError {
        LearnerError::ReadArtifact {
            path: path.to_path_buf(),
            problem: format!(
                "not found; is {} the artifacts folder of a finished training run?",
                self.root.display()
            ),
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so that
/// `path` holds either its old content or the new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), LearnerError> {
    use std::io::Write;
    let error = |source| LearnerError::Write {
        path: path.to_path_buf(),
        source,
    };
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = folder.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = std::fs::File::create(&temporary).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(err) = written.and_then(|()| std::fs::rename(&temporary, path)) {
        let _ = std::fs::remove_file(&temporary);
        return Err(error(err));
    }
    Ok(())
}
