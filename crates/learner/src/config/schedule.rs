//! How the learning rate evolves: a schedule (constant, cosine, linear, step, exponential),
//! after an optional linear warmup, stepped once per optimizer step; built from burn-optim's
//! own schedulers (a warmup is burn-optim's sequential scheduler: a linear ramp, then the
//! schedule).

use burn::optim::lr_scheduler::LrSchedulerConfig;
use burn::optim::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::optim::lr_scheduler::exponential::ExponentialLrSchedulerConfig;
use burn::optim::lr_scheduler::linear::LinearLrSchedulerConfig;
use burn::optim::lr_scheduler::module_lr_scheduler::{ModuleLrScheduler, ModuleLrSchedulerConfig};
use burn::optim::lr_scheduler::sequential::SequentialLrSchedulerConfig;
use burn::optim::lr_scheduler::step::StepLrSchedulerConfig;
use serde::{Deserialize, Serialize};

use super::{MAX_EPOCHS, at_most, f32_value, invalid};
use crate::ConfigError;

/// Learning-rate schedule, stepped once per optimizer step.
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
    /// Multiply the learning rate by `gamma` every epoch, a little at each step (PyTorch's
    /// `ExponentialLR` stepped per epoch, smoothed).
    Exponential {
        /// Decay factor per epoch, in `(0, 1]`.
        gamma: f64,
    },
}

impl Default for LrSchedule {
    /// Cosine annealing to 0, the tuned default.
    fn default() -> Self {
        Self::Cosine { min_lr: 0.0 }
    }
}

/// A linear warmup before the schedule: the learning rate rises from near 0 to its value over
/// this many epochs or optimizer steps (`{"epochs": 1}`, `{"iterations": 500}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Warmup {
    /// Warmup over whole epochs.
    Epochs(usize),
    /// Warmup over optimizer steps.
    Iterations(usize),
}

impl Warmup {
    /// Its length in optimizer steps, for epochs of `steps_per_epoch`.
    pub fn steps(self, steps_per_epoch: usize) -> usize {
        match self {
            Self::Epochs(epochs) => epochs.saturating_mul(steps_per_epoch),
            Self::Iterations(steps) => steps,
        }
    }
}

/// Checks the schedule against the learning rate it starts from.
pub(crate) fn check(schedule: &LrSchedule, lr: f64) -> Result<(), ConfigError> {
    match *schedule {
        LrSchedule::Constant => Ok(()),
        LrSchedule::Cosine { min_lr } => {
            if !(min_lr.is_finite() && (0.0..=lr).contains(&min_lr)) {
                return invalid(
                    "lr_schedule.min_lr",
                    format!("must be in [0, learning_rate = {lr}], got {min_lr}"),
                );
            }
            f32_value("lr_schedule.min_lr", min_lr)?;
            at_most_one(lr, "a cosine schedule")
        }
        LrSchedule::Linear { final_lr } => {
            if !(final_lr.is_finite() && final_lr >= 0.0) {
                return invalid(
                    "lr_schedule.final_lr",
                    format!("must be a finite number >= 0, got {final_lr}"),
                );
            }
            f32_value("lr_schedule.final_lr", final_lr)?;
            at_most_one(lr.max(final_lr), "a linear schedule")
        }
        LrSchedule::Step {
            every_epochs,
            gamma,
        } => {
            at_most("lr_schedule.every_epochs", every_epochs, 1, MAX_EPOCHS)?;
            gamma_in_range(gamma)
        }
        LrSchedule::Exponential { gamma } => gamma_in_range(gamma),
    }
}

fn gamma_in_range(gamma: f64) -> Result<(), ConfigError> {
    if !(gamma > 0.0 && gamma <= 1.0) {
        return invalid(
            "lr_schedule.gamma",
            format!("must be in (0, 1], got {gamma}"),
        );
    }
    f32_value("lr_schedule.gamma", gamma)
}

fn at_most_one(lr: f64, what: &str) -> Result<(), ConfigError> {
    if lr > 1.0 {
        return invalid(
            "optimizer.learning_rate",
            format!("must be at most 1 with {what} or a warmup (Burn's limit), got {lr}"),
        );
    }
    Ok(())
}

/// The warmup must leave some of the run to the schedule.
pub(crate) fn check_warmup(warmup: Warmup, epochs: usize, lr: f64) -> Result<(), ConfigError> {
    match warmup {
        Warmup::Epochs(0) | Warmup::Iterations(0) => invalid(
            "warmup",
            "must be at least 1 epoch or iteration (or null for none)",
        ),
        Warmup::Epochs(warmup) if warmup >= epochs => invalid(
            "warmup.epochs",
            format!(
                "is {warmup}, and the run has {epochs} epoch{}: the warmup must be shorter than \
                 the run",
                if epochs == 1 { "" } else { "s" }
            ),
        ),
        _ => at_most_one(lr, "a warmup"),
    }
}

/// Burn's scheduler for `schedule` starting at `lr`, after `warmup`, over a run of
/// `steps_per_epoch * epochs` optimizer steps.
pub(crate) fn scheduler(
    schedule: &LrSchedule,
    lr: f64,
    warmup: Option<Warmup>,
    (steps_per_epoch, epochs): (usize, usize),
) -> Result<ModuleLrScheduler, ConfigError> {
    let total = steps_per_epoch
        .checked_mul(epochs)
        .ok_or_else(|| ConfigError::Invalid {
            field: "epochs",
            problem: format!(
                "{epochs} epochs of {steps_per_epoch} iterations are more iterations than can be \
                 counted"
            ),
        })?
        .max(1);
    let warm = warmup.map_or(0, |warmup| warmup.steps(steps_per_epoch));
    if warm >= total {
        return invalid(
            "warmup",
            format!(
                "is {warm} steps, and the run has {total}: the warmup must be shorter than the run"
            ),
        );
    }
    let main = main_schedule(schedule, lr, total - warm, steps_per_epoch)?;
    let config = if warm == 0 {
        main
    } else {
        // From lr / warm up to lr, linearly; burn-optim's linear scheduler reaches its final
        // value at step `warm`, where the schedule takes over.
        let ramp = LinearLrSchedulerConfig::new(lr / warm as f64, lr, warm).into();
        SequentialLrSchedulerConfig::new(vec![ramp, main], vec![warm]).into()
    };
    ModuleLrSchedulerConfig::new(config)
        .init()
        .map_err(|problem| ConfigError::Invalid {
            field: "lr_schedule",
            problem,
        })
}

fn main_schedule(
    schedule: &LrSchedule,
    lr: f64,
    steps: usize,
    steps_per_epoch: usize,
) -> Result<LrSchedulerConfig, ConfigError> {
    Ok(match *schedule {
        LrSchedule::Constant => lr.into(),
        LrSchedule::Cosine { min_lr } => CosineAnnealingLrSchedulerConfig::new(lr, steps)
            .with_min_lr(min_lr)
            .into(),
        LrSchedule::Linear { final_lr } => LinearLrSchedulerConfig::new(lr, final_lr, steps).into(),
        LrSchedule::Step {
            every_epochs,
            gamma,
        } => {
            let step =
                every_epochs
                    .checked_mul(steps_per_epoch)
                    .ok_or_else(|| ConfigError::Invalid {
                        field: "lr_schedule.every_epochs",
                        problem: format!(
                            "{every_epochs} epochs of {steps_per_epoch} iterations are more \
                         iterations than can be counted"
                        ),
                    })?;
            StepLrSchedulerConfig::new(lr, step.max(1))
                .with_gamma(gamma)
                .into()
        }
        LrSchedule::Exponential { gamma } => {
            let per_step = gamma.powf(1.0 / steps_per_epoch.max(1) as f64);
            ExponentialLrSchedulerConfig::new(lr, per_step).into()
        }
    })
}
