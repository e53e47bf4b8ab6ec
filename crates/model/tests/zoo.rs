//! The zoo: config blocks, every model on data of any shape, and a run's model opened by kind.

use burn::module::Module;
use burn::prelude::*;
use model::zoo::{LoadedRun, ModelConfig, load_run};
use model::{
    Classify, CnnConfig, DataShape, ImageClassifier, LogisticRegressionConfig, MlpConfig,
    ModelLoadError,
};

fn device() -> Device {
    Device::flex()
}

#[test]
fn a_block_names_its_kind_and_takes_defaults_for_the_rest() {
    let config = ModelConfig::from_json(r#"{"kind": "mlp", "hidden": [64, 32]}"#).unwrap();
    let ModelConfig::Mlp(mlp) = &config else {
        panic!("{config:?}")
    };
    assert_eq!(mlp.hidden, vec![64, 32]);
    assert_eq!(mlp.dropout, 0.0);
    assert_eq!(ModelConfig::from_json(&config.to_json()).unwrap(), config);
    assert_eq!(
        ModelConfig::from_json(r#"{"kind": "cnn"}"#).unwrap(),
        ModelConfig::Cnn(CnnConfig::default())
    );
    for (json, expected) in [
        (r#"{"kind": "resnet"}"#, "unknown variant `resnet`"),
        (r#"{"kind": "mlp", "hiden": [3]}"#, "unknown field `hiden`"),
        (r#"{"hidden": [3]}"#, "kind"),
    ] {
        let err = ModelConfig::from_json(json).unwrap_err();
        assert!(err.contains(expected), "{json}: {err}");
    }
    assert_eq!(ModelConfig::named("cnn").unwrap().kind(), "cnn");
    assert!(ModelConfig::named("vit").is_none());
}

#[test]
fn settings_that_cannot_work_are_named() {
    let mnist = DataShape::mnist();
    let bad = |json: &str, shape: &DataShape| {
        ModelConfig::from_json(json)
            .unwrap()
            .validate(shape)
            .unwrap_err()
            .to_string()
    };
    assert!(bad(r#"{"kind": "mlp", "hidden": []}"#, &mnist).contains("hidden"));
    assert!(bad(r#"{"kind": "mlp", "dropout": 1.0}"#, &mnist).contains("dropout"));
    assert!(bad(r#"{"kind": "cnn", "kernel_size": 4}"#, &mnist).contains("odd"));
    let tiny = DataShape::new(1, 4, 4, 2);
    let err = bad(r#"{"kind": "cnn", "channels": [8, 8, 8]}"#, &tiny);
    assert!(
        err.contains("4x4") && err.contains("at most 2 blocks"),
        "{err}"
    );
    let err = bad(r#"{"kind": "logistic", "input_size": 100}"#, &mnist);
    assert!(err.contains("input_size") && err.contains("784"), "{err}");
    let err = bad(r#"{"kind": "logistic", "head": "Binary"}"#, &mnist);
    assert!(err.contains("Binary") && err.contains("2 classes"), "{err}");
}

/// Every zoo model gives one logit per class for images of any shape.
#[test]
fn every_model_fits_grey_and_colour_data_of_any_size() {
    let device = device();
    for shape in [
        DataShape::mnist(),
        DataShape::new(3, 32, 32, 10),
        DataShape::new(3, 20, 12, 5),
    ] {
        let models: Vec<Box<dyn Classify>> = vec![
            Box::new(
                LogisticRegressionConfig::new()
                    .with_input_size(shape.input_size())
                    .with_num_classes(shape.num_classes)
                    .init(&device),
            ),
            Box::new(MlpConfig::new(vec![16]).init(&device, &shape)),
            Box::new(CnnConfig::default().init(&device, &shape)),
        ];
        let images = Tensor::<4>::zeros([3, shape.channels, shape.height, shape.width], &device);
        for model in models {
            let logits = model.logits(images.clone());
            assert_eq!(
                logits.dims(),
                [3, shape.num_classes],
                "{}",
                model.describe()
            );
            let probabilities = model.probabilities(logits);
            let sums: Vec<f32> = probabilities
                .sum_dim(1)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5), "{sums:?}");
        }
    }
}

#[test]
fn models_describe_themselves_and_record_their_config() {
    let device = device();
    let mlp = MlpConfig::new(vec![256]).init(&device, &DataShape::mnist());
    assert_eq!(ImageClassifier::describe(&mlp), "MLP 784-256-10");
    assert_eq!(mlp.kind(), "mlp");
    let recorded: MlpConfig =
        burn::config::Config::load_binary(mlp.config_json().unwrap().as_bytes()).unwrap();
    assert_eq!(&recorded, mlp.config());
    let cnn = CnnConfig::default().init(&device, &DataShape::mnist());
    assert_eq!(cnn.kind(), "cnn");
    let describe = ImageClassifier::describe(&cnn);
    assert!(describe.starts_with("CNN"), "{describe}");
    assert!(cnn.num_params() > 10_000);
}

/// `model.json` as a run writes it: the card, and the model's own config.
fn card(kind: &str, config: &str, shape: &DataShape) -> String {
    let classes: Vec<String> = (0..shape.num_classes)
        .map(|c| format!("\"c{c}\""))
        .collect();
    format!(
        r#"{{"kind": "{kind}", "describe": "a {kind}", "parameters": 1,
            "input": {{"channels": {}, "height": {}, "width": {}, "num_classes": {}}},
            "classes": [{}], "preprocess": {{"fit": "resize", "normalize": null}},
            "config": {config}}}"#,
        shape.channels,
        shape.height,
        shape.width,
        shape.num_classes,
        classes.join(", ")
    )
}

fn opened(dir: &std::path::Path) -> Result<LoadedRun, ModelLoadError> {
    load_run(dir, &device())
}

#[test]
fn a_run_of_any_zoo_model_opens_by_its_kind() {
    let device = device();
    let dir = tempfile::tempdir().unwrap();
    let shape = DataShape::new(3, 8, 8, 4);
    let cnn_config = CnnConfig {
        channels: vec![4],
        ..CnnConfig::default()
    };
    let cnn = cnn_config.init(&device, &shape);
    cnn.clone().save_file(dir.path().join("model.bpk")).unwrap();
    std::fs::write(
        dir.path().join("model.json"),
        card("cnn", &cnn.config_json().unwrap(), &shape),
    )
    .unwrap();
    let run = opened(dir.path()).unwrap();
    assert_eq!(run.card.input, shape);
    assert_eq!(run.card.classes[3], "c3");
    let images = Tensor::<4>::ones([2, 3, 8, 8], &device);
    let expected: Vec<f32> = ImageClassifier::logits(&cnn, images.clone())
        .into_data()
        .try_to_vec()
        .unwrap();
    let got: Vec<f32> = run
        .model
        .logits(images)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert_eq!(got, expected);

    // A model of your own: named, with where to open it.
    std::fs::write(
        dir.path().join("model.json"),
        card("my_app::MyNet", "null", &shape),
    )
    .unwrap();
    let err = opened(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("my_app::MyNet") && err.contains("binary that trained it"),
        "{err}"
    );

    // Weights of another architecture: named, not a panic.
    let other = CnnConfig {
        channels: vec![6],
        ..CnnConfig::default()
    };
    std::fs::write(
        dir.path().join("model.json"),
        card("cnn", &burn::config::config_to_json(&other), &shape),
    )
    .unwrap();
    let err = opened(dir.path()).unwrap_err().to_string();
    assert!(err.contains("model.bpk"), "{err}");
}

#[test]
fn a_run_from_before_the_cards_opens_as_its_logistic_regression() {
    let device = device();
    let dir = tempfile::tempdir().unwrap();
    let config = LogisticRegressionConfig::new();
    config
        .init(&device)
        .save_file(dir.path().join("model.bpk"))
        .unwrap();
    burn::config::Config::save(&config, dir.path().join("model.json")).unwrap();
    let run = opened(dir.path()).unwrap();
    assert_eq!(run.card.kind, "logistic");
    assert_eq!(run.card.input, DataShape::mnist());
    assert_eq!(run.card.classes.len(), 10);
}
