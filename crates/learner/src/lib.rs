//! Training, evaluation and saved runs for any Burn image classifier, built on burn-train's
//! Learner. The learner names no concrete model: it trains whatever implements
//! [`model::ImageClassifier`] (the zoo's models, or yours).
//!
//! - `config`: [`TrainingConfig`] (JSON, `configs/*.json`), checked once into a
//!   [`ValidConfig`].
//! - `train`: [`train_model`] runs Burn's `SupervisedTraining` (SGD, the model's loss,
//!   metrics, checkpoints, resume, early stopping, the divergence stop, Ctrl-C and SIGTERM,
//!   dashboard or [`PlainRenderer`]), then evaluates on the test set and writes the run;
//!   [`evaluate`] measures any model on any [`data::ImageSet`]; [`BackendKind`] picks the
//!   compute backend.
//! - `run`: the run folder ([`ArtifactDir`], [`RunFolder`]): manifest, lock, checkpoints,
//!   history, the model's card (`model.json`), [`Summary`].
//! - `record`: metric logs, TensorBoard events, progress, [`plots`], [`EvalReport`].
//! - [`cli`] (feature `cli`): the trainer's command line (train, eval, predict, runs) for any
//!   model: a binary of your own is its model and one call.
#![warn(missing_docs)]

#[cfg(feature = "cli")]
pub mod cli;
mod config;
mod error;
mod record;
pub mod run;
mod train;

pub use config::{
    AdaGradSettings, AdamSettings, EarlyStopping, FinalModel, GradientClipping, LrSchedule,
    MAX_ACCUMULATION, MAX_BATCH_SIZE, MAX_CONFIG_BYTES, MAX_EPOCHS, MAX_ITERATIONS_PER_EPOCH,
    Metric, Mode, Monitor, OPTIMIZERS, Optimizer, RmsPropSettings, SgdSettings, TrainingConfig,
    ValidConfig, Warmup,
};
pub use error::{ConfigError, LearnerError};
pub use record::events::EVENTS_PREFIX;
pub use record::plots;
pub use record::renderer::PlainRenderer;
pub use record::report::{ClassFigures, Confusion, EvalReport};
pub use run::folder::{ArtifactDir, MODEL_FILES, RUN_ENTRIES, RunFolder, write_atomic};
pub use run::lock::{FolderLock, LOCK};
pub use run::manifest::{MANIFEST, Manifest};
pub use run::summary::{HistoryEntry, Summary};
pub use train::backend::{BackendError, BackendKind};
pub use train::classifier::{Classifier, Divergence};
pub use train::evaluate::{Evaluation, evaluate};
pub use train::lr_find::{LrFindSettings, LrFinding, lr_find};
pub use train::signals::survive_file_size_limit;
pub use train::threads::compute_on_this_thread;
pub use train::{ProgressMode, TrainOptions, TrainReport, train_model};
