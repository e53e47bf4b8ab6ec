//! A multi-layer perceptron: the image flattened, hidden linear layers with an activation (and
//! dropout while training), a linear output layer.

use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::serde::{Deserialize, Serialize};
use burn::tensor::activation;

use crate::{DataShape, ImageClassifier, ModelConfigError};

/// The non-linearity between layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(crate = "burn::serde", rename_all = "kebab-case")]
pub enum Activation {
    /// `max(0, x)`.
    #[default]
    Relu,
    /// The Gaussian error linear unit.
    Gelu,
    /// `tanh(x)`.
    Tanh,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
}

impl Activation {
    /// `x` through the function.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Relu => activation::relu(x),
            Activation::Gelu => activation::gelu(x),
            Activation::Tanh => activation::tanh(x),
            Activation::Sigmoid => activation::sigmoid(x),
        }
    }
}

/// Configuration of an [`Mlp`]; the input and output sizes come from the data
/// ([`DataShape`]). JSON: `{"hidden": [256], "activation": "relu", "dropout": 0.0}`, every field
/// optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(crate = "burn::serde", deny_unknown_fields, default)]
pub struct MlpConfig {
    /// Widths of the hidden layers, in order (at least one).
    pub hidden: Vec<usize>,
    /// The activation after each hidden layer.
    pub activation: Activation,
    /// Dropout probability after each hidden layer while training, in `[0, 1)`.
    pub dropout: f64,
}

impl Default for MlpConfig {
    /// One hidden layer of 256 ReLU units, no dropout.
    fn default() -> Self {
        Self {
            hidden: vec![256],
            activation: Activation::Relu,
            dropout: 0.0,
        }
    }
}

impl burn::config::Config for MlpConfig {}

impl MlpConfig {
    /// Hidden layers of these widths, the other settings default.
    pub fn new(hidden: Vec<usize>) -> Self {
        Self {
            hidden,
            ..Self::default()
        }
    }

    /// Checks that the settings describe a usable network.
    pub fn validate(&self) -> Result<(), ModelConfigError> {
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return Err(ModelConfigError::Invalid {
                field: "hidden",
                problem: format!(
                    "is {:?}; give at least one hidden layer, each at least 1 wide",
                    self.hidden
                ),
            });
        }
        if self.hidden.iter().any(|&width| width > 1 << 20) {
            return Err(ModelConfigError::Invalid {
                field: "hidden",
                problem: format!("is {:?}; each layer at most 1,048,576 wide", self.hidden),
            });
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(ModelConfigError::Invalid {
                field: "dropout",
                problem: format!("is {}; it must be in [0, 1)", self.dropout),
            });
        }
        Ok(())
    }

    /// A network for `shape` on `device`, its weights drawn as PyTorch's `nn.Linear` draws
    /// them (uniform in `±1/sqrt(fan_in)`).
    pub fn init(&self, device: &Device, shape: &DataShape) -> Mlp {
        let mut width = shape.input_size();
        let mut layers = Vec::with_capacity(self.hidden.len());
        for &hidden in &self.hidden {
            layers.push(LinearConfig::new(width, hidden).init(device));
            width = hidden;
        }
        Mlp {
            layers,
            output: LinearConfig::new(width, shape.num_classes).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            activation: self.activation,
            config: self.clone(),
        }
    }
}

/// A multi-layer perceptron.
#[derive(Module, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    output: Linear,
    dropout: Dropout,
    #[module(skip)]
    activation: Activation,
    #[module(skip)]
    config: MlpConfig,
}

impl Mlp {
    /// The configuration it was built from.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }
}

impl ImageClassifier for Mlp {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = images.flatten(1, 3);
        for layer in &self.layers {
            x = self
                .dropout
                .forward(self.activation.apply(layer.forward(x)));
        }
        self.output.forward(x)
    }

    fn describe(&self) -> String {
        let mut widths: Vec<String> = self
            .layers
            .iter()
            .map(|layer| layer.weight.dims()[0].to_string())
            .collect();
        widths.extend(
            self.layers
                .last()
                .map(|_| self.output.weight.dims())
                .map(|[inputs, outputs]| format!("{inputs}-{outputs}")),
        );
        format!("MLP {}", widths.join("-"))
    }

    fn kind(&self) -> String {
        crate::zoo::MLP.to_string()
    }

    fn config_json(&self) -> Option<String> {
        Some(burn::config::config_to_json(&self.config))
    }
}
