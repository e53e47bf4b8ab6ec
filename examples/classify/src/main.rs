//! `classify`: a separate Burn application that reuses the workspace's `model` and `data`
//! crates, without the learner.
//!
//! It opens the model of any run of the zoo (`model.json` + `model.bpk`: a logistic regression,
//! an MLP or a CNN) and classifies pictures, each turned into the model's input as the run
//! recorded. This is the pattern any Burn app copies to use a trained model:
//!
//! ```text
//! cargo run --release -p classify -- --artifacts artifacts/default digit.png more/*.jpg
//! ```

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::prelude::*;
use clap::Parser;
use data::picture::{Fit, fit_picture, load_picture};
use data::{ImageBatcher, ImageShape};

/// Classify pictures (PNG, JPEG, ...; any size) with a model trained by `trainer`.
#[derive(Debug, Parser)]
struct Args {
    /// Artifacts folder of a trained model: it holds model.json and model.bpk.
    #[arg(long, value_name = "DIR", default_value = "artifacts/default")]
    artifacts: PathBuf,
    /// Pictures to classify.
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let device = Device::flex();

    // The lines other apps copy: open the run, turn each picture into the model's input.
    let run = model::zoo::load_run(&args.artifacts, &device)?;
    let input = run.card.input;
    let shape = ImageShape::new(input.channels, input.height, input.width);
    let fit = match run.card.preprocess.fit {
        model::zoo::Fit::Digit => Fit::Digit, // light digit on black, centred, as MNIST's
        model::zoo::Fit::Resize => Fit::Resize,
    };
    let normalize = run
        .card
        .preprocess
        .normalize
        .as_ref()
        .map(|n| data::Normalize {
            mean: n.mean.clone(),
            std: n.std.clone(),
        });
    let batcher = ImageBatcher::new().normalized(normalize.as_ref(), shape.channels);
    for path in &args.images {
        let pixels = fit_picture(&load_picture(path)?, shape, fit, path)?;
        let images = batcher.from_images([(pixels.as_slice(), 0)].into_iter(), shape, &device);
        let probabilities = (run.model.probabilities(run.model.logits(images.images)))
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|err| anyhow::anyhow!("reading the probabilities: {err:?}"))?;
        let (class, p) = probabilities
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .context("the model has no classes")?;
        // writeln! rather than println!, which panics on a closed pipe (`classify ... | head`).
        writeln!(
            std::io::stdout(),
            "{}: {} ({:.1} %)",
            path.display(),
            run.card.classes[class],
            100.0 * p
        )?;
    }
    Ok(())
}
