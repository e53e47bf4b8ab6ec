//! Where a data set's files were found.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a dataset was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    /// A folder given on the command line (`--data-dir`).
    Folder(PathBuf),
    /// The folder the config's `dataset.path` names (a run records where its data was).
    Config(PathBuf),
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
            | Self::Config(folder)
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
            Self::Config(folder) => write!(f, "{} (dataset.path)", folder.display()),
            Self::Env { var, folder } => write!(f, "{} (${var})", folder.display()),
            Self::Installed(folder) => write!(f, "{} (system install)", folder.display()),
            Self::BurnCache(folder) => write!(f, "{} (Burn's MNIST cache)", folder.display()),
            Self::Downloaded(folder) => write!(f, "{} (downloaded by Burn)", folder.display()),
        }
    }
}

impl DataSource {
    /// What the source is called in an error about its folder: `--data-dir`, `dataset.path`.
    pub fn origin(&self) -> String {
        match self {
            Self::Folder(_) => "--data-dir".to_string(),
            Self::Config(_) => "dataset.path in the config".to_string(),
            Self::Env { var, .. } => format!("${var}"),
            Self::Installed(_) => "a system install".to_string(),
            Self::BurnCache(_) | Self::Downloaded(_) => "Burn's MNIST cache".to_string(),
        }
    }
}
