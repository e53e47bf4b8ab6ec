//! The workspace's own model as an [`ImageClassifier`]: logistic regression with its three
//! heads, and the files only a linear model has (its config, its weight templates and its
//! weights in PyTorch's `nn.Linear` layout).

use burn::prelude::*;
use model::LogisticRegression;

use crate::{ExtraArtifact, ImageClassifier, LearnerError, RunContext, plots};

impl ImageClassifier for LogisticRegression {
    fn logits(&self, images: Tensor<2>) -> Tensor<2> {
        self.forward(images)
    }

    /// Cross-entropy for softmax, binary cross-entropy for the sigmoid heads.
    fn loss(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        LogisticRegression::loss(self, logits, targets)
    }

    /// The head's scores: the logits, or `[0, z]` for a binary head.
    fn scores(&self, logits: Tensor<2>) -> Tensor<2> {
        self.scores_from_logits(logits)
    }

    fn describe(&self) -> String {
        format!("logistic regression ({} head)", self.head().name())
    }

    /// `model.json` (the config `model::LogisticRegressionConfig::load` reads back),
    /// `model.safetensors` (PyTorch's `nn.Linear` layout) and `weights.png` (one template per
    /// class).
    fn extra_artifacts(&self, run: &RunContext<'_>) -> Result<Vec<ExtraArtifact>, LearnerError> {
        let config = burn::config::config_to_json(&self.config());
        let safetensors = self
            .to_pytorch_safetensors()
            .map_err(|err| LearnerError::Export {
                name: "model.safetensors",
                problem: err.reason,
            })?;
        let weights: Vec<f32> = self
            .weights()
            .try_into_data()
            .map_err(|err| LearnerError::Plot(err.to_string()))?
            .iter::<f32>()
            .collect();
        let outputs = self.weights().dims()[1];
        let picture = plots::weights_png(&weights, outputs, run.rows, run.cols, run.class_names)?;
        Ok(vec![
            ExtraArtifact {
                name: "model.json",
                bytes: config.into_bytes(),
            },
            ExtraArtifact {
                name: "model.safetensors",
                bytes: safetensors,
            },
            ExtraArtifact {
                name: "weights.png",
                bytes: picture,
            },
        ])
    }
}
