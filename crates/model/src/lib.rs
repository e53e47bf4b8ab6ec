//! Multinomial logistic regression as a reusable [Burn](https://burn.dev) module.
//!
//! One [`burn::nn::Linear`] layer maps a flattened image to one logit per class; softmax
//! turns the logits into class probabilities. This crate depends on `burn` alone, so any Burn
//! application can use the model, train it with its own loop, load weights saved by this
//! workspace's trainer (`model.bpk` plus the `model.json` config next to it), or exchange
//! weights with PyTorch's `nn.Linear` as safetensors.
//!
//! ```
//! use burn::prelude::*;
//! use model::LogisticRegressionConfig;
//!
//! let device = Device::flex();
//! let model = LogisticRegressionConfig::new().init(&device); // 784 inputs, 10 classes
//! let images = Tensor::<2>::zeros([3, 784], &device); // a batch of three blank images
//!
//! let logits = model.forward(images.clone()); // [3, 10]
//! let probabilities = model.probabilities(images.clone()); // rows sum to 1
//! let classes = model.predict(images); // [3] class indices
//! assert_eq!(logits.dims(), [3, 10]);
//! assert_eq!(probabilities.dims(), [3, 10]);
//! assert_eq!(classes.dims(), [3]);
//! ```
#![warn(missing_docs)]

mod logistic;
mod pytorch;

pub use logistic::{
    Head, LogisticRegression, LogisticRegressionConfig, ModelConfigError, ModelLoadError,
};
pub use pytorch::ModelSaveError;
