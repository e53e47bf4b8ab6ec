//! `classify`: a separate Burn application that reuses the workspace's `model` crate.
//!
//! It loads the model the trainer saved (`model.json` + `model.bpk`) and classifies pictures of
//! digits. This is the pattern any Burn app copies to use the trained model:
//!
//! ```text
//! cargo run --release -p classify -- --artifacts artifacts/default digit.png more/*.jpg
//! ```

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::config::Config;
use burn::prelude::*;
use clap::Parser;
use model::LogisticRegressionConfig;

/// Classify pictures of digits (PNG, JPEG, ...; any size) with a model trained by `trainer`.
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

    // The ten lines other apps copy: config, weights, picture, probabilities.
    let config = LogisticRegressionConfig::load(args.artifacts.join("model.json"))
        .with_context(|| format!("reading {}/model.json", args.artifacts.display()))?;
    let model = config.load_weights(args.artifacts.join("model.bpk"), &device)?;
    for path in &args.images {
        let pixels = data::digit::load_digit(path, 28, 28)?; // light digit on black, centred
        let x: Vec<f32> = pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
        let image = Tensor::<2>::from_data(TensorData::new(x, [1, config.input_size]), &device);
        let probabilities = (model.probabilities(image).into_data())
            .try_to_vec::<f32>()
            .map_err(|err| anyhow::anyhow!("reading the probabilities: {err:?}"))?;
        let (digit, p) = probabilities
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .context("the model has no classes")?;
        println!("{}: {digit} ({:.1} %)", path.display(), 100.0 * p);
    }
    Ok(())
}
