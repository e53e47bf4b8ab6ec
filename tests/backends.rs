//! Every compiled-in backend computes the same training steps and learns MNIST.
//!
//! CI builds all the backends this machine can run into one binary and names them in
//! `CI_BACKENDS` (e.g. `ndarray,flex,wgpu,tch`); these tests then fail if one of them is missing
//! instead of passing on fewer backends.

use burn::data::dataloader::DataLoader;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use data::{ImageData, ImageLoader};
use integration_tests::{load_mnist, mnist_dir, train, workspace_root};
use learner::{BackendKind, Classifier, ProgressMode, TrainOptions, TrainingConfig};
use model::LogisticRegressionConfig;

/// Steps compared between backends.
const STEPS: usize = 20;
/// Largest difference allowed between a backend and flex, for each step's loss and for every
/// weight after the last step: f32 sums taken in another order differ in their last bits, and
/// 20 steps of SGD with momentum keep that far below this bound.
const TOLERANCE: f32 = 1e-4;

/// The compiled-in backends this machine can run (the GPU-only ones are left out).
fn backends() -> Vec<BackendKind> {
    let compiled: Vec<BackendKind> = BackendKind::compiled()
        .into_iter()
        .filter(|kind| !matches!(kind, BackendKind::TchCuda | BackendKind::Cuda))
        .collect();
    if let Ok(required) = std::env::var("CI_BACKENDS") {
        for name in required.split(',').filter(|name| !name.is_empty()) {
            let kind: BackendKind = name.parse().unwrap();
            assert!(
                compiled.contains(&kind),
                "CI_BACKENDS names {name}, which is not compiled in"
            );
        }
    }
    compiled
}

/// Losses of `STEPS` SGD steps from the weights in `weights`, on the first training batches,
/// and the weights and bias after them.
fn run_steps(
    kind: BackendKind,
    weights: &std::path::Path,
    data: &ImageData,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let device = kind.device().unwrap_or_else(|err| panic!("{err}"));
    let autodiff = device.autodiff();
    let model = LogisticRegressionConfig::new()
        .load_weights(weights, &autodiff)
        .unwrap();
    let mut classifier = Classifier::new(model);
    let mut optimizer = SgdConfig::new()
        .with_momentum(Some(
            MomentumConfig::new().with_momentum(0.9).with_dampening(0.0),
        ))
        .init();
    let loader = ImageLoader::new(data.train.clone(), 128, &autodiff);
    let mut losses = Vec::new();
    for batch in loader.iter().take(STEPS) {
        let output = classifier.forward_classification(batch.unwrap());
        losses.push(
            output
                .loss
                .clone()
                .into_data()
                .iter::<f32>()
                .next()
                .unwrap(),
        );
        let grads = GradientsParams::from_grads(output.loss.backward(), &classifier);
        classifier = optimizer.step(ModuleLearningRate::from(0.1), classifier, grads);
    }
    let read = |tensor: Tensor<2>| tensor.into_data().iter::<f32>().collect::<Vec<_>>();
    let model = classifier.model.valid();
    let bias = model.bias().unwrap().unsqueeze::<2>();
    (losses, read(model.weights()), read(bias))
}

/// A model initialised on flex from `seed`, saved in a temporary folder (kept alive by the
/// returned guard).
fn initial_weights(seed: u64) -> (tempfile::TempDir, std::path::PathBuf) {
    let folder = tempfile::tempdir().unwrap();
    let weights = folder.path().join("initial.bpk");
    let device = BackendKind::Flex.device().unwrap();
    device.seed(seed);
    LogisticRegressionConfig::new()
        .init(&device)
        .save_file(&weights)
        .unwrap();
    (folder, weights)
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn every_backend_takes_the_same_sgd_steps() {
    let Some(dir) = mnist_dir("every_backend_takes_the_same_sgd_steps") else {
        return;
    };
    let data = load_mnist(&dir);
    let (_folder, weights) = initial_weights(3);

    let (losses, w, b) = run_steps(BackendKind::Flex, &weights, &data);
    assert!(
        losses[STEPS - 1] < losses[0] * 0.5,
        "the steps should learn: {losses:?}"
    );
    for kind in backends() {
        let (other_losses, other_w, other_b) = run_steps(kind, &weights, &data);
        let loss_gap = max_difference(&losses, &other_losses);
        let weight_gap = max_difference(&w, &other_w).max(max_difference(&b, &other_b));
        eprintln!(
            "{kind}: largest loss difference {loss_gap:e}, largest weight difference {weight_gap:e}"
        );
        assert!(
            loss_gap <= TOLERANCE,
            "{kind}: losses {other_losses:?} vs flex {losses:?}"
        );
        assert!(
            weight_gap <= TOLERANCE,
            "{kind}: weights differ from flex's by {weight_gap}"
        );
    }
}

/// Each backend repeats itself exactly: the same steps from the same weights give bit-identical
/// losses and weights. (Across backends they only agree within `TOLERANCE`.)
#[test]
fn every_backend_repeats_its_steps_bit_for_bit() {
    let Some(dir) = mnist_dir("every_backend_repeats_its_steps_bit_for_bit") else {
        return;
    };
    let data = load_mnist(&dir);
    let (_folder, weights) = initial_weights(5);
    let bits = |values: &[f32]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    for kind in backends() {
        let first = run_steps(kind, &weights, &data);
        let second = run_steps(kind, &weights, &data);
        assert_eq!(bits(&first.0), bits(&second.0), "{kind}: the losses differ");
        assert!(
            bits(&first.1) == bits(&second.1),
            "{kind}: the weights differ"
        );
        assert!(
            bits(&first.2) == bits(&second.2),
            "{kind}: the biases differ"
        );
        eprintln!("{kind}: two runs of {STEPS} steps are bit-identical");
    }
}

#[test]
fn every_backend_reaches_90_percent_within_two_epochs() {
    let Some(dir) = mnist_dir("every_backend_reaches_90_percent_within_two_epochs") else {
        return;
    };
    let data = load_mnist(&dir);
    let mut config =
        TrainingConfig::from_file(&workspace_root().join("configs/default.json")).unwrap();
    config.epochs = 2;
    let config = config.validate().unwrap();
    for kind in backends() {
        let folder = tempfile::tempdir().unwrap();
        let options = TrainOptions {
            artifacts: folder.path().to_path_buf(),
            backend: Some(kind),
            devices: 1,
            resume: false,
            overwrite: false,
            progress: ProgressMode::Plain,
            limit_batches: None,
            max_steps: None,
        };
        let report = train(&config, &data, &options).unwrap_or_else(|err| panic!("{kind}: {err}"));
        let summary = &report.summary;
        eprintln!(
            "{kind}: test accuracy {} in {:.2} s of training",
            summary.test_accuracy, summary.train_seconds
        );
        assert_eq!(summary.backend, kind.name());
        assert!(
            summary.test_accuracy >= 0.90,
            "{kind}: test accuracy {}",
            summary.test_accuracy
        );
    }
}

/// One 2-D convolution setting.
#[derive(Clone, Copy, Debug)]
struct ConvCase {
    stride: [usize; 2],
    /// (begin, end) per spatial dimension.
    padding: [(usize, usize); 2],
    dilation: [usize; 2],
    groups: usize,
    channels_in: usize,
    channels_out: usize,
}

/// The gradients of `sum(conv2d(x, w, b) * g)` with respect to x, w and b on `kind`, from
/// fixed values (no random numbers, so every backend starts from the same ones).
fn convolution_gradients(kind: BackendKind, case: ConvCase) -> [Vec<f32>; 3] {
    let device = kind
        .device()
        .unwrap_or_else(|err| panic!("{err}"))
        .autodiff();
    let values = |count: usize, phase: f32| -> Vec<f32> {
        (0..count)
            .map(|i| (i as f32 * 0.37 + phase).sin())
            .collect()
    };
    let tensor = |shape: [usize; 4], phase: f32| {
        let count = shape.iter().product();
        Tensor::<4>::from_data(TensorData::new(values(count, phase), shape), &device)
    };
    let (channels_in, channels_out) = (case.channels_in, case.channels_out);
    let x = tensor([2, channels_in, 9, 8], 0.1).require_grad();
    let w = tensor([channels_out, channels_in / case.groups, 3, 2], 0.7).require_grad();
    let bias = TensorData::new(values(channels_out, 1.3), [channels_out]);
    let b = Tensor::<1>::from_data(bias, &device).require_grad();
    let options = burn::tensor::ops::ConvOptions::new_with_padding(
        case.stride,
        case.padding,
        case.dilation,
        case.groups,
    );
    let output = burn::tensor::module::conv2d(x.clone(), w.clone(), Some(b.clone()), options);
    let g = tensor(output.dims(), 2.9);
    let grads = (output * g).sum().backward();
    let read = |values: TensorData| values.iter::<f32>().collect::<Vec<_>>();
    [
        read(x.grad(&grads).unwrap().into_data()),
        read(w.grad(&grads).unwrap().into_data()),
        read(b.grad(&grads).unwrap().into_data()),
    ]
}

/// The convolution's gradients agree with flex's on every backend, for the settings a backend's
/// own backward pass must handle (LibTorch's, patches/burn-tch): stride, dilation, groups,
/// symmetric and asymmetric padding.
#[test]
fn every_backend_computes_the_same_convolution_gradients() {
    let case = |stride, padding, dilation, groups, channels_in, channels_out| ConvCase {
        stride,
        padding,
        dilation,
        groups,
        channels_in,
        channels_out,
    };
    let cases = [
        case([1, 1], [(1, 1), (1, 1)], [1, 1], 1, 3, 4),
        case([2, 2], [(0, 0), (0, 0)], [1, 1], 1, 2, 3),
        case([1, 2], [(2, 2), (1, 1)], [2, 1], 2, 4, 6),
        case([1, 1], [(0, 1), (2, 0)], [1, 1], 1, 2, 2),
    ];
    for case in cases {
        let reference = convolution_gradients(BackendKind::Flex, case);
        for kind in backends() {
            let other = convolution_gradients(kind, case);
            let names = ["input", "weight", "bias"];
            for (name, (a, b)) in names.iter().zip(reference.iter().zip(&other)) {
                let scale = a.iter().fold(1.0f32, |m, v| m.max(v.abs()));
                let gap = max_difference(a, b);
                assert!(
                    gap <= 1e-5 * scale,
                    "{kind}, {case:?}: the {name} gradient differs from flex's by {gap} \
                     (largest value {scale})"
                );
            }
        }
        eprintln!("{case:?}: every backend's convolution gradients agree with flex's");
    }
}

/// ReLU's input gradient (LibTorch's own backward on tch, patches/burn-tch) agrees with flex's
/// on every backend: the gradient where the input is positive, 0 where it is negative or 0.
#[test]
fn every_backend_computes_the_same_relu_gradient() {
    let values: Vec<f32> = (0..60).map(|i| ((i % 7) as f32 - 3.0) * 0.5).collect();
    assert!(values.contains(&0.0), "an input of exactly 0 is tried");
    let gradient = |kind: BackendKind| {
        let device = kind
            .device()
            .unwrap_or_else(|err| panic!("{err}"))
            .autodiff();
        let x = Tensor::<2>::from_data(TensorData::new(values.clone(), [6, 10]), &device);
        let x = x.require_grad();
        let g = Tensor::<2>::from_data(TensorData::new(values.clone(), [6, 10]), &device);
        let grads = (burn::tensor::activation::relu(x.clone()) * (g + 5.0))
            .sum()
            .backward();
        let grad = x.grad(&grads).unwrap().into_data();
        grad.iter::<f32>().collect::<Vec<_>>()
    };
    let reference = gradient(BackendKind::Flex);
    let expected: Vec<f32> = values
        .iter()
        .map(|&v| if v > 0.0 { v + 5.0 } else { 0.0 })
        .collect();
    assert_eq!(reference, expected, "flex's ReLU gradient");
    for kind in backends() {
        assert_eq!(gradient(kind), expected, "{kind}'s ReLU gradient");
    }
}

/// One max pooling tried on every backend.
#[derive(Clone, Copy, Debug)]
struct PoolCase {
    /// The input's shape, [batch, channels, height, width].
    shape: [usize; 4],
    kernel: usize,
    stride: usize,
    /// Build the input as [batch, channels, width, height] and swap the last two dimensions, so
    /// that the backend pools a strided view (a copy on backends without views).
    transposed: bool,
    /// Put NaN in some windows (two in one of them) and make one window -inf only.
    extremes: bool,
}

/// The case's input values in logical order: three levels in a scrambled order, so that most
/// windows hold their largest value twice or more, in every pair of places; some -inf; and when
/// asked NaN and a window of -inf only (the first one).
fn pool_input(case: PoolCase) -> Vec<f32> {
    let count: usize = case.shape.iter().product();
    let level = |i: usize| ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) % 3;
    let mut values: Vec<f32> = (0..count).map(|i| level(i) as f32 - 1.0).collect();
    let width = case.shape[3];
    for index in [0, 1, width, 5] {
        values[index] = f32::NEG_INFINITY;
    }
    if case.extremes {
        values[width + 1] = f32::NEG_INFINITY;
        for index in [2, width + 3, 2 * width + 4] {
            values[index] = f32::NAN;
        }
    }
    values
}

/// LibTorch's rule, written plainly: scan each window in row-major order and take a value
/// greater than the best so far, or NaN; the values, the indices (flat within each plane), the
/// input gradient of `sum(pool(x) * g)`, and how many windows hold their largest value twice or
/// more (ties, where the first must win).
fn reference_max_pool(
    case: PoolCase,
    input: &[f32],
    g: &[f32],
) -> (Vec<f32>, Vec<i64>, Vec<f32>, usize) {
    let [batch, channels, height, width] = case.shape;
    let (k, s) = (case.kernel, case.stride);
    let (out_height, out_width) = ((height - k) / s + 1, (width - k) / s + 1);
    let (mut values, mut indices) = (Vec::new(), Vec::new());
    let mut gradient = vec![0.0f32; input.len()];
    let mut ties = 0;
    for plane in 0..batch * channels {
        for oh in 0..out_height {
            for ow in 0..out_width {
                let mut best: Option<(f32, usize)> = None;
                let mut tied = false;
                for kh in 0..k {
                    for kw in 0..k {
                        let at = (oh * s + kh) * width + ow * s + kw;
                        let value = input[plane * height * width + at];
                        if best.is_none_or(|(b, _)| value > b || value.is_nan()) {
                            best = Some((value, at));
                            tied = false;
                        } else if best.is_some_and(|(b, _)| value == b) {
                            tied = true;
                        }
                    }
                }
                let (value, at) = best.unwrap();
                gradient[plane * height * width + at] += g[values.len()];
                values.push(value);
                indices.push(at as i64);
                ties += usize::from(tied);
            }
        }
    }
    (values, indices, gradient, ties)
}

/// `kind`'s max pooling of the case: values without indices, values and indices, and the input
/// gradient of `sum(pool(x) * g)` through autodiff.
fn backend_max_pool(kind: BackendKind, case: PoolCase, g: &[f32]) -> [Vec<f32>; 4] {
    use burn::tensor::module::{max_pool2d, max_pool2d_with_indices};
    let device = kind.device().unwrap_or_else(|err| panic!("{err}"));
    let [batch, channels, height, width] = case.shape;
    let input = pool_input(case);
    let tensor = |device: &Device| {
        if case.transposed {
            let mut swapped = vec![0.0f32; input.len()];
            for plane in 0..batch * channels {
                for row in 0..height {
                    for column in 0..width {
                        swapped[plane * height * width + column * height + row] =
                            input[plane * height * width + row * width + column];
                    }
                }
            }
            let data = TensorData::new(swapped, [batch, channels, width, height]);
            Tensor::<4>::from_data(data, device).swap_dims(2, 3)
        } else {
            Tensor::<4>::from_data(TensorData::new(input.clone(), case.shape), device)
        }
    };
    let options =
        burn::tensor::ops::MaxPoolOptions::new([case.kernel; 2]).with_stride([case.stride; 2]);
    let floats = |t: Tensor<4>| t.into_data().iter::<f32>().collect::<Vec<_>>();
    let values = floats(max_pool2d(tensor(&device), options.clone()));
    let (with_indices, indices) = max_pool2d_with_indices(tensor(&device), options.clone());
    let indices = indices
        .into_data()
        .iter::<i64>()
        .map(|i| i as f32)
        .collect();
    let autodiff = device.autodiff();
    let x = tensor(&autodiff).require_grad();
    let pooled = max_pool2d(x.clone(), options);
    let g = Tensor::<4>::from_data(TensorData::new(g.to_vec(), pooled.dims()), &autodiff);
    let grads = (pooled * g).sum().backward();
    let gradient = floats(x.grad(&grads).unwrap().reshape(case.shape));
    [values, floats(with_indices), indices, gradient]
}

/// Max pooling (LibTorch's 2x2 kernel replaced on tch, patches/burn-tch) gives PyTorch's values,
/// indices and gradient on every backend: ties go to the first value of the window, -inf windows
/// to their first place, odd sides drop their last row and column, strided inputs pool as
/// their values; a larger batch runs on several threads, and a 3x3 pooling the patch leaves to
/// LibTorch. On flex and tch, as in PyTorch, NaN wins (the last one in its window) and a window
/// of -inf only pools to -inf at its first place; that case leaves out ndarray, which skips NaN,
/// and wgpu, which pools such a window to -f32::MAX.
#[test]
fn every_backend_computes_the_same_max_pool() {
    let case = |shape, kernel, stride, transposed, extremes| PoolCase {
        shape,
        kernel,
        stride,
        transposed,
        extremes,
    };
    let cases = [
        case([2, 3, 6, 8], 2, 2, false, false),
        case([1, 2, 7, 9], 2, 2, false, false),
        case([2, 2, 6, 8], 2, 2, true, false),
        case([8, 64, 16, 16], 2, 2, false, false),
        case([1, 2, 7, 9], 3, 2, false, false),
        case([1, 2, 6, 8], 2, 2, false, true),
    ];
    let same = |a: &[f32], b: &[f32]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
    };
    for case in cases {
        let input = pool_input(case);
        let [batch, channels, height, width] = case.shape;
        let side = |length: usize| (length - case.kernel) / case.stride + 1;
        let outputs = batch * channels * side(height) * side(width);
        let g: Vec<f32> = (0..outputs).map(|i| 1.0 + i as f32 * 0.25).collect();
        let (values, indices, gradient, ties) = reference_max_pool(case, &input, &g);
        assert!(
            ties > 0,
            "{case:?}: no window holds its largest value twice"
        );
        let indices: Vec<f32> = indices.iter().map(|&i| i as f32).collect();
        let kinds = backends()
            .into_iter()
            .filter(|kind| !case.extremes || matches!(kind, BackendKind::Flex | BackendKind::Tch));
        for kind in kinds {
            let [plain, with_indices, found, grad] = backend_max_pool(kind, case, &g);
            assert!(same(&plain, &values), "{kind}, {case:?}: values {plain:?}");
            assert!(
                same(&with_indices, &values),
                "{kind}, {case:?}: values {with_indices:?}"
            );
            assert_eq!(found, indices, "{kind}, {case:?}: indices");
            assert_eq!(grad, gradient, "{kind}, {case:?}: input gradient");
        }
    }
}

/// Bernoulli masks, dropout's (drawn in one parallel pass on tch, patches/burn-tch), hold only 0
/// and 1, with the probability asked (within 5 standard deviations over 200,001 values, an odd
/// count), exactly 0 or 1 at the ends; two draws differ, and the same seed draws the same mask
/// again.
#[test]
fn every_backend_draws_bernoulli_masks_with_the_probability_asked() {
    use burn::tensor::Distribution;
    const COUNT: usize = 200_001;
    for kind in backends() {
        let device = kind.device().unwrap_or_else(|err| panic!("{err}"));
        let draw = |p: f64| {
            let mask = Tensor::<1>::random([COUNT], Distribution::Bernoulli(p), &device);
            mask.into_data().iter::<f32>().collect::<Vec<_>>()
        };
        for p in [0.0, 0.1, 0.75, 1.0] {
            let mask = draw(p);
            assert!(
                mask.iter().all(|&v| v == 0.0 || v == 1.0),
                "{kind}: a Bernoulli({p}) mask holds a value other than 0 and 1"
            );
            let ones = mask.iter().filter(|&&v| v == 1.0).count() as f64;
            let (expected, sigma) = (p * COUNT as f64, (COUNT as f64 * p * (1.0 - p)).sqrt());
            assert!(
                (ones - expected).abs() <= 5.0 * sigma,
                "{kind}: {ones} ones in a Bernoulli({p}) mask of {COUNT}, expected {expected}"
            );
            assert_eq!(
                mask[COUNT - 1],
                mask[COUNT - 1].round(),
                "{kind}: last value"
            );
        }
        assert_ne!(draw(0.5), draw(0.5), "{kind}: two draws gave the same mask");
        device.seed(7);
        let first = draw(0.5);
        device.seed(7);
        assert_eq!(first, draw(0.5), "{kind}: the same seed drew another mask");
    }
}

/// What a backend is given comes back bit for bit (its `from_data`, then `into_data`): floats
/// with NaN, infinities, a subnormal and -0, integers, booleans, and an empty tensor. burn-tch is
/// patched to write a new tensor once instead of zeroing it first (`cpu_tensor_of_bytes`).
#[test]
fn every_backend_keeps_the_values_it_is_given() {
    let special = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e-40,
        -0.0,
        f32::MAX,
    ];
    let floats: Vec<f32> = scrambled(104, 5).into_iter().chain(special).collect();
    let ints: Vec<i64> = vec![0, -1, 7, i64::from(i32::MAX), i64::from(i32::MIN), 42];
    let bools = vec![true, false, false, true, true, false];
    let bits = |values: &[f32]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    for kind in backends() {
        let device = kind.device().unwrap_or_else(|err| panic!("{err}"));
        let data = TensorData::new(floats.clone(), [2, 5, 11]);
        let back = Tensor::<3>::from_data(data, &device).into_data();
        assert_eq!(back.shape().as_slice(), [2, 5, 11], "{kind}: float shape");
        let values: Vec<f32> = back.iter::<f32>().collect();
        assert_eq!(bits(&values), bits(&floats), "{kind}: float values");

        let data = TensorData::new(ints.clone(), [3, 2]);
        let back = Tensor::<2, Int>::from_data(data, &device).into_data();
        assert_eq!(
            back.iter::<i64>().collect::<Vec<_>>(),
            ints,
            "{kind}: integers"
        );

        let data = TensorData::new(bools.clone(), [6]);
        let back = Tensor::<1, Bool>::from_data(data, &device).into_data();
        assert_eq!(
            back.iter::<bool>().collect::<Vec<_>>(),
            bools,
            "{kind}: booleans"
        );

        let data = TensorData::new(Vec::<f32>::new(), [0, 4]);
        let empty = Tensor::<2>::from_data(data, &device);
        assert_eq!(empty.dims(), [0, 4], "{kind}: empty shape");
        assert_eq!(empty.into_data().num_elements(), 0, "{kind}: empty values");
    }
}

/// One matrix product tried on every backend: `[m, k] x [k, n]`.
#[derive(Clone, Copy, Debug)]
struct ProductCase {
    m: usize,
    k: usize,
    n: usize,
    /// Build the left matrix as `[k, m]` and transpose it (a strided view, columns contiguous,
    /// as in a linear layer's weight gradient).
    left_transposed: bool,
    /// Build the right matrix as `[n, k]` and transpose it.
    right_transposed: bool,
}

impl ProductCase {
    /// `[m, k] x [k, n]`, the left or right operand transposed as asked.
    fn new(m: usize, k: usize, n: usize, left_transposed: bool, right_transposed: bool) -> Self {
        Self {
            m,
            k,
            n,
            left_transposed,
            right_transposed,
        }
    }
}

/// Values in [-1, 1] in a scrambled order, different for each `salt`.
fn scrambled(count: usize, salt: u64) -> Vec<f32> {
    (0..count as u64)
        .map(|i| {
            let h = (i ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15))
                .wrapping_mul(0xbf58_476d_1ce4_e5b9)
                .rotate_left(29)
                .wrapping_mul(0x94d0_49bb_1331_11eb);
            (h >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// The product on `kind`, and the left matrix's values in `[m, k]` order.
fn backend_product(kind: BackendKind, case: ProductCase, a: &[f32], b: &[f32]) -> Vec<f32> {
    let device = kind.device().unwrap_or_else(|err| panic!("{err}"));
    let ProductCase { m, k, n, .. } = case;
    let left = if case.left_transposed {
        Tensor::<2>::from_data(TensorData::new(a.to_vec(), [k, m]), &device).transpose()
    } else {
        Tensor::<2>::from_data(TensorData::new(a.to_vec(), [m, k]), &device)
    };
    let right = if case.right_transposed {
        Tensor::<2>::from_data(TensorData::new(b.to_vec(), [n, k]), &device).transpose()
    } else {
        Tensor::<2>::from_data(TensorData::new(b.to_vec(), [k, n]), &device)
    };
    left.matmul(right).into_data().iter::<f32>().collect()
}

/// The product of `a` and `b` as `case` stores them, in f64, with each element's sum of the
/// absolute values of its terms (for a tolerance): `[m, n]`, row by row.
fn exact_product(case: ProductCase, a: &[f32], b: &[f32]) -> Vec<(f64, f64)> {
    let ProductCase { m, k, n, .. } = case;
    let left = |i: usize, p: usize| {
        f64::from(if case.left_transposed {
            a[p * m + i]
        } else {
            a[i * k + p]
        })
    };
    let right = |p: usize, j: usize| {
        f64::from(if case.right_transposed {
            b[j * k + p]
        } else {
            b[p * n + j]
        })
    };
    let mut out = Vec::with_capacity(m * n);
    for i in 0..m {
        for j in 0..n {
            let terms = (0..k).map(|p| left(i, p) * right(p, j));
            out.push((terms.clone().sum(), terms.map(f64::abs).sum()));
        }
    }
    out
}

/// Whether an f32 product element is `exact` within f32 rounding of its terms, whose absolute
/// values sum to `scale` (see [`exact_product`]).
fn close_to_exact(got: f32, exact: f64, scale: f64) -> bool {
    (f64::from(got) - exact).abs() <= 1e-5 * scale + 1e-6
}

/// Matrix products with few columns (flex's own loops for at most 16, patches/burn-flex) agree
/// with an f64 product on every backend: one to 17 columns, 1 to 1,000 rows (split over
/// threads), `k` a multiple of 16 or not, the left matrix with its rows or its columns
/// contiguous, the right one transposed; a NaN in a row makes that row NaN.
#[test]
fn every_backend_multiplies_matrices_with_few_columns_alike() {
    let case = ProductCase::new;
    let mut cases = Vec::new();
    for n in [1, 3, 6, 10, 12, 13, 16, 17] {
        cases.push(case(128, 784, n, false, false));
        cases.push(case(784, 128, n, true, false));
    }
    cases.extend([
        case(1, 784, 10, false, false),
        case(5, 17, 10, false, true),
        case(33, 47, 11, false, false),
        case(1000, 784, 10, false, false),
        case(16, 130, 10, true, false),
        case(47, 33, 10, true, true),
        case(50, 200, 15, true, false),
        case(1000, 784, 10, true, false),
    ]);
    for (salt, case) in cases.into_iter().enumerate() {
        let ProductCase { m, k, n, .. } = case;
        let mut a = scrambled(m * k, 2 * salt as u64);
        let b = scrambled(k * n, 2 * salt as u64 + 1);
        let poisoned = m / 2;
        // The left matrix's value at [poisoned, k / 2], in whichever order it is stored.
        let at = if case.left_transposed {
            (k / 2) * m + poisoned
        } else {
            poisoned * k + k / 2
        };
        a[at] = f32::NAN;
        let exact = exact_product(case, &a, &b);
        for kind in backends() {
            let product = backend_product(kind, case, &a, &b);
            assert_eq!(product.len(), m * n, "{kind}, {case:?}");
            for i in 0..m {
                for j in 0..n {
                    let got = product[i * n + j];
                    if i == poisoned {
                        assert!(
                            got.is_nan(),
                            "{kind}, {case:?}: [{i}, {j}] is {got}, not NaN"
                        );
                        continue;
                    }
                    let (exact, scale) = exact[i * n + j];
                    assert!(
                        close_to_exact(got, exact, scale),
                        "{kind}, {case:?}: [{i}, {j}] is {got}, not {exact}"
                    );
                }
            }
        }
    }
}

/// Products of more than 16 columns (`gemm` on flex, which writes its output without zeroing
/// it first, patches/burn-flex) fill every element, on every backend: the memory a product gets
/// was just freed by a tensor of NaN of its size, so an element left unwritten, or read before
/// being written, shows as NaN. Matrix-vector shapes, `k = 0` (all zeros; not on ndarray,
/// whose product divides by `m * k` and panics, burn-ndarray 0.22.1 `ops/matmul.rs`),
/// transposed operands, and sizes split over threads.
#[test]
fn every_backend_writes_every_element_of_a_product() {
    let case = ProductCase::new;
    let cases = [
        case(128, 784, 256, false, false),
        case(784, 128, 256, true, false),
        case(1, 50, 40, false, false),
        case(40, 50, 1, false, false),
        case(30, 0, 20, false, false),
        case(3, 5, 300, false, true),
        case(65, 33, 47, true, true),
    ];
    for (salt, case) in cases.into_iter().enumerate() {
        let ProductCase { m, k, n, .. } = case;
        let a = scrambled(m * k, 2 * salt as u64 + 100);
        let b = scrambled(k * n, 2 * salt as u64 + 101);
        let exact = exact_product(case, &a, &b);
        for kind in backends() {
            if k == 0 && kind == BackendKind::Ndarray {
                continue;
            }
            let device = kind.device().unwrap_or_else(|err| panic!("{err}"));
            for _ in 0..3 {
                drop(Tensor::<2>::full([m, n], f32::NAN, &device).into_data());
            }
            let product = backend_product(kind, case, &a, &b);
            assert_eq!(product.len(), m * n, "{kind}, {case:?}");
            for (index, (&got, &(exact, scale))) in product.iter().zip(&exact).enumerate() {
                assert!(
                    close_to_exact(got, exact, scale),
                    "{kind}, {case:?}: element {index} is {got}, not {exact}"
                );
            }
        }
    }
}

/// Distance in units in the last place between two non-negative floats.
fn ulps(a: f32, b: f32) -> u32 {
    a.to_bits().abs_diff(b.to_bits())
}

/// Whether `got` is `exp(x)` closely enough on `kind`: within 2 units in the last place of the
/// f64 value on the CPU backends (flex's own AVX-512 loop, patches/burn-flex, is within 1);
/// within Vulkan's bound for `exp`, `3 + 2|x|` units, on wgpu.
fn close_to_exp(kind: BackendKind, x: f32, got: f32) -> bool {
    let exact = f64::from(x).exp() as f32;
    if kind == BackendKind::Wgpu {
        let unit = f64::from(exact) * f64::from(f32::EPSILON);
        (f64::from(got) - f64::from(exact)).abs() <= (3.0 + 2.0 * f64::from(x.abs())) * unit
    } else {
        ulps(got, exact) <= 2
    }
}

/// `exp` (sixteen values at a time on flex with AVX-512, patches/burn-flex) agrees with f64's on
/// every backend: values from -87 to 88 in lengths that leave part of a vector, a transposed
/// view, a tensor used again after its `exp` (which must keep its values), and, on the CPU
/// backends, 0, infinities, NaN and overflow as `f32::exp` has them.
#[test]
fn every_backend_computes_exp_alike() {
    for kind in backends() {
        let device = kind.device().unwrap_or_else(|err| panic!("{err}"));
        for len in [1, 15, 16, 17, 1280] {
            let values: Vec<f32> = scrambled(len, len as u64)
                .iter()
                .map(|v| v * 87.5 + 0.5)
                .collect();
            let x = Tensor::<1>::from_data(TensorData::new(values.clone(), [len]), &device);
            let got: Vec<f32> = x.clone().exp().into_data().iter::<f32>().collect();
            let kept: Vec<f32> = x.into_data().iter::<f32>().collect();
            assert_eq!(kept, values, "{kind}: exp changed a tensor still in use");
            for (&x, &y) in values.iter().zip(&got) {
                assert!(
                    close_to_exp(kind, x, y),
                    "{kind}, length {len}: exp({x}) = {y}"
                );
            }
        }
        // A [10, 128] tensor seen as [128, 10]: its values are not in order in memory.
        let values: Vec<f32> = scrambled(1280, 7).iter().map(|v| v * 20.0).collect();
        let x = Tensor::<2>::from_data(TensorData::new(values.clone(), [10, 128]), &device);
        let got: Vec<f32> = x.transpose().exp().into_data().iter::<f32>().collect();
        for i in 0..128 {
            for j in 0..10 {
                let (x, y) = (values[j * 128 + i], got[i * 10 + j]);
                assert!(
                    close_to_exp(kind, x, y),
                    "{kind}, transposed: exp({x}) = {y}"
                );
            }
        }
        if kind == BackendKind::Wgpu {
            continue; // GPU arithmetic need not keep NaN or infinities.
        }
        let special = [
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            89.0,
            1e3,
            -1e3,
        ];
        let x = Tensor::<1>::from_data(TensorData::new(special.to_vec(), [special.len()]), &device);
        let got: Vec<f32> = x.exp().into_data().iter::<f32>().collect();
        for (&x, &y) in special.iter().zip(&got) {
            let want = x.exp();
            assert!(
                y == want || (want.is_nan() && y.is_nan()),
                "{kind}: exp({x}) = {y}, not {want}"
            );
        }
    }
}
