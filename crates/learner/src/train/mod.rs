//! One training run: burn-train's `SupervisedTraining` with the config's optimizer and the
//! model's loss, then the test evaluation and the saved run.
//!
//! [`train_model`] reads as its phases: [`prepare`](prepare::prepare) the run folder and the
//! resume point, [`build`](build::build) Burn's training, [`launch`](launch::launch) it, and
//! [`finish`](finish::finish): evaluation, history, summary and pictures.

pub(crate) mod backend;
mod build;
pub(crate) mod classifier;
pub(crate) mod evaluate;
mod finish;
pub(crate) mod fused_adam;
mod launch;
pub(crate) mod lr_find;
mod pages;
mod prepare;
pub(crate) mod signals;
mod stopping;
pub(crate) mod threads;

use std::io::IsTerminal;
use std::path::PathBuf;

use burn::prelude::*;
use data::ImageData;
use model::{DataShape, ImageClassifier};

use crate::{ArtifactDir, BackendKind, Evaluation, LearnerError, Summary, ValidConfig};

/// How training progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressMode {
    /// Burn's dashboard when stdout is a terminal (unless `TERM=dumb`), plain lines otherwise.
    #[default]
    Auto,
    /// Burn's terminal dashboard (needs a terminal).
    Dashboard,
    /// Plain lines ([`crate::PlainRenderer`]).
    Plain,
    /// Nothing (benchmarks, library use).
    Quiet,
}

impl ProgressMode {
    /// Prints a line about the run's progress, unless quiet. A write error is ignored here: the
    /// progress lines report it, and the caller's own output will meet it too.
    pub(crate) fn announce(self, line: std::fmt::Arguments<'_>) {
        if self != ProgressMode::Quiet {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}").and_then(|()| out.flush());
        }
    }

    /// Whether this mode shows the dashboard here; an error for the dashboard without a
    /// terminal, which Burn's dashboard cannot draw on (its thread panics and training goes on
    /// unseen).
    pub fn dashboard(self) -> Result<bool, LearnerError> {
        let terminal = std::io::stdout().is_terminal();
        // A terminal that says it cannot move its cursor (`TERM=dumb`: Emacs' shell, some CI
        // consoles) gets plain lines.
        let dumb = std::env::var_os("TERM").is_some_and(|term| term == "dumb");
        match self {
            ProgressMode::Auto => Ok(terminal && !dumb),
            ProgressMode::Dashboard if terminal => Ok(true),
            ProgressMode::Dashboard => Err(LearnerError::NoTerminal),
            ProgressMode::Plain | ProgressMode::Quiet => Ok(false),
        }
    }
}

/// Settings of a run that are not hyperparameters.
///
/// ```
/// use learner::{ProgressMode, TrainOptions};
///
/// let options = TrainOptions::new("artifacts/mlp") // the preferred backend, auto progress
///     .with_progress(ProgressMode::Plain)
///     .with_resume(true);
/// assert_eq!(options.devices, 1);
/// ```
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The artifacts folder.
    pub artifacts: PathBuf,
    /// The backend to train on; `None`: [`BackendKind::preferred`].
    pub backend: Option<BackendKind>,
    /// Devices to train on: 1, or more for Burn's multi-device data-parallel strategy (each
    /// device computes the gradients of its share of every step; the main device, the first,
    /// applies them and runs validation).
    pub devices: usize,
    /// Continue the run in `artifacts` (from its last complete checkpoint, or from the start
    /// when it stopped before its first) instead of starting afresh.
    pub resume: bool,
    /// Replace an earlier run found in `artifacts` (only what it wrote is removed).
    pub overwrite: bool,
    /// How progress is shown.
    pub progress: ProgressMode,
    /// At most this many batches of training and of validation each epoch, and of the test
    /// set at the end (a quick run through every step of a run); `None`: all.
    pub limit_batches: Option<usize>,
    /// Stop after this many training batches in all (the last epoch then ends early); `None`:
    /// train the config's epochs.
    pub max_steps: Option<usize>,
}

impl TrainOptions {
    /// A fresh run in `artifacts` on one device of the preferred backend, with progress shown
    /// as [`ProgressMode::Auto`] says.
    pub fn new(artifacts: impl Into<PathBuf>) -> Self {
        Self {
            artifacts: artifacts.into(),
            backend: None,
            devices: 1,
            resume: false,
            overwrite: false,
            progress: ProgressMode::Auto,
            limit_batches: None,
            max_steps: None,
        }
    }

    /// At most `batches` batches of training and of validation each epoch, and of the test set
    /// at the end.
    pub fn with_limit_batches(mut self, batches: Option<usize>) -> Self {
        self.limit_batches = batches;
        self
    }

    /// Stops after `steps` training batches in all.
    pub fn with_max_steps(mut self, steps: Option<usize>) -> Self {
        self.max_steps = steps;
        self
    }

    /// Trains on `backend` (`None`: the preferred one).
    pub fn with_backend(mut self, backend: Option<BackendKind>) -> Self {
        self.backend = backend;
        self
    }

    /// Trains on `devices` devices of the backend.
    pub fn with_devices(mut self, devices: usize) -> Self {
        self.devices = devices;
        self
    }

    /// Continues the run in the artifacts folder.
    pub fn with_resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Replaces an earlier run in the artifacts folder.
    pub fn with_overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// Shows progress as `progress` says.
    pub fn with_progress(mut self, progress: ProgressMode) -> Self {
        self.progress = progress;
        self
    }
}

/// What a finished run produced (also saved in its artifacts folder).
#[derive(Debug)]
pub struct TrainReport<M> {
    /// The figures saved as `summary.json`.
    pub summary: Summary,
    /// The trained model (saved as `model.bpk`).
    pub model: M,
    /// The final model's evaluation on the test set.
    pub test: Evaluation,
    /// Where everything was saved.
    pub artifacts: ArtifactDir,
}

/// Builds a model for data of a shape on a device: what a run trains, and what each checkpoint
/// is loaded into.
pub(crate) type Init<'a, M> = &'a dyn Fn(&Device, &DataShape) -> M;

/// Trains any [`ImageClassifier`], built on a device by `init` for the data's shape (its
/// images' channels, height and width, and the task's number of classes), on `data` as
/// `config` says; evaluates it on the test set and writes the run.
///
/// Everything comes with it: the config's optimizer and schedule, metrics, the dashboard or
/// plain lines, a checkpoint every epoch (the last few kept), [`TrainOptions::resume`], early
/// stopping, the divergence stop, Ctrl-C and SIGTERM, full-disk errors, `model.json`,
/// `summary.json`, `history.jsonl`, `eval.json`, `curves.png`, `confusion.png`, `model.bpk`,
/// TensorBoard's event file and the model's [extra
/// artifacts](ImageClassifier::extra_artifacts). The config's `model` block is not read here:
/// `init` builds the model.
///
/// `init` is called on the training device (seeded from `config.seed` first), and again to
/// load checkpoints into. The validation set is evaluated after every epoch (Burn's Learner)
/// and drives early stopping; every epoch's checkpoint is also measured on the validation and
/// test sets (its line of the history), and the test set is reported, never used to choose.
///
/// ```no_run
/// use burn::nn::{Linear, LinearConfig, Relu};
/// use burn::prelude::*;
/// use learner::{TrainOptions, TrainingConfig};
/// use model::{DataShape, ImageClassifier};
///
/// #[derive(Module, Debug)]
/// struct Mlp { hidden: Linear, out: Linear, act: Relu }
///
/// impl ImageClassifier for Mlp {
///     // images: [batch, channels, height, width] floats; returns one logit per class
///     fn logits(&self, images: Tensor<4>) -> Tensor<2> {
///         let x = images.flatten(1, 3);
///         self.out.forward(self.act.forward(self.hidden.forward(x)))
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config = TrainingConfig::default().validate()?; // or TrainingConfig::from_file(path)?
/// let data = data::ImageData::load(&config.dataset, data::LoadOptions::default())?;
/// let options = TrainOptions::new("artifacts/mlp"); // defaults: preferred backend, auto progress, fresh run
/// let report = learner::train_model(
///     |device: &Device, shape: &DataShape| Mlp {
///         hidden: LinearConfig::new(shape.input_size(), 128).init(device),
///         out: LinearConfig::new(128, shape.num_classes).init(device),
///         act: Relu::new(),
///     },
///     &config, &data, &options)?;
/// // report.summary (the summary.json figures), report.model (the trained Mlp), report.test
/// println!("{:.2} %", 100.0 * report.summary.test_accuracy);
/// # Ok(())
/// # }
/// ```
pub fn train_model<M, F>(
    init: F,
    config: &ValidConfig,
    data: &ImageData,
    options: &TrainOptions,
) -> Result<TrainReport<M>, LearnerError>
where
    M: ImageClassifier,
    F: Fn(&Device, &DataShape) -> M,
{
    let init: Init<'_, M> = &init;
    signals::survive_file_size_limit();
    pages::small_pages_from_here();
    let run = prepare::prepare(init, config, data, options)?;
    finish::measure_before_resuming(init, config, &run)?;
    let training = build::build(init, config, &run, options)?;
    let outcome = launch::launch(training, &run, config)?;
    finish::finish(init, config, run, options, outcome)
}

/// Builds the model from `seed`. The backend's random generator is global to the process, so
/// seeding and drawing happen under one lock: two runs in one process (tests, notebooks)
/// cannot interleave and each gets the weights its seed gives.
///
/// Burn initialises parameters lazily, on their first use; every one is initialised here, in
/// the module's field order, while the lock is held. Otherwise the draws would happen later,
/// outside the lock, in the order the parameters happen to be used first (a model's
/// `describe` reading a weight's shape would change the weights).
pub(crate) fn seeded_init<M: ImageClassifier>(
    init: Init<'_, M>,
    device: &Device,
    shape: &DataShape,
    seed: u64,
) -> M {
    static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    device.seed(seed);
    let model = init(device, shape);
    model.visit(&mut Initialise);
    model
}

/// Initialises every parameter it visits (Burn's parameters are lazy).
struct Initialise;

impl burn::module::ModuleVisitor for Initialise {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        let _ = param.val();
    }

    fn visit_int<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D, Int>>) {
        let _ = param.val();
    }

    fn visit_bool<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D, Bool>>) {
        let _ = param.val();
    }
}
