//! Labelled images held compactly in memory, and the train / validation split.

use std::fmt;
use std::sync::Arc;

use burn::data::dataset::{Dataset, DatasetError};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::DataError;

/// The shape of one image: channels (1 grey, 3 RGB), height and width in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImageShape {
    /// Colour channels: 1 (grey) or 3 (red, green, blue).
    pub channels: usize,
    /// Pixel rows.
    pub height: usize,
    /// Pixel columns.
    pub width: usize,
}

impl ImageShape {
    /// A shape of `channels` x `height` x `width`.
    pub fn new(channels: usize, height: usize, width: usize) -> Self {
        Self {
            channels,
            height,
            width,
        }
    }

    /// Values per image: `channels * height * width`.
    pub fn size(&self) -> usize {
        self.channels * self.height * self.width
    }
}

impl fmt::Display for ImageShape {
    /// `28x28 grey`, `32x32 RGB`, `64x64x5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.channels {
            1 => write!(f, "{}x{} grey", self.height, self.width),
            3 => write!(f, "{}x{} RGB", self.height, self.width),
            channels => write!(f, "{}x{}x{channels}", self.height, self.width),
        }
    }
}

/// A class label: the index of a class in the data's class names.
pub type Label = u16;

/// Labelled images kept compactly in memory: one contiguous `u8` buffer of pixels, image after
/// image, each `[channels, height, width]` (channel planes one after the other, rows within a
/// plane), and one label per image; shared (cheap to clone) between data loaders.
///
/// The buffers are `Arc<Vec<_>>` rather than `Arc<[_]>`: turning a `Vec` into an `Arc<[_]>`
/// copies it into a new allocation, which would double the peak memory of loading a set.
#[derive(Clone, PartialEq, Eq)]
pub struct ImageSet {
    shape: ImageShape,
    pixels: Arc<Vec<u8>>,
    labels: Arc<Vec<Label>>,
}

impl fmt::Debug for ImageSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImageSet")
            .field("len", &self.len())
            .field("shape", &self.shape)
            .finish()
    }
}

/// One labelled image, as [`ImageSet`]'s Burn [`Dataset`] implementation yields it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageItem {
    /// Pixels, `[channels, height, width]`, 0 to 255.
    pub image: Vec<u8>,
    /// The image's shape.
    pub shape: ImageShape,
    /// Class index.
    pub label: Label,
}

impl ImageSet {
    /// Builds a set from images of `shape` stored back to back in `pixels`, one label each.
    pub fn new(shape: ImageShape, pixels: Vec<u8>, labels: Vec<Label>) -> Result<Self, DataError> {
        let image_size = shape.size();
        let expected = labels.len().checked_mul(image_size);
        if image_size == 0 || expected != Some(pixels.len()) {
            return Err(DataError::BadBuffers {
                images: labels.len(),
                image_size,
                expected: expected.unwrap_or(usize::MAX),
                found: pixels.len(),
                labels: labels.len(),
            });
        }
        Ok(Self {
            shape,
            pixels: Arc::new(pixels),
            labels: Arc::new(labels),
        })
    }

    /// Grey images of `rows x cols` (MNIST's layout).
    pub fn grey(
        rows: usize,
        cols: usize,
        pixels: Vec<u8>,
        labels: Vec<Label>,
    ) -> Result<Self, DataError> {
        Self::new(ImageShape::new(1, rows, cols), pixels, labels)
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The shape of every image.
    pub fn shape(&self) -> ImageShape {
        self.shape
    }

    /// Values per image (`channels * height * width`).
    pub fn image_size(&self) -> usize {
        self.shape.size()
    }

    /// The pixels of image `index`, `[channels, height, width]`.
    ///
    /// # Panics
    ///
    /// If `index >= len()`.
    pub fn image(&self, index: usize) -> &[u8] {
        let size = self.image_size();
        &self.pixels[index * size..(index + 1) * size]
    }

    /// The label of image `index`.
    ///
    /// # Panics
    ///
    /// If `index >= len()`.
    pub fn label(&self, index: usize) -> Label {
        self.labels[index]
    }

    /// All labels.
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    /// All pixels, image after image.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The same images with other labels (one per image).
    ///
    /// # Panics
    ///
    /// If `labels` does not hold one label per image.
    pub fn with_labels(&self, labels: Vec<Label>) -> ImageSet {
        assert_eq!(labels.len(), self.len(), "one label per image");
        Self {
            labels: Arc::new(labels),
            ..self.clone()
        }
    }

    /// The images at `indices` (ascending), in place when this set's buffers are not shared
    /// with another set: no second buffer, so that splitting a large set off its validation
    /// images does not hold it twice. A shared set is copied, as [`ImageSet::select`] does.
    ///
    /// # Panics
    ///
    /// If an index is out of range.
    pub fn retain(self, indices: &[usize]) -> Result<ImageSet, DataError> {
        let ascending = indices.windows(2).all(|pair| pair[0] < pair[1]);
        let in_range = indices.last().is_none_or(|&last| last < self.len());
        let (shape, size) = (self.shape, self.image_size());
        match (Arc::try_unwrap(self.pixels), Arc::try_unwrap(self.labels)) {
            (Ok(mut pixels), Ok(mut labels)) if ascending && in_range => {
                // `from >= to` for ascending indices: each image moves down, never over one
                // still to be moved.
                for (to, &from) in indices.iter().enumerate() {
                    if to != from {
                        pixels.copy_within(from * size..(from + 1) * size, to * size);
                        labels[to] = labels[from];
                    }
                }
                pixels.truncate(indices.len() * size);
                labels.truncate(indices.len());
                pixels.shrink_to_fit();
                labels.shrink_to_fit();
                Ok(Self {
                    shape,
                    pixels: Arc::new(pixels),
                    labels: Arc::new(labels),
                })
            }
            (pixels, labels) => Self {
                shape,
                pixels: pixels.map_or_else(|shared| shared, Arc::new),
                labels: labels.map_or_else(|shared| shared, Arc::new),
            }
            .select(indices),
        }
    }

    /// A new set holding copies of the images at `indices`, in that order; an error naming the
    /// size when the memory for it cannot be had.
    ///
    /// # Panics
    ///
    /// If an index is out of range.
    pub fn select(&self, indices: &[usize]) -> Result<ImageSet, DataError> {
        let bytes = indices.len() * self.image_size();
        let out_of_memory = |_| DataError::OutOfMemory {
            what: format!(
                "a copy of {} images of {} (splitting off the validation set, or a task's \
                 classes)",
                indices.len(),
                self.shape
            ),
            bytes: bytes as u64 + 2 * indices.len() as u64,
        };
        let mut pixels = Vec::new();
        pixels.try_reserve_exact(bytes).map_err(out_of_memory)?;
        let mut labels = Vec::new();
        labels
            .try_reserve_exact(indices.len())
            .map_err(out_of_memory)?;
        for &index in indices {
            pixels.extend_from_slice(self.image(index));
            labels.push(self.label(index));
        }
        Ok(Self {
            shape: self.shape,
            pixels: Arc::new(pixels),
            labels: Arc::new(labels),
        })
    }

    /// How many images each class has, for `num_classes` classes.
    pub fn class_counts(&self, num_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; num_classes];
        for &label in self.labels.iter() {
            if let Some(count) = counts.get_mut(usize::from(label)) {
                *count += 1;
            }
        }
        counts
    }
}

impl Dataset<ImageItem> for ImageSet {
    fn get(&self, index: usize) -> Result<ImageItem, DatasetError> {
        if index >= self.len() {
            return Err(DatasetError::new(DataError::IndexOutOfBounds {
                index,
                len: self.len(),
            }));
        }
        Ok(ImageItem {
            image: self.image(index).to_vec(),
            shape: self.shape,
            label: self.label(index),
        })
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}

/// How the validation set is held out of the training images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SplitConfig {
    /// Number of training images held out for validation; `None` (the default): one sixth of
    /// them, at most 10,000 (MNIST's 60,000 give the usual 10,000).
    pub size: Option<usize>,
    /// `None`: the validation set is the last `size` training images (for an image folder,
    /// read class by class, a random subset drawn with seed 0). `Some(seed)`: a random subset,
    /// drawn reproducibly from the seed.
    pub seed: Option<u64>,
}

impl SplitConfig {
    /// The last `size` training images.
    pub fn last(size: usize) -> Self {
        Self {
            size: Some(size),
            seed: None,
        }
    }

    /// Images held out of `available` training images.
    pub fn size_for(&self, available: usize) -> usize {
        self.size.unwrap_or((available / 6).clamp(1, 10_000))
    }
}

/// Splits `all` into (training, validation) as `split` says.
pub fn split_validation(
    all: ImageSet,
    split: SplitConfig,
) -> Result<(ImageSet, ImageSet), DataError> {
    let available = all.len();
    let size = split.size_for(available);
    if size == 0 || size >= available {
        return Err(DataError::BadSplit {
            requested: size,
            available,
        });
    }
    let mut order: Vec<usize> = (0..available).collect();
    if let Some(seed) = split.seed {
        order.shuffle(&mut StdRng::seed_from_u64(seed));
    }
    let (train, validation) = order.split_at(available - size);
    let mut train = train.to_vec();
    let mut validation = validation.to_vec();
    // Keep the original file order inside each part.
    train.sort_unstable();
    validation.sort_unstable();
    let validation = all.select(&validation)?;
    Ok((all.retain(&train)?, validation))
}
