//! A Burn [`DataLoader`] over an [`ImageSet`].
//!
//! Burn's `DataLoaderBuilder` only knows epochs that are one pass over a dataset, and it copies
//! every item out of the dataset before batching. This loader also offers epochs of a fixed
//! number of iterations over a continuous, reshuffled stream (to reproduce an iteration-based
//! schedule such as "1,500 iterations, report every 500") and builds each batch straight from
//! the shared `u8` buffer with one allocation, a few batches ahead on a thread of its own.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::data::dataset::DatasetError;
use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::prefetch::Prefetch;
use crate::{ImageBatch, ImageBatcher, ImageSet};

/// Loads [`ImageBatch`]es from an [`ImageSet`].
///
/// Batches are drawn from a stream of passes over the set; each pass is in file order or, with
/// [`shuffled`](Self::shuffled), in a permutation derived from the seed and the pass number, so
/// a run is reproducible and can resume at any epoch. The last batch of a pass may be smaller
/// (as with PyTorch's `DataLoader`, `drop_last=False`).
#[derive(Clone)]
pub struct ImageLoader {
    set: ImageSet,
    range: Range<usize>,
    batch_size: usize,
    seed: Option<u64>,
    batches_per_epoch: Option<usize>,
    total_batches: Option<usize>,
    epoch: Arc<AtomicUsize>,
    timer: Option<EpochTimer>,
    /// Items the timer records per item loaded (above 1 for the first share of a slice).
    timer_scale: f64,
    batcher: ImageBatcher,
    device: Device,
}

impl std::fmt::Debug for ImageLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageLoader")
            .field("items", &self.range.len())
            .field("batch_size", &self.batch_size)
            .field("seed", &self.seed)
            .field("batches_per_epoch", &self.batches_per_epoch())
            .finish()
    }
}

impl ImageLoader {
    /// A loader of `batch_size` images per batch, in file order, one pass per epoch.
    ///
    /// # Panics
    ///
    /// If `batch_size` is zero.
    pub fn new(set: ImageSet, batch_size: usize, device: &Device) -> Self {
        assert!(batch_size > 0, "batch size must be at least 1");
        Self {
            range: 0..set.len(),
            set,
            batch_size,
            seed: None,
            batches_per_epoch: None,
            total_batches: None,
            epoch: Arc::new(AtomicUsize::new(0)),
            timer: None,
            timer_scale: 1.0,
            batcher: ImageBatcher::new(),
            device: device.clone(),
        }
    }

    /// Builds batches with `batcher` (normalisation; augmentation, drawn from the shuffling
    /// seed, the pass and the batch, so that a resumed run repeats its batches).
    pub fn with_batcher(mut self, batcher: ImageBatcher) -> Self {
        self.batcher = batcher;
        self
    }

    /// Reshuffles every pass with a permutation drawn from `seed` and the pass number.
    pub fn shuffled(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Makes every epoch exactly `batches` iterations long, continuing the stream of passes
    /// across epochs instead of restarting it.
    ///
    /// # Panics
    ///
    /// If `batches` is zero.
    pub fn with_batches_per_epoch(mut self, batches: usize) -> Self {
        assert!(batches > 0, "an epoch needs at least one batch");
        self.batches_per_epoch = Some(batches);
        self
    }

    /// Ends the stream after `batches` batches in all, counted from the first epoch (a run that
    /// stops after so many steps: the epoch that reaches it ends there, and any later one is
    /// empty).
    pub fn with_total_batches(mut self, batches: usize) -> Self {
        self.total_batches = Some(batches);
        self
    }

    /// Starts at epoch `completed` (zero-based), as if that many epochs had been iterated: used
    /// to resume a run.
    pub fn starting_at_epoch(self, completed: usize) -> Self {
        self.epoch.store(completed, Ordering::SeqCst);
        self
    }

    /// Records how long each epoch's iteration takes, from the first batch request to the end
    /// of the epoch, into `timer`.
    pub fn timed(mut self, timer: EpochTimer) -> Self {
        self.timer = Some(timer);
        self
    }

    /// Batches in one pass over the set.
    pub fn batches_per_pass(&self) -> usize {
        self.range.len().div_ceil(self.batch_size)
    }

    /// Batches in one epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.batches_per_epoch
            .unwrap_or_else(|| self.batches_per_pass())
    }

    /// Images per batch (the last batch of a pass may hold fewer).
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn pass_order(&self, pass: usize) -> Vec<usize> {
        let mut order: Vec<usize> = self.range.clone().collect();
        if let Some(seed) = self.seed {
            let pass_seed = seed ^ (pass as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            order.shuffle(&mut StdRng::seed_from_u64(pass_seed));
        }
        order
    }

    fn batch_len(&self, batch_in_pass: usize) -> usize {
        let start = batch_in_pass * self.batch_size;
        self.batch_size.min(self.range.len() - start)
    }

    /// The batches of epoch `epoch` in the stream: `start..end` (cut short by
    /// [`with_total_batches`](Self::with_total_batches)).
    fn epoch_batches(&self, epoch: usize) -> (usize, usize) {
        let per_epoch = self.batches_per_epoch();
        let start = epoch.saturating_mul(per_epoch);
        let end = (epoch + 1)
            .saturating_mul(per_epoch)
            .min(self.total_batches.unwrap_or(usize::MAX))
            .max(start);
        (start, end)
    }

    /// Items in epoch `epoch`: equal to the set size when epochs are passes. Computed, not
    /// counted: an epoch may be a billion iterations long.
    fn items_in_epoch(&self, epoch: usize) -> usize {
        let (start, end) = self.epoch_batches(epoch);
        let per_pass = self.batches_per_pass();
        if per_pass == 0 {
            return 0;
        }
        // Every batch is full but the last of each pass; count the last ones in the epoch (the
        // batches `g` with `(g + 1) % per_pass == 0`).
        let short_batches = end / per_pass - start / per_pass;
        let shortfall = self.batch_size - self.batch_len(per_pass - 1);
        (end - start)
            .saturating_mul(self.batch_size)
            .saturating_sub(short_batches.saturating_mul(shortfall))
    }
}

impl DataLoader<ImageBatch> for ImageLoader {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<ImageBatch> + 'a> {
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst);
        let (start, end) = self.epoch_batches(epoch);
        Box::new(ImageLoaderIterator {
            loader: self,
            next_batch: start,
            end_batch: end,
            pass: None,
            prefetch: self.prefetch(start..end),
            items_processed: 0,
            items_total: self.items_in_epoch(epoch),
            started: None,
        })
    }

    fn num_items(&self) -> usize {
        self.items_in_epoch(self.epoch.load(Ordering::SeqCst))
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<ImageBatch>> {
        let mut loader = self.clone();
        loader.device = device.clone();
        Arc::new(loader)
    }

    /// A loader over items `start..end` of this one: Burn's multi-device strategy gives each
    /// device such a share. The timer, if any, stays with the first share, which reports the
    /// items of all shares (they run in lockstep).
    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<ImageBatch>> {
        let mut loader = self.clone();
        let start = (self.range.start + start).min(self.range.end);
        let end = (self.range.start + end).clamp(start, self.range.end);
        loader.range = start..end;
        loader.epoch = Arc::new(AtomicUsize::new(self.epoch.load(Ordering::SeqCst)));
        if start != self.range.start {
            loader.timer = None;
        } else {
            loader.timer_scale =
                self.timer_scale * self.range.len() as f64 / (end - start).max(1) as f64;
        }
        Arc::new(loader)
    }
}

impl ImageLoader {
    /// Builds batch `number` of the stream (see [`epoch_batches`](Self::epoch_batches));
    /// `pass` keeps the order of the pass last used. Returns the batch and its image count.
    fn build_batch(
        &self,
        number: usize,
        pass: &mut Option<(usize, Vec<usize>)>,
    ) -> (ImageBatch, usize) {
        let per_pass = self.batches_per_pass();
        let (pass_number, batch_in_pass) = (number / per_pass, number % per_pass);
        if pass
            .as_ref()
            .is_none_or(|(current, _)| *current != pass_number)
        {
            *pass = Some((pass_number, self.pass_order(pass_number)));
        }
        let order = &pass.as_ref().expect("pass order was just set").1;
        let start = batch_in_pass * self.batch_size;
        let indices = &order[start..start + self.batch_len(batch_in_pass)];
        let batch = match self.seed {
            Some(seed) if self.batcher.augments() => {
                let batch_seed = seed ^ (number as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
                self.batcher
                    .gather_augmented(&self.set, indices, &self.device, batch_seed)
            }
            _ => self.batcher.gather(&self.set, indices, &self.device),
        };
        (batch, indices.len())
    }
}

/// Bytes of batches a loader keeps built ahead of the training step (at most
/// [`MAX_AHEAD`] batches, at least one).
const AHEAD_BYTES: usize = 16 << 20;

/// Most batches a loader keeps built ahead.
const MAX_AHEAD: usize = 8;

impl ImageLoader {
    /// Starts building `batches` on a thread of their own, a few ahead of the step.
    ///
    /// Burn's `DataLoaderBuilder` has worker threads, but they work on its per-item datasets,
    /// not on this loader's stream of passes, so the loader has its own. A profile of a
    /// logistic regression's epoch had 17 % of it in building batches on the training thread,
    /// while the second core waited; the batches are the same either way (their order and
    /// augmentation are drawn from the seed and the batch number, never from timing).
    fn prefetch(&self, mut batches: Range<usize>) -> Option<Prefetch<(ImageBatch, usize)>> {
        if batches.is_empty() || self.range.is_empty() {
            return None;
        }
        let batch_bytes = self.batch_size * self.set.shape().size() * size_of::<f32>();
        let depth = (AHEAD_BYTES / batch_bytes.max(1)).clamp(1, MAX_AHEAD);
        let loader = self.clone();
        let mut pass = None;
        Prefetch::start("image-loader", depth, move || {
            let number = batches.next()?;
            Some(loader.build_batch(number, &mut pass))
        })
    }
}

struct ImageLoaderIterator<'a> {
    loader: &'a ImageLoader,
    next_batch: usize,
    end_batch: usize,
    /// The order of the current pass, for batches built here rather than by `prefetch`.
    pass: Option<(usize, Vec<usize>)>,
    prefetch: Option<Prefetch<(ImageBatch, usize)>>,
    items_processed: usize,
    items_total: usize,
    started: Option<Instant>,
}

impl Iterator for ImageLoaderIterator<'_> {
    type Item = Result<ImageBatch, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        let loader = self.loader;
        if self.next_batch >= self.end_batch || loader.range.is_empty() {
            if let (Some(timer), Some(started)) = (&loader.timer, self.started.take()) {
                let items = (self.items_processed as f64 * loader.timer_scale).round() as usize;
                timer.record(started.elapsed(), items);
            }
            return None;
        }
        self.started.get_or_insert_with(Instant::now);
        let number = self.next_batch;
        self.next_batch += 1;
        let prefetched = self.prefetch.as_ref().and_then(Prefetch::next);
        if prefetched.is_none() {
            // No worker, or it stopped: build the batches here (where a panic, if that is what
            // stopped it, happens again and is reported like any other).
            self.prefetch = None;
        }
        let (batch, items) =
            prefetched.unwrap_or_else(|| loader.build_batch(number, &mut self.pass));
        self.items_processed += items;
        Some(Ok(batch))
    }
}

/// An epoch left before its end (Ctrl-C, a divergence stop) still counts its time and images,
/// as one cut short.
impl Drop for ImageLoaderIterator<'_> {
    fn drop(&mut self) {
        if let (Some(timer), Some(started)) = (&self.loader.timer, self.started.take()) {
            let items = (self.items_processed as f64 * self.loader.timer_scale).round() as usize;
            timer.record_cut_short(started.elapsed(), items);
        }
    }
}

impl DataLoaderIterator<ImageBatch> for ImageLoaderIterator<'_> {
    fn progress(&self) -> Progress {
        Progress::new(
            self.items_processed,
            self.items_total,
            Some("items".to_string()),
        )
    }
}

/// Collects the duration and item count of every finished epoch of the loaders it is given to.
///
/// The time runs on the training thread from the first batch request of an epoch to the
/// request that finds the epoch over, so it covers the training steps and excludes validation.
#[derive(Debug, Clone, Default)]
pub struct EpochTimer {
    epochs: Arc<std::sync::Mutex<Vec<(Duration, usize)>>>,
    cut_short: Arc<std::sync::Mutex<Option<(Duration, usize)>>>,
}

impl EpochTimer {
    /// A timer with no epoch recorded.
    pub fn new() -> Self {
        Self::default()
    }

    fn record(&self, elapsed: Duration, items: usize) {
        self.epochs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push((elapsed, items));
    }

    fn record_cut_short(&self, elapsed: Duration, items: usize) {
        *self
            .cut_short
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((elapsed, items));
    }

    /// `(duration, items)` of the last epoch left before its end (the training was stopped
    /// inside it), if any: its steps ran, but it is not among [`epochs`](Self::epochs).
    pub fn cut_short(&self) -> Option<(Duration, usize)> {
        *self
            .cut_short
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `(duration, items)` of each finished epoch, in order.
    pub fn epochs(&self) -> Vec<(Duration, usize)> {
        self.epochs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}
