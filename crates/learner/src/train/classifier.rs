//! What the learner trains: any [`ImageClassifier`] (the model crate's contract), wrapped by
//! [`Classifier`] into burn-train's `TrainStep` and `InferenceStep`, with a guard that stops a
//! run whose loss stops being a number.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use burn::prelude::*;
use burn::train::{ClassificationOutput, InferenceStep, Interrupter, TrainOutput, TrainStep};
use data::ImageBatch;
use model::ImageClassifier;

/// Wraps an [`ImageClassifier`] (which knows nothing of burn-train) to give it Burn's
/// [`TrainStep`] and [`InferenceStep`]: forward pass, the model's mean loss and the class
/// scores the accuracy metric reads.
///
/// Checkpoints hold this wrapper (`model.*`); the final `model.bpk` holds the bare model, so
/// other apps load it without the learner.
#[derive(Module, Debug)]
pub struct Classifier<M: ImageClassifier> {
    /// The wrapped model.
    pub model: M,
    #[module(skip)]
    guard: DivergenceGuard,
    /// Batches whose gradients make one optimizer step (1: none).
    #[module(skip)]
    accumulation: usize,
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
        let iteration = self.steps.fetch_add(1, Ordering::SeqCst) + 1;
        let Some(interrupter) = &self.interrupter else {
            return;
        };
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

impl<M: ImageClassifier> Classifier<M> {
    /// Wraps `model`.
    pub fn new(model: M) -> Self {
        Self {
            model,
            guard: DivergenceGuard::default(),
            accumulation: 1,
        }
    }

    /// Scales each batch's gradients by `1 / batches`, for steps that accumulate `batches`
    /// batches: burn-train sums the accumulated gradients, and the sum of the scaled ones is
    /// the gradient of the mean loss over all their images, as one batch that large would give
    /// (when the batches are of one size). The loss the metrics see is not scaled.
    pub fn with_accumulation(mut self, batches: usize) -> Self {
        self.accumulation = batches.max(1);
        self
    }

    /// Stops training through `interrupter` as soon as a step's loss is NaN or infinite
    /// (see [`divergence`](Self::divergence)).
    pub fn with_divergence_guard(mut self, interrupter: Interrupter) -> Self {
        self.guard.interrupter = Some(interrupter);
        self
    }

    /// Training steps taken in this process (shared by the clones Burn makes of this module).
    pub fn steps(&self) -> usize {
        self.guard.steps.load(Ordering::SeqCst)
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
    pub fn forward_classification(&self, batch: ImageBatch) -> ClassificationOutput {
        let logits = self.model.logits(batch.images);
        let loss = self.model.loss(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, self.model.scores(logits), batch.targets)
    }
}

impl<M: ImageClassifier> TrainStep for Classifier<M> {
    type Input = ImageBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ImageBatch) -> TrainOutput<ClassificationOutput> {
        let item = self.forward_classification(batch);
        self.guard.check(&item.loss);
        let loss = if self.accumulation > 1 {
            item.loss.clone().div_scalar(self.accumulation as f32)
        } else {
            item.loss.clone()
        };
        TrainOutput::new(self, loss.backward(), item)
    }
}

impl<M: ImageClassifier> InferenceStep for Classifier<M> {
    type Input = ImageBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ImageBatch) -> ClassificationOutput {
        self.forward_classification(batch)
    }
}
