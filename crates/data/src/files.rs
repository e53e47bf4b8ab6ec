//! Reading files safely: only regular files, within a size limit, so that a FIFO, a device or
//! a huge file gives a clear error instead of a hang or a read without end.

use std::path::Path;

use crate::DataError;

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

/// What a file system entry is, in words (`a FIFO (named pipe)`, `a folder`), from its metadata
/// (`symlink_metadata` tells a link as such).
pub fn file_kind(metadata: &std::fs::Metadata) -> &'static str {
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
    if metadata.file_type().is_symlink() {
        "a symbolic link"
    } else if metadata.is_dir() {
        "a folder"
    } else if metadata.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}
