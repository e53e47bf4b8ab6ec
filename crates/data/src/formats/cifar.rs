//! CIFAR-10 and CIFAR-100 in the binary format their authors publish
//! (<https://www.cs.toronto.edu/~kriz/cifar.html>).
//!
//! Each record is its label (CIFAR-10: one byte; CIFAR-100: the coarse then the fine label, one
//! byte each) followed by a 32x32 colour image as three planes of 1,024 bytes (red, green,
//! blue), rows within a plane: exactly [`ImageSet`]'s `[channels, height, width]` layout, so
//! the pixels are copied as they are.

use std::path::{Path, PathBuf};

use crate::set::{ImageSet, ImageShape, Label};
use crate::{DataError, read_regular_file};

/// CIFAR's image: 3 x 32 x 32.
pub const SHAPE: ImageShape = ImageShape {
    channels: 3,
    height: 32,
    width: 32,
};
/// Largest CIFAR file read: CIFAR-100's `train.bin` is 154 MB.
const MAX_FILE_BYTES: u64 = 512 << 20;

/// CIFAR-10's files in `folder`: five training batches and one test batch.
pub const CIFAR10_TRAIN: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// CIFAR-10's test batch.
pub const CIFAR10_TEST: &str = "test_batch.bin";
/// CIFAR-10's class names, one a line.
pub const CIFAR10_META: &str = "batches.meta.txt";
/// CIFAR-100's training file.
pub const CIFAR100_TRAIN: &str = "train.bin";
/// CIFAR-100's test file.
pub const CIFAR100_TEST: &str = "test.bin";
/// CIFAR-100's fine class names, one a line.
pub const CIFAR100_META: &str = "fine_label_names.txt";

/// Which of the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cifar {
    /// Ten classes, one label byte.
    Ten,
    /// A hundred fine classes; two label bytes (coarse, fine), the fine one used.
    Hundred,
}

impl Cifar {
    fn classes(self) -> usize {
        match self {
            Cifar::Ten => 10,
            Cifar::Hundred => 100,
        }
    }

    fn label_bytes(self) -> usize {
        match self {
            Cifar::Ten => 1,
            Cifar::Hundred => 2,
        }
    }

    fn record_bytes(self) -> usize {
        self.label_bytes() + SHAPE.size()
    }

    fn name(self) -> &'static str {
        match self {
            Cifar::Ten => "CIFAR-10",
            Cifar::Hundred => "CIFAR-100",
        }
    }

    /// The training files and the test file in `folder`.
    pub fn files(self, folder: &Path) -> (Vec<PathBuf>, PathBuf) {
        match self {
            Cifar::Ten => (
                CIFAR10_TRAIN.iter().map(|name| folder.join(name)).collect(),
                folder.join(CIFAR10_TEST),
            ),
            Cifar::Hundred => (
                vec![folder.join(CIFAR100_TRAIN)],
                folder.join(CIFAR100_TEST),
            ),
        }
    }

    /// Whether `folder` holds these files.
    pub fn found_in(self, folder: &Path) -> bool {
        let (train, test) = self.files(folder);
        train.iter().chain([&test]).all(|path| path.exists())
    }
}

/// The training and test sets, and the class names (from the names file when there is one,
/// else the class numbers).
pub fn read(cifar: Cifar, folder: &Path) -> Result<(ImageSet, ImageSet, Vec<String>), DataError> {
    let (train_files, test_file) = cifar.files(folder);
    let missing: Vec<String> = train_files
        .iter()
        .chain([&test_file])
        .filter(|path| !path.exists())
        .filter_map(|path| path.file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    if !missing.is_empty() {
        return Err(DataError::MissingFiles {
            folder: folder.to_path_buf(),
            origin: cifar.name().to_string(),
            missing,
            layout: format!(
                "{}'s binary files ({})",
                cifar.name(),
                match cifar {
                    Cifar::Ten => "data_batch_1.bin to data_batch_5.bin and test_batch.bin",
                    Cifar::Hundred => "train.bin and test.bin",
                }
            ),
        });
    }
    let train = read_files(cifar, &train_files)?;
    let test = read_files(cifar, std::slice::from_ref(&test_file))?;
    let names = class_names(cifar, folder)?;
    Ok((train, test, names))
}

/// The records of `files`, one after the other, as one set.
fn read_files(cifar: Cifar, files: &[PathBuf]) -> Result<ImageSet, DataError> {
    let mut pixels = Vec::new();
    let mut labels: Vec<Label> = Vec::new();
    // The whole set's room at once, from the files' sizes: growing a vector file by file would
    // hold the old and the doubled buffer at once (2.5 times the set's size for CIFAR-10).
    let records: u64 = files
        .iter()
        .filter_map(|path| std::fs::metadata(path).ok())
        .map(|metadata| metadata.len() / cifar.record_bytes() as u64)
        .sum();
    let records =
        usize::try_from(records.min(MAX_FILE_BYTES * files.len() as u64)).unwrap_or(usize::MAX);
    let _ = pixels.try_reserve_exact(records.saturating_mul(SHAPE.size()));
    let _ = labels.try_reserve_exact(records);
    for path in files {
        let bytes = read_regular_file(path, MAX_FILE_BYTES, "a CIFAR file")?;
        let record = cifar.record_bytes();
        if bytes.is_empty() || bytes.len() % record != 0 {
            return Err(DataError::BadRecords {
                path: path.clone(),
                size: bytes.len() as u64,
                record: record as u64,
                format: cifar.name(),
            });
        }
        let count = bytes.len() / record;
        let out_of_memory = |_| DataError::OutOfMemory {
            what: format!("the images of {}", path.display()),
            bytes: bytes.len() as u64,
        };
        pixels
            .try_reserve(count * SHAPE.size())
            .map_err(out_of_memory)?;
        labels.try_reserve(count).map_err(out_of_memory)?;
        for (index, chunk) in bytes.chunks_exact(record).enumerate() {
            let label = chunk[cifar.label_bytes() - 1];
            if usize::from(label) >= cifar.classes() {
                return Err(DataError::LabelOutOfRange {
                    path: path.clone(),
                    index,
                    label: Label::from(label),
                    max: (cifar.classes() - 1) as Label,
                });
            }
            labels.push(Label::from(label));
            pixels.extend_from_slice(&chunk[cifar.label_bytes()..]);
        }
    }
    ImageSet::new(SHAPE, pixels, labels)
}

/// The names file's lines (empty ones dropped), or the class numbers without one; a names file
/// with the wrong number of names is an error.
fn class_names(cifar: Cifar, folder: &Path) -> Result<Vec<String>, DataError> {
    let path = folder.join(match cifar {
        Cifar::Ten => CIFAR10_META,
        Cifar::Hundred => CIFAR100_META,
    });
    if !path.exists() {
        return Ok((0..cifar.classes())
            .map(|class| class.to_string())
            .collect());
    }
    let bytes = read_regular_file(&path, 1 << 20, "a class names file")?;
    let names: Vec<String> = String::from_utf8_lossy(&bytes)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect();
    if names.len() != cifar.classes() {
        return Err(DataError::BadClassNames {
            path,
            found: names.len(),
            expected: cifar.classes(),
        });
    }
    Ok(names)
}
