//! Shapes, predictions, configuration and saved weights of the logistic-regression module.

use burn::config::Config;
use burn::module::Module;
use burn::prelude::*;
use model::{LogisticRegression, LogisticRegressionConfig, ModelConfigError, ModelLoadError};

fn device() -> Device {
    Device::flex()
}

/// The backend's random generator is global: tests that seed it and draw from it take this lock
/// so that tests running in parallel cannot draw in between.
static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A model with random weights, drawn under the lock.
fn init(config: LogisticRegressionConfig) -> LogisticRegression {
    let _guard = rng_lock();
    config.init(&device())
}

fn floats<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().try_into_vec_as::<f32>().unwrap()
}

#[test]
fn defaults_describe_mnist() {
    let config = LogisticRegressionConfig::new();
    assert_eq!(
        (config.input_size, config.num_classes, config.bias),
        (784, 10, true)
    );
    let model = init(config.clone());
    assert_eq!((model.input_size(), model.num_classes()), (784, 10));
    assert_eq!(model.num_params(), 784 * 10 + 10);
    assert_eq!(model.config(), config);
    let no_bias = init(LogisticRegressionConfig::new().with_bias(false));
    assert_eq!(no_bias.num_params(), 7840);
    assert!(no_bias.bias().is_none());
}

#[test]
fn forward_probabilities_and_predict_have_the_right_shapes_and_values() {
    let model = init(LogisticRegressionConfig::new());
    let images = Tensor::<2>::random(
        [5, 784],
        burn::tensor::Distribution::Uniform(0.0, 1.0),
        &device(),
    );
    assert_eq!(model.forward(images.clone()).dims(), [5, 10]);
    let probabilities = model.probabilities(images.clone());
    assert_eq!(probabilities.dims(), [5, 10]);
    for row in floats(probabilities.clone()).chunks(10) {
        let sum: f32 = row.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5, "row sums to {sum}");
        assert!(row.iter().all(|p| (0.0..=1.0).contains(p)));
    }
    let predicted = model
        .predict(images)
        .into_data()
        .try_into_vec_as::<i64>()
        .unwrap();
    let expected: Vec<i64> = floats(probabilities)
        .chunks(10)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold(0, |best, (i, p)| if *p > row[best] { i } else { best }) as i64
        })
        .collect();
    assert_eq!(predicted, expected);
}

#[test]
fn logits_are_x_times_w_plus_b() {
    let model = init(
        LogisticRegressionConfig::new()
            .with_input_size(3)
            .with_num_classes(2),
    );
    let x = Tensor::<2>::from_floats([[1.0, 2.0, 3.0]], &device());
    let w = floats(model.weights());
    let b = floats(model.bias().unwrap().unsqueeze::<2>());
    let logits = floats(model.forward(x));
    for class in 0..2 {
        let expected = w[class] + 2.0 * w[2 + class] + 3.0 * w[4 + class] + b[class];
        assert!((logits[class] - expected).abs() < 1e-6);
    }
}

#[test]
fn initialisation_matches_pytorch_linear_bounds_and_follows_the_seed() {
    let device = device();
    let draw = || {
        let _guard = rng_lock();
        device.seed(7);
        floats(LogisticRegressionConfig::new().init(&device).weights())
    };
    let (a, b) = (draw(), draw());
    assert_eq!(a, b, "the same seed gives the same weights");
    let bound = 1.0 / 784f32.sqrt();
    assert!(a.iter().all(|w| w.abs() <= bound));
    let max = a.iter().fold(0f32, |m, w| m.max(w.abs()));
    assert!(
        max > 0.9 * bound,
        "weights should fill [-1/sqrt(784), 1/sqrt(784)]"
    );
}

#[test]
fn invalid_sizes_are_rejected() {
    assert_eq!(
        LogisticRegressionConfig::new()
            .with_input_size(0)
            .validate(),
        Err(ModelConfigError::NoInputs)
    );
    assert_eq!(
        LogisticRegressionConfig::new()
            .with_num_classes(1)
            .validate(),
        Err(ModelConfigError::TooFewClasses(1))
    );
    assert!(LogisticRegressionConfig::new().validate().is_ok());
}

#[test]
fn config_round_trips_through_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.json");
    let config = LogisticRegressionConfig::new()
        .with_input_size(100)
        .with_bias(false);
    config.save(&path).unwrap();
    assert_eq!(LogisticRegressionConfig::load(&path).unwrap(), config);
}

#[test]
fn weights_round_trip_through_a_burnpack_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.bpk");
    let config = LogisticRegressionConfig::new();
    let model = init(config.clone());
    model.clone().save_file(&path).unwrap();
    let loaded: LogisticRegression = config.load_weights(&path, &device()).unwrap();
    assert_eq!(floats(loaded.weights()), floats(model.weights()));

    let missing = config
        .load_weights(dir.path().join("absent.bpk"), &device())
        .unwrap_err();
    assert!(
        matches!(missing, ModelLoadError::Missing { .. }),
        "{missing:?}"
    );
    let wrong_shape = LogisticRegressionConfig::new()
        .with_num_classes(3)
        .load_weights(&path, &device())
        .unwrap_err();
    assert!(
        matches!(wrong_shape, ModelLoadError::Invalid { .. }),
        "{wrong_shape:?}"
    );
    std::fs::write(dir.path().join("garbage.bpk"), b"not a burnpack").unwrap();
    let garbage = config
        .load_weights(dir.path().join("garbage.bpk"), &device())
        .unwrap_err();
    assert!(
        matches!(garbage, ModelLoadError::Invalid { .. }),
        "{garbage:?}"
    );
}
