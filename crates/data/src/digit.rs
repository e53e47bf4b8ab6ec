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

/// Fraction of the frame the digit's larger side fills: 20 of MNIST's 28 pixels.
const BOX: f64 = 20.0 / 28.0;
/// A pixel is part of a stroke when it is at least this bright relative to the brightest one.
const INK: f64 = 0.25;

/// Reads an image file and turns it into a `rows x cols` MNIST-style digit, row by row.
pub fn load_digit(path: &Path, rows: usize, cols: usize) -> Result<Vec<u8>, DataError> {
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let image = image::ImageReader::open(path)
        .map_err(io)?
        .with_guessed_format()
        .map_err(io)?
        .decode()
        .map_err(|err| DataError::BadImage {
            path: path.to_path_buf(),
            reason: err.to_string(),
        })?;
    mnist_style(&image, rows, cols).ok_or_else(|| DataError::BlankImage {
        path: path.to_path_buf(),
    })
}

/// Turns `image` into a `rows x cols` MNIST-style digit (light on dark, centred by mass), row by
/// row; `None` when the picture is blank (a single shade, no stroke to find).
pub fn mnist_style(image: &DynamicImage, rows: usize, cols: usize) -> Option<Vec<u8>> {
    let mut gray = image.to_luma8();
    if border_mean(&gray) > 127.0 {
        imageops::invert(&mut gray);
    }
    let background = border_median(&gray);
    let brightest = gray.pixels().map(|p| p.0[0]).max()?;
    if brightest <= background {
        return None;
    }
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
