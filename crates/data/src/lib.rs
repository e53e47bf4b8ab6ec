//! Labelled image data sets for Burn: finding and reading the files (IDX, image folders,
//! CIFAR), holding the images compactly, the train / validation / test split, the task, and
//! batches of `[batch, channels, height, width]` tensors.
//!
//! ```no_run
//! use data::{DatasetSpec, ImageData, ImageLoader, LoadOptions};
//! use burn::prelude::*;
//!
//! # fn main() -> Result<(), data::DataError> {
//! // MNIST from $MNIST_DIR, else Burn's cache or download; or any folder:
//! // DatasetSpec::folder("photos") (its layout found from what it holds)
//! let data = ImageData::load(&DatasetSpec::mnist(), LoadOptions::default())?;
//! let device = Device::flex();
//! let train = ImageLoader::new(data.train.clone(), 128, &device).shuffled(42);
//! # Ok(())
//! # }
//! ```
//!
//! - [`DatasetSpec`]: the config's `dataset` block (a name such as `"mnist"`, or a block with
//!   the format, path, size, channels, normalisation and augmentation).
//! - [`ImageData`]: the training, validation and test [`ImageSet`]s with the class names, read
//!   from any [`Format`] ([`formats`]); [`Task`]: all classes, a pair, or one class against
//!   the rest.
//! - [`ImageBatcher`], [`ImageBatch`], [`ImageLoader`]: one image tensor and one label tensor
//!   per batch, pixels scaled to `[0, 1]`, normalised and augmented if asked.
//! - [`picture`] and [`digit`] (feature `images`): decoding picture files within limits, and
//!   any picture of a digit as an MNIST-style image.
#![warn(missing_docs)]

mod batcher;
mod data;
#[cfg(feature = "images")]
pub mod digit;
mod error;
mod files;
pub mod formats;
pub use formats::idx;
mod loader;
#[cfg(feature = "images")]
pub mod picture;
mod prefetch;
mod set;
mod source;
mod spec;
mod task;

pub use batcher::{ImageBatch, ImageBatcher};
pub use data::{ImageData, LoadOptions};
pub use error::DataError;
pub use files::{ensure_regular_file, file_kind, read_regular_file};
pub use formats::idx_files::{
    FASHION_MNIST_SYSTEM_DIR, IdxFiles, Known, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES,
    TRAIN_LABELS, burn_cache_root,
};
pub use loader::{EpochTimer, ImageLoader};
pub use set::{ImageItem, ImageSet, ImageShape, Label, SplitConfig, split_validation};
pub use source::DataSource;
pub use spec::{Augment, DatasetSpec, Format, Normalize, block as dataset_block};
pub use task::Task;
