//! The CNN example on colour data its tests make: a folder of RGB pictures per class (trained
//! for an epoch, resumed, then asked about a new picture) and a CIFAR-10-format folder.

use std::path::Path;
use std::process::Command;

use integration_tests::{run_to_end, summary};

/// `cnn ARGS --backend flex`: success, stdout, stderr.
fn cnn(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    run_to_end(
        Command::new(env!("CARGO_BIN_EXE_cnn"))
            .args(args)
            .args(["--backend", "flex"]),
    )
}

/// The colour of each class, by name.
const CLASSES: [(&str, [u8; 3]); 3] = [
    ("blue", [30, 40, 210]),
    ("green", [40, 190, 40]),
    ("red", [220, 40, 30]),
];

/// A `size`-pixel picture of a square of `colour` at a place and size that vary with `seed`,
/// on a grey, noisy background.
fn picture(colour: [u8; 3], size: u32, seed: u32) -> image::RgbImage {
    let noise = |x: u32, y: u32, c: u32| ((x * 31 + y * 17 + c * 7 + seed * 13) % 40) as u8;
    let side = size / 3 + seed % (size / 3);
    let (left, top) = (seed * 7 % (size - side), seed * 11 % (size - side));
    image::RgbImage::from_fn(size, size, |x, y| {
        let inside = (left..left + side).contains(&x) && (top..top + side).contains(&y);
        image::Rgb(std::array::from_fn(|c| {
            let base = if inside { colour[c] } else { 110 };
            base.saturating_add(noise(x, y, c as u32))
        }))
    })
}

/// `root/{train,test}/<colour>/NNN.png`: 48 training and 12 test pictures a class.
fn colour_folder(root: &Path) {
    for (split, count) in [("train", 48), ("test", 12)] {
        for (class, colour) in CLASSES {
            let folder = root.join(split).join(class);
            std::fs::create_dir_all(&folder).unwrap();
            for i in 0..count {
                let seed = i + if split == "test" { 1000 } else { 0 };
                picture(colour, 20, seed)
                    .save(folder.join(format!("{i:03}.png")))
                    .unwrap();
            }
        }
    }
}

#[test]
fn trains_on_an_rgb_folder_resumes_and_predicts_a_new_picture() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    colour_folder(&photos);
    let artifacts = dir.path().join("run");
    let train = |epochs: &str, extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "--data-dir".as_ref(),
            photos.as_os_str(),
            "--artifacts".as_ref(),
            artifacts.as_os_str(),
            "--epochs".as_ref(),
            epochs.as_ref(),
            "--progress".as_ref(),
            "plain".as_ref(),
        ];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        cnn(&args)
    };
    let (ok, stdout, stderr) = train("1", &["--batch-size", "8"]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("photos (image-folder)") && stdout.contains("20x20 RGB, 3 classes"),
        "{stdout}"
    );
    let first = summary(&artifacts);
    assert_eq!(first["image_shape"], "20x20 RGB");
    assert_eq!(first["classes"], 3);
    assert_eq!(first["model_kind"], "cnn");

    let (ok, stdout, stderr) = train("4", &["--resume"]);
    assert!(ok, "{stdout}\n{stderr}");
    let resumed = summary(&artifacts);
    assert_eq!(resumed["resumed_from_epoch"], 1, "{resumed}");
    assert_eq!(resumed["epochs"], 4);
    // Epoch 1 is the first run's: the same figures (its time belongs to the first process).
    for figure in ["validation_loss", "test_accuracy"] {
        assert_eq!(resumed["history"][0][figure], first["history"][0][figure]);
    }
    assert!(
        first["validation_accuracy"].as_f64().unwrap() > 0.0,
        "{first}"
    );
    assert!(
        resumed["test_accuracy"].as_f64().unwrap() >= 0.9,
        "{resumed}"
    );

    // A new picture, larger and not square, is resized to the run's 20x20 RGB input.
    let new = dir.path().join("new.png");
    image::imageops::resize(
        &picture(CLASSES[2].1, 20, 7),
        60,
        44,
        image::imageops::FilterType::Triangle,
    )
    .save(&new)
    .unwrap();
    let (ok, stdout, stderr) = cnn(&[
        "predict".as_ref(),
        "--artifacts".as_ref(),
        artifacts.as_os_str(),
        new.as_os_str(),
        "--top".as_ref(),
        "1".as_ref(),
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("new.png: red ("), "{stdout}");
}

/// A CIFAR-10 record: its label, then the red, green and blue planes of 32x32.
fn cifar_record(label: u8, seed: u32) -> Vec<u8> {
    let colour = CLASSES[usize::from(label) % 3].1;
    let picture = picture(colour, 32, seed);
    let mut record = vec![label];
    for channel in 0..3 {
        record.extend(picture.pixels().map(|pixel| pixel[channel]));
    }
    record
}

#[test]
fn trains_on_cifar_10_files_with_their_class_names() {
    let dir = tempfile::tempdir().unwrap();
    let cifar = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&cifar).unwrap();
    let names = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n";
    std::fs::write(cifar.join("batches.meta.txt"), names).unwrap();
    let file = |name: &str, first: u32| {
        let records: Vec<u8> = (first..first + 30)
            .flat_map(|seed| cifar_record((seed % 10) as u8, seed))
            .collect();
        std::fs::write(cifar.join(name), records).unwrap();
    };
    for batch in 1..=5 {
        file(&format!("data_batch_{batch}.bin"), batch * 100);
    }
    file("test_batch.bin", 0);
    let artifacts = dir.path().join("run");
    let (ok, stdout, stderr) = cnn(&[
        "--data-dir".as_ref(),
        dir.path().as_os_str(),
        "--artifacts".as_ref(),
        artifacts.as_os_str(),
        "--epochs".as_ref(),
        "1".as_ref(),
        "--progress".as_ref(),
        "plain".as_ref(),
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    let summary = summary(&artifacts);
    assert_eq!(summary["data_format"], "cifar-10");
    assert_eq!(summary["image_shape"], "32x32 RGB");
    assert_eq!(summary["classes"], 10);
    assert_eq!(summary["test_size"], 30);
    let (ok, stdout, stderr) = cnn(&[
        "eval".as_ref(),
        "--artifacts".as_ref(),
        artifacts.as_os_str(),
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("airplane") && stdout.contains("truck"),
        "{stdout}"
    );
}
