//! The trainer's command line for any model: `train` (also without a subcommand), `eval`,
//! `predict` and `runs`, with the trainer's arguments, errors and exit codes. A binary of your
//! own is its model and one call:
//!
//! ```no_run
//! use burn::nn::{Linear, LinearConfig, Relu};
//! use burn::prelude::*;
//! use model::{DataShape, ImageClassifier};
//!
//! #[derive(Module, Debug)]
//! struct MyNet { hidden: Linear, out: Linear, act: Relu }
//!
//! impl ImageClassifier for MyNet {
//!     fn logits(&self, images: Tensor<4>) -> Tensor<2> {
//!         self.out.forward(self.act.forward(self.hidden.forward(images.flatten(1, 3))))
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     learner::cli::main(|device: &Device, shape: &DataShape| MyNet {
//!         hidden: LinearConfig::new(shape.input_size(), 64).init(device),
//!         out: LinearConfig::new(64, shape.num_classes).init(device),
//!         act: Relu::new(),
//!     })
//! }
//! ```
//!
//! Its runs are runs like the trainer's: checkpoints, resume, TensorBoard, `trainer runs`.
//! `trainer` itself is this command line with the model zoo as its [`ModelSource`], plus its
//! own `bench` and `import-pytorch`.

mod eval;
mod lr_find;
pub mod output;
mod predict;
mod runs;
mod source;
mod train;

use std::process::ExitCode;

use burn::prelude::*;
use clap::{Parser, Subcommand};
use model::{DataShape, ImageClassifier};

pub use eval::{EvalArgs, eval, report};
pub use lr_find::{LrFindArgs, lr_find};
pub use predict::{PredictArgs, predict};
pub use runs::{RunsArgs, runs};
pub use source::{ModelSource, OwnModel, Trained};
pub use train::{Progress, TrainArgs, pick_device, shell_word, thousands, train};

/// The commands every binary built on this module has.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model and save it with its test evaluation in an artifacts folder.
    Train(TrainArgs),
    /// Re-evaluate a run's model on its test set: accuracy, loss, confusion matrix, per-class
    /// precision / recall / F1 and the most confused classes (printed, and written to eval.json
    /// and confusion.png in the artifacts folder).
    Eval(EvalArgs),
    /// Classify pictures (any size, PNG / JPEG / ...) with a run's model, printing the most
    /// probable classes.
    Predict(PredictArgs),
    /// List the runs under a folder side by side (data, model, epochs, learning rate, batch
    /// size, accuracies, training time, how each ended), sortable, or as JSON.
    Runs(RunsArgs),
    /// Find a learning rate: the range test (a fresh model trained a few hundred steps with a
    /// growing learning rate), a picture of loss against learning rate, and a suggested rate.
    LrFind(LrFindArgs),
}

impl Command {
    /// Runs the command with the models of `source`.
    pub fn run(self, source: &dyn ModelSource) -> anyhow::Result<()> {
        match self {
            Command::Train(args) => train(args, source),
            Command::Eval(args) => eval(args, source),
            Command::Predict(args) => predict(args, source),
            Command::Runs(args) => runs(args),
            Command::LrFind(args) => lr_find(args, source),
        }
    }
}

/// The command line of a binary built on this module: a command, or training without one.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    train: TrainArgs,
}

/// Trains, evaluates and predicts with the model `init` builds, as the trainer does with its
/// zoo: parses the command line, runs the command, prints errors with their cause and fix,
/// and returns the exit code (0 success; 1 an error; 2 a usage error; 130 / 143 a second
/// Ctrl-C / SIGTERM; 141 standard output closed early).
pub fn main<M, F>(init: F) -> ExitCode
where
    M: ImageClassifier,
    F: Fn(&Device, &DataShape) -> M,
{
    App::new(init).main()
}

/// [`main`] with settings: the training config used without `--config`.
#[derive(Debug)]
pub struct App<F> {
    source: OwnModel<F>,
}

impl<M, F> App<F>
where
    M: ImageClassifier,
    F: Fn(&Device, &DataShape) -> M,
{
    /// The command line of the model `init` builds.
    pub fn new(init: F) -> Self {
        Self {
            source: OwnModel::new(init),
        }
    }

    /// Trains with this config (JSON, a `configs/*.json` file's content) when no `--config`
    /// is given, instead of the built-in default (tuned for the logistic regression).
    pub fn with_default_config(mut self, json: &'static str) -> Self {
        self.source = self.source.with_default_config(json);
        self
    }

    /// Parses the command line, runs it, and returns the exit code.
    pub fn main(self) -> ExitCode {
        crate::compute_on_this_thread();
        output::exit_quietly_on_closed_stdout();
        crate::survive_file_size_limit();
        let cli = match Cli::try_parse() {
            Ok(cli) => cli,
            Err(err) => return output::usage(&err),
        };
        let command = cli.command.unwrap_or(Command::Train(cli.train));
        match command.run(&self.source) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => output::fail(&err),
        }
    }
}
