//! `mlp`: a multi-layer perceptron of your own, trained through the learner's public API.
//!
//! Nothing here knows about checkpoints, resuming, the dashboard, Ctrl-C, full disks,
//! divergence, reports or the command line: the model implements [`model::ImageClassifier`]
//! (one method, `logits`) and [`learner::cli::App`] gives it the trainer's whole command line
//! (train, eval, predict, runs) and everything a trainer's run has. This file is the pattern to
//! copy for a model of your own.
//!
//! ```text
//! cargo run --release -p mlp -- --data-dir ../shared/datasets/mnist
//! cargo run --release -p mlp -- eval --artifacts artifacts/default
//! ```

use std::process::ExitCode;

use burn::nn::{Linear, LinearConfig, Relu};
use burn::prelude::*;
use model::{DataShape, ImageClassifier};

/// Two linear layers with a ReLU between them, sized by the data.
#[derive(Module, Debug)]
struct Mlp {
    hidden: Linear,
    out: Linear,
    act: Relu,
}

impl Mlp {
    fn new(device: &Device, shape: &DataShape) -> Self {
        Self {
            hidden: LinearConfig::new(shape.input_size(), 256).init(device),
            out: LinearConfig::new(256, shape.num_classes).init(device),
            act: Relu::new(),
        }
    }
}

impl ImageClassifier for Mlp {
    // images: [batch, channels, height, width] floats in [0, 1]; one logit per class. The loss
    // (softmax cross-entropy) and the scores (softmax) are the trait's defaults.
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        let pixels = images.flatten(1, 3);
        self.out
            .forward(self.act.forward(self.hidden.forward(pixels)))
    }

    // Optional: how summary.json, TensorBoard's HParams view and `trainer runs` name it.
    fn describe(&self) -> String {
        let [inputs, hidden] = self.hidden.weight.dims();
        let [_, classes] = self.out.weight.dims();
        format!("my MLP {inputs}-{hidden}-{classes}")
    }
}

/// SGD with momentum, cosine schedule, 15 epochs: `configs/mlp.json`'s settings.
const TRAINING: &str = include_str!("../../../configs/mlp.json");

fn main() -> ExitCode {
    learner::cli::App::new(Mlp::new)
        .with_default_config(TRAINING)
        .main()
}
