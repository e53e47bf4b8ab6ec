//! Training configs: parsing, defaults, rejection of bad values, round trip.

use std::path::Path;

use learner::{ConfigError, LrSchedule, TrainingConfig};

fn invalid_field(config: TrainingConfig) -> &'static str {
    match config.validate() {
        Err(ConfigError::Invalid { field, .. }) => field,
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

#[test]
fn round_trips_through_json_and_burn_config_files() {
    let config = TrainingConfig {
        lr_schedule: LrSchedule::Step {
            every_epochs: 3,
            gamma: 0.5,
        },
        iterations_per_epoch: Some(500),
        ..TrainingConfig::default()
    };
    let parsed = TrainingConfig::from_json(&config.to_json()).unwrap();
    assert_eq!(parsed, config);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    burn::config::Config::save(&config, &path).unwrap();
    assert_eq!(TrainingConfig::from_file(&path).unwrap(), config);
    let loaded: TrainingConfig = burn::config::Config::load(&path).unwrap();
    assert_eq!(loaded, config);
}

#[test]
fn missing_fields_take_defaults() {
    let config =
        TrainingConfig::from_json(r#"{"epochs": 3, "optimizer": {"learning_rate": 0.5}}"#).unwrap();
    assert_eq!(config.epochs, 3);
    assert_eq!(config.optimizer.learning_rate(), 0.5);
    assert_eq!(config.batch_size, TrainingConfig::default().batch_size);
    assert_eq!(
        TrainingConfig::from_json("{}").unwrap(),
        TrainingConfig::default()
    );
}

/// A partial block takes the documented defaults for what it leaves out, not another set.
#[test]
fn a_partial_block_takes_the_documented_defaults() {
    let defaults = TrainingConfig::default();
    let mut config = TrainingConfig::from_json(r#"{"optimizer": {"learning_rate": 0.5}}"#).unwrap();
    assert_eq!(sgd(&mut config).momentum, 0.9);
    assert_eq!(config.optimizer.weight_decay(), 1e-5);
    assert_eq!(
        TrainingConfig::from_json(r#"{"optimizer": {}}"#)
            .unwrap()
            .optimizer,
        defaults.optimizer
    );
    assert_eq!(defaults.optimizer.learning_rate(), 0.2);
    for (json, expected) in [
        (r#"{"validation": {}}"#, TrainingConfig::from_json("{}")),
        (
            r#"{"lr_schedule": {"type": "cosine"}}"#,
            TrainingConfig::from_json("{}"),
        ),
    ] {
        assert_eq!(
            TrainingConfig::from_json(json).unwrap(),
            expected.unwrap(),
            "{json}"
        );
    }
    // Each nested default is the top-level one.
    assert_eq!(
        defaults.optimizer,
        learner::Optimizer::Sgd(learner::SgdSettings::default())
    );
    assert_eq!(defaults.lr_schedule, LrSchedule::default());
    // The model block is left to the model's builder (the zoo's default: a logistic
    // regression).
    assert_eq!(defaults.model, serde_json::json!({}));
}

/// The `model` block is read by whatever builds the model (the zoo, through the trainer); the
/// learner only keeps it, as an object, lists and all.
#[test]
fn the_model_block_is_kept_for_the_models_builder() {
    let json = r#"{"model": {"kind": "mlp", "hidden": [256, 128]}}"#;
    let config = TrainingConfig::from_json(json).unwrap();
    assert_eq!(config.model["hidden"], serde_json::json!([256, 128]));
    assert_eq!(
        TrainingConfig::from_json(&config.to_json()).unwrap(),
        config
    );
    let err = TrainingConfig::from_json(r#"{"model": "mlp"}"#)
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(err.contains("`model`") && err.contains("a string"), "{err}");
}

/// The dataset block: a name, or the format, folder, size and normalisation, each checked.
#[test]
fn the_dataset_block_names_the_data_and_is_checked() {
    let named = TrainingConfig::from_json(r#"{"dataset": "fashion-mnist"}"#).unwrap();
    assert_eq!(named.dataset, data::DatasetSpec::fashion_mnist());
    assert!(named.to_json().contains("\"dataset\": \"fashion-mnist\""));
    let block = r#"{"dataset": {"format": "image-folder", "path": "photos",
        "image_size": [32, 32], "normalize": {"mean": [0.5], "std": [0.25]},
        "augment": {"crop_padding": 4, "horizontal_flip": true}}}"#;
    let config = TrainingConfig::from_json(block).unwrap();
    assert_eq!(config.dataset.format, data::Format::ImageFolder);
    assert_eq!(config.dataset.image_size, Some([32, 32]));
    assert_eq!(
        TrainingConfig::from_json(&config.to_json()).unwrap(),
        config
    );
    config.validate().unwrap();
    for (json, field) in [
        (
            r#"{"dataset": {"image_size": [0, 32]}}"#,
            "dataset.image_size",
        ),
        (r#"{"dataset": {"channels": 2}}"#, "dataset.channels"),
        (
            r#"{"dataset": {"normalize": {"mean": [0.5], "std": [0]}}}"#,
            "dataset.normalize.std",
        ),
        (r#"{"dataset": {"name": "cifar"}}"#, "dataset.name"),
        (r#"{"dataset": {"classes": ["a"]}}"#, "dataset.classes"),
    ] {
        let err = TrainingConfig::from_json(json)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains(field), "{json}: {err}");
    }
    for json in [
        r#"{"dataset": "cifar"}"#,
        r#"{"dataset": {"format": "png"}}"#,
        r#"{"dataset": {"paths": "x"}}"#,
    ] {
        assert!(TrainingConfig::from_json(json).is_err(), "{json}");
    }
}

#[test]
fn only_a_json_object_without_arrays_is_a_config() {
    for (json, expected) in [
        ("[0.1, 0.9]", "not an array"),
        ("null", "not null"),
        ("10", "not a number"),
        (
            r#"{"optimizer": [0.1, 0.9, 0, false, 0]}"#,
            "`optimizer` is an array",
        ),
        (
            r#"{"validation": {"size": [3]}}"#,
            "`validation.size` is an array",
        ),
    ] {
        let err = TrainingConfig::from_json(json).unwrap_err().to_string();
        assert!(err.contains(expected), "{json}: {err}");
    }
    // A UTF-8 byte-order mark, as some editors write, is no error.
    let with_bom = format!("\u{feff}{}", r#"{"epochs": 4}"#);
    assert_eq!(TrainingConfig::from_json(&with_bom).unwrap().epochs, 4);
}

/// The error and its causes, as the trainer prints them.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[test]
fn only_a_regular_file_of_sane_size_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let read = |path: &Path| chain(&TrainingConfig::from_file(path).unwrap_err());
    let err = read(Path::new("/dev/zero"));
    assert!(err.contains("device"), "{err}");
    let err = read(dir.path());
    assert!(err.contains("folder"), "{err}");
    let fifo = dir.path().join("config.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        // Opening a FIFO would wait for a writer forever; it is refused first.
        let err = read(&fifo);
        assert!(err.contains("FIFO"), "{err}");
    }
    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; (learner::MAX_CONFIG_BYTES + 1) as usize]).unwrap();
    let err = read(&big);
    assert!(err.contains("more than the"), "{err}");
    let latin1 = dir.path().join("latin1.json");
    std::fs::write(&latin1, b"{\"dataset\": \"caf\xe9\"}").unwrap();
    let err = TrainingConfig::from_file(&latin1).unwrap_err();
    assert!(err.to_string().contains("not UTF-8"), "{err}");
}

#[test]
fn unknown_fields_and_wrong_types_are_rejected_with_the_field_named() {
    let err = |json: &str| TrainingConfig::from_json(json).unwrap_err().to_string();
    let e = err(r#"{"epoch": 3}"#);
    assert!(e.contains("unknown field `epoch`"), "{e}");
    let e = err(r#"{"optimizer": {"lr": 0.1}}"#);
    assert!(e.contains("unknown field `lr`"), "{e}");
    let e = err(r#"{"batch_size": "big"}"#);
    assert!(e.contains("invalid type") && e.contains("line 1"), "{e}");
    let e = err(r#"{"lr_schedule": {"type": "cosine", "min": 0}}"#);
    assert!(e.contains("unknown field `min`"), "{e}");
    let e = err(r#"{"lr_schedule": {"type": "warmup"}}"#);
    assert!(e.contains("unknown variant `warmup`"), "{e}");
    let e = err(r#"{"dataset": "cifar"}"#);
    assert!(e.contains("cifar"), "{e}");
    let e = err("{");
    assert!(e.contains("EOF"), "{e}");
    let e = err(r#"{"epochs": 1, "epochs": 2}"#);
    assert!(e.contains("duplicate field `epochs`"), "{e}");
}

#[test]
fn missing_file_is_a_read_error_naming_it() {
    let err = TrainingConfig::from_file(std::path::Path::new("/no/such/config.json")).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    let message = err.to_string();
    assert!(message.contains("/no/such/config.json"), "{message}");
}

#[test]
fn out_of_range_values_are_rejected_before_any_work() {
    let base = TrainingConfig::default;
    let with = |change: fn(&mut TrainingConfig)| {
        let mut config = base();
        change(&mut config);
        invalid_field(config)
    };
    assert_eq!(
        with(|c| c.optimizer.set_learning_rate(0.0)),
        "optimizer.learning_rate"
    );
    assert_eq!(
        with(|c| c.optimizer.set_learning_rate(-0.1)),
        "optimizer.learning_rate"
    );
    assert_eq!(
        with(|c| c.optimizer.set_learning_rate(f64::NAN)),
        "optimizer.learning_rate"
    );
    assert_eq!(
        with(|c| c.optimizer.set_learning_rate(f64::INFINITY)),
        "optimizer.learning_rate"
    );
    assert_eq!(
        with(|c| {
            sgd(c).momentum = 1.0;
        }),
        "optimizer.momentum"
    );
    assert_eq!(
        with(|c| {
            sgd(c).momentum = -0.5;
        }),
        "optimizer.momentum"
    );
    assert_eq!(
        with(|c| {
            sgd(c).dampening = 2.0;
        }),
        "optimizer.dampening"
    );
    assert_eq!(
        with(|c| {
            sgd(c).weight_decay = -1.0;
        }),
        "optimizer.weight_decay"
    );
    assert_eq!(
        with(|c| {
            sgd(c).momentum = 0.0;
            sgd(c).nesterov = true;
        }),
        "optimizer.nesterov"
    );
    assert_eq!(with(|c| c.epochs = 0), "epochs");
    assert_eq!(with(|c| c.batch_size = 0), "batch_size");
    assert_eq!(with(|c| c.eval_batch_size = 0), "eval_batch_size");
    assert_eq!(
        with(|c| c.iterations_per_epoch = Some(0)),
        "iterations_per_epoch"
    );
    assert_eq!(with(|c| c.validation.size = Some(0)), "validation.size");
    assert_eq!(with(|c| c.keep_checkpoints = 0), "keep_checkpoints");
    assert_eq!(
        with(|c| c.lr_schedule = LrSchedule::Cosine { min_lr: 1.0 }),
        "lr_schedule.min_lr"
    );
    assert_eq!(
        with(|c| c.lr_schedule = LrSchedule::Step {
            every_epochs: 0,
            gamma: 0.1
        }),
        "lr_schedule.every_epochs"
    );
    assert_eq!(
        with(|c| c.lr_schedule = LrSchedule::Step {
            every_epochs: 1,
            gamma: 0.0
        }),
        "lr_schedule.gamma"
    );
    assert_eq!(
        with(|c| c.early_stopping = Some(learner::EarlyStopping {
            patience: 0,
            min_delta: 0.0
        })),
        "early_stopping.patience"
    );
    let message = {
        let mut config = base();
        config.batch_size = 0;
        config.validate().unwrap_err().to_string()
    };
    assert!(message.contains("batch_size"), "{message}");
}

/// Floats the model sees as 32-bit must survive the conversion; counts are bounded so that no
/// product of them can wrap.
#[test]
fn values_beyond_32_bit_floats_and_huge_counts_are_rejected_by_name() {
    let with = |change: fn(&mut TrainingConfig)| {
        let mut config = TrainingConfig::default();
        change(&mut config);
        invalid_field(config)
    };
    assert_eq!(
        with(|c| {
            sgd(c).weight_decay = 1e39;
        }),
        "optimizer.weight_decay"
    );
    assert_eq!(
        with(|c| {
            sgd(c).weight_decay = 1e-50;
        }),
        "optimizer.weight_decay"
    );
    assert_eq!(
        with(|c| {
            c.lr_schedule = LrSchedule::Constant;
            c.optimizer.set_learning_rate(1e39);
        }),
        "optimizer.learning_rate"
    );
    assert_eq!(
        with(|c| {
            c.lr_schedule = LrSchedule::Constant;
            c.optimizer.set_learning_rate(1e-46);
        }),
        "optimizer.learning_rate"
    );
    assert_eq!(
        with(|c| c.lr_schedule = LrSchedule::Step {
            every_epochs: 17_691_890_096_268_751_550,
            gamma: 0.5
        }),
        "lr_schedule.every_epochs"
    );
    assert_eq!(
        with(|c| c.iterations_per_epoch = Some(1_000_000_000_000)),
        "iterations_per_epoch"
    );
    assert_eq!(with(|c| c.epochs = usize::MAX), "epochs");
    assert_eq!(with(|c| c.batch_size = usize::MAX), "batch_size");
    let message = {
        let mut config = TrainingConfig::default();
        sgd(&mut config).weight_decay = 1e39;
        config.validate().unwrap_err().to_string()
    };
    assert!(message.contains("32-bit"), "{message}");
    // The bounds themselves are valid.
    let config = TrainingConfig {
        epochs: learner::MAX_EPOCHS,
        iterations_per_epoch: Some(learner::MAX_ITERATIONS_PER_EPOCH),
        lr_schedule: LrSchedule::Step {
            every_epochs: learner::MAX_EPOCHS,
            gamma: 0.5,
        },
        ..TrainingConfig::default()
    }
    .validate()
    .unwrap();
    config.scheduler(learner::MAX_ITERATIONS_PER_EPOCH).unwrap();
}

#[test]
fn schedulers_follow_the_schedule() {
    let mut config = TrainingConfig {
        epochs: 2,
        ..TrainingConfig::default()
    };
    config.optimizer.set_learning_rate(0.5);
    let rates = |schedule: LrSchedule| {
        let mut config = config.clone();
        config.lr_schedule = schedule;
        let mut scheduler = config.validate().unwrap().scheduler(10).unwrap();
        (0..20)
            .map(|_| scheduler.step().base())
            .collect::<Vec<f64>>()
    };
    assert!(rates(LrSchedule::Constant).iter().all(|&lr| lr == 0.5));

    let cosine = rates(LrSchedule::Cosine { min_lr: 0.0 });
    assert_eq!(cosine[0], 0.5);
    assert!(
        cosine.windows(2).all(|pair| pair[1] < pair[0]),
        "{cosine:?}"
    );
    assert!(cosine[19] < 0.01, "{cosine:?}");

    let linear = rates(LrSchedule::Linear { final_lr: 0.1 });
    assert!((linear[10] - 0.3).abs() < 1e-9, "{linear:?}");

    // Step: every epoch (10 iterations) the rate halves.
    let step = rates(LrSchedule::Step {
        every_epochs: 1,
        gamma: 0.5,
    });
    assert!(step[..10].iter().all(|&lr| lr == 0.5), "{step:?}");
    assert!(step[10..].iter().all(|&lr| lr == 0.25), "{step:?}");
}

#[test]
fn tasks_are_checked() {
    use data::Task;
    let mut config = TrainingConfig {
        task: Task::Pair {
            positive: 3,
            negative: 8,
        },
        ..TrainingConfig::default()
    };
    assert!(config.clone().validate().is_ok());
    config.task = Task::Pair {
        positive: 3,
        negative: 3,
    };
    assert_eq!(invalid_field(config), "task");

    let unknown = r#"{"task": {"type": "pairs", "positive": 3, "negative": 8}}"#;
    assert!(TrainingConfig::from_json(unknown).is_err());
}

/// The SGD settings of a config (the default optimizer).
fn sgd(config: &mut TrainingConfig) -> &mut learner::SgdSettings {
    match &mut config.optimizer {
        learner::Optimizer::Sgd(settings) => settings,
        other => panic!("not SGD: {other:?}"),
    }
}

/// A weight matrix with known values, and a loss whose gradient is `scale` exactly: the sum of
/// the weights times `scale`. The optimizer's step is then checked against its update rule
/// computed by hand.
fn one_step(optimizer_json: &str, scale: f32) -> (Vec<f32>, Vec<f32>) {
    use burn::module::{Module, Param};
    use burn::optim::GradientsParams;
    use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
    use burn::prelude::*;

    #[derive(Module, Debug)]
    struct Weights {
        w: Param<Tensor<1>>,
    }
    let device = Device::flex().autodiff();
    let start = vec![0.5f32, -1.0, 2.0, 0.0];
    let model = Weights {
        w: Param::from_tensor(Tensor::from_floats(start.as_slice(), &device)),
    };
    let config = TrainingConfig::from_json(optimizer_json)
        .unwrap()
        .validate()
        .unwrap();
    let mut optimizer = config.optimizer();
    let loss = model.w.val().mul_scalar(scale).sum();
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let lr = config.optimizer.learning_rate();
    let model = optimizer.step(ModuleLearningRate::from(lr), model, grads);
    let after = model.w.val().into_data().try_to_vec::<f32>().unwrap();
    (start, after)
}

fn close(a: &[f32], b: &[f32]) {
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-6, "{a:?} != {b:?}");
    }
}

/// Each optimizer's first step, against its rule computed by hand (gradient g = 3 for every
/// weight): the config's settings reach burn-optim as PyTorch names them.
#[test]
fn each_optimizers_first_step_is_its_rule() {
    let g = 3.0f32;
    // SGD, momentum 0.9 (the first step has no velocity yet), weight decay 0.1 as L2:
    // w - lr * (g + wd * w).
    let (w, after) = one_step(
        r#"{"optimizer": {"learning_rate": 0.1, "momentum": 0.9, "weight_decay": 0.1}}"#,
        g,
    );
    let sgd: Vec<f32> = w.iter().map(|w| w - 0.1 * (g + 0.1 * w)).collect();
    close(&after, &sgd);
    // Adam: m = (1 - b1) g, v = (1 - b2) g^2, bias-corrected to g and g^2: w - lr * g / (|g| + eps).
    let (w, after) = one_step(
        r#"{"optimizer": {"type": "adam", "learning_rate": 0.01, "betas": [0.8, 0.99], "eps": 1e-8}}"#,
        g,
    );
    let adam: Vec<f32> = w.iter().map(|w| w - 0.01 * g / (g + 1e-8)).collect();
    close(&after, &adam);
    // AdamW, decoupled weight decay 0.5: w * (1 - lr * wd) - lr * g / (|g| + eps).
    let (w, after) = one_step(
        r#"{"optimizer": {"type": "adamw", "learning_rate": 0.01, "weight_decay": 0.5}}"#,
        g,
    );
    let adamw: Vec<f32> = w
        .iter()
        .map(|w| w * (1.0 - 0.01 * 0.5) - 0.01 * g / (g + 1e-8))
        .collect();
    close(&after, &adamw);
    // RMSprop: v = (1 - alpha) g^2: w - lr * g / (sqrt(v) + eps).
    let (w, after) = one_step(
        r#"{"optimizer": {"type": "rmsprop", "learning_rate": 0.01, "alpha": 0.9}}"#,
        g,
    );
    let rms = (0.1f32 * g * g).sqrt();
    let rmsprop: Vec<f32> = w.iter().map(|w| w - 0.01 * g / (rms + 1e-8)).collect();
    close(&after, &rmsprop);
    // Adagrad: sum = g^2: w - lr * g / (sqrt(sum) + eps).
    let (w, after) = one_step(
        r#"{"optimizer": {"type": "adagrad", "learning_rate": 0.1}}"#,
        g,
    );
    let adagrad: Vec<f32> = w.iter().map(|w| w - 0.1 * g / (g + 1e-10)).collect();
    close(&after, &adagrad);
    // AdamW's default weight decay is PyTorch's 0.01.
    let config = TrainingConfig::from_json(r#"{"optimizer": {"type": "adamw"}}"#).unwrap();
    assert_eq!(config.optimizer.weight_decay(), 0.01);
    assert_eq!(config.optimizer.learning_rate(), 1e-3);
}

/// Clipping by norm bounds the step of plain SGD (learning rate 1) by the norm; by value,
/// every component.
#[test]
fn clipping_bounds_the_gradient() {
    let sgd = r#""optimizer": {"learning_rate": 1.0, "momentum": 0.0, "weight_decay": 0.0}"#;
    let (w, after) = one_step(
        &format!(r#"{{{sgd}, "gradient_clipping": {{"norm": 0.5}}}}"#),
        100.0,
    );
    let step: f32 = w
        .iter()
        .zip(&after)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f32>()
        .sqrt();
    assert!((step - 0.5).abs() < 1e-4, "step of norm {step}");
    let (w, after) = one_step(
        &format!(r#"{{{sgd}, "gradient_clipping": {{"value": 0.25}}}}"#),
        100.0,
    );
    close(&after, &w.iter().map(|w| w - 0.25).collect::<Vec<f32>>());
    let (w, after) = one_step(&format!("{{{sgd}}}"), 100.0);
    close(&after, &w.iter().map(|w| w - 100.0).collect::<Vec<f32>>());
}

/// A warmup rises linearly to the learning rate over its steps, then the schedule takes over
/// from there.
#[test]
fn warmup_rises_linearly_then_the_schedule_goes_on() {
    let config = TrainingConfig::from_json(
        r#"{"epochs": 2, "optimizer": {"learning_rate": 0.4},
            "lr_schedule": {"type": "cosine"}, "warmup": {"iterations": 4}}"#,
    )
    .unwrap()
    .validate()
    .unwrap();
    let mut scheduler = config.scheduler(10).unwrap();
    let rates: Vec<f64> = (0..20).map(|_| scheduler.step().base()).collect();
    for (step, expected) in [0.1, 0.175, 0.25, 0.325].iter().enumerate() {
        assert!(
            (rates[step] - expected).abs() < 1e-9,
            "step {step}: {rates:?}"
        );
    }
    assert!((rates[4] - 0.4).abs() < 1e-9, "{rates:?}");
    assert!(
        rates[4..].windows(2).all(|pair| pair[1] < pair[0]),
        "{rates:?}"
    );
    // An exponential schedule: a factor gamma every epoch.
    let config = TrainingConfig::from_json(
        r#"{"epochs": 3, "optimizer": {"learning_rate": 0.4},
            "lr_schedule": {"type": "exponential", "gamma": 0.5}}"#,
    )
    .unwrap()
    .validate()
    .unwrap();
    let mut scheduler = config.scheduler(10).unwrap();
    let rates: Vec<f64> = (0..21).map(|_| scheduler.step().base()).collect();
    assert!((rates[10] / rates[0] - 0.5).abs() < 1e-6, "{rates:?}");
    assert!((rates[20] / rates[0] - 0.25).abs() < 1e-6, "{rates:?}");
}

/// Bad values of the controls are refused by name before any work.
#[test]
fn bad_controls_are_refused_by_name() {
    for (json, field) in [
        (
            r#"{"optimizer": {"type": "adam", "betas": [-0.1, 0.9]}}"#,
            "optimizer.betas",
        ),
        (
            r#"{"optimizer": {"type": "adam", "betas": [0.9, 1.0]}}"#,
            "optimizer.betas",
        ),
        (
            r#"{"optimizer": {"type": "rmsprop", "alpha": 1.5}}"#,
            "optimizer.alpha",
        ),
        (
            r#"{"optimizer": {"type": "adagrad", "eps": 0}}"#,
            "optimizer.epsilon",
        ),
        (
            r#"{"gradient_clipping": {"norm": 0}}"#,
            "gradient_clipping.norm",
        ),
        (
            r#"{"gradient_clipping": {"value": -1}}"#,
            "gradient_clipping.value",
        ),
        (r#"{"accumulation": 0}"#, "accumulation"),
        (r#"{"epochs": 3, "warmup": {"epochs": 3}}"#, "warmup.epochs"),
        (r#"{"warmup": {"iterations": 0}}"#, "warmup"),
        (
            r#"{"early_stopping": {"patience": 2, "min_delta": -1}}"#,
            "early_stopping.min_delta",
        ),
        (
            r#"{"lr_schedule": {"type": "exponential", "gamma": 0}}"#,
            "lr_schedule.gamma",
        ),
    ] {
        let err = TrainingConfig::from_json(json)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains(field), "{json}: {err}");
    }
    for (json, expected) in [
        (
            r#"{"optimizer": {"type": "lbfgs"}}"#,
            "unknown optimizer `lbfgs`",
        ),
        (
            r#"{"optimizer": {"type": "adam", "momentum": 0.9}}"#,
            "unknown field `momentum`",
        ),
        (r#"{"monitor": {"metric": "f1"}}"#, "unknown variant `f1`"),
        (r#"{"final_model": "middle"}"#, "unknown variant `middle`"),
    ] {
        let err = TrainingConfig::from_json(json).unwrap_err().to_string();
        assert!(err.contains(expected), "{json}: {err}");
    }
}
