//! A hostile but fair user: every case here once broke the trainer (issue 10) and is kept as a
//! regression test. Each gets a clear error that names the problem and the fix, a non-zero
//! exit, never a panic, a hang or an abort, and nothing the user had is lost.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{config, json, mkfifo, no_panic, on_flex, run, short_run_with, train_plain, trainer};
use integration_tests::mnist_dir;

/// A short run (1 epoch of 100 iterations) for the tests that need one.
const SHORT: &str = r#"{"epochs": 1, "iterations_per_epoch": 100}"#;

/// Trains the short run into `artifacts`; panics unless it succeeds.
fn short_run(mnist: &Path, artifacts: &Path) {
    short_run_with(mnist, artifacts, SHORT);
}

/// 1. `--overwrite` removes what the run wrote and nothing else, and a folder that no run of
///    ours wrote is refused even with `--overwrite`.
#[test]
fn overwrite_never_deletes_what_the_trainer_did_not_write() {
    let Some(mnist) = mnist_dir("overwrite_never_deletes_what_the_trainer_did_not_write") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "short.json", SHORT);
    let cfg = config.to_str().unwrap();

    // A folder of the user's that happens to use a run's names.
    let theirs = dir.path().join("theirs");
    std::fs::create_dir_all(theirs.join("train/cats")).unwrap();
    std::fs::write(theirs.join("train/cats/1.txt"), "meow").unwrap();
    for overwrite in [false, true] {
        let mut command = train_plain(&mnist, &theirs, &["--config", cfg]);
        if overwrite {
            command.arg("--overwrite");
        }
        let (output, _, stderr) = run(&mut command);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("holds train but no manifest.jsonl"),
            "{stderr}"
        );
    }
    let (output, _, stderr) = run(on_flex("import-pytorch")
        .arg("--weights")
        .arg(&config)
        .arg("--artifacts")
        .arg(&theirs)
        .arg("--overwrite")
        .arg("--data-dir")
        .arg(&mnist));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(theirs.join("train/cats/1.txt")).unwrap(),
        "meow"
    );

    // A run of ours, with the user's files put inside it afterwards.
    let ours = dir.path().join("ours");
    short_run(&mnist, &ours);
    std::fs::create_dir_all(ours.join("train/cats")).unwrap();
    std::fs::write(ours.join("train/cats/1.txt"), "meow").unwrap();
    std::fs::write(ours.join("notes.txt"), "mine").unwrap();
    let (output, _, stderr) = run(&mut train_plain(
        &mnist,
        &ours,
        &["--config", cfg, "--overwrite"],
    ));
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(ours.join("train/cats/1.txt")).unwrap(),
        "meow"
    );
    assert_eq!(
        std::fs::read_to_string(ours.join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(ours.join("summary.json").is_file());
}

/// 2. and 16. Weights in F16, BF16 or F64 are imported as F32 (the model's precision), and
///    NaN weights are refused before anything is written.
#[test]
fn import_converts_float_precisions_and_refuses_nan_weights() {
    let Some(mnist) = mnist_dir("import_converts_float_precisions_and_refuses_nan_weights") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let trained = dir.path().join("trained");
    short_run(&mnist, &trained);
    let accuracy = json(trained.join("summary.json"))["test_accuracy"]
        .as_f64()
        .unwrap();
    let bytes = std::fs::read(trained.join("model.safetensors")).unwrap();
    for (dtype, converted) in [
        ("F16", convert(&bytes, "F16")),
        ("BF16", convert(&bytes, "BF16")),
        ("F64", convert(&bytes, "F64")),
    ] {
        let weights = dir.path().join(format!("{dtype}.safetensors"));
        std::fs::write(&weights, converted).unwrap();
        let imported = dir.path().join(format!("imported-{dtype}"));
        let (output, stdout, stderr) = run(on_flex("import-pytorch")
            .arg("--weights")
            .arg(&weights)
            .arg("--artifacts")
            .arg(&imported)
            .arg("--data-dir")
            .arg(&mnist));
        assert!(output.status.success(), "{dtype}: {stdout}\n{stderr}");
        let report = json(imported.join("eval.json"));
        let got = report["accuracy"].as_f64().unwrap();
        assert!(
            (got - accuracy).abs() < 0.005,
            "{dtype}: {got} vs {accuracy}"
        );
        // What was saved is what the loaders read: eval and predict work on it.
        let (output, _, stderr) = run(on_flex("eval")
            .arg("--artifacts")
            .arg(&imported)
            .arg("--data-dir")
            .arg(&mnist));
        assert!(output.status.success(), "{dtype}: {stderr}");
        no_panic(&stderr);
    }
    let mut poisoned = bytes.clone();
    let end = poisoned.len();
    poisoned[end - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    let weights = dir.path().join("nan.safetensors");
    std::fs::write(&weights, poisoned).unwrap();
    let never = dir.path().join("never");
    let (output, _, stderr) = run(on_flex("import-pytorch")
        .arg("--weights")
        .arg(&weights)
        .arg("--artifacts")
        .arg(&never)
        .arg("--data-dir")
        .arg(&mnist));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not finite"), "{stderr}");
    assert!(!never.exists(), "nothing is written for refused weights");
}

/// The F32 safetensors file `bytes` with its tensors converted to `dtype`.
fn convert(bytes: &[u8], dtype: &str) -> Vec<u8> {
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    let data = &bytes[8 + header_len..];
    let mut out_header = serde_json::Map::new();
    let mut out_data = Vec::new();
    for (name, info) in header.as_object().unwrap() {
        if name == "__metadata__" {
            continue;
        }
        let offsets = info["data_offsets"].as_array().unwrap();
        let (start, end) = (
            offsets[0].as_u64().unwrap() as usize,
            offsets[1].as_u64().unwrap() as usize,
        );
        let values = data[start..end]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()));
        let encoded: Vec<u8> = match dtype {
            "F16" => values
                .flat_map(|v| half::f16::from_f32(v).to_le_bytes())
                .collect(),
            "BF16" => values
                .flat_map(|v| half::bf16::from_f32(v).to_le_bytes())
                .collect(),
            _ => values.flat_map(|v| f64::from(v).to_le_bytes()).collect(),
        };
        out_header.insert(
            name.clone(),
            serde_json::json!({
                "dtype": dtype,
                "shape": info["shape"],
                "data_offsets": [out_data.len(), out_data.len() + encoded.len()],
            }),
        );
        out_data.extend(encoded);
    }
    let header = serde_json::to_vec(&out_header).unwrap();
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend(header);
    file.extend(out_data);
    file
}

/// 3. One process at a time in an artifacts folder: a second trainer, an `--overwrite` or an
///    `eval` while a run is live gets "in use by process N", and a `kill -9` leaves no lock.
#[test]
fn a_live_run_locks_its_folder_and_a_killed_one_does_not() {
    let Some(mnist) = mnist_dir("a_live_run_locks_its_folder_and_a_killed_one_does_not") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    let long = config(
        dir.path(),
        "long.json",
        r#"{"epochs": 1000, "iterations_per_epoch": 50}"#,
    );
    let mut live = train_plain(&mnist, &artifacts, &["--config", long.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(|| {
        learner::ArtifactDir::new(&artifacts)
            .checkpoint_epochs()
            .len()
            >= 2
    });
    let pid = live.id().to_string();
    for extra in [&["--overwrite"][..], &["--resume"][..], &[][..]] {
        let (output, _, stderr) = run(&mut train_plain(&mnist, &artifacts, extra));
        assert_eq!(output.status.code(), Some(1), "{extra:?}: {stderr}");
        assert!(
            stderr.contains(&format!("is in use by process {pid}")),
            "{extra:?}: {stderr}"
        );
    }
    let (output, _, stderr) = run(on_flex("eval")
        .arg("--artifacts")
        .arg(&artifacts)
        .arg("--data-dir")
        .arg(&mnist));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("in use by process"), "{stderr}");
    assert!(
        live.try_wait().unwrap().is_none(),
        "the live run was left alone"
    );
    live.kill().unwrap(); // SIGKILL: the kernel releases the lock
    live.wait().unwrap();
    let done = learner::ArtifactDir::new(&artifacts)
        .checkpoint_epochs()
        .last()
        .copied()
        .unwrap();
    let one_more = (done + 1).to_string();
    let (output, _, stderr) = run(&mut train_plain(
        &mnist,
        &artifacts,
        &["--resume", "--epochs", &one_more],
    ));
    assert!(output.status.success(), "{stderr}");
}

/// Two trainers started together into one folder: exactly one runs, the other is refused.
#[test]
fn two_trainers_started_together_never_share_a_folder() {
    let Some(mnist) = mnist_dir("two_trainers_started_together_never_share_a_folder") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "short.json", SHORT);
    for attempt in 0..5 {
        let artifacts = dir.path().join(format!("run-{attempt}"));
        let children: Vec<_> = (0..2)
            .map(|_| {
                train_plain(&mnist, &artifacts, &["--config", config.to_str().unwrap()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outcomes: Vec<(bool, String)> = children
            .into_iter()
            .map(|child| {
                let output = child.wait_with_output().unwrap();
                (
                    output.status.success(),
                    String::from_utf8_lossy(&output.stderr).into_owned(),
                )
            })
            .collect();
        let won = outcomes.iter().filter(|(ok, _)| *ok).count();
        assert_eq!(won, 1, "attempt {attempt}: {outcomes:?}");
        let (_, refused) = outcomes.iter().find(|(ok, _)| !ok).unwrap();
        // "in use by process N", or "by another process" when the winner has taken the lock
        // but not yet written its number into it.
        assert!(
            refused.contains("is in use by") || refused.contains("holds an earlier run"),
            "{refused}"
        );
        let summary = json(artifacts.join("summary.json"));
        assert_eq!(summary["epochs"], 1);
    }
}

fn wait_for(ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// 4. A run stopped before its first checkpoint is resumed from its start with its saved
///    config, instead of circular advice.
#[test]
fn a_run_killed_before_its_first_checkpoint_resumes_from_the_start() {
    let Some(mnist) = mnist_dir("a_run_killed_before_its_first_checkpoint_resumes_from_the_start")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    // Long epochs: a wide window between the start and the first checkpoint.
    let slow = config(
        dir.path(),
        "slow.json",
        r#"{"epochs": 1, "iterations_per_epoch": 20000, "batch_size": 64}"#,
    );
    let mut child = train_plain(&mnist, &artifacts, &["--config", slow.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(|| artifacts.join("train/epoch-1").is_dir());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        learner::ArtifactDir::new(&artifacts)
            .checkpoint_epochs()
            .is_empty()
    );
    // The resume keeps the saved config; make its epoch short so the test ends soon.
    let mut saved = json(artifacts.join("config.json"));
    assert_eq!(saved["iterations_per_epoch"], 20000);
    saved["iterations_per_epoch"] = 100.into();
    std::fs::write(artifacts.join("config.json"), saved.to_string()).unwrap();
    let (output, stdout, stderr) = run(&mut train_plain(&mnist, &artifacts, &["--resume"]));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let summary = json(artifacts.join("summary.json"));
    assert_eq!(summary["epochs"], 1);
    assert_eq!(summary["resumed_from_epoch"], 0);
}

/// 5. A gzip bomb behind a valid IDX header fails at once with a clear error.
#[test]
fn a_gzip_bomb_fails_at_once() {
    let Some(mnist) = mnist_dir("a_gzip_bomb_fails_at_once") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for name in [
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ] {
        std::fs::copy(mnist.join(name), data.join(name)).unwrap();
    }
    let mut header = Vec::new();
    for value in [0x0803u32, u32::MAX, 28, 28] {
        header.extend_from_slice(&value.to_be_bytes());
    }
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(data.join("train-images-idx3-ubyte.gz")).unwrap(),
        flate2::Compression::best(),
    );
    encoder.write_all(&header).unwrap();
    for _ in 0..100 {
        encoder.write_all(&vec![0; 1 << 20]).unwrap();
    }
    encoder.finish().unwrap();
    let (output, _, stderr) = run(on_flex("train")
        .arg("--data-dir")
        .arg(&data)
        .arg("--artifacts")
        .arg(dir.path().join("run")));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("declares 4294967295 items") && stderr.contains("MB"),
        "{stderr}"
    );
    no_panic(&stderr);
}

/// 7. A full stdout is an error with exit 1, not a panic, for every command.
#[test]
fn a_full_stdout_is_an_error_not_a_panic() {
    let Some(mnist) = mnist_dir("a_full_stdout_is_an_error_not_a_panic") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    short_run(&mnist, &artifacts);
    let picture = dir.path().join("digit.png");
    image::GrayImage::from_fn(40, 40, |x, _| image::Luma([if x == 20 { 0 } else { 255 }]))
        .save(&picture)
        .unwrap();
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let other = dir.path().join("other");
    let commands: [Vec<&std::ffi::OsStr>; 3] = [
        vec![
            "eval".as_ref(),
            "--artifacts".as_ref(),
            artifacts.as_ref(),
            "--data-dir".as_ref(),
            mnist.as_ref(),
        ],
        vec![
            "predict".as_ref(),
            "--artifacts".as_ref(),
            artifacts.as_ref(),
            picture.as_ref(),
        ],
        vec![
            "train".as_ref(),
            "--data-dir".as_ref(),
            mnist.as_ref(),
            "--artifacts".as_ref(),
            other.as_ref(),
        ],
    ];
    for args in commands {
        let output = trainer()
            .args(&args)
            .args(["--backend", "flex"])
            .stdout(full())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("cannot write to standard output"),
            "{stderr}"
        );
        no_panic(&stderr);
    }
}

/// 8. An empty test or validation set is an error naming it, never "accuracy 0.00 %".
#[test]
fn an_empty_split_is_an_error_naming_it() {
    let Some(mnist) = mnist_dir("an_empty_split_is_an_error_naming_it") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // One validation image drawn at random is almost surely neither a 3 nor an 8.
    let pair = config(
        dir.path(),
        "pair.json",
        r#"{"task": {"type": "pair", "positive": 3, "negative": 8}, "model": {"head": "Binary"},
            "validation": {"size": 1, "seed": 1}}"#,
    );
    let (output, _, stderr) = run(&mut train_plain(
        &mnist,
        &dir.path().join("run"),
        &["--config", pair.to_str().unwrap()],
    ));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the validation set holds no images"),
        "{stderr}"
    );
    assert!(!dir.path().join("run").exists(), "nothing is written");
}

/// 9. `trainer bench` fails when a benchmark fails.
#[test]
fn bench_fails_when_a_benchmark_fails() {
    let (output, _, stderr) = run(trainer().args(["bench", "--epochs", "0"]));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("epochs"), "{stderr}");
    if !cfg!(feature = "cuda") {
        let (output, stdout, stderr) =
            run(trainer().args(["bench", "--backend", "cuda", "--epochs", "1"]));
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("the benchmark of cuda failed"), "{stderr}");
        // Nothing was measured, so no empty table.
        assert!(!stdout.contains("s/epoch"), "{stdout}");
    }
    // A --json path that cannot be written is refused before anything is measured.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-folder").join("bench.json");
    let (output, stdout, stderr) = run(trainer()
        .args(["bench", "--epochs", "1", "--json"])
        .arg(&missing));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no-such-folder") && stderr.contains("does not exist"),
        "{stderr}"
    );
    assert!(!stdout.contains("measuring"), "{stdout}");
    let (output, _, stderr) = run(trainer()
        .args(["bench", "--epochs", "1", "--json"])
        .arg(dir.path()));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is a folder"), "{stderr}");
    // Nor is a socket (or a device) replaced by the report.
    #[cfg(unix)]
    {
        let socket = dir.path().join("socket");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let (output, _, stderr) = run(trainer()
            .args(["bench", "--epochs", "1", "--json"])
            .arg(&socket));
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("not a regular file"), "{stderr}");
        assert!(!socket.is_file(), "the socket is still there");
        assert!(socket.exists());
    }
}

/// 10. Ctrl-C after the training loop (while the history is evaluated and the results
///     written) stops the run there, resumable; a second one exits at once.
#[test]
fn a_signal_after_the_training_loop_stops_the_final_writes() {
    let Some(mnist) = mnist_dir("a_signal_after_the_training_loop_stops_the_final_writes") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Many tiny epochs: the history then takes a while to evaluate after training.
    let many = config(
        dir.path(),
        "many.json",
        r#"{"epochs": 150, "iterations_per_epoch": 5, "validation": {"size": 500}, "log_interval": 0}"#,
    );
    for (signals, expected) in [(1, [1, 1]), (2, [130, 143])] {
        let artifacts = dir.path().join(format!("run-{signals}"));
        let mut child = train_plain(&mnist, &artifacts, &["--config", many.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The line that says the training loop is over and the checkpoints are evaluated.
        let stdout = child.stdout.take().unwrap();
        let lines = std::thread::spawn(move || {
            use std::io::BufRead;
            let mut seen = Vec::new();
            for line in std::io::BufReader::new(stdout).lines() {
                let line = line.unwrap();
                let done = line.starts_with("evaluating the model");
                seen.push(line);
                if done {
                    break;
                }
            }
            seen
        });
        let seen = lines.join().unwrap();
        assert!(
            seen.last()
                .is_some_and(|line| line.starts_with("evaluating the model")),
            "{seen:?}"
        );
        // Two signals microseconds apart, from one shell (`kill` is its builtin): the second
        // comes while the first is still acted on (a checkpoint's evaluation takes tens of
        // milliseconds). Two `kill` processes one after the other were milliseconds apart, and
        // a loaded machine let the run finish stopping in between. SIGINT then SIGTERM, as two
        // pending SIGINTs could merge into one; whichever the process takes second exits.
        let pid = child.id();
        let script = match signals {
            1 => format!("kill -INT {pid}"),
            _ => format!("kill -INT {pid}; kill -TERM {pid}"),
        };
        assert!(
            Command::new("sh")
                .args(["-c", &script])
                .status()
                .unwrap()
                .success()
        );
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let code = output.status.code();
        assert!(
            code.is_some_and(|code| expected.contains(&code)),
            "{signals} signal(s): exit {code:?}, expected one of {expected:?}: {stderr}"
        );
        if signals == 1 {
            assert!(
                stderr
                    .contains("stopped by Ctrl-C or SIGTERM while the run's results were written"),
                "{stderr}"
            );
        }
        no_panic(&stderr);
        assert!(!artifacts.join("summary.json").exists());
        let (output, _, stderr) = run(&mut train_plain(&mnist, &artifacts, &["--resume"]));
        assert!(output.status.success(), "{stderr}");
        assert_eq!(json(artifacts.join("summary.json"))["epochs"], 150);
    }
}

/// 11. A weight decay that is too strong is blamed, not the learning rate.
#[test]
fn divergence_names_the_setting_to_blame() {
    let Some(mnist) = mnist_dir("divergence_names_the_setting_to_blame") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let decay = config(
        dir.path(),
        "decay.json",
        r#"{"epochs": 1, "lr_schedule": {"type": "constant"}, "optimizer": {"weight_decay": 1e30}}"#,
    );
    let (output, _, stderr) = run(&mut train_plain(
        &mnist,
        &dir.path().join("run"),
        &["--config", decay.to_str().unwrap()],
    ));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("training diverged") && stderr.contains("lower optimizer.weight_decay"),
        "{stderr}"
    );
    let far = config(
        dir.path(),
        "far.json",
        r#"{"optimizer": {"weight_decay": 1e39}}"#,
    );
    let (output, _, stderr) = run(&mut train_plain(
        &mnist,
        &dir.path().join("run2"),
        &["--config", far.to_str().unwrap()],
    ));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("optimizer.weight_decay") && stderr.contains("32-bit"),
        "{stderr}"
    );
}

/// 12. Resuming after `config.json` was edited in a way the checkpoints cannot follow is
///     named as such, and the good checkpoint is kept.
#[test]
fn an_edited_config_is_named_when_resuming() {
    let Some(mnist) = mnist_dir("an_edited_config_is_named_when_resuming") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    short_run(&mnist, &artifacts);
    let original = std::fs::read_to_string(artifacts.join("config.json")).unwrap();
    for (field, value) in [
        ("batch_size", serde_json::json!(64)),
        (
            "model",
            serde_json::json!({"bias": true, "head": "OneVsRest"}),
        ),
        (
            "task",
            serde_json::json!({"type": "against-rest", "positive": 3}),
        ),
    ] {
        let mut edited: serde_json::Value = serde_json::from_str(&original).unwrap();
        edited[field] = value;
        edited["epochs"] = 2.into();
        std::fs::write(artifacts.join("config.json"), edited.to_string()).unwrap();
        let (output, _, stderr) = run(&mut train_plain(&mnist, &artifacts, &["--resume"]));
        assert_eq!(output.status.code(), Some(1), "{field}: {stderr}");
        // The model is checked against the run's card (model.json), the rest against the
        // config its checkpoints were made with.
        assert!(
            (stderr.contains("was changed since the run's checkpoints were made")
                || stderr.contains("records the run's model, and this resume differs"))
                && stderr.contains(field),
            "{field}: {stderr}"
        );
        assert!(!stderr.contains("damaged"), "{stderr}");
        assert_eq!(
            learner::ArtifactDir::new(&artifacts).checkpoint_epochs(),
            vec![1]
        );
    }
    // Raising the epochs alone is a resume.
    let mut edited: serde_json::Value = serde_json::from_str(&original).unwrap();
    edited["epochs"] = 2.into();
    std::fs::write(artifacts.join("config.json"), edited.to_string()).unwrap();
    let (output, _, stderr) = run(&mut train_plain(&mnist, &artifacts, &["--resume"]));
    assert!(output.status.success(), "{stderr}");
}

/// 13. Counts that would wrap or take forever are refused by name.
#[test]
fn huge_counts_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    for (text, field) in [
        (
            r#"{"lr_schedule": {"type": "step", "every_epochs": 17691890096268751550, "gamma": 0.5}}"#,
            "lr_schedule.every_epochs",
        ),
        (
            r#"{"iterations_per_epoch": 1000000000000}"#,
            "iterations_per_epoch",
        ),
        (r#"{"epochs": 100000000000}"#, "epochs"),
    ] {
        let path = config(dir.path(), "huge.json", text);
        let (output, _, stderr) = run(trainer().arg("--config").arg(&path));
        assert_eq!(output.status.code(), Some(1), "{text}: {stderr}");
        assert!(
            stderr.contains(field) && stderr.contains("at most"),
            "{stderr}"
        );
    }
}

/// 14. and 15. `predict --save-inputs` keeps every input and replaces nothing; a drawing with
///     a transparent background is classified.
#[test]
fn predict_saves_every_input_replaces_nothing_and_reads_transparent_drawings() {
    let Some(mnist) =
        mnist_dir("predict_saves_every_input_replaces_nothing_and_reads_transparent_drawings")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    short_run(&mnist, &artifacts);
    let data = integration_tests::load_mnist(&mnist);
    // The same test digit as a drawing app saves it: black ink, transparent background.
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let label = data.test.label(0);
    let digit = data.test.image(0);
    let drawing = image::RgbaImage::from_fn(28, 28, |x, y| {
        image::Rgba([0, 0, 0, digit[(y * 28 + x) as usize]])
    });
    let drawing =
        image::imageops::resize(&drawing, 112, 112, image::imageops::FilterType::Triangle);
    drawing.save(a.join("digit.png")).unwrap();
    drawing.save(b.join("digit.png")).unwrap();
    let inputs = dir.path().join("inputs");
    let predict = || {
        run(on_flex("predict")
            .arg("--artifacts")
            .arg(&artifacts)
            .arg("--save-inputs")
            .arg(&inputs)
            .arg(a.join("digit.png"))
            .arg(b.join("digit.png")))
    };
    let (output, stdout, stderr) = predict();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for line in stdout.lines() {
        assert!(line.contains(&format!(": {label} (")), "{stdout}");
    }
    let mut saved: Vec<String> = std::fs::read_dir(&inputs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    saved.sort();
    assert_eq!(saved, ["digit-2.input.png", "digit.input.png"]);
    let before = std::fs::read(inputs.join("digit.input.png")).unwrap();
    std::fs::write(inputs.join("digit.input.png"), b"mine").unwrap();
    let (output, stdout, stderr) = predict();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("already exists and is not replaced"),
        "{stderr}"
    );
    // The picture that could not be saved is classified all the same.
    assert_eq!(
        stdout
            .lines()
            .filter(|line| line.contains(&format!(": {label} (")))
            .count(),
        2,
        "{stdout}"
    );
    assert_eq!(
        std::fs::read(inputs.join("digit.input.png")).unwrap(),
        b"mine"
    );
    assert!(!before.is_empty());
}

/// 17. A FIFO or a device where a file is expected is an error, not a hang or an endless read.
#[test]
fn fifos_and_devices_are_refused_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("config.json");
    if !mkfifo(&fifo) {
        eprintln!("\n*** SKIPPED fifos_and_devices_are_refused_not_read: no mkfifo ***\n");
        return;
    }
    for path in [fifo.as_path(), Path::new("/dev/zero")] {
        let mut child = trainer()
            .arg("--config")
            .arg(path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("--config {} hangs", path.display());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("is not a regular file"), "{stderr}");
    }
    let (output, _, stderr) = run(on_flex("import-pytorch")
        .arg("--weights")
        .arg(&fifo)
        .arg("--artifacts")
        .arg(dir.path().join("x")));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("train a model first"), "{stderr}");
}

/// 18. The dashboard without a terminal is refused up front.
#[test]
fn the_dashboard_without_a_terminal_is_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let (output, _, stderr) = run(trainer()
        .args(["--progress", "dashboard"])
        .arg("--artifacts")
        .arg(dir.path().join("run")));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--progress dashboard needs a terminal")
            && stderr.contains("--progress plain"),
        "{stderr}"
    );
    no_panic(&stderr);
    assert!(!dir.path().join("run").exists());
}

/// 20. Messages: a folder as --weights, the import refusal, a config with a byte-order mark
///     or an array.
#[test]
fn messages_say_what_is_wrong_in_the_words_of_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let (output, _, stderr) = run(on_flex("import-pytorch")
        .arg("--weights")
        .arg(dir.path())
        .arg("--artifacts")
        .arg(dir.path().join("x")));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("(it is a folder)"), "{stderr}");
    let array = config(dir.path(), "array.json", "[0.1, 0.9]");
    let (output, _, stderr) = run(trainer().arg("--config").arg(&array));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not an array"), "{stderr}");
    let bom = config(dir.path(), "bom.json", "\u{feff}{\"epochs\": 0}");
    let (output, _, stderr) = run(trainer().arg("--config").arg(&bom));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    // Parsed past the mark: the error is about the value.
    assert!(stderr.contains("`epochs` must be at least 1"), "{stderr}");
    // A usage error is clap's, with exit code 2.
    let (output, _, stderr) = run(trainer().arg("--no-such-option"));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
}

/// Import into a folder holding a run offers what import-pytorch has: --overwrite.
#[test]
fn import_refuses_an_earlier_run_offering_overwrite_only() {
    let Some(mnist) = mnist_dir("import_refuses_an_earlier_run_offering_overwrite_only") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    short_run(&mnist, &artifacts);
    let (output, _, stderr) = run(on_flex("import-pytorch")
        .arg("--weights")
        .arg(artifacts.join("model.safetensors"))
        .arg("--artifacts")
        .arg(&artifacts)
        .arg("--data-dir")
        .arg(&mnist));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--overwrite") && !stderr.contains("--resume"),
        "{stderr}"
    );
}

/// 19. Too little memory for the data is an error naming what could not be allocated, not an
///     abort. Under a virtual-memory limit (`ulimit -v`) just high enough for the binary to
///     start, loading MNIST cannot fit: the IDX bodies and the split copies are allocated with
///     `try_reserve`, so that failure is caught. (Lower, the program does not start at all; an
///     allocation inside Burn during training still aborts: Rust cannot catch that one.)
#[test]
fn too_little_memory_for_the_data_is_an_error_not_an_abort() {
    let Some(mnist) = mnist_dir("too_little_memory_for_the_data_is_an_error_not_an_abort") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let limited = |kb: u64, args: &[&std::ffi::OsStr]| {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("ulimit -v {kb} && exec \"$@\""))
            .arg("sh")
            .arg(env!("CARGO_BIN_EXE_trainer"))
            .args(args)
            .env("XDG_CACHE_HOME", dir.path().join("cache"));
        command.output().unwrap()
    };
    // The smallest limit (in steps of 16 MB) at which the binary starts.
    let mut kb = 64 << 10;
    while !limited(kb, &["--help".as_ref()]).status.success() {
        kb += 16 << 10;
        assert!(kb < 8 << 20, "the trainer does not start even with 8 GB");
    }
    let artifacts = dir.path().join("run");
    let output = limited(
        kb,
        &[
            "--backend".as_ref(),
            "flex".as_ref(),
            "--data-dir".as_ref(),
            mnist.as_ref(),
            "--artifacts".as_ref(),
            artifacts.as_ref(),
            "--progress".as_ref(),
            "plain".as_ref(),
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "at {kb} KB: {stderr}");
    assert!(
        stderr.contains("not enough memory for") && stderr.contains("ulimit -v"),
        "at {kb} KB: {stderr}"
    );
    no_panic(&stderr);
    assert!(
        !artifacts.exists(),
        "nothing is written when the data does not fit"
    );
}
