//! `predict`: classify pictures with a run's model, each turned into the model's input as the
//! run recorded (an MNIST-style digit, or the picture resized; the model's channels; its
//! normalisation).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use data::picture::Fit;
use data::{ImageBatcher, ImageShape};

use super::output::say;
use super::source::ModelSource;
use crate::{ArtifactDir, BackendKind};

/// Extensions `predict` picks up from a folder (files named directly are always tried).
const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "bmp", "gif", "webp"];

/// `predict`'s options.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Artifacts folder of a trained model (model.json and model.bpk).
    #[arg(long, value_name = "DIR")]
    artifacts: PathBuf,
    /// Pictures (PNG, JPEG, BMP, GIF, WebP; any size; digits dark-on-light or light-on-dark)
    /// or folders of them.
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<PathBuf>,
    /// How many of the most probable classes to print per image.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
    top: u16,
    /// Write each picture as the model sees it (the 28x28 MNIST-style digit, say) into this
    /// folder, as <name>.input.png (<name>-2.input.png, ... when two inputs share a name); an
    /// existing file is never replaced.
    #[arg(long, value_name = "DIR")]
    save_inputs: Option<PathBuf>,
    /// Compute backend, among those compiled in.
    #[arg(long, value_name = "NAME")]
    backend: Option<BackendKind>,
}

/// Pictures read, turned into inputs and classified at a time: the memory `predict` needs stays
/// bounded however many pictures (or folders of them) it is given.
const PICTURES_AT_A_TIME: usize = 256;

/// How a picture becomes the run's model input: its shape, fit and normalisation.
struct Input {
    shape: ImageShape,
    fit: Fit,
    normalize: Option<data::Normalize>,
}

impl Input {
    fn of(card: &model::zoo::ModelCard) -> Self {
        let input = card.input;
        Self {
            shape: ImageShape::new(input.channels, input.height, input.width),
            fit: match card.preprocess.fit {
                model::zoo::Fit::Digit => Fit::Digit,
                model::zoo::Fit::Resize => Fit::Resize,
            },
            normalize: card.preprocess.normalize.as_ref().map(|n| data::Normalize {
                mean: n.mean.clone(),
                std: n.std.clone(),
            }),
        }
    }
}

/// Classifies every picture, a few hundred at a time, printing as it goes; one failed picture
/// does not stop the others, but makes the command fail at the end.
pub fn predict(args: PredictArgs, source: &dyn ModelSource) -> Result<()> {
    let artifacts = ArtifactDir::new(&args.artifacts);
    let (_, device) = super::pick_device(args.backend)?;
    let loaded = source.open(&artifacts, &device)?;
    let input = Input::of(&loaded.card);
    if let Some(folder) = &args.save_inputs {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create --save-inputs folder {}", folder.display()))?;
    }
    let (files, mut failures) = expand_all(&args.images);
    let mut saved_names = std::collections::HashSet::new();
    let mut classified = 0;
    for chunk in files.chunks(PICTURES_AT_A_TIME) {
        let (ready, failed) = read_pictures(chunk, &input, &args, &mut saved_names);
        failures += failed;
        if !ready.is_empty() {
            let probabilities = classify(&loaded, &input, &ready, &device)?;
            print_ranked(&ready, &probabilities, &loaded.card, args.top)?;
        }
        classified += ready.len();
    }
    if failures > 0 {
        bail!(
            "{failures} of the inputs failed (see the errors above); {classified} were classified"
        );
    }
    Ok(())
}

/// The pictures the arguments name (folders expanded) and how many arguments failed.
fn expand_all(paths: &[PathBuf]) -> (Vec<PathBuf>, usize) {
    let mut failures = 0usize;
    let mut files = Vec::new();
    for path in paths {
        match expand(path) {
            Ok(found) => files.extend(found),
            Err(err) => {
                failures += 1;
                report_failure(path, &err);
            }
        }
    }
    (files, failures)
}

/// Reads `files` as the model's inputs (saving each with --save-inputs); the good ones and how
/// many failed, each failure reported.
fn read_pictures(
    files: &[PathBuf],
    input: &Input,
    args: &PredictArgs,
    saved_names: &mut std::collections::HashSet<String>,
) -> (Vec<(PathBuf, Vec<u8>)>, usize) {
    let mut ready = Vec::new();
    let mut failures = 0;
    for file in files {
        let pixels = data::picture::load_picture(file)
            .and_then(|image| data::picture::fit_picture(&image, input.shape, input.fit, file));
        match pixels {
            Ok(pixels) => {
                // A picture that cannot be saved is still classified; the failure is counted.
                if let Some(folder) = &args.save_inputs
                    && let Err(err) = save_input(folder, file, &pixels, input.shape, saved_names)
                {
                    failures += 1;
                    report_failure(file, &err);
                }
                ready.push((file.clone(), pixels));
            }
            Err(err) => {
                failures += 1;
                report_failure(file, &err.into());
            }
        }
    }
    (ready, failures)
}

/// The model's class probabilities for `ready`, one row per picture. The batcher scales (and
/// normalises) pixels exactly as in training; the labels (0) are unused.
fn classify(
    loaded: &model::zoo::LoadedRun,
    input: &Input,
    ready: &[(PathBuf, Vec<u8>)],
    device: &burn::prelude::Device,
) -> Result<Vec<f32>> {
    let images = ImageBatcher::new()
        .normalized(input.normalize.as_ref(), input.shape.channels)
        .from_images(
            ready.iter().map(|(_, image)| (image.as_slice(), 0)),
            input.shape,
            device,
        )
        .images;
    let model = &loaded.model;
    Ok(model
        .probabilities(model.logits(images))
        .try_into_data()
        .map_err(|err| anyhow::anyhow!("cannot read the probabilities back: {err:?}"))?
        .iter::<f32>()
        .collect())
}

/// One line per picture: its `top` most probable classes, by name.
fn print_ranked(
    ready: &[(PathBuf, Vec<u8>)],
    probabilities: &[f32],
    card: &model::zoo::ModelCard,
    top: u16,
) -> Result<()> {
    let classes = card.input.num_classes.max(1);
    for ((file, _), row) in ready.iter().zip(probabilities.chunks(classes)) {
        let mut ranked: Vec<(usize, f32)> = row.iter().copied().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let shown: Vec<String> = ranked
            .iter()
            .take(usize::from(top))
            .map(|(class, p)| {
                let name = card
                    .classes
                    .get(*class)
                    .map_or_else(|| class.to_string(), Clone::clone);
                format!("{name} ({:.1} %)", 100.0 * p)
            })
            .collect();
        say!("{}: {}", file.display(), shown.join(", "));
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

/// Writes what the model sees of `file` into `folder` as `<stem>.input.png`, or `<stem>-N` for
/// the N-th input of this call with that stem (`a/digit.png` and `b/digit.png`). A file already
/// there is never replaced: the picture is written beside it under a temporary name, then
/// renamed without replacing (tempfile's `persist_noclobber`), which fails if the name is taken.
fn save_input(
    folder: &Path,
    file: &Path,
    pixels: &[u8],
    shape: ImageShape,
    taken: &mut std::collections::HashSet<String>,
) -> Result<()> {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".to_string());
    let name = (1..)
        .map(|n| {
            if n == 1 {
                format!("{stem}.input.png")
            } else {
                format!("{stem}-{n}.input.png")
            }
        })
        .find(|name| !taken.contains(name))
        .expect("some name is free");
    taken.insert(name.clone());
    let target = folder.join(&name);
    let (width, height) = (shape.width as u32, shape.height as u32);
    let plane = shape.height * shape.width;
    let picture = if shape.channels == 3 {
        let interleaved = (0..plane)
            .flat_map(|at| (0..3).map(move |channel| pixels[channel * plane + at]))
            .collect();
        image::RgbImage::from_raw(width, height, interleaved).map(image::DynamicImage::ImageRgb8)
    } else {
        image::GrayImage::from_raw(width, height, pixels[..plane].to_vec())
            .map(image::DynamicImage::ImageLuma8)
    }
    .context("an input image has its shape's pixels")?;
    let mut png = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut png, image::ImageFormat::Png)?;
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
