//! The model zoo: the models every tool of the workspace opens ([`LogisticRegression`],
//! [`Mlp`], [`Cnn`]), the config block that names one (`{"kind": "mlp", "hidden": [256]}`),
//! and [`load_run`], which opens the model of any run one of them trained.

use std::path::Path;

use burn::config::Config;
use burn::prelude::*;
use burn::serde::{Deserialize, Serialize};

use crate::{
    Classify, CnnConfig, DataShape, Head, LogisticRegressionConfig, MlpConfig, ModelConfigError,
    ModelLoadError,
};

/// The kind of [`LogisticRegression`](crate::LogisticRegression).
pub const LOGISTIC: &str = "logistic";
/// The kind of [`Mlp`](crate::Mlp).
pub const MLP: &str = "mlp";
/// The kind of [`Cnn`](crate::Cnn).
pub const CNN: &str = "cnn";
/// Every kind in the zoo.
pub const KINDS: [&str; 3] = [LOGISTIC, MLP, CNN];

/// The logistic regression's settings in a config block; the sizes come from the data (0 or
/// absent), and a size given must match it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(crate = "burn::serde", deny_unknown_fields, default)]
pub struct LogisticSettings {
    /// Pixels in; 0: from the data.
    #[serde(skip_serializing_if = "is_zero")]
    pub input_size: usize,
    /// Classes out; 0: from the data.
    #[serde(skip_serializing_if = "is_zero")]
    pub num_classes: usize,
    /// Whether the linear layer has a bias term.
    pub bias: bool,
    /// How outputs become class scores.
    pub head: Head,
}

fn is_zero(value: &usize) -> bool {
    *value == 0
}

impl Default for LogisticSettings {
    fn default() -> Self {
        Self {
            input_size: 0,
            num_classes: 0,
            bias: true,
            head: Head::Softmax,
        }
    }
}

impl LogisticSettings {
    /// The model's config for `shape`: the settings with the sizes filled in. A size given
    /// that differs is an error naming it.
    pub fn for_data(
        &self,
        shape: &DataShape,
    ) -> Result<LogisticRegressionConfig, ModelConfigError> {
        for (field, given, actual) in [
            ("input_size", self.input_size, shape.input_size()),
            ("num_classes", self.num_classes, shape.num_classes),
        ] {
            if given != 0 && given != actual {
                return Err(ModelConfigError::Invalid {
                    field,
                    problem: format!(
                        "is {given}, but the data has {actual}; leave it out to take it from the \
                         data"
                    ),
                });
            }
        }
        let config = LogisticRegressionConfig::new()
            .with_input_size(shape.input_size())
            .with_num_classes(shape.num_classes)
            .with_bias(self.bias)
            .with_head(self.head);
        config.validate()?;
        Ok(config)
    }
}

/// A zoo model and its settings, as a training config's `model` block writes it:
/// `{"kind": "mlp", "hidden": [256]}`; every field but `kind` is optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(crate = "burn::serde", tag = "kind", rename_all = "kebab-case")]
pub enum ModelConfig {
    /// Multinomial (or binary, or one-vs-rest) logistic regression.
    Logistic(LogisticSettings),
    /// A multi-layer perceptron.
    Mlp(MlpConfig),
    /// A convolutional network.
    Cnn(CnnConfig),
}

impl Config for ModelConfig {}

impl Default for ModelConfig {
    /// The logistic regression with its defaults.
    fn default() -> Self {
        Self::Logistic(LogisticSettings::default())
    }
}

impl ModelConfig {
    /// The model called `kind`, with its defaults; `None` for a kind not in the zoo.
    pub fn named(kind: &str) -> Option<Self> {
        match kind {
            LOGISTIC => Some(Self::Logistic(LogisticSettings::default())),
            MLP => Some(Self::Mlp(MlpConfig::default())),
            CNN => Some(Self::Cnn(CnnConfig::default())),
            _ => None,
        }
    }

    /// Reads a block from JSON text (which must say its `kind`); the error is serde's, naming
    /// the unknown kind or field.
    pub fn from_json(text: &str) -> Result<Self, String> {
        Self::load_binary(text.as_bytes()).map_err(|err| err.to_string())
    }

    /// The block as JSON text.
    pub fn to_json(&self) -> String {
        burn::config::config_to_json(self)
    }

    /// Its kind: `logistic`, `mlp` or `cnn`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Logistic(_) => LOGISTIC,
            Self::Mlp(_) => MLP,
            Self::Cnn(_) => CNN,
        }
    }

    /// Checks the settings against data of `shape`.
    pub fn validate(&self, shape: &DataShape) -> Result<(), ModelConfigError> {
        match self {
            Self::Logistic(settings) => settings.for_data(shape).map(drop),
            Self::Mlp(config) => config.validate(),
            Self::Cnn(config) => config.validate(shape),
        }
    }
}

/// What a run records of its model (`model.json`) so that a tool can use it without the data
/// or the training config: its kind and settings, the images it takes, its classes, and how a
/// picture becomes its input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(crate = "burn::serde")]
pub struct ModelCard {
    /// `logistic`, `mlp`, `cnn`, or a model of your own's kind ([`ImageClassifier::kind`]).
    ///
    /// [`ImageClassifier::kind`]: crate::ImageClassifier::kind
    pub kind: String,
    /// The model in a few words (`MLP 784-256-10`).
    pub describe: String,
    /// Trainable values.
    pub parameters: usize,
    /// The images it takes, and its number of classes.
    pub input: DataShape,
    /// Class names, by output.
    pub classes: Vec<String>,
    /// How a picture becomes one of its input images.
    pub preprocess: Preprocess,
}

/// How a picture (a user's photo or drawing) becomes a model's input image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(crate = "burn::serde")]
pub struct Preprocess {
    /// How the picture is fitted to the input's size.
    pub fit: Fit,
    /// Per-channel normalisation of the input, `(value / 255 - mean) / std`; none if absent.
    #[serde(default)]
    pub normalize: Option<Normalization>,
}

/// How a picture is fitted to a model's input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(crate = "burn::serde", rename_all = "kebab-case")]
pub enum Fit {
    /// As MNIST's digits were made: grey, light on dark (inverted if the picture is dark on
    /// light), cropped to the strokes, scaled into a box and centred by mass.
    Digit,
    /// Stretched to the input's size, converted to its channels.
    Resize,
}

/// Per-channel normalisation: one mean and one standard deviation per channel (or one each).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(crate = "burn::serde")]
pub struct Normalization {
    /// Means.
    pub mean: Vec<f64>,
    /// Standard deviations.
    pub std: Vec<f64>,
}

impl Config for ModelCard {}

/// A zoo model's settings as `model.json` records them: its kind and its full config.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(
    crate = "burn::serde",
    tag = "kind",
    content = "config",
    rename_all = "kebab-case"
)]
enum Recorded {
    Logistic(LogisticRegressionConfig),
    Mlp(MlpConfig),
    Cnn(CnnConfig),
}

impl Config for Recorded {}

/// The model of a run, opened: its card and the trained model, ready to classify.
#[derive(Debug)]
pub struct LoadedRun {
    /// What `model.json` says of it.
    pub card: ModelCard,
    /// The trained model.
    pub model: Box<dyn Classify>,
}

/// Opens the model a run in `dir` trained, whatever zoo model it is: reads `model.json` and
/// `model.bpk`, on `device`.
///
/// A run of a model outside the zoo is an error naming its kind: the binary that trained it
/// (built on the learner's `cli`) opens it. A run written before runs recorded their model
/// (`model.json` holding only a logistic regression's config) opens as the logistic regression
/// on square grey images it is.
pub fn load_run(dir: &Path, device: &Device) -> Result<LoadedRun, ModelLoadError> {
    let card = read_card(dir)?;
    let weights = dir.join("model.bpk");
    let invalid = |reason: String| ModelLoadError::Invalid {
        path: dir.join("model.json").display().to_string(),
        reason,
    };
    if !KINDS.contains(&card.kind.as_str()) {
        return Err(ModelLoadError::NotInZoo {
            kind: card.kind.clone(),
            describe: card.describe.clone(),
        });
    }
    let recorded = match Recorded::load(dir.join("model.json")) {
        Ok(recorded) => recorded,
        // A run from before the card: its model.json is a logistic regression's config.
        Err(_) if card.kind == LOGISTIC => {
            Recorded::Logistic(read_config::<LogisticRegressionConfig>(dir)?)
        }
        Err(err) => return Err(invalid(err.to_string())),
    };
    let model: Box<dyn Classify> = match recorded {
        Recorded::Logistic(config) => {
            config.validate()?;
            Box::new(config.load_weights(&weights, device)?)
        }
        Recorded::Mlp(config) => {
            config.validate()?;
            Box::new(load_weights(config.init(device, &card.input), &weights)?)
        }
        Recorded::Cnn(config) => {
            config.validate(&card.input)?;
            Box::new(load_weights(config.init(device, &card.input), &weights)?)
        }
    };
    Ok(LoadedRun { card, model })
}

/// `model.json` of the run in `dir`.
pub fn read_card(dir: &Path) -> Result<ModelCard, ModelLoadError> {
    let path = dir.join("model.json");
    crate::logistic::existing_file(&path)?;
    match ModelCard::load(&path) {
        Ok(card) => Ok(card),
        Err(err) => {
            // A run from before the card: its model.json is a logistic regression's config.
            let Ok(config) = LogisticRegressionConfig::load(&path) else {
                return Err(ModelLoadError::Invalid {
                    path: path.display().to_string(),
                    reason: err.to_string(),
                });
            };
            Ok(legacy_card(&config))
        }
    }
}

/// The card of a logistic regression saved before runs had cards: grey square images (MNIST's
/// layout), classes named by number, pictures fitted as digits.
fn legacy_card(config: &LogisticRegressionConfig) -> ModelCard {
    let side = (config.input_size as f64).sqrt().round() as usize;
    let (height, width) = if side * side == config.input_size {
        (side, side)
    } else {
        (1, config.input_size)
    };
    ModelCard {
        kind: LOGISTIC.to_string(),
        describe: format!("logistic regression ({} head)", config.head.name()),
        parameters: config.input_size * config.head.outputs(config.num_classes)
            + if config.bias {
                config.head.outputs(config.num_classes)
            } else {
                0
            },
        input: DataShape::new(1, height, width, config.num_classes),
        classes: (0..config.num_classes).map(|c| c.to_string()).collect(),
        preprocess: Preprocess {
            fit: Fit::Digit,
            normalize: None,
        },
    }
}

fn read_config<C: Config>(dir: &Path) -> Result<C, ModelLoadError> {
    let path = dir.join("model.json");
    C::load(&path).map_err(|err| ModelLoadError::Invalid {
        path: path.display().to_string(),
        reason: err.to_string(),
    })
}

/// `model` with the weights of the burnpack file `path`.
pub fn load_weights<M: Module>(model: M, path: &Path) -> Result<M, ModelLoadError> {
    let shown = crate::logistic::existing_file(path)?;
    model
        .try_load_file(path)
        .map_err(|err| ModelLoadError::Invalid {
            path: shown,
            reason: err.to_string(),
        })
}

impl From<ModelConfigError> for ModelLoadError {
    fn from(err: ModelConfigError) -> Self {
        ModelLoadError::Invalid {
            path: "model.json".to_string(),
            reason: err.to_string(),
        }
    }
}
