use std::path::PathBuf;

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read (missing, not a regular file, too large).
    #[error("cannot read config file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong: the operating system's error, or why the file is refused.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The file is not valid JSON for a training config (unknown field, wrong type, ...).
    #[error("config file {path} is invalid: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// serde's message: the field and position.
        reason: String,
    },
    /// The text is not valid JSON for a training config.
    #[error("the config is invalid: {reason}")]
    Json {
        /// serde's message: the field and position.
        reason: String,
    },
    /// A value is out of range.
    #[error("config field `{field}` {problem}")]
    Invalid {
        /// The field, as written in the JSON file.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// A value is out of range (a field named at run time: `dataset.normalize.std`,
    /// `model.hidden`).
    #[error("config field `{field}` {problem}")]
    Field {
        /// The field, as written in the JSON file.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// Everything that can stop training or evaluation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LearnerError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The dataset could not be found or read.
    #[error(transparent)]
    Data(#[from] data::DataError),
    /// The requested backend is not compiled in or cannot open its device.
    #[error(transparent)]
    Backend(#[from] crate::BackendError),
    /// The model configuration is invalid.
    #[error(transparent)]
    ModelConfig(#[from] model::ModelConfigError),
    /// A resume would train another model than the run's.
    #[error(
        "artifacts folder {artifacts} holds a run of the model {recorded}, and this would \
         resume it with {asked}: a run keeps its model; resume it with the model (and binary) \
         that started it, or start a new run (--overwrite, or another --artifacts folder)"
    )]
    OtherModel {
        /// The run's folder.
        artifacts: PathBuf,
        /// The run's model: its kind and description.
        recorded: String,
        /// The model of this resume.
        asked: String,
    },
    /// A resume would train the run's model with other settings, or on data of another shape.
    #[error(
        "{path} records the run's model, and this resume differs from it ({changes}): a run's \
         checkpoints fit only its own model and data; put them back, or start a new run \
         (--overwrite, or another --artifacts folder)"
    )]
    ModelMismatch {
        /// The run's `model.json`.
        path: PathBuf,
        /// Each difference: `field: old -> new`.
        changes: String,
    },
    /// A checkpoint's tensors do not fit the model: the model was changed since the run made
    /// it (the file itself is sound).
    #[error(
        "cannot load {path}: the model no longer matches the run's checkpoint of epoch {epoch} \
         ({reason}); the file is not damaged: resume with the model the run was started with, \
         or start a new run (--overwrite, or another --artifacts folder)"
    )]
    ModelChanged {
        /// The checkpoint file.
        path: PathBuf,
        /// Its epoch.
        epoch: usize,
        /// Burn's account of the tensors that do not fit (names and shapes).
        reason: String,
    },
    /// Saved weights could not be loaded.
    #[error(transparent)]
    ModelLoad(#[from] model::ModelLoadError),
    /// The artifacts folder cannot be used.
    #[error("artifacts folder {path}: {problem}")]
    Artifacts {
        /// The folder or file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The artifacts folder holds an earlier run.
    #[error(
        "artifacts folder {path} holds an earlier run; pass --resume to continue it, \
         --overwrite to replace it, or choose another --artifacts folder"
    )]
    RunExists {
        /// The folder.
        path: PathBuf,
    },
    /// Writing an artifact failed.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A saved artifact could not be read back.
    #[error("cannot read {path}: {problem}")]
    ReadArtifact {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// Burn's training loop reported an error.
    #[error("training failed: {0}")]
    Training(String),
    /// The training loss became NaN or infinite; the run stopped before checkpointing it.
    #[error(
        "training diverged: the loss was {loss} at iteration {iteration} (epoch {epoch}); \
         {advice}."
    )]
    Diverged {
        /// The non-finite loss (NaN or infinite).
        loss: f32,
        /// Iteration of the run whose loss it was.
        iteration: usize,
        /// The epoch that iteration belongs to.
        epoch: usize,
        /// The setting that is probably to blame, and the next step that works.
        advice: String,
        /// The last complete (good) checkpoint's epoch.
        kept: Option<usize>,
        /// The artifacts folder.
        artifacts: PathBuf,
    },
    /// The loss of the very first batch was NaN or infinite: no update had happened, so the
    /// model itself (its forward pass or its loss) gives values that are not numbers.
    #[error(
        "the model's loss was {loss} on the first training batch, before any update: its \
         output is not finite from the start, so no learning rate is to blame; look for a log \
         of 0, a division by 0 or an overflow in the model's logits or loss (run it on one \
         batch of the data), then start again with --overwrite"
    )]
    NotFiniteAtStart {
        /// The non-finite loss (NaN or infinite).
        loss: f32,
        /// The artifacts folder.
        artifacts: PathBuf,
    },
    /// Resuming with a config that changes what the checkpoints are made of.
    #[error(
        "{path} was changed since the run's checkpoints were made ({changes}): these settings \
         cannot change when a run is resumed; put them back, or start a new run (--overwrite, \
         or another --artifacts folder)"
    )]
    ConfigChanged {
        /// The run's config file.
        path: PathBuf,
        /// Each changed setting: `field: old -> new`.
        changes: String,
    },
    /// The dashboard was asked for where there is no terminal to draw it on.
    #[error(
        "--progress dashboard needs a terminal, and standard output is not one (a pipe, a file \
         or CI); use --progress plain, or leave --progress out to choose by itself"
    )]
    NoTerminal,
    /// Progress could not be written to standard output; the run stopped and was saved.
    #[error(
        "cannot write progress to standard output ({error}); the run stopped after epoch \
         {epochs} and was saved in {}: continue it with --resume",
        artifacts.display()
    )]
    Output {
        /// The write error.
        error: std::io::Error,
        /// The artifacts folder.
        artifacts: PathBuf,
        /// Complete epochs.
        epochs: usize,
    },
    /// Ctrl-C or SIGTERM came while the results of a finished training were being written.
    #[error(
        "stopped by Ctrl-C or SIGTERM while the run's results were written; its checkpoints \
         are complete: run again with --resume --artifacts {} to finish writing them",
        artifacts.display()
    )]
    StoppedWhileSaving {
        /// The artifacts folder.
        artifacts: PathBuf,
    },
    /// The model does not fit the data (its input or output size).
    #[error("the model does not fit the data: {0}")]
    Model(String),
    /// The model's own files could not be made ([`model::ImageClassifier::extra_artifacts`]).
    #[error("the model's extra_artifacts failed: {0}")]
    ExtraArtifacts(String),
    /// Evaluation on a device failed.
    #[error("evaluation failed: {0}")]
    Evaluation(String),
    /// Drawing a picture failed.
    #[error("cannot draw the picture: {0}")]
    Plot(String),
}
