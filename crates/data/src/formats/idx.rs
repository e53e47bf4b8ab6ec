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
use crate::set::{ImageSet, Label};

/// Magic number of an IDX file of unsigned-byte images (three dimensions).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned-byte labels (one dimension).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// Largest body reserved up front; larger bodies grow as their bytes actually arrive.
const MAX_RESERVE: u64 = 64 << 20;

/// Largest body an IDX file may declare: 1 GiB, twenty times MNIST's training images (47 MB)
/// and above EMNIST's largest split (547 MB). A header asking for more is refused before
/// anything is read, so a gzip bomb behind a valid header (a tiny file that inflates to
/// terabytes of zeros) stops at once instead of filling memory.
pub const MAX_BODY_BYTES: u64 = 1 << 30;

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
    if let Some((index, &label)) = labels
        .iter()
        .enumerate()
        .find(|(_, label)| usize::from(**label) >= num_classes)
    {
        return Err(DataError::LabelOutOfRange {
            path: path.to_path_buf(),
            index,
            label: Label::from(label),
            max: num_classes.saturating_sub(1).min(255) as Label,
        });
    }
    Ok(labels)
}

/// Reads one split's image and label files, checks that they agree, and makes them a grey
/// [`ImageSet`]; every label must be below `num_classes`.
pub fn read_set(
    images_path: &Path,
    labels_path: &Path,
    num_classes: usize,
) -> Result<ImageSet, DataError> {
    let images = read_images(images_path)?;
    let labels = read_labels(labels_path, num_classes)?;
    if images.len() != labels.len() {
        return Err(DataError::CountMismatch {
            images: images_path.to_path_buf(),
            image_count: images.len(),
            labels: labels_path.to_path_buf(),
            label_count: labels.len(),
        });
    }
    let labels = labels.into_iter().map(Label::from).collect();
    ImageSet::grey(images.rows, images.cols, images.pixels, labels)
}

/// Opens `path`, decompressing on the fly when the content is gzip (detected from its first two
/// bytes, whatever the file is called).
fn open(path: &Path) -> Result<Box<dyn Read>, DataError> {
    let io_error = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    crate::ensure_regular_file(path)?;
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
///
/// The buffer grows as bytes arrive (never sized from the header alone), each step through
/// `try_reserve`, so a machine short of memory gets [`DataError::OutOfMemory`] naming the file
/// and the size instead of an abort.
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
    if expected > MAX_BODY_BYTES {
        return Err(DataError::Oversized {
            path: path.to_path_buf(),
            count,
            item_bytes,
            limit: MAX_BODY_BYTES,
        });
    }
    let mut body = Vec::new();
    while (body.len() as u64) < expected {
        let have = body.len() as u64;
        // Double what has arrived so far, starting at MAX_RESERVE, never past `expected`.
        let step = (expected - have).min(have.max(MAX_RESERVE));
        body.try_reserve_exact(step as usize)
            .map_err(|_| DataError::OutOfMemory {
                what: format!("the data of {}", path.display()),
                bytes: expected,
            })?;
        // The capacity is exactly enough: `read_to_end` fills it and never grows the buffer.
        let read = (&mut reader)
            .take(step)
            .read_to_end(&mut body)
            .map_err(|err| read_error(path, err))?;
        if (read as u64) < step {
            return Err(DataError::Truncated {
                path: path.to_path_buf(),
                expected,
                found: body.len() as u64,
            });
        }
    }
    // Read on to the end (at most MAX_RESERVE more, into nothing) to find trailing data, and
    // so that the gzip decoder checks the stream's checksum, which catches corruption inside
    // the body: a corrupt stream is reported as such rather than as trailing data.
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
