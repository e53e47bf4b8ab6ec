//! Turning images into batch tensors: scaling, optional normalisation and augmentation.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::{Augment, ImageItem, ImageSet, ImageShape, Normalize};

/// A batch ready for a model.
#[derive(Debug, Clone)]
pub struct ImageBatch {
    /// Images, shape `[batch, channels, height, width]`, `f32`: pixel / 255 (what PyTorch's
    /// `ToTensor` does), then normalised if the data asks for it.
    pub images: Tensor<4>,
    /// Class indices, shape `[batch]`.
    pub targets: Tensor<1, Int>,
}

/// Builds [`ImageBatch`]es: one tensor of images and one of labels per batch, each built from a
/// single buffer (no tensor per image).
///
/// It works with Burn's own `DataLoaderBuilder` over an [`ImageSet`] (as a `Dataset` of
/// [`ImageItem`]s); this crate's [`ImageLoader`](crate::ImageLoader) calls
/// [`ImageBatcher::gather`] directly and skips the per-item copies.
#[derive(Debug, Clone, Default)]
pub struct ImageBatcher {
    /// Per channel, the float of each of the 256 pixel values, normalised
    /// (`(pixel / 255 - mean) / std`); empty for none.
    normalized: Vec<Levels>,
    augment: Augment,
}

impl ImageBatcher {
    /// Pixels scaled to `[0, 1]`, nothing more.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also normalises each channel, `(pixel / 255 - mean) / std`; `normalize` must hold one
    /// value per channel, or one for all (see [`ImageData`](crate::ImageData), which checks it).
    pub fn normalized(mut self, normalize: Option<&Normalize>, channels: usize) -> Self {
        self.normalized = match normalize {
            None => Vec::new(),
            Some(normalize) => (0..channels)
                .map(|channel| {
                    let pick = |values: &[f64]| values[channel.min(values.len() - 1)] as f32;
                    let (mean, std) = (pick(&normalize.mean), pick(&normalize.std));
                    Levels(Box::new(std::array::from_fn(|pixel| {
                        (f32::from(pixel as u8) / 255.0 - mean) / std
                    })))
                })
                .collect(),
        };
        self
    }

    /// Also augments every image of [`gather_augmented`](Self::gather_augmented)'s batches.
    pub fn augmented(mut self, augment: Augment) -> Self {
        self.augment = augment;
        self
    }

    /// Whether batches are augmented.
    pub fn augments(&self) -> bool {
        self.augment.is_active()
    }

    /// Builds a batch from images of `shape` given as `(pixels, label)` pairs.
    ///
    /// # Panics
    ///
    /// If an image does not have `shape.size()` pixels.
    pub fn from_images<'a>(
        &self,
        images: impl ExactSizeIterator<Item = (&'a [u8], u16)>,
        shape: ImageShape,
        device: &Device,
    ) -> ImageBatch {
        self.build(images, shape, device, None)
    }

    /// Builds a batch from the images of `set` at `indices`.
    ///
    /// # Panics
    ///
    /// If an index is out of range.
    pub fn gather(&self, set: &ImageSet, indices: &[usize], device: &Device) -> ImageBatch {
        self.from_images(
            indices.iter().map(|&i| (set.image(i), set.label(i))),
            set.shape(),
            device,
        )
    }

    /// [`gather`](Self::gather), each image augmented with draws from `seed` (the same seed
    /// gives the same batch: a resumed run repeats it).
    pub fn gather_augmented(
        &self,
        set: &ImageSet,
        indices: &[usize],
        device: &Device,
        seed: u64,
    ) -> ImageBatch {
        let mut rng = StdRng::seed_from_u64(seed);
        self.build(
            indices.iter().map(|&i| (set.image(i), set.label(i))),
            set.shape(),
            device,
            Some(&mut rng),
        )
    }

    fn build<'a>(
        &self,
        images: impl ExactSizeIterator<Item = (&'a [u8], u16)>,
        shape: ImageShape,
        device: &Device,
        rng: Option<&mut StdRng>,
    ) -> ImageBatch {
        let count = images.len();
        let mut pixels = Vec::with_capacity(count * shape.size());
        let mut labels = Vec::with_capacity(count);
        pulp::Arch::new().dispatch(Convert {
            batcher: self,
            images,
            shape,
            rng,
            pixels: &mut pixels,
            labels: &mut labels,
        });
        let dims = [count, shape.channels, shape.height, shape.width];
        ImageBatch {
            images: Tensor::from_data(TensorData::new(pixels, dims), device),
            targets: Tensor::from_data(TensorData::new(labels, [count]), device),
        }
    }

    /// Appends `image`'s values as floats. Inlined into [`Convert`]'s loop, so that it is
    /// compiled with the vector instructions that loop runs with.
    #[inline(always)]
    fn scale(&self, image: &[u8], shape: ImageShape, out: &mut Vec<f32>) {
        if self.normalized.is_empty() {
            out.extend(image.iter().map(|&pixel| unit(pixel)));
            return;
        }
        let plane = shape.height * shape.width;
        for (values, levels) in image.chunks_exact(plane).zip(&self.normalized) {
            out.extend(values.iter().map(|&pixel| levels.0[usize::from(pixel)]));
        }
    }
}

/// A batch's images turned into floats (augmented first, if asked) and its labels collected,
/// as one operation for [`pulp::Arch::dispatch`]: its loop is compiled for the widest vector
/// instructions the CPU has (AVX-512 or AVX2 on x86-64), chosen at run time. Built for the
/// x86-64 baseline, the conversion went 4 pixels at a time. The values are the same: Rust fuses
/// no multiplication and addition into one, whatever the instructions. `with_simd` and what it
/// calls per pixel are inlined into the dispatched function, which a closure was not.
///
/// A logistic regression's loader threads used a third less CPU (`perf record` of `trainer
/// bench --model logistic --epochs 20`: 1,527 to 1,023 samples), and the MLP's epochs, whose
/// matrix products want the loader's core, went 0.462 to 0.454 s (docs/benchmarks.md, "Batches
/// converted with the CPU's widest vectors").
struct Convert<'a, I> {
    batcher: &'a ImageBatcher,
    images: I,
    shape: ImageShape,
    rng: Option<&'a mut StdRng>,
    pixels: &'a mut Vec<f32>,
    labels: &'a mut Vec<i64>,
}

impl<'i, I: Iterator<Item = (&'i [u8], u16)>> pulp::WithSimd for Convert<'_, I> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Self {
            batcher,
            images,
            shape,
            mut rng,
            pixels,
            labels,
        } = self;
        let size = shape.size();
        let mut scratch = Vec::new();
        for (image, label) in images {
            assert_eq!(
                image.len(),
                size,
                "every image of a batch must have {size} values"
            );
            let image = match rng.as_deref_mut() {
                Some(rng) if batcher.augment.is_active() => {
                    augment(image, shape, batcher.augment, rng, &mut scratch);
                    scratch.as_slice()
                }
                _ => image,
            };
            batcher.scale(image, shape, pixels);
            labels.push(i64::from(label));
        }
    }
}

/// The 256 floats a channel's pixel values become, computed once (a lookup costs less than the
/// two divisions of `(pixel / 255 - mean) / std`, and gives exactly their result).
#[derive(Clone)]
struct Levels(Box<[f32; 256]>);

/// The two ends of the range rather than all 256 values.
impl std::fmt::Debug for Levels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Levels({} to {})", self.0[0], self.0[255])
    }
}

/// `1 / 255` split in two: `UNIT_HIGH` has 12 significant bits, so that a pixel times it is
/// exact, and `UNIT_LOW` is the rest, rounded to `f32`.
const UNIT_HIGH: f32 = 4112.0 / 1_048_576.0;
const UNIT_LOW: f32 = (1.0 / 255.0 - 4112.0 / 1_048_576.0) as f32;

/// `pixel / 255` in `f32`, exactly as the division rounds it (torchvision's `ToTensor` values;
/// a multiplication by `1 / 255` differs for 126 of the 256 pixel values), with two
/// multiplications and an addition instead of a division (one vector division every few cycles
/// on the x86-64 baseline): a batch of 128 MNIST images in 12 µs instead of 25.6 in a
/// stand-alone loop. In the trainer the loader waits mostly on reading the shuffled images from
/// memory, so its time hardly changed (docs/benchmarks.md). The test
/// `unit_is_the_division_for_every_pixel_value` checks all 256 values.
#[inline(always)]
fn unit(pixel: u8) -> f32 {
    let value = f32::from(pixel);
    value * UNIT_HIGH + value * UNIT_LOW
}

/// `image` shifted by a random crop of the padded image and mirrored at random, into `out`.
fn augment(image: &[u8], shape: ImageShape, augment: Augment, rng: &mut StdRng, out: &mut Vec<u8>) {
    let pad = augment.crop_padding as i64;
    let (dx, dy) = if pad > 0 {
        (rng.random_range(-pad..=pad), rng.random_range(-pad..=pad))
    } else {
        (0, 0)
    };
    let flip = augment.horizontal_flip && rng.random_bool(0.5);
    let (height, width) = (shape.height as i64, shape.width as i64);
    out.clear();
    out.resize(image.len(), 0);
    let plane = (height * width) as usize;
    for channel in 0..shape.channels {
        let (source, target) = (
            &image[channel * plane..(channel + 1) * plane],
            &mut out[channel * plane..(channel + 1) * plane],
        );
        for y in 0..height {
            let from_y = y + dy;
            if !(0..height).contains(&from_y) {
                continue; // padding: black
            }
            for x in 0..width {
                let column = if flip { width - 1 - x } else { x };
                let from_x = column + dx;
                if (0..width).contains(&from_x) {
                    target[(y * width + x) as usize] = source[(from_y * width + from_x) as usize];
                }
            }
        }
    }
}

impl Batcher<ImageItem, ImageBatch> for ImageBatcher {
    fn batch(&self, items: Vec<ImageItem>, device: &Device) -> ImageBatch {
        let shape = items
            .first()
            .map_or(ImageShape::new(1, 1, 1), |item| item.shape);
        self.from_images(
            items.iter().map(|item| (item.image.as_slice(), item.label)),
            shape,
            device,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_is_the_division_for_every_pixel_value() {
        for pixel in 0..=255u8 {
            assert_eq!(
                unit(pixel).to_bits(),
                (f32::from(pixel) / 255.0).to_bits(),
                "pixel {pixel}"
            );
        }
    }
}
