//! Reading IDX files, the format of MNIST and compatible datasets, raw or gzip-compressed.
//!
//! An IDX file is a big-endian header (a magic number, then one `u32` per dimension) followed
//! by the items. Every header is validated before its body is read, and the body is read
//! incrementally, so a corrupt header can neither panic nor trigger a huge allocation.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

use crate::DataError;

/// Magic number of an IDX file of unsigned-byte images (three dimensions).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned-byte labels (one dimension).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// Largest body reserved up front; larger bodies grow as their bytes actually arrive.
const MAX_RESERVE: u64 = 64 << 20;

/// The images of one IDX file, kept as bytes: `pixels[i * rows * cols..][..rows * cols]` is
/// image `i`, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Pixel rows per image.
    pub rows: usize,
    /// Pixel columns per image.
    pub cols: usize,
    /// All pixels, image after image.
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.pixels.len() / (self.rows * self.cols)
    }

    /// Whether the file held no image.
    pub fn is_empty(&self) -> bool {
        self.pixels.is_empty()
    }
}

/// Reads an IDX image file (`0x00000803`), raw or gzip-compressed.
pub fn read_images(path: &Path) -> Result<IdxImages, DataError> {
    images_from(open(path)?, path)
}

/// Parses the bytes of an IDX image file, raw or gzip-compressed; `name` labels the errors.
/// (What [`read_images`] does once the file is open; the fuzz target calls it.)
pub fn parse_images(bytes: &[u8], name: &Path) -> Result<IdxImages, DataError> {
    images_from(decode(bytes), name)
}

/// Parses the bytes of an IDX label file, raw or gzip-compressed; `name` labels the errors.
pub fn parse_labels(bytes: &[u8], name: &Path, num_classes: usize) -> Result<Vec<u8>, DataError> {
    labels_from(decode(bytes), name, num_classes)
}

fn images_from(mut reader: Box<dyn Read + '_>, path: &Path) -> Result<IdxImages, DataError> {
    let header = read_header::<4>(&mut reader, path, IMAGES_MAGIC, "images")?;
    let [_, count, rows, cols] = header;
    if rows == 0 || cols == 0 {
        return Err(DataError::BadDimensions {
            path: path.to_path_buf(),
            rows,
            cols,
        });
    }
    let item_bytes = u64::from(rows) * u64::from(cols);
    let pixels = read_body(reader, path, count, item_bytes)?;
    Ok(IdxImages {
        rows: rows as usize,
        cols: cols as usize,
        pixels,
    })
}

/// Reads an IDX label file (`0x00000801`), raw or gzip-compressed, and checks that every label
/// is below `num_classes`.
pub fn read_labels(path: &Path, num_classes: usize) -> Result<Vec<u8>, DataError> {
    labels_from(open(path)?, path, num_classes)
}

fn labels_from(
    mut reader: Box<dyn Read + '_>,
    path: &Path,
    num_classes: usize,
) -> Result<Vec<u8>, DataError> {
    let header = read_header::<2>(&mut reader, path, LABELS_MAGIC, "labels")?;
    let labels = read_body(reader, path, header[1], 1)?;
    let max = num_classes.saturating_sub(1).min(255) as u8;
    if let Some((index, &label)) = labels
        .iter()
        .enumerate()
        .find(|(_, label)| usize::from(**label) >= num_classes)
    {
        return Err(DataError::LabelOutOfRange {
            path: path.to_path_buf(),
            index,
            label,
            max,
        });
    }
    Ok(labels)
}

/// Opens `path`, decompressing on the fly when the content is gzip (detected from its first two
/// bytes, whatever the file is called).
fn open(path: &Path) -> Result<Box<dyn Read>, DataError> {
    let io_error = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    let mut reader = BufReader::new(file);
    reader.fill_buf().map_err(io_error)?;
    Ok(decode(reader))
}

/// Decompresses on the fly when the buffered content starts like gzip.
fn decode<'a>(mut reader: impl BufRead + 'a) -> Box<dyn Read + 'a> {
    let gzip = reader
        .fill_buf()
        .is_ok_and(|start| start.starts_with(&[0x1f, 0x8b]));
    if gzip {
        Box::new(MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    }
}

/// Reads the magic number, checks it, then reads the `N - 1` dimensions that follow; returns
/// all `N` big-endian `u32`s.
fn read_header<const N: usize>(
    reader: &mut dyn Read,
    path: &Path,
    expected: u32,
    kind: &'static str,
) -> Result<[u32; N], DataError> {
    let mut header = [0u32; N];
    for (position, value) in header.iter_mut().enumerate() {
        let mut bytes = [0u8; 4];
        read_exactly(reader, &mut bytes).map_err(|err| match err {
            Some(err) => read_error(path, err),
            None => DataError::TruncatedHeader {
                path: path.to_path_buf(),
                what: 4 * N,
            },
        })?;
        *value = u32::from_be_bytes(bytes);
        if position == 0 && *value != expected {
            return Err(DataError::BadMagic {
                path: path.to_path_buf(),
                expected_kind: kind,
                found: *value,
                expected,
            });
        }
    }
    Ok(header)
}

/// Fills `buffer`; `Err(None)` when the input ends first.
fn read_exactly(reader: &mut dyn Read, buffer: &mut [u8]) -> Result<(), Option<std::io::Error>> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => return Err(None),
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(Some(err)),
        }
    }
    Ok(())
}

/// Reads exactly `count * item_bytes` bytes and checks that nothing follows them.
fn read_body(
    mut reader: Box<dyn Read + '_>,
    path: &Path,
    count: u32,
    item_bytes: u64,
) -> Result<Vec<u8>, DataError> {
    let expected = u64::from(count)
        .checked_mul(item_bytes)
        .filter(|&n| usize::try_from(n).is_ok())
        .ok_or(DataError::TooLarge {
            path: path.to_path_buf(),
            count,
            item_bytes,
        })?;
    let mut body = Vec::with_capacity(expected.min(MAX_RESERVE) as usize);
    (&mut reader)
        .take(expected)
        .read_to_end(&mut body)
        .map_err(|err| read_error(path, err))?;
    let found = body.len() as u64;
    if found < expected {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected,
            found,
        });
    }
    // Read on to the end without keeping anything: this finds trailing data and makes the gzip
    // decoder check the stream's checksum, which catches corruption inside the body.
    let extra = std::io::copy(&mut reader.take(MAX_RESERVE), &mut std::io::sink())
        .map_err(|err| read_error(path, err))?;
    if extra > 0 {
        return Err(DataError::TrailingData {
            path: path.to_path_buf(),
            expected,
        });
    }
    Ok(body)
}

/// Errors raised while reading a body come from the file system or, for gzip files, from the
/// decompressor; the latter are reported as corruption.
fn read_error(path: &Path, err: std::io::Error) -> DataError {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::InvalidData | ErrorKind::InvalidInput | ErrorKind::UnexpectedEof => {
            DataError::CorruptGzip {
                path: path.to_path_buf(),
                reason: err.to_string(),
            }
        }
        _ => DataError::Io {
            path: path.to_path_buf(),
            source: err,
        },
    }
}
