//! The trainer's models: the model crate's zoo, as the command line's [`ModelSource`]. The
//! config's `model` block names one (`{"kind": "cnn"}`; a block without `kind`, as configs
//! written before the zoo have it, is the logistic regression's); each trains through
//! `learner::train_model` like any model of your own.

use burn::prelude::*;
use data::ImageData;
use learner::cli::{ModelSource, Trained};
use learner::{
    ArtifactDir, BackendKind, ConfigError, LearnerError, LrFindSettings, LrFinding, TrainOptions,
    ValidConfig,
};
use model::zoo::{KINDS, LoadedRun, ModelConfig};
use model::{DataShape, ImageClassifier};
use serde_json::Value;

/// The training configs that suit each model, used with `--model NAME` and no `--config`.
const DEFAULT_JSON: &str = include_str!("../../../configs/default.json");
const MLP_JSON: &str = include_str!("../../../configs/mlp.json");
const CNN_JSON: &str = include_str!("../../../configs/cnn.json");

/// The zoo: logistic regression (the default), MLP, CNN.
#[derive(Debug, Default)]
pub struct Zoo;

impl Zoo {
    /// The zoo's config for a block: `kind` defaults to `logistic`.
    pub(crate) fn config(block: &Value) -> Result<ModelConfig, LearnerError> {
        let mut block = block.clone();
        if let Some(fields) = block.as_object_mut() {
            fields
                .entry("kind")
                .or_insert_with(|| Value::from(model::zoo::LOGISTIC));
        }
        ModelConfig::from_json(&block.to_string()).map_err(|problem| {
            ConfigError::Invalid {
                field: "model",
                problem: format!(
                    "is not a model of the zoo ({problem}); the zoo has {}, e.g. {{\"kind\": \
                     \"mlp\", \"hidden\": [256]}}",
                    KINDS.join(", ")
                ),
            }
            .into()
        })
    }
}

impl ModelSource for Zoo {
    fn names(&self) -> Vec<String> {
        KINDS.iter().map(|kind| kind.to_string()).collect()
    }

    fn named(&self, name: &str) -> Option<(Value, Option<&'static str>)> {
        let config = ModelConfig::named(name)?;
        let json = match config {
            ModelConfig::Logistic(_) => DEFAULT_JSON,
            ModelConfig::Mlp(_) => MLP_JSON,
            ModelConfig::Cnn(_) => CNN_JSON,
        };
        let block = serde_json::from_str(&config.to_json()).expect("a zoo config is JSON");
        Some((block, Some(json)))
    }

    fn check(&self, block: &Value) -> Result<Value, LearnerError> {
        let config = Self::config(block)?;
        Ok(serde_json::from_str(&config.to_json()).expect("a zoo config is JSON"))
    }

    fn check_data(&self, block: &Value, shape: &DataShape) -> Result<(), LearnerError> {
        let config = Self::config(block)?;
        config.validate(shape).map_err(|err| {
            ConfigError::Field {
                field: format!("model ({})", config.kind()),
                problem: format!("does not fit the data: {err}"),
            }
            .into()
        })
    }

    fn train(
        &self,
        block: &Value,
        config: &ValidConfig,
        data: &ImageData,
        options: &TrainOptions,
    ) -> Result<Trained, LearnerError> {
        with_model(
            block,
            config,
            data,
            Train {
                config,
                data,
                options,
            },
        )
    }

    fn lr_find(
        &self,
        block: &Value,
        config: &ValidConfig,
        data: &ImageData,
        backend: Option<BackendKind>,
        settings: LrFindSettings,
    ) -> Result<LrFinding, LearnerError> {
        with_model(
            block,
            config,
            data,
            LrFind {
                config,
                data,
                backend,
                settings,
            },
        )
    }

    fn open(&self, artifacts: &ArtifactDir, device: &Device) -> Result<LoadedRun, LearnerError> {
        Ok(model::zoo::load_run(artifacts.root(), device)?)
    }
}

/// Work done with a zoo model's builder, whatever model it is: the one generic function each
/// model kind is run through.
pub(crate) trait WithModel {
    type Output;

    fn run<M: ImageClassifier>(
        self,
        init: impl Fn(&Device, &DataShape) -> M,
    ) -> Result<Self::Output, LearnerError>;
}

/// Runs `job` with the builder of the zoo model `block` describes.
pub(crate) fn with_model<J: WithModel>(
    block: &Value,
    config: &ValidConfig,
    data: &ImageData,
    job: J,
) -> Result<J::Output, LearnerError> {
    match Zoo::config(block)? {
        ModelConfig::Logistic(settings) => {
            let shape = learner::run::card::data_shape(&data.clone().with_task(config.task)?);
            let model = settings.for_data(&shape)?;
            job.run(move |device: &Device, _: &DataShape| model.init(device))
        }
        ModelConfig::Mlp(model) => {
            job.run(move |device: &Device, shape: &DataShape| model.init(device, shape))
        }
        ModelConfig::Cnn(model) => {
            job.run(move |device: &Device, shape: &DataShape| model.init(device, shape))
        }
    }
}

/// A training run.
struct Train<'a> {
    config: &'a ValidConfig,
    data: &'a ImageData,
    options: &'a TrainOptions,
}

impl WithModel for Train<'_> {
    type Output = Trained;

    fn run<M: ImageClassifier>(
        self,
        init: impl Fn(&Device, &DataShape) -> M,
    ) -> Result<Trained, LearnerError> {
        let report = learner::train_model(init, self.config, self.data, self.options)?;
        Ok(Trained {
            summary: report.summary,
            artifacts: report.artifacts,
        })
    }
}

/// A learning-rate range test.
struct LrFind<'a> {
    config: &'a ValidConfig,
    data: &'a ImageData,
    backend: Option<BackendKind>,
    settings: LrFindSettings,
}

impl WithModel for LrFind<'_> {
    type Output = LrFinding;

    fn run<M: ImageClassifier>(
        self,
        init: impl Fn(&Device, &DataShape) -> M,
    ) -> Result<LrFinding, LearnerError> {
        learner::lr_find(init, self.config, self.data, self.backend, self.settings)
    }
}
