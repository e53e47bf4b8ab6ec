use std::path::Path;

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;

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
        Ok(())
    }

    /// Creates a model with freshly initialised weights on `device`.
    ///
    /// Seed the device first (`device.seed(n)`) for reproducible weights.
    pub fn init(&self, device: &Device) -> LogisticRegression {
        LogisticRegression {
            linear: LinearConfig::new(self.input_size, self.num_classes)
                .with_bias(self.bias)
                .init(device),
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
        let shown = path.display().to_string();
        if !path.is_file() {
            return Err(ModelLoadError::Missing { path: shown });
        }
        self.init(device)
            .try_load_file(path)
            .map_err(|err| ModelLoadError::Invalid {
                path: shown,
                reason: err.to_string(),
            })
    }
}

/// Multinomial logistic regression: `logits = x W + b`, `p = softmax(logits)`.
#[derive(Module, Debug)]
pub struct LogisticRegression {
    linear: Linear,
}

impl LogisticRegression {
    /// Logits (unnormalised log-probabilities) for a batch of flattened images.
    ///
    /// `images` has shape `[batch, input_size]`; the result has shape `[batch, num_classes]`.
    ///
    /// # Panics
    ///
    /// If the second dimension of `images` is not `input_size`.
    pub fn forward(&self, images: Tensor<2>) -> Tensor<2> {
        self.linear.forward(images)
    }

    /// Class probabilities (softmax of the logits), shape `[batch, num_classes]`; each row sums
    /// to one.
    pub fn probabilities(&self, images: Tensor<2>) -> Tensor<2> {
        softmax(self.forward(images), 1)
    }

    /// The most probable class of each image, shape `[batch]`.
    pub fn predict(&self, images: Tensor<2>) -> Tensor<1, Int> {
        self.forward(images).argmax(1).squeeze_dim(1)
    }

    /// Number of input features the model expects.
    pub fn input_size(&self) -> usize {
        self.linear.weight.dims()[0]
    }

    /// Number of classes the model scores.
    pub fn num_classes(&self) -> usize {
        self.linear.weight.dims()[1]
    }

    /// The configuration that rebuilds a model of this shape.
    pub fn config(&self) -> LogisticRegressionConfig {
        LogisticRegressionConfig::new()
            .with_input_size(self.input_size())
            .with_num_classes(self.num_classes())
            .with_bias(self.linear.bias.is_some())
    }

    /// The weight matrix, shape `[input_size, num_classes]`: column `c` is the template that
    /// class `c` matches the image against.
    pub fn weights(&self) -> Tensor<2> {
        self.linear.weight.val()
    }

    /// The bias vector, shape `[num_classes]`, if the model has one.
    pub fn bias(&self) -> Option<Tensor<1>> {
        self.linear.bias.as_ref().map(|bias| bias.val())
    }
}
