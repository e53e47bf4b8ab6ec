//! A small convolutional network: blocks of a 2-D convolution, ReLU and 2x2 max pooling, then a
//! hidden linear layer with dropout and the output layer.
//!
//! The default, two blocks of 16 and 32 filters of 3x3 and a hidden layer of 128, reaches
//! 99 % on MNIST and 90 % on Fashion-MNIST (docs/training.md gives the settings and the
//! times measured here).

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::serde::{Deserialize, Serialize};
use burn::tensor::activation::relu;

use crate::{DataShape, ImageClassifier, ModelConfigError};

/// Configuration of a [`Cnn`]; the input and output sizes come from the data ([`DataShape`]).
/// JSON: `{"channels": [16, 32], "kernel_size": 3, "hidden": 128, "dropout": 0.25}`, every
/// field optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(crate = "burn::serde", deny_unknown_fields, default)]
pub struct CnnConfig {
    /// Filters of each convolution block, in order; each block halves the image's sides.
    pub channels: Vec<usize>,
    /// Side of the square convolution kernels (odd: the padding keeps the image's size).
    pub kernel_size: usize,
    /// Width of the hidden linear layer.
    pub hidden: usize,
    /// Dropout probability before the two linear layers while training, in `[0, 1)`.
    pub dropout: f64,
}

impl Default for CnnConfig {
    fn default() -> Self {
        Self {
            channels: vec![16, 32],
            kernel_size: 3,
            hidden: 128,
            dropout: 0.25,
        }
    }
}

impl burn::config::Config for CnnConfig {}

impl CnnConfig {
    /// Checks that the settings describe a usable network for images of `shape`.
    pub fn validate(&self, shape: &DataShape) -> Result<(), ModelConfigError> {
        let invalid = |field: &'static str, problem: String| {
            Err(ModelConfigError::Invalid { field, problem })
        };
        if self.channels.is_empty() || self.channels.contains(&0) {
            return invalid(
                "channels",
                format!(
                    "is {:?}; give at least one convolution block, each with at least 1 filter",
                    self.channels
                ),
            );
        }
        if self.kernel_size == 0 || self.kernel_size.is_multiple_of(2) || self.kernel_size > 31 {
            return invalid(
                "kernel_size",
                format!("is {}; it must be odd, 1 to 31", self.kernel_size),
            );
        }
        if self.hidden == 0 {
            return invalid("hidden", "is 0; it must be at least 1".to_string());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return invalid(
                "dropout",
                format!("is {}; it must be in [0, 1)", self.dropout),
            );
        }
        let (height, width) = self.pooled(shape);
        if height == 0 || width == 0 {
            return invalid(
                "channels",
                format!(
                    "has {} blocks, each halving the image's sides, and {}x{} images would \
                     shrink to nothing: use at most {} blocks, or larger images (dataset \
                     image_size)",
                    self.channels.len(),
                    shape.height,
                    shape.width,
                    shape.height.min(shape.width).max(1).ilog2()
                ),
            );
        }
        Ok(())
    }

    /// The image's sides after every block's pooling.
    fn pooled(&self, shape: &DataShape) -> (usize, usize) {
        let blocks = self.channels.len().min(usize::BITS as usize - 1) as u32;
        (shape.height >> blocks, shape.width >> blocks)
    }

    /// A network for `shape` on `device`, weights drawn as PyTorch's `nn.Conv2d` and
    /// `nn.Linear` draw them.
    ///
    /// # Panics
    ///
    /// If the config is not valid for `shape` ([`validate`](Self::validate)).
    pub fn init(&self, device: &Device, shape: &DataShape) -> Cnn {
        self.validate(shape).expect("a valid CNN config");
        let mut inputs = shape.channels;
        let mut convs = Vec::with_capacity(self.channels.len());
        for &filters in &self.channels {
            convs.push(
                Conv2dConfig::new([inputs, filters], [self.kernel_size, self.kernel_size])
                    .with_padding(PaddingConfig2d::Same)
                    .init(device),
            );
            inputs = filters;
        }
        let (height, width) = self.pooled(shape);
        Cnn {
            convs,
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            hidden: LinearConfig::new(inputs * height * width, self.hidden).init(device),
            output: LinearConfig::new(self.hidden, shape.num_classes).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            config: self.clone(),
        }
    }
}

/// A convolutional network for images.
#[derive(Module, Debug)]
pub struct Cnn {
    convs: Vec<Conv2d>,
    pool: MaxPool2d,
    hidden: Linear,
    output: Linear,
    dropout: Dropout,
    #[module(skip)]
    config: CnnConfig,
}

impl Cnn {
    /// The configuration it was built from.
    pub fn config(&self) -> &CnnConfig {
        &self.config
    }
}

impl ImageClassifier for Cnn {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = images;
        for conv in &self.convs {
            x = self.pool.forward(relu(conv.forward(x)));
        }
        let x = self.dropout.forward(x.flatten(1, 3));
        let x = self.dropout.forward(relu(self.hidden.forward(x)));
        self.output.forward(x)
    }

    fn describe(&self) -> String {
        let channels: Vec<String> = self.config.channels.iter().map(usize::to_string).collect();
        format!(
            "CNN conv {} ({k}x{k}), hidden {}",
            channels.join("-"),
            self.config.hidden,
            k = self.config.kernel_size
        )
    }

    fn kind(&self) -> String {
        crate::zoo::CNN.to_string()
    }

    fn config_json(&self) -> Option<String> {
        Some(burn::config::config_to_json(&self.config))
    }
}
