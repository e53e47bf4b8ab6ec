//! Image folders and CIFAR files, built in temporary folders: what they read as, and every bad
//! file named.

use std::path::Path;

use data::{DataError, DatasetSpec, Format, ImageData, ImageShape, LoadOptions, SplitConfig};

/// `data_dir` read with its layout found, one image held out for validation.
fn load(dir: &Path, spec: DatasetSpec) -> Result<ImageData, DataError> {
    let options = LoadOptions {
        data_dir: Some(dir),
        split: SplitConfig::last(1),
        progress: None,
    };
    ImageData::load(&spec, options)
}

fn auto(dir: &Path) -> Result<ImageData, DataError> {
    load(dir, DatasetSpec::default())
}

/// A `width x height` picture whose pixels hold `seed`, grey or RGB, saved as `path`.
fn picture(path: &Path, width: u32, height: u32, colour: bool, seed: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    if colour {
        image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([seed, (x * 10) as u8, (y * 10) as u8])
        })
        .save(path)
        .unwrap();
    } else {
        image::GrayImage::from_fn(width, height, |x, _| {
            image::Luma([seed.wrapping_add(x as u8)])
        })
        .save(path)
        .unwrap();
    }
}

/// `train/` with three pictures of each class, `test/` with two, all `size`, grey or RGB.
fn folder(classes: &[&str], size: (u32, u32), colour: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (label, class) in classes.iter().enumerate() {
        for (split, count) in [("train", 3), ("test", 2)] {
            for index in 0..count {
                let path = dir
                    .path()
                    .join(split)
                    .join(class)
                    .join(format!("{index}.png"));
                picture(&path, size.0, size.1, colour, (label * 10 + index) as u8);
            }
        }
    }
    dir
}

#[test]
fn a_grey_image_folder_reads_with_its_classes_sorted() {
    let dir = folder(&["zebra", "ant", "moth"], (5, 4), false);
    let data = auto(dir.path()).unwrap();
    assert_eq!(data.format, Format::ImageFolder);
    assert_eq!(data.classes, vec!["ant", "moth", "zebra"]);
    assert_eq!(data.shape(), ImageShape::new(1, 4, 5));
    assert_eq!(
        (data.train.len(), data.validation.len(), data.test.len()),
        (8, 1, 6)
    );
    // `ant` is label 0; its first training picture's pixels are 10 + x (zebra was written
    // first with seed 0, ant second with seed 10).
    assert_eq!(data.train.label(0), 0);
    assert_eq!(&data.train.image(0)[..5], &[10, 11, 12, 13, 14]);
    assert_eq!(data.train.class_counts(3), vec![3, 3, 2]);
}

#[test]
fn a_colour_folder_is_rgb_planar_and_can_be_resized_or_made_grey() {
    let dir = folder(&["a", "b"], (6, 6), true);
    let data = auto(dir.path()).unwrap();
    assert_eq!(data.shape(), ImageShape::new(3, 6, 6));
    // Red plane first: the seed everywhere; then green (10 x), then blue (10 y).
    let image = data.train.image(1);
    assert!(image[..36].iter().all(|&r| r == 1), "{image:?}");
    assert_eq!(&image[36..42], &[0, 10, 20, 30, 40, 50]);
    assert_eq!(image[72 + 6], 10);

    let spec = DatasetSpec {
        image_size: Some([3, 4]),
        channels: Some(1),
        ..DatasetSpec::default()
    };
    let small = load(dir.path(), spec).unwrap();
    assert_eq!(small.shape(), ImageShape::new(1, 3, 4));
    assert_eq!(small.train.image(0).len(), 12);
}

#[test]
fn mixed_grey_and_colour_pictures_become_rgb() {
    let dir = folder(&["a", "b"], (4, 4), false);
    picture(&dir.path().join("train/b/colour.png"), 4, 4, true, 99);
    let data = auto(dir.path()).unwrap();
    assert_eq!(data.shape().channels, 3);
    // A grey picture is the same value in every channel.
    let grey = data.train.image(0);
    assert_eq!(&grey[..16], &grey[16..32]);
}

/// The error of reading the folder, as text, after `spoil` changed it.
fn folder_error(spoil: impl FnOnce(&Path)) -> String {
    let dir = folder(&["cat", "dog"], (4, 4), false);
    spoil(dir.path());
    let err = auto(dir.path()).unwrap_err();
    err.to_string()
}

#[test]
fn every_bad_picture_and_folder_is_named_with_what_is_wrong() {
    let text = folder_error(|dir| std::fs::write(dir.join("train/cat/notes.txt"), "hi").unwrap());
    assert!(
        text.contains("notes.txt") && text.contains("is not a picture"),
        "{text}"
    );

    let text = folder_error(|dir| std::fs::write(dir.join("train/cat/empty.png"), "").unwrap());
    assert!(
        text.contains("empty.png") && text.contains("0 bytes"),
        "{text}"
    );

    let text = folder_error(|dir| {
        std::fs::write(dir.join("train/dog/text.jpg"), "no picture here").unwrap()
    });
    assert!(
        text.contains("text.jpg") && text.contains("not a readable image"),
        "{text}"
    );

    let text = folder_error(|dir| picture(&dir.join("test/dog/big.png"), 9, 4, false, 1));
    assert!(
        text.contains("big.png") && text.contains("9x4") && text.contains("image_size"),
        "{text}"
    );

    let text = folder_error(|dir| std::fs::remove_dir_all(dir.join("test/dog")).unwrap());
    assert!(
        text.contains("test/dog") && text.contains("none in test/"),
        "{text}"
    );

    let text = folder_error(|dir| std::fs::create_dir(dir.join("train/bird")).unwrap());
    assert!(
        text.contains("train/bird")
            && (text.contains("holds no pictures") || text.contains("none in test/")),
        "{text}"
    );

    let text = folder_error(|dir| {
        std::fs::create_dir(dir.join("test/bird")).unwrap();
        std::fs::create_dir(dir.join("train/bird")).unwrap();
    });
    assert!(
        text.contains("bird") && text.contains("holds no pictures"),
        "{text}"
    );

    let text = folder_error(|dir| {
        std::os::unix::fs::symlink(dir.join("train/cat"), dir.join("train/cat/loop")).unwrap()
    });
    assert!(
        text.contains("loop") && text.contains("folder inside the class folder"),
        "{text}"
    );

    let text = folder_error(|dir| {
        std::os::unix::fs::symlink("itself.png", dir.join("train/cat/itself.png")).unwrap()
    });
    assert!(text.contains("itself.png"), "{text}");

    let text = folder_error(|dir| std::fs::remove_dir_all(dir.join("test")).unwrap());
    assert!(text.contains("holds no data set"), "{text}");
    assert!(text.contains("IDX") && text.contains("CIFAR-10") && text.contains("image folder"));
}

#[test]
fn a_picture_whose_header_claims_30000x30000_is_refused_before_decoding() {
    let dir = folder(&["cat", "dog"], (4, 4), false);
    let path = dir.path().join("train/cat/huge.png");
    let file = std::fs::File::create(&path).unwrap();
    let mut encoder = png::Encoder::new(file, 30_000, 30_000);
    encoder.set_color(png::ColorType::Grayscale);
    // The header alone: no pixel data follows.
    let writer = encoder.write_header().unwrap();
    drop(writer);
    let err = auto(dir.path()).unwrap_err();
    assert!(
        matches!(&err, DataError::ImageTooLarge { path: bad, .. } if bad == &path),
        "{err}"
    );
}

#[test]
fn an_unreadable_picture_is_named() {
    if is_root() {
        eprintln!("an_unreadable_picture_is_named: running as root, which reads any file; skipped");
        return;
    }
    let text = folder_error(|dir| {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("train/cat/0.png");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    });
    assert!(text.contains("0.png"), "{text}");
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A CIFAR-10 record: its label, then 3 x 1024 bytes, each plane filled with one value.
fn cifar_record(label: u8, planes: [u8; 3]) -> Vec<u8> {
    let mut record = vec![label];
    for value in planes {
        record.extend(std::iter::repeat_n(value, 1024));
    }
    record
}

/// A CIFAR-10 folder: five training batches of two records each, a test batch of three, and
/// the names file.
fn cifar10() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&folder).unwrap();
    for batch in 1..=5u8 {
        let bytes = [
            cifar_record(batch, [batch, 2, 3]),
            cifar_record(9, [0, 0, batch]),
        ]
        .concat();
        std::fs::write(folder.join(format!("data_batch_{batch}.bin")), bytes).unwrap();
    }
    let test: Vec<u8> = (0..3).flat_map(|i| cifar_record(i, [i, i, i])).collect();
    std::fs::write(folder.join("test_batch.bin"), test).unwrap();
    let names = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
    std::fs::write(folder.join("batches.meta.txt"), names).unwrap();
    dir
}

#[test]
fn cifar_10_files_read_as_rgb_32x32_with_their_names() {
    let dir = cifar10();
    let data = auto(dir.path()).unwrap();
    assert_eq!(data.format, Format::Cifar10);
    assert_eq!(data.shape(), ImageShape::new(3, 32, 32));
    assert_eq!(data.classes[0], "airplane");
    assert_eq!(data.classes.len(), 10);
    assert_eq!(
        (data.train.len() + data.validation.len(), data.test.len()),
        (10, 3)
    );
    // The first training image: label 1, red plane all 1, green 2, blue 3.
    let image = data.train.image(0);
    assert_eq!(data.train.label(0), 1);
    assert_eq!(
        (image[0], image[1024], image[2048], image[3071]),
        (1, 2, 3, 3)
    );
}

#[test]
fn bad_cifar_files_are_named() {
    let dir = cifar10();
    let folder = dir.path().join("cifar-10-batches-bin");
    let batch = folder.join("data_batch_3.bin");
    let bytes = std::fs::read(&batch).unwrap();
    std::fs::write(&batch, &bytes[..bytes.len() - 100]).unwrap();
    let text = auto(dir.path()).unwrap_err().to_string();
    assert!(
        text.contains("data_batch_3.bin") && text.contains("not a whole number"),
        "{text}"
    );
    std::fs::write(&batch, cifar_record(10, [0, 0, 0])).unwrap();
    let text = auto(dir.path()).unwrap_err().to_string();
    assert!(
        text.contains("data_batch_3.bin") && text.contains("label 10"),
        "{text}"
    );
    std::fs::remove_file(&batch).unwrap();
    let spec = DatasetSpec {
        format: Format::Cifar10,
        ..DatasetSpec::default()
    };
    let text = load(&folder, spec).unwrap_err().to_string();
    assert!(text.contains("lacks data_batch_3.bin"), "{text}");
}

#[test]
fn cifar_100_uses_the_fine_labels() {
    let dir = tempfile::tempdir().unwrap();
    let record = |coarse: u8, fine: u8| {
        let mut record = vec![coarse, fine];
        record.extend(std::iter::repeat_n(fine, 3072));
        record
    };
    let train: Vec<u8> = (0..4).flat_map(|i| record(1, 90 + i)).collect();
    std::fs::write(dir.path().join("train.bin"), train).unwrap();
    std::fs::write(dir.path().join("test.bin"), record(2, 42)).unwrap();
    let data = auto(dir.path()).unwrap();
    assert_eq!(data.format, Format::Cifar100);
    assert_eq!(data.classes.len(), 100);
    assert_eq!(data.test.label(0), 42);
    assert_eq!(data.classes[42], "42");
}
