//! `cnn`: a small convolutional network trained through the learner's public API, on any
//! labelled image data: IDX files (MNIST, Fashion-MNIST), CIFAR-10 / CIFAR-100 binary files,
//! or a folder of pictures per class.
//!
//! The network is the model zoo's [`model::Cnn`] (blocks of a 3x3 convolution, ReLU and 2x2
//! max pooling, then a hidden layer and dropout), sized by the data: grey or colour, any image
//! size, any number of classes. Its runs are zoo runs: `trainer eval`, `trainer predict` and
//! the draw page open them too.
//!
//! ```text
//! cargo run --release -p cnn -- --data-dir ../shared/datasets/mnist
//! cargo run --release -p cnn -- --data-dir cifar-10-batches-bin/ --artifacts artifacts/cifar
//! ```

use std::process::ExitCode;

use model::CnnConfig;

/// The training settings that reach 99 % on MNIST here (docs/training.md).
const TRAINING: &str = include_str!("../../../configs/cnn.json");

fn main() -> ExitCode {
    let network = CnnConfig::default();
    learner::cli::App::new(move |device: &_, shape: &_| network.init(device, shape))
        .with_default_config(TRAINING)
        .main()
}
