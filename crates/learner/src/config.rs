//! The training configuration: what `configs/*.json` hold, checked once into a valid form.

use std::ops::Deref;
use std::path::Path;

use burn::optim::SgdConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::lr_scheduler::LrSchedulerConfig;
use burn::optim::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::optim::lr_scheduler::linear::LinearLrSchedulerConfig;
use burn::optim::lr_scheduler::module_lr_scheduler::{ModuleLrScheduler, ModuleLrSchedulerConfig};
use burn::optim::lr_scheduler::step::StepLrSchedulerConfig;
use burn::optim::momentum::MomentumConfig;
use data::{DatasetKind, SplitConfig, Task};
use model::{Head, LogisticRegressionConfig};
use serde::{Deserialize, Serialize};

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
    /// Dataset: `mnist` or `fashion-mnist`.
    pub dataset: DatasetKind,
    /// The problem: every class (default), a pair of classes, or one class against the rest.
    pub task: Task,
    /// How the validation set is held out of the training images.
    pub validation: SplitConfig,
    /// The logistic regression `trainer` trains: the model crate's own Burn config, written as
    /// a partial object (`{"head": "OneVsRest"}`); `input_size` and `num_classes` are left out
    /// (0 in Rust) to take them from the data and the task. A model of your own, trained with
    /// [`crate::train_model`], is built by its own closure and ignores this block.
    #[serde(with = "model_block")]
    pub model: LogisticRegressionConfig,
    /// Stochastic gradient descent.
    pub optimizer: SgdSettings,
    /// How the learning rate evolves over the run.
    pub lr_schedule: LrSchedule,
    /// Number of epochs (validation and checkpoint after each).
    pub epochs: usize,
    /// `None`: an epoch is one pass over the training images. `Some(n)`: an epoch is `n`
    /// iterations over a continuous reshuffled stream (the article's "report every 500").
    pub iterations_per_epoch: Option<usize>,
    /// Training images per iteration.
    pub batch_size: usize,
    /// Images per batch when evaluating (validation and test).
    pub eval_batch_size: usize,
    /// Seed of the weight initialisation and of the shuffling.
    pub seed: u64,
    /// Stop when the validation loss has not improved for a while; off when `null`.
    pub early_stopping: Option<EarlyStopping>,
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
            dataset: DatasetKind::Mnist,
            task: Task::AllClasses,
            validation: SplitConfig::default(),
            model: model_block::default_config(),
            optimizer: SgdSettings::default(),
            lr_schedule: LrSchedule::default(),
            epochs: 10,
            iterations_per_epoch: None,
            batch_size: 128,
            eval_batch_size: 1000,
            seed: 42,
            early_stopping: None,
            log_interval: 100,
        }
    }
}

/// The `model` block of a config: [`LogisticRegressionConfig`] itself, read as a partial
/// object over its defaults, with `input_size` and `num_classes` 0 ("from the data") unless
/// given, and written without them when they are 0.
///
/// Burn's `#[derive(Config)]` deserialiser needs every field and ignores unknown ones; a
/// hand-written config needs the opposite, hence this module.
mod model_block {
    use model::LogisticRegressionConfig;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::{Map, Value};

    const SIZES: [&str; 2] = ["input_size", "num_classes"];
    const FIELDS: &[&str] = &["input_size", "num_classes", "bias", "head"];

    /// The default model: the crate's defaults, sizes from the data.
    pub(super) fn default_config() -> LogisticRegressionConfig {
        LogisticRegressionConfig::new()
            .with_input_size(0)
            .with_num_classes(0)
    }

    pub(super) fn serialize<S: Serializer>(
        config: &LogisticRegressionConfig,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut fields = match serde_json::to_value(config) {
            Ok(Value::Object(fields)) => fields,
            _ => {
                return Err(serde::ser::Error::custom(
                    "a model config serialises to an object",
                ));
            }
        };
        for size in SIZES {
            if fields.get(size) == Some(&Value::from(0)) {
                fields.remove(size);
            }
        }
        fields.serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<LogisticRegressionConfig, D::Error> {
        let given = Map::<String, Value>::deserialize(deserializer)?;
        let Ok(Value::Object(mut fields)) = serde_json::to_value(default_config()) else {
            return Err(D::Error::custom("a model config serialises to an object"));
        };
        for (name, value) in given {
            if !FIELDS.contains(&name.as_str()) {
                return Err(D::Error::unknown_field(&name, FIELDS));
            }
            fields.insert(name, value);
        }
        serde_json::from_value(Value::Object(fields)).map_err(D::Error::custom)
    }
}

/// Stochastic gradient descent settings; the update is PyTorch's `torch.optim.SGD`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SgdSettings {
    /// Step size (the initial one when a schedule changes it).
    pub learning_rate: f64,
    /// Momentum factor in `[0, 1)`; 0 disables momentum.
    pub momentum: f64,
    /// Dampening of the momentum in `[0, 1]` (PyTorch's default is 0).
    pub dampening: f64,
    /// Nesterov momentum (needs `momentum > 0` and `dampening == 0`).
    pub nesterov: bool,
    /// L2 penalty added to the gradient, `>= 0`.
    pub weight_decay: f64,
}

impl Default for SgdSettings {
    /// The tuned defaults (`configs/default.json`): learning rate 0.2, momentum 0.9, no
    /// dampening, no Nesterov, weight decay 1e-5. A partial `optimizer` block takes these for
    /// the fields it leaves out. (The article's plain SGD at 0.001 is `configs/seed.json`.)
    fn default() -> Self {
        Self {
            learning_rate: 0.2,
            momentum: 0.9,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 1e-5,
        }
    }
}

/// Learning-rate schedule, stepped once per iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LrSchedule {
    /// The learning rate stays as configured.
    Constant,
    /// Cosine annealing from the learning rate to `min_lr` over the whole run.
    Cosine {
        /// Final learning rate.
        #[serde(default)]
        min_lr: f64,
    },
    /// Linear decay from the learning rate to `final_lr` over the whole run.
    Linear {
        /// Final learning rate.
        final_lr: f64,
    },
    /// Multiply the learning rate by `gamma` every `every_epochs` epochs.
    Step {
        /// Epochs between two decays.
        every_epochs: usize,
        /// Decay factor in `(0, 1]`.
        gamma: f64,
    },
}

impl Default for LrSchedule {
    /// Cosine annealing to 0, the tuned default.
    fn default() -> Self {
        Self::Cosine { min_lr: 0.0 }
    }
}

/// Early stopping on the validation loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStopping {
    /// Epochs without a new best validation loss before training stops.
    pub patience: usize,
}

/// Largest config file read: a config is a few hundred bytes; anything near this is not one.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Largest number of epochs accepted.
pub const MAX_EPOCHS: usize = 1_000_000;
/// Largest `iterations_per_epoch` accepted.
pub const MAX_ITERATIONS_PER_EPOCH: usize = 1_000_000_000;
/// Largest batch size accepted (training and evaluation).
pub const MAX_BATCH_SIZE: usize = 1_000_000;

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
                "`{field}` is an array; every config value is a number, a string, true/false, \
                 null or an object ({{...}}) with named fields"
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
        self.check_task()?;
        self.check_optimizer()?;
        self.check_schedule()?;
        self.check_counts()?;
        Ok(ValidConfig(self))
    }

    fn check_task(&self) -> Result<(), ConfigError> {
        if let Err(problem) = self.task.validate(self.dataset.num_classes()) {
            return invalid("task", problem);
        }
        let classes = self.task.num_classes(self.dataset);
        if ![0, classes].contains(&self.model.num_classes) {
            return invalid(
                "model.num_classes",
                format!(
                    "is {}, but the task has {classes} classes; leave it out to take it from \
                     the task",
                    self.model.num_classes
                ),
            );
        }
        if self.model.head == Head::Binary && self.task == Task::AllClasses {
            return invalid(
                "model.head",
                "is Binary, which separates two classes: set `task` to \
                 {\"type\": \"pair\", \"positive\": 3, \"negative\": 8} or \
                 {\"type\": \"against-rest\", \"positive\": 0}, or use the Softmax or OneVsRest head",
            );
        }
        Ok(())
    }

    fn check_optimizer(&self) -> Result<(), ConfigError> {
        let opt = &self.optimizer;
        if !(opt.learning_rate.is_finite() && opt.learning_rate > 0.0) {
            return invalid(
                "optimizer.learning_rate",
                format!("must be a finite number > 0, got {}", opt.learning_rate),
            );
        }
        f32_value("optimizer.learning_rate", opt.learning_rate)?;
        if !(0.0..1.0).contains(&opt.momentum) {
            return invalid(
                "optimizer.momentum",
                format!("must be in [0, 1), got {}", opt.momentum),
            );
        }
        f32_value("optimizer.momentum", opt.momentum)?;
        if !(0.0..=1.0).contains(&opt.dampening) {
            return invalid(
                "optimizer.dampening",
                format!("must be in [0, 1], got {}", opt.dampening),
            );
        }
        f32_value("optimizer.dampening", opt.dampening)?;
        if opt.nesterov && (opt.momentum == 0.0 || opt.dampening != 0.0) {
            return invalid("optimizer.nesterov", "needs momentum > 0 and dampening = 0");
        }
        if !(opt.weight_decay.is_finite() && opt.weight_decay >= 0.0) {
            return invalid(
                "optimizer.weight_decay",
                format!("must be a finite number >= 0, got {}", opt.weight_decay),
            );
        }
        f32_value("optimizer.weight_decay", opt.weight_decay)
    }

    fn check_schedule(&self) -> Result<(), ConfigError> {
        let lr = self.optimizer.learning_rate;
        match self.lr_schedule {
            LrSchedule::Constant => Ok(()),
            LrSchedule::Cosine { min_lr } => {
                if !(min_lr.is_finite() && (0.0..=lr).contains(&min_lr)) {
                    return invalid(
                        "lr_schedule.min_lr",
                        format!("must be in [0, learning_rate = {lr}], got {min_lr}"),
                    );
                }
                f32_value("lr_schedule.min_lr", min_lr)?;
                if lr > 1.0 {
                    return invalid(
                        "optimizer.learning_rate",
                        format!(
                            "must be at most 1 with a cosine schedule (Burn's limit), got {lr}"
                        ),
                    );
                }
                Ok(())
            }
            LrSchedule::Linear { final_lr } => {
                if !(final_lr.is_finite() && final_lr >= 0.0) {
                    return invalid(
                        "lr_schedule.final_lr",
                        format!("must be a finite number >= 0, got {final_lr}"),
                    );
                }
                f32_value("lr_schedule.final_lr", final_lr)?;
                if lr > 1.0 || final_lr > 1.0 {
                    return invalid(
                        "optimizer.learning_rate",
                        "must be at most 1 with a linear schedule (Burn's limit)",
                    );
                }
                Ok(())
            }
            LrSchedule::Step {
                every_epochs,
                gamma,
            } => {
                at_most("lr_schedule.every_epochs", every_epochs, 1, MAX_EPOCHS)?;
                if !(gamma > 0.0 && gamma <= 1.0) {
                    return invalid(
                        "lr_schedule.gamma",
                        format!("must be in (0, 1], got {gamma}"),
                    );
                }
                f32_value("lr_schedule.gamma", gamma)
            }
        }
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
        if self.validation.size == 0 {
            return invalid("validation.size", "must be at least 1");
        }
        if let Some(early) = &self.early_stopping
            && early.patience == 0
        {
            return invalid("early_stopping.patience", "must be at least 1");
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

/// Settings that decide what a run's checkpoints are made of: a resume must keep them. (The
/// number of epochs, the optimizer's settings, early stopping, evaluation batches and logging
/// may change: lowering the learning rate after a divergence is what its error advises.)
const KEPT_ON_RESUME: [&str; 8] = [
    "dataset",
    "task",
    "validation",
    "model",
    "batch_size",
    "iterations_per_epoch",
    "seed",
    "lr_schedule",
];

/// The settings a resume with `config` would change among those it must keep, each as
/// `field: old -> new`, compared with the config the run's checkpoints were made with.
pub(crate) fn resume_changes(recorded: &TrainingConfig, config: &TrainingConfig) -> Vec<String> {
    let (old, new) = (
        serde_json::to_value(recorded).expect("a config serialises"),
        serde_json::to_value(config).expect("a config serialises"),
    );
    let mut changes = Vec::new();
    for field in KEPT_ON_RESUME {
        differences(field.to_string(), &old[field], &new[field], &mut changes);
    }
    changes
}

/// Appends `path: old -> new` for every leaf where `old` and `new` differ.
fn differences(
    path: String,
    old: &serde_json::Value,
    new: &serde_json::Value,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    match (old, new) {
        (Value::Object(old_fields), Value::Object(new_fields))
            if old_fields.get("type") == new_fields.get("type") =>
        {
            let mut names: Vec<&String> = old_fields.keys().chain(new_fields.keys()).collect();
            names.sort();
            names.dedup();
            for name in names {
                differences(
                    format!("{path}.{name}"),
                    old_fields.get(name).unwrap_or(&Value::Null),
                    new_fields.get(name).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        _ if old != new => out.push(format!("{path}: {old} -> {new}")),
        _ => {}
    }
}

/// What a diverged run's error advises. The learning rate, unless the weight decay is beyond
/// any sensible value (above 1) and its step alone overshoots (`learning_rate * weight_decay >
/// 1` flips the sign of every weight each step, so the weights grow without bound): then the
/// weight decay, and both when the learning rate is also large.
pub(crate) fn divergence_advice(config: &TrainingConfig) -> String {
    let opt = &config.optimizer;
    let (lr, decay) = (opt.learning_rate, opt.weight_decay);
    let lower_lr = format!(
        "the learning rate {lr:?} is probably too large: lower optimizer.learning_rate (or \
         --learning-rate)"
    );
    if !(decay > 1.0 && lr * decay > 1.0) {
        return lower_lr;
    }
    let lower_decay = format!(
        "the weight decay {decay:?} is too strong for the learning rate {lr:?} (their product \
         is above 1, so each step overshoots): lower optimizer.weight_decay"
    );
    if lr > 1.0 {
        format!("{lower_decay}; and {lower_lr}")
    } else {
        lower_decay
    }
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

/// The dotted path of the first array inside `value` (`""` for `value` itself).
fn first_array(value: &serde_json::Value, path: String) -> Option<String> {
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

    /// The logistic regression's config for images of `input_size` pixels and a task of
    /// `num_classes` classes: the `model` block with the sizes it left out filled in. A size
    /// it gave that differs is an error naming it.
    pub fn model_config(
        &self,
        input_size: usize,
        num_classes: usize,
    ) -> Result<LogisticRegressionConfig, ConfigError> {
        let mut model = self.model.clone();
        for (field, given, actual) in [
            ("model.input_size", &mut model.input_size, input_size),
            ("model.num_classes", &mut model.num_classes, num_classes),
        ] {
            if *given != 0 && *given != actual {
                return invalid(
                    field,
                    format!(
                        "is {given}, but the data has {actual}; leave it out to take it from \
                         the data"
                    ),
                );
            }
            *given = actual;
        }
        model.validate().map_err(|err| ConfigError::Invalid {
            field: "model",
            problem: err.to_string(),
        })?;
        Ok(model)
    }

    /// Burn's SGD with these settings.
    pub fn sgd(&self) -> SgdConfig {
        let opt = &self.optimizer;
        let mut sgd = SgdConfig::new();
        if opt.momentum > 0.0 {
            sgd = sgd.with_momentum(Some(
                MomentumConfig::new()
                    .with_momentum(opt.momentum)
                    .with_dampening(opt.dampening)
                    .with_nesterov(opt.nesterov),
            ));
        }
        if opt.weight_decay > 0.0 {
            sgd = sgd.with_weight_decay(Some(WeightDecayConfig::new(opt.weight_decay as f32)));
        }
        sgd
    }

    /// Burn's learning-rate scheduler for a run of `iterations_per_epoch * epochs` steps.
    pub fn scheduler(&self, iterations_per_epoch: usize) -> Result<ModuleLrScheduler, ConfigError> {
        let lr = self.optimizer.learning_rate;
        let total = iterations_per_epoch
            .checked_mul(self.epochs)
            .ok_or_else(|| ConfigError::Invalid {
                field: "epochs",
                problem: format!(
                    "{} epochs of {iterations_per_epoch} iterations are more iterations than \
                     can be counted",
                    self.epochs
                ),
            })?
            .max(1);
        let base: LrSchedulerConfig = match self.lr_schedule {
            LrSchedule::Constant => lr.into(),
            LrSchedule::Cosine { min_lr } => CosineAnnealingLrSchedulerConfig::new(lr, total)
                .with_min_lr(min_lr)
                .into(),
            LrSchedule::Linear { final_lr } => {
                LinearLrSchedulerConfig::new(lr, final_lr, total).into()
            }
            LrSchedule::Step {
                every_epochs,
                gamma,
            } => {
                let step = every_epochs
                    .checked_mul(iterations_per_epoch)
                    .ok_or_else(|| ConfigError::Invalid {
                        field: "lr_schedule.every_epochs",
                        problem: format!(
                            "{every_epochs} epochs of {iterations_per_epoch} iterations are more \
                             iterations than can be counted"
                        ),
                    })?;
                StepLrSchedulerConfig::new(lr, step)
                    .with_gamma(gamma)
                    .into()
            }
        };
        ModuleLrSchedulerConfig::new(base)
            .init()
            .map_err(|problem| ConfigError::Invalid {
                field: "lr_schedule",
                problem,
            })
    }
}
