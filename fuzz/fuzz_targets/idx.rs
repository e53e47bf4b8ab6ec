//! Any bytes, as an IDX image file and as an IDX label file, raw or gzip: the reader returns
//! data or a typed error. A panic, an abort, a timeout or an out-of-memory fails the run.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let name = Path::new("fuzz-input");
    match data::idx::parse_images(input, name) {
        Ok(images) => {
            assert!(images.rows > 0 && images.cols > 0);
            assert_eq!(images.pixels.len() % (images.rows * images.cols), 0);
        }
        Err(err) => assert!(err.to_string().contains("fuzz-input")),
    }
    match data::idx::parse_labels(input, name, 10) {
        Ok(labels) => assert!(labels.iter().all(|&label| label < 10)),
        Err(err) => assert!(err.to_string().contains("fuzz-input")),
    }
});
