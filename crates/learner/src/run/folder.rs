//! The artifacts folder of a run: what is saved where, written so that no file is ever left
//! half-written.
//!
//! ```text
//! <artifacts>/
//!   config.json     the training config of the run
//!   model.json      the model's card: its kind and config, the images it takes, its classes,
//!                   how a picture becomes its input (model::zoo::ModelCard)
//!   model.bpk       the trained weights (Burn burnpack record of the model)
//!   summary.json    figures of the run (accuracies, loss, timings, history)
//!   history.jsonl   validation and test figures of each epoch, measured as it was checkpointed
//!   eval.json       the test evaluation: confusion matrix, per-class figures, most confused
//!   curves.png confusion.png   pictures of the run
//!   model.safetensors weights.png extras/   files the model adds (the linear model's PyTorch
//!                   weights and weight templates)
//!   experiment.log  Burn's log
//!   events.out.tfevents.*  TensorBoard's event files, one per process that trained the run
//!   train/ valid/   metric logs in Burn's layout, one folder per epoch
//!   checkpoint/     Burn's checkpoints (model, optimizer, scheduler) of the last epochs
//!   manifest.jsonl  what the run wrote: the only files `--overwrite` removes
//!   .lock           held by the process writing in the folder
//! ```
//!
//! [`ArtifactDir`] reads; a [`RunFolder`], which holds the folder's lock, writes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::prelude::*;

use crate::run::lock::FolderLock;
use crate::run::manifest::{Manifest, remove_listed};
use crate::{LearnerError, Summary, TrainingConfig};

/// File and folder names a run writes into its artifacts folder (besides its `manifest.jsonl`
/// and `.lock`). `--overwrite` removes what the run's manifest lists under these names, and
/// nothing else.
pub const RUN_ENTRIES: [&str; 15] = [
    "config.json",
    "model.json",
    "model.bpk",
    "model.safetensors",
    "summary.json",
    "history.jsonl",
    "eval.json",
    "curves.png",
    "confusion.png",
    "weights.png",
    "experiment.log",
    "train",
    "valid",
    "checkpoint",
    "extras",
];

/// The files of [`RUN_ENTRIES`] a model may add to its run through
/// [`model::ImageClassifier::extra_artifacts`], besides any `extras/<file>`; the learner writes
/// all the others itself.
pub const MODEL_FILES: [&str; 2] = ["model.safetensors", "weights.png"];

/// An artifacts folder, for reading (a [`RunFolder`] writes).
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

    /// `manifest.jsonl`: what the run wrote (see [`Manifest`]).
    pub fn manifest_path(&self) -> PathBuf {
        Manifest::path(&self.root)
    }

    /// Whether the folder holds a run of this trainer (it has a manifest).
    pub fn holds_run(&self) -> bool {
        self.manifest_path().is_file()
    }

    /// Takes the folder for a new run: creates it, locks it against other processes, refuses an
    /// earlier run unless `overwrite` (then removes what that run's manifest lists, and nothing
    /// else), and starts a fresh manifest. A folder holding files named like a run's that no
    /// run listed is refused, `overwrite` or not: they are not ours to replace.
    pub fn start_run(&self, overwrite: bool) -> Result<RunFolder, LearnerError> {
        if self.root.exists() && !self.root.is_dir() {
            return Err(self.problem("exists but is not a folder; choose another --artifacts path"));
        }
        // Checked before the lock too, so that a refused folder is left without a lock file.
        if !self.holds_run() {
            self.refuse_foreign()?;
        }
        let lock = FolderLock::acquire(&self.root)?;
        crate::run::manifest::remove_stale_manifest_copies(&self.root);
        if self.holds_run() {
            if !overwrite {
                return Err(LearnerError::RunExists {
                    path: self.root.clone(),
                });
            }
            remove_listed(&self.root)?;
            // A real folder left behind (holding something not ours) is written into; a file or a
            // link in the way of a run's name is not.
            let left: Vec<&str> = self
                .foreign_entries()
                .into_iter()
                .filter(|entry| {
                    !std::fs::symlink_metadata(self.root.join(entry))
                        .is_ok_and(|m| m.file_type().is_dir())
                })
                .collect();
            if !left.is_empty() {
                return Err(self.problem(&format!(
                    "still holds {} after --overwrite removed the earlier run's files: no run \
                     listed them, so they were left; move them away, or choose another \
                     --artifacts folder",
                    left.join(", ")
                )));
            }
        } else {
            self.refuse_foreign()?;
        }
        let manifest = Manifest::create(&self.root)?;
        Ok(RunFolder {
            dir: self.clone(),
            manifest: Arc::new(manifest),
            _lock: lock,
            recorded: None,
        })
    }

    /// Takes the folder of an earlier run to continue it (`--resume`) or to add to it
    /// (`trainer eval`): locks it and opens its manifest.
    pub fn reopen_run(&self) -> Result<RunFolder, LearnerError> {
        if !self.root.is_dir() {
            return Err(self
                .problem("does not exist or is not a folder; give the artifacts folder of a run"));
        }
        // Checked before the lock too, so that a folder that is no run is left without one.
        if self.holds_run() {
            let lock = FolderLock::acquire(&self.root)?;
            if self.holds_run() {
                let (manifest, listing) = Manifest::open(&self.root)?;
                return Ok(RunFolder {
                    dir: self.clone(),
                    manifest: Arc::new(manifest),
                    _lock: lock,
                    recorded: listing.config,
                });
            }
        }
        let found = self.foreign_entries();
        let problem = if found.is_empty() {
            "holds no run of this trainer (no manifest.jsonl): train one there first, or give \
             the artifacts folder of one"
                .to_string()
        } else {
            format!(
                "holds {} but no manifest.jsonl, so no run of this trainer wrote them (or one \
                 older than this version); start a new run in another --artifacts folder",
                found.join(", ")
            )
        };
        Err(self.problem(&problem))
    }

    /// The run entries present in the folder: in one without a manifest, files that look like
    /// a run's but were not written by one of this trainer.
    fn foreign_entries(&self) -> Vec<&'static str> {
        let mut found: Vec<&'static str> = RUN_ENTRIES
            .iter()
            .copied()
            .filter(|entry| std::fs::symlink_metadata(self.root.join(entry)).is_ok())
            .collect();
        let events = std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten();
        if events
            .into_iter()
            .any(|entry| crate::run::manifest::is_event_file(&entry.file_name().to_string_lossy()))
        {
            found.push("TensorBoard event files (events.out.tfevents.*)");
        }
        found
    }

    fn refuse_foreign(&self) -> Result<(), LearnerError> {
        let found = self.foreign_entries();
        if found.is_empty() {
            return Ok(());
        }
        Err(self.problem(&format!(
            "holds {} but no manifest.jsonl, so no run of this trainer wrote them (or one older \
             than this version); --overwrite only removes what a run listed in its manifest: \
             choose another --artifacts folder, or move those away",
            found.join(", ")
        )))
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

    /// Reads `model.json`: the model's card.
    pub fn load_card(&self) -> Result<model::zoo::ModelCard, LearnerError> {
        let path = self.model_config_path();
        if !path.is_file() {
            return Err(self.missing(&path));
        }
        Ok(model::zoo::read_card(&self.root)?)
    }

    /// `history.jsonl`: each epoch's figures, measured as the epoch was checkpointed.
    pub fn history_path(&self) -> PathBuf {
        self.root.join("history.jsonl")
    }

    /// Reads `summary.json`.
    ///
    /// Only a regular file of at most 64 MiB is read, and its figures must be possible ones
    /// (accuracies in `[0, 1]`, finite losses and times): a summary edited by hand or damaged
    /// is an error, never a table row of "inf %".
    pub fn load_summary(&self) -> Result<Summary, LearnerError> {
        let path = self.summary_path();
        if std::fs::symlink_metadata(&path).is_err() {
            return Err(self.missing(&path));
        }
        let unreadable = |problem: String| LearnerError::ReadArtifact {
            path: path.clone(),
            problem,
        };
        let bytes = data::read_regular_file(&path, 64 << 20, "a run's summary")
            .map_err(|err| unreadable(err.to_string()))?;
        let summary: Summary =
            serde_json::from_slice(&bytes).map_err(|err| unreadable(err.to_string()))?;
        summary.check().map_err(unreadable)?;
        Ok(summary)
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

/// An artifacts folder taken by this process for writing: locked against other processes
/// while it lives, with the manifest that lists what it writes. Every write goes through it.
#[derive(Debug)]
pub struct RunFolder {
    dir: ArtifactDir,
    manifest: Arc<Manifest>,
    _lock: FolderLock,
    recorded: Option<TrainingConfig>,
}

impl std::ops::Deref for RunFolder {
    type Target = ArtifactDir;

    fn deref(&self) -> &ArtifactDir {
        &self.dir
    }
}

impl RunFolder {
    /// The folder, for reading.
    pub fn dir(&self) -> &ArtifactDir {
        &self.dir
    }

    /// The manifest, for those that write files of the run (the metric logs, checkpoints).
    pub fn manifest(&self) -> &Arc<Manifest> {
        &self.manifest
    }

    /// The config the run's checkpoints were made with, as its manifest last recorded it.
    pub fn recorded_config(&self) -> Option<&TrainingConfig> {
        self.recorded.as_ref()
    }

    /// Writes `bytes` to `path` in the folder atomically, after listing it in the manifest.
    pub fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), LearnerError> {
        self.manifest.claim(path)?;
        write_atomic(path, bytes)
    }

    /// Writes `config.json` and records the config in the manifest.
    pub fn save_config(&self, config: &TrainingConfig) -> Result<(), LearnerError> {
        self.manifest.record_config(config)?;
        self.write(&self.config_path(), config.to_json().as_bytes())
    }

    /// Saves the final model as `model.bpk` (atomically, by Burn's burnpack writer).
    pub fn save_model<M: Module>(&self, model: &M) -> Result<(), LearnerError> {
        let path = self.model_path();
        self.manifest.claim(&path)?;
        model
            .clone()
            .save_file(&path)
            .map_err(|err| LearnerError::Write {
                path,
                source: std::io::Error::other(err.to_string()),
            })
    }

    /// Writes `model.json`: the model's card, with its own config (see
    /// [`crate::run::card`]).
    pub fn save_card(&self, json: &str) -> Result<(), LearnerError> {
        self.write(&self.model_config_path(), json.as_bytes())
    }

    /// Writes the files a model adds to its run ([`model::ImageClassifier::extra_artifacts`]),
    /// heat maps drawn as PNG. Checked before anything is written: each name must be one of
    /// [`MODEL_FILES`] or `extras/<file>` (never a file the learner writes itself, such as
    /// `model.bpk`), and given once. Returns the pictures written, for TensorBoard.
    pub fn save_extras(
        &self,
        extras: &[model::ExtraArtifact],
    ) -> Result<Vec<(String, Vec<u8>)>, LearnerError> {
        let mut seen = std::collections::HashSet::new();
        for extra in extras {
            let name = extra.name();
            let problem = if !is_model_file(name) {
                format!(
                    "is not a file a model may add to its run: the learner writes the run's other \
                     files itself, and a model's extra_artifacts may only name {} or \
                     extras/<file>",
                    MODEL_FILES.join(", ")
                )
            } else if !seen.insert(name) {
                "is named twice by the model's extra_artifacts: each file may be given once"
                    .to_string()
            } else {
                continue;
            };
            return Err(LearnerError::Artifacts {
                path: self.root().join(name),
                problem,
            });
        }
        let mut pictures = Vec::new();
        for extra in extras {
            let path = self.root().join(extra.name());
            if let Some(parent) = path.parent().filter(|parent| *parent != self.root()) {
                self.manifest.create_dir_all(parent)?;
            }
            match extra {
                model::ExtraArtifact::File { bytes, .. } => self.write(&path, bytes)?,
                model::ExtraArtifact::Heatmaps {
                    name,
                    height,
                    width,
                    maps,
                } => {
                    let png = crate::record::plots::heatmaps_png(*height, *width, maps)?;
                    self.write(&path, &png)?;
                    pictures.push((name.clone(), png));
                }
            }
        }
        Ok(pictures)
    }

    /// Writes the test evaluation: `eval.json` and its heat map `confusion.png`.
    pub fn save_report(&self, report: &crate::EvalReport) -> Result<(), LearnerError> {
        self.save_eval(report)?;
        self.write(
            &self.picture_path("confusion.png"),
            &crate::record::plots::confusion_png(report)?,
        )
    }

    /// Writes `eval.json`.
    pub fn save_eval(&self, report: &crate::EvalReport) -> Result<(), LearnerError> {
        let json = serde_json::to_string_pretty(report).expect("an EvalReport always serialises");
        self.write(&self.eval_path(), json.as_bytes())
    }

    /// Writes `summary.json`.
    pub fn save_summary(&self, summary: &Summary) -> Result<(), LearnerError> {
        let json = serde_json::to_string_pretty(summary).expect("a Summary always serialises");
        self.write(&self.summary_path(), json.as_bytes())
    }
}

/// Whether a model may write `name` ([`MODEL_FILES`], or `extras/<plain file name>`).
fn is_model_file(name: &str) -> bool {
    if MODEL_FILES.contains(&name) {
        return true;
    }
    name.strip_prefix("extras/").is_some_and(|file| {
        !file.is_empty()
            && !file.starts_with('.')
            && !file.contains(['/', '\\'])
            && crate::run::manifest::temporary_of(file).is_none()
    })
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so that
/// `path` holds either its old content or the new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), LearnerError> {
    use std::io::Write;
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let error = |source| LearnerError::Write {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .ok_or_else(|| error(std::io::Error::other("the path names no file")))?;
    // `<name>.<pid>-<n>.tmp`, burn-pack's scheme, which `--overwrite` recognises; created with
    // `create_new`, which neither truncates an existing file nor follows a planted link.
    let (temporary, mut file) = loop {
        let mut scratch = name.to_os_string();
        scratch.push(format!(
            ".{}-{}.tmp",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let temporary = path.with_file_name(scratch);
        match std::fs::File::create_new(&temporary) {
            Ok(file) => break (temporary, file),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(error(err)),
        }
    };
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    if let Err(err) = written.and_then(|()| std::fs::rename(&temporary, path)) {
        let _ = std::fs::remove_file(&temporary);
        return Err(error(err));
    }
    Ok(())
}
