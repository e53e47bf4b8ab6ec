//! `runs [DIR]`: the runs under a folder side by side, from their `summary.json`,
//! `config.json`, `model.json` and manifest. Never fails on a damaged or half-finished run: it
//! is listed as such.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;

use super::output::say;
use crate::{ArtifactDir, Summary};

/// `runs`' options.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Folder to look for runs in (its run folders, at any depth).
    #[arg(value_name = "DIR", default_value = "artifacts")]
    dir: PathBuf,
    /// Column to sort by.
    #[arg(long, value_enum, default_value_t = Column::Name)]
    sort: Column,
    /// Sort from the largest (or last) value down.
    #[arg(long)]
    reverse: bool,
    /// Print the rows as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// A column of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Column {
    Name,
    Dataset,
    Model,
    Epochs,
    Lr,
    Batch,
    Validation,
    Test,
    Seconds,
    Status,
}

/// One run, as the table shows it; figures a run lacks are `None`.
#[derive(Debug, Clone, Serialize)]
struct Row {
    name: String,
    dataset: Option<String>,
    model: Option<String>,
    epochs: Option<usize>,
    planned_epochs: Option<usize>,
    learning_rate: Option<f64>,
    batch_size: Option<usize>,
    validation_accuracy: Option<f64>,
    test_accuracy: Option<f64>,
    train_seconds: Option<f64>,
    status: String,
}

/// Deepest level looked at below DIR.
const MAX_DEPTH: usize = 6;

/// Lists the runs under `args.dir`.
pub fn runs(args: RunsArgs) -> Result<()> {
    if !args.dir.is_dir() {
        bail!(
            "{} is not a folder: give the folder that holds your runs (the trainer saves them in \
             artifacts/ by default)",
            args.dir.display()
        );
    }
    let mut rows: Vec<Row> = run_folders(&args.dir, 0)
        .iter()
        .map(|folder| row(&args.dir, folder))
        .collect();
    sort(&mut rows, args.sort, args.reverse);
    if args.json {
        say!(
            "{}",
            serde_json::to_string_pretty(&rows).expect("rows serialise")
        );
        return Ok(());
    }
    if rows.is_empty() {
        say!(
            "no runs under {} (a run folder holds the manifest.jsonl a training writes first)",
            printable(&args.dir.display().to_string())
        );
        return Ok(());
    }
    for line in table(&rows) {
        say!("{line}");
    }
    Ok(())
}

/// The run folders at or below `dir`: those holding a manifest (every run writes one first; a
/// folder with only a `config.json` is some other program's). Links are not followed, and a run
/// folder's own folders are not searched.
fn run_folders(dir: &Path, depth: usize) -> Vec<PathBuf> {
    if ArtifactDir::new(dir).holds_run() {
        return vec![dir.to_path_buf()];
    }
    if depth >= MAX_DEPTH {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut inner: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .map(|entry| entry.path())
        .collect();
    inner.sort();
    inner
        .iter()
        .flat_map(|inner| run_folders(inner, depth + 1))
        .collect()
}

/// What `folder` holds, as one row; what cannot be read is said in its status.
fn row(base: &Path, folder: &Path) -> Row {
    let artifacts = ArtifactDir::new(folder);
    let name = printable(
        &folder
            .strip_prefix(base)
            .ok()
            .filter(|relative| !relative.as_os_str().is_empty())
            .unwrap_or(folder)
            .display()
            .to_string(),
    );
    // Anything at those names is read (a FIFO or a folder is then a problem to report).
    let present = |path: PathBuf| std::fs::symlink_metadata(path).is_ok();
    let config = present(artifacts.config_path()).then(|| artifacts.load_config());
    let summary = present(artifacts.summary_path()).then(|| artifacts.load_summary());
    let (config, config_problem) = split(config);
    let (summary, summary_problem) = split(summary);
    let status = status(
        &artifacts,
        summary.as_ref(),
        config_problem,
        summary_problem,
    );
    Row {
        name,
        dataset: summary
            .as_ref()
            .map(|s| s.dataset.clone())
            .or_else(|| config.as_ref().map(|c| c.dataset.display_name())),
        model: model(&artifacts, summary.as_ref()),
        // A run without a summary: its complete checkpoints (a folder listing, nothing read).
        epochs: summary
            .as_ref()
            .map(|s| s.epochs)
            .or_else(|| artifacts.checkpoint_epochs().last().copied()),
        planned_epochs: config.as_ref().map(|c| c.epochs),
        learning_rate: config.as_ref().map(|c| c.optimizer.learning_rate()),
        batch_size: config.as_ref().map(|c| c.batch_size),
        validation_accuracy: summary.as_ref().map(|s| s.validation_accuracy),
        test_accuracy: summary.as_ref().map(|s| s.test_accuracy),
        train_seconds: summary.as_ref().map(|s| s.train_seconds),
        status,
    }
}

/// `Some(Ok)` as the value, `Some(Err)` as its problem in words, `None` as neither.
fn split<T, E: std::fmt::Display>(read: Option<Result<T, E>>) -> (Option<T>, Option<String>) {
    match read {
        Some(Ok(value)) => (Some(value), None),
        Some(Err(err)) => (None, Some(err.to_string())),
        None => (None, None),
    }
}

/// The model: as the summary recorded it, else as the run's card (`model.json`) does; a run of
/// an older version whose card is a bare logistic-regression config is described as such.
fn model(artifacts: &ArtifactDir, summary: Option<&Summary>) -> Option<String> {
    summary
        .map(|s| s.model.clone())
        .filter(|model| !model.is_empty())
        .or_else(|| artifacts.load_card().ok().map(|card| card.describe))
        .map(|model| printable(&model))
}

/// finished / interrupted / stopped early / diverged / imported from PyTorch / unfinished /
/// damaged.
fn status(
    artifacts: &ArtifactDir,
    summary: Option<&Summary>,
    config_problem: Option<String>,
    summary_problem: Option<String>,
) -> String {
    if let Some(problem) = summary_problem.or(config_problem) {
        return format!("damaged: {problem}");
    }
    match summary {
        Some(summary) if summary.interrupted => "interrupted".to_string(),
        Some(summary) if summary.stopped_early => "stopped early".to_string(),
        Some(_) => "finished".to_string(),
        None => match crate::Manifest::ending(artifacts.root()) {
            Some(ending) => ending,
            // Stopped before it wrote its config (a kill during --overwrite): nothing to resume.
            None if !artifacts.config_path().is_file() => {
                "unfinished, no config.json (start it again with --overwrite)".to_string()
            }
            None => "unfinished (running, or stopped: --resume continues it)".to_string(),
        },
    }
}

fn sort(rows: &mut [Row], column: Column, reverse: bool) {
    use std::cmp::Ordering;
    // Missing values go last, whichever the direction.
    fn by<T: PartialOrd>(a: &Option<T>, b: &Option<T>, reverse: bool) -> Ordering {
        match (a, b) {
            (Some(a), Some(b)) => {
                let order = a.partial_cmp(b).unwrap_or(Ordering::Equal);
                if reverse { order.reverse() } else { order }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
    rows.sort_by(|a, b| {
        let order = match column {
            Column::Name => by(&Some(&a.name), &Some(&b.name), reverse),
            Column::Dataset => by(&a.dataset, &b.dataset, reverse),
            Column::Model => by(&a.model, &b.model, reverse),
            Column::Epochs => by(&a.epochs, &b.epochs, reverse),
            Column::Lr => by(&a.learning_rate, &b.learning_rate, reverse),
            Column::Batch => by(&a.batch_size, &b.batch_size, reverse),
            Column::Validation => by(&a.validation_accuracy, &b.validation_accuracy, reverse),
            Column::Test => by(&a.test_accuracy, &b.test_accuracy, reverse),
            Column::Seconds => by(&a.train_seconds, &b.train_seconds, reverse),
            Column::Status => by(&Some(&a.status), &Some(&b.status), reverse),
        };
        order.then_with(|| a.name.cmp(&b.name))
    });
}

/// `text` with control characters (escape sequences a folder name may hold) shown as escapes
/// instead of being sent to the terminal.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `x` as `0.001`, or `1e37` when plain digits would be long.
fn short_number(x: f64) -> String {
    let plain = format!("{x}");
    if plain.len() > 8 {
        format!("{x:e}")
    } else {
        plain
    }
}

/// The rows as an aligned table with a header.
fn table(rows: &[Row]) -> Vec<String> {
    let dash = || "-".to_string();
    let percent = |value: Option<f64>| value.map_or_else(dash, |v| format!("{:.2} %", 100.0 * v));
    let cells: Vec<[String; 10]> = rows
        .iter()
        .map(|row| {
            [
                row.name.clone(),
                row.dataset.clone().unwrap_or_else(dash),
                row.model.clone().unwrap_or_else(dash),
                match (row.epochs, row.planned_epochs) {
                    (Some(done), Some(planned)) => format!("{done}/{planned}"),
                    (None, Some(planned)) => format!("0/{planned}"),
                    (Some(done), None) => done.to_string(),
                    (None, None) => dash(),
                },
                row.learning_rate.map_or_else(dash, short_number),
                row.batch_size.map_or_else(dash, |b| b.to_string()),
                percent(row.validation_accuracy),
                percent(row.test_accuracy),
                row.train_seconds.map_or_else(dash, |s| format!("{s:.2}")),
                row.status.clone(),
            ]
        })
        .collect();
    let header = [
        "run",
        "dataset",
        "model",
        "epochs",
        "lr",
        "batch",
        "validation",
        "test",
        "train s",
        "status",
    ]
    .map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    std::iter::once(&header)
        .chain(&cells)
        .map(|row| {
            let line: Vec<String> = row
                .iter()
                .zip(widths)
                .enumerate()
                .map(|(column, (cell, width))| match column {
                    // Numbers right-aligned, words left-aligned; the last column unpadded.
                    3..=8 => format!("{cell:>width$}"),
                    9 => cell.clone(),
                    _ => format!("{cell:<width$}"),
                })
                .collect();
            line.join("  ")
        })
        .collect()
}
