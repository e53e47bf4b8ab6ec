//! The training configuration: what `configs/*.json` hold, checked once into a valid form.
//!
//! The data (`dataset`, `task`, `validation`), the model block (read by the model's builder),
//! the optimizer and its gradient clipping (`optimizer`), the schedule and its warmup, the
//! length of the run, what is watched on the validation set (`monitor`: early stopping, the
//! best epoch's weights), and the checkpoints kept.

pub(crate) mod optimizer;
pub mod resume;
pub(crate) mod schedule;

use std::ops::Deref;
use std::path::Path;

use burn::optim::ModuleOptimizer;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use data::{DatasetSpec, SplitConfig, Task};
use serde::{Deserialize, Serialize};

pub use optimizer::{
    AdaGradSettings, AdamSettings, GradientClipping, OPTIMIZERS, Optimizer, RmsPropSettings,
    SgdSettings,
};
pub use schedule::{LrSchedule, Warmup};

use crate::ConfigError;

/// Everything that defines a training run. Serialised as JSON (`configs/*.json`, and
/// `config.json` in every artifacts folder). Missing fields take their default; unknown fields
/// are rejected, so a typo never goes unnoticed.
///
/// Burn's `#[derive(Config)]` makes every defaulted field mandatory in JSON and ignores unknown
/// fields, which is wrong for a hand-written file, so this struct uses serde directly and
/// implements Burn's [`Config`](burn::config::Config) trait for `save`/`load`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingConfig {
    /// The data: `"mnist"`, `"fashion-mnist"`, or a block naming its format, folder, size,
    /// channels, normalisation and augmentation ([`DatasetSpec`]).
    #[serde(with = "data::dataset_block")]
    pub dataset: DatasetSpec,
    /// The problem: every class (default), a pair of classes, or one class against the rest.
    pub task: Task,
    /// How the validation set is held out of the training images.
    pub validation: SplitConfig,
    /// The model, as a block its builder reads: for the trainer and `learner::cli` with the
    /// zoo, `{"kind": "mlp", "hidden": [256]}` (`model::zoo::ModelConfig`; a block without
    /// `kind` is the logistic regression's, as configs written before the zoo say it). The
    /// learner itself never reads it: a model of your own is built by your code.
    pub model: serde_json::Value,
    /// The optimizer: SGD (the default, also for a block without `type`), Adam, AdamW,
    /// RMSprop or Adagrad, with its settings.
    pub optimizer: Optimizer,
    /// Gradient clipping before each optimizer step, by norm or by value; none when `null`.
    pub gradient_clipping: Option<GradientClipping>,
    /// Batches whose gradients are summed into one optimizer step (1: none); the effective
    /// batch is `batch_size * accumulation`.
    pub accumulation: usize,
    /// How the learning rate evolves over the run.
    pub lr_schedule: LrSchedule,
    /// A linear warmup before the schedule; none when `null`.
    pub warmup: Option<Warmup>,
    /// Number of epochs (validation and checkpoint after each).
    pub epochs: usize,
    /// `None`: an epoch is one pass over the training images. `Some(n)`: an epoch is `n`
    /// iterations over a continuous reshuffled stream (the article's "report every 500").
    pub iterations_per_epoch: Option<usize>,
    /// Training images per iteration.
    pub batch_size: usize,
    /// Images per batch when evaluating (validation and test).
    pub eval_batch_size: usize,
    /// Seed of the weight initialisation, the shuffling and the augmentation.
    pub seed: u64,
    /// The validation figure early stopping and the best epoch follow; the validation loss by
    /// default.
    pub monitor: Monitor,
    /// Stop when the monitored figure has not improved for a while; off when `null`.
    pub early_stopping: Option<EarlyStopping>,
    /// Which epoch's weights the run keeps as `model.bpk` and reports on the test set: the
    /// `last` (default) or the `best` by the monitored figure.
    pub final_model: FinalModel,
    /// Checkpoints kept on disk: the last this many epochs' (at least 1; with `final_model`
    /// `best`, the best epoch's too; every epoch's figures stay in `history.jsonl` whatever is
    /// deleted).
    pub keep_checkpoints: usize,
    /// Plain (non-terminal) progress prints one line every this many iterations; 0 prints only
    /// the per-epoch lines.
    pub log_interval: usize,
}

impl burn::config::Config for TrainingConfig {}

impl Default for TrainingConfig {
    /// The tuned defaults, identical to `configs/default.json`: chosen on the validation set
    /// by `scripts/sweep.py` (the fewest epochs within 0.1 pp of the best validation accuracy).
    fn default() -> Self {
        Self {
            dataset: DatasetSpec::mnist(),
            task: Task::AllClasses,
            validation: SplitConfig::default(),
            model: serde_json::json!({}),
            optimizer: Optimizer::default(),
            gradient_clipping: None,
            accumulation: 1,
            lr_schedule: LrSchedule::default(),
            warmup: None,
            epochs: 10,
            iterations_per_epoch: None,
            batch_size: 128,
            eval_batch_size: 1000,
            seed: 42,
            monitor: Monitor::default(),
            early_stopping: None,
            final_model: FinalModel::Last,
            keep_checkpoints: 2,
            log_interval: 100,
        }
    }
}

/// A validation figure to watch: `{"metric": "accuracy"}` (its `mode`, `max` for accuracy and
/// `min` for loss, may be given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monitor {
    /// The figure.
    pub metric: Metric,
    /// Whether lower or higher is better; the metric's natural one when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
}

impl Default for Monitor {
    /// The validation loss, lower is better.
    fn default() -> Self {
        Self {
            metric: Metric::Loss,
            mode: None,
        }
    }
}

impl Monitor {
    /// Whether lower is better.
    pub fn lower_is_better(&self) -> bool {
        match self.mode {
            Some(mode) => mode == Mode::Min,
            None => self.metric == Metric::Loss,
        }
    }

    /// `value` of a history entry or a log, in the figure's own unit (accuracy in `[0, 1]`).
    pub fn of(&self, entry: &crate::HistoryEntry) -> f64 {
        match self.metric {
            Metric::Loss => entry.validation_loss,
            Metric::Accuracy => entry.validation_accuracy,
        }
    }
}

/// A validation figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// The mean loss.
    Loss,
    /// The fraction classified right.
    Accuracy,
}

impl Metric {
    /// Its name as Burn's metrics call it (`Loss`, `Accuracy`).
    pub fn burn_name(self) -> &'static str {
        match self {
            Metric::Loss => "Loss",
            Metric::Accuracy => "Accuracy",
        }
    }
}

/// Whether lower or higher is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

/// Early stopping on the monitored validation figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStopping {
    /// Epochs without an improvement before training stops.
    pub patience: usize,
    /// How much better than the best so far a figure must be to count as an improvement
    /// (loss units, or accuracy as a fraction); 0 by default.
    #[serde(default)]
    pub min_delta: f64,
}

/// Which epoch's weights a run keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinalModel {
    /// The last epoch's (or the last step's, when a run is stopped mid-epoch).
    #[default]
    Last,
    /// The epoch with the best monitored validation figure.
    Best,
}

/// Largest config file read: a config is a few hundred bytes; anything near this is not one.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Largest number of epochs accepted.
pub const MAX_EPOCHS: usize = 1_000_000;
/// Largest `iterations_per_epoch` accepted.
pub const MAX_ITERATIONS_PER_EPOCH: usize = 1_000_000_000;
/// Largest batch size accepted (training and evaluation).
pub const MAX_BATCH_SIZE: usize = 1_000_000;
/// Largest gradient accumulation accepted.
pub const MAX_ACCUMULATION: usize = 1_000_000;

impl TrainingConfig {
    /// Reads a JSON config file. Missing fields take their defaults; unknown fields, wrong
    /// types and malformed JSON are errors that name the file, the field and the position.
    ///
    /// Only a regular file of at most [`MAX_CONFIG_BYTES`] is read: a FIFO would block, and a
    /// device such as `/dev/zero` would never end.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let bytes =
            data::read_regular_file(path, MAX_CONFIG_BYTES, "a config file").map_err(|err| {
                ConfigError::Read {
                    path: path.to_path_buf(),
                    source: match err {
                        data::DataError::Io { source, .. } => Box::new(source),
                        other => Box::new(other),
                    },
                }
            })?;
        let text = String::from_utf8(bytes).map_err(|err| ConfigError::Parse {
            path: path.to_path_buf(),
            reason: format!(
                "it is not UTF-8 text (invalid byte at offset {}); save it as UTF-8",
                err.utf8_error().valid_up_to()
            ),
        })?;
        Self::from_json(&text).map_err(|err| match err {
            ConfigError::Json { reason } => ConfigError::Parse {
                path: path.to_path_buf(),
                reason,
            },
            other => other,
        })
    }

    /// Parses a JSON config. The error is serde's message, which names the field and position.
    ///
    /// The text must be one JSON object, without arrays anywhere: serde would otherwise read an
    /// array as a struct by position (`[0.1, 0.9]` as an `optimizer`), silently. A UTF-8
    /// byte-order mark, which some editors write, is skipped.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let json = |reason: String| ConfigError::Json { reason };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|err| json(err.to_string()))?;
        if !value.is_object() {
            return Err(json(format!(
                "a config is a JSON object ({{\"epochs\": 10, ...}}), not {}",
                json_kind(&value)
            )));
        }
        if let Some(field) = first_array(&value, String::new()) {
            return Err(json(format!(
                "`{field}` is an array; apart from a few lists (dataset.image_size, \
                 dataset.classes, dataset.normalize, the model's settings) every config value is \
                 a number, a string, true/false, null or an object ({{...}}) with named fields"
            )));
        }
        serde_json::from_str(text).map_err(|err| json(err.to_string()))
    }

    /// The config as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a TrainingConfig always serialises")
    }

    /// Checks every value once. Everything downstream takes the [`ValidConfig`] this returns.
    pub fn validate(self) -> Result<ValidConfig, ConfigError> {
        self.check_data()?;
        self.optimizer.check()?;
        if let Some(clipping) = &self.gradient_clipping {
            clipping.check()?;
        }
        let lr = self.optimizer.learning_rate();
        schedule::check(&self.lr_schedule, lr)?;
        if let Some(warmup) = self.warmup {
            schedule::check_warmup(warmup, self.epochs, lr)?;
        }
        self.check_counts()?;
        Ok(ValidConfig(self))
    }

    fn check_data(&self) -> Result<(), ConfigError> {
        self.dataset
            .validate()
            .map_err(|(field, problem)| ConfigError::Field { field, problem })?;
        if !self.model.is_object() {
            return invalid(
                "model",
                format!(
                    "is {}; it is a block such as {{\"kind\": \"mlp\", \"hidden\": [256]}}",
                    json_kind(&self.model)
                ),
            );
        }
        if let Err(problem) = self.task.validate(usize::from(data::Label::MAX) + 1) {
            return invalid("task", problem);
        }
        Ok(())
    }

    fn check_counts(&self) -> Result<(), ConfigError> {
        at_most("epochs", self.epochs, 1, MAX_EPOCHS)?;
        if let Some(iterations) = self.iterations_per_epoch {
            at_most(
                "iterations_per_epoch",
                iterations,
                1,
                MAX_ITERATIONS_PER_EPOCH,
            )?;
        }
        at_most("batch_size", self.batch_size, 1, MAX_BATCH_SIZE)?;
        at_most("eval_batch_size", self.eval_batch_size, 1, MAX_BATCH_SIZE)?;
        at_most("accumulation", self.accumulation, 1, MAX_ACCUMULATION)?;
        if let Some(early) = &self.early_stopping {
            if early.patience == 0 {
                return invalid("early_stopping.patience", "must be at least 1");
            }
            if !(early.min_delta.is_finite() && early.min_delta >= 0.0) {
                return invalid(
                    "early_stopping.min_delta",
                    format!("must be a finite number >= 0, got {}", early.min_delta),
                );
            }
        }
        at_most("keep_checkpoints", self.keep_checkpoints, 1, MAX_EPOCHS)?;
        if let Some(size) = self.validation.size
            && size == 0
        {
            return invalid("validation.size", "must be at least 1");
        }
        Ok(())
    }
}

fn invalid<T>(field: &'static str, problem: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError::Invalid {
        field,
        problem: problem.into(),
    })
}

/// `value` must be in `low..=high`.
fn at_most(field: &'static str, value: usize, low: usize, high: usize) -> Result<(), ConfigError> {
    if value < low {
        return invalid(field, format!("must be at least {low}"));
    }
    if value > high {
        return invalid(field, format!("must be at most {high}, got {value}"));
    }
    Ok(())
}

/// The model trains in 32-bit floats: `value` must survive the conversion, neither becoming
/// infinite (above 3.4e38) nor, when it is not 0, vanishing to 0 (below about 1.4e-45).
fn f32_value(field: &'static str, value: f64) -> Result<(), ConfigError> {
    let single = value as f32;
    if !single.is_finite() {
        return invalid(
            field,
            format!(
                "is {value}, too large for the 32-bit floats the model trains in (at most {:e})",
                f32::MAX
            ),
        );
    }
    if value != 0.0 && single == 0.0 {
        return invalid(
            field,
            format!("is {value}, which is 0 in the 32-bit floats the model trains in"),
        );
    }
    Ok(())
}

/// The JSON kind of `value`, in words.
fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// `value` must be a finite number above 0 that survives the 32-bit floats.
fn positive(field: &'static str, value: f64) -> Result<(), ConfigError> {
    if !(value.is_finite() && value > 0.0) {
        return invalid(field, format!("must be a finite number > 0, got {value}"));
    }
    f32_value(field, value)
}

/// Fields whose values are arrays; everywhere else an array is refused.
const ARRAY_FIELDS: [&str; 5] = [
    "dataset.image_size",
    "dataset.classes",
    "dataset.normalize.mean",
    "dataset.normalize.std",
    "optimizer.betas",
];

/// The dotted path of the first array inside `value` (`""` for `value` itself) where no array
/// belongs: anywhere but [`ARRAY_FIELDS`] and the model block (read by the model's builder,
/// whose settings may be lists: `"hidden": [256, 128]`).
fn first_array(value: &serde_json::Value, path: String) -> Option<String> {
    if ARRAY_FIELDS.contains(&path.as_str()) || path == "model" || path.starts_with("model.") {
        return None;
    }
    match value {
        serde_json::Value::Array(_) => Some(path),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(name, field)| {
            let inner = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            first_array(field, inner)
        }),
        _ => None,
    }
}

/// A [`TrainingConfig`] whose values have been checked by [`TrainingConfig::validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidConfig(TrainingConfig);

impl Deref for ValidConfig {
    type Target = TrainingConfig;

    fn deref(&self) -> &TrainingConfig {
        &self.0
    }
}

impl ValidConfig {
    /// The checked config.
    pub fn into_inner(self) -> TrainingConfig {
        self.0
    }

    /// burn-optim's optimizer with these settings and this gradient clipping.
    pub fn optimizer(&self) -> ModuleOptimizer {
        self.optimizer.init(self.gradient_clipping.as_ref())
    }

    /// Burn's learning-rate scheduler for a run of `steps_per_epoch` optimizer steps an
    /// epoch.
    pub fn scheduler(&self, steps_per_epoch: usize) -> Result<ModuleLrScheduler, ConfigError> {
        schedule::scheduler(
            &self.lr_schedule,
            self.optimizer.learning_rate(),
            self.warmup,
            (steps_per_epoch, self.epochs),
        )
    }

    /// Images per optimizer step: the batch times the accumulation.
    pub fn effective_batch_size(&self) -> usize {
        self.batch_size.saturating_mul(self.accumulation)
    }
}
