//! Decoding a picture file (PNG, JPEG, BMP, GIF, WebP) into pixels, within limits that keep a
//! small hostile file from taking the memory: the side, the decoded bytes, and no decompression
//! of a PNG's optional chunks.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageBuffer};

use crate::DataError;

/// Largest picture file read, in bytes.
pub const MAX_PICTURE_BYTES: u64 = 64 << 20;
/// Largest picture side accepted, in pixels; bigger pictures are refused before they are
/// decoded (a PNG of 30000x30000 pixels compresses to kilobytes but decodes to gigabytes).
pub const MAX_PICTURE_SIDE: u32 = 8192;
/// Largest decoded picture accepted, in bytes (96 MiB: a 24-megapixel RGB photo, or 4096x4096
/// RGBA at 8 bits a channel). Checked from the header, before decoding: an 8192x8192 16-bit RGBA
/// PNG compresses to a few hundred kilobytes and would decode to 512 MiB.
pub const MAX_DECODED_BYTES: u64 = 96 << 20;

/// Decodes a picture held in memory, its format found from its content; `name` labels the
/// errors. Refused before decoding: a side above [`MAX_PICTURE_SIDE`], a decoded size above
/// [`MAX_DECODED_BYTES`].
pub fn decode_picture(bytes: &[u8], name: &Path) -> Result<DynamicImage, DataError> {
    let bad = |reason: String| DataError::BadImage {
        path: name.to_path_buf(),
        reason,
    };
    let reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|err| bad(err.to_string()))?;
    match reader.format() {
        None => Err(bad("its content is not a known picture format".to_string())),
        Some(image::ImageFormat::Png) => decode_png(bytes, name),
        Some(_) => decode_other(reader, name),
    }
}

/// A PNG through the `png` crate itself: the `image` crate's PNG decoder decompresses the
/// colour-profile chunk (iCCP) into memory, up to its allocation limit (a 1 MB file can claim
/// a gigabyte), and offers no way to skip it; the `png` crate does. Profiles and text chunks
/// are not needed to read pixels, so both are skipped. 16-bit channels are reduced to 8.
fn decode_png(bytes: &[u8], name: &Path) -> Result<DynamicImage, DataError> {
    let bad = |reason: String| DataError::BadImage {
        path: name.to_path_buf(),
        reason,
    };
    let limits = png::Limits {
        bytes: usize::try_from(MAX_DECODED_BYTES).unwrap_or(usize::MAX),
    };
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), limits);
    decoder.set_ignore_iccp_chunk(true);
    decoder.set_ignore_text_chunk(true);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let header = decoder
        .read_header_info()
        .map_err(|err| bad(err.to_string()))?;
    let (width, height) = (header.width, header.height);
    check_side(width, height, name)?;
    let mut reader = decoder.read_info().map_err(|err| bad(err.to_string()))?;
    let size = reader.output_buffer_size().unwrap_or(usize::MAX);
    check_decoded(size as u64, width, height, name)?;
    let mut pixels = vec![0; size];
    let frame = reader
        .next_frame(&mut pixels)
        .map_err(|err| bad(err.to_string()))?;
    pixels.truncate(frame.buffer_size());
    let shape = || bad("its decoded pixels do not fill its declared size".to_string());
    Ok(match frame.color_type {
        png::ColorType::Grayscale => DynamicImage::ImageLuma8(
            ImageBuffer::from_raw(width, height, pixels).ok_or_else(shape)?,
        ),
        png::ColorType::GrayscaleAlpha => DynamicImage::ImageLumaA8(
            ImageBuffer::from_raw(width, height, pixels).ok_or_else(shape)?,
        ),
        png::ColorType::Rgb => {
            DynamicImage::ImageRgb8(ImageBuffer::from_raw(width, height, pixels).ok_or_else(shape)?)
        }
        png::ColorType::Rgba => DynamicImage::ImageRgba8(
            ImageBuffer::from_raw(width, height, pixels).ok_or_else(shape)?,
        ),
        png::ColorType::Indexed => {
            return Err(bad("its palette could not be expanded".to_string()));
        }
    })
}

/// Any other format through the `image` crate, whose decoders check the same limits.
fn decode_other(
    reader: image::ImageReader<Cursor<&[u8]>>,
    name: &Path,
) -> Result<DynamicImage, DataError> {
    let bad = |reason: String| DataError::BadImage {
        path: name.to_path_buf(),
        reason,
    };
    let mut decoder = reader.into_decoder().map_err(|err| bad(err.to_string()))?;
    let (width, height) = image::ImageDecoder::dimensions(&decoder);
    check_side(width, height, name)?;
    check_decoded(
        image::ImageDecoder::total_bytes(&decoder),
        width,
        height,
        name,
    )?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_PICTURE_SIDE);
    limits.max_image_height = Some(MAX_PICTURE_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    image::ImageDecoder::set_limits(&mut decoder, limits).map_err(|err| bad(err.to_string()))?;
    DynamicImage::from_decoder(decoder).map_err(|err| bad(err.to_string()))
}

/// An error when a side is above [`MAX_PICTURE_SIDE`].
pub(crate) fn check_side(width: u32, height: u32, name: &Path) -> Result<(), DataError> {
    if width > MAX_PICTURE_SIDE || height > MAX_PICTURE_SIDE {
        return Err(DataError::ImageTooLarge {
            path: name.to_path_buf(),
            width,
            height,
            limit: MAX_PICTURE_SIDE,
        });
    }
    Ok(())
}

fn check_decoded(bytes: u64, width: u32, height: u32, name: &Path) -> Result<(), DataError> {
    if bytes > MAX_DECODED_BYTES {
        return Err(DataError::BadImage {
            path: name.to_path_buf(),
            reason: format!(
                "it is {width}x{height} pixels and would decode to {} MiB, more than the {} MiB \
                 accepted; save it smaller (fewer pixels, or 8 bits a channel)",
                bytes.div_ceil(1 << 20),
                MAX_DECODED_BYTES >> 20
            ),
        });
    }
    Ok(())
}

/// Reads a picture file: a regular file of at most [`MAX_PICTURE_BYTES`] (a FIFO or a device
/// would block or never end), decoded by [`decode_picture`].
pub fn load_picture(path: &Path) -> Result<DynamicImage, DataError> {
    let bytes = crate::read_regular_file(path, MAX_PICTURE_BYTES, "a picture")?;
    decode_picture(&bytes, path)
}

/// How a picture is fitted to a model's input (the run records which, in its `model.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// As MNIST's digits were made ([`crate::digit::mnist_style`]): grey, light on dark,
    /// cropped to the strokes, scaled into a box and centred by mass; blank pictures refused.
    Digit,
    /// Stretched to the input's size and converted to its channels, as an image folder's
    /// pictures are when read.
    Resize,
}

/// `image` as an input image of `shape`, `[channels, height, width]`; `name` labels the
/// error of a blank picture (with [`Fit::Digit`]: nothing drawn).
pub fn fit_picture(
    image: &DynamicImage,
    shape: crate::ImageShape,
    fit: Fit,
    name: &Path,
) -> Result<Vec<u8>, DataError> {
    let mut out = vec![0; shape.size()];
    match fit {
        Fit::Digit => {
            let grey =
                crate::digit::mnist_style(image, shape.height, shape.width).ok_or_else(|| {
                    DataError::BlankImage {
                        path: name.to_path_buf(),
                    }
                })?;
            for plane in out.chunks_mut(grey.len()) {
                plane.copy_from_slice(&grey);
            }
        }
        Fit::Resize => crate::formats::folder::write_planar(image, shape, &mut out),
    }
    Ok(out)
}
