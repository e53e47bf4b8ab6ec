//! In-memory image sets and the train / validation / test split.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use burn::data::dataset::{Dataset, DatasetError};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::idx::{read_images, read_labels};
use crate::source::{DataSource, IdxFiles, locate};
use crate::{DataError, Task};

/// The MNIST-compatible datasets this crate knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// Handwritten digits 0 to 9 (LeCun et al.).
    #[default]
    Mnist,
    /// Zalando's Fashion-MNIST: ten kinds of clothing in MNIST's format.
    FashionMnist,
}

impl DatasetKind {
    /// The name used in configs and summaries (`mnist`, `fashion-mnist`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Mnist => "mnist",
            Self::FashionMnist => "fashion-mnist",
        }
    }

    /// The environment variable that may name the data folder.
    pub fn env_var(self) -> &'static str {
        match self {
            Self::Mnist => "MNIST_DIR",
            Self::FashionMnist => "FASHION_MNIST_DIR",
        }
    }

    /// Human-readable names of the classes, indexed by label.
    pub fn class_names(self) -> [&'static str; 10] {
        match self {
            Self::Mnist => ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            Self::FashionMnist => [
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ],
        }
    }

    /// Number of classes (10 for both datasets).
    pub fn num_classes(self) -> usize {
        self.class_names().len()
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for DatasetKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "mnist" => Ok(Self::Mnist),
            "fashion-mnist" => Ok(Self::FashionMnist),
            other => Err(format!(
                "unknown dataset `{other}`: expected `mnist` or `fashion-mnist`"
            )),
        }
    }
}

/// Labelled images kept compactly in memory: one contiguous `u8` buffer of pixels and one of
/// labels, shared (cheap to clone) between data loaders.
///
/// The buffers are `Arc<Vec<u8>>` rather than `Arc<[u8]>`: turning a `Vec` into an `Arc<[u8]>`
/// copies it into a new allocation, which would double the peak memory of loading MNIST.
#[derive(Clone, PartialEq, Eq)]
pub struct ImageSet {
    rows: usize,
    cols: usize,
    pixels: Arc<Vec<u8>>,
    labels: Arc<Vec<u8>>,
}

impl fmt::Debug for ImageSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImageSet")
            .field("len", &self.len())
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .finish()
    }
}

/// One labelled image, as [`ImageSet`]'s Burn [`Dataset`] implementation yields it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnistItem {
    /// Pixels, row by row, 0 (background) to 255.
    pub image: Vec<u8>,
    /// Class index.
    pub label: u8,
}

impl ImageSet {
    /// Builds a set from `rows x cols` images stored back to back in `pixels`, one label each.
    pub fn new(
        rows: usize,
        cols: usize,
        pixels: Vec<u8>,
        labels: Vec<u8>,
    ) -> Result<Self, DataError> {
        let image_size = rows * cols;
        let expected = labels.len() * image_size;
        if image_size == 0 || pixels.len() != expected {
            return Err(DataError::BadBuffers {
                images: labels.len(),
                image_size,
                expected,
                found: pixels.len(),
                labels: labels.len(),
            });
        }
        Ok(Self {
            rows,
            cols,
            pixels: Arc::new(pixels),
            labels: Arc::new(labels),
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixel rows per image.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Pixel columns per image.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Pixels per image (`rows * cols`), the model's input size.
    pub fn image_size(&self) -> usize {
        self.rows * self.cols
    }

    /// The pixels of image `index`.
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
    pub fn label(&self, index: usize) -> u8 {
        self.labels[index]
    }

    /// All labels.
    pub fn labels(&self) -> &[u8] {
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
    pub fn with_labels(&self, labels: Vec<u8>) -> ImageSet {
        assert_eq!(labels.len(), self.len(), "one label per image");
        Self {
            labels: Arc::new(labels),
            ..self.clone()
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
                "a copy of {} images of {}x{} (splitting off the validation set, or a task's \
                 classes)",
                indices.len(),
                self.rows,
                self.cols
            ),
            bytes: bytes as u64 + indices.len() as u64,
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
            rows: self.rows,
            cols: self.cols,
            pixels: Arc::new(pixels),
            labels: Arc::new(labels),
        })
    }
}

impl Dataset<MnistItem> for ImageSet {
    fn get(&self, index: usize) -> Result<MnistItem, DatasetError> {
        if index >= self.len() {
            return Err(DatasetError::new(DataError::IndexOutOfBounds {
                index,
                len: self.len(),
            }));
        }
        Ok(MnistItem {
            image: self.image(index).to_vec(),
            label: self.label(index),
        })
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}

/// How the validation set is held out of the training images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplitConfig {
    /// Number of training images held out for validation.
    pub size: usize,
    /// `None`: the validation set is the last `size` training images. `Some(seed)`: a random
    /// subset, drawn reproducibly from the seed.
    pub seed: Option<u64>,
}

impl Default for SplitConfig {
    /// The last 10,000 training images.
    fn default() -> Self {
        Self {
            size: 10_000,
            seed: None,
        }
    }
}

/// A dataset split for training: the training images minus the validation set, the validation
/// set, and the test images (to be used only for the final report).
#[derive(Debug, Clone)]
pub struct Mnist {
    /// Which dataset this is.
    pub kind: DatasetKind,
    /// Images to train on.
    pub train: ImageSet,
    /// Images held out of the training files, for model selection and early stopping.
    pub validation: ImageSet,
    /// The test files' images, for the final report only.
    pub test: ImageSet,
    /// Where the files were found.
    pub source: DataSource,
    /// The classification problem the labels describe (all classes unless
    /// [`with_task`](Self::with_task) changed it).
    pub task: Task,
}

impl Mnist {
    /// Finds the dataset (see [`locate`]), reads it, and splits off the validation set.
    pub fn load(
        kind: DatasetKind,
        data_dir: Option<&Path>,
        split: SplitConfig,
    ) -> Result<Self, DataError> {
        let (files, source) = locate(kind, data_dir)?;
        Self::from_files(kind, &files, source, split)
    }

    /// Reads the four files and splits off the validation set.
    pub fn from_files(
        kind: DatasetKind,
        files: &IdxFiles,
        source: DataSource,
        split: SplitConfig,
    ) -> Result<Self, DataError> {
        let num_classes = kind.num_classes();
        let train = read_set(&files.train_images, &files.train_labels, num_classes)?;
        let test = read_set(&files.test_images, &files.test_labels, num_classes)?;
        if (train.rows, train.cols) != (test.rows, test.cols) {
            return Err(DataError::ShapeMismatch {
                train_rows: train.rows,
                train_cols: train.cols,
                test_rows: test.rows,
                test_cols: test.cols,
            });
        }
        let (train, validation) = split_validation(&train, split)?;
        let mnist = Self {
            kind,
            train,
            validation,
            test,
            source,
            task: Task::AllClasses,
        };
        mnist.ensure_not_empty()?;
        Ok(mnist)
    }

    /// The splits relabelled for `task` (see [`Task::apply`]); an error when the task names
    /// classes the dataset does not have. Only valid on a dataset with all its classes.
    pub fn with_task(self, task: Task) -> Result<Self, DataError> {
        task.validate(self.kind.num_classes())
            .map_err(|reason| DataError::BadTask { reason })?;
        if self.task != Task::AllClasses {
            return Err(DataError::BadTask {
                reason: format!("the data is already relabelled for the task {}", self.task),
            });
        }
        let mnist = Self {
            train: task.apply(&self.train)?,
            validation: task.apply(&self.validation)?,
            test: task.apply(&self.test)?,
            task,
            ..self
        };
        mnist.ensure_not_empty()?;
        Ok(mnist)
    }

    /// An error naming the first empty split: a model cannot be trained on, chosen with or
    /// reported on no images, and a figure measured on none would be made up.
    pub fn ensure_not_empty(&self) -> Result<(), DataError> {
        let task = match self.task {
            Task::AllClasses => String::new(),
            task => format!(" of the task {task}"),
        };
        for (split, set, fix) in [
            (
                "training",
                &self.train,
                "give a training file with more images",
            ),
            (
                "validation",
                &self.validation,
                "raise validation.size, or set validation.seed to draw it at random",
            ),
            ("test", &self.test, "give a test file that holds images"),
        ] {
            if set.is_empty() {
                return Err(DataError::EmptySet {
                    split,
                    hint: format!(": it has no images{task}; {fix}"),
                });
            }
        }
        Ok(())
    }

    /// Pixels per image: the model's input size.
    pub fn input_size(&self) -> usize {
        self.train.image_size()
    }

    /// Number of classes of the task.
    pub fn num_classes(&self) -> usize {
        self.task.num_classes(self.kind)
    }

    /// Names of the task's classes, by label.
    pub fn class_names(&self) -> Vec<String> {
        self.task.class_names(self.kind)
    }
}

/// Reads one split's image and label files and checks that they agree.
pub fn read_set(
    images_path: &Path,
    labels_path: &Path,
    num_classes: usize,
) -> Result<ImageSet, DataError> {
    let images = read_images(images_path)?;
    let labels = read_labels(labels_path, num_classes)?;
    if images.len() != labels.len() {
        return Err(DataError::CountMismatch {
            images: images_path.to_path_buf(),
            image_count: images.len(),
            labels: labels_path.to_path_buf(),
            label_count: labels.len(),
        });
    }
    ImageSet::new(images.rows, images.cols, images.pixels, labels)
}

/// Splits `all` into (training, validation) as `split` says.
pub fn split_validation(
    all: &ImageSet,
    split: SplitConfig,
) -> Result<(ImageSet, ImageSet), DataError> {
    let available = all.len();
    if split.size == 0 || split.size >= available {
        return Err(DataError::BadSplit {
            requested: split.size,
            available,
        });
    }
    let mut order: Vec<usize> = (0..available).collect();
    if let Some(seed) = split.seed {
        order.shuffle(&mut StdRng::seed_from_u64(seed));
    }
    let (train, validation) = order.split_at(available - split.size);
    let mut train = train.to_vec();
    let mut validation = validation.to_vec();
    // Keep the original file order inside each part.
    train.sort_unstable();
    validation.sort_unstable();
    Ok((all.select(&train)?, all.select(&validation)?))
}
