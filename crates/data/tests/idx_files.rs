//! The IDX reader and folder loader on good and malformed files built in temporary folders.

use std::io::Write;
use std::path::{Path, PathBuf};

use data::idx::{IMAGES_MAGIC, LABELS_MAGIC, read_images, read_labels};
use data::{
    DataError, DataSource, DatasetSpec, IdxFiles, ImageData, LoadOptions, SplitConfig, TEST_IMAGES,
    TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS,
};
use flate2::Compression;
use flate2::write::GzEncoder;

/// The IDX data in `folder`, as `--data-dir` gives it.
fn load(folder: &Path, split: SplitConfig) -> Result<ImageData, DataError> {
    let options = LoadOptions {
        data_dir: Some(folder),
        split,
        progress: None,
    };
    ImageData::load(&DatasetSpec::mnist(), options)
}

fn images_bytes(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for value in [IMAGES_MAGIC, count, rows, cols] {
        bytes.extend_from_slice(&value.to_be_bytes());
    }
    bytes.extend_from_slice(pixels);
    bytes
}

fn labels_bytes(count: u32, labels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for value in [LABELS_MAGIC, count] {
        bytes.extend_from_slice(&value.to_be_bytes());
    }
    bytes.extend_from_slice(labels);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `count` 2x3 images whose pixels are `image * 10 + pixel`, labels `image % 10`.
fn tiny(count: u32) -> (Vec<u8>, Vec<u8>) {
    let pixels = (0..count * 6)
        .map(|i| ((i / 6) * 10 + i % 6) as u8)
        .collect();
    let labels = (0..count).map(|i| (i % 10) as u8).collect();
    (pixels, labels)
}

/// A folder with the four files, `count_train` and `count_test` tiny images; gzipped if `gz`.
fn dataset_folder(count_train: u32, count_test: u32, gz: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (train_pixels, train_labels) = tiny(count_train);
    let (test_pixels, test_labels) = tiny(count_test);
    let files = [
        (TRAIN_IMAGES, images_bytes(count_train, 2, 3, &train_pixels)),
        (TRAIN_LABELS, labels_bytes(count_train, &train_labels)),
        (TEST_IMAGES, images_bytes(count_test, 2, 3, &test_pixels)),
        (TEST_LABELS, labels_bytes(count_test, &test_labels)),
    ];
    for (name, bytes) in files {
        if gz {
            write(dir.path(), &format!("{name}.gz"), &gzip(&bytes));
        } else {
            write(dir.path(), name, &bytes);
        }
    }
    dir
}

#[test]
fn reads_raw_and_gzip_images_identically() {
    let dir = tempfile::tempdir().unwrap();
    let (pixels, _) = tiny(4);
    let bytes = images_bytes(4, 2, 3, &pixels);
    let raw = read_images(&write(dir.path(), "raw", &bytes)).unwrap();
    // Detected from the content, whatever the name says.
    let gz = read_images(&write(dir.path(), "compressed.bin", &gzip(&bytes))).unwrap();
    assert_eq!(raw, gz);
    assert_eq!((raw.rows, raw.cols, raw.len()), (2, 3, 4));
    assert_eq!(raw.pixels, pixels);
}

#[test]
fn bytes_in_memory_parse_like_files() {
    let (pixels, labels) = tiny(4);
    let images = images_bytes(4, 2, 3, &pixels);
    let name = Path::new("in-memory");
    let raw = data::idx::parse_images(&images, name).unwrap();
    assert_eq!(raw, data::idx::parse_images(&gzip(&images), name).unwrap());
    assert_eq!(raw.pixels, pixels);
    let parsed = data::idx::parse_labels(&gzip(&labels_bytes(4, &labels)), name, 10).unwrap();
    assert_eq!(parsed, labels);
    let err = data::idx::parse_images(&images[..10], name).unwrap_err();
    assert!(err.to_string().contains("in-memory"), "{err}");
}

#[test]
fn reads_labels() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "labels", &labels_bytes(3, &[7, 0, 9]));
    assert_eq!(read_labels(&path, 10).unwrap(), vec![7, 0, 9]);
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let err = read_images(Path::new("/nonexistent/train-images-idx3-ubyte")).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("/nonexistent/train-images-idx3-ubyte")
    );
}

#[test]
fn truncated_header_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = images_bytes(1, 2, 3, &[0; 6]);
    for cut in [0, 3, 9, 15] {
        let path = write(dir.path(), "short", &bytes[..cut]);
        let err = read_images(&path).unwrap_err();
        assert!(
            matches!(err, DataError::TruncatedHeader { what: 16, .. }),
            "cut {cut}: {err:?}"
        );
    }
    let path = write(dir.path(), "short-labels", &labels_bytes(1, &[1])[..5]);
    assert!(matches!(
        read_labels(&path, 10).unwrap_err(),
        DataError::TruncatedHeader { what: 8, .. }
    ));
}

#[test]
fn truncated_body_is_reported_with_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "images", &images_bytes(3, 2, 3, &[0; 10]));
    let err = read_images(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Truncated {
                expected: 18,
                found: 10,
                ..
            }
        ),
        "{err:?}"
    );
    let gz = write(
        dir.path(),
        "images.gz",
        &gzip(&images_bytes(3, 2, 3, &[0; 10])),
    );
    assert!(matches!(
        read_images(&gz).unwrap_err(),
        DataError::Truncated {
            expected: 18,
            found: 10,
            ..
        }
    ));
}

#[test]
fn trailing_data_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "labels", &labels_bytes(2, &[1, 2, 3]));
    assert!(matches!(
        read_labels(&path, 10).unwrap_err(),
        DataError::TrailingData { expected: 2, .. }
    ));
}

#[test]
fn wrong_magic_is_reported_for_swapped_files() {
    let dir = tempfile::tempdir().unwrap();
    let labels = write(dir.path(), "labels", &labels_bytes(1, &[1]));
    let err = read_images(&labels).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::BadMagic {
                found: LABELS_MAGIC,
                expected: IMAGES_MAGIC,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("0x00000801"));
    let images = write(dir.path(), "images", &images_bytes(1, 1, 1, &[0]));
    assert!(matches!(
        read_labels(&images, 10).unwrap_err(),
        DataError::BadMagic { .. }
    ));
    let text = write(dir.path(), "text", b"this is not an IDX file at all");
    assert!(matches!(
        read_images(&text).unwrap_err(),
        DataError::BadMagic { .. }
    ));
}

#[test]
fn zero_dimensions_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "images", &images_bytes(5, 0, 28, &[]));
    assert!(matches!(
        read_images(&path).unwrap_err(),
        DataError::BadDimensions {
            rows: 0,
            cols: 28,
            ..
        }
    ));
}

#[test]
fn huge_declared_count_fails_without_a_huge_allocation() {
    let dir = tempfile::tempdir().unwrap();
    // 4 billion images of 65535x65535 pixels: far beyond memory; must fail fast and cleanly.
    let path = write(
        dir.path(),
        "images",
        &images_bytes(u32::MAX, 65_535, 65_535, &[1, 2, 3]),
    );
    let err = read_images(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Oversized { .. } | DataError::TooLarge { .. }
        ),
        "{err:?}"
    );
    // A body that is merely short is reported as truncated.
    let gz = write(
        dir.path(),
        "images.gz",
        &gzip(&images_bytes(1000, 28, 28, &[1, 2, 3])),
    );
    assert!(matches!(
        read_images(&gz).unwrap_err(),
        DataError::Truncated { found: 3, .. }
    ));
}

/// A gzip bomb: a valid header declaring 0xFFFFFFFF images of 28x28, then megabytes of zeros
/// that compress to almost nothing. Refused from the header, before anything is inflated.
#[test]
fn a_gzip_bomb_behind_a_valid_header_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = gzip(&images_bytes(u32::MAX, 28, 28, &vec![0; 10 << 20]));
    assert!(bomb.len() < 100_000, "{} bytes", bomb.len());
    let path = write(dir.path(), "images.gz", &bomb);
    let err = read_images(&path).unwrap_err();
    assert!(matches!(err, DataError::Oversized { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("4294967295 items") && message.contains("1024 MB"),
        "{message}"
    );
    // The largest body accepted is a named limit, above any MNIST-style dataset.
    const { assert!(data::idx::MAX_BODY_BYTES >= 600 << 20) };
}

#[test]
fn a_fifo_or_a_folder_as_an_idx_file_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("train-images-idx3-ubyte");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        let err = read_images(&fifo).unwrap_err();
        assert!(matches!(err, DataError::NotAFile { .. }), "{err:?}");
        assert!(err.to_string().contains("FIFO"), "{err}");
    }
    let folder = dir.path().join("t10k-images-idx3-ubyte");
    std::fs::create_dir(&folder).unwrap();
    let err = read_images(&folder).unwrap_err();
    assert!(
        err.to_string()
            .contains("is not a regular file (it is a folder)"),
        "{err}"
    );
}

#[test]
fn an_empty_test_set_is_an_error_naming_it() {
    let dir = dataset_folder(10, 0, false);
    let err = load(
        dir.path(),
        SplitConfig {
            size: Some(2),
            seed: None,
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, DataError::EmptySet { split: "test", .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("the test set holds no images"),
        "{err}"
    );
}

#[test]
fn a_task_that_leaves_a_split_empty_is_an_error_naming_it() {
    // Labels are `index % 10`: the two validation images (8 and 9) hold no 3 and no 5.
    let dir = dataset_folder(10, 5, false);
    let mnist = load(
        dir.path(),
        SplitConfig {
            size: Some(2),
            seed: None,
        },
    )
    .unwrap();
    let err = mnist
        .with_task(data::Task::Pair {
            positive: 3,
            negative: 5,
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            DataError::EmptySet {
                split: "validation",
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("of the task 3 (1) vs 5 (0)") && message.contains("validation.size"),
        "{message}"
    );
}

#[test]
fn corrupt_gzip_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = gzip(&images_bytes(4, 2, 3, &tiny(4).0));
    let middle = bytes.len() / 2;
    bytes[middle..].iter_mut().for_each(|b| *b ^= 0x5a);
    let path = write(dir.path(), "images.gz", &bytes);
    let err = read_images(&path).unwrap_err();
    assert!(matches!(err, DataError::CorruptGzip { .. }), "{err:?}");
    assert!(err.to_string().contains("gzip"));
    // A gzip header followed by garbage.
    let path = write(dir.path(), "garbage.gz", &[0x1f, 0x8b, 0, 0, 1, 2, 3]);
    assert!(matches!(
        read_images(&path).unwrap_err(),
        DataError::CorruptGzip { .. }
    ));
}

#[test]
fn out_of_range_label_is_reported_with_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "labels", &labels_bytes(4, &[0, 9, 10, 3]));
    let err = read_labels(&path, 10).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                index: 2,
                label: 10,
                max: 9,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn loads_a_folder_of_gz_or_raw_files_and_splits_it() {
    for gz in [false, true] {
        let dir = dataset_folder(20, 5, gz);
        let split = SplitConfig {
            size: Some(4),
            seed: None,
        };
        let mnist = load(dir.path(), split).unwrap();
        assert_eq!(mnist.source, DataSource::Folder(dir.path().to_path_buf()));
        assert_eq!(
            (mnist.train.len(), mnist.validation.len(), mnist.test.len()),
            (16, 4, 5)
        );
        assert_eq!(mnist.shape().size(), 6);
        // Default split: the validation set is the last images of the training file.
        assert_eq!(mnist.validation.image(0)[0], 160);
        assert_eq!(mnist.validation.labels(), &[6, 7, 8, 9]);
        assert_eq!(mnist.train.labels()[..3], [0, 1, 2]);
    }
}

#[test]
fn seeded_split_is_random_reproducible_and_disjoint() {
    let dir = dataset_folder(100, 5, false);
    let load = |seed| {
        load(
            dir.path(),
            SplitConfig {
                size: Some(30),
                seed: Some(seed),
            },
        )
        .unwrap()
    };
    let (a, b, c) = (load(1), load(1), load(2));
    assert_eq!(a.validation, b.validation);
    assert_ne!(a.validation, c.validation);
    let firsts = |set: &data::ImageSet| (0..set.len()).map(|i| set.image(i)[0]).collect::<Vec<_>>();
    let mut all: Vec<u8> = firsts(&a.train)
        .into_iter()
        .chain(firsts(&a.validation))
        .collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(
        all.len(),
        100,
        "train and validation must partition the training images"
    );
    assert_ne!(
        firsts(&a.validation),
        (70..100).map(|i| (i * 10) as u8).collect::<Vec<_>>()
    );
}

#[test]
fn bad_split_sizes_are_rejected() {
    let dir = dataset_folder(10, 5, false);
    for size in [0, 10, 11] {
        let err = load(
            dir.path(),
            SplitConfig {
                size: Some(size),
                seed: None,
            },
        )
        .unwrap_err();
        assert!(
            matches!(err, DataError::BadSplit { available: 10, .. }),
            "{size}: {err:?}"
        );
    }
}

#[test]
fn missing_files_are_all_named() {
    let dir = dataset_folder(10, 5, true);
    std::fs::remove_file(dir.path().join(format!("{TEST_LABELS}.gz"))).unwrap();
    std::fs::remove_file(dir.path().join(format!("{TRAIN_IMAGES}.gz"))).unwrap();
    let err = IdxFiles::in_folder(dir.path(), "--data-dir").unwrap_err();
    let DataError::MissingFiles { missing, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        missing,
        &[TRAIN_IMAGES.to_string(), TEST_LABELS.to_string()]
    );
    assert!(err.to_string().contains("--data-dir"));
}

#[test]
fn a_named_folder_that_does_not_exist_is_an_error() {
    let err = load(Path::new("/no/such/folder"), SplitConfig::default()).unwrap_err();
    assert!(matches!(err, DataError::FolderMissing { .. }), "{err:?}");
    assert!(err.to_string().contains("/no/such/folder"));
}

#[test]
fn count_mismatch_between_images_and_labels_is_reported() {
    let dir = dataset_folder(10, 5, false);
    write(dir.path(), TEST_LABELS, &labels_bytes(4, &[1, 2, 3, 4]));
    let err = load(
        dir.path(),
        SplitConfig {
            size: Some(2),
            seed: None,
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                image_count: 5,
                label_count: 4,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn train_and_test_image_sizes_must_agree() {
    let dir = dataset_folder(10, 5, false);
    write(dir.path(), TEST_IMAGES, &images_bytes(5, 3, 2, &[0; 30]));
    let err = load(
        dir.path(),
        SplitConfig {
            size: Some(2),
            seed: None,
        },
    )
    .unwrap_err();
    assert!(matches!(err, DataError::ShapeMismatch { .. }), "{err:?}");
}

#[test]
fn burn_cache_layout_is_understood() {
    let root = tempfile::tempdir().unwrap();
    let flat = dataset_folder(10, 5, false);
    for (split, names) in [
        ("train", [TRAIN_IMAGES, TRAIN_LABELS]),
        ("test", [TEST_IMAGES, TEST_LABELS]),
    ] {
        std::fs::create_dir(root.path().join(split)).unwrap();
        for name in names {
            std::fs::copy(flat.path().join(name), root.path().join(split).join(name)).unwrap();
        }
    }
    let files = IdxFiles::in_burn_cache(root.path()).unwrap();
    assert_eq!(
        files.test_labels,
        root.path().join("test").join(TEST_LABELS)
    );
}
