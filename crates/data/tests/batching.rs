//! The batcher and the loader: shapes, scaling, order, epochs.

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::Dataset;
use burn::prelude::*;
use data::{EpochTimer, ImageBatch, ImageBatcher, ImageLoader, ImageSet, ImageShape};

fn device() -> Device {
    Device::flex()
}

/// `count` 2x2 images; image `i` has pixels `[i, 255, 0, 128]` and label `i % 10`.
fn set(count: usize) -> ImageSet {
    let pixels = (0..count).flat_map(|i| [i as u8, 255, 0, 128]).collect();
    let labels = (0..count).map(|i| (i % 10) as u16).collect();
    ImageSet::grey(2, 2, pixels, labels).unwrap()
}

fn floats<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().try_into_vec_as::<f32>().unwrap()
}

fn ints(tensor: Tensor<1, Int>) -> Vec<i64> {
    tensor.into_data().try_into_vec_as::<i64>().unwrap()
}

/// The first pixel of each image of a batch: the image's index.
fn ids(batch: &ImageBatch) -> Vec<usize> {
    floats(batch.images.clone())
        .chunks(4)
        .map(|image| (image[0] * 255.0).round() as usize)
        .collect()
}

#[test]
fn batch_is_one_float_tensor_scaled_like_to_tensor() {
    let batch = ImageBatcher::new().gather(&set(5), &[3, 1], &device());
    assert_eq!(batch.images.dims(), [2, 1, 2, 2]);
    assert_eq!(batch.targets.dims(), [2]);
    let values = floats(batch.images);
    // Exactly pixel / 255 in f32, as torchvision's ToTensor computes it.
    let expected: Vec<f32> = [3u8, 255, 0, 128, 1, 255, 0, 128]
        .iter()
        .map(|&p| p as f32 / 255.0)
        .collect();
    assert_eq!(values, expected);
    assert!(values.iter().all(|v| (0.0..=1.0).contains(v)));
    assert_eq!(ints(batch.targets), vec![3, 1]);
}

#[test]
fn every_pixel_value_becomes_exactly_its_division() {
    // One 16x16 image holding each of the 256 pixel values once.
    let set = ImageSet::grey(16, 16, (0..=255u8).collect(), vec![0]).unwrap();
    let plain = floats(ImageBatcher::new().gather(&set, &[0], &device()).images);
    let expected: Vec<f32> = (0..=255u8).map(|p| f32::from(p) / 255.0).collect();
    assert_eq!(plain, expected);
    let normalize = data::Normalize {
        mean: vec![0.1307],
        std: vec![0.3081],
    };
    let normalized =
        ImageBatcher::new()
            .normalized(Some(&normalize), 1)
            .gather(&set, &[0], &device());
    let (mean, std) = (0.1307f64 as f32, 0.3081f64 as f32);
    let expected: Vec<f32> = (0..=255u8)
        .map(|p| (f32::from(p) / 255.0 - mean) / std)
        .collect();
    assert_eq!(floats(normalized.images), expected);
}

#[test]
fn images_of_any_size_are_scaled_exactly_in_every_position() {
    // 9 images of 5x7 (35 values: not a whole number of vectors, so the loop's tail runs too),
    // together holding each pixel value at least once, gathered out of order.
    let pixels: Vec<u8> = (0..9 * 35).map(|i| (i * 37 % 256) as u8).collect();
    let set = ImageSet::grey(5, 7, pixels.clone(), vec![0; 9]).unwrap();
    let order = [4, 0, 8, 2, 6, 1, 7, 3, 5];
    let values = floats(ImageBatcher::new().gather(&set, &order, &device()).images);
    let expected: Vec<u32> = order
        .iter()
        .flat_map(|&i| &pixels[i * 35..(i + 1) * 35])
        .map(|&p| (f32::from(p) / 255.0).to_bits())
        .collect();
    let bits: Vec<u32> = values.iter().map(|v| v.to_bits()).collect();
    assert_eq!(bits, expected);
}

#[test]
fn works_with_burns_own_dataloader() {
    let loader = DataLoaderBuilder::new(ImageBatcher::new())
        .batch_size(4)
        .build(set(10));
    let batches: Vec<ImageBatch> = loader.iter().map(Result::unwrap).collect();
    assert_eq!(
        batches
            .iter()
            .map(|b| b.images.dims()[0])
            .collect::<Vec<_>>(),
        vec![4, 4, 2]
    );
    assert_eq!(ids(&batches[2]), vec![8, 9]);
    let item = set(3).get(2).unwrap();
    assert_eq!(item.image, vec![2, 255, 0, 128]);
    let batch = ImageBatcher::new().batch(vec![item], &device());
    assert_eq!(batch.images.dims(), [1, 1, 2, 2]);
}

#[test]
fn unshuffled_loader_covers_the_set_in_order_with_a_partial_last_batch() {
    let loader = ImageLoader::new(set(10), 4, &device());
    assert_eq!(loader.num_items(), 10);
    assert_eq!(loader.batches_per_epoch(), 3);
    let mut iterator = loader.iter();
    let mut seen = Vec::new();
    for batch in iterator.by_ref() {
        seen.extend(ids(&batch.unwrap()));
    }
    assert_eq!(seen, (0..10).collect::<Vec<_>>());
    let progress = iterator.progress();
    assert_eq!((progress.items_processed, progress.items_total), (10, 10));
}

#[test]
fn shuffled_epochs_are_permutations_that_differ_and_repeat_with_the_seed() {
    let epochs = |seed| {
        let loader = ImageLoader::new(set(20), 6, &device()).shuffled(seed);
        (0..3)
            .map(|_| {
                loader
                    .iter()
                    .flat_map(|batch| ids(&batch.unwrap()))
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    let first = epochs(7);
    for epoch in &first {
        let mut sorted = epoch.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            (0..20).collect::<Vec<_>>(),
            "an epoch visits every image once"
        );
    }
    assert_ne!(first[0], first[1], "each epoch is reshuffled");
    assert_ne!(first[0], (0..20).collect::<Vec<_>>());
    assert_eq!(first, epochs(7), "the same seed gives the same order");
    assert_ne!(first, epochs(8));
}

#[test]
fn iteration_epochs_continue_one_stream_across_epochs() {
    // 10 images, batches of 4: passes of 3 batches (4, 4, 2). Epochs of 2 batches.
    let loader = ImageLoader::new(set(10), 4, &device()).with_batches_per_epoch(2);
    let sizes: Vec<Vec<usize>> = (0..3)
        .map(|_| {
            loader
                .iter()
                .map(|batch| batch.unwrap().images.dims()[0])
                .collect()
        })
        .collect();
    assert_eq!(sizes, vec![vec![4, 4], vec![2, 4], vec![4, 2]]);
    let stream: Vec<usize> = {
        let fresh = ImageLoader::new(set(10), 4, &device()).with_batches_per_epoch(3);
        (0..2)
            .flat_map(|_| {
                fresh
                    .iter()
                    .flat_map(|b| ids(&b.unwrap()))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    assert_eq!(stream, (0..10).chain(0..10).collect::<Vec<_>>());
}

#[test]
fn resuming_at_an_epoch_gives_the_same_batches_as_running_through() {
    let through = ImageLoader::new(set(30), 7, &device())
        .shuffled(3)
        .with_batches_per_epoch(5);
    let all: Vec<Vec<usize>> = (0..4)
        .map(|_| through.iter().flat_map(|b| ids(&b.unwrap())).collect())
        .collect();
    let resumed = ImageLoader::new(set(30), 7, &device())
        .shuffled(3)
        .with_batches_per_epoch(5)
        .starting_at_epoch(2);
    let rest: Vec<Vec<usize>> = (0..2)
        .map(|_| resumed.iter().flat_map(|b| ids(&b.unwrap())).collect())
        .collect();
    assert_eq!(rest, all[2..]);
}

/// Batches are built one ahead on a thread of their own: an epoch left after two batches (an
/// interrupted run) stops that thread rather than waiting on it forever, and the next epoch
/// goes on with the stream as if the epoch had been run through.
#[test]
fn an_epoch_left_early_stops_its_worker_and_the_stream_goes_on() {
    let make = || {
        ImageLoader::new(set(30), 4, &device())
            .shuffled(9)
            .with_batches_per_epoch(6)
    };
    let epoch = |loader: &ImageLoader| -> Vec<usize> {
        loader.iter().flat_map(|b| ids(&b.unwrap())).collect()
    };
    let through = make();
    let all: Vec<Vec<usize>> = (0..3).map(|_| epoch(&through)).collect();
    let left = make();
    let first_two: Vec<usize> = left.iter().take(2).flat_map(|b| ids(&b.unwrap())).collect();
    assert_eq!(first_two, all[0][..8]);
    let rest: Vec<Vec<usize>> = (0..2).map(|_| epoch(&left)).collect();
    assert_eq!(rest, all[1..]);
}

#[test]
fn slices_and_device_moves_keep_the_data() {
    let loader = ImageLoader::new(set(10), 3, &device());
    let part = loader.slice(4, 9);
    assert_eq!(part.num_items(), 5);
    let ids_seen: Vec<usize> = part.iter().flat_map(|b| ids(&b.unwrap())).collect();
    assert_eq!(ids_seen, vec![4, 5, 6, 7, 8]);
    let moved = loader.to_device(&device());
    assert_eq!(moved.num_items(), 10);
}

#[test]
fn timer_records_each_finished_epoch() {
    let timer = EpochTimer::new();
    let loader = ImageLoader::new(set(10), 4, &device()).timed(timer.clone());
    for _ in 0..2 {
        for batch in loader.iter() {
            batch.unwrap();
        }
    }
    let epochs = timer.epochs();
    assert_eq!(epochs.len(), 2);
    assert!(epochs.iter().all(|(_, items)| *items == 10));
    assert_eq!(timer.cut_short(), None, "no epoch was left early");
}

/// An epoch left after two of its three batches (a Ctrl-C) is not a finished epoch, but its
/// images are counted as cut short; one never started counts nothing.
#[test]
fn timer_counts_an_epoch_cut_short() {
    let timer = EpochTimer::new();
    let loader = ImageLoader::new(set(10), 4, &device()).timed(timer.clone());
    drop(loader.iter());
    assert_eq!(timer.cut_short(), None, "an epoch that never started");
    let mut epoch = loader.iter();
    epoch.next().unwrap().unwrap();
    epoch.next().unwrap().unwrap();
    drop(epoch);
    assert!(timer.epochs().is_empty());
    assert_eq!(timer.cut_short().map(|(_, items)| items), Some(8));
}

#[test]
fn image_set_rejects_inconsistent_buffers() {
    assert!(ImageSet::grey(2, 2, vec![0; 7], vec![1, 2]).is_err());
    assert!(ImageSet::grey(0, 2, vec![], vec![]).is_err());
    assert!(ImageSet::new(ImageShape::new(3, 2, 2), vec![0; 12], vec![1, 2]).is_err());
    let selected = set(5).select(&[4, 0]).unwrap();
    assert_eq!(selected.labels(), &[4, 0]);
    assert_eq!(selected.image(0), &[4, 255, 0, 128]);
}

/// `retain` keeps the images asked for, in place or (for a shared set) as a copy, and the
/// validation split built on it holds every image once.
#[test]
fn retained_and_split_sets_keep_the_right_images() {
    let kept = set(6).retain(&[1, 3, 4]).unwrap();
    assert_eq!(kept.labels(), &[1, 3, 4]);
    assert_eq!(kept.image(2), &[4, 255, 0, 128]);
    let shared = set(6);
    let copy = shared.clone().retain(&[5, 0]).unwrap();
    assert_eq!(copy.labels(), &[5, 0]);
    assert_eq!(shared.len(), 6, "the shared set is left whole");
    for seed in [None, Some(7)] {
        let split = data::SplitConfig {
            size: Some(4),
            seed,
        };
        let (train, validation) = data::split_validation(set(10), split).unwrap();
        assert_eq!((train.len(), validation.len()), (6, 4));
        let mut firsts: Vec<u8> = (0..train.len())
            .map(|i| train.image(i)[0])
            .chain((0..validation.len()).map(|i| validation.image(i)[0]))
            .collect();
        firsts.sort_unstable();
        assert_eq!(firsts, (0..10).collect::<Vec<u8>>(), "seed {seed:?}");
        if seed.is_none() {
            assert_eq!(validation.labels(), &[6, 7, 8, 9]);
        }
    }
}

#[test]
fn each_epoch_reports_the_items_it_will_load_without_counting_them_one_by_one() {
    for (count, batch, per_epoch) in [(10, 4, 2), (10, 3, 5), (7, 7, 3), (30, 7, 11), (5, 8, 1)] {
        let loader =
            ImageLoader::new(set(count), batch, &device()).with_batches_per_epoch(per_epoch);
        for epoch in 0..6 {
            let announced = loader.num_items();
            let loaded: usize = loader.iter().map(|b| b.unwrap().images.dims()[0]).sum();
            assert_eq!(
                announced, loaded,
                "{count} images, batch {batch}, epoch {epoch}"
            );
        }
    }
    // A billion-iteration epoch is announced at once: counted batch by batch, as it once was,
    // this would take minutes. Per pass of 3 batches: 4 + 4 + 2 images.
    let huge = ImageLoader::new(set(10), 4, &device())
        .with_batches_per_epoch(1_000_000_000)
        .starting_at_epoch(999);
    assert_eq!(huge.num_items(), 1_000_000_000 / 3 * 10 + 4);
}

/// Three 2x2 RGB images whose pixels say their channel and place: value `10 * channel + place`.
fn rgb(count: usize) -> ImageSet {
    let pixels = (0..count)
        .flat_map(|_| (0..3).flat_map(|channel| (0..4).map(move |at| (10 * channel + at) as u8)))
        .collect();
    ImageSet::new(ImageShape::new(3, 2, 2), pixels, vec![0; count]).unwrap()
}

#[test]
fn colour_batches_are_planar_and_normalised_per_channel() {
    let normalize = data::Normalize {
        mean: vec![0.0, 0.5, 1.0],
        std: vec![1.0, 0.5, 0.25],
    };
    let batch =
        ImageBatcher::new()
            .normalized(Some(&normalize), 3)
            .gather(&rgb(2), &[1], &device());
    assert_eq!(batch.images.dims(), [1, 3, 2, 2]);
    let values = floats(batch.images);
    for channel in 0..3 {
        for at in 0..4 {
            let pixel = (10 * channel + at) as f32;
            let (mean, std) = (
                normalize.mean[channel] as f32,
                normalize.std[channel] as f32,
            );
            assert_eq!(values[channel * 4 + at], (pixel / 255.0 - mean) / std);
        }
    }
    // One value stands for every channel.
    let one = data::Normalize {
        mean: vec![0.5],
        std: vec![0.5],
    };
    let batch = ImageBatcher::new()
        .normalized(Some(&one), 3)
        .gather(&rgb(1), &[0], &device());
    assert_eq!(floats(batch.images)[8], (20.0 / 255.0 - 0.5) / 0.5);
}

#[test]
fn augmentation_shifts_and_mirrors_repeatably_and_only_where_asked() {
    // One 1x4x4 image whose pixels are 1 to 16: where each lands tells the shift and flip.
    let pixels: Vec<u8> = (1..=16).collect();
    let set = ImageSet::grey(4, 4, pixels.clone(), vec![0]).unwrap();
    let augment = data::Augment {
        crop_padding: 1,
        horizontal_flip: true,
    };
    let batcher = ImageBatcher::new().augmented(augment);
    let draw = |seed| {
        floats(batcher.gather_augmented(&set, &[0], &device(), seed).images)
            .iter()
            .map(|v| (v * 255.0).round() as u8)
            .collect::<Vec<u8>>()
    };
    // The same seed, the same image; many seeds, several different ones, every one a shifted
    // (black where padded) and possibly mirrored copy of the original.
    assert_eq!(draw(7), draw(7));
    let drawn: std::collections::HashSet<Vec<u8>> = (0..40).map(draw).collect();
    assert!(drawn.len() > 5, "{} different crops", drawn.len());
    assert!(drawn.iter().any(|image| image != &pixels));
    for image in &drawn {
        let kept: Vec<u8> = image.iter().copied().filter(|&p| p != 0).collect();
        assert!(
            kept.len() >= 9,
            "{image:?}: a shift of 1 keeps at least 3x3 pixels"
        );
        let mut sorted = kept.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), kept.len(), "{image:?}: no pixel twice");
    }
    // Without augmentation, or through gather, the image is as it is.
    assert_eq!(
        floats(batcher.gather(&set, &[0], &device()).images),
        floats(ImageBatcher::new().gather(&set, &[0], &device()).images)
    );
}

#[test]
fn a_shuffled_loader_repeats_its_augmented_batches_when_resumed() {
    let pixels: Vec<u8> = (0..16 * 6).map(|v| (v % 251) as u8 + 1).collect();
    let set = ImageSet::grey(4, 4, pixels, vec![0; 6]).unwrap();
    let batcher = ImageBatcher::new().augmented(data::Augment {
        crop_padding: 2,
        horizontal_flip: true,
    });
    let loader = |done| {
        ImageLoader::new(set.clone(), 2, &device())
            .with_batcher(batcher.clone())
            .shuffled(3)
            .starting_at_epoch(done)
    };
    let through = loader(0);
    let _ = through.iter().count();
    let second: Vec<Vec<f32>> = through
        .iter()
        .map(|batch| floats(batch.unwrap().images))
        .collect();
    let resumed: Vec<Vec<f32>> = loader(1)
        .iter()
        .map(|batch| floats(batch.unwrap().images))
        .collect();
    assert_eq!(second, resumed);
}
