//! The lock that keeps one process at a time writing in an artifacts folder (`.lock`).
//!
//! The lock is an OS file lock (`flock`): the kernel releases it when the process ends, however
//! it ends, so a `kill -9` never leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

#[cfg(unix)]
use rustix::fs::OFlags;

use crate::LearnerError;

/// The lock file's name.
pub const LOCK: &str = ".lock";

/// An exclusive lock on an artifacts folder, held while a process writes in it.
#[derive(Debug)]
pub struct FolderLock {
    _file: File,
}

impl FolderLock {
    /// Creates the folder if needed and takes its lock, without waiting: a folder in use by
    /// another process is an error naming that process.
    pub fn acquire(root: &Path) -> Result<Self, LearnerError> {
        let problem = |problem: String| LearnerError::Artifacts {
            path: root.to_path_buf(),
            problem,
        };
        std::fs::create_dir_all(root).map_err(|err| {
            problem(format!(
                "cannot be created ({err}); choose a writable --artifacts folder"
            ))
        })?;
        let path = root.join(LOCK);
        let mut file = open_lock_file(&path).map_err(|err| match err {
            LockFileError::NotAFile(kind) => problem(format!(
                "holds a {LOCK} that is {kind}, not the lock file a run makes: someone put it \
                 there; move it away, or choose another --artifacts folder"
            )),
            LockFileError::Io(err) => problem(format!(
                "is not writable ({err}); choose a writable --artifacts folder"
            )),
        })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = Read::by_ref(&mut file).take(64).read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    "another process".to_string()
                } else {
                    format!("process {holder}")
                };
                return Err(problem(format!(
                    "is in use by {who} (a training, eval or import writing there); wait for it \
                     to finish, or choose another --artifacts folder"
                )));
            }
            Err(std::fs::TryLockError::Error(err)) => {
                return Err(problem(format!("cannot be locked ({err})")));
            }
        }
        // Who holds it, for the message a second process prints.
        let written = file
            .set_len(0)
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .and_then(|()| file.flush());
        written.map_err(|source| LearnerError::Write { path, source })?;
        Ok(Self { _file: file })
    }
}

/// Why the lock file could not be opened.
enum LockFileError {
    /// Something that is not a regular file is in its place: a link, a folder, a FIFO.
    NotAFile(&'static str),
    /// The operating system refused (a read-only folder, say).
    Io(std::io::Error),
}

/// Opens (creating it if needed) the lock file at `path` without following a symbolic link
/// (`O_NOFOLLOW`): a link planted there must not make the process write its number into the
/// file the link points to. Only a regular file is a lock.
fn open_lock_file(path: &Path) -> Result<File, LockFileError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Also O_NONBLOCK, so that a FIFO in its place cannot block the open.
        options
            .custom_flags(i32::try_from((OFlags::NOFOLLOW | OFlags::NONBLOCK).bits()).unwrap_or(0));
    }
    let kind_of = |path: &Path| {
        std::fs::symlink_metadata(path)
            .ok()
            .map(|metadata| data::file_kind(&metadata))
    };
    let file = match options.open(path) {
        Ok(file) => file,
        Err(err) => {
            return Err(match kind_of(path) {
                Some(kind) if kind != "a regular file" => LockFileError::NotAFile(kind),
                _ => LockFileError::Io(err),
            });
        }
    };
    let metadata = file.metadata().map_err(LockFileError::Io)?;
    if !metadata.is_file() {
        return Err(LockFileError::NotAFile(data::file_kind(&metadata)));
    }
    Ok(file)
}
