//! Where the four IDX files are: in a folder, or, for a data set known by name, where its
//! environment variable, a system install, Burn's MNIST cache or Burn's download put them.

use std::path::{Path, PathBuf};

use crate::{DataError, DataSource};

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
                layout: "the four IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, \
                         t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each raw or \
                         gzip-compressed (.gz)"
                    .to_string(),
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

/// The IDX data sets known by name: their class names and where to look for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// Handwritten digits 0 to 9 (LeCun et al.).
    Mnist,
    /// Zalando's Fashion-MNIST: ten kinds of clothing in MNIST's format.
    FashionMnist,
}

impl Known {
    /// The data set called `name` (`mnist`, `fashion-mnist`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "mnist" => Some(Self::Mnist),
            "fashion-mnist" => Some(Self::FashionMnist),
            _ => None,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mnist => "mnist",
            Self::FashionMnist => "fashion-mnist",
        }
    }

    /// The environment variable that may name its folder.
    pub fn env_var(self) -> &'static str {
        match self {
            Self::Mnist => "MNIST_DIR",
            Self::FashionMnist => "FASHION_MNIST_DIR",
        }
    }

    /// Its class names, by label.
    pub fn class_names(self) -> Vec<String> {
        let names: [&str; 10] = match self {
            Self::Mnist => ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            Self::FashionMnist => [
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ],
        };
        names.iter().map(|name| name.to_string()).collect()
    }
}

/// Finds the files of the known data set `known` without a folder given: its environment
/// variable (`MNIST_DIR` or `FASHION_MNIST_DIR`); else, for Fashion-MNIST, Debian's install
/// folder; else, for MNIST, Burn's cache (`<cache>/burn-dataset/mnist`) when complete, else
/// Burn's download (with the `download` feature). A folder that was named but is wrong is an
/// error, never silently skipped.
pub fn locate(known: Known) -> Result<(IdxFiles, DataSource), DataError> {
    let var = known.env_var();
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
    match known {
        Known::FashionMnist => {
            let folder = PathBuf::from(FASHION_MNIST_SYSTEM_DIR);
            match IdxFiles::in_folder(&folder, "Debian's dataset-fashion-mnist") {
                Ok(files) => Ok((files, DataSource::Installed(folder))),
                Err(_) => Err(DataError::NotFound {
                    dataset: known.name().to_string(),
                    hint: format!(
                        "pass --data-dir with the four Fashion-MNIST IDX files, set {var}, or \
                         install Debian's package (apt-get install dataset-fashion-mnist), which \
                         puts them in {FASHION_MNIST_SYSTEM_DIR}"
                    ),
                }),
            }
        }
        Known::Mnist => {
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
        dataset: "mnist".to_string(),
        hint: format!("{NO_MNIST_HINT}; this build has no downloader (feature `download`)"),
    })
}

#[cfg(feature = "download")]
fn download_mnist(cache: Option<PathBuf>) -> Result<(IdxFiles, DataSource), DataError> {
    use std::time::Duration;

    let Some(root) = cache else {
        return Err(DataError::NotFound {
            dataset: "mnist".to_string(),
            hint: format!("{NO_MNIST_HINT}; there is no user cache folder for Burn's download"),
        });
    };
    // Burn's `MnistDataset` panics when the download fails. Check that its server is reachable
    // first, so an offline machine gets a clear error instead of a panic.
    if let Err(reason) = reachable(MNIST_HOST, Duration::from_secs(5)) {
        return Err(DataError::NotFound {
            dataset: "mnist".to_string(),
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

/// Whether `folder` holds any of the four IDX files (raw or `.gz`).
pub fn any_in(folder: &Path) -> bool {
    [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS]
        .iter()
        .any(|name| folder.join(name).exists() || folder.join(format!("{name}.gz")).exists())
}
