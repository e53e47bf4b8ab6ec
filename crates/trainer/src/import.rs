//! `trainer import-pytorch`: a run made from the weights of a PyTorch `nn.Linear` (a logistic
//! regression; the zoo's other models have no PyTorch import), evaluated on the data's test set.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use data::{DatasetSpec, ImageData, LoadOptions};
use learner::cli::output::say;
use learner::{ArtifactDir, BackendKind, LearnerError, TrainingConfig};
use model::ImageClassifier;

/// `import-pytorch`'s options.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// safetensors file holding `weight` [classes, pixels] and `bias` [classes] (PyTorch's
    /// nn.Linear state_dict).
    #[arg(long, value_name = "FILE")]
    weights: PathBuf,
    /// Artifacts folder to create (it must not hold a run, unless --overwrite).
    #[arg(long, value_name = "DIR")]
    artifacts: PathBuf,
    /// Data set the weights were trained on, known by name: mnist or fashion-mnist.
    #[arg(long, value_name = "NAME", default_value = "mnist")]
    dataset: String,
    /// Folder with the data for the test evaluation; default: as for training.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Replace an earlier run in the artifacts folder.
    #[arg(long)]
    overwrite: bool,
    /// Compute backend, among those compiled in.
    #[arg(long, value_name = "NAME")]
    backend: Option<BackendKind>,
}

/// Imports the weights into a new run and evaluates it.
pub fn run(args: ImportArgs) -> Result<()> {
    // Refused before the data is read: a folder, a FIFO, a device.
    data::ensure_regular_file(&args.weights)?;
    let (_, device) = learner::cli::pick_device(args.backend)?;
    let spec = match args.dataset.as_str() {
        "mnist" => DatasetSpec::mnist(),
        "fashion-mnist" => DatasetSpec::fashion_mnist(),
        other => anyhow::bail!(
            "--dataset {other}: the data sets known by name are mnist and fashion-mnist; give any \
             other IDX data with --data-dir"
        ),
    };
    let mut config = TrainingConfig {
        dataset: spec,
        ..TrainingConfig::default()
    };
    if let Some(folder) = &args.data_dir {
        config.dataset.path = Some(std::path::absolute(folder).unwrap_or_else(|_| folder.clone()));
    }
    let config = config.validate()?;
    // Read and check everything before the folder is touched.
    let options = LoadOptions {
        data_dir: None,
        split: config.validation,
        progress: None,
    };
    let data = ImageData::load(&config.dataset, options)?;
    let shape = learner::run::card::data_shape(&data);
    let model = model::zoo::LogisticSettings::default()
        .for_data(&shape)?
        .load_pytorch_safetensors(&args.weights, &device)
        .with_context(|| {
            format!(
                "importing {} as nn.Linear({}, {})",
                args.weights.display(),
                shape.input_size(),
                shape.num_classes
            )
        })?;
    let (_, card) = learner::run::card::card_json(&model, &data, &config.dataset)?;
    let folder = ArtifactDir::new(&args.artifacts)
        .start_run(args.overwrite)
        .map_err(|err| match err {
            // import-pytorch has no --resume to offer.
            LearnerError::RunExists { path } => anyhow::anyhow!(
                "artifacts folder {} holds an earlier run; pass --overwrite to replace it, or \
                 choose another --artifacts folder",
                path.display()
            ),
            other => other.into(),
        })?;
    folder.save_config(&config)?;
    folder.save_card(&card)?;
    folder.save_model(&model)?;
    // Not a training run: `trainer runs` says what it is instead of "unfinished".
    folder.manifest().record_ending("imported from PyTorch")?;
    say!(
        "imported {} into {} ({}, {} and {})",
        args.weights.display(),
        folder.root().display(),
        model.describe(),
        folder.model_config_path().display(),
        folder.model_path().display()
    );
    let batcher = config.dataset.eval_batcher(shape.channels);
    learner::cli::report(
        Some(&folder),
        &model,
        &data,
        (config.eval_batch_size, &batcher),
        &device,
    )
}
