//! The second hostile round (issue 18): every case here broke the trainer once and is kept as
//! a regression test. A clear error that names the problem and the fix, a non-zero exit,
//! never a panic, a hang or an abort; nothing the user had is lost or written over.

mod common;

use std::path::Path;

use common::{config, json, no_panic, on_flex, run, short_run_with, train_plain, trainer};
use integration_tests::mnist_dir;

/// A short run: one epoch of 20 iterations.
const SHORT: &str = r#"{"epochs": 1, "iterations_per_epoch": 20}"#;

fn short_run(mnist: &Path, artifacts: &Path) {
    short_run_with(mnist, artifacts, SHORT);
}

/// 1. A `.lock` planted as a link is refused, and the file it points to is left as it was;
///    a `.lock` that is a folder is named as such.
#[test]
fn a_planted_lock_link_is_refused_and_its_target_untouched() {
    let Some(mnist) = mnist_dir("a_planted_lock_link_is_refused_and_its_target_untouched") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    let artifacts = dir.path().join("runs/x");
    std::fs::create_dir_all(&artifacts).unwrap();
    std::os::unix::fs::symlink("../../victim.txt", artifacts.join(".lock")).unwrap();
    let (output, _, stderr) = run(&mut train_plain(&mnist, &artifacts, &[]));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(".lock that is a symbolic link"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");

    // A finished run whose lock is replaced by a link: eval refuses it too.
    let finished = dir.path().join("finished");
    short_run(&mnist, &finished);
    std::fs::remove_file(finished.join(".lock")).unwrap();
    std::os::unix::fs::symlink(&victim, finished.join(".lock")).unwrap();
    let (output, _, stderr) = run(on_flex("eval").arg("--artifacts").arg(&finished));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");

    let folder_lock = dir.path().join("folder-lock");
    std::fs::create_dir_all(folder_lock.join(".lock")).unwrap();
    let (output, _, stderr) = run(&mut train_plain(&mnist, &folder_lock, &[]));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(".lock that is a folder"), "{stderr}");
}

/// 4. A link planted in place of Burn's `experiment.log` is refused on resume, not appended
///    through.
#[test]
fn a_planted_experiment_log_link_is_refused() {
    let Some(mnist) = mnist_dir("a_planted_experiment_log_link_is_refused") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    short_run(&mnist, &artifacts);
    let victim = dir.path().join("victim.log");
    std::fs::write(&victim, "precious").unwrap();
    std::fs::remove_file(artifacts.join("experiment.log")).unwrap();
    std::os::unix::fs::symlink(&victim, artifacts.join("experiment.log")).unwrap();
    let (output, _, stderr) = run(&mut train_plain(
        &mnist,
        &artifacts,
        &["--resume", "--epochs", "2"],
    ));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("experiment.log") && stderr.contains("symbolic link"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

/// 2. A run of another model (an MLP of the zoo), resumed as the logistic regression: refused
///    before anything is touched, naming both, never called damaged.
#[test]
fn resuming_a_run_with_another_model_names_both() {
    let Some(mnist) = mnist_dir("resuming_a_run_with_another_model_names_both") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("mlp");
    let short = config(dir.path(), "short.json", SHORT);
    let (output, stdout, stderr) = run(&mut train_plain(
        &mnist,
        &artifacts,
        &["--config", short.to_str().unwrap(), "--model", "mlp"],
    ));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let before = std::fs::read(artifacts.join("model.bpk")).unwrap();
    let (output, _, stderr) = run(&mut train_plain(
        &mnist,
        &artifacts,
        &["--resume", "--model", "logistic", "--epochs", "2"],
    ));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("`mlp`") && stderr.contains("`logistic`") && !stderr.contains("damaged"),
        "{stderr}"
    );
    // An edited config that makes the run's model another: the model's card says no.
    let mut edited = json(artifacts.join("config.json"));
    edited["model"] = serde_json::json!({"kind": "logistic"});
    std::fs::write(artifacts.join("config.json"), edited.to_string()).unwrap();
    let (output, _, stderr) = run(&mut train_plain(
        &mnist,
        &artifacts,
        &["--resume", "--epochs", "2"],
    ));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("`mlp`") && stderr.contains("`logistic`") && !stderr.contains("damaged"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(artifacts.join("model.bpk")).unwrap(), before);
}

/// 9 and 10. After a divergence with no checkpoint, the advice given works as printed.
#[test]
fn the_advice_after_a_divergence_works_as_printed() {
    let Some(mnist) = mnist_dir("the_advice_after_a_divergence_works_as_printed") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    let diverging = config(
        dir.path(),
        "diverge.json",
        r#"{"epochs": 1, "iterations_per_epoch": 50, "lr_schedule": {"type": "constant"},
            "optimizer": {"learning_rate": 1e30}}"#,
    );
    let (output, _, stderr) = run(&mut train_plain(
        &mnist,
        &artifacts,
        &["--config", diverging.to_str().unwrap()],
    ));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("training diverged"), "{stderr}");
    // "run the same command again with --overwrite --learning-rate X"
    let advice = stderr
        .split("--overwrite --learning-rate ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no --learning-rate advice in {stderr}"));
    let (output, stdout, stderr) = run(&mut train_plain(
        &mnist,
        &artifacts,
        &[
            "--config",
            diverging.to_str().unwrap(),
            "--overwrite",
            "--learning-rate",
            advice,
        ],
    ));
    // The advised rate is lower; 1e29 still diverges, but the advice itself is accepted.
    assert!(
        output.status.success() || stderr.contains("training diverged"),
        "{stdout}\n{stderr}"
    );
    assert!(!stderr.contains("pass --resume"), "{stderr}");
}

/// 13. Only the last checkpoints are kept (2 by default), the per-epoch history stays whole,
///     and the number kept is a setting.
#[test]
fn only_the_last_checkpoints_are_kept_and_the_history_stays_whole() {
    let Some(mnist) = mnist_dir("only_the_last_checkpoints_are_kept_and_the_history_stays_whole")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    let four = config(
        dir.path(),
        "four.json",
        r#"{"epochs": 4, "iterations_per_epoch": 20}"#,
    );
    let (output, stdout, stderr) = run(&mut train_plain(
        &mnist,
        &artifacts,
        &["--config", four.to_str().unwrap()],
    ));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_eq!(
        learner::ArtifactDir::new(&artifacts).checkpoint_epochs(),
        vec![3, 4]
    );
    let summary = json(artifacts.join("summary.json"));
    let history = summary["history"].as_array().unwrap();
    assert_eq!(history.len(), 4, "{summary}");
    assert_eq!(history[0]["epoch"], 1);
    // Resumed, the run goes on from its last checkpoint and keeps its history.
    let (output, _, stderr) = run(&mut train_plain(
        &mnist,
        &artifacts,
        &["--resume", "--epochs", "5"],
    ));
    assert!(output.status.success(), "{stderr}");
    let summary = json(artifacts.join("summary.json"));
    assert_eq!(summary["history"].as_array().unwrap().len(), 5);
    assert_eq!(
        learner::ArtifactDir::new(&artifacts).checkpoint_epochs(),
        vec![4, 5]
    );
}

/// 14. A file-size limit (`ulimit -f`) is reported like a full disk, not a silent SIGXFSZ.
#[test]
fn a_file_size_limit_is_a_clear_error() {
    let Some(mnist) = mnist_dir("a_file_size_limit_is_a_clear_error") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    let short = config(dir.path(), "short.json", SHORT);
    // 64 KiB: the config and manifest fit, the first checkpoint does not.
    let script = format!(
        "ulimit -f 128; exec {} train --backend flex --progress plain --config {} --data-dir {} \
         --artifacts {}",
        env!("CARGO_BIN_EXE_trainer"),
        short.display(),
        mnist.display(),
        artifacts.display()
    );
    let output = std::process::Command::new("sh")
        .args(["-c", &script])
        .env_remove("MNIST_DIR")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("file-size limit (ulimit -f)"), "{stderr}");
    no_panic(&stderr);
}

/// 15. `import-pytorch` speaks PyTorch's layout: a transposed weight is named as such, with
///     the file's shape, and a NaN is placed by row and column.
#[test]
fn import_names_shapes_and_places_in_pytorchs_layout() {
    let Some(mnist) = mnist_dir("import_names_shapes_and_places_in_pytorchs_layout") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let import = |weight: &[f32], shape: [usize; 2]| {
        let bias = [0f32; 10];
        let file = dir.path().join("weights.safetensors");
        std::fs::write(
            &file,
            safetensors(&[("weight", shape, weight), ("bias", [10, 0], &bias)]),
        )
        .unwrap();
        run(on_flex("import-pytorch")
            .arg("--weights")
            .arg(&file)
            .arg("--artifacts")
            .arg(dir.path().join("imported"))
            .arg("--data-dir")
            .arg(&mnist))
    };
    let (output, _, stderr) = import(&vec![0.0; 7840], [784, 10]);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("[784, 10] in the file")
            && stderr.contains("[10, 784]")
            && stderr.contains("transpose"),
        "{stderr}"
    );
    let mut weight = vec![0.0; 7840];
    weight[5000] = f32::NAN;
    let (output, _, stderr) = import(&weight, [10, 784]);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("[6, 296]") && stderr.contains("flat index 5000"),
        "{stderr}"
    );
}

/// A safetensors file of F32 tensors (`[n, 0]` stands for the one-axis `[n]`).
fn safetensors(tensors: &[(&str, [usize; 2], &[f32])]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, shape, values) in tensors {
        let start = data.len();
        data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        let shape: Vec<usize> = shape.iter().copied().filter(|&n| n > 0).collect();
        header.insert(
            name.to_string(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    let header = serde_json::Value::Object(header).to_string();
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    bytes
}

/// 16. The README's next step: after training with --data-dir, `eval` finds the data the run
///     recorded, without being told.
#[test]
fn eval_finds_the_data_the_run_was_trained_on() {
    let Some(mnist) = mnist_dir("eval_finds_the_data_the_run_was_trained_on") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    short_run(&mnist, &artifacts);
    // No MNIST_DIR, no --data-dir, another working folder.
    let (output, stdout, stderr) = run(on_flex("eval")
        .arg("--artifacts")
        .arg(&artifacts)
        .current_dir(dir.path()));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("(dataset.path)"), "{stdout}");
    // A read-only finished run is evaluated too; only the report is printed.
    if !running_as_root() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&artifacts, std::fs::Permissions::from_mode(0o555)).unwrap();
        let (output, stdout, stderr) = run(on_flex("eval").arg("--artifacts").arg(&artifacts));
        std::fs::set_permissions(&artifacts, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(output.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains("not saved in the run"), "{stdout}");
    }
}

fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Low: `trainer runs` shows what is there honestly: only folders with a manifest are runs,
/// impossible summary figures and a FIFO summary are "damaged", escape sequences in names are
/// shown as escapes, and a run's model is named from its card.
#[test]
fn runs_lists_only_runs_and_shows_them_honestly() {
    let Some(mnist) = mnist_dir("runs_lists_only_runs_and_shows_them_honestly") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("all");
    let good = root.join("good\u{1b}[31mred");
    short_run(&mnist, &good);
    let bad = root.join("bad");
    short_run(&mnist, &bad);
    let mut summary = json(bad.join("summary.json"));
    summary["test_accuracy"] = serde_json::json!(3.0);
    std::fs::write(bad.join("summary.json"), summary.to_string()).unwrap();
    let fifo = root.join("fifo");
    short_run(&mnist, &fifo);
    std::fs::remove_file(fifo.join("summary.json")).unwrap();
    assert!(common::mkfifo(&fifo.join("summary.json")));
    let other = root.join("not-a-run");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("config.json"), "{}").unwrap();
    let (output, stdout, stderr) = run(trainer().arg("runs").arg(&root));
    assert!(output.status.success(), "{stderr}");
    assert!(!stdout.contains('\u{1b}'), "{stdout}");
    assert!(stdout.contains("good\\u{1b}[31mred"), "{stdout}");
    assert!(!stdout.contains("not-a-run"), "{stdout}");
    assert!(
        !stdout.contains("inf %") && !stdout.contains("300.00 %"),
        "{stdout}"
    );
    let line = |name: &str| {
        stdout
            .lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
            .to_string()
    };
    assert!(line("bad").contains("damaged") && line("bad").contains("test_accuracy"));
    assert!(line("fifo").contains("damaged") && line("fifo").contains("FIFO"));
    assert!(line("good").contains("logistic regression"));
}

/// Low: `--help` to a full device is an error, not a success.
#[test]
fn help_to_a_full_device_fails() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = trainer().arg("--help").stdout(full).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write the help"), "{stderr}");
}

/// A run's folder removed and made again while the run is in it (`rm -rf run; mkdir run`, or a
/// new run of the same name): the first run writes nothing more there, rather than mixing its
/// files with the new folder's, and says why.
#[test]
fn a_folder_removed_under_a_running_run_gets_nothing_more() {
    let Some(mnist) = mnist_dir("a_folder_removed_under_a_running_run_gets_nothing_more") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    let child = train_plain(
        &mnist,
        &artifacts,
        &["--model", "cnn", "--epochs", "3", "--limit-batches", "40"],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    // Once the first checkpoint is there, the folder is replaced by one of the user's.
    let first_checkpoint = || {
        std::fs::read_dir(artifacts.join("checkpoint"))
            .is_ok_and(|mut entries| entries.next().is_some())
    };
    let start = std::time::Instant::now();
    while !first_checkpoint() {
        assert!(
            start.elapsed().as_secs() < 120,
            "no checkpoint after 2 minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The run may create a file while the folder is being removed: try again.
    for attempt in 1.. {
        match std::fs::remove_dir_all(&artifacts) {
            Ok(()) => break,
            Err(err) if attempt < 20 => eprintln!("removing the folder: {err}; again"),
            Err(err) => panic!("cannot remove {}: {err}", artifacts.display()),
        }
    }
    std::fs::create_dir(&artifacts).unwrap();
    std::fs::write(artifacts.join("notes.txt"), "mine").unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("was removed or replaced"), "{stderr}");
    no_panic(&stderr);
    let left: Vec<_> = std::fs::read_dir(&artifacts)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(left, ["notes.txt"]);
}
