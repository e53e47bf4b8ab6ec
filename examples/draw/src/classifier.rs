//! The trained model behind the page: any zoo run, opened with the `model` crate's loader, and a
//! drawing turned into class probabilities with the `data` crate's preprocessing, as the run
//! recorded it (an MNIST-style digit for a model of MNIST-like data).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use data::picture::{Fit, fit_picture};
use data::{DataError, ImageBatcher, ImageShape};
use model::Classify;
use serde::Serialize;

/// Largest picture side the server decodes, in pixels: a drawing is a few hundred pixels, and
/// a 2048x2048 RGBA picture decodes to 16 MB.
pub const MAX_SIDE: u32 = 2048;

/// What `GET /api/model` answers: the loaded model and how it was trained.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    /// The artifacts folder it was loaded from.
    pub artifacts: PathBuf,
    /// The data it was trained on (`mnist`, `fashion-mnist`, a folder's name).
    pub dataset: String,
    /// The model, in words (`logistic regression (softmax head)`, `CNN conv 16-32 (3x3), ...`).
    pub model: String,
    /// Its zoo kind: `logistic`, `mlp` or `cnn`.
    pub kind: String,
    /// The classes, in the order of the probabilities.
    pub class_names: Vec<String>,
    /// Pixels the model reads, as rows and columns.
    pub input: [usize; 2],
    /// Colour channels the model reads (1 grey, 3 RGB).
    pub channels: usize,
    /// Test accuracy from the run's `summary.json`, in `[0, 1]` (absent for a run without one).
    pub test_accuracy: Option<f64>,
    /// Epochs the run trained.
    pub epochs: Option<u64>,
}

/// One classified drawing, as `POST /api/predict` answers it.
#[derive(Debug, Clone, Serialize)]
pub struct Prediction {
    /// The most probable class.
    pub class: usize,
    /// Its name.
    pub label: String,
    /// One probability per class (softmax; one sigmoid per class for a one-vs-rest model).
    pub probabilities: Vec<f32>,
    /// The picture the model saw, `[channels, height, width]`, 0 (black) to 255 (white).
    pub input: Vec<u8>,
}

/// Why a drawing could not be classified.
#[derive(Debug)]
pub enum Refusal {
    /// The body is not a picture the server decodes.
    NotAPicture(String),
    /// The picture is larger than [`MAX_SIDE`] a side.
    TooLarge(u32, u32),
    /// The picture holds no stroke.
    Blank,
    /// The model failed (a bug).
    Internal(String),
}

/// The model and what it needs to classify a drawing.
#[derive(Debug)]
pub struct Classifier {
    // Burn modules are `Send` but not `Sync`: one inference at a time, each a few milliseconds.
    model: Mutex<Box<dyn Classify>>,
    device: Device,
    shape: ImageShape,
    fit: Fit,
    batcher: ImageBatcher,
    /// What was loaded.
    pub info: ModelInfo,
}

impl Classifier {
    /// Opens the model of any zoo run (`model.json` and `model.bpk`), with its figures from
    /// `summary.json` when they are there.
    pub fn load(artifacts: &Path) -> Result<Self> {
        let device = Device::flex();
        if !artifacts.join("model.json").is_file() {
            bail!(
                "{} not found: give --artifacts the folder of a run trained by `trainer` (it \
                 holds model.json and model.bpk)",
                artifacts.join("model.json").display()
            );
        }
        let run = model::zoo::load_run(artifacts, &device)
            .with_context(|| format!("opening the run in {}", artifacts.display()))?;
        let card = &run.card;
        let input = card.input;
        let summary = read_json(&artifacts.join("summary.json")).ok();
        let info = ModelInfo {
            artifacts: artifacts.to_path_buf(),
            dataset: summary
                .as_ref()
                .and_then(|s| s["dataset"].as_str().map(str::to_string))
                .unwrap_or_else(|| "unknown".to_string()),
            model: card.describe.clone(),
            kind: card.kind.clone(),
            class_names: card.classes.clone(),
            input: [input.height, input.width],
            channels: input.channels,
            test_accuracy: summary.as_ref().and_then(|s| s["test_accuracy"].as_f64()),
            epochs: summary.as_ref().and_then(|s| s["epochs"].as_u64()),
        };
        let normalize = card.preprocess.normalize.as_ref().map(|n| data::Normalize {
            mean: n.mean.clone(),
            std: n.std.clone(),
        });
        Ok(Self {
            shape: ImageShape::new(input.channels, input.height, input.width),
            fit: match card.preprocess.fit {
                model::zoo::Fit::Digit => Fit::Digit,
                model::zoo::Fit::Resize => Fit::Resize,
            },
            batcher: ImageBatcher::new().normalized(normalize.as_ref(), input.channels),
            model: Mutex::new(run.model),
            device,
            info,
        })
    }

    /// Classifies a picture (PNG bytes): the run's preprocessing, then the model.
    pub fn classify(&self, png: &[u8]) -> Result<Prediction, Refusal> {
        if let Some((width, height)) = png_size(png)
            && (width > MAX_SIDE || height > MAX_SIDE)
        {
            return Err(Refusal::TooLarge(width, height));
        }
        let name = Path::new("the drawing");
        let refusal = |err: DataError| match err {
            DataError::BlankImage { .. } => Refusal::Blank,
            DataError::ImageTooLarge { width, height, .. } => Refusal::TooLarge(width, height),
            other => Refusal::NotAPicture(other.to_string()),
        };
        let picture = data::picture::decode_picture(png, name).map_err(refusal)?;
        let input = fit_picture(&picture, self.shape, self.fit, name).map_err(refusal)?;
        let images = self
            .batcher
            .from_images(
                [(input.as_slice(), 0)].into_iter(),
                self.shape,
                &self.device,
            )
            .images;
        let model = self.model.lock().unwrap_or_else(|p| p.into_inner());
        let probabilities = model
            .probabilities(model.logits(images))
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|err| Refusal::Internal(format!("{err:?}")))?;
        drop(model);
        // The first most probable class: the model's own prediction for every head (softmax
        // and sigmoids are monotonic; a binary head's [1 - p, p] picks 1 when p > 0.5).
        let class = (1..probabilities.len()).fold(0, |best, class| {
            if probabilities[class] > probabilities[best] {
                class
            } else {
                best
            }
        });
        Ok(Prediction {
            class,
            label: self.info.class_names[class].clone(),
            probabilities,
            input,
        })
    }
}

/// A small JSON file of the run (at most 1 MiB: a summary or a config is a few KiB).
fn read_json(path: &Path) -> Result<serde_json::Value> {
    let bytes = data::read_regular_file(path, 1 << 20, "a JSON file")?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not valid JSON", path.display()))
}

/// Width and height of a PNG, from its header, before anything is decoded.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.get(..8)? != b"\x89PNG\r\n\x1a\n" || bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    let number = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    Some((number(16)?, number(20)?))
}
