//! The figures of a run: `summary.json`, and each epoch's line of its history.

use serde::{Deserialize, Serialize};

/// Figures of a finished (or interrupted) run, saved as `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// What the data is called (`mnist`, `fashion-mnist`, an image folder's name).
    pub dataset: String,
    /// The data's layout (`idx`, `image-folder`, `cifar-10`, ...); empty in summaries written
    /// before it was recorded.
    #[serde(default)]
    pub data_format: String,
    /// The images' shape (`28x28 grey`, `32x32 RGB`); empty in older summaries.
    #[serde(default)]
    pub image_shape: String,
    /// Classes of the task; 0 in older summaries.
    #[serde(default)]
    pub classes: usize,
    /// The model, as it describes itself ([`model::ImageClassifier::describe`]); empty in
    /// summaries written before it was recorded.
    #[serde(default)]
    pub model: String,
    /// The model's kind ([`model::ImageClassifier::kind`]); empty in older summaries.
    #[serde(default)]
    pub model_kind: String,
    /// The model's trainable values; 0 in older summaries.
    #[serde(default)]
    pub parameters: usize,
    /// Backend name.
    pub backend: String,
    /// The device, as Burn describes it.
    pub device: String,
    /// Epochs completed.
    pub epochs: usize,
    /// Optimizer steps completed.
    pub iterations: usize,
    /// Training images per iteration.
    pub batch_size: usize,
    /// Images per optimizer step: the batch times the gradient accumulation (the batch in
    /// summaries written before accumulation).
    #[serde(default)]
    pub effective_batch_size: usize,
    /// The optimizer (`sgd`, `adamw`, ...); empty in older summaries.
    #[serde(default)]
    pub optimizer: String,
    /// Initial learning rate.
    pub learning_rate: f64,
    /// Images in the training, validation and test sets.
    pub train_size: usize,
    /// Images in the validation set.
    pub validation_size: usize,
    /// Images in the test set.
    pub test_size: usize,
    /// Accuracy of the final model on the validation set, in `[0, 1]`.
    pub validation_accuracy: f64,
    /// Mean cross-entropy of the final model on the validation set.
    pub validation_loss: f64,
    /// Accuracy of the final model on the test set, in `[0, 1]`.
    pub test_accuracy: f64,
    /// Mean cross-entropy of the final model on the test set.
    pub test_loss: f64,
    /// Seconds spent in training epochs by this process (validation excluded), with an epoch
    /// a stop cut short.
    pub train_seconds: f64,
    /// Training images per second over those epochs.
    pub samples_per_second: f64,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// The epoch whose weights the run kept when it keeps the best (`final_model: best`), by
    /// the monitored validation figure; `None` when it keeps the last.
    #[serde(default)]
    pub best_epoch: Option<usize>,
    /// The limits of a quick run (`--limit-batches`, `--max-steps`, `--fast-dev-run`), in
    /// words; `None` for a full run.
    #[serde(default)]
    pub limited: Option<String>,
    /// Whether the run was interrupted (the dashboard's `q`, Ctrl-C) before its last epoch.
    pub interrupted: bool,
    /// The checkpoint epoch this process resumed from, if it resumed.
    pub resumed_from_epoch: Option<usize>,
    /// Where the data came from.
    pub data_source: String,
    /// Test (and validation) figures after each epoch, from that epoch's checkpoint.
    pub history: Vec<HistoryEntry>,
}

impl Summary {
    /// An error naming the first figure no run can have produced.
    pub(crate) fn check(&self) -> Result<(), String> {
        let fractions = [
            ("validation_accuracy", self.validation_accuracy),
            ("test_accuracy", self.test_accuracy),
        ];
        for (field, value) in fractions {
            if !(0.0..=1.0).contains(&value) {
                return Err(format!("{field} is {value}, not a fraction in [0, 1]"));
            }
        }
        let amounts = [
            ("validation_loss", self.validation_loss),
            ("test_loss", self.test_loss),
            ("train_seconds", self.train_seconds),
            ("samples_per_second", self.samples_per_second),
            ("learning_rate", self.learning_rate),
        ];
        for (field, value) in amounts {
            if !(value.is_finite() && value >= 0.0) {
                return Err(format!("{field} is {value}, not a finite number >= 0"));
            }
        }
        Ok(())
    }
}

/// The model's figures after one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Optimizer steps done by the end of this epoch.
    pub iteration: usize,
    /// Validation accuracy, in `[0, 1]`.
    pub validation_accuracy: f64,
    /// Validation loss.
    pub validation_loss: f64,
    /// Test accuracy, in `[0, 1]` (a report only: never used to choose anything).
    pub test_accuracy: f64,
    /// Test loss.
    pub test_loss: f64,
    /// Training seconds (validation excluded) spent by the end of this epoch, counted from the
    /// start of the process that trained it; `None` for epochs trained by an earlier process
    /// before a resume.
    pub train_seconds: Option<f64>,
}
