//! The `trainer` binary as a user runs it: exit codes, messages, files.

mod common;

use common::{
    json, on_flex, run, train_plain, trainer, wait_for_a_checkpoint, walk, workspace_file,
};
use integration_tests::mnist_dir;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[test]
fn help_lists_the_commands_and_options() {
    let (output, stdout, _) = run(trainer().arg("--help"));
    assert!(output.status.success());
    for word in [
        "train",
        "eval",
        "--config",
        "--data-dir",
        "--artifacts",
        "--epochs",
        "--resume",
        "--backend",
    ] {
        assert!(stdout.contains(word), "--help lacks {word}:\n{stdout}");
    }
}

#[test]
fn a_bad_config_fails_before_any_work_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.json");
    std::fs::write(&config, r#"{"optimizer": {"learning_rate": -1}}"#).unwrap();
    let (output, _, stderr) = run(trainer()
        .arg("--config")
        .arg(&config)
        .arg("--artifacts")
        .arg(dir.path().join("a")));
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("optimizer.learning_rate"), "{stderr}");
    assert!(
        !dir.path().join("a").exists(),
        "nothing is created for a rejected config"
    );

    std::fs::write(&config, r#"{"epochs": 2, "batchsize": 10}"#).unwrap();
    let (output, _, stderr) = run(on_flex("train").arg("--config").arg(&config));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("unknown field `batchsize`") && stderr.contains("bad.json"),
        "{stderr}"
    );

    let (output, _, stderr) = run(trainer().args(["--config", "/no/such.json"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("/no/such.json"), "{stderr}");

    let (output, _, stderr) = run(trainer().args(["--batch-size", "0"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("batch_size"), "{stderr}");
}

/// Whether Burn's MNIST server answers (never on the CI machines, which are offline).
fn online() -> bool {
    use std::net::{TcpStream, ToSocketAddrs};
    ("storage.googleapis.com", 443)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| {
            TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(3)).is_ok()
        })
}

#[test]
fn missing_or_incomplete_data_folders_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (output, _, stderr) = run(on_flex("train").args(["--data-dir", "/no/such/folder"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("/no/such/folder") && stderr.contains("--data-dir"),
        "{stderr}"
    );

    let (output, _, stderr) = run(on_flex("train").env("MNIST_DIR", dir.path()));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("$MNIST_DIR") && stderr.contains("train-images-idx3-ubyte"),
        "{stderr}"
    );
}

#[test]
fn no_data_offline_is_a_clear_error_not_a_panic() {
    if online() {
        eprintln!(
            "\n*** SKIPPED no_data_offline_is_a_clear_error_not_a_panic: this machine is online, so Burn would download MNIST ***\n"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (output, _, stderr) = run(on_flex("train")
        .arg("--artifacts")
        .arg(dir.path().join("a")));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--data-dir") && stderr.contains("MNIST_DIR"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_unknown_backend_is_rejected_by_name() {
    let (output, _, stderr) = run(trainer().args(["--backend", "quantum"]));
    assert_eq!(output.status.code(), Some(2), "clap usage error");
    assert!(
        stderr.contains("quantum") && stderr.contains("flex"),
        "{stderr}"
    );
}

#[test]
fn eval_of_a_folder_without_a_run_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (output, _, stderr) = run(on_flex("eval").arg("--artifacts").arg(dir.path()));
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("holds no run of this trainer"), "{stderr}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing is written into a folder that holds no run"
    );
}

#[test]
fn trains_with_plain_output_then_evaluates_and_refuses_to_clobber() {
    let Some(mnist) = mnist_dir("trains_with_plain_output_then_evaluates_and_refuses_to_clobber")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    let (output, stdout, stderr) = run(on_flex("train")
        .arg("--config")
        .arg(workspace_file("configs/default.json"))
        .args(["--epochs", "1"])
        .arg("--data-dir")
        .arg(&mnist)
        .arg("--artifacts")
        .arg(&artifacts));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains('\u{1b}'),
        "no escape codes off a terminal:\n{stdout}"
    );
    assert!(stdout.contains("backend: flex"), "{stdout}");
    assert!(stdout.contains("epoch 1/1 | "), "progress lines:\n{stdout}");
    assert!(stdout.contains("epoch 1/1 valid | "), "{stdout}");
    assert!(
        stdout.contains("Accuracy") && stdout.contains("Loss"),
        "{stdout}"
    );
    assert!(stdout.contains("test accuracy"), "{stdout}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(artifacts.join("summary.json")).unwrap())
            .unwrap();
    let accuracy = summary["test_accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.88, "{accuracy}");
    // Burn's log keeps its epoch lines but not a line a step (patches/burn-train).
    let log = std::fs::read_to_string(artifacts.join("experiment.log")).unwrap();
    assert!(log.contains("Executing training step for epoch 1"), "{log}");
    assert!(!log.contains("Iteration 1\n"), "{log}");

    let (output, stdout, stderr) = run(on_flex("eval")
        .arg("--artifacts")
        .arg(&artifacts)
        .arg("--data-dir")
        .arg(&mnist));
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.contains(&format!("test accuracy {:.2} %", 100.0 * accuracy)),
        "{stdout}"
    );
    for needle in ["precision", "recall", "F1", "most confused"] {
        assert!(stdout.contains(needle), "eval prints {needle}:\n{stdout}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(artifacts.join("eval.json")).unwrap())
            .unwrap();
    assert_eq!(report["accuracy"].as_f64(), Some(accuracy));
    let confusion = report["confusion"].as_array().unwrap();
    assert_eq!(confusion.len(), 10);
    let total: u64 = confusion
        .iter()
        .flat_map(|row| row.as_array().unwrap())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, 10_000);
    for picture in ["curves.png", "confusion.png", "weights.png"] {
        let decoded = image::open(artifacts.join(picture)).unwrap();
        assert!(decoded.width() > 200 && decoded.height() > 200, "{picture}");
    }

    // A reader that goes away early (`trainer eval | head -1`) ends it quietly, not in a panic.
    let mut child = on_flex("eval")
        .arg("--artifacts")
        .arg(&artifacts)
        .arg("--data-dir")
        .arg(&mnist)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // predict: real test digits drawn dark on light at another size, a folder, and bad files.
    let data = integration_tests::load_mnist(&mnist);
    let pictures = dir.path().join("pictures");
    std::fs::create_dir(&pictures).unwrap();
    for index in 0..20 {
        let inverted: Vec<u8> = data.test.image(index).iter().map(|&p| 255 - p).collect();
        let small = image::GrayImage::from_raw(28, 28, inverted).unwrap();
        let large = image::imageops::resize(&small, 70, 90, image::imageops::FilterType::Triangle);
        large
            .save(pictures.join(format!("{index:02}-label-{}.png", data.test.label(index))))
            .unwrap();
    }
    std::fs::write(
        pictures.join("readme.txt"),
        "skipped: not a picture extension",
    )
    .unwrap();
    let broken = dir.path().join("broken.png");
    std::fs::write(&broken, b"\x89PNG but truncated").unwrap();
    let (output, stdout, stderr) = run(on_flex("predict")
        .arg("--artifacts")
        .arg(&artifacts)
        .arg(&broken)
        .arg(&pictures)
        .arg(dir.path().join("missing.jpg")));
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("broken.png") && stderr.contains("missing.jpg"),
        "{stderr}"
    );
    assert!(stderr.contains("2 of the inputs failed"), "{stderr}");
    let lines: Vec<&str> = stdout.lines().filter(|l| l.contains("-label-")).collect();
    assert_eq!(
        lines.len(),
        20,
        "the good pictures are still classified:\n{stdout}"
    );
    let correct = lines
        .iter()
        .filter(|line| {
            let label = line
                .split("-label-")
                .nth(1)
                .unwrap()
                .chars()
                .next()
                .unwrap();
            line.split(": ")
                .nth(1)
                .unwrap()
                .starts_with(&format!("{label} ("))
        })
        .count();
    assert!(correct >= 17, "{correct}/20 top-1 correct:\n{stdout}");
    assert_eq!(
        lines[0].matches(" %)").count(),
        3,
        "top-3 per picture: {}",
        lines[0]
    );

    // import-pytorch: the exported safetensors, imported, evaluate the same.
    let imported = dir.path().join("imported");
    let (output, stdout, stderr) = run(on_flex("import-pytorch")
        .arg("--weights")
        .arg(artifacts.join("model.safetensors"))
        .arg("--artifacts")
        .arg(&imported)
        .arg("--data-dir")
        .arg(&mnist));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("test accuracy {:.2} %", 100.0 * accuracy)),
        "{stdout}"
    );
    assert!(imported.join("model.bpk").is_file() && imported.join("eval.json").is_file());
    let (output, _, stderr) = run(on_flex("import-pytorch")
        .arg("--weights")
        .arg(&broken)
        .arg("--artifacts")
        .arg(dir.path().join("never"))
        .arg("--data-dir")
        .arg(&mnist));
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("broken.png"), "{stderr}");
    assert!(
        !dir.path().join("never").exists(),
        "nothing is created on failure"
    );

    let (output, _, stderr) = run(on_flex("train")
        .args(["--epochs", "1"])
        .arg("--data-dir")
        .arg(&mnist)
        .arg("--artifacts")
        .arg(&artifacts));
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("--overwrite"), "{stderr}");
    assert!(
        artifacts.join("model.bpk").is_file(),
        "the earlier run is untouched"
    );
}

#[test]
fn a_backend_not_compiled_in_names_the_feature_to_build_with() {
    if cfg!(feature = "cuda") {
        return;
    }
    let (output, _, stderr) = run(trainer().args(["--backend", "cuda"]));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not compiled into this binary") && stderr.contains("--features cuda"),
        "{stderr}"
    );
}

#[test]
fn tch_backend_trains_without_ld_library_path() {
    if !cfg!(feature = "tch") {
        eprintln!(
            "\n*** SKIPPED tch_backend_trains_without_ld_library_path: built without the tch feature ***\n"
        );
        return;
    }
    let Some(mnist) = mnist_dir("tch_backend_trains_without_ld_library_path") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (output, stdout, stderr) = run(trainer()
        .env_remove("LD_LIBRARY_PATH")
        .args(["--backend", "tch", "--epochs", "1"])
        .arg("--data-dir")
        .arg(&mnist)
        .arg("--artifacts")
        .arg(dir.path().join("run")));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("backend: tch"), "{stdout}");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("run/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["backend"], "tch");
}

#[test]
fn wgpu_without_an_adapter_is_a_clear_error() {
    if !cfg!(feature = "wgpu") {
        eprintln!(
            "\n*** SKIPPED wgpu_without_an_adapter_is_a_clear_error: built without the wgpu feature ***\n"
        );
        return;
    }
    // Driver lists naming a library that does not exist: the Vulkan loader and the EGL
    // dispatcher find no driver, so wgpu finds no adapter on any graphics API.
    let dir = tempfile::tempdir().unwrap();
    let nothing =
        r#"{"file_format_version": "1.0.0", "ICD": {"library_path": "/nonexistent/lib.so"}}"#;
    let list = dir.path().join("none.json");
    std::fs::write(&list, nothing).unwrap();
    let without_adapter = |args: &[&str]| {
        run(trainer()
            .env("VK_DRIVER_FILES", &list)
            .env("VK_ICD_FILENAMES", &list)
            .env("__EGL_VENDOR_LIBRARY_FILENAMES", &list)
            .args(args)
            .args(["--data-dir", "/unused"]))
    };
    let (output, _, stderr) = without_adapter(&["--backend", "wgpu"]);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot open its device") && stderr.contains("mesa-vulkan-drivers"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Chosen because no --backend was given: the error says why, and how to use the CPU.
    if !cfg!(feature = "tch") || learner::BackendKind::TchCuda.device().is_err() {
        let (output, _, stderr) = without_adapter(&[]);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("built with the `wgpu` feature and no --backend was given")
                && stderr.contains("pass --backend flex to train on the CPU"),
            "{stderr}"
        );
    }
}

/// Without --backend, a backend enabled by a feature beyond the default wins over flex, the
/// default feature; a software adapter is named as such before training.
#[test]
fn without_backend_the_backend_a_feature_asked_for_trains() {
    let Some(mnist) = mnist_dir("without_backend_the_backend_a_feature_asked_for_trains") else {
        return;
    };
    let expected = learner::BackendKind::preferred().unwrap();
    let compiled = learner::BackendKind::compiled();
    let beyond_default: Vec<_> = compiled
        .iter()
        .filter(|kind| !matches!(kind, learner::BackendKind::Flex))
        .collect();
    if !beyond_default.is_empty() {
        assert_ne!(expected, learner::BackendKind::Flex, "{compiled:?}");
    }
    if cfg!(feature = "wgpu") && expected != learner::BackendKind::TchCuda {
        assert_eq!(expected, learner::BackendKind::Wgpu);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tiny.json");
    std::fs::write(&config, r#"{"epochs": 1, "iterations_per_epoch": 5}"#).unwrap();
    let (output, stdout, stderr) = run(trainer()
        .args(["train", "--progress", "plain", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(&mnist)
        .arg("--artifacts")
        .arg(dir.path().join("run")));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("backend: {expected} (")),
        "{stdout}"
    );
    let software = stdout.contains("llvmpipe") || stdout.contains("lavapipe");
    assert_eq!(
        software,
        stdout.contains("note: this is a software adapter"),
        "{stdout}"
    );
}

#[test]
fn a_diverging_run_stops_with_the_cause_named() {
    let Some(mnist) = mnist_dir("a_diverging_run_stops_with_the_cause_named") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("diverge.json");
    std::fs::write(
        &config,
        r#"{"epochs": 2, "lr_schedule": {"type": "constant"}, "optimizer": {"learning_rate": 1e37, "momentum": 0.9}}"#,
    )
    .unwrap();
    let (output, stdout, stderr) = run(on_flex("train")
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(&mnist)
        .arg("--artifacts")
        .arg(dir.path().join("run")));
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("error: training diverged: the loss was"),
        "{stderr}"
    );
    assert!(
        stderr.contains("learning rate 1e37 is probably too large"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !dir.path().join("run/model.bpk").exists(),
        "no diverged model is saved"
    );
}

/// A damaged checkpoint is found before training resumes: an error naming the file and what to
/// delete, not a panic in Burn's loop; once deleted, the run resumes from the checkpoint before.
#[test]
fn a_damaged_checkpoint_is_named_before_resuming() {
    let Some(mnist) = mnist_dir("a_damaged_checkpoint_is_named_before_resuming") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    let train = |extra: &[&str]| {
        run(&mut train_plain(
            &mnist,
            &artifacts,
            &[&["--epochs", "3"], extra].concat(),
        ))
    };
    let (output, _, stderr) = train(&[]);
    assert!(output.status.success(), "{stderr}");
    // As if the run had been killed before its summary, with its last checkpoint cut short.
    std::fs::remove_file(artifacts.join("summary.json")).unwrap();
    let checkpoint = artifacts.join("checkpoint");
    for damaged in ["model-3.bpk", "optim-3.bpk", "scheduler-3.bpk"] {
        let kept = std::fs::read(checkpoint.join(damaged)).unwrap();
        // Cut inside the header (the scheduler's file is mostly padding after it).
        std::fs::write(checkpoint.join(damaged), &kept[..20]).unwrap();
        let (output, stdout, stderr) = train(&["--resume"]);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{damaged}: {stdout}\n{stderr}"
        );
        assert!(
            stderr.contains(&format!("{damaged}: the checkpoint of epoch 3 is damaged")),
            "{damaged}: {stderr}"
        );
        assert!(stderr.contains("delete its three files"), "{stderr}");
        assert!(
            !stderr.contains("PANIC") && !stderr.contains("panicked"),
            "{stderr}"
        );
        std::fs::write(checkpoint.join(damaged), kept).unwrap();
    }
    // Only the last two checkpoints are kept; an earlier kept one that is damaged is found too.
    assert_eq!(
        learner::ArtifactDir::new(&artifacts).checkpoint_epochs(),
        vec![2, 3]
    );
    std::fs::write(checkpoint.join("model-2.bpk"), b"not a burnpack file").unwrap();
    let (output, _, stderr) = train(&["--resume"]);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the checkpoint of epoch 2 is damaged"),
        "{stderr}"
    );
    // Deleting what the message names lets the run go on.
    for name in ["model-2.bpk", "optim-2.bpk", "scheduler-2.bpk"] {
        std::fs::remove_file(checkpoint.join(name)).unwrap();
    }
    let (output, _, stderr) = train(&["--resume"]);
    assert!(output.status.success(), "{stderr}");
    assert!(artifacts.join("summary.json").exists());
}

/// A run stopped between writing checkpoints and measuring them (`kill -9`) has them measured
/// when it resumes, before training on prunes them (2 kept): its history misses no epoch.
#[test]
fn a_resumed_run_measures_the_checkpoints_it_had_not_measured() {
    let Some(mnist) = mnist_dir("a_resumed_run_measures_the_checkpoints_it_had_not_measured")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    let train = |extra: &[&str]| run(&mut train_plain(&mnist, &artifacts, extra));
    let (output, _, stderr) = train(&["--epochs", "2"]);
    assert!(output.status.success(), "{stderr}");
    // As if killed after the second checkpoint, before either was measured.
    std::fs::remove_file(artifacts.join("summary.json")).unwrap();
    std::fs::write(artifacts.join("history.jsonl"), "").unwrap();
    let (output, _, stderr) = train(&["--resume", "--epochs", "4"]);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        learner::ArtifactDir::new(&artifacts).checkpoint_epochs(),
        vec![3, 4],
        "the first two checkpoints were pruned"
    );
    let lines = std::fs::read_to_string(artifacts.join("history.jsonl")).unwrap();
    let mut epochs: Vec<u64> = lines
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["epoch"]
                .as_u64()
                .unwrap()
        })
        .collect();
    epochs.sort_unstable();
    assert_eq!(epochs, [1, 2, 3, 4], "history.jsonl: {lines}");
    let summary = json(artifacts.join("summary.json"));
    let summarized: Vec<u64> = summary["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(summarized, [1, 2, 3, 4]);
}

/// Kill -9 at pseudo-random moments, resume each time from the last complete checkpoint: the
/// run ends where an uninterrupted one does, and no artifact is ever left half-written.
#[test]
fn killed_runs_resume_to_the_same_result() {
    let Some(mnist) = mnist_dir("killed_runs_resume_to_the_same_result") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let train = |artifacts: &Path, extra: &[&str]| train_plain(&mnist, artifacts, extra);
    let accuracy = |artifacts: &Path| -> f64 {
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(artifacts.join("summary.json")).unwrap())
                .unwrap();
        summary["test_accuracy"].as_f64().unwrap()
    };

    let reference = dir.path().join("reference");
    let (output, _, stderr) = run(&mut train(&reference, &[]));
    assert!(output.status.success(), "{stderr}");

    let artifacts = dir.path().join("killed");
    // The kill moments follow what the run has written, so that they land whatever the
    // machine's speed: before the first checkpoint (its config saved: loading the data or in
    // epoch 1), after the checkpoint of epoch 3 (in epoch 4 or its checkpoint), and after the
    // last one (in the final evaluation and writes); each a little later, by a fixed-seed
    // pseudo-random delay. Then the run goes to its end.
    let done = |artifacts: &Path, epoch: usize| {
        learner::ArtifactDir::new(artifacts)
            .checkpoint_epochs()
            .contains(&epoch)
    };
    let moments: [&dyn Fn(&Path) -> bool; 3] = [
        &|artifacts| artifacts.join("config.json").is_file(),
        &|artifacts| done(artifacts, 3),
        &|artifacts| done(artifacts, 10),
    ];
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut kills = 0;
    let mut finished = false;
    for attempt in 0..=moments.len() {
        // A run that saved its config resumes, even before its first checkpoint (it starts
        // again from the beginning); one killed before that is started afresh.
        let checkpoints = learner::ArtifactDir::new(&artifacts).checkpoint_epochs();
        let extra: &[&str] = if artifacts.join("config.json").is_file() {
            &["--resume"]
        } else {
            &["--overwrite"]
        };
        let mut child = train(&artifacts, extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(moment) = moments.get(attempt) {
            let deadline = std::time::Instant::now() + Duration::from_secs(120);
            while !moment(&artifacts)
                && child.try_wait().unwrap().is_none()
                && std::time::Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let delay = Duration::from_millis(state % 40);
            std::thread::sleep(delay);
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap(); // SIGKILL
                kills += 1;
                eprintln!(
                    "killed at moment {attempt}, {delay:?} after it (complete checkpoints \
                     before: {checkpoints:?})"
                );
            }
        }
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        // Whatever moment the kill came at, every JSON artifact present is complete.
        for name in ["config.json", "model.json", "summary.json", "eval.json"] {
            if let Ok(text) = std::fs::read_to_string(artifacts.join(name)) {
                serde_json::from_str::<serde_json::Value>(&text)
                    .unwrap_or_else(|err| panic!("{name} is half-written: {err}"));
            }
        }
        assert!(
            output.status.success() || output.status.code().is_none(),
            "only the kill may stop it: {stderr}"
        );
        // summary.json is written last: a run killed after writing it had finished.
        if output.status.success() || artifacts.join("summary.json").exists() {
            // Every entry but `extras`, which only a model with extra files makes.
            for entry in learner::RUN_ENTRIES.iter().filter(|e| **e != "extras") {
                assert!(artifacts.join(entry).exists(), "{entry} is missing");
            }
            finished = true;
            break;
        }
    }
    assert!(finished, "the run finished after {kills} kills");
    assert!(
        kills >= 2,
        "the test killed the run at least twice ({kills})"
    );
    let (expected, got) = (accuracy(&reference), accuracy(&artifacts));
    assert!(
        (expected - got).abs() <= 0.003,
        "resumed {got} vs uninterrupted {expected}"
    );
}

/// Ctrl-C (SIGINT) in plain mode stops the run cleanly too: exit 0, saved as interrupted.
#[test]
fn sigint_stops_a_plain_run_cleanly() {
    stops_cleanly_on("-INT");
}

/// SIGTERM (`kill`, `docker stop`, a job scheduler) stops the run cleanly as Ctrl-C does.
#[test]
fn sigterm_stops_a_plain_run_cleanly() {
    stops_cleanly_on("-TERM");
}

/// SIGHUP (a closed terminal or SSH session) too.
#[test]
fn sighup_stops_a_plain_run_cleanly() {
    stops_cleanly_on("-HUP");
}

fn stops_cleanly_on(signal: &str) {
    let Some(mnist) = mnist_dir(&format!("{signal} stops a plain run cleanly")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    // Output to files, not pipes: a pipe nobody reads until the end fills up (64 KB, a few
    // hundred epochs of plain progress) and blocks the run.
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = train_plain(&mnist, &artifacts, &["--epochs", "1000"])
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    wait_for_a_checkpoint(&artifacts, &mut child);
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let stdout = std::fs::read_to_string(&out_path).unwrap();
    let stderr = std::fs::read_to_string(&err_path).unwrap();
    assert!(exit.success(), "{signal}: {stdout}\n{stderr}");
    assert!(
        stdout.contains("training was interrupted; continue it with --resume"),
        "{stdout}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(artifacts.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["interrupted"], true);
    assert!(summary["epochs"].as_u64().unwrap() < 1000);
    // The training time counts every step run, the epoch the signal cut short included.
    let trained = summary["train_seconds"].as_f64().unwrap();
    let history = summary["history"].as_array().unwrap();
    let last_epoch = history.last().unwrap()["train_seconds"].as_f64().unwrap();
    assert!(trained >= last_epoch && trained > 0.0, "{summary}");
    assert!(
        summary["samples_per_second"].as_f64().unwrap() > 0.0,
        "{summary}"
    );
}

/// A disk that fills up, before the first checkpoint, during training or while the final
/// artifacts are written: a clear error and exit code 1, never a panic or an abort, no
/// half-written file, and once space is freed the command the message names finishes the run.
/// Needs to mount a small tmpfs (root with CAP_SYS_ADMIN, as on the CI machine); skipped loudly
/// otherwise.
#[test]
fn a_full_disk_is_a_clear_error_and_the_run_can_finish() {
    let Some(mnist) = mnist_dir("a_full_disk_is_a_clear_error_and_the_run_can_finish") else {
        return;
    };
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    // Sizes at which a 5-epoch run fills the disk: in epoch 1 (nothing to resume), in a later
    // epoch, and while writing the final artifacts, measured on a whole run first (what a run
    // writes changes as the project grows).
    let reference = tempfile::tempdir().unwrap();
    let (output, _, stderr) = run(&mut train_plain(
        &mnist,
        &reference.path().join("run"),
        &["--epochs", "5"],
    ));
    assert!(output.status.success(), "{stderr}");
    let (total, last) = disk_use(&reference.path().join("run"));
    let sizes = [
        (60, "--overwrite"),
        (total * 2 / 5, "--resume"),
        (total - last / 2, "--resume"),
    ];
    for (kib, next) in sizes {
        let size = format!("{kib}k");
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .is_ok_and(|o| o.status.success());
        if !mounted {
            eprintln!(
                "\n*** SKIPPED a_full_disk_is_a_clear_error: cannot mount a tmpfs here ***\n"
            );
            return;
        }
        let _unmount = Unmount(dir.path());
        let artifacts = dir.path().join("run");
        let train = |extra: &[&str]| {
            run(&mut train_plain(
                &mnist,
                &artifacts,
                &[&["--epochs", "5"], extra].concat(),
            ))
        };
        let (output, stdout, stderr) = train(&[]);
        assert_eq!(output.status.code(), Some(1), "{size}: {stdout}\n{stderr}");
        assert!(stderr.contains("the disk is full"), "{size}: {stderr}");
        assert!(stderr.contains(next), "{size}: {stderr}");
        assert!(!stderr.contains("panicked"), "{size}: {stderr}");
        assert!(
            !artifacts.join("summary.json").exists(),
            "{size}: an unfinished run has no summary"
        );

        let remounted = Command::new("mount")
            .args(["-o", &format!("remount,size={}k", 2 * total)])
            .arg(dir.path())
            .status()
            .is_ok_and(|status| status.success());
        assert!(remounted, "{size}: the tmpfs grows");
        let (output, stdout, stderr) = train(&[next]);
        assert!(output.status.success(), "{size} {next}: {stdout}\n{stderr}");
        for entry in learner::RUN_ENTRIES.iter().filter(|e| **e != "extras") {
            assert!(
                artifacts.join(entry).exists(),
                "{size} {next}: {entry} is missing"
            );
        }
        let leftovers: Vec<_> = walk(&artifacts)
            .into_iter()
            .filter(|path| {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                name.contains(".tmp")
            })
            .collect();
        assert!(
            leftovers.is_empty(),
            "{size}: temporary files left: {leftovers:?}"
        );
    }
}

/// KiB a run folder takes on a tmpfs (each file rounded up to whole 4 KiB pages), in all and
/// for what the run writes after its last checkpoint (the files at its top level but its
/// config, Burn's log and its manifest).
fn disk_use(run: &Path) -> (u64, u64) {
    let kib = |path: &Path| std::fs::metadata(path).map_or(0, |m| m.len().div_ceil(4096) * 4);
    let files = walk(run);
    let total = files.iter().map(|path| kib(path)).sum();
    let last = files
        .iter()
        .filter(|path| path.parent() == Some(run))
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            !["config.json", "experiment.log", "manifest.jsonl", ".lock"].contains(&&*name)
        })
        .map(|path| kib(path))
        .sum();
    (total, last)
}
