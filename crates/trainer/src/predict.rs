//! `trainer predict`: classify pictures of digits with a trained model.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use learner::{ArtifactDir, BackendKind};

use crate::output::say;

/// Extensions `predict` picks up from a folder (files named directly are always tried).
const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "bmp", "gif", "webp"];

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Artifacts folder of a trained model (model.json and model.bpk; config.json names the
    /// classes).
    #[arg(long, value_name = "DIR")]
    artifacts: PathBuf,
    /// Pictures of digits (PNG, JPEG, BMP, GIF, WebP; any size, dark-on-light or light-on-dark)
    /// or folders of them.
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<PathBuf>,
    /// How many of the most probable classes to print per image.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
    top: u16,
    /// Write each picture as the model sees it (the MNIST-style 28x28 image) into this folder,
    /// as <name>.mnist.png (<name>-2.mnist.png, ... when two inputs share a name); an existing
    /// file is never replaced.
    #[arg(long, value_name = "DIR")]
    save_inputs: Option<PathBuf>,
    /// Compute backend, among those compiled in.
    #[arg(long, value_name = "NAME")]
    backend: Option<BackendKind>,
}

/// Classifies every picture; one failed picture does not stop the others, but makes the
/// command fail at the end.
pub fn run(args: PredictArgs) -> Result<()> {
    let artifacts = ArtifactDir::new(&args.artifacts);
    let (_, device) = crate::pick_device(args.backend)?;
    let model = artifacts.load_model(&device)?;
    let class_names = match artifacts.load_config() {
        Ok(config) => config.task.class_names(config.dataset),
        Err(_) => (0..model.num_classes()).map(|c| c.to_string()).collect(),
    };
    let side = (model.input_size() as f64).sqrt().round() as usize;
    if side * side != model.input_size() {
        bail!(
            "the model takes {} pixels, which is no square image; predict handles square images only",
            model.input_size()
        );
    }
    if let Some(folder) = &args.save_inputs {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create --save-inputs folder {}", folder.display()))?;
    }

    let mut failures = 0usize;
    let mut files = Vec::new();
    for path in &args.images {
        match expand(path) {
            Ok(found) => files.extend(found),
            Err(err) => {
                failures += 1;
                report_failure(path, &err);
            }
        }
    }
    // Read every picture first, then classify all the good ones in one batch.
    let mut ready: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut saved_names = std::collections::HashSet::new();
    for file in files {
        let pixels = data::digit::load_digit(&file, side, side)
            .map_err(anyhow::Error::new)
            .and_then(|pixels| {
                if let Some(folder) = &args.save_inputs {
                    save_input(folder, &file, &pixels, side, &mut saved_names)?;
                }
                Ok(pixels)
            });
        match pixels {
            Ok(pixels) => ready.push((file, pixels)),
            Err(err) => {
                failures += 1;
                report_failure(&file, &err);
            }
        }
    }
    if !ready.is_empty() {
        // The batcher scales pixels exactly as in training; the labels (0) are unused.
        let images = data::MnistBatcher
            .from_images(
                ready.iter().map(|(_, image)| (image.as_slice(), 0)),
                side * side,
                &device,
            )
            .images;
        let probabilities: Vec<f32> = model
            .probabilities(images)
            .try_into_data()
            .map_err(|err| anyhow::anyhow!("cannot read the probabilities back: {err:?}"))?
            .iter::<f32>()
            .collect();
        let classes = model.num_classes();
        for ((file, _), row) in ready.iter().zip(probabilities.chunks(classes)) {
            let mut ranked: Vec<(usize, f32)> = row.iter().copied().enumerate().collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
            let shown: Vec<String> = ranked
                .iter()
                .take(usize::from(args.top))
                .map(|(class, p)| {
                    let name = class_names
                        .get(*class)
                        .map_or_else(|| class.to_string(), Clone::clone);
                    format!("{name} ({:.1} %)", 100.0 * p)
                })
                .collect();
            say!("{}: {}", file.display(), shown.join(", "));
        }
    }
    if failures > 0 {
        bail!(
            "{failures} of the inputs could not be classified (see the errors above); {} were",
            ready.len()
        );
    }
    Ok(())
}

/// A file stands for itself; a folder for the pictures in it (by extension, sorted by name).
fn expand(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot list folder {}", path.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|file| {
            file.is_file()
                && file.extension().is_some_and(|ext| {
                    IMAGE_EXTENSIONS.contains(&ext.to_string_lossy().to_lowercase().as_str())
                })
        })
        .collect();
    found.sort();
    if found.is_empty() {
        bail!(
            "the folder holds no pictures (files ending in {})",
            IMAGE_EXTENSIONS.join(", ")
        );
    }
    Ok(found)
}

/// One input's error on stderr; the other inputs go on.
fn report_failure(path: &Path, err: &anyhow::Error) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{}: error: {err:#}", path.display());
}

/// Writes what the model sees of `file` into `folder` as `<stem>.mnist.png`, or `<stem>-N` for
/// the N-th input of this call with that stem (`a/digit.png` and `b/digit.png`). A file already
/// there is never replaced: the picture is written beside it under a temporary name, then
/// renamed without replacing (tempfile's `persist_noclobber`), which fails if the name is taken.
fn save_input(
    folder: &Path,
    file: &Path,
    pixels: &[u8],
    side: usize,
    taken: &mut std::collections::HashSet<String>,
) -> Result<()> {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".to_string());
    let name = (1..)
        .map(|n| {
            if n == 1 {
                format!("{stem}.mnist.png")
            } else {
                format!("{stem}-{n}.mnist.png")
            }
        })
        .find(|name| !taken.contains(name))
        .expect("some name is free");
    taken.insert(name.clone());
    let target = folder.join(&name);
    let image = image::GrayImage::from_raw(side as u32, side as u32, pixels.to_vec())
        .context("an MNIST-style image has side x side pixels")?;
    let mut png = std::io::Cursor::new(Vec::new());
    image.write_to(&mut png, image::ImageFormat::Png)?;
    let mut scratch = tempfile::NamedTempFile::new_in(folder).with_context(|| {
        format!(
            "cannot write into --save-inputs folder {}",
            folder.display()
        )
    })?;
    use std::io::Write;
    scratch
        .write_all(&png.into_inner())
        .and_then(|()| scratch.as_file().sync_all())
        .with_context(|| format!("cannot write {}", target.display()))?;
    match scratch.persist_noclobber(&target) {
        Ok(_) => Ok(()),
        Err(err) if err.error.kind() == std::io::ErrorKind::AlreadyExists => bail!(
            "{} already exists and is not replaced; remove it, or give another --save-inputs \
             folder",
            target.display()
        ),
        Err(err) => Err(err.error).with_context(|| format!("cannot write {}", target.display())),
    }
}
