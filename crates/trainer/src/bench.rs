//! `trainer bench`: how fast each compiled-in backend trains and evaluates a zoo model, measured
//! through the same Learner a training run uses. Each backend runs in its own child process, so
//! that each has its own peak memory and none warms another's caches.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use clap::Args;
use data::{ImageData, LoadOptions};
use learner::cli::output::say;
use learner::{BackendKind, ProgressMode, TrainOptions, TrainingConfig, evaluate};
use serde::{Deserialize, Serialize};

/// The test accuracy "time to target" waits for, by model: what each reaches here in its
/// first epochs (docs/benchmarks.md).
fn target_accuracy(kind: &str) -> f64 {
    match kind {
        "mlp" => 0.975,
        "cnn" => 0.99,
        _ => 0.92,
    }
}
/// Evaluations of the test set timed per backend (the median is reported).
const EVAL_REPEATS: usize = 5;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// JSON training config to time; default: the built-in default (configs/default.json), or
    /// with --model, configs/<model>.json.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The zoo model to time (logistic, mlp, cnn), with its defaults.
    #[arg(long, value_name = "NAME")]
    model: Option<String>,
    /// Folder with the four MNIST IDX files; default: as for training.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Backend to measure; repeat for several. Default: every compiled-in backend except the
    /// CUDA ones.
    #[arg(long = "backend", value_name = "NAME")]
    backends: Vec<BackendKind>,
    /// Epochs to train (overrides the config).
    #[arg(long, value_name = "N")]
    epochs: Option<usize>,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Internal: measure the one --backend in this process and write the result to this file.
    #[arg(long, value_name = "FILE", hide = true)]
    child_result: Option<PathBuf>,
}

/// One backend's figures; the PyTorch reference script writes the same fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchResult {
    /// `burn-<backend>` (or `pytorch-<style>` from the reference script).
    pub name: String,
    /// The device, as the backend names it.
    pub device: String,
    /// Epochs trained.
    pub epochs: usize,
    /// Training seconds of each epoch (validation and evaluation excluded).
    pub epoch_seconds: Vec<f64>,
    /// Sum of `epoch_seconds`.
    pub train_seconds: f64,
    /// Training images per second.
    pub samples_per_second: f64,
    /// Test accuracy of the final model.
    pub test_accuracy: f64,
    /// Test accuracy after each epoch.
    pub test_accuracy_per_epoch: Vec<f64>,
    /// The zoo model (`logistic`, `mlp`, `cnn`).
    #[serde(default)]
    pub model: String,
    /// The test accuracy `seconds_to_target` waits for.
    pub target_accuracy: f64,
    /// Training seconds until the end of the first epoch at `target_accuracy` or more.
    pub seconds_to_target: Option<f64>,
    /// Test images per second when evaluating the 10,000 test images (median of 5).
    pub eval_images_per_second: f64,
    /// Peak resident memory of the process, in MB.
    pub peak_rss_mb: f64,
}

#[derive(Debug, Serialize)]
struct BenchReport {
    machine: String,
    command: String,
    config: String,
    results: Vec<BenchResult>,
    /// The backends whose benchmark failed.
    failed: Vec<String>,
}

/// Refuses a `--json` path that cannot be written before anything is measured, rather than
/// after minutes of benchmarks: its folder must exist, and the path must be a regular file or
/// nothing yet.
fn check_json_path(path: &Path) -> Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        bail!(
            "--json {}: the folder {} does not exist; create it first or give another path",
            path.display(),
            folder.display()
        );
    }
    if path.is_dir() {
        bail!(
            "--json {} is a folder; give a file name, such as {}",
            path.display(),
            path.join("bench.json").display()
        );
    }
    // The report replaces the file by a rename: a device, pipe or socket would be replaced.
    if path.exists() && !path.is_file() {
        bail!(
            "--json {} is not a regular file (a device, pipe or socket); give a file path",
            path.display()
        );
    }
    Ok(())
}

/// Measures every backend asked for; fails (exit 1) when any of them could not be measured,
/// after writing what was.
pub fn run(args: BenchArgs) -> Result<()> {
    if let Some(result_file) = &args.child_result {
        let [backend] = args.backends.as_slice() else {
            bail!("--child-result needs exactly one --backend");
        };
        let result = measure(*backend, &args)?;
        std::fs::write(result_file, serde_json::to_string(&result)?)
            .with_context(|| format!("cannot write {}", result_file.display()))?;
        return Ok(());
    }

    // A config that cannot train fails here, once, rather than in every child.
    bench_config(&args)?;
    if let Some(path) = &args.json {
        check_json_path(path)?;
    }
    let backends = if args.backends.is_empty() {
        BackendKind::compiled()
            .into_iter()
            .filter(|kind| !matches!(kind, BackendKind::TchCuda | BackendKind::Cuda))
            .collect()
    } else {
        args.backends.clone()
    };
    let machine = machine();
    say!("machine: {machine}");
    let scratch = tempfile::tempdir().context("cannot create a temporary folder")?;
    let mut results = Vec::new();
    let mut failed = Vec::new();
    for backend in backends {
        say!("measuring {backend} ...");
        let result_file = scratch.path().join(format!("{backend}.json"));
        let mut child = Command::new(std::env::current_exe()?);
        child.arg("bench").arg("--backend").arg(backend.name());
        child.arg("--child-result").arg(&result_file);
        if let Some(config) = &args.config {
            child.arg("--config").arg(config);
        }
        if let Some(model) = &args.model {
            child.arg("--model").arg(model);
        }
        if let Some(dir) = &args.data_dir {
            child.arg("--data-dir").arg(dir);
        }
        if let Some(epochs) = args.epochs {
            child.arg("--epochs").arg(epochs.to_string());
        }
        let status = child
            .status()
            .context("cannot start the benchmark process")?;
        if !status.success() {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "{backend}: the benchmark failed (see the error above)"
            );
            failed.push(backend.name().to_string());
            continue;
        }
        let text = std::fs::read_to_string(&result_file)?;
        results.push(serde_json::from_str::<BenchResult>(&text)?);
    }
    // No table when nothing was measured: the errors above say why.
    if !results.is_empty() {
        print_table(&results)?;
    }
    if let Some(path) = &args.json {
        let report = BenchReport {
            machine,
            command: std::env::args().collect::<Vec<_>>().join(" "),
            config: match (&args.config, &args.model) {
                (Some(path), _) => path.display().to_string(),
                (None, Some(model)) => format!("configs/{model}.json (--model {model})"),
                (None, None) => "built-in default (configs/default.json)".to_string(),
            },
            results,
            failed: failed.clone(),
        };
        learner::write_atomic(path, serde_json::to_string_pretty(&report)?.as_bytes())?;
        say!("wrote {}", path.display());
    }
    if !failed.is_empty() {
        bail!(
            "the benchmark of {} failed (see the errors above)",
            failed.join(", ")
        );
    }
    Ok(())
}

/// The validated config a benchmark trains with, its model block checked by the zoo.
fn bench_config(args: &BenchArgs) -> Result<learner::ValidConfig> {
    use learner::cli::ModelSource;
    let zoo = crate::zoo::Zoo;
    let named = match &args.model {
        Some(name) => Some(zoo.named(name).with_context(|| {
            format!(
                "--model {name}: no such model; the zoo has {}",
                zoo.names().join(", ")
            )
        })?),
        None => None,
    };
    let mut config = match (&args.config, &named) {
        (Some(path), _) => TrainingConfig::from_file(path)?,
        (None, Some((_, Some(json)))) => TrainingConfig::from_json(json)?,
        _ => TrainingConfig::default(),
    };
    if let Some((block, _)) = named {
        config.model = block;
    }
    config.model = zoo.check(&config.model)?;
    if let Some(epochs) = args.epochs {
        config.epochs = epochs;
    }
    Ok(config.validate()?)
}

/// Trains with the config on `backend` in this process and measures it.
fn measure(backend: BackendKind, args: &BenchArgs) -> Result<BenchResult> {
    let config = bench_config(args)?;
    let options = LoadOptions {
        data_dir: args.data_dir.as_deref(),
        split: config.validation,
        progress: None,
    };
    let data = ImageData::load(&config.dataset, options)?.with_task(config.task)?;
    let artifacts = tempfile::tempdir().context("cannot create a temporary folder")?;
    let options = TrainOptions::new(artifacts.path())
        .with_backend(Some(backend))
        .with_progress(ProgressMode::Quiet);
    let job = Measure {
        config: &config,
        data: &data,
        options: &options,
        backend,
    };
    Ok(crate::zoo::with_model(&config.model, &config, &data, job)?)
}

/// One benchmark of a zoo model: training through the Learner, then evaluation timed.
struct Measure<'a> {
    config: &'a learner::ValidConfig,
    data: &'a ImageData,
    options: &'a TrainOptions,
    backend: BackendKind,
}

impl crate::zoo::WithModel for Measure<'_> {
    type Output = BenchResult;

    fn run<M: model::ImageClassifier>(
        self,
        init: impl Fn(&burn::prelude::Device, &model::DataShape) -> M,
    ) -> Result<BenchResult, learner::LearnerError> {
        let report = learner::train_model(init, self.config, self.data, self.options)?;
        let summary = &report.summary;
        let device = self.backend.device()?;
        let model = report.model.to_device(&device);
        let eval_seconds = time_evaluation(&model, self.config, self.data, &device)?;
        let target = target_accuracy(&summary.model_kind);
        Ok(BenchResult {
            name: format!("burn-{}", self.backend),
            device: summary.device.clone(),
            epochs: summary.epochs,
            epoch_seconds: epoch_seconds(summary),
            train_seconds: summary.train_seconds,
            samples_per_second: summary.samples_per_second,
            test_accuracy: summary.test_accuracy,
            test_accuracy_per_epoch: summary.history.iter().map(|e| e.test_accuracy).collect(),
            model: summary.model_kind.clone(),
            target_accuracy: target,
            seconds_to_target: summary
                .history
                .iter()
                .find(|entry| entry.test_accuracy >= target)
                .and_then(|entry| entry.train_seconds),
            eval_images_per_second: self.data.test.len() as f64 / eval_seconds,
            peak_rss_mb: peak_rss_mb(Path::new("/proc/self/status")).unwrap_or(f64::NAN),
        })
    }
}

/// Each epoch's training seconds, from the history's cumulative ones.
fn epoch_seconds(summary: &learner::Summary) -> Vec<f64> {
    summary
        .history
        .iter()
        .map(|entry| entry.train_seconds.unwrap_or(f64::NAN))
        .scan(0.0, |previous, now| {
            let epoch = now - *previous;
            *previous = now;
            Some(epoch)
        })
        .collect()
}

/// The median of [`EVAL_REPEATS`] evaluations of the test set, in seconds.
fn time_evaluation(
    model: &dyn model::Classify,
    config: &learner::ValidConfig,
    data: &ImageData,
    device: &burn::prelude::Device,
) -> Result<f64, learner::LearnerError> {
    let shape = learner::run::card::data_shape(data);
    let batcher = config.dataset.eval_batcher(shape.channels);
    let mut timings = Vec::with_capacity(EVAL_REPEATS);
    for _ in 0..EVAL_REPEATS {
        let start = Instant::now();
        let evaluation = evaluate(model, &data.test, config.eval_batch_size, &batcher, device)?;
        timings.push(start.elapsed().as_secs_f64());
        debug_assert_eq!(evaluation.count, data.test.len());
    }
    timings.sort_by(f64::total_cmp);
    Ok(timings[timings.len() / 2])
}

/// Peak resident set size (`VmHWM`) from a `/proc/<pid>/status` file, in MB.
fn peak_rss_mb(status: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(status).ok()?;
    let line = text.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// CPU model and core count, from `/proc/cpuinfo`.
fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {cores} cores available")
}

fn print_table(results: &[BenchResult]) -> Result<()> {
    say!();
    say!(
        "{:<14} {:>9} {:>11} {:>16} {:>9} {:>14} {:>10}  device",
        "backend",
        "s/epoch",
        "images/s",
        "s to target",
        "test acc",
        "eval images/s",
        "peak RSS"
    );
    for result in results {
        let to_target = format!(
            "{} to {:.1}%",
            result
                .seconds_to_target
                .map_or("never".to_string(), |s| format!("{s:.2}")),
            100.0 * result.target_accuracy
        );
        say!(
            "{:<14} {:>9.3} {:>11.0} {:>16} {:>8.2}% {:>14.0} {:>7.0} MB  {}",
            result.name,
            result.train_seconds / result.epochs.max(1) as f64,
            result.samples_per_second,
            to_target,
            100.0 * result.test_accuracy,
            result.eval_images_per_second,
            result.peak_rss_mb,
            result.device
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_peak_from_a_proc_status_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("status");
        std::fs::write(
            &path,
            "Name:\ttrainer\nVmPeak:\t  999 kB\nVmHWM:\t  204800 kB\nVmRSS:\t 1 kB\n",
        )
        .unwrap();
        assert_eq!(peak_rss_mb(&path), Some(200.0));
        std::fs::write(&path, "Name:\ttrainer\n").unwrap();
        assert_eq!(peak_rss_mb(&path), None);
        assert!(peak_rss_mb(Path::new("/proc/self/status")).is_some_and(|mb| mb > 1.0));
    }
}
