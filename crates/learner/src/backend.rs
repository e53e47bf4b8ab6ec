//! Choosing the compute backend at run time among those compiled in (cargo features).
//!
//! The device is always built explicitly: Burn's `Device::default()` follows its own priority
//! order and would silently pick another backend when several features are on.

use std::fmt;
use std::str::FromStr;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// The backends this workspace knows. Which ones a binary holds depends on its cargo features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// Burn's ndarray CPU backend (feature `ndarray`).
    Ndarray,
    /// Burn's flex CPU backend, the successor of ndarray (feature `flex`).
    Flex,
}

/// A backend that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The name matches no known backend.
    #[error("unknown backend `{name}`: known backends are {known}")]
    Unknown {
        /// The name given.
        name: String,
        /// The known names.
        known: String,
    },
    /// The backend exists but this binary was built without it.
    #[error(
        "backend `{name}` is not compiled into this binary (compiled in: {compiled}); rebuild with `--features {name}`, e.g. `cargo run --release -p trainer --features {name} -- --backend {name}`"
    )]
    NotCompiled {
        /// The backend asked for.
        name: &'static str,
        /// The backends that are compiled in.
        compiled: String,
    },
    /// The binary has no backend at all.
    #[error(
        "this binary was built without any backend; rebuild with one of the features ndarray, flex"
    )]
    NoneCompiled,
}

impl BackendKind {
    /// Every known backend, in order of preference when none is named.
    pub const ALL: [BackendKind; 2] = [BackendKind::Ndarray, BackendKind::Flex];

    /// The name used on the command line, in configs and in summaries.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ndarray => "ndarray",
            Self::Flex => "flex",
        }
    }

    /// Whether this binary was built with the backend.
    pub fn is_compiled(self) -> bool {
        match self {
            Self::Ndarray => cfg!(feature = "ndarray"),
            Self::Flex => cfg!(feature = "flex"),
        }
    }

    /// The compiled-in backends, in order of preference.
    pub fn compiled() -> Vec<BackendKind> {
        Self::ALL
            .into_iter()
            .filter(|kind| kind.is_compiled())
            .collect()
    }

    /// The backend used when none is named: the first compiled-in one.
    pub fn preferred() -> Result<BackendKind, BackendError> {
        Self::compiled()
            .into_iter()
            .next()
            .ok_or(BackendError::NoneCompiled)
    }

    /// Opens the backend's default device.
    pub fn device(self) -> Result<Device, BackendError> {
        if !self.is_compiled() {
            return Err(BackendError::NotCompiled {
                name: self.name(),
                compiled: compiled_names(),
            });
        }
        match self {
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            // burn 0.22 deprecates ndarray in favour of flex; we offer both
            Self::Ndarray => Ok(Device::ndarray()),
            #[cfg(feature = "flex")]
            Self::Flex => Ok(Device::flex()),
            #[allow(unreachable_patterns)]
            _ => unreachable!("is_compiled() is false for backends without their feature"),
        }
    }
}

fn compiled_names() -> String {
    let names: Vec<&str> = BackendKind::compiled()
        .into_iter()
        .map(BackendKind::name)
        .collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendKind {
    type Err = BackendError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| BackendError::Unknown {
                name: s.to_string(),
                known: Self::ALL.map(BackendKind::name).join(", "),
            })
    }
}
