//! Measuring a trained model on a labelled image set.

use burn::data::dataloader::DataLoader;
use burn::prelude::*;
use data::{ImageBatcher, ImageLoader, ImageSet};
use model::Classify;
use serde::{Deserialize, Serialize};

use crate::LearnerError;

/// Accuracy, mean cross-entropy loss and confusion matrix of a model on one image set.
///
/// Computed with a plain loop rather than burn-train's `Evaluator`, because the confusion
/// matrix needs every prediction, which Burn's metrics do not expose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Images evaluated.
    pub count: usize,
    /// Fraction of images whose most probable class is the label, in `[0, 1]`.
    pub accuracy: f64,
    /// Mean training loss over the images ([`model::ImageClassifier::loss`]: cross-entropy, natural
    /// log, unless the model says otherwise).
    pub loss: f64,
    /// `confusion[label][predicted]`: how many images of class `label` were predicted as
    /// `predicted`.
    pub confusion: Vec<Vec<u64>>,
}

/// Evaluates `model` on every image of `set`, `batch_size` images at a time, batched by
/// `batcher` (the data's normalisation; never augmented), on `device` (the model's device). An
/// empty set is an error: its accuracy would be made up.
pub fn evaluate(
    model: &dyn Classify,
    set: &ImageSet,
    batch_size: usize,
    batcher: &ImageBatcher,
    device: &Device,
) -> Result<Evaluation, LearnerError> {
    if set.is_empty() {
        return Err(LearnerError::Evaluation(
            "the image set to evaluate on is empty, so there is no accuracy to measure".to_string(),
        ));
    }
    let mut confusion: Vec<Vec<u64>> = Vec::new();
    let mut loss_sum = 0.0f64;
    let loader =
        ImageLoader::new(set.clone(), batch_size.max(1), device).with_batcher(batcher.clone());
    for batch in loader.iter() {
        let batch = batch.map_err(|err| LearnerError::Evaluation(err.to_string()))?;
        let count = batch.targets.dims()[0];
        let logits = model.logits(batch.images);
        let scores = model.scores(logits.clone());
        let classes = scores.dims()[1];
        if confusion.is_empty() {
            confusion = vec![vec![0u64; classes]; classes];
        }
        let predictions = scores.argmax(1).reshape([count]);
        // The batch's mean loss times its size: the sum over its images.
        let loss = read_floats(model.loss(logits, batch.targets.clone()))?;
        loss_sum += f64::from(loss[0]) * count as f64;
        let predicted = read_ints(predictions)?;
        let labels = read_ints(batch.targets)?;
        for (label, predicted) in labels.into_iter().zip(predicted) {
            let (label, predicted) = (label as usize, predicted as usize);
            if label >= classes {
                return Err(LearnerError::Evaluation(format!(
                    "the model gives {classes} scores per image, but an image is labelled \
                     {label}: the model's outputs must match the task's classes"
                )));
            }
            confusion[label][predicted.min(classes - 1)] += 1;
        }
    }
    let count = set.len();
    let correct: u64 = (0..confusion.len())
        .map(|class| confusion[class][class])
        .sum();
    Ok(Evaluation {
        count,
        accuracy: correct as f64 / count as f64,
        loss: loss_sum / count as f64,
        confusion,
    })
}

fn read_floats(tensor: Tensor<1>) -> Result<Vec<f32>, LearnerError> {
    tensor
        .try_into_data()
        .map_err(|err| LearnerError::Evaluation(err.to_string()))?
        .try_into_vec_as::<f32>()
        .map_err(|err| LearnerError::Evaluation(format!("{err:?}")))
}

fn read_ints(tensor: Tensor<1, Int>) -> Result<Vec<i64>, LearnerError> {
    tensor
        .try_into_data()
        .map_err(|err| LearnerError::Evaluation(err.to_string()))?
        .try_into_vec_as::<i64>()
        .map_err(|err| LearnerError::Evaluation(format!("{err:?}")))
}
