//! `trainer bench`: how fast each compiled-in backend trains and evaluates, measured through the
//! same Learner a training run uses. Each backend runs in its own child process, so that each
//! has its own peak memory and none warms another's caches.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::module::Module;

use clap::Args;
use data::{ImageData, LoadOptions};
use learner::cli::output::say;
use learner::{BackendKind, ProgressMode, TrainOptions, TrainingConfig, evaluate};
use serde::{Deserialize, Serialize};

/// Accuracy that "time to 92 %" waits for.
const TARGET_ACCURACY: f64 = 0.92;
/// Evaluations of the test set timed per backend (the median is reported).
const EVAL_REPEATS: usize = 5;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// JSON training config to time; default: the built-in default (configs/default.json).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
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
    /// Training seconds until the end of the first epoch at 92 % test accuracy or more.
    pub seconds_to_92: Option<f64>,
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
    print_table(&results)?;
    if let Some(path) = &args.json {
        let report = BenchReport {
            machine,
            command: std::env::args().collect::<Vec<_>>().join(" "),
            config: args
                .config
                .as_ref()
                .map_or("built-in default (configs/default.json)".to_string(), |p| {
                    p.display().to_string()
                }),
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

/// The validated config a benchmark trains with.
fn bench_config(args: &BenchArgs) -> Result<learner::ValidConfig> {
    let mut config = match &args.config {
        Some(path) => TrainingConfig::from_file(path)?,
        None => TrainingConfig::default(),
    };
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
    let shape = learner::run::card::data_shape(&data);
    let logistic = model::zoo::LogisticSettings::default().for_data(&shape)?;
    let report = learner::train_model(
        |device: &burn::prelude::Device, _: &model::DataShape| logistic.init(device),
        &config,
        &data,
        &options,
    )?;
    let summary = &report.summary;

    let cumulative: Vec<f64> = summary
        .history
        .iter()
        .map(|entry| entry.train_seconds.unwrap_or(f64::NAN))
        .collect();
    let epoch_seconds = cumulative
        .iter()
        .scan(0.0, |previous, &now| {
            let epoch = now - *previous;
            *previous = now;
            Some(epoch)
        })
        .collect();
    let seconds_to_92 = summary
        .history
        .iter()
        .find(|entry| entry.test_accuracy >= TARGET_ACCURACY)
        .and_then(|entry| entry.train_seconds);

    let device = backend.device()?;
    let model = report.model.to_device(&device);
    let mut timings = Vec::with_capacity(EVAL_REPEATS);
    for _ in 0..EVAL_REPEATS {
        let start = Instant::now();
        let batcher = config.dataset.eval_batcher(shape.channels);
        let evaluation = evaluate(
            &model,
            &data.test,
            config.eval_batch_size,
            &batcher,
            &device,
        )?;
        timings.push(start.elapsed().as_secs_f64());
        anyhow::ensure!(
            evaluation.count == data.test.len(),
            "evaluation skipped images"
        );
    }
    timings.sort_by(f64::total_cmp);
    let eval_seconds = timings[timings.len() / 2];

    Ok(BenchResult {
        name: format!("burn-{backend}"),
        device: summary.device.clone(),
        epochs: summary.epochs,
        epoch_seconds,
        train_seconds: summary.train_seconds,
        samples_per_second: summary.samples_per_second,
        test_accuracy: summary.test_accuracy,
        test_accuracy_per_epoch: summary.history.iter().map(|e| e.test_accuracy).collect(),
        seconds_to_92,
        eval_images_per_second: data.test.len() as f64 / eval_seconds,
        peak_rss_mb: peak_rss_mb(Path::new("/proc/self/status")).unwrap_or(f64::NAN),
    })
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
        "{:<14} {:>9} {:>11} {:>10} {:>9} {:>14} {:>10}  device",
        "backend",
        "s/epoch",
        "images/s",
        "s to 92%",
        "test acc",
        "eval images/s",
        "peak RSS"
    );
    for result in results {
        let to_92 = result
            .seconds_to_92
            .map_or("never".to_string(), |s| format!("{s:.2}"));
        say!(
            "{:<14} {:>9.3} {:>11.0} {:>10} {:>8.2}% {:>14.0} {:>7.0} MB  {}",
            result.name,
            result.train_seconds / result.epochs.max(1) as f64,
            result.samples_per_second,
            to_92,
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
