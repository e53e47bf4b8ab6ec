//! `lr-find`: the learning-rate range test for the model and settings a training would use;
//! the picture and the figures go to a folder of their own, never into a run.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use super::output::say;
use super::source::ModelSource;
use super::train::load_data;
use crate::{BackendKind, LrFindSettings, Optimizer, TrainingConfig, plots};

/// `lr-find`'s options.
#[derive(Debug, Args)]
pub struct LrFindArgs {
    /// JSON training config whose model, optimizer, batch size and data are tested; default:
    /// the built-in default (with --model, configs/<model>.json).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The model to test, from the zoo (logistic, mlp, cnn), with its defaults.
    #[arg(long, value_name = "NAME")]
    model: Option<String>,
    /// The optimizer to step with (sgd, adam, adamw, rmsprop, adagrad), with its defaults.
    #[arg(long, value_name = "NAME")]
    optimizer: Option<String>,
    /// Folder with the data; default: the config's dataset.path, else as for training.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Training images per step (overrides the config).
    #[arg(long, value_name = "N")]
    batch_size: Option<usize>,
    /// Folder for lr-find.png and lr-find.json (created; files already there are never
    /// replaced).
    #[arg(long, value_name = "DIR", default_value = "artifacts/lr-find")]
    out: PathBuf,
    /// The first learning rate tried.
    #[arg(long, value_name = "X", default_value_t = 1e-6)]
    start: f64,
    /// The last learning rate tried (the test ends sooner if the loss explodes).
    #[arg(long, value_name = "X", default_value_t = 10.0)]
    end: f64,
    /// Steps, each with its own learning rate, growing exponentially.
    #[arg(long, value_name = "N", default_value_t = 200)]
    steps: usize,
    /// Compute backend, among those compiled in.
    #[arg(long, value_name = "NAME")]
    backend: Option<BackendKind>,
}

/// Runs the range test and writes its picture and figures.
pub fn lr_find(args: LrFindArgs, source: &dyn ModelSource) -> Result<()> {
    let mut config = match (&args.config, &args.model) {
        (Some(path), _) => TrainingConfig::from_file(path)?,
        (None, Some(name)) => match source.named(name) {
            Some((_, Some(json))) => TrainingConfig::from_json(json)?,
            _ => TrainingConfig::default(),
        },
        (None, None) => match source.default_config() {
            Some(json) => TrainingConfig::from_json(json)?,
            None => TrainingConfig::default(),
        },
    };
    if let Some(name) = &args.model {
        let (block, _) = source
            .named(name)
            .ok_or_else(|| super::train::unknown_model(name, source))?;
        config.model = block;
    }
    if let Some(name) = &args.optimizer {
        config.optimizer = Optimizer::named(name).with_context(|| {
            format!(
                "--optimizer {name}: no such optimizer; there are {}",
                crate::config::OPTIMIZERS.join(", ")
            )
        })?;
    }
    if let Some(batch_size) = args.batch_size {
        config.batch_size = batch_size;
    }
    config.model = source.check(&config.model)?;
    let config = config.validate()?;
    let out = args.out.clone();
    for name in ["lr-find.png", "lr-find.json"] {
        if std::fs::symlink_metadata(out.join(name)).is_ok() {
            bail!(
                "{} exists and is not replaced: remove it, or give another --out folder",
                out.join(name).display()
            );
        }
    }
    let data = load_data(&config, args.data_dir.as_deref())?;
    let settings = LrFindSettings {
        start: args.start,
        end: args.end,
        steps: args.steps,
    };
    say!(
        "range test: {} steps, learning rate {:e} to {:e}, {} ({} images a step)",
        settings.steps,
        settings.start,
        settings.end,
        config.optimizer.name(),
        config.batch_size
    );
    let finding = source.lr_find(&config.model, &config, &data, args.backend, settings)?;
    std::fs::create_dir_all(&out)
        .with_context(|| format!("cannot create the --out folder {}", out.display()))?;
    let png = plots::lr_find_png(&finding.points, finding.suggestion)?;
    save_new(&out.join("lr-find.png"), &png)?;
    save_new(
        &out.join("lr-find.json"),
        serde_json::to_string_pretty(&finding)?.as_bytes(),
    )?;
    say!(
        "suggested learning rate {:.3e} ({}); the test ended {}, after {} steps",
        finding.suggestion,
        finding.rule,
        finding.ended,
        finding.points.len()
    );
    say!(
        "wrote {} and {}",
        out.join("lr-find.png").display(),
        out.join("lr-find.json").display()
    );
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file renamed without replacing, so that a file
/// already there is never written over.
fn save_new(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut scratch = tempfile::NamedTempFile::new_in(folder)
        .with_context(|| format!("cannot write into {}", folder.display()))?;
    scratch
        .write_all(bytes)
        .and_then(|()| scratch.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    scratch
        .persist_noclobber(path)
        .map_err(|err| err.error)
        .with_context(|| format!("cannot write {} (it is never replaced)", path.display()))?;
    Ok(())
}
