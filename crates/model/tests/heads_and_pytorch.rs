//! The three heads (softmax, one-vs-rest, binary) and the safetensors exchange with PyTorch.

use burn::prelude::*;
use model::{Head, LogisticRegression, LogisticRegressionConfig, ModelConfigError, ModelLoadError};

static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn init(config: &LogisticRegressionConfig) -> LogisticRegression {
    let _guard = RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    config.init(&Device::flex())
}

fn floats<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().try_into_vec_as::<f32>().unwrap()
}

fn ints(tensor: Tensor<1, Int>) -> Vec<i64> {
    tensor.into_data().try_into_vec_as::<i64>().unwrap()
}

fn images(rows: usize) -> Tensor<2> {
    let values: Vec<f32> = (0..rows * 784)
        .map(|i| ((i * 37) % 256) as f32 / 255.0)
        .collect();
    Tensor::from_data(TensorData::new(values, [rows, 784]), &Device::flex())
}

#[test]
fn binary_head_has_one_output_and_thresholds_at_one_half() {
    let config = LogisticRegressionConfig::new()
        .with_num_classes(2)
        .with_head(Head::Binary);
    config.validate().unwrap();
    let model = init(&config);
    assert_eq!(model.weights().dims(), [784, 1]);
    assert_eq!(model.num_classes(), 2);
    assert_eq!(model.config(), config);

    let x = images(6);
    let z = floats(model.forward(x.clone()));
    let p = floats(model.probabilities(x.clone()));
    let predicted = ints(model.predict(x));
    for (i, z) in z.iter().enumerate() {
        let sigmoid = 1.0 / (1.0 + (-z).exp());
        assert!((p[2 * i + 1] - sigmoid).abs() < 1e-6);
        assert!((p[2 * i] + p[2 * i + 1] - 1.0).abs() < 1e-6);
        assert_eq!(predicted[i], i64::from(sigmoid > 0.5));
    }
}

#[test]
fn binary_needs_two_classes() {
    let config = LogisticRegressionConfig::new().with_head(Head::Binary);
    assert_eq!(
        config.validate(),
        Err(ModelConfigError::BinaryNeedsTwoClasses(10))
    );
}

#[test]
fn losses_match_their_definitions() {
    let device = Device::flex();
    let logits_values = vec![0.5f32, -1.0, 2.0, 0.0, 1.5, -0.5];
    let logits = Tensor::<2>::from_data(TensorData::new(logits_values.clone(), [2, 3]), &device);
    let targets = Tensor::<1, Int>::from_data(TensorData::new(vec![2i64, 0], [2]), &device);
    let softplus = |x: f32| (1.0 + x.exp()).ln();

    // One-vs-rest: mean over all 6 (image, head) pairs of BCE against the one-hot labels.
    let ovr = init(
        &LogisticRegressionConfig::new()
            .with_num_classes(3)
            .with_head(Head::OneVsRest),
    );
    let one_hot = [0.0f32, 0.0, 1.0, 1.0, 0.0, 0.0];
    let expected: f32 = logits_values
        .iter()
        .zip(one_hot)
        .map(|(&z, y)| if y == 1.0 { softplus(-z) } else { softplus(z) })
        .sum::<f32>()
        / 6.0;
    let got = floats(ovr.loss(logits.clone(), targets.clone()))[0];
    assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");

    // Softmax: cross-entropy.
    let softmax = init(&LogisticRegressionConfig::new().with_num_classes(3));
    let ce = |row: &[f32], target: usize| {
        let log_sum: f32 = row.iter().map(|v| v.exp()).sum::<f32>().ln();
        log_sum - row[target]
    };
    let expected = (ce(&logits_values[0..3], 2) + ce(&logits_values[3..6], 0)) / 2.0;
    let got = floats(softmax.loss(logits, targets))[0];
    assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");

    // Binary: BCE of the single logit.
    let binary = init(
        &LogisticRegressionConfig::new()
            .with_num_classes(2)
            .with_head(Head::Binary),
    );
    let z = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, -2.0], [2, 1]), &device);
    let y = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 1], [2]), &device);
    let expected = (softplus(-1.0) + softplus(2.0)) / 2.0;
    let got = floats(binary.loss(z, y))[0];
    assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
}

/// The safetensors file, read byte by byte as the format specifies: an 8-byte little-endian
/// header length, a JSON header of `{name: {dtype, shape, data_offsets}}`, then the data.
#[test]
fn pytorch_safetensors_hold_nn_linear_weight_and_bias_in_pytorch_layout() {
    let model = init(&LogisticRegressionConfig::new());
    let bytes = model.to_pytorch_safetensors().unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    let data = &bytes[8 + header_len..];
    let tensors: Vec<&String> = header
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "__metadata__")
        .collect();
    assert_eq!(tensors.len(), 2, "{header}");
    assert_eq!(header["weight"]["dtype"], "F32");
    assert_eq!(header["weight"]["shape"], serde_json::json!([10, 784]));
    assert_eq!(header["bias"]["dtype"], "F32");
    assert_eq!(header["bias"]["shape"], serde_json::json!([10]));

    let read = |name: &str| -> Vec<f32> {
        let offsets = header[name]["data_offsets"].as_array().unwrap();
        let (start, end) = (
            offsets[0].as_u64().unwrap() as usize,
            offsets[1].as_u64().unwrap() as usize,
        );
        data[start..end]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    };
    // PyTorch's weight is [out, in]: row c is our column c.
    let ours = floats(model.weights()); // [784, 10], row-major
    let theirs = read("weight"); // [10, 784], row-major
    for class in 0..10 {
        for pixel in 0..784 {
            assert_eq!(theirs[class * 784 + pixel], ours[pixel * 10 + class]);
        }
    }
    assert_eq!(read("bias"), floats(model.bias().unwrap()));
}

#[test]
fn safetensors_round_trip_and_wrong_shapes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("linear.safetensors");
    let config = LogisticRegressionConfig::new();
    let model = init(&config);
    model.save_pytorch_safetensors(&path).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");

    let loaded = config
        .load_pytorch_safetensors(&path, &Device::flex())
        .unwrap();
    assert_eq!(floats(loaded.weights()), floats(model.weights()));
    assert_eq!(
        floats(loaded.bias().unwrap()),
        floats(model.bias().unwrap())
    );

    // A 5-class file does not fit a 10-class model.
    let small = init(&LogisticRegressionConfig::new().with_num_classes(5));
    small.save_pytorch_safetensors(&path).unwrap();
    let err = config
        .load_pytorch_safetensors(&path, &Device::flex())
        .unwrap_err();
    assert!(matches!(err, ModelLoadError::Invalid { .. }), "{err}");

    // Not a safetensors file at all.
    std::fs::write(&path, b"definitely not safetensors").unwrap();
    let err = config
        .load_pytorch_safetensors(&path, &Device::flex())
        .unwrap_err();
    assert!(err.to_string().contains("linear.safetensors"), "{err}");

    let missing =
        config.load_pytorch_safetensors(dir.path().join("nope.safetensors"), &Device::flex());
    assert!(matches!(missing, Err(ModelLoadError::Missing { .. })));
}

/// A safetensors file of `(name, dtype, shape, little-endian bytes)` tensors, as the format
/// lays it out (what `safetensors.torch.save_file` writes).
fn safetensors_file(tensors: &[(&str, &str, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, dtype, shape, bytes) in tensors {
        header.insert(
            name.to_string(),
            serde_json::json!({
                "dtype": dtype,
                "shape": shape,
                "data_offsets": [data.len(), data.len() + bytes.len()],
            }),
        );
        data.extend_from_slice(bytes);
    }
    let mut header = serde_json::to_vec(&header).unwrap();
    while !header.len().is_multiple_of(8) {
        header.push(b' ');
    }
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend(header);
    file.extend(data);
    file
}

/// A trained-looking nn.Linear(784, 10) in PyTorch's layout: weight [10, 784] and bias [10].
fn pytorch_weights() -> (Vec<f32>, Vec<f32>) {
    let weight = (0..7840)
        .map(|i| ((i % 97) as f32 - 48.0) / 500.0)
        .collect();
    let bias = (0..10).map(|i| i as f32 / 10.0 - 0.5).collect();
    (weight, bias)
}

fn load(bytes: Vec<u8>) -> Result<LogisticRegression, ModelLoadError> {
    LogisticRegressionConfig::new().load_pytorch_safetensors_bytes(
        bytes,
        "test.safetensors",
        &Device::flex(),
    )
}

/// `linear.half().state_dict()` and friends: every float precision becomes the model's F32.
#[test]
fn half_bfloat_and_double_weights_are_converted_to_f32() {
    let (weight, bias) = pytorch_weights();
    let f32_model = load(safetensors_file(&[
        (
            "weight",
            "F32",
            vec![10, 784],
            weight.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ),
        (
            "bias",
            "F32",
            vec![10],
            bias.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ),
    ]))
    .unwrap();
    type Encode = fn(f32) -> Vec<u8>;
    let encodings: [(&str, Encode, f32); 3] = [
        (
            "F16",
            |v| half::f16::from_f32(v).to_le_bytes().to_vec(),
            1e-3,
        ),
        (
            "BF16",
            |v| half::bf16::from_f32(v).to_le_bytes().to_vec(),
            1e-2,
        ),
        ("F64", |v| f64::from(v).to_le_bytes().to_vec(), 0.0),
    ];
    for (dtype, encode, tolerance) in encodings {
        let model = load(safetensors_file(&[
            (
                "weight",
                dtype,
                vec![10, 784],
                weight.iter().flat_map(|&v| encode(v)).collect(),
            ),
            (
                "bias",
                dtype,
                vec![10],
                bias.iter().flat_map(|&v| encode(v)).collect(),
            ),
        ]))
        .unwrap_or_else(|err| panic!("{dtype}: {err}"));
        assert_eq!(model.weights().dtype(), burn::tensor::DType::F32, "{dtype}");
        let (ours, exact) = (floats(model.weights()), floats(f32_model.weights()));
        let worst = ours
            .iter()
            .zip(&exact)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst <= tolerance, "{dtype}: off by {worst}");
        // The model computes in F32 (a mixed-precision matmul panicked in burn-flex).
        let probabilities = floats(model.probabilities(images(2)));
        assert!(probabilities.iter().all(|p| p.is_finite()), "{dtype}");
        // And what it saves is F32, what the loaders read.
        let bytes = model.to_pytorch_safetensors().unwrap();
        assert_eq!(
            load(bytes).unwrap().weights().dtype(),
            burn::tensor::DType::F32
        );
    }
}

#[test]
fn weights_that_are_not_finite_floats_are_refused_by_name() {
    let (mut weight, bias) = pytorch_weights();
    let le = |values: &[f32]| {
        values
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>()
    };
    weight[5] = f32::NAN;
    weight[9] = f32::INFINITY;
    let err = load(safetensors_file(&[
        ("weight", "F32", vec![10, 784], le(&weight)),
        ("bias", "F32", vec![10], le(&bias)),
    ]))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("tensor `weight` holds 2 values that are not finite")
            && err.contains("index 5"),
        "{err}"
    );
    // Integers are no weights.
    let ints: Vec<u8> = (0..7840i64).flat_map(|v| v.to_le_bytes()).collect();
    let err = load(safetensors_file(&[
        ("weight", "I64", vec![10, 784], ints),
        ("bias", "F32", vec![10], le(&bias)),
    ]))
    .unwrap_err()
    .to_string();
    assert!(err.contains("weight"), "{err}");
}

#[test]
fn a_missing_or_extra_tensor_is_named_in_our_words() {
    let (weight, bias) = pytorch_weights();
    let le = |values: &[f32]| {
        values
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>()
    };
    let err = load(safetensors_file(&[(
        "weight",
        "F32",
        vec![10, 784],
        le(&weight),
    )]))
    .unwrap_err()
    .to_string();
    assert!(err.contains("missing: [\"bias\"]"), "{err}");
    assert!(
        !err.contains("allow_partial"),
        "no burn-store API hint: {err}"
    );
    let err = load(safetensors_file(&[
        ("weight", "F32", vec![10, 784], le(&weight)),
        ("bias", "F32", vec![10], le(&bias)),
        ("extra", "F32", vec![1], le(&[1.0])),
    ]))
    .unwrap_err()
    .to_string();
    assert!(err.contains("unexpected: [\"extra\"]"), "{err}");
}

#[test]
fn a_folder_as_the_weights_file_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let err = LogisticRegressionConfig::new()
        .load_pytorch_safetensors(dir.path(), &Device::flex())
        .unwrap_err();
    assert!(matches!(err, ModelLoadError::NotAFile { .. }), "{err:?}");
    assert!(err.to_string().contains("is a folder"), "{err}");
    let err = LogisticRegressionConfig::new()
        .load_weights(dir.path(), &Device::flex())
        .unwrap_err();
    assert!(err.to_string().contains("is a folder"), "{err}");
}
