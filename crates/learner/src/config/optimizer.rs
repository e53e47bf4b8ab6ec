//! The optimizer block: burn-optim's optimizers, named by `type`, each with PyTorch's defaults
//! and checked once; and gradient clipping.
//!
//! ```json
//! "optimizer": {"type": "adamw", "learning_rate": 0.001, "betas": [0.9, 0.999], "weight_decay": 0.01}
//! "optimizer": {"learning_rate": 0.2, "momentum": 0.9}      // no type: SGD, as before
//! ```

use burn::optim::decay::WeightDecayConfig;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdaGradConfig, ModuleOptimizer, RmsPropConfig, SgdConfig};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use super::{invalid, positive};
use crate::ConfigError;
use crate::train::fused_adam::{FusedAdam, FusedAdamW, Moments, module_optimizer};

/// The optimizer and its settings. JSON: an object whose `type` is `sgd` (the default when it
/// has none, as configs written before the other optimizers), `adam`, `adamw`, `rmsprop` or
/// `adagrad`; every other field optional, with PyTorch's defaults (SGD's are the tuned ones).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Optimizer {
    /// Stochastic gradient descent, with momentum (PyTorch's `torch.optim.SGD`).
    Sgd(SgdSettings),
    /// Adam (`torch.optim.Adam`): weight decay as an L2 term added to the gradient.
    Adam(AdamSettings),
    /// AdamW (`torch.optim.AdamW`): weight decay decoupled from the gradient.
    Adamw(AdamSettings),
    /// RMSprop (`torch.optim.RMSprop`).
    Rmsprop(RmsPropSettings),
    /// Adagrad (`torch.optim.Adagrad`).
    Adagrad(AdaGradSettings),
}

impl Default for Optimizer {
    fn default() -> Self {
        Self::Sgd(SgdSettings::default())
    }
}

/// The optimizers' names, as `type` and `--optimizer` take them.
pub const OPTIMIZERS: [&str; 5] = ["sgd", "adam", "adamw", "rmsprop", "adagrad"];

impl<'de> Deserialize<'de> for Optimizer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut fields = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        let kind = match fields.remove("type") {
            None => "sgd".to_string(),
            Some(serde_json::Value::String(kind)) => kind,
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "optimizer.type is {other}; it is one of {}",
                    OPTIMIZERS.join(", ")
                )));
            }
        };
        let fields = serde_json::Value::Object(fields);
        let parsed = match kind.as_str() {
            "sgd" => serde_json::from_value(fields).map(Self::Sgd),
            "adam" => serde_json::from_value(fields).map(Self::Adam),
            "adamw" => {
                // AdamW's own default weight decay, PyTorch's 0.01, where none is given.
                let given = fields.get("weight_decay").is_some();
                serde_json::from_value(fields).map(|mut settings: AdamSettings| {
                    if !given {
                        settings.weight_decay = ADAMW_WEIGHT_DECAY;
                    }
                    Self::Adamw(settings)
                })
            }
            "rmsprop" => serde_json::from_value(fields).map(Self::Rmsprop),
            "adagrad" => serde_json::from_value(fields).map(Self::Adagrad),
            other => {
                return Err(D::Error::custom(format!(
                    "unknown optimizer `{other}`: optimizer.type is one of {}",
                    OPTIMIZERS.join(", ")
                )));
            }
        };
        parsed.map_err(|err| D::Error::custom(format!("optimizer ({kind}): {err}")))
    }
}

impl Optimizer {
    /// The optimizer called `name`, with its defaults.
    pub fn named(name: &str) -> Option<Self> {
        Some(match name {
            "sgd" => Self::Sgd(SgdSettings::default()),
            "adam" => Self::Adam(AdamSettings::default()),
            "adamw" => Self::Adamw(AdamSettings {
                weight_decay: ADAMW_WEIGHT_DECAY,
                ..AdamSettings::default()
            }),
            "rmsprop" => Self::Rmsprop(RmsPropSettings::default()),
            "adagrad" => Self::Adagrad(AdaGradSettings::default()),
            _ => return None,
        })
    }

    /// Its name: `sgd`, `adam`, ...
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sgd(_) => "sgd",
            Self::Adam(_) => "adam",
            Self::Adamw(_) => "adamw",
            Self::Rmsprop(_) => "rmsprop",
            Self::Adagrad(_) => "adagrad",
        }
    }

    /// The (initial) learning rate.
    pub fn learning_rate(&self) -> f64 {
        match self {
            Self::Sgd(s) => s.learning_rate,
            Self::Adam(s) | Self::Adamw(s) => s.learning_rate,
            Self::Rmsprop(s) => s.learning_rate,
            Self::Adagrad(s) => s.learning_rate,
        }
    }

    /// Sets the (initial) learning rate (`--learning-rate`).
    pub fn set_learning_rate(&mut self, rate: f64) {
        match self {
            Self::Sgd(s) => s.learning_rate = rate,
            Self::Adam(s) | Self::Adamw(s) => s.learning_rate = rate,
            Self::Rmsprop(s) => s.learning_rate = rate,
            Self::Adagrad(s) => s.learning_rate = rate,
        }
    }

    /// The weight decay.
    pub fn weight_decay(&self) -> f64 {
        match self {
            Self::Sgd(s) => s.weight_decay,
            Self::Adam(s) | Self::Adamw(s) => s.weight_decay,
            Self::Rmsprop(s) => s.weight_decay,
            Self::Adagrad(s) => s.weight_decay,
        }
    }

    /// Checks every value; the error names the field (`optimizer.betas`).
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        positive("optimizer.learning_rate", self.learning_rate())?;
        let decay = self.weight_decay();
        if !(decay.is_finite() && decay >= 0.0) {
            return invalid(
                "optimizer.weight_decay",
                format!("must be a finite number >= 0, got {decay}"),
            );
        }
        super::f32_value("optimizer.weight_decay", decay)?;
        match self {
            Self::Sgd(s) => s.check(),
            Self::Adam(s) | Self::Adamw(s) => s.check(),
            Self::Rmsprop(s) => s.check(),
            Self::Adagrad(s) => s.check(),
        }
    }

    /// burn-optim's optimizer with these settings, and `clipping` if any.
    pub(crate) fn init(&self, clipping: Option<&GradientClipping>) -> ModuleOptimizer {
        let clip = clipping.map(GradientClipping::burn);
        let decay = |decay: f64| (decay > 0.0).then(|| WeightDecayConfig::new(decay as f32));
        match self {
            Self::Sgd(s) => {
                let mut sgd = SgdConfig::new().with_gradient_clipping(clip);
                if s.momentum > 0.0 {
                    sgd = sgd.with_momentum(Some(
                        MomentumConfig::new()
                            .with_momentum(s.momentum)
                            .with_dampening(s.dampening)
                            .with_nesterov(s.nesterov),
                    ));
                }
                sgd.with_weight_decay(decay(s.weight_decay)).init()
            }
            // burn-optim's Adam and AdamW, fused into one pass per parameter on flex.
            Self::Adam(s) => {
                let decay = (s.weight_decay > 0.0).then_some(s.weight_decay as f32);
                module_optimizer(FusedAdam::new(s.moments(), decay), clip.map(|c| c.init()))
            }
            Self::Adamw(s) => {
                let adamw = FusedAdamW::new(s.moments(), s.weight_decay as f32);
                module_optimizer(adamw, clip.map(|c| c.init()))
            }
            Self::Rmsprop(s) => RmsPropConfig::new()
                .with_alpha(s.alpha as f32)
                .with_momentum(s.momentum as f32)
                .with_epsilon(s.epsilon as f32)
                .with_centered(s.centered)
                .with_weight_decay(decay(s.weight_decay))
                .with_grad_clipping(clip)
                .init(),
            Self::Adagrad(s) => AdaGradConfig::new()
                .with_lr_decay(s.lr_decay)
                .with_epsilon(s.epsilon as f32)
                .with_weight_decay(decay(s.weight_decay))
                .with_grad_clipping(clip)
                .init(),
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

impl SgdSettings {
    fn check(&self) -> Result<(), ConfigError> {
        in_unit("optimizer.momentum", self.momentum, false)?;
        in_unit("optimizer.dampening", self.dampening, true)?;
        if self.nesterov && (self.momentum == 0.0 || self.dampening != 0.0) {
            return invalid("optimizer.nesterov", "needs momentum > 0 and dampening = 0");
        }
        Ok(())
    }
}

/// Adam's and AdamW's settings (PyTorch's defaults; AdamW's weight decay defaults to 0.01).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdamSettings {
    /// Step size (the initial one when a schedule changes it).
    pub learning_rate: f64,
    /// Decay rates of the first and second moment estimates, each in `[0, 1)`.
    pub betas: [f64; 2],
    /// Added to the denominator for numerical stability, `> 0`.
    #[serde(alias = "eps")]
    pub epsilon: f64,
    /// Weight decay, `>= 0`: an L2 term for Adam, decoupled for AdamW.
    pub weight_decay: f64,
    /// The AMSGrad variant.
    pub amsgrad: bool,
}

/// AdamW's default weight decay (PyTorch's).
const ADAMW_WEIGHT_DECAY: f64 = 0.01;

impl Default for AdamSettings {
    fn default() -> Self {
        Self {
            learning_rate: 1e-3,
            betas: [0.9, 0.999],
            epsilon: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
        }
    }
}

impl AdamSettings {
    /// The moments' settings, as the fused Adam and AdamW take them.
    fn moments(&self) -> Moments {
        Moments {
            beta_1: self.betas[0] as f32,
            beta_2: self.betas[1] as f32,
            epsilon: self.epsilon as f32,
            amsgrad: self.amsgrad,
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        for beta in self.betas {
            if !(0.0..1.0).contains(&beta) {
                return invalid(
                    "optimizer.betas",
                    format!("must both be in [0, 1), got {:?}", self.betas),
                );
            }
        }
        positive("optimizer.epsilon", self.epsilon)
    }
}

/// RMSprop's settings (PyTorch's defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RmsPropSettings {
    /// Step size.
    pub learning_rate: f64,
    /// Smoothing constant of the squared-gradient average, in `[0, 1)`.
    pub alpha: f64,
    /// Added to the denominator for numerical stability, `> 0`.
    #[serde(alias = "eps")]
    pub epsilon: f64,
    /// Momentum factor in `[0, 1)`.
    pub momentum: f64,
    /// The centered variant (normalised by an estimate of the gradient's variance).
    pub centered: bool,
    /// L2 penalty added to the gradient, `>= 0`.
    pub weight_decay: f64,
}

impl Default for RmsPropSettings {
    fn default() -> Self {
        Self {
            learning_rate: 1e-2,
            alpha: 0.99,
            epsilon: 1e-8,
            momentum: 0.0,
            centered: false,
            weight_decay: 0.0,
        }
    }
}

impl RmsPropSettings {
    fn check(&self) -> Result<(), ConfigError> {
        in_unit("optimizer.alpha", self.alpha, false)?;
        in_unit("optimizer.momentum", self.momentum, false)?;
        positive("optimizer.epsilon", self.epsilon)
    }
}

/// Adagrad's settings (PyTorch's defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdaGradSettings {
    /// Step size.
    pub learning_rate: f64,
    /// Decay of the step size with the number of steps, `>= 0`.
    pub lr_decay: f64,
    /// Added to the denominator for numerical stability, `> 0`.
    #[serde(alias = "eps")]
    pub epsilon: f64,
    /// L2 penalty added to the gradient, `>= 0`.
    pub weight_decay: f64,
}

impl Default for AdaGradSettings {
    fn default() -> Self {
        Self {
            learning_rate: 1e-2,
            lr_decay: 0.0,
            epsilon: 1e-10,
            weight_decay: 0.0,
        }
    }
}

impl AdaGradSettings {
    fn check(&self) -> Result<(), ConfigError> {
        if !(self.lr_decay.is_finite() && self.lr_decay >= 0.0) {
            return invalid(
                "optimizer.lr_decay",
                format!("must be a finite number >= 0, got {}", self.lr_decay),
            );
        }
        positive("optimizer.epsilon", self.epsilon)
    }
}

/// Gradient clipping before each step: `{"norm": 1.0}` scales the gradient down to that L2
/// norm at most (per parameter tensor, as burn-optim clips); `{"value": 0.5}` clamps every
/// component to `[-0.5, 0.5]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum GradientClipping {
    /// Largest L2 norm of each parameter's gradient, `> 0`.
    Norm(f64),
    /// Largest absolute value of each gradient component, `> 0`.
    Value(f64),
}

impl GradientClipping {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        match *self {
            Self::Norm(norm) => positive("gradient_clipping.norm", norm),
            Self::Value(value) => positive("gradient_clipping.value", value),
        }
    }

    fn burn(&self) -> GradientClippingConfig {
        match *self {
            Self::Norm(norm) => GradientClippingConfig::Norm(norm as f32),
            Self::Value(value) => GradientClippingConfig::Value(value as f32),
        }
    }
}

/// `value` must be in `[0, 1)` (`[0, 1]` with `inclusive`).
fn in_unit(field: &'static str, value: f64, inclusive: bool) -> Result<(), ConfigError> {
    let ok = if inclusive {
        (0.0..=1.0).contains(&value)
    } else {
        (0.0..1.0).contains(&value)
    };
    if !ok {
        let range = if inclusive { "[0, 1]" } else { "[0, 1)" };
        return invalid(field, format!("must be in {range}, got {value}"));
    }
    super::f32_value(field, value)
}
