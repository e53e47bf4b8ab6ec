//! The trained model behind the page: loaded from an artifacts folder with the `model` crate,
//! and a drawing turned into class probabilities with the `data` crate's MNIST-style
//! preprocessing.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use burn::config::Config;
use burn::prelude::*;
use data::{DataError, DatasetKind, Task};
use model::{LogisticRegression, LogisticRegressionConfig};
use serde::Serialize;

/// Largest picture side the server decodes, in pixels: a drawing is a few hundred pixels, and
/// a 2048x2048 RGBA picture decodes to 16 MB.
pub const MAX_SIDE: u32 = 2048;

/// What `GET /api/model` answers: the loaded model and how it was trained.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    /// The artifacts folder it was loaded from.
    pub artifacts: PathBuf,
    /// `mnist` or `fashion-mnist`.
    pub dataset: String,
    /// `softmax`, `one-vs-rest` or `binary`.
    pub head: &'static str,
    /// The classes, in the order of the probabilities.
    pub class_names: Vec<String>,
    /// Pixels the model reads, as rows and columns.
    pub input: [usize; 2],
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
    /// The 28x28 picture the model saw, row by row, 0 (black) to 255 (white).
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
    // Burn modules are `Send` but not `Sync`: one inference at a time, each a few microseconds.
    model: Mutex<LogisticRegression>,
    device: Device,
    /// What was loaded.
    pub info: ModelInfo,
}

impl Classifier {
    /// Loads `model.json` and `model.bpk` of a run, with its classes from `config.json` and
    /// its figures from `summary.json` when they are there.
    pub fn load(artifacts: &Path) -> Result<Self> {
        let device = Device::flex();
        let config_path = artifacts.join("model.json");
        if !config_path.is_file() {
            bail!(
                "{} not found: give --artifacts the folder of a run trained by `trainer` (it \
                 holds model.json and model.bpk)",
                config_path.display()
            );
        }
        let config = LogisticRegressionConfig::load(&config_path)
            .with_context(|| format!("reading {}", config_path.display()))?;
        config.validate()?;
        let model = config.load_weights(artifacts.join("model.bpk"), &device)?;
        let (dataset, task) = run_setup(artifacts)?;
        let class_names = task.class_names(dataset);
        if class_names.len() != config.num_classes {
            bail!(
                "{}: the model has {} classes but its config.json's task has {}; the folder \
                 mixes two runs",
                artifacts.display(),
                config.num_classes,
                class_names.len()
            );
        }
        let summary = read_json(&artifacts.join("summary.json")).ok();
        let info = ModelInfo {
            artifacts: artifacts.to_path_buf(),
            dataset: dataset.to_string(),
            head: config.head.name(),
            class_names,
            input: [28, 28],
            test_accuracy: summary.as_ref().and_then(|s| s["test_accuracy"].as_f64()),
            epochs: summary.as_ref().and_then(|s| s["epochs"].as_u64()),
        };
        if config.input_size != 28 * 28 {
            bail!(
                "the model reads {} pixels; this page draws 28x28 digits",
                config.input_size
            );
        }
        Ok(Self {
            model: Mutex::new(model),
            device,
            info,
        })
    }

    /// Classifies a picture (PNG bytes): MNIST-style preprocessing, then the model.
    pub fn classify(&self, png: &[u8]) -> Result<Prediction, Refusal> {
        if let Some((width, height)) = png_size(png)
            && (width > MAX_SIDE || height > MAX_SIDE)
        {
            return Err(Refusal::TooLarge(width, height));
        }
        let input = data::digit::digit_from_bytes(png, Path::new("the drawing"), 28, 28).map_err(
            |err| match err {
                DataError::BlankImage { .. } => Refusal::Blank,
                DataError::ImageTooLarge { width, height, .. } => Refusal::TooLarge(width, height),
                other => Refusal::NotAPicture(other.to_string()),
            },
        )?;
        let pixels: Vec<f32> = input.iter().map(|&p| f32::from(p) / 255.0).collect();
        let image = Tensor::<2>::from_data(TensorData::new(pixels, [1, 28 * 28]), &self.device);
        let model = self.model.lock().unwrap_or_else(|p| p.into_inner());
        let probabilities = model
            .probabilities(image)
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

/// The dataset and task of the run, from its `config.json` (MNIST, every class, without one).
fn run_setup(artifacts: &Path) -> Result<(DatasetKind, Task)> {
    let path = artifacts.join("config.json");
    if !path.is_file() {
        return Ok((DatasetKind::Mnist, Task::AllClasses));
    }
    let config = read_json(&path)?;
    let field = |name: &str| config.get(name).cloned().unwrap_or(serde_json::Value::Null);
    let dataset = match field("dataset") {
        serde_json::Value::Null => DatasetKind::Mnist,
        value => {
            serde_json::from_value(value).with_context(|| format!("{}: dataset", path.display()))?
        }
    };
    let task = match field("task") {
        serde_json::Value::Null => Task::AllClasses,
        value => {
            serde_json::from_value(value).with_context(|| format!("{}: task", path.display()))?
        }
    };
    Ok((dataset, task))
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
