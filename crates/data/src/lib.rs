//! MNIST-compatible IDX datasets for Burn: finding and reading the files, holding out a
//! validation set, and batching.
//!
//! ```no_run
//! use data::{DatasetKind, Mnist, MnistLoader, SplitConfig};
//! use burn::prelude::*;
//!
//! # fn main() -> Result<(), data::DataError> {
//! // --data-dir, else $MNIST_DIR, else Burn's cache or download
//! let mnist = Mnist::load(DatasetKind::Mnist, None, SplitConfig::default())?;
//! let device = Device::flex();
//! let train = MnistLoader::new(mnist.train.clone(), 128, &device).shuffled(42);
//! # Ok(())
//! # }
//! ```
//!
//! - [`idx`]: the IDX reader (raw or gzip), validating every header.
//! - [`locate`], [`IdxFiles`], [`DataSource`]: where the four files are.
//! - [`Mnist`], [`ImageSet`], [`SplitConfig`]: compact `u8` images and the
//!   train / validation / test split; [`Task`]: all classes, a pair, or one class against the
//!   rest.
//! - [`MnistBatcher`], [`MnistBatch`], [`MnistLoader`]: one image tensor and one label tensor
//!   per batch, pixels scaled to `[0, 1]`.
//! - `digit` (feature `images`): any picture of a digit as an MNIST-style image.
#![warn(missing_docs)]

mod batcher;
mod dataset;
#[cfg(feature = "images")]
pub mod digit;
mod error;
pub mod idx;
mod loader;
mod source;
mod task;

pub use batcher::{MnistBatch, MnistBatcher};
pub use dataset::{
    DatasetKind, ImageSet, Mnist, MnistItem, SplitConfig, read_set, split_validation,
};
pub use error::DataError;
pub use loader::{EpochTimer, MnistLoader};
pub use source::{
    DataSource, FASHION_MNIST_SYSTEM_DIR, IdxFiles, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES,
    TRAIN_LABELS, burn_cache_root, ensure_regular_file, locate, read_regular_file,
};
pub use task::Task;
