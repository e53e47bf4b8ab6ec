//! Where the four IDX files come from: a folder named by the user, an environment variable, a
//! system install, Burn's MNIST cache, or Burn's download.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::{DataError, DatasetKind};

/// File name (without `.gz`) of the training images.
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
/// File name (without `.gz`) of the training labels.
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
/// File name (without `.gz`) of the test images.
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
/// File name (without `.gz`) of the test labels.
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// The four files of an MNIST-compatible dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxFiles {
    /// Training images.
    pub train_images: PathBuf,
    /// Training labels.
    pub train_labels: PathBuf,
    /// Test images.
    pub test_images: PathBuf,
    /// Test labels.
    pub test_labels: PathBuf,
}

impl IdxFiles {
    /// Finds the four standard files in `folder`, each either raw or with a `.gz` suffix (the
    /// raw file wins when both exist). `origin` says where the folder name came from, for error
    /// messages.
    pub fn in_folder(folder: &Path, origin: &str) -> Result<Self, DataError> {
        Self::in_folders([folder; 4], folder, origin)
    }

    /// Finds the files in Burn's MNIST cache layout: `root/train/` holds the training files and
    /// `root/test/` the test files (raw, as Burn's `MnistDataset` writes them).
    pub fn in_burn_cache(root: &Path) -> Result<Self, DataError> {
        let train = root.join("train");
        let test = root.join("test");
        Self::in_folders([&train, &train, &test, &test], root, "Burn's MNIST cache")
    }

    fn in_folders(folders: [&Path; 4], shown: &Path, origin: &str) -> Result<Self, DataError> {
        if !shown.is_dir() {
            return Err(DataError::FolderMissing {
                path: shown.to_path_buf(),
                origin: origin.to_string(),
            });
        }
        let names = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];
        let found: Vec<Option<PathBuf>> = folders
            .iter()
            .zip(names)
            .map(|(folder, name)| find_file(folder, name))
            .collect();
        let missing: Vec<String> = found
            .iter()
            .zip(names)
            .filter(|(path, _)| path.is_none())
            .map(|(_, name)| name.to_string())
            .collect();
        match found.as_slice() {
            [
                Some(train_images),
                Some(train_labels),
                Some(test_images),
                Some(test_labels),
            ] => Ok(Self {
                train_images: train_images.clone(),
                train_labels: train_labels.clone(),
                test_images: test_images.clone(),
                test_labels: test_labels.clone(),
            }),
            _ => Err(DataError::MissingFiles {
                folder: shown.to_path_buf(),
                origin: origin.to_string(),
                missing,
            }),
        }
    }
}

fn find_file(folder: &Path, name: &str) -> Option<PathBuf> {
    let raw = folder.join(name);
    let gz = folder.join(format!("{name}.gz"));
    // Anything by that name counts: reading it then says clearly if it is not a regular file.
    [raw, gz].into_iter().find(|path| path.exists())
}

/// Where a dataset was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    /// A folder given explicitly (the trainer's `--data-dir`).
    Folder(PathBuf),
    /// A folder named by an environment variable.
    Env {
        /// The variable.
        var: String,
        /// Its value.
        folder: PathBuf,
    },
    /// A system-wide install (Debian's `dataset-fashion-mnist` package).
    Installed(PathBuf),
    /// Burn's MNIST cache, filled by an earlier download.
    BurnCache(PathBuf),
    /// Burn's MNIST cache, filled by a download just now.
    Downloaded(PathBuf),
}

impl DataSource {
    /// The folder the files were read from.
    pub fn folder(&self) -> &Path {
        match self {
            Self::Folder(folder)
            | Self::Env { folder, .. }
            | Self::Installed(folder)
            | Self::BurnCache(folder)
            | Self::Downloaded(folder) => folder,
        }
    }
}

impl fmt::Display for DataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Folder(folder) => write!(f, "{} (--data-dir)", folder.display()),
            Self::Env { var, folder } => write!(f, "{} (${var})", folder.display()),
            Self::Installed(folder) => write!(f, "{} (system install)", folder.display()),
            Self::BurnCache(folder) => write!(f, "{} (Burn's MNIST cache)", folder.display()),
            Self::Downloaded(folder) => write!(f, "{} (downloaded by Burn)", folder.display()),
        }
    }
}

/// Finds the files of `kind`.
///
/// The order is: `data_dir` if given; else the dataset's environment variable (`MNIST_DIR` or
/// `FASHION_MNIST_DIR`); else, for Fashion-MNIST, Debian's install folder; else, for MNIST,
/// Burn's cache (`<cache>/burn-dataset/mnist`) when complete, else Burn's download (with the
/// `download` feature). A folder that was named but is wrong is an error, never silently
/// skipped.
pub fn locate(
    kind: DatasetKind,
    data_dir: Option<&Path>,
) -> Result<(IdxFiles, DataSource), DataError> {
    if let Some(folder) = data_dir {
        let files = IdxFiles::in_folder(folder, "--data-dir")?;
        return Ok((files, DataSource::Folder(folder.to_path_buf())));
    }
    let var = kind.env_var();
    if let Some(value) = std::env::var_os(var).filter(|value| !value.is_empty()) {
        let folder = PathBuf::from(value);
        let files = IdxFiles::in_folder(&folder, &format!("${var}"))?;
        return Ok((
            files,
            DataSource::Env {
                var: var.to_string(),
                folder,
            },
        ));
    }
    match kind {
        DatasetKind::FashionMnist => {
            let folder = PathBuf::from(FASHION_MNIST_SYSTEM_DIR);
            match IdxFiles::in_folder(&folder, "Debian's dataset-fashion-mnist") {
                Ok(files) => Ok((files, DataSource::Installed(folder))),
                Err(_) => Err(DataError::NotFound {
                    dataset: kind.to_string(),
                    hint: format!(
                        "pass --data-dir with the four Fashion-MNIST IDX files, set {var}, or \
                         install Debian's package (apt-get install dataset-fashion-mnist), which \
                         puts them in {FASHION_MNIST_SYSTEM_DIR}"
                    ),
                }),
            }
        }
        DatasetKind::Mnist => {
            let cache = burn_cache_root();
            if let Some(root) = &cache
                && let Ok(files) = IdxFiles::in_burn_cache(root)
            {
                return Ok((files, DataSource::BurnCache(root.clone())));
            }
            download_mnist(cache)
        }
    }
}

/// Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST.
pub const FASHION_MNIST_SYSTEM_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Burn's MNIST cache folder, `<user cache>/burn-dataset/mnist`, as `MnistDataset` uses it.
pub fn burn_cache_root() -> Option<PathBuf> {
    dirs::cache_dir().map(|cache| cache.join("burn-dataset").join("mnist"))
}

const NO_MNIST_HINT: &str = "pass --data-dir (or set MNIST_DIR) to a folder holding the four \
     MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, \
     t10k-labels-idx1-ubyte, raw or .gz)";

#[cfg(not(feature = "download"))]
fn download_mnist(_cache: Option<PathBuf>) -> Result<(IdxFiles, DataSource), DataError> {
    Err(DataError::NotFound {
        dataset: DatasetKind::Mnist.to_string(),
        hint: format!("{NO_MNIST_HINT}; this build has no downloader (feature `download`)"),
    })
}

#[cfg(feature = "download")]
fn download_mnist(cache: Option<PathBuf>) -> Result<(IdxFiles, DataSource), DataError> {
    use std::time::Duration;

    let Some(root) = cache else {
        return Err(DataError::NotFound {
            dataset: DatasetKind::Mnist.to_string(),
            hint: format!("{NO_MNIST_HINT}; there is no user cache folder for Burn's download"),
        });
    };
    // Burn's `MnistDataset` panics when the download fails. Check that its server is reachable
    // first, so an offline machine gets a clear error instead of a panic.
    if let Err(reason) = reachable(MNIST_HOST, Duration::from_secs(5)) {
        return Err(DataError::NotFound {
            dataset: DatasetKind::Mnist.to_string(),
            hint: format!(
                "{NO_MNIST_HINT}. Burn's MNIST cache {} is empty and its download server \
                 {MNIST_HOST} cannot be reached ({reason})",
                root.display()
            ),
        });
    }
    eprintln!("Downloading MNIST with Burn into {} ...", root.display());
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(|| {
        drop(burn_dataset::vision::MnistDataset::train());
        drop(burn_dataset::vision::MnistDataset::test());
    });
    std::panic::set_hook(previous_hook);
    if let Err(panic) = outcome {
        let reason = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown error".to_string());
        return Err(DataError::Download { reason });
    }
    let files = IdxFiles::in_burn_cache(&root)?;
    Ok((files, DataSource::Downloaded(root)))
}

#[cfg(feature = "download")]
const MNIST_HOST: &str = "storage.googleapis.com";

/// Resolves and connects to `host:443` within `timeout`, on a helper thread so that a hanging
/// name lookup cannot hang the caller.
#[cfg(feature = "download")]
fn reachable(host: &'static str, timeout: std::time::Duration) -> Result<(), String> {
    use std::net::{TcpStream, ToSocketAddrs};
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = (host, 443)
            .to_socket_addrs()
            .map_err(|err| format!("name lookup failed: {err}"))
            .and_then(|mut addrs| addrs.next().ok_or_else(|| "no address".to_string()))
            .and_then(|addr| {
                TcpStream::connect_timeout(&addr, timeout)
                    .map(drop)
                    .map_err(|err| format!("connection failed: {err}"))
            });
        let _ = sender.send(result);
    });
    receiver
        .recv_timeout(timeout + timeout)
        .unwrap_or_else(|_| Err("timed out".to_string()))
}

/// Checks that `path` is a regular file (symbolic links followed) before it is opened, so that
/// a FIFO (which would block the open until a writer comes), a device such as `/dev/zero`
/// (endless), or a folder gives a clear error instead of a hang or a read without end.
pub fn ensure_regular_file(path: &Path) -> Result<std::fs::Metadata, DataError> {
    let metadata = std::fs::metadata(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if metadata.is_file() {
        return Ok(metadata);
    }
    let kind = file_kind(&metadata);
    Err(DataError::NotAFile {
        path: path.to_path_buf(),
        kind,
    })
}

/// Reads the whole of the regular file `path` if it holds at most `limit` bytes; `what` names
/// what the file was to be read as, for the error.
pub fn read_regular_file(
    path: &Path,
    limit: u64,
    what: &'static str,
) -> Result<Vec<u8>, DataError> {
    use std::io::Read;
    let metadata = ensure_regular_file(path)?;
    let too_large = |size| DataError::FileTooLarge {
        path: path.to_path_buf(),
        size,
        limit,
        what,
    };
    if metadata.len() > limit {
        return Err(too_large(metadata.len()));
    }
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    // One byte past the limit tells a file that grew since it was measured.
    std::fs::File::open(path)
        .map_err(io)?
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// What a path that is not a regular file is, in words.
fn file_kind(metadata: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = metadata.file_type();
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if metadata.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}
