//! A labelled image data set split for training: whatever its files' layout, the same
//! [`ImageData`] of training, validation and test images and class names.

use std::path::{Path, PathBuf};

use crate::formats::idx_files::{IdxFiles, Known};
use crate::formats::{self, cifar, idx};
use crate::set::{ImageSet, ImageShape, SplitConfig, split_validation};
use crate::{DataError, DataSource, DatasetSpec, Format, Task};

/// A data set split for training: the training images minus the validation set, the validation
/// set, and the test images (to be used only for the final report), with the names of its
/// classes.
#[derive(Debug, Clone)]
pub struct ImageData {
    /// What the data is called (`mnist`, the folder's name).
    pub name: String,
    /// The layout its files were in.
    pub format: Format,
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
    /// The data's own class names, by label (before a task relabelled them).
    pub classes: Vec<String>,
}

/// Options of [`ImageData::load`] beyond the spec.
#[derive(Clone, Copy, Default)]
pub struct LoadOptions<'a> {
    /// A folder given on the command line, which wins over the spec's `path`.
    pub data_dir: Option<&'a Path>,
    /// How the validation set is held out.
    pub split: SplitConfig,
    /// Called now and then with (steps done, steps in all) while a large image folder is
    /// decoded.
    pub progress: Option<&'a (dyn Fn(usize, usize) + Sync)>,
}

impl std::fmt::Debug for LoadOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadOptions")
            .field("data_dir", &self.data_dir)
            .field("split", &self.split)
            .finish()
    }
}

impl ImageData {
    /// Finds the data `spec` describes (`data_dir` first, then the spec's path, then, for a
    /// data set known by name, where it is usually found), reads it, converts it to the spec's
    /// size and channels if asked, and splits off the validation set.
    pub fn load(spec: &DatasetSpec, options: LoadOptions<'_>) -> Result<Self, DataError> {
        let resolved;
        let spec = match options.data_dir.or(spec.path.as_deref()) {
            Some(folder) => {
                resolved = spec.clone().for_folder(folder);
                &resolved
            }
            None => spec,
        };
        spec.validate()
            .map_err(|(field, problem)| DataError::BadSpec { field, problem })?;
        let (format, folder, source) = locate(spec, options.data_dir)?;
        let (train, test, classes) = read(format, &folder, &source, spec, options)?;
        let classes = class_names(spec, classes, &train, &test)?;
        let (train, test) = (convert(train, spec)?, convert(test, spec)?);
        if train.shape() != test.shape() {
            return Err(DataError::ShapeMismatch {
                train: train.shape(),
                test: test.shape(),
            });
        }
        // An image folder is read class by class, so its last images are all of its last
        // class: without a seed, its validation images are drawn with seed 0 instead.
        let split = match (format, options.split.seed) {
            (Format::ImageFolder, None) => SplitConfig {
                seed: Some(0),
                ..options.split
            },
            _ => options.split,
        };
        let (train, validation) = split_validation(train, split)?;
        let data = Self {
            name: spec.display_name(),
            format,
            train,
            validation,
            test,
            source,
            task: Task::AllClasses,
            classes,
        };
        data.check_normalize(spec)?;
        data.ensure_not_empty()?;
        Ok(data)
    }

    /// The splits relabelled for `task` (see [`Task::apply`]); an error when the task names
    /// classes the data does not have. Only valid on data with all its classes, or already
    /// relabelled for `task` (then it is returned as it is).
    pub fn with_task(self, task: Task) -> Result<Self, DataError> {
        if self.task == task {
            return Ok(self);
        }
        task.validate(self.classes.len())
            .map_err(|reason| DataError::BadTask { reason })?;
        if self.task != Task::AllClasses {
            return Err(DataError::BadTask {
                reason: format!("the data is already relabelled for the task {}", self.task),
            });
        }
        let data = Self {
            train: task.apply(&self.train)?,
            validation: task.apply(&self.validation)?,
            test: task.apply(&self.test)?,
            task,
            ..self
        };
        data.ensure_not_empty()?;
        Ok(data)
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
                "give training files with more images",
            ),
            (
                "validation",
                &self.validation,
                "raise validation.size, or set validation.seed to draw it at random",
            ),
            ("test", &self.test, "give test files that hold images"),
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

    /// The shape of every image.
    pub fn shape(&self) -> ImageShape {
        self.train.shape()
    }

    /// Number of classes of the task.
    pub fn num_classes(&self) -> usize {
        self.task.num_classes(self.classes.len())
    }

    /// Names of the task's classes, by label.
    pub fn class_names(&self) -> Vec<String> {
        self.task.class_names(&self.classes)
    }

    /// The spec's normalisation must have one value per channel, or one for all.
    fn check_normalize(&self, spec: &DatasetSpec) -> Result<(), DataError> {
        let Some(normalize) = &spec.normalize else {
            return Ok(());
        };
        let channels = self.shape().channels;
        for (field, values) in [("mean", &normalize.mean), ("std", &normalize.std)] {
            if values.len() != 1 && values.len() != channels {
                return Err(DataError::BadSpec {
                    field: format!("dataset.normalize.{field}"),
                    problem: format!(
                        "has {} values, and the images have {channels} channel{}: give one \
                         value per channel, or one for all",
                        values.len(),
                        if channels == 1 { "" } else { "s" }
                    ),
                });
            }
        }
        Ok(())
    }
}

/// The format, the folder holding its files, and where that folder came from.
fn locate(
    spec: &DatasetSpec,
    data_dir: Option<&Path>,
) -> Result<(Format, PathBuf, DataSource), DataError> {
    let source = match (data_dir, &spec.path) {
        (Some(folder), _) => Some(DataSource::Folder(folder.to_path_buf())),
        (None, Some(folder)) => Some(DataSource::Config(folder.clone())),
        (None, None) => None,
    };
    let Some(source) = source else {
        // No folder: a data set known by name is looked for where it usually is.
        let Some(known) = spec.name.as_deref().and_then(Known::from_name) else {
            return Err(DataError::NotFound {
                dataset: spec.display_name(),
                hint: "no folder was given: pass --data-dir, or set dataset.path in the config"
                    .to_string(),
            });
        };
        let (files, source) = formats::idx_files::locate(known)?;
        let folder = files
            .train_images
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        return Ok((Format::Idx, folder, source));
    };
    let folder = source.folder().to_path_buf();
    let origin = source.origin();
    if !folder.is_dir() {
        return Err(DataError::FolderMissing {
            path: folder,
            origin,
        });
    }
    let (format, folder) = match spec.format {
        Format::Auto => formats::detect(&folder, &origin)?,
        format => (format, folder),
    };
    Ok((format, folder, source))
}

/// The training and test sets and the class names the files bring (empty for IDX files).
fn read(
    format: Format,
    folder: &Path,
    source: &DataSource,
    spec: &DatasetSpec,
    options: LoadOptions<'_>,
) -> Result<(ImageSet, ImageSet, Vec<String>), DataError> {
    match format {
        Format::Idx | Format::Auto => {
            let files = match source {
                DataSource::BurnCache(root) | DataSource::Downloaded(root) => {
                    IdxFiles::in_burn_cache(root)?
                }
                _ => IdxFiles::in_folder(folder, &source.origin())?,
            };
            let classes = spec
                .name
                .as_deref()
                .and_then(Known::from_name)
                .map(Known::class_names)
                .unwrap_or_default();
            let limit = if classes.is_empty() {
                256
            } else {
                classes.len()
            };
            let train = idx::read_set(&files.train_images, &files.train_labels, limit)?;
            let test = idx::read_set(&files.test_images, &files.test_labels, limit)?;
            Ok((train, test, classes))
        }
        Format::Cifar10 => cifar::read(cifar::Cifar::Ten, folder),
        Format::Cifar100 => cifar::read(cifar::Cifar::Hundred, folder),
        #[cfg(feature = "images")]
        Format::ImageFolder => formats::folder::read(
            folder,
            formats::folder::FolderOptions {
                image_size: spec.image_size,
                channels: spec.channels,
                progress: options.progress,
            },
        ),
        #[cfg(not(feature = "images"))]
        Format::ImageFolder => {
            let _ = options;
            Err(DataError::BadSpec {
                field: "dataset.format".to_string(),
                problem: "is image-folder, and this build reads no pictures (feature `images`)"
                    .to_string(),
            })
        }
    }
}

/// The class names: the spec's, else the files', else the numbers of the labels found (at least
/// two). Every label must have a name.
fn class_names(
    spec: &DatasetSpec,
    from_files: Vec<String>,
    train: &ImageSet,
    test: &ImageSet,
) -> Result<Vec<String>, DataError> {
    let highest = train
        .labels()
        .iter()
        .chain(test.labels())
        .copied()
        .max()
        .unwrap_or(0);
    let names = match &spec.classes {
        Some(names) => names.clone(),
        None if !from_files.is_empty() => from_files,
        None => (0..=usize::from(highest).max(1))
            .map(|class| class.to_string())
            .collect(),
    };
    if usize::from(highest) >= names.len() {
        return Err(DataError::BadSpec {
            field: "dataset.classes".to_string(),
            problem: format!(
                "names {} classes, and the data has labels up to {highest}: give a name to \
                 every class, 0 to {highest}",
                names.len()
            ),
        });
    }
    Ok(names)
}

/// `set` at the spec's size and channels, where they differ from its own.
fn convert(set: ImageSet, spec: &DatasetSpec) -> Result<ImageSet, DataError> {
    let shape = set.shape();
    let wanted = ImageShape::new(
        spec.channels.unwrap_or(shape.channels),
        spec.image_size.map_or(shape.height, |[height, _]| height),
        spec.image_size.map_or(shape.width, |[_, width]| width),
    );
    if wanted == shape {
        return Ok(set);
    }
    convert_images(&set, wanted)
}

#[cfg(feature = "images")]
fn convert_images(set: &ImageSet, shape: ImageShape) -> Result<ImageSet, DataError> {
    use image::{DynamicImage, GrayImage, RgbImage};
    let from = set.shape();
    let (width, height) = (from.width as u32, from.height as u32);
    let plane = from.height * from.width;
    let mut pixels = Vec::new();
    pixels
        .try_reserve_exact(set.len() * shape.size())
        .map_err(|_| DataError::OutOfMemory {
            what: format!("{} images of {shape}", set.len()),
            bytes: (set.len() * shape.size()) as u64,
        })?;
    pixels.resize(set.len() * shape.size(), 0);
    for (index, out) in pixels.chunks_mut(shape.size()).enumerate() {
        let image = set.image(index);
        let picture = match from.channels {
            1 => GrayImage::from_raw(width, height, image.to_vec()).map(DynamicImage::ImageLuma8),
            3 => {
                let interleaved = (0..plane)
                    .flat_map(|at| (0..3).map(move |channel| image[channel * plane + at]))
                    .collect();
                RgbImage::from_raw(width, height, interleaved).map(DynamicImage::ImageRgb8)
            }
            channels => {
                return Err(DataError::BadSpec {
                    field: "dataset.channels".to_string(),
                    problem: format!("cannot convert images of {channels} channels"),
                });
            }
        };
        let picture = picture.expect("an image of the set has its shape's pixels");
        formats::folder::write_planar(&picture, shape, out);
    }
    ImageSet::new(shape, pixels, set.labels().to_vec())
}

#[cfg(not(feature = "images"))]
fn convert_images(set: &ImageSet, shape: ImageShape) -> Result<ImageSet, DataError> {
    Err(DataError::BadSpec {
        field: "dataset.image_size".to_string(),
        problem: format!(
            "asks for {shape} images from {}, and this build converts no pictures (feature \
             `images`)",
            set.shape()
        ),
    })
}
