//! `trainer`: train, evaluate and use the model zoo's image classifiers (logistic regression,
//! MLP, CNN) on any labelled image data, with Burn.
//!
//! `cargo run --release -p trainer` trains the logistic regression with `configs/default.json`'s
//! settings; `trainer --help` lists the commands and options. The command line is
//! `learner::cli`'s, with the zoo as its models, plus `bench` and `import-pytorch`.

mod allocator;
mod bench;
mod import;
mod zoo;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use learner::cli::{self, TrainArgs, output};

/// Train and evaluate image classifiers (logistic regression, MLP, CNN) on any labelled image
/// data (MNIST's IDX files, image folders, CIFAR) with Burn. Without a subcommand, `trainer`
/// trains.
#[derive(Debug, Parser)]
#[command(name = "trainer", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Common(cli::Command),
    /// Make an artifacts folder from the weights of a PyTorch nn.Linear, saved with
    /// safetensors.torch.save_file(linear.state_dict(), FILE), and evaluate it (logistic
    /// regression only).
    ImportPytorch(import::ImportArgs),
    /// Measure training and evaluation speed and peak memory of each compiled-in backend.
    Bench(bench::BenchArgs),
}

/// Exit codes: 0 success; 1 an error (bad input, a failed run: the message names it and the
/// fix); 2 a command-line usage error (clap's, for an unknown option or a value of the wrong
/// form); 130 / 143 / 129 a second Ctrl-C / SIGTERM / SIGHUP; 141 standard output closed early
/// (`| head`).
fn main() -> ExitCode {
    allocator::keep_freed_pages();
    learner::compute_on_this_thread();
    output::exit_quietly_on_closed_stdout();
    learner::survive_file_size_limit();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return output::usage(&err),
    };
    let outcome = match cli.command {
        Some(Command::Common(command)) => command.run(&zoo::Zoo),
        Some(Command::ImportPytorch(args)) => import::run(args),
        Some(Command::Bench(args)) => bench::run(args),
        None => cli::train(cli.train, &zoo::Zoo),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => output::fail(&err),
    }
}
