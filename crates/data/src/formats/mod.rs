//! The file layouts a data set may come in, and finding which one a folder holds.
//!
//! - [`idx`] and [`idx_files`]: four IDX files (MNIST, Fashion-MNIST, KMNIST, ...);
//! - [`folder`]: `train/<class>/` and `test/<class>/` folders of pictures;
//! - [`cifar`]: CIFAR-10's and CIFAR-100's binary files.

pub mod cifar;
#[cfg(feature = "images")]
pub mod folder;
pub mod idx;
pub mod idx_files;

use std::path::{Path, PathBuf};

use crate::{DataError, Format};

/// The layout `folder` holds, looked for in this order: IDX files, CIFAR-10, CIFAR-100, an
/// image folder; also one level down, in the folder the archives unpack to
/// (`cifar-10-batches-bin/`, `cifar-100-binary/`). Returns the format and the folder that
/// holds its files.
pub fn detect(folder: &Path, origin: &str) -> Result<(Format, PathBuf), DataError> {
    if !folder.is_dir() {
        return Err(DataError::FolderMissing {
            path: folder.to_path_buf(),
            origin: origin.to_string(),
        });
    }
    let candidates = [
        folder.to_path_buf(),
        folder.join("cifar-10-batches-bin"),
        folder.join("cifar-100-binary"),
    ];
    for candidate in candidates.iter().filter(|dir| dir.is_dir()) {
        if idx_files::IdxFiles::in_folder(candidate, origin).is_ok() {
            return Ok((Format::Idx, candidate.clone()));
        }
        if cifar::Cifar::Ten.found_in(candidate) {
            return Ok((Format::Cifar10, candidate.clone()));
        }
        if cifar::Cifar::Hundred.found_in(candidate) {
            return Ok((Format::Cifar100, candidate.clone()));
        }
    }
    if folder.join("train").is_dir() && folder.join("test").is_dir() {
        return Ok((Format::ImageFolder, folder.to_path_buf()));
    }
    Err(DataError::UnknownLayout {
        folder: folder.to_path_buf(),
        origin: origin.to_string(),
    })
}
