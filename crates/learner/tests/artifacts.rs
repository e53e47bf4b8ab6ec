//! The artifacts folder: refusing to clobber runs, overwrite removing only run files, atomic
//! writes, checkpoint discovery.

use learner::{ArtifactDir, LearnerError, RUN_ENTRIES, write_atomic};

#[test]
fn a_new_folder_is_created_and_an_earlier_run_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let dir = ArtifactDir::new(root.path().join("run"));
    dir.prepare_new_run(false).unwrap();
    assert!(dir.root().is_dir());
    dir.save_config(&learner::TrainingConfig::default())
        .unwrap();
    let err = dir.prepare_new_run(false).unwrap_err();
    assert!(matches!(err, LearnerError::Artifacts { .. }));
    let message = err.to_string();
    assert!(
        message.contains("--overwrite") && message.contains("--resume"),
        "{message}"
    );
}

#[test]
fn overwrite_removes_the_run_files_and_nothing_else() {
    let root = tempfile::tempdir().unwrap();
    let dir = ArtifactDir::new(root.path());
    for entry in RUN_ENTRIES {
        if entry.contains('.') {
            std::fs::write(root.path().join(entry), b"old").unwrap();
        } else {
            std::fs::create_dir_all(root.path().join(entry).join("epoch-1")).unwrap();
        }
    }
    std::fs::write(root.path().join("notes.txt"), b"mine").unwrap();
    dir.prepare_new_run(true).unwrap();
    for entry in RUN_ENTRIES {
        assert!(!root.path().join(entry).exists(), "{entry} should be gone");
    }
    assert_eq!(
        std::fs::read(root.path().join("notes.txt")).unwrap(),
        b"mine"
    );
}

#[test]
fn a_file_in_the_way_or_an_unwritable_folder_is_a_clear_error() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let err = ArtifactDir::new(&file).prepare_new_run(false).unwrap_err();
    assert!(err.to_string().contains("not a folder"), "{err}");
    let err = ArtifactDir::new(file.join("below"))
        .prepare_new_run(false)
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
            std::fs::write(
                dir.checkpoint_dir().join(format!("{part}-{epoch}.bpk")),
                b"",
            )
            .unwrap();
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
    let err = dir.load_model_config().unwrap_err().to_string();
    assert!(err.contains("model.json"), "{err}");
}
