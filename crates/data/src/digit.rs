//! Turning a picture of a digit (PNG, JPEG, any size) into an image that looks like MNIST's.
//!
//! MNIST digits are light strokes on a black background, scaled to fit a 20x20 box with their
//! aspect ratio kept, and placed in the 28x28 frame so that their centre of mass is at its centre
//! (LeCun et al.). [`mnist_style`] does the same to any picture: it converts to grayscale, inverts
//! dark-on-light pictures (judged from the border, which is background), crops to the strokes,
//! scales and centres them.

use std::path::Path;

use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage, Luma};

use crate::DataError;
pub use crate::picture::MAX_PICTURE_SIDE;
use crate::picture::{MAX_PICTURE_BYTES, decode_picture};

/// Fraction of the frame the digit's larger side fills: 20 of MNIST's 28 pixels.
const BOX: f64 = 20.0 / 28.0;
/// A pixel is part of a stroke when it is at least this bright relative to the brightest one.
const INK: f64 = 0.25;

/// Reads an image file and turns it into a `rows x cols` MNIST-style digit, row by row.
///
/// Only a regular file of at most [`crate::picture::MAX_PICTURE_BYTES`] is read (a FIFO or a device would
/// block or never end).
pub fn load_digit(path: &Path, rows: usize, cols: usize) -> Result<Vec<u8>, DataError> {
    let bytes = crate::read_regular_file(path, MAX_PICTURE_BYTES, "a picture")?;
    digit_from_bytes(&bytes, path, rows, cols)
}

/// Decodes a picture held in memory (PNG, JPEG, BMP, GIF or WebP, found from its content) and
/// turns it into a `rows x cols` MNIST-style digit; `name` labels the errors.
pub fn digit_from_bytes(
    bytes: &[u8],
    name: &Path,
    rows: usize,
    cols: usize,
) -> Result<Vec<u8>, DataError> {
    let image = decode_picture(bytes, name)?;
    mnist_style(&image, rows, cols).ok_or_else(|| DataError::BlankImage {
        path: name.to_path_buf(),
    })
}

/// Turns `image` into a `rows x cols` MNIST-style digit (light on dark, centred by mass), row by
/// row; `None` when the picture is blank (a single shade, no stroke to find).
pub fn mnist_style(image: &DynamicImage, rows: usize, cols: usize) -> Option<Vec<u8>> {
    let mut gray = flatten(image);
    if border_mean(&gray) > 127.0 {
        imageops::invert(&mut gray);
    }
    let brightest = gray.pixels().map(|p| p.0[0]).max()?;
    let darkest = gray.pixels().map(|p| p.0[0]).min()?;
    if brightest == darkest {
        return None; // a single shade: nothing drawn
    }
    // The border is background; where it holds as much stroke as background (a picture one
    // or two pixels thick is all border), the darkest shade is.
    let background = Some(border_median(&gray))
        .filter(|&median| median < brightest)
        .unwrap_or(darkest);
    // Subtract the background so that it becomes black, then crop to the strokes.
    let range = f64::from(brightest - background);
    for pixel in gray.pixels_mut() {
        let value = f64::from(pixel.0[0].saturating_sub(background)) / range * 255.0;
        pixel.0[0] = value.round() as u8;
    }
    let threshold = (INK * 255.0) as u8;
    let (mut left, mut top, mut right, mut bottom) = (u32::MAX, u32::MAX, 0, 0);
    for (x, y, pixel) in gray.enumerate_pixels() {
        if pixel.0[0] >= threshold {
            left = left.min(x);
            top = top.min(y);
            right = right.max(x);
            bottom = bottom.max(y);
        }
    }
    if left > right || top > bottom {
        return None;
    }
    let cropped =
        imageops::crop_imm(&gray, left, top, right - left + 1, bottom - top + 1).to_image();

    // Scale the larger side to the box, keeping the aspect ratio.
    let (width, height) = (f64::from(cropped.width()), f64::from(cropped.height()));
    let scale = (BOX * cols as f64 / width).min(BOX * rows as f64 / height);
    let new_width = ((width * scale).round() as u32).clamp(1, cols as u32);
    let new_height = ((height * scale).round() as u32).clamp(1, rows as u32);
    let scaled = imageops::resize(&cropped, new_width, new_height, FilterType::Triangle);

    // Place it so that its centre of mass lands on the frame's centre, inside the frame.
    let (mass, sum_x, sum_y) = scaled
        .enumerate_pixels()
        .fold((0.0, 0.0, 0.0), |acc, (x, y, p)| {
            let v = f64::from(p.0[0]);
            (
                acc.0 + v,
                acc.1 + v * f64::from(x),
                acc.2 + v * f64::from(y),
            )
        });
    let (center_x, center_y) = if mass > 0.0 {
        (sum_x / mass, sum_y / mass)
    } else {
        (f64::from(new_width) / 2.0, f64::from(new_height) / 2.0)
    };
    let offset = |center: f64, frame: usize, size: u32| {
        let wanted = (frame as f64 / 2.0 - center).round() as i64;
        wanted.clamp(0, frame as i64 - i64::from(size))
    };
    let mut frame = GrayImage::from_pixel(cols as u32, rows as u32, Luma([0]));
    imageops::overlay(
        &mut frame,
        &scaled,
        offset(center_x, cols, new_width),
        offset(center_y, rows, new_height),
    );
    Some(frame.into_raw())
}

/// The picture in grayscale. A picture with transparency (what drawing apps and an HTML canvas
/// save: strokes on a transparent background, whose hidden colour is often black) is first laid
/// over a background that contrasts with its visible pixels: white under dark strokes, black
/// under light ones, so that the strokes stay visible whatever colour hides under the
/// transparency.
fn flatten(image: &DynamicImage) -> GrayImage {
    if !image.color().has_alpha() {
        return image.to_luma8();
    }
    let gray_alpha = image.to_luma_alpha8();
    let (ink, weight) = gray_alpha
        .pixels()
        .fold((0.0, 0.0), |(ink, weight), pixel| {
            let [luma, alpha] = pixel.0;
            let alpha = f64::from(alpha);
            (ink + f64::from(luma) * alpha, weight + alpha)
        });
    if weight == 0.0 {
        // Nothing visible at all: a blank picture.
        return GrayImage::new(gray_alpha.width(), gray_alpha.height());
    }
    let background = if ink / weight < 128.0 { 255.0 } else { 0.0 };
    let (width, height) = gray_alpha.dimensions();
    GrayImage::from_fn(width, height, |x, y| {
        let [luma, alpha] = gray_alpha.get_pixel(x, y).0;
        let alpha = f64::from(alpha) / 255.0;
        Luma([(f64::from(luma) * alpha + background * (1.0 - alpha)).round() as u8])
    })
}

fn border(gray: &GrayImage) -> Vec<u8> {
    let (width, height) = gray.dimensions();
    gray.enumerate_pixels()
        .filter(|(x, y, _)| *x == 0 || *y == 0 || *x + 1 == width || *y + 1 == height)
        .map(|(_, _, p)| p.0[0])
        .collect()
}

fn border_mean(gray: &GrayImage) -> f64 {
    let border = border(gray);
    border.iter().map(|&v| f64::from(v)).sum::<f64>() / border.len().max(1) as f64
}

fn border_median(gray: &GrayImage) -> u8 {
    let mut border = border(gray);
    border.sort_unstable();
    border.get(border.len() / 2).copied().unwrap_or(0)
}
