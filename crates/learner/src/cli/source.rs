//! Where the command line gets its models: a [`ModelSource`] trains the model a config names
//! and opens the model of a run. [`OwnModel`] is one model of your own; the trainer's zoo is
//! another.

use burn::prelude::*;
use data::ImageData;
use model::zoo::{LoadedRun, read_card};
use model::{Classify, DataShape, ImageClassifier};
use serde_json::Value;

use crate::{
    ArtifactDir, BackendKind, ConfigError, LearnerError, LrFindSettings, LrFinding, Summary,
    TrainOptions, ValidConfig,
};

/// What a finished training left: its figures and its folder.
#[derive(Debug)]
pub struct Trained {
    /// `summary.json`'s figures.
    pub summary: Summary,
    /// Where the run is.
    pub artifacts: ArtifactDir,
}

/// The models a command line trains and opens.
pub trait ModelSource {
    /// The model names `--model` accepts (the zoo's kinds); empty for a binary of one model.
    fn names(&self) -> Vec<String>;

    /// The model block `--model NAME` stands for, and the training config (JSON) that suits it,
    /// used when no `--config` is given; `None` for an unknown name.
    fn named(&self, name: &str) -> Option<(Value, Option<&'static str>)>;

    /// The training config (JSON) used when neither `--config` nor `--model` is given; `None`:
    /// the built-in default.
    fn default_config(&self) -> Option<&'static str> {
        None
    }

    /// The model block written in a run's `config.json` for `block` (the zoo's canonical form),
    /// or an error naming what is wrong with it; checked before anything is read or written.
    fn check(&self, block: &Value) -> Result<Value, LearnerError>;

    /// Checks the block against the data (a model that does not fit its images is named
    /// before any work).
    fn check_data(&self, block: &Value, shape: &DataShape) -> Result<(), LearnerError>;

    /// Trains the model `block` describes.
    fn train(
        &self,
        block: &Value,
        config: &ValidConfig,
        data: &ImageData,
        options: &TrainOptions,
    ) -> Result<Trained, LearnerError>;

    /// Opens the model of the run in `artifacts`, on `device`.
    fn open(&self, artifacts: &ArtifactDir, device: &Device) -> Result<LoadedRun, LearnerError>;

    /// Runs the learning-rate range test on a fresh model `block` describes.
    fn lr_find(
        &self,
        block: &Value,
        config: &ValidConfig,
        data: &ImageData,
        backend: Option<BackendKind>,
        settings: LrFindSettings,
    ) -> Result<LrFinding, LearnerError>;
}

/// One model of your own, built by `init` for the data's shape: what [`super::main`] trains.
/// Its runs record its [`ImageClassifier::kind`]; it opens those, and no other model's.
#[derive(Debug)]
pub struct OwnModel<F> {
    init: F,
    default_config: Option<&'static str>,
}

impl<F> OwnModel<F> {
    /// The model `init` builds.
    pub fn new(init: F) -> Self {
        Self {
            init,
            default_config: None,
        }
    }

    /// Trains with this config (JSON) when no `--config` is given.
    pub fn with_default_config(mut self, json: &'static str) -> Self {
        self.default_config = Some(json);
        self
    }
}

impl<M, F> ModelSource for OwnModel<F>
where
    M: ImageClassifier,
    F: Fn(&Device, &DataShape) -> M,
{
    fn names(&self) -> Vec<String> {
        Vec::new()
    }

    fn named(&self, _name: &str) -> Option<(Value, Option<&'static str>)> {
        None
    }

    fn default_config(&self) -> Option<&'static str> {
        self.default_config
    }

    /// The config's `model` block is the zoo's; this binary builds its own model, so a block
    /// with settings would be silently ignored: it is refused instead. A block that only names
    /// a kind (`configs/cnn.json`'s `{"kind": "cnn"}`, shared with the trainer) is accepted and
    /// left out of the run's config.
    fn check(&self, block: &Value) -> Result<Value, LearnerError> {
        let settings = block
            .as_object()
            .is_none_or(|fields| fields.keys().any(|key| key != "kind"));
        if settings {
            return Err(ConfigError::Invalid {
                field: "model",
                problem: format!(
                    "is {block}, but this binary trains its own model, built by its code: the \
                     model block is for the trainer's zoo (trainer --model NAME); remove it"
                ),
            }
            .into());
        }
        Ok(Value::Object(Default::default()))
    }

    fn check_data(&self, _block: &Value, _shape: &DataShape) -> Result<(), LearnerError> {
        Ok(()) // checked on a built model by train_model, before anything is written
    }

    fn train(
        &self,
        _block: &Value,
        config: &ValidConfig,
        data: &ImageData,
        options: &TrainOptions,
    ) -> Result<Trained, LearnerError> {
        let report = crate::train_model(&self.init, config, data, options)?;
        Ok(Trained {
            summary: report.summary,
            artifacts: report.artifacts,
        })
    }

    fn lr_find(
        &self,
        _block: &Value,
        config: &ValidConfig,
        data: &ImageData,
        backend: Option<BackendKind>,
        settings: LrFindSettings,
    ) -> Result<LrFinding, LearnerError> {
        crate::lr_find(&self.init, config, data, backend, settings)
    }

    fn open(&self, artifacts: &ArtifactDir, device: &Device) -> Result<LoadedRun, LearnerError> {
        let card = read_card(artifacts.root())?;
        let model = (self.init)(device, &card.input);
        if model.kind() != card.kind {
            return Err(LearnerError::Artifacts {
                path: artifacts.root().to_path_buf(),
                problem: format!(
                    "holds a run of the model `{}` ({}), and this binary's model is `{}`: open \
                     it with the binary that trained it (a zoo model's run: with trainer)",
                    card.kind,
                    card.describe,
                    model.kind()
                ),
            });
        }
        let model = model::zoo::load_weights(model, &artifacts.model_path())?;
        Ok(LoadedRun {
            card,
            model: Box::new(model) as Box<dyn Classify>,
        })
    }
}
