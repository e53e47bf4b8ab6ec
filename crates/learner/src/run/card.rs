//! `model.json`, the run's record of its model ([`model::zoo::ModelCard`] plus the model's own
//! config): written when the run starts, whatever the model, and checked when it resumes, so
//! that a run is never continued with another model or another shape of data.

use burn::module::Module;
use data::{DatasetSpec, Format, ImageData};
use model::zoo::{Fit, ModelCard, Normalization, Preprocess};
use model::{DataShape, ImageClassifier};
use serde_json::Value;

use crate::{LearnerError, RunFolder};

/// What the data tells a model: its images' shape and the task's classes.
pub fn data_shape(data: &ImageData) -> DataShape {
    let shape = data.shape();
    DataShape::new(
        shape.channels,
        shape.height,
        shape.width,
        data.num_classes(),
    )
}

/// How a picture becomes an input of a model trained on `data`: as an MNIST digit for IDX
/// data (grey, centred objects on black), stretched otherwise; normalised as the data is.
pub fn preprocess(data: &ImageData, spec: &DatasetSpec) -> Preprocess {
    Preprocess {
        fit: if data.format == Format::Idx {
            Fit::Digit
        } else {
            Fit::Resize
        },
        normalize: spec.normalize.as_ref().map(|normalize| Normalization {
            mean: normalize.mean.clone(),
            std: normalize.std.clone(),
        }),
    }
}

/// The card of `model` for `data`, and its JSON with the model's own config (`"config"`, an
/// object, or `null` for a model that records none).
pub fn card_json<M: ImageClassifier>(
    model: &M,
    data: &ImageData,
    spec: &DatasetSpec,
) -> Result<(ModelCard, String), LearnerError> {
    let card = ModelCard {
        kind: model.kind(),
        describe: model.describe(),
        parameters: Module::num_params(model),
        input: data_shape(data),
        classes: data.class_names(),
        preprocess: preprocess(data, spec),
    };
    let mut json = serde_json::to_value(&card).expect("a model card serialises");
    let config = match model.config_json() {
        None => Value::Null,
        Some(text) => serde_json::from_str(&text).map_err(|err| {
            LearnerError::Model(format!(
                "its config_json is not JSON ({err}): return the config as a JSON object"
            ))
        })?,
    };
    json["config"] = config;
    let text = serde_json::to_string_pretty(&json).expect("a model card serialises");
    Ok((card, text))
}

/// On a resume, the model about to train must be the one the run recorded: the same kind, the
/// same config, for data of the same shape and classes. Checked before anything is written; a
/// run without a `model.json` (from before they were written) is left to the checkpoints'
/// own check.
pub fn check_resume(folder: &RunFolder, new_json: &str) -> Result<(), LearnerError> {
    let path = folder.model_config_path();
    let Ok(bytes) = data::read_regular_file(&path, 16 << 20, "a model card") else {
        return Ok(());
    };
    let recorded: Value =
        serde_json::from_slice(&bytes).map_err(|err| LearnerError::ReadArtifact {
            path: path.clone(),
            problem: format!("it is not JSON ({err})"),
        })?;
    let new: Value = serde_json::from_str(new_json).expect("a card written here is JSON");
    let Some(old_kind) = recorded.get("kind").and_then(Value::as_str) else {
        return Ok(()); // a run from before the cards: a logistic regression's bare config
    };
    let describe = |card: &Value| {
        card.get("describe")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    let new_kind = new["kind"].as_str().unwrap_or("?");
    if old_kind != new_kind {
        return Err(LearnerError::OtherModel {
            artifacts: folder.root().to_path_buf(),
            recorded: format!("`{old_kind}` ({})", describe(&recorded)),
            asked: format!("`{new_kind}` ({})", describe(&new)),
        });
    }
    let mut changes = Vec::new();
    crate::config::resume::differences(
        "model".to_string(),
        &recorded["config"],
        &new["config"],
        &mut changes,
    );
    crate::config::resume::differences(
        "data".to_string(),
        &recorded["input"],
        &new["input"],
        &mut changes,
    );
    if !changes.is_empty() {
        return Err(LearnerError::ModelMismatch {
            path,
            changes: changes.join("; "),
        });
    }
    Ok(())
}
