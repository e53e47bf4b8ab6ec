//! The model as burn-train sees it: logistic regression plus its loss (cross-entropy for the
//! softmax head, binary cross-entropy for the sigmoid heads), and a guard that stops a run whose
//! loss stops being a number.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use burn::prelude::*;
use burn::train::{ClassificationOutput, InferenceStep, Interrupter, TrainOutput, TrainStep};
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
    #[module(skip)]
    guard: DivergenceGuard,
}

/// Where and how the training loss stopped being finite.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// Training iteration (1-based, counted in this process) whose loss was not finite.
    pub iteration: usize,
    /// The loss it had (NaN or infinite).
    pub loss: f32,
}

/// Checks every training step's loss; the first NaN or infinite one is recorded and stops the
/// run through Burn's [`Interrupter`], before the epoch can end and be checkpointed.
#[derive(Clone, Default)]
struct DivergenceGuard {
    interrupter: Option<Interrupter>,
    steps: Arc<AtomicUsize>,
    found: Arc<Mutex<Option<Divergence>>>,
}

impl std::fmt::Debug for DivergenceGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DivergenceGuard")
            .field("armed", &self.interrupter.is_some())
            .finish()
    }
}

impl DivergenceGuard {
    fn check(&self, loss: &Tensor<1>) {
        let Some(interrupter) = &self.interrupter else {
            return;
        };
        let iteration = self.steps.fetch_add(1, Ordering::SeqCst) + 1;
        // One float per step; Burn's loss metric reads it back every step anyway.
        let value = loss
            .clone()
            .try_into_data()
            .ok()
            .and_then(|data| data.iter::<f32>().next())
            .unwrap_or(f32::NAN);
        if !value.is_finite() {
            let mut found = self.found.lock().unwrap_or_else(|p| p.into_inner());
            if found.is_none() {
                *found = Some(Divergence {
                    iteration,
                    loss: value,
                });
            }
            interrupter.stop(Some("the training loss is not finite"));
        }
    }
}

impl Classifier {
    /// Wraps `model`.
    pub fn new(model: LogisticRegression) -> Self {
        Self {
            model,
            guard: DivergenceGuard::default(),
        }
    }

    /// Stops training through `interrupter` as soon as a step's loss is NaN or infinite
    /// (see [`divergence`](Self::divergence)).
    pub fn with_divergence_guard(mut self, interrupter: Interrupter) -> Self {
        self.guard.interrupter = Some(interrupter);
        self
    }

    /// The first non-finite training loss the guard saw, if any (shared by the clones Burn
    /// makes of this module during training).
    pub fn divergence(&self) -> Option<Divergence> {
        self.guard
            .found
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

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
        self.guard.check(&item.loss);
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
