//! Builds batches on a thread of its own, a few ahead of the training step that takes them.
//!
//! Written here rather than taken from std or crossbeam: their bounded channels wake a sender
//! that waits for room on every receive, so a builder that is faster than the step (the usual
//! case) is woken once a batch. On two cores each wake-up cost the training thread a system
//! call and often its core: a scheduler trace of a logistic regression's epoch
//! (`perf sched timehist`) had the training thread switched out about once an iteration, for
//! 0.05 to 0.9 ms, waiting on or preempted by the builder. This queue lets the builder fill it
//! to `depth`, then sleep until the step has taken half, so it is woken once per `depth / 2`
//! batches; the step only waits when the queue is empty (at the start of an epoch).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// Batches built ahead, and who waits for what.
struct State<T> {
    ready: VecDeque<T>,
    /// The builder has no more to give (it finished, or it panicked).
    finished: bool,
    /// The taker is gone: the builder stops.
    closed: bool,
    /// The builder sleeps until the queue is down to half.
    builder_asleep: bool,
    /// The taker sleeps until a batch is ready.
    taker_asleep: bool,
}

/// The state and its two wake-up signals.
struct Shared<T> {
    state: Mutex<State<T>>,
    /// Signals the taker: a batch is ready or the builder finished.
    filled: Condvar,
    /// Signals the builder: the queue is down to half, or the taker is gone.
    drained: Condvar,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding the lock leaves plain flags and a queue: still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Marks the builder finished when its thread ends, by returning or by a panic, so that the
/// taker never waits for a batch that will not come.
struct FinishOnDrop<T>(Arc<Shared<T>>);

impl<T> Drop for FinishOnDrop<T> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.finished = true;
        drop(state);
        self.0.filled.notify_one();
    }
}

/// A builder thread and the batches it has built, at most `depth` of them.
pub(crate) struct Prefetch<T> {
    shared: Arc<Shared<T>>,
    worker: Option<JoinHandle<()>>,
    /// Queue length at or below which a sleeping builder is woken: half of what it went to
    /// sleep at.
    low_water: usize,
}

impl<T: Send + 'static> Prefetch<T> {
    /// Starts a thread named `name` that calls `build` until it returns `None`, keeping at most
    /// `depth` (at least 1) batches ready. `None` when no thread can be started (too many
    /// threads, too little memory): the caller then builds its batches itself.
    pub(crate) fn start(
        name: &str,
        depth: usize,
        mut build: impl FnMut() -> Option<T> + Send + 'static,
    ) -> Option<Self> {
        let depth = depth.max(1);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                ready: VecDeque::with_capacity(depth),
                finished: false,
                closed: false,
                builder_asleep: false,
                taker_asleep: false,
            }),
            filled: Condvar::new(),
            drained: Condvar::new(),
        });
        let builder = Arc::clone(&shared);
        let worker = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let _finish = FinishOnDrop(Arc::clone(&builder));
                while let Some(batch) = build() {
                    if !Self::hand_over(&builder, batch, depth) {
                        return;
                    }
                }
            })
            .ok()?;
        Some(Self {
            shared,
            worker: Some(worker),
            low_water: depth / 2,
        })
    }

    /// Queues `batch`, then, if the queue is full, sleeps until it is down to half. `false`
    /// when the taker is gone.
    fn hand_over(shared: &Shared<T>, batch: T, depth: usize) -> bool {
        let mut state = shared.lock();
        if state.closed {
            return false;
        }
        state.ready.push_back(batch);
        if state.taker_asleep {
            shared.filled.notify_one();
        }
        while state.ready.len() >= depth && !state.closed {
            state.builder_asleep = true;
            state = shared
                .drained
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        state.builder_asleep = false;
        !state.closed
    }

    /// The next batch; `None` once the builder has finished (or panicked) and every batch it
    /// built was taken.
    pub(crate) fn next(&self) -> Option<T> {
        let mut state = self.shared.lock();
        loop {
            if let Some(batch) = state.ready.pop_front() {
                // Wake the builder at half, not at every batch: see the module's note.
                if state.builder_asleep && state.ready.len() <= self.low_water {
                    state.builder_asleep = false;
                    self.shared.drained.notify_one();
                }
                return Some(batch);
            }
            if state.finished {
                return None;
            }
            state.taker_asleep = true;
            state = self
                .shared
                .filled
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state.taker_asleep = false;
        }
    }
}

impl<T> Drop for Prefetch<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.closed = true;
        state.ready.clear();
        drop(state);
        self.shared.drained.notify_one();
        if let Some(worker) = self.worker.take() {
            // A panic there is met again when the taker builds that batch itself.
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn hands_over_every_batch_in_order_and_never_more_than_depth_ahead() {
        for depth in [1, 2, 3, 8] {
            let built = Arc::new(AtomicUsize::new(0));
            let counter = Arc::clone(&built);
            let mut next = 0..100usize;
            let prefetch = Prefetch::start("test", depth, move || {
                let item = next.next()?;
                counter.fetch_add(1, Ordering::SeqCst);
                Some(item)
            })
            .unwrap();
            for expected in 0..100 {
                // Let the builder run as far ahead as it may.
                std::thread::sleep(std::time::Duration::from_micros(200));
                let ahead = built.load(Ordering::SeqCst) - expected;
                // `depth` queued, plus the one built and waiting for room.
                assert!(ahead <= depth + 1, "depth {depth}: {ahead} built ahead");
                assert_eq!(prefetch.next(), Some(expected), "depth {depth}");
            }
            assert_eq!(prefetch.next(), None);
            assert_eq!(prefetch.next(), None);
        }
    }

    #[test]
    fn a_builder_that_panics_ends_the_stream_after_what_it_built() {
        let mut next = 0..;
        let prefetch = Prefetch::start("test", 4, move || {
            let item = next.next()?;
            assert!(item < 3, "a deliberate failure");
            Some(item)
        })
        .unwrap();
        let taken: Vec<i32> = std::iter::from_fn(|| prefetch.next()).collect();
        assert_eq!(taken, [0, 1, 2]);
    }

    #[test]
    fn dropping_it_stops_a_builder_waiting_for_room() {
        let built = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&built);
        let prefetch = Prefetch::start("test", 2, move || {
            Some(counter.fetch_add(1, Ordering::SeqCst))
        })
        .unwrap();
        assert_eq!(prefetch.next(), Some(0));
        std::thread::sleep(std::time::Duration::from_millis(20));
        drop(prefetch); // joins the builder: returns only if it stopped
        let after_drop = built.load(Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(built.load(Ordering::SeqCst), after_drop);
        assert!(after_drop <= 4, "{after_drop} built for 1 taken, depth 2");
    }
}
