//! The model as burn-train sees it: logistic regression plus its loss (cross-entropy for the
//! softmax head, binary cross-entropy for the sigmoid heads).

use burn::prelude::*;
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use data::MnistBatch;
use model::LogisticRegression;

/// Wraps [`LogisticRegression`] (which knows nothing of burn-train) to give it Burn's
/// [`TrainStep`] and [`InferenceStep`]: forward pass, the head's mean loss
/// ([`LogisticRegression::loss`]; PyTorch's `CrossEntropyLoss` for softmax) and the class
/// scores the accuracy metric reads.
///
/// Checkpoints hold this wrapper (`model.linear.*`); the final `model.bpk` holds the bare
/// [`LogisticRegression`] (`linear.*`), so other apps load it with the `model` crate alone.
#[derive(Module, Debug)]
pub struct Classifier {
    /// The wrapped model.
    pub model: LogisticRegression,
}

impl Classifier {
    /// Logits, loss and targets of one batch.
    pub fn forward_classification(&self, batch: MnistBatch) -> ClassificationOutput {
        let logits = self.model.forward(batch.images);
        let loss = self.model.loss(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, self.model.scores_from_logits(logits), batch.targets)
    }
}

impl TrainStep for Classifier {
    type Input = MnistBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: MnistBatch) -> TrainOutput<ClassificationOutput> {
        let item = self.forward_classification(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl InferenceStep for Classifier {
    type Input = MnistBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: MnistBatch) -> ClassificationOutput {
        self.forward_classification(batch)
    }
}
