//! The zoo through the command line: every model trains with `--model`, and eval and predict
//! open its run; the quick runs, the learning-rate finder and `--devices` (needs `MNIST_DIR`).

mod common;

use common::{json, no_panic, on_flex, run, train_plain};
use integration_tests::mnist_dir;
use std::path::Path;

/// A test digit of MNIST drawn as a user would: dark on light, larger than 28x28.
fn digit_picture(mnist: &Path, index: usize, path: &Path) -> u16 {
    let data = integration_tests::load_mnist(mnist);
    let inverted: Vec<u8> = data.test.image(index).iter().map(|&p| 255 - p).collect();
    let small = image::GrayImage::from_raw(28, 28, inverted).unwrap();
    image::imageops::resize(&small, 84, 84, image::imageops::FilterType::Triangle)
        .save(path)
        .unwrap();
    data.test.label(index)
}

#[test]
fn every_zoo_model_trains_and_eval_and_predict_open_its_run() {
    let Some(mnist) = mnist_dir("every_zoo_model_trains_and_eval_and_predict_open_its_run") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let picture = dir.path().join("digit.png");
    let label = digit_picture(&mnist, 0, &picture);
    for (kind, described) in [
        ("logistic", "logistic regression"),
        ("mlp", "MLP"),
        ("cnn", "CNN"),
    ] {
        let artifacts = dir.path().join(kind);
        let (output, stdout, stderr) = run(&mut train_plain(
            &mnist,
            &artifacts,
            &["--model", kind, "--epochs", "2", "--limit-batches", "30"],
        ));
        assert!(output.status.success(), "{kind}: {stdout}\n{stderr}");
        assert!(
            stdout.contains("a quick run: at most 30 batches"),
            "{stdout}"
        );
        let card = json(artifacts.join("model.json"));
        assert_eq!(card["kind"], kind, "{card}");
        let summary = json(artifacts.join("summary.json"));
        assert_eq!(summary["model_kind"], kind);
        assert_eq!(summary["epochs"], 2);
        // Validation and test on their first 30 batches of 1000 (here, all 10,000 images).
        assert_eq!(summary["test_size"], 10_000);
        assert!(
            summary["test_accuracy"].as_f64().unwrap() > 0.8,
            "{kind}: {summary}"
        );

        let (output, stdout, stderr) = run(on_flex("eval").arg("--artifacts").arg(&artifacts));
        assert!(output.status.success(), "{kind}: {stdout}\n{stderr}");
        assert!(
            stdout.contains(described) && stdout.contains("test accuracy"),
            "{kind}: {stdout}"
        );
        assert!(artifacts.join("eval.json").is_file());

        let (output, stdout, stderr) = run(on_flex("predict")
            .arg("--artifacts")
            .arg(&artifacts)
            .arg(&picture)
            .args(["--top", "1"]));
        assert!(output.status.success(), "{kind}: {stdout}\n{stderr}");
        assert!(
            stdout.contains(&format!("digit.png: {label} (")),
            "{kind} should read the digit {label}: {stdout}"
        );
    }
}

/// `--limit-batches` holds validation and test to their first batches, and says so.
#[test]
fn a_limited_run_measures_only_its_first_batches() {
    let Some(mnist) = mnist_dir("a_limited_run_measures_only_its_first_batches") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    let (output, stdout, stderr) = run(&mut train_plain(
        &mnist,
        &artifacts,
        &["--epochs", "1", "--limit-batches", "2", "--max-steps", "1"],
    ));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("at most 2 batches of training and of evaluation an epoch")
            && stdout.contains("at most 1 training step in all"),
        "{stdout}"
    );
    let summary = json(artifacts.join("summary.json"));
    assert_eq!(summary["iterations"], 1);
    assert_eq!(summary["test_size"], 2_000);
    assert_eq!(summary["validation_size"], 2_000);
    assert!(summary["limited"].is_string());
}

/// `--fast-dev-run` goes through every step of a CNN run in seconds, in a temporary folder it
/// removes, and points to no folder that is gone.
#[test]
fn a_fast_dev_run_leaves_nothing_behind() {
    let Some(mnist) = mnist_dir("a_fast_dev_run_leaves_nothing_behind") else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let (output, stdout, stderr) = run(on_flex("train")
        .args(["--model", "cnn", "--fast-dev-run", "--progress", "plain"])
        .arg("--data-dir")
        .arg(&mnist)
        .env("TMPDIR", scratch.path()));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 iteration") && stdout.contains("temporary folder is removed"));
    assert!(!stdout.contains("next "), "{stdout}");
    assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 0);
    // With --artifacts the run is kept, and is a run like any other.
    let kept = scratch.path().join("kept");
    let (output, stdout, stderr) = run(&mut train_plain(&mnist, &kept, &["--fast-dev-run"]));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_eq!(json(kept.join("summary.json"))["iterations"], 1);
    // It is a smoke test, not a way into a resume.
    let (output, _, stderr) = run(&mut train_plain(
        &mnist,
        &kept,
        &["--fast-dev-run", "--resume"],
    ));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
}

/// The range test suggests, for the default logistic regression with SGD, a rate within a
/// factor 3 of the tuned 0.2; it writes only into its own folder, never over a file.
#[test]
fn lr_find_suggests_a_rate_near_the_tuned_one() {
    let Some(mnist) = mnist_dir("lr_find_suggests_a_rate_near_the_tuned_one") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lr");
    let lr_find = |out: &Path| {
        let mut command = on_flex("lr-find");
        command.arg("--data-dir").arg(&mnist).arg("--out").arg(out);
        command
    };
    let (output, stdout, stderr) = run(&mut lr_find(&out));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let finding = json(out.join("lr-find.json"));
    let suggestion = finding["suggestion"].as_f64().unwrap();
    assert!(
        (0.2 / 3.0..=0.2 * 3.0).contains(&suggestion),
        "suggested {suggestion}: {stdout}"
    );
    assert!(stdout.contains("suggested learning rate") && stdout.contains("half the"));
    assert!(
        std::fs::read(out.join("lr-find.png"))
            .unwrap()
            .starts_with(b"\x89PNG")
    );
    // A second test into the same folder replaces nothing.
    let before = std::fs::read(out.join("lr-find.json")).unwrap();
    let (output, _, stderr) = run(&mut lr_find(&out));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is never replaced") || stderr.contains("not replaced"));
    assert_eq!(std::fs::read(out.join("lr-find.json")).unwrap(), before);
    // Any zoo model; an unknown one is named with the zoo's list.
    let mlp = dir.path().join("mlp");
    let (output, _, stderr) = run(lr_find(&mlp).args(["--model", "mlp", "--steps", "30"]));
    assert!(output.status.success(), "{stderr}");
    assert!(mlp.join("lr-find.png").is_file());
    let (output, _, stderr) = run(lr_find(&mlp).args(["--model", "resnet"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("resnet") && stderr.contains("logistic, mlp, cnn"),
        "{stderr}"
    );
    no_panic(&stderr);
}

/// Data-parallel training on a CPU backend, which has no collectives in Burn 0.22, is refused
/// before anything is written.
#[test]
fn several_devices_on_a_cpu_backend_are_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    let (output, _, stderr) = run(on_flex("train")
        .args(["--devices", "2", "--data-dir"])
        .arg(dir.path().join("no-data"))
        .arg("--artifacts")
        .arg(&artifacts));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--devices") && stderr.contains("flex"),
        "{stderr}"
    );
    assert!(!artifacts.exists());
    no_panic(&stderr);
}

/// Bad data in an image folder is named, file and fault, with exit 1 and nothing written to
/// the artifacts folder; a folder with nothing recognisable says which layouts it looked for.
#[test]
fn bad_image_folders_are_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    for split in ["train", "test"] {
        for class in ["cat", "dog"] {
            let folder = photos.join(split).join(class);
            std::fs::create_dir_all(&folder).unwrap();
            for i in 0..3 {
                image::RgbImage::from_pixel(8, 8, image::Rgb([i * 80, 10, 200]))
                    .save(folder.join(format!("{i}.png")))
                    .unwrap();
            }
        }
    }
    std::fs::write(photos.join("train/dog/empty.png"), b"").unwrap();
    let artifacts = dir.path().join("run");
    let train = |data: &Path| {
        run(on_flex("train")
            .arg("--data-dir")
            .arg(data)
            .arg("--artifacts")
            .arg(&artifacts))
    };
    let (output, _, stderr) = train(&photos);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("empty.png"), "{stderr}");
    no_panic(&stderr);
    assert!(!artifacts.exists());

    let nothing = dir.path().join("nothing");
    std::fs::create_dir(&nothing).unwrap();
    std::fs::write(nothing.join("notes.txt"), "hello").unwrap();
    let (output, _, stderr) = train(&nothing);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("IDX") && stderr.contains("CIFAR") && stderr.contains("train/"),
        "{stderr}"
    );
    assert!(!artifacts.exists());
}

/// `trainer bench --model NAME` times a zoo model against its own target accuracy; a model the
/// zoo does not have is refused by name before anything runs.
#[test]
fn bench_times_any_zoo_model() {
    let Some(mnist) = mnist_dir("bench_times_any_zoo_model") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("bench.json");
    let (output, stdout, stderr) = run(common::trainer()
        .args([
            "bench",
            "--model",
            "mlp",
            "--epochs",
            "1",
            "--backend",
            "flex",
        ])
        .arg("--data-dir")
        .arg(&mnist)
        .arg("--json")
        .arg(&report));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("to 97.5%"), "{stdout}");
    let report = json(&report);
    let result = &report["results"][0];
    assert_eq!(result["model"], "mlp");
    assert_eq!(result["target_accuracy"], 0.975);
    assert!(result["test_accuracy"].as_f64().unwrap() > 0.9, "{result}");
    assert!(result["eval_images_per_second"].as_f64().unwrap() > 0.0);

    let (output, _, stderr) = run(common::trainer().args(["bench", "--model", "resnet"]));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("resnet") && stderr.contains("logistic, mlp, cnn"),
        "{stderr}"
    );
}

/// The trainer computes on its main thread as one of rayon's workers
/// (`learner::compute_on_this_thread`), while the checkpoint evaluation runs on a thread of its
/// own and may hand parallel work to the same pool. With rayon held to one thread that pool
/// would be the main thread alone and the evaluation would wait for it forever; the trainer
/// then leaves the pool as rayon makes it. Every thread count finishes, with the same model.
#[test]
fn training_finishes_with_any_number_of_rayon_threads() {
    let Some(mnist) = mnist_dir("training_finishes_with_any_number_of_rayon_threads") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut accuracies = Vec::new();
    for threads in ["1", "2", "3"] {
        let artifacts = dir.path().join(format!("threads-{threads}"));
        let mut child = train_plain(
            &mnist,
            &artifacts,
            &["--model", "mlp", "--epochs", "2", "--limit-batches", "20"],
        )
        .env("RAYON_NUM_THREADS", threads)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                child.wait().unwrap();
                panic!("RAYON_NUM_THREADS={threads}: the run hung");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        assert!(status.success(), "RAYON_NUM_THREADS={threads}: {status}");
        let summary = json(artifacts.join("summary.json"));
        accuracies.push(summary["test_accuracy"].as_f64().unwrap());
    }
    assert!(
        accuracies.windows(2).all(|pair| pair[0] == pair[1]),
        "{accuracies:?}"
    );
}
