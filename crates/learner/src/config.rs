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
use model::Head;
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
    /// Model options.
    pub model: ModelSettings,
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
            model: ModelSettings::default(),
            optimizer: SgdSettings {
                learning_rate: 0.2,
                momentum: 0.9,
                dampening: 0.0,
                nesterov: false,
                weight_decay: 1e-5,
            },
            lr_schedule: LrSchedule::Cosine { min_lr: 0.0 },
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

/// Model options (sizes come from the dataset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSettings {
    /// Whether the linear layer has a bias.
    pub bias: bool,
    /// `Softmax` (multinomial, the default), `OneVsRest` (a sigmoid per class) or `Binary`
    /// (one sigmoid; needs a two-class `task`).
    pub head: Head,
}

impl Default for ModelSettings {
    fn default() -> Self {
        Self {
            bias: true,
            head: Head::Softmax,
        }
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
    /// The article's optimizer: plain SGD, learning rate 0.001.
    fn default() -> Self {
        Self {
            learning_rate: 0.001,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }
}

/// Learning-rate schedule, stepped once per iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LrSchedule {
    /// The learning rate stays as configured.
    #[default]
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

/// Early stopping on the validation loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStopping {
    /// Epochs without a new best validation loss before training stops.
    pub patience: usize,
}

impl TrainingConfig {
    /// Reads a JSON config file. Missing fields take their defaults; unknown fields, wrong
    /// types and malformed JSON are errors that name the file, the field and the position.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text).map_err(|reason| ConfigError::Parse {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parses a JSON config. The error is serde's message, which names the field and position.
    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|err| err.to_string())
    }

    /// The config as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a TrainingConfig always serialises")
    }

    /// Checks every value once. Everything downstream takes the [`ValidConfig`] this returns.
    pub fn validate(self) -> Result<ValidConfig, ConfigError> {
        let invalid =
            |field: &'static str, problem: String| Err(ConfigError::Invalid { field, problem });
        if let Err(problem) = self.task.validate(self.dataset.num_classes()) {
            return invalid("task", problem);
        }
        if self.model.head == Head::Binary && self.task == Task::AllClasses {
            return invalid(
                "model.head",
                "is Binary, which separates two classes: set `task` to \
                 {\"type\": \"pair\", \"positive\": 3, \"negative\": 8} or \
                 {\"type\": \"against-rest\", \"positive\": 0}, or use the Softmax or OneVsRest head"
                    .to_string(),
            );
        }
        let opt = &self.optimizer;
        if !(opt.learning_rate.is_finite() && opt.learning_rate > 0.0) {
            return invalid(
                "optimizer.learning_rate",
                format!("must be a finite number > 0, got {}", opt.learning_rate),
            );
        }
        if !(0.0..1.0).contains(&opt.momentum) {
            return invalid(
                "optimizer.momentum",
                format!("must be in [0, 1), got {}", opt.momentum),
            );
        }
        if !(0.0..=1.0).contains(&opt.dampening) {
            return invalid(
                "optimizer.dampening",
                format!("must be in [0, 1], got {}", opt.dampening),
            );
        }
        if opt.nesterov && (opt.momentum == 0.0 || opt.dampening != 0.0) {
            return invalid(
                "optimizer.nesterov",
                "needs momentum > 0 and dampening = 0".to_string(),
            );
        }
        if !(opt.weight_decay.is_finite() && opt.weight_decay >= 0.0) {
            return invalid(
                "optimizer.weight_decay",
                format!("must be a finite number >= 0, got {}", opt.weight_decay),
            );
        }
        match self.lr_schedule {
            LrSchedule::Constant => {}
            LrSchedule::Cosine { min_lr } => {
                if !(min_lr.is_finite() && (0.0..=opt.learning_rate).contains(&min_lr)) {
                    return invalid(
                        "lr_schedule.min_lr",
                        format!(
                            "must be in [0, learning_rate = {}], got {min_lr}",
                            opt.learning_rate
                        ),
                    );
                }
                if opt.learning_rate > 1.0 {
                    return invalid(
                        "optimizer.learning_rate",
                        format!(
                            "must be at most 1 with a cosine schedule (Burn's limit), got {}",
                            opt.learning_rate
                        ),
                    );
                }
            }
            LrSchedule::Linear { final_lr } => {
                if !(final_lr.is_finite() && final_lr >= 0.0) {
                    return invalid(
                        "lr_schedule.final_lr",
                        format!("must be a finite number >= 0, got {final_lr}"),
                    );
                }
                if opt.learning_rate > 1.0 || final_lr > 1.0 {
                    return invalid(
                        "optimizer.learning_rate",
                        "must be at most 1 with a linear schedule (Burn's limit)".to_string(),
                    );
                }
            }
            LrSchedule::Step {
                every_epochs,
                gamma,
            } => {
                if every_epochs == 0 {
                    return invalid("lr_schedule.every_epochs", "must be at least 1".to_string());
                }
                if !(gamma > 0.0 && gamma <= 1.0) {
                    return invalid(
                        "lr_schedule.gamma",
                        format!("must be in (0, 1], got {gamma}"),
                    );
                }
            }
        }
        if self.epochs == 0 {
            return invalid("epochs", "must be at least 1".to_string());
        }
        if self.iterations_per_epoch == Some(0) {
            return invalid(
                "iterations_per_epoch",
                "must be at least 1 (or null for full passes)".to_string(),
            );
        }
        if self.batch_size == 0 {
            return invalid("batch_size", "must be at least 1".to_string());
        }
        if self.eval_batch_size == 0 {
            return invalid("eval_batch_size", "must be at least 1".to_string());
        }
        if self.validation.size == 0 {
            return invalid("validation.size", "must be at least 1".to_string());
        }
        if let Some(early) = &self.early_stopping
            && early.patience == 0
        {
            return invalid("early_stopping.patience", "must be at least 1".to_string());
        }
        Ok(ValidConfig(self))
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
        let total = (iterations_per_epoch * self.epochs).max(1);
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
            } => StepLrSchedulerConfig::new(lr, every_epochs * iterations_per_epoch)
                .with_gamma(gamma)
                .into(),
        };
        ModuleLrSchedulerConfig::new(base)
            .init()
            .map_err(|problem| ConfigError::Invalid {
                field: "lr_schedule",
                problem,
            })
    }
}
