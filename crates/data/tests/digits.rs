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
    let bytes = streamed_png(side, png::ColorType::Grayscale, png::BitDepth::Eight, 255);
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

/// A `side x side` PNG of one value, written row by row (the image crate would want the whole
/// picture in memory).
fn streamed_png(side: u32, color: png::ColorType, depth: png::BitDepth, value: u8) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    {
        let mut encoder = png::Encoder::new(&mut bytes, side, side);
        encoder.set_color(color);
        encoder.set_depth(depth);
        let mut encoder = encoder.write_header().unwrap();
        let row_bytes = side as usize * color.samples() * (depth as usize).div_ceil(8);
        let row = vec![value; row_bytes];
        let mut writer = encoder.stream_writer().unwrap();
        for _ in 0..side {
            std::io::Write::write_all(&mut writer, &row).unwrap();
        }
        writer.finish().unwrap();
        encoder.finish().unwrap();
    }
    bytes.into_inner()
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

#[test]
fn a_picture_one_pixel_high_of_alternating_pixels_is_not_blank() {
    let picture = DynamicImage::ImageLuma8(image::GrayImage::from_fn(3000, 1, |x, _| {
        image::Luma([if x % 2 == 0 { 0 } else { 255 }])
    }));
    assert!(mnist_style(&picture, 28, 28).is_some());
    let flat = DynamicImage::ImageLuma8(image::GrayImage::from_pixel(30, 1, image::Luma([9])));
    assert!(mnist_style(&flat, 28, 28).is_none());
}

/// The process's peak resident memory so far, in MiB (`VmHWM`).
fn peak_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .unwrap()
        / 1024
}

/// A small grey digit as a PNG with a colour-profile chunk (iCCP) whose compressed profile
/// inflates to `inflated` bytes of zeros.
fn png_with_iccp_bomb(inflated: usize) -> Vec<u8> {
    use flate2::Compression;
    use flate2::write::ZlibEncoder;
    use std::io::Write;
    let mut zlib = ZlibEncoder::new(Vec::new(), Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..inflated >> 20 {
        zlib.write_all(&zeros).unwrap();
    }
    let profile = zlib.finish().unwrap();
    let mut chunk_data = b"bomb\0\0".to_vec(); // profile name, NUL, compression method 0
    chunk_data.extend(&profile);
    let digit = bar(Rgba([255, 255, 255, 255]), Rgba([0, 0, 0, 255]));
    let plain = png(&DynamicImage::ImageRgba8(digit));
    // The iCCP chunk goes right after IHDR (8-byte signature + 25-byte IHDR chunk).
    let mut out = plain[..33].to_vec();
    out.extend((chunk_data.len() as u32).to_be_bytes());
    let mut typed = b"iCCP".to_vec();
    typed.extend(&chunk_data);
    out.extend(&typed);
    out.extend(crc32(&typed).to_be_bytes());
    out.extend(&plain[33..]);
    out
}

/// The CRC-32 PNG chunks carry (IEEE, reflected).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Issue 18, 7: a 1 MB colour profile that inflates to 1 GB is skipped, not inflated.
#[test]
fn a_colour_profile_bomb_is_not_inflated() {
    let bomb = png_with_iccp_bomb(1 << 30);
    assert!(bomb.len() < 2 << 20, "{} bytes", bomb.len());
    let before = peak_mib();
    let digit = digit_from_bytes(&bomb, Path::new("bomb.png"), 28, 28).unwrap();
    is_a_centred_bar(&digit);
    let grown = peak_mib().saturating_sub(before);
    assert!(grown < 200, "decoding took {grown} MiB more at its peak");
}

/// Issue 18, 8: an 8192x8192 16-bit RGBA PNG is within the side limit but would decode to
/// 256 MiB (after 16-bit channels are reduced to 8): refused by its decoded size.
#[test]
fn a_picture_too_large_decoded_is_refused_by_its_size() {
    let bytes = streamed_png(8192, png::ColorType::Rgba, png::BitDepth::Sixteen, 0);
    let before = peak_mib();
    let err = digit_from_bytes(&bytes, Path::new("deep.png"), 28, 28).unwrap_err();
    assert!(err.to_string().contains("would decode to 256 MiB"), "{err}");
    assert!(peak_mib().saturating_sub(before) < 64);
}
