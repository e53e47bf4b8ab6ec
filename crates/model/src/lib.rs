//! The workspace's models as reusable [Burn](https://burn.dev) modules, and the contract every
//! image classifier implements to be trained by its learner and opened by its tools.
//!
//! - [`ImageClassifier`]: what a model implements (one method, `logits`, from
//!   `[batch, channels, height, width]` images); [`DataShape`]: what the data tells a model.
//! - The zoo: [`LogisticRegression`] (with its binary and one-vs-rest heads, and PyTorch
//!   safetensors exchange), [`Mlp`], [`Cnn`]; [`zoo::ModelConfig`] names one in a config, and
//!   [`zoo::load_run`] opens the model of any run that trained one.
//!
//! This crate depends on `burn` alone, so any Burn application can use the models, train them
//! with its own loop, or load weights a run saved (`model.bpk`, described by `model.json`).
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

mod classifier;
mod cnn;
mod logistic;
mod mlp;
pub mod zoo;

pub use classifier::{ArtifactContext, Classify, DataShape, ExtraArtifact, ImageClassifier};
pub use cnn::{Cnn, CnnConfig};
pub use logistic::{
    Head, LogisticRegression, LogisticRegressionConfig, ModelConfigError, ModelLoadError,
    ModelSaveError,
};
pub use mlp::{Activation, Mlp, MlpConfig};
