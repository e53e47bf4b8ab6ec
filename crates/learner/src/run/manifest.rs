//! What a run wrote into its artifacts folder (`manifest.jsonl`).
//!
//! Every file and folder a run creates is listed in the manifest *before* it is created, so the
//! manifest never misses what is on disk (a kill can at worst list a file that was never
//! written). `--overwrite` removes exactly what the manifest lists, and the temporary files of
//! those (a kill during an atomic write leaves one), and nothing else: a user's file inside the
//! folder, or inside a folder the run created, stays. A file that exists but is not listed is
//! never written over.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::{LearnerError, RUN_ENTRIES, TrainingConfig};

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.jsonl";
/// Largest manifest read (a run of 10,000 epochs lists about 5 MB).
const MAX_MANIFEST_BYTES: u64 = 256 << 20;
/// The manifest format written by this version.
const FORMAT: u32 = 1;

/// One line of the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Entry {
    /// The first line: what the file is.
    TrainerManifest(u32),
    /// The config the run (re)started with; the last one is what its checkpoints follow.
    Config(Box<TrainingConfig>),
    /// A folder the run created (it did not exist before).
    Dir(String),
    /// A file the run writes.
    File(String),
    /// How the run ended when it ended without its summary (`diverged`).
    Ended(String),
}

/// What an existing manifest says.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// The last config recorded.
    pub(crate) config: Option<TrainingConfig>,
    /// Folders the run created, as relative paths.
    dirs: Vec<PathBuf>,
    /// Files the run wrote, as relative paths.
    files: Vec<PathBuf>,
    /// How the run last ended without a summary, unless it was resumed since.
    pub(crate) ended: Option<String>,
}

/// The manifest of the run in an artifacts folder, open for appending.
#[derive(Debug)]
pub struct Manifest {
    root: PathBuf,
    file: Mutex<File>,
    listed: Mutex<HashSet<PathBuf>>,
}

impl Manifest {
    /// The manifest's path in `root`.
    pub fn path(root: &Path) -> PathBuf {
        root.join(MANIFEST)
    }

    /// Starts a fresh manifest in `root` (replacing an old one, whose files are gone).
    pub(crate) fn create(root: &Path) -> Result<Self, LearnerError> {
        let header = serde_json::to_string(&Entry::TrainerManifest(FORMAT))
            .expect("a manifest entry serialises");
        crate::write_atomic(&Self::path(root), format!("{header}\n").as_bytes())?;
        Self::open_append(root, HashSet::new())
    }

    /// Opens the manifest of the run in `root` for appending, with what it lists.
    pub(crate) fn open(root: &Path) -> Result<(Self, Listing), LearnerError> {
        let listing = Self::read(root)?;
        let listed = listing.files.iter().cloned().collect();
        Ok((Self::open_append(root, listed)?, listing))
    }

    fn open_append(root: &Path, listed: HashSet<PathBuf>) -> Result<Self, LearnerError> {
        let path = Self::path(root);
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|source| LearnerError::Write { path, source })?;
        Ok(Self {
            root: root.to_path_buf(),
            file: Mutex::new(file),
            listed: Mutex::new(listed),
        })
    }

    /// Reads the manifest of `root`. Lines that do not parse (a kill can cut the last one),
    /// and paths that leave the folder or are not part of a run's layout, are ignored: what
    /// they name is then never removed.
    pub(crate) fn read(root: &Path) -> Result<Listing, LearnerError> {
        let path = Self::path(root);
        let unreadable = |problem: String| LearnerError::ReadArtifact {
            path: path.clone(),
            problem,
        };
        let file = File::open(&path).map_err(|err| unreadable(err.to_string()))?;
        let mut listing = Listing::default();
        let mut header = false;
        let reader = BufReader::new(file.take(MAX_MANIFEST_BYTES));
        for line in reader.lines() {
            let line = line.map_err(|err| unreadable(err.to_string()))?;
            let Ok(entry) = serde_json::from_str::<Entry>(&line) else {
                continue;
            };
            match entry {
                Entry::TrainerManifest(format) => {
                    if format > FORMAT {
                        return Err(unreadable(format!(
                            "it is of format {format}, written by a newer trainer than this one \
                             (format {FORMAT}); use that trainer"
                        )));
                    }
                    header = true;
                }
                // A later config (a resume) starts the run again.
                Entry::Config(config) => {
                    listing.config = Some(*config);
                    listing.ended = None;
                }
                Entry::Dir(dir) => listing.dirs.extend(run_path(&dir)),
                Entry::File(file) => listing.files.extend(run_path(&file)),
                Entry::Ended(ending) => listing.ended = Some(ending),
            }
        }
        if !header {
            return Err(unreadable(
                "it is not a trainer manifest (no header line)".to_string(),
            ));
        }
        Ok(listing)
    }

    /// How the run in `root` ended without a summary (`diverged`), as its manifest records;
    /// `None` when it records no such ending (or since resumed), or cannot be read.
    pub fn ending(root: &Path) -> Option<String> {
        Self::read(root).ok()?.ended
    }

    /// Records how the run ended when it ends without a summary: `diverged`, or `imported
    /// from PyTorch` for a folder made by `trainer import-pytorch` (no training, no summary),
    /// which `trainer runs` shows as its status.
    pub fn record_ending(&self, ending: &str) -> Result<(), LearnerError> {
        self.append(&Entry::Ended(ending.to_string()))
    }

    /// Records the config the run starts (or resumes) with.
    pub(crate) fn record_config(&self, config: &TrainingConfig) -> Result<(), LearnerError> {
        self.append(&Entry::Config(Box::new(config.clone())))
    }

    /// Lists `path` (inside the folder) as written by this run, before it is written. A file
    /// that is already there but was not written by the run is refused: it is someone else's;
    /// so is a symbolic link, whoever made it.
    pub fn claim(&self, path: &Path) -> Result<(), LearnerError> {
        self.still_in_place()?;
        let relative = self.relative(path)?;
        // A link in a run's place is refused even where the run wrote that file before: writing
        // through it (Burn appends to `experiment.log`) would change the file it points to.
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(LearnerError::Artifacts {
                path: path.to_path_buf(),
                problem: "is a symbolic link, and a run writes only its own files, never through \
                          a link; move the link away"
                    .to_string(),
            });
        }
        let mut listed = self.listed.lock().unwrap_or_else(|p| p.into_inner());
        if listed.contains(&relative) {
            return Ok(());
        }
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(LearnerError::Artifacts {
                path: path.to_path_buf(),
                problem: "exists but was not written by this run, so it is not replaced; move it \
                          away, or choose another --artifacts folder"
                    .to_string(),
            });
        }
        self.append(&Entry::File(slash_path(&relative)))?;
        listed.insert(relative);
        Ok(())
    }

    /// Creates `dir` (inside the folder) and the folders above it, listing each one it creates.
    pub fn create_dir_all(&self, dir: &Path) -> Result<(), LearnerError> {
        let relative = self.relative(dir)?;
        let mut current = self.root.clone();
        for component in relative.components() {
            current.push(component);
            match std::fs::symlink_metadata(&current) {
                Ok(metadata) if metadata.file_type().is_dir() => continue,
                Ok(metadata) if metadata.file_type().is_symlink() => {
                    return Err(LearnerError::Artifacts {
                        path: current,
                        problem: "is a symbolic link; a run writes only inside its own folder, \
                                  so move the link away"
                            .to_string(),
                    });
                }
                _ => {}
            }
            self.append(&Entry::Dir(slash_path(
                current.strip_prefix(&self.root).unwrap_or(&current),
            )))?;
            match std::fs::create_dir(&current) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists && current.is_dir() => {
                }
                Err(source) => {
                    return Err(LearnerError::Write {
                        path: current,
                        source,
                    });
                }
            }
        }
        Ok(())
    }

    fn relative(&self, path: &Path) -> Result<PathBuf, LearnerError> {
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        run_path(&slash_path(relative)).ok_or_else(|| LearnerError::Artifacts {
            path: path.to_path_buf(),
            problem: format!(
                "is not part of a run's layout in {}; this is a bug, please report it",
                self.root.display()
            ),
        })
    }

    fn append(&self, entry: &Entry) -> Result<(), LearnerError> {
        self.still_in_place()?;
        let line = serde_json::to_string(entry).expect("a manifest entry serialises");
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // One write per line, in append mode: a kill leaves whole lines and at most one torn
        // last line, which the reader skips.
        file.write_all(format!("{line}\n").as_bytes())
            .map_err(|source| LearnerError::Write {
                path: Self::path(&self.root),
                source,
            })
    }
}

impl Manifest {
    /// An error when the folder's manifest is no longer the file this run writes: the folder
    /// was removed (`rm -rf run`) or replaced while the run was in it, maybe by a new run of
    /// the same name. Writing on by path would then put this run's files among another's (its
    /// lock, a file of the removed folder, no longer keeps the other run out).
    fn still_in_place(&self) -> Result<(), LearnerError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let held = self
                .file
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .metadata();
            let now = std::fs::symlink_metadata(Self::path(&self.root));
            if let (Ok(held), Ok(now)) = (&held, &now)
                && held.dev() == now.dev()
                && held.ino() == now.ino()
            {
                return Ok(());
            }
            Err(LearnerError::Artifacts {
                path: self.root.clone(),
                problem: format!(
                    "was removed or replaced while this run was writing in it (its {MANIFEST} is \
                     not this run's any more); nothing more is written there, so that two runs' \
                     files are never mixed: train again into a folder of its own"
                ),
            })
        }
        #[cfg(not(unix))]
        Ok(())
    }
}

/// Removes what the manifest of `root` lists, and the temporary files beside listed files;
/// then the folders the run created, where they are empty. Nothing else is touched: a listed
/// path that is not a regular file (a link someone put there), or that lies below a link, is
/// left as it is.
pub(crate) fn remove_listed(root: &Path) -> Result<(), LearnerError> {
    let listing = Manifest::read(root)?;
    let listed: HashSet<&PathBuf> = listing.files.iter().collect();
    let remove = |path: &Path| {
        std::fs::remove_file(path).map_err(|source| LearnerError::Write {
            path: path.to_path_buf(),
            source,
        })
    };
    for file in &listing.files {
        let path = root.join(file);
        if inside_without_links(root, file) && is_regular_file(&path) {
            remove(&path)?;
        }
    }
    // Temporary files of listed files (`<name>.<pid>-<n>.tmp`), in the folders listed files
    // live in.
    let folders: HashSet<PathBuf> = listing
        .files
        .iter()
        .map(|file| file.parent().map(Path::to_path_buf).unwrap_or_default())
        .collect();
    for folder in folders {
        if !inside_without_links(root, &folder) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(root.join(&folder)) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_temporary =
                temporary_of(&name).is_some_and(|original| listed.contains(&folder.join(original)));
            if is_temporary && is_regular_file(&entry.path()) {
                remove(&entry.path())?;
            }
        }
    }
    let mut dirs = listing.dirs;
    // Deepest first, so that a folder's own folders go before it.
    dirs.sort_by_key(|dir| std::cmp::Reverse(dir.components().count()));
    for dir in dirs {
        if inside_without_links(root, &dir) {
            // Fails, and is left, when something not ours is still inside.
            let _ = std::fs::remove_dir(root.join(dir));
        }
    }
    Ok(())
}

/// Removes the temporary copies of the manifest a process killed while it created one left
/// (`manifest.jsonl.<pid>-<n>.tmp`, by [`crate::write_atomic`]'s naming); called with the
/// folder's lock held, so no live process is writing one.
pub(crate) fn remove_stale_manifest_copies(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if temporary_of(&name) == Some(MANIFEST)
            && entry.file_type().is_ok_and(|kind| kind.is_file())
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The file whose temporary `name` is, for the atomic writers' names
/// (`<name>.<pid>-<n>.tmp`, as burn-pack and [`crate::write_atomic`] name them).
pub(crate) fn temporary_of(name: &str) -> Option<&str> {
    let stem = name.strip_suffix(".tmp")?;
    let (original, counters) = stem.rsplit_once('.')?;
    let (pid, count) = counters.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(pid) && digits(count) && !original.is_empty()).then_some(original)
}

/// `text` as a relative path of a run's layout: plain names only (no `..`, no root), starting
/// with one of the run's entries.
fn run_path(text: &str) -> Option<PathBuf> {
    let path = PathBuf::from(text);
    let plain = path.components().all(|c| matches!(c, Component::Normal(_)));
    let first = path.components().next()?.as_os_str().to_str()?.to_string();
    let known = RUN_ENTRIES.contains(&first.as_str())
        || temporary_of(&first).is_some_and(|original| RUN_ENTRIES.contains(&original))
        || is_event_file(&first);
    (plain && known).then_some(path)
}

/// Whether `name` is one of a run's TensorBoard event files.
pub(crate) fn is_event_file(name: &str) -> bool {
    name.strip_prefix(crate::record::events::EVENTS_PREFIX)
        .is_some_and(|rest| !rest.is_empty() && !rest.contains(['/', '\\']))
}

/// `path` with `/` between its parts, whatever the platform.
fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn is_regular_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

/// Whether no folder on the way from `root` to `relative` is a symbolic link (which could lead
/// out of the artifacts folder).
fn inside_without_links(root: &Path, relative: &Path) -> bool {
    let mut current = root.to_path_buf();
    for component in relative.parent().into_iter().flat_map(Path::components) {
        current.push(component);
        if std::fs::symlink_metadata(&current).is_ok_and(|m| m.file_type().is_symlink()) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_are_recognised() {
        assert_eq!(temporary_of("model-3.bpk.1234-0.tmp"), Some("model-3.bpk"));
        assert_eq!(temporary_of("summary.json.77-12.tmp"), Some("summary.json"));
        assert_eq!(temporary_of("summary.json.tmp"), None);
        assert_eq!(temporary_of("notes.a-b.tmp"), None);
        assert_eq!(temporary_of(".1-2.tmp"), None);
    }

    #[test]
    fn only_the_run_layout_is_accepted() {
        assert!(run_path("train/epoch-1/Loss.log").is_some());
        assert!(run_path("summary.json").is_some());
        assert!(run_path("summary.json.12-0.tmp").is_some());
        assert!(run_path("events.out.tfevents.1700000000.host.42").is_some());
        assert!(run_path("events.out.tfevents.").is_none());
        assert!(run_path("../etc/passwd").is_none());
        assert!(run_path("/etc/passwd").is_none());
        assert!(run_path("train/../../x").is_none());
        assert!(run_path("notes.txt").is_none());
        assert!(run_path("").is_none());
    }
}
