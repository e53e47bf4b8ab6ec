//! Turning images into batch tensors.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;

use crate::{ImageSet, MnistItem};

/// A batch ready for the model: every image flattened and scaled to `[0, 1]`.
#[derive(Debug, Clone)]
pub struct MnistBatch {
    /// Images, shape `[batch, rows * cols]`, `f32` pixel / 255 (what PyTorch's `ToTensor` does).
    pub images: Tensor<2>,
    /// Class indices, shape `[batch]`.
    pub targets: Tensor<1, Int>,
}

/// Builds [`MnistBatch`]es: one tensor of images and one of labels per batch, each built from a
/// single buffer (no tensor per image).
///
/// It works with Burn's own `DataLoaderBuilder` over an [`ImageSet`] (as a `Dataset` of
/// [`MnistItem`]s); this crate's [`MnistLoader`](crate::MnistLoader) calls
/// [`MnistBatcher::gather`] directly and skips the per-item copies.
#[derive(Debug, Clone, Copy, Default)]
pub struct MnistBatcher;

impl MnistBatcher {
    /// Builds a batch from images given as `(pixels, label)` pairs of `image_size` pixels each.
    ///
    /// # Panics
    ///
    /// If an image does not have `image_size` pixels.
    pub fn from_images<'a>(
        &self,
        images: impl ExactSizeIterator<Item = (&'a [u8], u8)>,
        image_size: usize,
        device: &Device,
    ) -> MnistBatch {
        let count = images.len();
        let mut pixels = Vec::with_capacity(count * image_size);
        let mut labels = Vec::with_capacity(count);
        for (image, label) in images {
            assert_eq!(
                image.len(),
                image_size,
                "every image of a batch must have {image_size} pixels"
            );
            // A plain division, which the compiler vectorises; it gives exactly torchvision's
            // `ToTensor` values (a multiplication by 1/255 would not).
            pixels.extend(image.iter().map(|&pixel| f32::from(pixel) / 255.0));
            labels.push(i64::from(label));
        }
        MnistBatch {
            images: Tensor::from_data(TensorData::new(pixels, [count, image_size]), device),
            targets: Tensor::from_data(TensorData::new(labels, [count]), device),
        }
    }

    /// Builds a batch from the images of `set` at `indices`.
    ///
    /// # Panics
    ///
    /// If an index is out of range.
    pub fn gather(&self, set: &ImageSet, indices: &[usize], device: &Device) -> MnistBatch {
        self.from_images(
            indices.iter().map(|&i| (set.image(i), set.label(i))),
            set.image_size(),
            device,
        )
    }
}

impl Batcher<MnistItem, MnistBatch> for MnistBatcher {
    fn batch(&self, items: Vec<MnistItem>, device: &Device) -> MnistBatch {
        let image_size = items.first().map_or(0, |item| item.image.len());
        self.from_images(
            items.iter().map(|item| (item.image.as_slice(), item.label)),
            image_size,
            device,
        )
    }
}
