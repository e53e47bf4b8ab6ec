//! What the learner trains: any Burn module that turns a batch of images into one logit per
//! class ([`ImageClassifier`]), wrapped by [`Classifier`] into burn-train's `TrainStep` and
//! `InferenceStep`, with a guard that stops a run whose loss stops being a number.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use burn::module::ModuleDisplay;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;
use burn::tensor::activation::softmax;
use burn::train::{ClassificationOutput, InferenceStep, Interrupter, TrainOutput, TrainStep};
use data::MnistBatch;

use crate::LearnerError;

/// An image classifier the learner can train: a Burn module (`#[derive(Module, Debug)]` gives
/// every bound) with one required method, [`logits`](Self::logits).
///
/// The loss defaults to softmax cross-entropy (PyTorch's `CrossEntropyLoss`) and the scores to
/// softmax; a model with another head overrides them (the logistic regression's one-vs-rest
/// and binary heads do). [`extra_artifacts`](Self::extra_artifacts) lets a model add files of
/// its own to a finished run.
///
/// ```
/// use burn::nn::{Linear, LinearConfig, Relu};
/// use burn::prelude::*;
/// use learner::ImageClassifier;
///
/// #[derive(Module, Debug)]
/// struct Mlp { hidden: Linear, out: Linear, act: Relu }
///
/// impl ImageClassifier for Mlp {
///     // images: [batch, input_size] floats in [0, 1]; returns one logit per class
///     fn logits(&self, images: Tensor<2>) -> Tensor<2> {
///         self.out.forward(self.act.forward(self.hidden.forward(images)))
///     }
/// }
///
/// let device = Device::flex();
/// let mlp = Mlp {
///     hidden: LinearConfig::new(784, 32).init(&device),
///     out: LinearConfig::new(32, 10).init(&device),
///     act: Relu::new(),
/// };
/// let logits = mlp.logits(Tensor::zeros([2, 784], &device));
/// let scores = mlp.scores(logits.clone()); // softmax: rows sum to 1
/// assert_eq!(scores.dims(), [2, 10]);
/// ```
pub trait ImageClassifier: Module + ModuleDisplay + 'static {
    /// One logit per class for a batch of flattened images (`[batch, input_size]`, pixels
    /// scaled to `[0, 1]`).
    fn logits(&self, images: Tensor<2>) -> Tensor<2>;

    /// The mean training loss of a batch, from its logits and its class indices (`[batch]`).
    /// Default: softmax cross-entropy.
    fn loss(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits, targets)
    }

    /// Class scores from logits, `[batch, num_classes]`: their row-wise argmax is the
    /// prediction and the accuracy metric reads them. Default: softmax.
    fn scores(&self, logits: Tensor<2>) -> Tensor<2> {
        softmax(logits, 1)
    }

    /// The model in a few words, for the end of a run (`multi-layer perceptron`). Default: the
    /// type's name.
    fn describe(&self) -> String {
        let name = std::any::type_name::<Self>();
        name.rsplit("::").next().unwrap_or(name).to_string()
    }

    /// Files of this model's own that a finished run saves beside `model.bpk` (the linear
    /// model's `weights.png` and `model.safetensors`, say). Default: none.
    ///
    /// Each name must be one of [`crate::RUN_ENTRIES`], so that `--overwrite` can tell the
    /// run's files from a user's.
    fn extra_artifacts(&self, run: &RunContext<'_>) -> Result<Vec<ExtraArtifact>, LearnerError> {
        let _ = run;
        Ok(Vec::new())
    }
}

/// What [`ImageClassifier::extra_artifacts`] knows of the run.
#[derive(Debug, Clone, Copy)]
pub struct RunContext<'a> {
    /// Height of the images in pixels.
    pub rows: usize,
    /// Width of the images in pixels.
    pub cols: usize,
    /// Names of the classes, in label order.
    pub class_names: &'a [String],
}

/// A file a model adds to its run: its name in the artifacts folder and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraArtifact {
    /// File name, one of [`crate::RUN_ENTRIES`].
    pub name: &'static str,
    /// Content, written atomically.
    pub bytes: Vec<u8>,
}

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

impl<M: ImageClassifier> Classifier<M> {
    /// Wraps `model`.
    pub fn new(model: M) -> Self {
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
        let logits = self.model.logits(batch.images);
        let loss = self.model.loss(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, self.model.scores(logits), batch.targets)
    }
}

impl<M: ImageClassifier> TrainStep for Classifier<M> {
    type Input = MnistBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: MnistBatch) -> TrainOutput<ClassificationOutput> {
        let item = self.forward_classification(batch);
        self.guard.check(&item.loss);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl<M: ImageClassifier> InferenceStep for Classifier<M> {
    type Input = MnistBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: MnistBatch) -> ClassificationOutput {
        self.forward_classification(batch)
    }
}
