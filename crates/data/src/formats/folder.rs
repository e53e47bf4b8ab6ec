//! Image folders in torchvision's `ImageFolder` layout: `DIR/train/<class>/*.png` and
//! `DIR/test/<class>/*` (PNG, JPEG or BMP), one folder per class, the classes named by their
//! folders in sorted order.
//!
//! Reading goes in two passes over the files, both spread over the machine's cores: the
//! pictures' headers first (size and colour, cheap), from which the set's shape is settled,
//! then the pictures themselves, each decoded straight into its place in the set's one pixel
//! buffer, so memory holds the set's raw size and not a buffer per picture.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use image::imageops::FilterType;
use image::{ColorType, DynamicImage};

use crate::picture::{MAX_PICTURE_BYTES, check_side, decode_picture};
use crate::set::{ImageSet, ImageShape, Label};
use crate::{DataError, read_regular_file};

/// File extensions read as pictures (in any letter case).
pub const EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "bmp"];

/// How the pictures become images of one shape.
#[derive(Clone, Copy, Default)]
pub struct FolderOptions<'a> {
    /// `[height, width]` to resize every picture to; `None`: all must share one size.
    pub image_size: Option<[usize; 2]>,
    /// 1 or 3 channels to convert every picture to; `None`: grey if all are grey, else RGB.
    pub channels: Option<usize>,
    /// Called now and then with (pictures done, pictures in all), from the calling thread.
    pub progress: Option<&'a (dyn Fn(usize, usize) + Sync)>,
}

impl std::fmt::Debug for FolderOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FolderOptions")
            .field("image_size", &self.image_size)
            .field("channels", &self.channels)
            .finish()
    }
}

/// Whether `folder` has the layout: `train/` and `test/` folders.
pub fn found_in(folder: &Path) -> bool {
    folder.join("train").is_dir() && folder.join("test").is_dir()
}

/// The training and test sets of the image folder `folder`, and the class names.
pub fn read(
    folder: &Path,
    options: FolderOptions<'_>,
) -> Result<(ImageSet, ImageSet, Vec<String>), DataError> {
    let (train_dir, test_dir) = (folder.join("train"), folder.join("test"));
    for dir in [&train_dir, &test_dir] {
        if !dir.is_dir() {
            return Err(DataError::BadFolder {
                path: dir.clone(),
                problem: "is missing: an image folder holds train/<class>/ and test/<class>/ \
                          folders of pictures"
                    .to_string(),
            });
        }
    }
    let classes = class_folders(&train_dir)?;
    let test_classes = list_class_folders(&test_dir)?;
    if let Some(class) = classes.iter().find(|class| !test_classes.contains(class)) {
        return Err(DataError::BadFolder {
            path: test_dir.join(class),
            problem: format!(
                "is missing: class {class:?} has pictures in train/ but none in test/; every \
                 class needs test pictures too (or move train/{class} away)"
            ),
        });
    }
    if let Some(class) = test_classes.iter().find(|class| !classes.contains(class)) {
        return Err(DataError::BadFolder {
            path: test_dir.join(class),
            problem: format!(
                "is a class train/ does not have: the model could never predict {class:?}; add \
                 train/{class}/, or move test/{class} away"
            ),
        });
    }
    let train_files = labelled_files(&train_dir, &classes)?;
    let test_files = labelled_files(&test_dir, &classes)?;
    let all: Vec<&(PathBuf, Label)> = train_files.iter().chain(&test_files).collect();
    let headers = in_parallel(&all, options.progress, 0, |(path, _)| header(path))?;
    let shape = settle_shape(&all, &headers, options)?;
    let mut pixels = Vec::new();
    pixels
        .try_reserve_exact(all.len() * shape.size())
        .map_err(|_| DataError::OutOfMemory {
            what: format!("{} pictures of {shape}", all.len()),
            bytes: (all.len() * shape.size()) as u64,
        })?;
    pixels.resize(all.len() * shape.size(), 0);
    decode_all(&all, shape, &mut pixels, options.progress)?;
    let split = train_files.len() * shape.size();
    let test_pixels = pixels.split_off(split);
    let label = |files: &[(PathBuf, Label)]| files.iter().map(|(_, label)| *label).collect();
    let train = ImageSet::new(shape, pixels, label(&train_files))?;
    let test = ImageSet::new(shape, test_pixels, label(&test_files))?;
    Ok((train, test, classes))
}

/// The class folders of `dir`, sorted, at least two; files beside them are refused if they are
/// pictures (they belong in a class folder) and ignored otherwise.
fn class_folders(dir: &Path) -> Result<Vec<String>, DataError> {
    let classes = list_class_folders(dir)?;
    check_count(dir, &classes)?;
    Ok(classes)
}

/// The class folders of `dir`, sorted, however many.
fn list_class_folders(dir: &Path) -> Result<Vec<String>, DataError> {
    let mut classes = Vec::new();
    for (path, name, kind) in entries(dir)? {
        if kind.is_dir() {
            classes.push(name);
        } else if is_picture(&path) {
            return Err(DataError::BadFolder {
                path,
                problem: format!(
                    "is a picture outside any class folder: put it in {}/<class>/",
                    dir.display()
                ),
            });
        }
    }
    classes.sort();
    Ok(classes)
}

fn check_count(dir: &Path, classes: &[String]) -> Result<(), DataError> {
    if classes.len() < 2 {
        return Err(DataError::BadFolder {
            path: dir.to_path_buf(),
            problem: format!(
                "holds {} class folder{}; a classifier needs at least 2 classes, one folder each",
                classes.len(),
                if classes.len() == 1 { "" } else { "s" }
            ),
        });
    }
    if classes.len() > usize::from(Label::MAX) {
        return Err(DataError::BadFolder {
            path: dir.to_path_buf(),
            problem: format!(
                "holds {} class folders; at most {} classes are supported",
                classes.len(),
                Label::MAX
            ),
        });
    }
    Ok(())
}

/// The pictures of every class folder, sorted by name, with their labels. Refused: an empty
/// class folder, a folder inside one, a file that is not a picture; hidden files are skipped.
fn labelled_files(dir: &Path, classes: &[String]) -> Result<Vec<(PathBuf, Label)>, DataError> {
    let mut files = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        let class_dir = dir.join(class);
        let mut pictures = Vec::new();
        for (path, _, kind) in entries(&class_dir)? {
            if kind.is_dir() {
                return Err(DataError::BadFolder {
                    path,
                    problem: format!(
                        "is a folder inside the class folder {}: put the pictures directly in \
                         it (sub-folders are not read)",
                        class_dir.display()
                    ),
                });
            }
            if !is_picture(&path) {
                return Err(DataError::BadFolder {
                    path,
                    problem: format!(
                        "is not a picture (read are files ending in .{}); move it out of the \
                         class folder",
                        EXTENSIONS.join(", .")
                    ),
                });
            }
            pictures.push(path);
        }
        if pictures.is_empty() {
            return Err(DataError::BadFolder {
                path: class_dir,
                problem: "holds no pictures: a class needs at least one (or move the empty \
                          folder away)"
                    .to_string(),
            });
        }
        pictures.sort();
        files.extend(pictures.into_iter().map(|path| (path, label as Label)));
    }
    Ok(files)
}

/// The entries of `dir` but hidden ones (`.DS_Store`), with their names and kinds (links
/// followed: a link to a picture is a picture).
fn entries(dir: &Path) -> Result<Vec<(PathBuf, String, std::fs::FileType)>, DataError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DataError::Io { path, source }
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = std::fs::metadata(&path).map_err(io(&path))?.file_type();
        found.push((path, name, kind));
    }
    Ok(found)
}

fn is_picture(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

/// A picture's size and whether it is in colour, from its header.
fn header(path: &Path) -> Result<(u32, u32, bool), DataError> {
    let metadata = crate::ensure_regular_file(path)?;
    let bad = |reason: String| DataError::BadImage {
        path: path.to_path_buf(),
        reason,
    };
    if metadata.len() == 0 {
        return Err(bad("it is empty (0 bytes)".to_string()));
    }
    // A PNG's size is in its first chunk: checked before any decoder reads further (a header
    // may claim 30000x30000 pixels).
    if let Some((width, height)) = png_size(path) {
        check_side(width, height, path)?;
    }
    let reader = image::ImageReader::open(path)
        .map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .with_guessed_format()
        .map_err(|err| bad(err.to_string()))?;
    if reader.format().is_none() {
        let empty = std::fs::metadata(path).is_ok_and(|m| m.len() == 0);
        return Err(bad(if empty {
            "it is empty (0 bytes)".to_string()
        } else {
            "its content is not a known picture format".to_string()
        }));
    }
    let decoder = reader.into_decoder().map_err(|err| bad(err.to_string()))?;
    let (width, height) = image::ImageDecoder::dimensions(&decoder);
    check_side(width, height, path)?;
    let grey = matches!(
        image::ImageDecoder::color_type(&decoder),
        ColorType::L8 | ColorType::L16 | ColorType::La8 | ColorType::La16
    );
    Ok((width, height, !grey))
}

/// Width and height from a PNG's header (its IHDR chunk, right after the signature); `None`
/// for a file that is no PNG.
fn png_size(path: &Path) -> Option<(u32, u32)> {
    use std::io::Read;
    let mut head = [0u8; 24];
    std::fs::File::open(path).ok()?.read_exact(&mut head).ok()?;
    if &head[..8] != b"\x89PNG\r\n\x1a\n" || &head[12..16] != b"IHDR" {
        return None;
    }
    let number =
        |at: usize| u32::from_be_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    Some((number(16), number(20)))
}

/// The shape every picture becomes: the asked size, or the one all pictures share; the asked
/// channels, or grey only when every picture is grey.
fn settle_shape(
    files: &[&(PathBuf, Label)],
    headers: &[(u32, u32, bool)],
    options: FolderOptions<'_>,
) -> Result<ImageShape, DataError> {
    let [height, width] = match options.image_size {
        Some(size) => size,
        None => {
            let (first_width, first_height, _) = headers[0];
            if let Some(index) = headers
                .iter()
                .position(|&(w, h, _)| (w, h) != (first_width, first_height))
            {
                let (width, height, _) = headers[index];
                return Err(DataError::MixedSizes {
                    first: files[0].0.clone(),
                    first_size: (first_width, first_height),
                    other: files[index].0.clone(),
                    other_size: (width, height),
                });
            }
            [first_height as usize, first_width as usize]
        }
    };
    let channels = options
        .channels
        .unwrap_or(if headers.iter().any(|&(_, _, colour)| colour) {
            3
        } else {
            1
        });
    Ok(ImageShape::new(channels, height, width))
}

/// Decodes every picture into its slot of `pixels`, on every core.
fn decode_all(
    files: &[&(PathBuf, Label)],
    shape: ImageShape,
    pixels: &mut [u8],
    progress: Option<&(dyn Fn(usize, usize) + Sync)>,
) -> Result<(), DataError> {
    let slots: Vec<std::sync::Mutex<&mut [u8]>> = pixels
        .chunks_mut(shape.size())
        .map(std::sync::Mutex::new)
        .collect();
    let indexed: Vec<(usize, &PathBuf)> = files
        .iter()
        .enumerate()
        .map(|(index, (path, _))| (index, path))
        .collect();
    in_parallel(&indexed, progress, files.len(), |&(index, path)| {
        let image = load(path)?;
        let mut slot = slots[index].lock().unwrap_or_else(|p| p.into_inner());
        write_planar(&image, shape, &mut slot);
        Ok(())
    })?;
    Ok(())
}

fn load(path: &Path) -> Result<DynamicImage, DataError> {
    let bytes = read_regular_file(path, MAX_PICTURE_BYTES, "a picture")?;
    decode_picture(&bytes, path)
}

/// `image` resized to `shape` (stretched, as torchvision's `Resize((h, w))`), in its channels,
/// written as `[channels, height, width]`.
pub fn write_planar(image: &DynamicImage, shape: ImageShape, out: &mut [u8]) {
    let (width, height) = (shape.width as u32, shape.height as u32);
    let resized;
    let image = if (image.width(), image.height()) == (width, height) {
        image
    } else {
        resized = image.resize_exact(width, height, FilterType::Triangle);
        &resized
    };
    let plane = shape.height * shape.width;
    if shape.channels == 1 {
        out[..plane].copy_from_slice(image.to_luma8().as_raw());
        return;
    }
    let rgb = image.to_rgb8();
    for (index, pixel) in rgb.as_raw().chunks_exact(3).enumerate() {
        for (channel, &value) in pixel.iter().enumerate() {
            out[channel * plane + index] = value;
        }
    }
}

/// `work` on every item, spread over the cores; the results in order, or the error of the
/// first item (in order) that failed. `progress`, if any, hears (done + offset, total) every
/// quarter second from this thread.
fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    progress: Option<&(dyn Fn(usize, usize) + Sync)>,
    offset: usize,
    work: impl Fn(&T) -> Result<R, DataError> + Sync,
) -> Result<Vec<R>, DataError> {
    let total = items.len() * 2;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len().max(1));
    let chunk = items.len().div_ceil(threads).max(1);
    let done = AtomicUsize::new(0);
    let results: Vec<Result<Vec<R>, (usize, DataError)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .enumerate()
            .map(|(part, items)| {
                let (work, done) = (&work, &done);
                scope.spawn(move || {
                    let mut out = Vec::with_capacity(items.len());
                    for (index, item) in items.iter().enumerate() {
                        out.push(work(item).map_err(|err| (part * chunk + index, err))?);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(out)
                })
            })
            .collect();
        if let Some(progress) = progress {
            while !workers.iter().all(|worker| worker.is_finished()) {
                progress(offset + done.load(Ordering::Relaxed), total);
                std::thread::sleep(Duration::from_millis(250));
            }
        }
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|_| Err((usize::MAX, DataError::Panicked)))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(items.len());
    let mut first_error: Option<(usize, DataError)> = None;
    for result in results {
        match result {
            Ok(part) => out.extend(part),
            Err((index, err)) => {
                if first_error.as_ref().is_none_or(|(first, _)| index < *first) {
                    first_error = Some((index, err));
                }
            }
        }
    }
    match first_error {
        Some((_, err)) => Err(err),
        None => Ok(out),
    }
}
