//! Training configs: parsing, defaults, rejection of bad values, round trip.

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
    assert_eq!(config.optimizer.learning_rate, 0.5);
    assert_eq!(config.optimizer.momentum, 0.0);
    assert_eq!(config.batch_size, TrainingConfig::default().batch_size);
    assert_eq!(
        TrainingConfig::from_json("{}").unwrap(),
        TrainingConfig::default()
    );
}

#[test]
fn unknown_fields_and_wrong_types_are_rejected_with_the_field_named() {
    let err = TrainingConfig::from_json(r#"{"epoch": 3}"#).unwrap_err();
    assert!(err.contains("unknown field `epoch`"), "{err}");
    let err = TrainingConfig::from_json(r#"{"optimizer": {"lr": 0.1}}"#).unwrap_err();
    assert!(err.contains("unknown field `lr`"), "{err}");
    let err = TrainingConfig::from_json(r#"{"batch_size": "big"}"#).unwrap_err();
    assert!(
        err.contains("invalid type") && err.contains("line 1"),
        "{err}"
    );
    let err =
        TrainingConfig::from_json(r#"{"lr_schedule": {"type": "cosine", "min": 0}}"#).unwrap_err();
    assert!(err.contains("unknown field `min`"), "{err}");
    let err = TrainingConfig::from_json(r#"{"lr_schedule": {"type": "warmup"}}"#).unwrap_err();
    assert!(err.contains("unknown variant `warmup`"), "{err}");
    let err = TrainingConfig::from_json(r#"{"dataset": "cifar"}"#).unwrap_err();
    assert!(err.contains("cifar"), "{err}");
    let err = TrainingConfig::from_json("{").unwrap_err();
    assert!(err.contains("EOF"), "{err}");
}

#[test]
fn missing_file_is_a_read_error_naming_it() {
    let err = TrainingConfig::from_file(std::path::Path::new("/no/such/config.json")).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(err.to_string().contains("/no/such/config.json"));
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
        with(|c| c.optimizer.learning_rate = 0.0),
        "optimizer.learning_rate"
    );
    assert_eq!(
        with(|c| c.optimizer.learning_rate = -0.1),
        "optimizer.learning_rate"
    );
    assert_eq!(
        with(|c| c.optimizer.learning_rate = f64::NAN),
        "optimizer.learning_rate"
    );
    assert_eq!(
        with(|c| c.optimizer.learning_rate = f64::INFINITY),
        "optimizer.learning_rate"
    );
    assert_eq!(with(|c| c.optimizer.momentum = 1.0), "optimizer.momentum");
    assert_eq!(with(|c| c.optimizer.momentum = -0.5), "optimizer.momentum");
    assert_eq!(with(|c| c.optimizer.dampening = 2.0), "optimizer.dampening");
    assert_eq!(
        with(|c| c.optimizer.weight_decay = -1.0),
        "optimizer.weight_decay"
    );
    assert_eq!(
        with(|c| {
            c.optimizer.momentum = 0.0;
            c.optimizer.nesterov = true;
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
    assert_eq!(with(|c| c.validation.size = 0), "validation.size");
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
        with(|c| c.early_stopping = Some(learner::EarlyStopping { patience: 0 })),
        "early_stopping.patience"
    );
    let message = {
        let mut config = base();
        config.batch_size = 0;
        config.validate().unwrap_err().to_string()
    };
    assert!(message.contains("batch_size"), "{message}");
}

#[test]
fn schedulers_follow_the_schedule() {
    let mut config = TrainingConfig {
        epochs: 2,
        ..TrainingConfig::default()
    };
    config.optimizer.learning_rate = 0.5;
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
fn tasks_and_heads_are_checked_together() {
    use data::Task;
    use model::Head;
    let mut config = TrainingConfig::default();
    config.model.head = Head::Binary;
    assert_eq!(invalid_field(config.clone()), "model.head");
    config.task = Task::Pair {
        positive: 3,
        negative: 8,
    };
    assert!(config.clone().validate().is_ok());
    config.task = Task::AgainstRest { positive: 12 };
    assert_eq!(invalid_field(config), "task");

    let unknown = r#"{"task": {"type": "pairs", "positive": 3, "negative": 8}}"#;
    assert!(TrainingConfig::from_json(unknown).is_err());
}
