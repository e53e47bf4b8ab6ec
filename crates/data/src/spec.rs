//! What data a run trains on: the `dataset` block of a training config.
//!
//! ```json
//! "dataset": "mnist"                      // MNIST's IDX files, found as before
//! "dataset": "fashion-mnist"
//! "dataset": {"format": "image-folder", "path": "photos", "image_size": [64, 64],
//!             "normalize": {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
//!             "augment": {"crop_padding": 4, "horizontal_flip": true}}
//! "dataset": {"format": "cifar-10", "path": "cifar-10-batches-bin"}
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How the files of a data set are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Found from what the folder holds.
    #[default]
    Auto,
    /// Four IDX files (MNIST, Fashion-MNIST, KMNIST, ...), raw or gzip.
    Idx,
    /// `train/<class>/*.png|jpg|jpeg|bmp` and `test/<class>/*`, torchvision's ImageFolder
    /// layout.
    ImageFolder,
    /// CIFAR-10's binary files: `data_batch_1.bin` to `data_batch_5.bin`, `test_batch.bin`,
    /// `batches.meta.txt`.
    Cifar10,
    /// CIFAR-100's binary files: `train.bin`, `test.bin` (fine labels), `fine_label_names.txt`.
    Cifar100,
}

impl Format {
    /// The name used in configs (`image-folder`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Idx => "idx",
            Format::ImageFolder => "image-folder",
            Format::Cifar10 => "cifar-10",
            Format::Cifar100 => "cifar-100",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Per-channel normalisation: each value becomes `(pixel / 255 - mean) / std`, as
/// torchvision's `Normalize` after `ToTensor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalize {
    /// One mean per channel (one value for all channels is allowed too).
    pub mean: Vec<f64>,
    /// One standard deviation per channel (or one for all), each > 0.
    pub std: Vec<f64>,
}

/// Training-only augmentation, drawn from the run's seed so that runs repeat exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Augment {
    /// Pad each side by this many (black) pixels, then crop a random window of the image's
    /// size: a random shift of up to this much (torchvision's `RandomCrop(size, padding)`).
    pub crop_padding: usize,
    /// Mirror half the images left to right (`RandomHorizontalFlip`).
    pub horizontal_flip: bool,
}

impl Augment {
    /// Whether it changes anything.
    pub fn is_active(&self) -> bool {
        self.crop_padding > 0 || self.horizontal_flip
    }
}

/// The `dataset` block: where the data is, in which layout, and how it is shaped for a model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatasetSpec {
    /// The layout; `auto` finds it from the folder.
    pub format: Format,
    /// A known data set: `mnist` or `fashion-mnist` (their class names, and where to look
    /// without a path: `$MNIST_DIR`, Burn's cache; `$FASHION_MNIST_DIR`, Debian's package).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The folder; `--data-dir` overrides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// `[height, width]`: every image is resized to it. Without it, all images must share one
    /// size (image folders); IDX and CIFAR files have one by construction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_size: Option<[usize; 2]>,
    /// 1 (grey) or 3 (RGB): every image is converted to it. Without it: grey when every image
    /// is grey, else RGB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<usize>,
    /// Class names, by label, overriding those the data brings (IDX files have none: their
    /// classes are named 0, 1, ... unless the data set is a known one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
    /// Per-channel normalisation of every image the model sees; none by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalize: Option<Normalize>,
    /// Training-only augmentation; none by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub augment: Option<Augment>,
}

/// The data sets known by name.
pub const KNOWN: [&str; 2] = ["mnist", "fashion-mnist"];

impl DatasetSpec {
    /// MNIST, found as `"dataset": "mnist"` finds it.
    pub fn mnist() -> Self {
        Self::named("mnist")
    }

    /// Fashion-MNIST, found as `"dataset": "fashion-mnist"` finds it.
    pub fn fashion_mnist() -> Self {
        Self::named("fashion-mnist")
    }

    fn named(name: &str) -> Self {
        Self {
            format: Format::Idx,
            name: Some(name.to_string()),
            ..Self::default()
        }
    }

    /// The data in the folder `path`, its layout found from what it holds.
    pub fn folder(path: impl Into<PathBuf>) -> Self {
        Self {
            path: Some(path.into()),
            ..Self::default()
        }
    }

    /// The spec for the data in `folder`. One that only names a known IDX set (`"dataset":
    /// "mnist"`, as the default config does) reads whatever the folder holds, under the folder's
    /// name, when that is not IDX files: `--data-dir cifar-10-batches-bin/` or a folder of
    /// pictures trains with the default config rather than being refused for lacking MNIST's
    /// files. Any other spec, or a folder of IDX files, is kept as it is.
    pub fn for_folder(self, folder: &Path) -> Self {
        let bare = self.name.as_deref().is_some_and(|name| {
            Self {
                path: None,
                ..self.clone()
            } == Self::named(name)
        });
        if !bare {
            return self;
        }
        let any_format = || Self {
            path: self.path.clone(),
            ..Self::default()
        };
        match crate::formats::detect(folder, "the data folder") {
            Ok((Format::Idx, _)) => self,
            Ok(_) => any_format(),
            // Some of the IDX files: the IDX reader names those missing. None: the error
            // lists every layout looked for.
            Err(_) if crate::formats::idx_files::any_in(folder) => self,
            Err(_) => any_format(),
        }
    }

    /// The same spec reading from `path`.
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// What the data is called: its known name, else its folder's name, else its format.
    pub fn display_name(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        self.path
            .as_ref()
            .and_then(|path| path.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.format.to_string())
    }

    /// Checks the values that do not need the data: an error naming the field (under
    /// `dataset.`).
    pub fn validate(&self) -> Result<(), (String, String)> {
        let bad = |field: &str, problem: String| Err((format!("dataset.{field}"), problem));
        if let Some(name) = &self.name
            && !KNOWN.contains(&name.as_str())
        {
            return bad(
                "name",
                format!(
                    "is {name:?}, which is not a data set known by name ({}); leave it out and \
                     give the folder as `path`",
                    KNOWN.join(", ")
                ),
            );
        }
        if self.name.is_some() && !matches!(self.format, Format::Idx | Format::Auto) {
            return bad(
                "name",
                format!(
                    "names an IDX data set, but the format is {}; leave one of them out",
                    self.format
                ),
            );
        }
        if let Some([height, width]) = self.image_size
            && !(1..=MAX_SIDE).contains(&height) | !(1..=MAX_SIDE).contains(&width)
        {
            return bad(
                "image_size",
                format!("is [{height}, {width}]; each side must be 1 to {MAX_SIDE} pixels"),
            );
        }
        if let Some(channels) = self.channels
            && channels != 1
            && channels != 3
        {
            return bad(
                "channels",
                format!("is {channels}; it must be 1 (grey) or 3 (RGB)"),
            );
        }
        if let Some(classes) = &self.classes {
            if classes.len() < 2 {
                return bad("classes", "must name at least 2 classes".to_string());
            }
            if let Some(name) = duplicate(classes) {
                return bad("classes", format!("names {name:?} twice"));
            }
        }
        if let Some(normalize) = &self.normalize {
            for (field, values) in [("mean", &normalize.mean), ("std", &normalize.std)] {
                if values.is_empty() || values.len() > 3 {
                    return bad(
                        &format!("normalize.{field}"),
                        format!(
                            "has {} values; give one per channel (or one for all)",
                            values.len()
                        ),
                    );
                }
                if let Some(value) = values.iter().find(|v| !v.is_finite()) {
                    return bad(
                        &format!("normalize.{field}"),
                        format!("holds {value}, not a finite number"),
                    );
                }
            }
            if let Some(std) = normalize.std.iter().find(|&&std| std <= 1e-6) {
                return bad(
                    "normalize.std",
                    format!("holds {std}; each standard deviation must be above 0"),
                );
            }
        }
        if let Some(augment) = &self.augment
            && augment.crop_padding > MAX_SIDE
        {
            return bad(
                "augment.crop_padding",
                format!("is {}; at most {MAX_SIDE}", augment.crop_padding),
            );
        }
        Ok(())
    }

    /// The batcher of evaluation batches for images of `channels`: normalised as the block
    /// says, never augmented.
    pub fn eval_batcher(&self, channels: usize) -> crate::ImageBatcher {
        crate::ImageBatcher::new().normalized(self.normalize.as_ref(), channels)
    }

    /// The batcher of training batches: normalised and augmented as the block says.
    pub fn train_batcher(&self, channels: usize) -> crate::ImageBatcher {
        self.eval_batcher(channels)
            .augmented(self.augment.unwrap_or_default())
    }

    /// The block with its `path` left out: what must stay the same when a run is resumed (the
    /// same data may be found at another path).
    pub fn without_path(&self) -> Self {
        Self {
            path: None,
            ..self.clone()
        }
    }
}

/// Largest side of an image a model is fed, in pixels.
pub const MAX_SIDE: usize = 4096;

fn duplicate(names: &[String]) -> Option<&String> {
    let mut seen = std::collections::HashSet::new();
    names.iter().find(|name| !seen.insert(name.as_str()))
}

/// The `dataset` field: a known name (`"mnist"`) or a block. Written back as the name when the
/// block says no more than the name, so that configs stay as users wrote them.
pub mod block {
    use super::*;

    /// Writes `spec` as its name when that says everything, else as a block.
    pub fn serialize<S: Serializer>(spec: &DatasetSpec, serializer: S) -> Result<S::Ok, S::Error> {
        match &spec.name {
            Some(name) if *spec == DatasetSpec::named(name) => serializer.serialize_str(name),
            _ => spec.serialize(serializer),
        }
    }

    /// Reads a name or a block.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DatasetSpec, D::Error> {
        deserializer.deserialize_any(NameOrBlock)
    }

    struct NameOrBlock;

    impl<'de> serde::de::Visitor<'de> for NameOrBlock {
        type Value = DatasetSpec;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(
                "`mnist`, `fashion-mnist`, or a block such as {\"format\": \"image-folder\", \
                 \"path\": \"photos\"}",
            )
        }

        fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<DatasetSpec, E> {
            if KNOWN.contains(&name) {
                Ok(DatasetSpec::named(name))
            } else {
                Err(E::custom(format!(
                    "unknown dataset `{name}`: expected `mnist`, `fashion-mnist`, or a block such \
                     as {{\"format\": \"image-folder\", \"path\": \"photos\"}}"
                )))
            }
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<DatasetSpec, A::Error> {
            DatasetSpec::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
}
