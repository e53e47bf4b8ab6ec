//! Pictures of digits turned into MNIST-style images: transparency, sizes, bad files.
#![cfg(feature = "images")]

use std::path::Path;

use data::DataError;
use data::digit::{MAX_PICTURE_SIDE, digit_from_bytes, load_digit, mnist_style};
use image::{DynamicImage, GrayImage, ImageFormat, Luma, Rgba, RgbaImage};

/// A 60x60 picture of a vertical bar (a "1"), `ink` on `paper`.
fn bar(ink: Rgba<u8>, paper: Rgba<u8>) -> RgbaImage {
    RgbaImage::from_fn(60, 60, |x, y| {
        if (27..33).contains(&x) && (10..50).contains(&y) {
            ink
        } else {
            paper
        }
    })
}

fn png(image: &DynamicImage) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, ImageFormat::Png).unwrap();
    bytes.into_inner()
}

/// The centre column of a 28x28 digit is bright, its corners dark: a light bar on black.
fn is_a_centred_bar(pixels: &[u8]) {
    assert_eq!(pixels.len(), 28 * 28);
    assert!(
        pixels[14 * 28 + 14] > 200,
        "centre {}",
        pixels[14 * 28 + 14]
    );
    for corner in [0, 27, 27 * 28, 28 * 28 - 1] {
        assert_eq!(pixels[corner], 0, "corner {corner}");
    }
}

#[test]
fn dark_strokes_on_a_transparent_background_are_found() {
    // What drawing apps and a canvas save: black strokes, the rest transparent black.
    let drawing = bar(Rgba([0, 0, 0, 255]), Rgba([0, 0, 0, 0]));
    let pixels = mnist_style(&DynamicImage::ImageRgba8(drawing), 28, 28).expect("not blank");
    is_a_centred_bar(&pixels);
}

#[test]
fn light_strokes_on_a_transparent_background_are_found() {
    let drawing = bar(Rgba([255, 255, 255, 255]), Rgba([255, 255, 255, 0]));
    let pixels = mnist_style(&DynamicImage::ImageRgba8(drawing), 28, 28).expect("not blank");
    is_a_centred_bar(&pixels);
}

#[test]
fn opaque_pictures_of_either_polarity_give_the_same_digit() {
    let dark_on_light = bar(Rgba([0, 0, 0, 255]), Rgba([255, 255, 255, 255]));
    let light_on_dark = bar(Rgba([255, 255, 255, 255]), Rgba([0, 0, 0, 255]));
    let a = mnist_style(&DynamicImage::ImageRgba8(dark_on_light), 28, 28).unwrap();
    let b = mnist_style(&DynamicImage::ImageRgba8(light_on_dark), 28, 28).unwrap();
    assert_eq!(a, b);
    is_a_centred_bar(&a);
}

#[test]
fn blank_and_fully_transparent_pictures_are_blank() {
    let clear = RgbaImage::from_pixel(40, 40, Rgba([0, 0, 0, 0]));
    assert!(mnist_style(&DynamicImage::ImageRgba8(clear.clone()), 28, 28).is_none());
    let err = digit_from_bytes(
        &png(&DynamicImage::ImageRgba8(clear)),
        Path::new("clear.png"),
        28,
        28,
    )
    .unwrap_err();
    assert!(matches!(err, DataError::BlankImage { .. }), "{err:?}");
    let grey = GrayImage::from_pixel(40, 40, Luma([128]));
    assert!(mnist_style(&DynamicImage::ImageLuma8(grey), 28, 28).is_none());
}

#[test]
fn a_huge_picture_is_refused_before_it_is_decoded() {
    // 30000 x 30000 pixels of one colour: a few hundred kilobytes as PNG, 900 MB decoded.
    let side = 30_000u32;
    let mut bytes = std::io::Cursor::new(Vec::new());
    {
        let mut encoder = png_encoder(&mut bytes, side);
        let row = vec![255u8; side as usize];
        let mut writer = encoder.stream_writer().unwrap();
        for _ in 0..side {
            std::io::Write::write_all(&mut writer, &row).unwrap();
        }
        writer.finish().unwrap();
        encoder.finish().unwrap();
    }
    let bytes = bytes.into_inner();
    assert!(bytes.len() < 4 << 20, "{} bytes", bytes.len());
    let err = digit_from_bytes(&bytes, Path::new("huge.png"), 28, 28).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::ImageTooLarge {
                width: 30_000,
                height: 30_000,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains(&format!("{MAX_PICTURE_SIDE}x{MAX_PICTURE_SIDE}")),
        "{err}"
    );
}

fn png_encoder<W: std::io::Write>(out: W, side: u32) -> png::Writer<W> {
    let mut encoder = png::Encoder::new(out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header().unwrap()
}

#[test]
fn files_that_are_not_pictures_or_not_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.png");
    std::fs::write(&text, "not a picture").unwrap();
    let err = load_digit(&text, 28, 28).unwrap_err();
    assert!(matches!(err, DataError::BadImage { .. }), "{err:?}");
    assert!(err.to_string().contains("notes.png"), "{err}");
    let err = load_digit(dir.path(), 28, 28).unwrap_err();
    assert!(matches!(err, DataError::NotAFile { .. }), "{err:?}");
    let fifo = dir.path().join("pipe.png");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        // Opening a FIFO blocks until a writer comes; it is refused before it is opened.
        let err = load_digit(&fifo, 28, 28).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
    }
}
