//! Times a logistic regression's training step on flex, piece by piece, outside the learner:
//! the forward product `[128, 784] x [784, 10]` (and an evaluation batch's, `[1000, 784]`), the
//! weight gradient's `[784, 128] x [128, 10]`,
//! forward and cross-entropy, then with the backward pass, then with an SGD step (momentum 0.9,
//! weight decay 1e-5, as `configs/default.json`). Means over 2,000 repetitions, after 200 to
//! warm up. It allocates through mimalloc as the trainer does (run it with mimalloc's purge
//! delay at -1, the trainer's setting): with glibc's allocator the tensors were 16-byte aligned
//! rather than 64, the forward product's 64-byte loads were split across cache lines, and it
//! took 35-39 µs instead of 27. docs/benchmarks.md ("Matrix products with few columns on flex")
//! quotes it:
//!
//! ```sh
//! MIMALLOC_PURGE_DELAY=-1 cargo run --release -p trainer --example step_probe
//! ```

use std::io::Write;
use std::time::Instant;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use burn::tensor::Distribution;

/// The trainer's allocator (`src/allocator.rs`), so that tensors are aligned as in training.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The logistic regression's layer.
#[derive(Module, Debug)]
struct Probe {
    linear: Linear,
}

/// Repetitions timed.
const REPEATS: usize = 2000;

/// Runs `step` 200 times, then `REPEATS` times timed, and prints its mean in µs.
fn time(name: &str, mut step: impl FnMut()) {
    (0..200).for_each(|_| step());
    let start = Instant::now();
    (0..REPEATS).for_each(|_| step());
    let micros = start.elapsed().as_secs_f64() * 1e6 / REPEATS as f64;
    if writeln!(std::io::stdout(), "{name:<48} {micros:>8.1} µs").is_err() {
        // Standard output closed (`| head -1`): the reader has gone, so stop without a panic.
        std::process::exit(0);
    }
}

fn main() {
    learner::compute_on_this_thread();
    let device = Device::flex();
    device.seed(1);
    let uniform = Distribution::Uniform(0.0, 1.0);
    let images = Tensor::<2>::random([128, 784], uniform, &device);
    let weight = Tensor::<2>::random([784, 10], uniform, &device);
    let output_grad = Tensor::<2>::random([128, 10], uniform, &device);
    time("product [128, 784] x [784, 10]", || {
        let _ = images.clone().matmul(weight.clone()).into_data();
    });
    let eval_images = Tensor::<2>::random([1000, 784], uniform, &device);
    time("product [1000, 784] x [784, 10] (evaluation)", || {
        let _ = eval_images.clone().matmul(weight.clone()).into_data();
    });
    time("product [784, 128] (transposed) x [128, 10]", || {
        let _ = images
            .clone()
            .transpose()
            .matmul(output_grad.clone())
            .into_data();
    });

    let autodiff = device.clone().autodiff();
    let mut model = Probe {
        linear: LinearConfig::new(784, 10).init(&autodiff),
    };
    let loss = CrossEntropyLossConfig::new().init(&autodiff);
    let x = Tensor::<2>::from_data(images.to_data(), &autodiff);
    let labels: Vec<i64> = (0..128).map(|i| i % 10).collect();
    let targets = Tensor::<1, Int>::from_data(TensorData::new(labels, [128]), &autodiff);
    let forward = |model: &Probe| loss.forward(model.linear.forward(x.clone()), targets.clone());
    time("forward and cross-entropy (autodiff)", || {
        let _ = forward(&model).into_data();
    });
    time("... and the backward pass", || {
        let _ = GradientsParams::from_grads(forward(&model).backward(), &model);
    });
    let mut sgd = SgdConfig::new()
        .with_momentum(Some(MomentumConfig::new().with_momentum(0.9)))
        .with_weight_decay(Some(WeightDecayConfig::new(1e-5)))
        .init();
    let mut step = || {
        let grads = GradientsParams::from_grads(forward(&model).backward(), &model);
        model = sgd.step(0.1, model.clone(), grads);
    };
    time("... and an SGD step", &mut step);
}
