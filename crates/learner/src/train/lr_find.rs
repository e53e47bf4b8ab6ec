//! The learning-rate range test (Smith, 2017; fastai's `lr_find`): a fresh model trained for a
//! few hundred steps with a learning rate that grows exponentially, the loss recorded at each,
//! and a suggested rate read off the curve. Nothing of a run is written: the caller saves the
//! picture and the figures where it chooses.

use burn::data::dataloader::DataLoader;
use burn::optim::GradientsParams;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::prelude::*;
use data::{ImageData, ImageLoader};
use model::{DataShape, ImageClassifier};
use serde::{Deserialize, Serialize};

use crate::train::classifier::Classifier;
use crate::{BackendKind, LearnerError, ValidConfig};

/// How the range test runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LrFindSettings {
    /// The first learning rate tried.
    pub start: f64,
    /// The last learning rate tried (the test stops sooner when the loss explodes).
    pub end: f64,
    /// Steps, each with its own rate.
    pub steps: usize,
}

impl Default for LrFindSettings {
    /// 1e-6 to 10 in 200 steps.
    fn default() -> Self {
        Self {
            start: 1e-6,
            end: 10.0,
            steps: 200,
        }
    }
}

/// What the range test found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LrFinding {
    /// `(learning rate, loss of that step, smoothed loss)` of each step taken (the loss averaged
    /// over the 11 steps centred on it).
    pub points: Vec<(f64, f64, f64)>,
    /// The suggested learning rate.
    pub suggestion: f64,
    /// The rule that gave it, in words.
    pub rule: String,
    /// The optimizer the test stepped with (the config's).
    pub optimizer: String,
    /// Why the test ended: after its last step, or when the loss exploded.
    pub ended: String,
}

/// Runs the range test on a fresh model from `init` (seeded from the config), with the config's
/// optimizer, batches and data, on `backend`'s first device.
pub fn lr_find<M, F>(
    init: F,
    config: &ValidConfig,
    data: &ImageData,
    backend: Option<BackendKind>,
    settings: LrFindSettings,
) -> Result<LrFinding, LearnerError>
where
    M: ImageClassifier,
    F: Fn(&Device, &DataShape) -> M,
{
    check(&settings)?;
    let data = data.clone().with_task(config.task)?;
    let (_, devices) = BackendKind::choose(backend, 1)?;
    let device = devices[0].clone().autodiff();
    let shape = crate::run::card::data_shape(&data);
    let mut model = Classifier::new(super::seeded_init(&init, &device, &shape, config.seed));
    let mut optimizer = config.optimizer();
    let loader = ImageLoader::new(data.train.clone(), config.batch_size, &device)
        .with_batcher(config.dataset.train_batcher(shape.channels))
        .shuffled(config.seed)
        .with_batches_per_epoch(settings.steps);
    let growth = (settings.end / settings.start).powf(1.0 / (settings.steps - 1).max(1) as f64);
    let (mut losses, mut average, mut best) = (Vec::new(), 0.0, f64::INFINITY);
    let mut ended = "after its last step".to_string();
    for (step, batch) in loader.iter().enumerate() {
        let batch = batch.map_err(|err| LearnerError::Training(err.to_string()))?;
        let rate = settings.start * growth.powi(step as i32);
        let output = model.forward_classification(batch);
        let loss = f64::from(
            output
                .loss
                .clone()
                .into_data()
                .iter::<f32>()
                .next()
                .unwrap_or(f32::NAN),
        );
        // Stop once the loss explodes: its running average (bias-corrected) four times its best.
        average = 0.9 * average + 0.1 * loss;
        let corrected = average / (1.0 - 0.9f64.powi(step as i32 + 1));
        if !loss.is_finite() || corrected > 4.0 * best {
            ended = format!("when the loss exploded, at a learning rate of {rate:.3e}");
            break;
        }
        best = best.min(corrected);
        losses.push((rate, loss));
        let grads = GradientsParams::from_grads(output.loss.backward(), &model);
        model = optimizer.step(ModuleLearningRate::from(rate), model, grads);
    }
    let points = smoothed(&losses);
    let (suggestion, rule) = suggest(&points).ok_or_else(|| {
        LearnerError::Training(format!(
            "the range test took {} steps before the loss exploded, too few to suggest a rate: \
             start lower (--start)",
            points.len()
        ))
    })?;
    Ok(LrFinding {
        points,
        suggestion,
        rule,
        optimizer: config.optimizer.name().to_string(),
        ended,
    })
}

fn check(settings: &LrFindSettings) -> Result<(), LearnerError> {
    let problem = if !(settings.start > 0.0 && settings.start.is_finite()) {
        Some((
            "start",
            format!("must be a finite number > 0, got {}", settings.start),
        ))
    } else if !(settings.end > settings.start && settings.end.is_finite()) {
        Some((
            "end",
            format!(
                "must be above start ({}), got {}",
                settings.start, settings.end
            ),
        ))
    } else if !(10..=100_000).contains(&settings.steps) {
        Some((
            "steps",
            format!("must be 10 to 100000, got {}", settings.steps),
        ))
    } else {
        None
    };
    match problem {
        Some((field, problem)) => Err(crate::ConfigError::Field {
            field: format!("lr-find --{field}"),
            problem,
        }
        .into()),
        None => Ok(()),
    }
}

/// `(rate, loss, smoothed loss)` for each step: the loss averaged over the 11 steps centred on
/// it (fewer at the ends). A centred average does not lag behind the rate as a running one
/// does (an average over the last 50 steps would put its minimum 50 steps, a factor of about
/// 50 in rate, too late).
fn smoothed(losses: &[(f64, f64)]) -> Vec<(f64, f64, f64)> {
    const HALF: usize = 5;
    (0..losses.len())
        .map(|at| {
            let window = &losses[at.saturating_sub(HALF)..(at + HALF + 1).min(losses.len())];
            let mean = window.iter().map(|(_, loss)| loss).sum::<f64>() / window.len() as f64;
            (losses[at].0, losses[at].1, mean)
        })
        .collect()
}

/// The suggested rate: half the rate at which the smoothed loss is lowest. Smith's range test
/// reads the largest useful rate where the loss stops falling; a schedule that starts there
/// and decays (cosine, the default) works with it, and half of it leaves a margin. At least
/// five points are needed.
pub fn suggest(points: &[(f64, f64, f64)]) -> Option<(f64, String)> {
    if points.len() < 5 {
        return None;
    }
    let lowest = points
        .iter()
        .filter(|point| point.2.is_finite())
        .min_by(|a, b| a.2.total_cmp(&b.2))?;
    Some((
        lowest.0 / 2.0,
        format!(
            "half the learning rate at which the smoothed loss is lowest ({:.3e})",
            lowest.0
        ),
    ))
}
