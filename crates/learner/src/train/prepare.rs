//! Before Burn starts: everything that can be checked is checked before anything is written
//! (the config against the devices, the data, the model against the data and against the run
//! it resumes), then the artifacts folder is taken.

use std::borrow::Cow;

use burn::prelude::*;
use data::ImageData;
use model::{DataShape, ImageClassifier};

use super::{Init, TrainOptions};
use crate::run::card;
use crate::run::checkpoints::{check_checkpoints, resume_point};
use crate::{ArtifactDir, BackendKind, ConfigError, LearnerError, RunFolder, ValidConfig};

/// Everything a run needs that is settled before Burn starts.
pub(crate) struct Run<'a> {
    pub(crate) data: Cow<'a, ImageData>,
    pub(crate) shape: DataShape,
    pub(crate) folder: RunFolder,
    /// Complete epochs already trained (0 for a new run, or a resume before the first
    /// checkpoint).
    pub(crate) done: usize,
    /// Whether this is a resumed run.
    pub(crate) resumed: bool,
    pub(crate) backend: BackendKind,
    pub(crate) devices: Vec<Device>,
    /// What `model.json` says of the model.
    pub(crate) card: model::zoo::ModelCard,
    /// Batches of training (and validation) per epoch, after any limit.
    pub(crate) batches_per_epoch: usize,
    /// Epochs this run trains to: the config's, or fewer when `max_steps` ends it sooner.
    pub(crate) epochs: usize,
    /// The limits of a quick run.
    pub(crate) limit_batches: Option<usize>,
    pub(crate) max_steps: Option<usize>,
}

/// Checks what can be checked before anything is written (the config against the devices,
/// the data, the model against the data), then takes the artifacts folder: a new run
/// (refusing or replacing an earlier one) or the run to resume, whose model, config and
/// checkpoints are checked; then records the config and the model's card.
pub(crate) fn prepare<'a, M: ImageClassifier>(
    init: Init<'_, M>,
    config: &ValidConfig,
    data: &'a ImageData,
    options: &TrainOptions,
) -> Result<Run<'a>, LearnerError> {
    options.progress.dashboard()?;
    if options.devices > 1 && config.iterations_per_epoch.is_some() {
        return Err(ConfigError::Invalid {
            field: "iterations_per_epoch",
            problem: "must be null (epochs that are passes over the data) to train on several \
                      devices"
                .to_string(),
        }
        .into());
    }
    let data = for_task(data, config)?;
    let (backend, devices) = BackendKind::choose(options.backend, options.devices)?;
    let shape = card::data_shape(&data);
    let make = |device: &Device| init(device, &shape);
    let model = check_model(&make, &shape, &devices[0])?;
    let (card, card_json) = card::card_json(&model, &data, &config.dataset)?;
    let artifacts = ArtifactDir::new(&options.artifacts);
    let (folder, done) = if options.resume {
        let folder = artifacts.reopen_run()?;
        // The config first (it names a changed task or data), then the model, before the
        // checkpoints are read: a run of another model would otherwise look damaged.
        let done = resume_point(&folder, config)?;
        card::check_resume(&folder, &card_json)?;
        if done > 0 {
            // Burn panics on a checkpoint it cannot read; find a damaged one before it does.
            check_checkpoints(&folder, done, &make, &devices[0])?;
        }
        (folder, done)
    } else {
        (artifacts.start_run(options.overwrite)?, 0)
    };
    folder.save_config(config)?;
    folder.save_card(&card_json)?;
    let (batches_per_epoch, epochs) = plan(config, &data, options)?;
    Ok(Run {
        batches_per_epoch,
        epochs,
        limit_batches: options.limit_batches,
        max_steps: options.max_steps,
        data,
        shape,
        folder,
        done,
        resumed: options.resume,
        backend,
        devices,
        card,
    })
}

/// Training batches per epoch (the data's, or the config's `iterations_per_epoch`, within
/// `limit_batches`), and the epochs the run trains to (fewer than the config's when `max_steps`
/// ends it sooner).
fn plan(
    config: &ValidConfig,
    data: &ImageData,
    options: &TrainOptions,
) -> Result<(usize, usize), LearnerError> {
    let natural = config
        .iterations_per_epoch
        .unwrap_or_else(|| data.train.len().div_ceil(config.batch_size));
    let per_epoch = options
        .limit_batches
        .map_or(natural, |limit| natural.min(limit))
        .max(1);
    for (name, value) in [
        ("--limit-batches", options.limit_batches),
        ("--max-steps", options.max_steps),
    ] {
        if value == Some(0) {
            return Err(ConfigError::Field {
                field: name.to_string(),
                problem: "must be at least 1".to_string(),
            }
            .into());
        }
    }
    let epochs = options.max_steps.map_or(config.epochs, |steps| {
        config.epochs.min(steps.div_ceil(per_epoch))
    });
    Ok((per_epoch, epochs))
}

/// The data as the task sees it (relabelled for a pair or one-against-rest task).
fn for_task<'a>(
    data: &'a ImageData,
    config: &ValidConfig,
) -> Result<Cow<'a, ImageData>, LearnerError> {
    if data.task == config.task {
        data.ensure_not_empty()?;
        Ok(Cow::Borrowed(data))
    } else {
        Ok(Cow::Owned(data.clone().with_task(config.task)?))
    }
}

/// The model must have parameters to train, take the data's images and give one score per
/// class and image: checked on a batch of two blank images (one would hide a model that gets
/// the batch axis wrong), so that a mismatch is an error naming the sizes, not a panic inside
/// Burn's loop. Returns the model built for the check.
fn check_model<M: ImageClassifier>(
    make: &dyn Fn(&Device) -> M,
    shape: &DataShape,
    device: &Device,
) -> Result<M, LearnerError> {
    const BATCH: usize = 2;
    let (classes, dims) = (
        shape.num_classes,
        [BATCH, shape.channels, shape.height, shape.width],
    );
    let images = format!(
        "[batch, {}, {}, {}] floats",
        shape.channels, shape.height, shape.width
    );
    let (model, scores) = crate::train::backend::quietly(|| {
        let model = make(device);
        let scores = model
            .scores(model.logits(Tensor::zeros(dims, device)))
            .dims();
        (model, scores)
    })
    .map_err(|message| {
        LearnerError::Model(format!(
            "it cannot classify the data's images ({images}): {message}"
        ))
    })?;
    if Module::num_params(&model) == 0 {
        return Err(LearnerError::Model(
            "it has no parameters, so there is nothing to train: give it at least one layer \
             with weights (a Param, or a Burn module such as Linear)"
                .to_string(),
        ));
    }
    if scores[0] != BATCH {
        return Err(LearnerError::Model(format!(
            "it gives scores of shape {scores:?} for a batch of {BATCH} images ({images}): the \
             first axis of its logits must be the batch (one row per image, [{BATCH}, \
             {classes}] here)"
        )));
    }
    if scores[1] != classes {
        return Err(LearnerError::Model(format!(
            "it gives scores of shape {scores:?} for a batch of {BATCH} images, and the task has \
             {classes} classes: its last layer must have {classes} outputs"
        )));
    }
    Ok(model)
}
