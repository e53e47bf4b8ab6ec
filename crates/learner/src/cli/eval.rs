//! `eval`: a run's model, whatever it is, measured again on its test set, from the data the run
//! recorded (or `--data-dir`).

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use model::Classify;

use super::output::say;
use super::source::ModelSource;
use super::train::load_data;
use crate::{ArtifactDir, BackendKind, EvalReport, RunFolder, evaluate};

/// `eval`'s options.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Artifacts folder of a run (holding model.json, model.bpk and config.json).
    #[arg(long, value_name = "DIR")]
    artifacts: PathBuf,
    /// Folder with the data; default: the one the run was trained on (its config's
    /// dataset.path), else as for training.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Compute backend, among those compiled in.
    #[arg(long, value_name = "NAME")]
    backend: Option<BackendKind>,
}

/// Evaluates the run's model on the test set, prints the report and writes `eval.json` and
/// `confusion.png` into the run (only the report is printed when the folder cannot be written,
/// a finished run kept read-only say).
pub fn eval(args: EvalArgs, source: &dyn ModelSource) -> Result<()> {
    let artifacts = ArtifactDir::new(&args.artifacts);
    // eval.json and confusion.png are written into the run: one process at a time, and not
    // while a training writes there.
    let folder = match artifacts.reopen_run() {
        Ok(folder) => Some(folder),
        Err(err) if read_only(&args.artifacts) => {
            say!("note: {err}; the report is printed but not saved in the run");
            None
        }
        Err(err) => return Err(err.into()),
    };
    let config = artifacts.load_config()?.validate()?;
    let (backend, device) = super::pick_device(args.backend)?;
    let loaded = source.open(&artifacts, &device)?;
    let data = load_data(&config, args.data_dir.as_deref())?;
    let shape = crate::run::card::data_shape(&data);
    if loaded.card.input != shape {
        bail!(
            "the run's model takes {}x{}x{} images of {} classes, but the data found ({}) has \
             {} images of {} classes: give --data-dir the data the run was trained on",
            loaded.card.input.channels,
            loaded.card.input.height,
            loaded.card.input.width,
            loaded.card.input.num_classes,
            data.source,
            data.shape(),
            data.num_classes()
        );
    }
    say!("backend: {backend} ({})", backend.describe(&device));
    say!(
        "model: {} ({}), {}",
        loaded.card.describe,
        loaded.card.kind,
        artifacts.model_path().display()
    );
    let batcher = config.dataset.eval_batcher(shape.channels);
    report(
        folder.as_ref(),
        loaded.model.as_ref(),
        &data,
        (config.eval_batch_size, &batcher),
        &device,
    )
}

/// Whether the run's folder refuses writes (a read-only file system or permissions).
fn read_only(dir: &std::path::Path) -> bool {
    std::fs::metadata(dir).is_ok_and(|m| m.permissions().readonly())
        || tempfile::tempfile_in(dir).is_err()
}

/// Evaluates on the test set, prints the report and, with a folder, writes eval.json and
/// confusion.png.
pub fn report(
    folder: Option<&RunFolder>,
    model: &dyn Classify,
    data: &data::ImageData,
    (batch_size, batcher): (usize, &data::ImageBatcher),
    device: &burn::prelude::Device,
) -> Result<()> {
    let test = evaluate(model, &data.test, batch_size, batcher, device)?;
    let report = EvalReport::new(&test, &data.class_names());
    say!(
        "evaluated on the {} test images ({})",
        test.count,
        data.task
    );
    say!();
    say!("test {}", report.to_table().trim_end());
    if let Some(folder) = folder {
        folder.save_report(&report)?;
        say!();
        say!(
            "wrote {} and {}",
            folder.eval_path().display(),
            folder.picture_path("confusion.png").display()
        );
    }
    Ok(())
}
