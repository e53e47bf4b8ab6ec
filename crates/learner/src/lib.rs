//! Training, evaluation and saved artifacts for any Burn image classifier, built on
//! burn-train's Learner.
//!
//! - [`ImageClassifier`]: one method, `logits`; any `#[derive(Module)]` model that implements
//!   it trains here. The [`model`] crate's logistic regression is one.
//! - [`TrainingConfig`] (JSON, `configs/*.json`) is checked once into a [`ValidConfig`].
//! - [`train_model`] runs Burn's `SupervisedTraining` (SGD, the model's loss, accuracy / loss /
//!   learning-rate metrics, checkpoints, resume, optional early stopping, divergence stop,
//!   Ctrl-C, dashboard or [`PlainRenderer`]), then evaluates on the test set and writes an
//!   [`ArtifactDir`]; [`train`] is it for the logistic regression.
//! - [`evaluate`] measures a model on any [`data::ImageSet`]; [`EvalReport`] adds per-class
//!   figures and the most confused classes; [`plots`] draws curves, the confusion matrix and
//!   the weight templates.
//! - [`BackendKind`] picks the compute backend among those compiled in.
#![warn(missing_docs)]

mod artifacts;
mod backend;
mod checkpoints;
mod classifier;
mod config;
mod error;
mod evaluate;
mod events;
mod interrupt;
mod logistic;
mod manifest;
mod metric_log;
pub mod plots;
mod renderer;
mod report;
mod train;

pub use artifacts::{ArtifactDir, HistoryEntry, RUN_ENTRIES, RunFolder, Summary, write_atomic};
pub use backend::{BackendError, BackendKind};
pub use classifier::{Classifier, Divergence, ExtraArtifact, ImageClassifier, RunContext};
pub use config::{
    EarlyStopping, LrSchedule, MAX_BATCH_SIZE, MAX_CONFIG_BYTES, MAX_EPOCHS,
    MAX_ITERATIONS_PER_EPOCH, SgdSettings, TrainingConfig, ValidConfig,
};
pub use error::{ConfigError, LearnerError};
pub use evaluate::{Evaluation, evaluate};
pub use events::EVENTS_PREFIX;
pub use manifest::{FolderLock, LOCK, MANIFEST, Manifest};
pub use renderer::PlainRenderer;
pub use report::{ClassFigures, Confusion, EvalReport};
pub use train::{ProgressMode, TrainOptions, TrainReport, train, train_model};
