//! Multinomial logistic regression and the article's other two logistic regressions (binary,
//! one-vs-rest): one linear layer, three heads.

mod pytorch;

pub use pytorch::ModelSaveError;

use std::path::Path;

use burn::nn::loss::{BinaryCrossEntropyLossConfig, CrossEntropyLossConfig};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, softmax};

/// How the linear layer's outputs become class scores: the three logistic regressions of the
/// article.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Head {
    /// Multinomial logistic regression: one logit per class, softmax over them, trained with
    /// cross-entropy (PyTorch's `CrossEntropyLoss`). The default.
    Softmax,
    /// One-vs-rest: one independent sigmoid per class ("is it this class?"), each trained with
    /// binary cross-entropy against the one-hot label; the prediction is the most confident
    /// head.
    OneVsRest,
    /// Binary logistic regression for two classes: one output `z`, `P(class 1) = sigmoid(z)`,
    /// trained with binary cross-entropy, class 1 predicted when that probability exceeds 0.5.
    Binary,
}

impl Head {
    /// The head in words: `softmax`, `one-vs-rest`, `binary`.
    pub fn name(self) -> &'static str {
        match self {
            Head::Softmax => "softmax",
            Head::OneVsRest => "one-vs-rest",
            Head::Binary => "binary",
        }
    }

    /// Outputs of the linear layer for `num_classes` classes.
    pub fn outputs(self, num_classes: usize) -> usize {
        match self {
            Head::Binary => 1,
            Head::Softmax | Head::OneVsRest => num_classes,
        }
    }
}

/// Configuration of a [`LogisticRegression`] model.
///
/// The defaults describe MNIST: 28x28 = 784 pixels in, 10 digit classes out, with a bias term.
/// The weights are initialised like PyTorch's `nn.Linear`: uniform in
/// `[-1/sqrt(input_size), 1/sqrt(input_size)]`, bias included.
#[derive(Config, Debug, PartialEq)]
pub struct LogisticRegressionConfig {
    /// Number of input features (pixels of a flattened image).
    #[config(default = 784)]
    pub input_size: usize,
    /// Number of classes; the model outputs one logit per class.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Whether the linear layer has a bias term.
    #[config(default = true)]
    pub bias: bool,
    /// How outputs become class scores (softmax, one-vs-rest sigmoids, or one binary sigmoid).
    #[config(default = "Head::Softmax")]
    pub head: Head,
}

/// A configuration that cannot describe a working model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelConfigError {
    /// `input_size` was zero.
    #[error("model input_size must be at least 1 (it is 0)")]
    NoInputs,
    /// `num_classes` was below two.
    #[error("model num_classes must be at least 2 (it is {0})")]
    TooFewClasses(usize),
    /// A binary head with other than two classes.
    #[error(
        "a Binary head separates exactly 2 classes (num_classes is {0}); use Softmax or OneVsRest for more"
    )]
    BinaryNeedsTwoClasses(usize),
    /// A setting of a zoo model is out of range.
    #[error("model {field} {problem}")]
    Invalid {
        /// The setting, as written in the `model` block.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

/// Loading saved weights failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelLoadError {
    /// The weights file does not exist.
    #[error(
        "model weights {path} not found: train a model first, or point at a folder that holds model.bpk"
    )]
    Missing {
        /// The path that was tried.
        path: String,
    },
    /// The path exists but is not a regular file (a folder, a FIFO, a device).
    #[error("model weights {path} is {kind}, not a file: give the path of the weights file")]
    NotAFile {
        /// The path that was tried.
        path: String,
        /// What it is instead.
        kind: &'static str,
    },
    /// The run's model is not one of the zoo's: only the binary that trained it can open it.
    #[error(
        "the run holds a model of kind `{kind}` ({describe}), which is not one of the zoo's \
         (logistic, mlp, cnn): evaluate it and predict with the binary that trained it (it has \
         the same eval and predict commands)"
    )]
    NotInZoo {
        /// The kind `model.json` records.
        kind: String,
        /// How the model describes itself.
        describe: String,
    },
    /// The file exists but Burn could not read it, or its tensors do not fit the configuration.
    #[error("cannot load model weights from {path}: {reason}")]
    Invalid {
        /// The path that was read.
        path: String,
        /// What Burn reported.
        reason: String,
    },
}

impl LogisticRegressionConfig {
    /// Checks that the sizes describe a usable model.
    pub fn validate(&self) -> Result<(), ModelConfigError> {
        if self.input_size == 0 {
            return Err(ModelConfigError::NoInputs);
        }
        if self.num_classes < 2 {
            return Err(ModelConfigError::TooFewClasses(self.num_classes));
        }
        if self.head == Head::Binary && self.num_classes != 2 {
            return Err(ModelConfigError::BinaryNeedsTwoClasses(self.num_classes));
        }
        Ok(())
    }

    /// Creates a model with freshly initialised weights on `device`.
    ///
    /// Seed the device first (`device.seed(n)`) for reproducible weights.
    pub fn init(&self, device: &Device) -> LogisticRegression {
        LogisticRegression {
            linear: LinearConfig::new(self.input_size, self.head.outputs(self.num_classes))
                .with_bias(self.bias)
                .init(device),
            head: self.head,
        }
    }

    /// Creates a model on `device` and loads the weights saved in the burnpack file `path`
    /// (for example the trainer's `model.bpk`).
    pub fn load_weights(
        &self,
        path: impl AsRef<Path>,
        device: &Device,
    ) -> Result<LogisticRegression, ModelLoadError> {
        let path = path.as_ref();
        let shown = existing_file(path)?;
        self.init(device)
            .try_load_file(path)
            .map_err(|err| ModelLoadError::Invalid {
                path: shown,
                reason: err.to_string(),
            })
    }
}

/// `path` as shown in errors, or [`ModelLoadError::Missing`] when nothing is there, or
/// [`ModelLoadError::NotAFile`] when it is not a regular file (a FIFO would block the read).
pub(crate) fn existing_file(path: &Path) -> Result<String, ModelLoadError> {
    let shown = path.display().to_string();
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_file() => Ok(shown),
        Ok(metadata) => Err(ModelLoadError::NotAFile {
            path: shown,
            kind: if metadata.is_dir() {
                "a folder"
            } else {
                "a FIFO, a device or a socket"
            },
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            Err(ModelLoadError::Missing { path: shown })
        }
        Err(err) => Err(ModelLoadError::Invalid {
            path: shown,
            reason: err.to_string(),
        }),
    }
}

/// Logistic regression: `logits = x W + b`, then softmax (multinomial, the default), one
/// sigmoid per class (one-vs-rest) or a single sigmoid (binary), as its [`Head`] says.
#[derive(Module, Debug)]
pub struct LogisticRegression {
    linear: Linear,
    #[module(skip)]
    head: Head,
}

impl LogisticRegression {
    /// Logits for a batch of flattened images.
    ///
    /// `images` has shape `[batch, input_size]`; the result has shape `[batch, num_classes]`
    /// (`[batch, 1]` for a binary head: the log-odds of class 1).
    ///
    /// # Panics
    ///
    /// If the second dimension of `images` is not `input_size`.
    pub fn forward(&self, images: Tensor<2>) -> Tensor<2> {
        self.linear.forward(images)
    }

    /// Class scores, shape `[batch, num_classes]`, whose row-wise argmax is the prediction.
    /// Softmax: the logits. One-vs-rest: the logits (sigmoid is monotonic). Binary: `[0, z]`, so
    /// that class 1 wins exactly when `sigmoid(z) > 0.5`.
    pub fn scores(&self, images: Tensor<2>) -> Tensor<2> {
        self.scores_from_logits(self.forward(images))
    }

    /// [`scores`](Self::scores) from logits already computed.
    pub fn scores_from_logits(&self, logits: Tensor<2>) -> Tensor<2> {
        match self.head {
            Head::Softmax | Head::OneVsRest => logits,
            Head::Binary => Tensor::cat(vec![logits.zeros_like(), logits], 1),
        }
    }

    /// Class probabilities, shape `[batch, num_classes]`. Softmax: rows sum to one. Binary:
    /// `[1 - p, p]` with `p = sigmoid(z)`. One-vs-rest: each head's own sigmoid ("is it this
    /// class?"), which need not sum to one.
    pub fn probabilities(&self, images: Tensor<2>) -> Tensor<2> {
        self.probabilities_from_logits(self.forward(images))
    }

    /// [`probabilities`](Self::probabilities) from logits already computed.
    pub fn probabilities_from_logits(&self, logits: Tensor<2>) -> Tensor<2> {
        match self.head {
            Head::Softmax => softmax(logits, 1),
            Head::OneVsRest => sigmoid(logits),
            Head::Binary => {
                let positive = sigmoid(logits);
                Tensor::cat(vec![positive.clone().neg().add_scalar(1.0), positive], 1)
            }
        }
    }

    /// The predicted class of each image, shape `[batch]`.
    pub fn predict(&self, images: Tensor<2>) -> Tensor<1, Int> {
        self.scores(images).argmax(1).squeeze_dim(1)
    }

    /// Mean training loss of a batch given its logits and class indices `[batch]`: cross-entropy
    /// for softmax, binary cross-entropy (averaged over images and heads) for the sigmoid
    /// heads.
    pub fn loss(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        let device = logits.device();
        match self.head {
            Head::Softmax => CrossEntropyLossConfig::new()
                .init(&device)
                .forward(logits, targets),
            Head::OneVsRest => {
                let [batch, classes] = logits.dims();
                let one_hot = targets.reshape([batch, 1]).equal(
                    Tensor::<1, Int>::arange(0..classes as i64, &device)
                        .reshape([1, classes])
                        .expand([batch, classes]),
                );
                BinaryCrossEntropyLossConfig::new()
                    .with_logits(true)
                    .init(&device)
                    .forward(logits, one_hot.int())
            }
            Head::Binary => BinaryCrossEntropyLossConfig::new()
                .with_logits(true)
                .init(&device)
                .forward(logits.squeeze_dim(1), targets),
        }
    }

    /// The head.
    pub fn head(&self) -> Head {
        self.head
    }

    /// Number of input features the model expects.
    pub fn input_size(&self) -> usize {
        self.linear.weight.dims()[0]
    }

    /// Number of classes the model tells apart.
    pub fn num_classes(&self) -> usize {
        match self.head {
            Head::Binary => 2,
            Head::Softmax | Head::OneVsRest => self.linear.weight.dims()[1],
        }
    }

    /// The configuration that rebuilds a model of this shape.
    pub fn config(&self) -> LogisticRegressionConfig {
        LogisticRegressionConfig::new()
            .with_input_size(self.input_size())
            .with_num_classes(self.num_classes())
            .with_bias(self.linear.bias.is_some())
            .with_head(self.head)
    }

    /// The weight matrix, shape `[input_size, outputs]`: column `c` is the template that
    /// output `c` matches the image against.
    pub fn weights(&self) -> Tensor<2> {
        self.linear.weight.val()
    }

    /// The bias vector, shape `[outputs]`, if the model has one.
    pub fn bias(&self) -> Option<Tensor<1>> {
        self.linear.bias.as_ref().map(|bias| bias.val())
    }
}

impl crate::ImageClassifier for LogisticRegression {
    /// The images flattened (`[batch, channels * height * width]`, a view, no copy), then the
    /// linear layer.
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        self.forward(images.flatten(1, 3))
    }

    /// Cross-entropy for softmax, binary cross-entropy for the sigmoid heads.
    fn loss(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        LogisticRegression::loss(self, logits, targets)
    }

    /// The head's scores: the logits, or `[0, z]` for a binary head.
    fn scores(&self, logits: Tensor<2>) -> Tensor<2> {
        self.scores_from_logits(logits)
    }

    fn probabilities(&self, logits: Tensor<2>) -> Tensor<2> {
        self.probabilities_from_logits(logits)
    }

    fn describe(&self) -> String {
        format!("logistic regression ({} head)", self.head().name())
    }

    fn kind(&self) -> String {
        crate::zoo::LOGISTIC.to_string()
    }

    fn config_json(&self) -> Option<String> {
        Some(burn::config::config_to_json(&self.config()))
    }

    /// `model.safetensors` (PyTorch's `nn.Linear` layout) and `weights.png` (the template each
    /// output matches an image against).
    fn extra_artifacts(
        &self,
        run: &crate::ArtifactContext<'_>,
    ) -> Result<Vec<crate::ExtraArtifact>, String> {
        let safetensors = self.to_pytorch_safetensors().map_err(|err| err.reason)?;
        Ok(vec![
            crate::ExtraArtifact::File {
                name: "model.safetensors".to_string(),
                bytes: safetensors,
            },
            self.templates(run)?,
        ])
    }
}

impl LogisticRegression {
    /// Each output's weights as a map of the image (averaged over the colour channels): what a
    /// linear model matches each image against, red for evidence for, blue against.
    fn templates(&self, run: &crate::ArtifactContext<'_>) -> Result<crate::ExtraArtifact, String> {
        let weights: Vec<f32> = self
            .weights()
            .try_into_data()
            .map_err(|err| err.to_string())?
            .iter::<f32>()
            .collect();
        let shape = run.shape;
        let (plane, outputs) = (shape.height * shape.width, self.weights().dims()[1]);
        if weights.len() != plane * shape.channels * outputs {
            return Err(format!(
                "{} weights do not make {outputs} templates of {} values",
                weights.len(),
                shape.input_size()
            ));
        }
        let names = run.class_names;
        let maps = (0..outputs)
            .map(|output| {
                let label = if outputs == 1 && names.len() == 2 {
                    format!("{} (red) vs {} (blue)", names[1], names[0])
                } else {
                    names
                        .get(output)
                        .cloned()
                        .unwrap_or_else(|| output.to_string())
                };
                let values = (0..plane)
                    .map(|pixel| {
                        (0..shape.channels)
                            .map(|channel| weights[(channel * plane + pixel) * outputs + output])
                            .sum::<f32>()
                            / shape.channels as f32
                    })
                    .collect();
                (label, values)
            })
            .collect();
        Ok(crate::ExtraArtifact::Heatmaps {
            name: "weights.png".to_string(),
            height: shape.height,
            width: shape.width,
            maps,
        })
    }
}
