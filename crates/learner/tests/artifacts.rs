//! The artifacts folder: refusing to clobber runs, `--overwrite` removing only what a run
//! listed, one process at a time, atomic writes, checkpoint discovery.

use std::path::Path;

use learner::{ArtifactDir, LearnerError, write_atomic};

fn write(path: impl AsRef<Path>, text: &str) {
    let path = path.as_ref();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_new_folder_is_created_and_an_earlier_run_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let dir = ArtifactDir::new(root.path().join("run"));
    let run = dir.start_run(false).unwrap();
    assert!(dir.root().is_dir() && dir.holds_run());
    run.save_config(&learner::TrainingConfig::default())
        .unwrap();
    drop(run);
    let err = dir.start_run(false).unwrap_err();
    assert!(matches!(err, LearnerError::RunExists { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("--overwrite") && message.contains("--resume"),
        "{message}"
    );
}

#[test]
fn overwrite_removes_what_the_run_listed_and_nothing_else() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path();
    let dir = ArtifactDir::new(path);
    let run = dir.start_run(false).unwrap();
    run.save_config(&learner::TrainingConfig::default())
        .unwrap();
    run.write(&dir.summary_path(), b"{}").unwrap();
    let log = path.join("train/epoch-1/Loss.log");
    run.manifest()
        .create_dir_all(log.parent().unwrap())
        .unwrap();
    run.manifest().claim(&log).unwrap();
    write(&log, "0.5\n");
    drop(run);
    // What a kill leaves behind: a temporary file of a listed one.
    write(path.join("summary.json.4242-0.tmp"), "half");
    // The user's files: beside the run, inside a folder the run made, and one in the way of a
    // name the run may write but never listed.
    write(path.join("notes.txt"), "mine");
    write(path.join("train/cats/1.txt"), "meow");
    write(path.join("train/epoch-1/Accuracy.log"), "mine too");

    let run = dir.start_run(true).unwrap();
    for gone in ["config.json", "summary.json", "summary.json.4242-0.tmp"] {
        assert!(!path.join(gone).exists(), "{gone} should be gone");
    }
    assert!(!log.exists());
    assert_eq!(read(path.join("notes.txt")), "mine");
    assert_eq!(read(path.join("train/cats/1.txt")), "meow");
    assert_eq!(read(path.join("train/epoch-1/Accuracy.log")), "mine too");
    // The new run will not write over the user's file either.
    let err = run
        .manifest()
        .claim(&path.join("train/epoch-1/Accuracy.log"))
        .unwrap_err();
    assert!(err.to_string().contains("not written by this run"), "{err}");
}

#[test]
fn folders_the_run_made_go_when_they_are_empty() {
    let root = tempfile::tempdir().unwrap();
    let dir = ArtifactDir::new(root.path());
    let run = dir.start_run(false).unwrap();
    let log = root.path().join("valid/epoch-3/Loss.log");
    run.manifest()
        .create_dir_all(log.parent().unwrap())
        .unwrap();
    run.manifest().claim(&log).unwrap();
    write(&log, "1\n");
    drop(run);
    dir.start_run(true).unwrap();
    assert!(!root.path().join("valid").exists());
}

#[test]
fn a_folder_with_run_files_but_no_manifest_is_refused_even_with_overwrite() {
    let root = tempfile::tempdir().unwrap();
    write(root.path().join("train/cats/1.txt"), "meow");
    write(root.path().join("config.json"), "{}");
    for overwrite in [false, true] {
        let err = ArtifactDir::new(root.path())
            .start_run(overwrite)
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("config.json, train") && message.contains("no manifest.jsonl"),
            "{message}"
        );
    }
    assert_eq!(read(root.path().join("train/cats/1.txt")), "meow");
    assert_eq!(read(root.path().join("config.json")), "{}");
    // Nothing was added to the user's folder.
    assert!(!root.path().join(learner::LOCK).exists());
    assert!(!root.path().join(learner::MANIFEST).exists());
}

#[test]
fn a_hostile_manifest_cannot_reach_outside_the_run() {
    let root = tempfile::tempdir().unwrap();
    let run_dir = root.path().join("run");
    let outside = root.path().join("outside");
    write(outside.join("keep.txt"), "keep");
    write(run_dir.join("config.json"), "{}");
    // `train` is a link to a folder elsewhere.
    std::os::unix::fs::symlink(&outside, run_dir.join("train")).unwrap();
    write(
        run_dir.join(learner::MANIFEST),
        "{\"trainer_manifest\":1}\n{\"file\":\"../outside/keep.txt\"}\n{\"file\":\"/etc/hostname\"}\n\
         {\"file\":\"train/keep.txt\"}\n{\"file\":\"config.json\"}\n{\"dir\":\"..\"}\n{\"file\":",
    );
    // The listed file inside goes; the link stays, and a run will not write through it.
    let err = ArtifactDir::new(&run_dir).start_run(true).unwrap_err();
    assert!(err.to_string().contains("still holds train"), "{err}");
    assert_eq!(read(outside.join("keep.txt")), "keep");
    assert!(
        !run_dir.join("config.json").exists(),
        "listed and inside: removed"
    );
}

#[test]
fn the_folder_is_locked_while_a_process_writes_in_it() {
    let root = tempfile::tempdir().unwrap();
    let dir = ArtifactDir::new(root.path());
    let run = dir.start_run(false).unwrap();
    for second in [
        dir.reopen_run().unwrap_err(),
        dir.start_run(true).unwrap_err(),
    ] {
        let message = second.to_string();
        assert!(
            message.contains(&format!("in use by process {}", std::process::id())),
            "{message}"
        );
    }
    drop(run);
    dir.reopen_run().unwrap();
}

#[test]
fn resuming_needs_a_run() {
    let root = tempfile::tempdir().unwrap();
    let err = ArtifactDir::new(root.path()).reopen_run().unwrap_err();
    assert!(err.to_string().contains("holds no run"), "{err}");
    let err = ArtifactDir::new(root.path().join("absent"))
        .reopen_run()
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn a_file_in_the_way_or_an_unwritable_folder_is_a_clear_error() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let err = ArtifactDir::new(&file).start_run(false).unwrap_err();
    assert!(err.to_string().contains("not a folder"), "{err}");
    let err = ArtifactDir::new(file.join("below"))
        .start_run(false)
        .unwrap_err();
    assert!(err.to_string().contains("cannot be created"), "{err}");
}

#[test]
fn atomic_writes_replace_whole_files_and_leave_no_temporary() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("summary.json");
    write_atomic(&path, b"first").unwrap();
    write_atomic(&path, b"second").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"second");
    let names: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let err = write_atomic(&root.path().join("missing").join("x.json"), b"x").unwrap_err();
    assert!(matches!(err, LearnerError::Write { .. }));
}

#[test]
fn only_complete_checkpoints_count() {
    let root = tempfile::tempdir().unwrap();
    let dir = ArtifactDir::new(root.path());
    std::fs::create_dir_all(dir.checkpoint_dir()).unwrap();
    for epoch in [1, 2, 10] {
        for part in ["model", "optim", "scheduler"] {
            std::fs::write(dir.checkpoint_path(part, epoch), b"").unwrap();
        }
    }
    std::fs::write(dir.checkpoint_dir().join("model-11.bpk"), b"").unwrap();
    assert_eq!(dir.checkpoint_epochs(), vec![1, 2, 10]);
}

#[test]
fn loading_from_a_folder_without_a_run_names_the_missing_file() {
    let root = tempfile::tempdir().unwrap();
    let dir = ArtifactDir::new(root.path());
    let err = dir.load_config().unwrap_err().to_string();
    assert!(
        err.contains("config.json") && err.contains("not found"),
        "{err}"
    );
    let err = dir.load_card().unwrap_err().to_string();
    assert!(err.contains("model.json"), "{err}");
}
