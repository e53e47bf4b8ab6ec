//! The calling thread as one of rayon's workers, for binaries that train on their main thread.

/// Makes the calling thread worker 0 of rayon's global pool (`use_current_thread`), with one
/// worker per core as before, if the pool does not exist yet; does nothing otherwise. Returns
/// whether it did. Call it first thing in `main`, on the thread that will train.
///
/// Why: flex runs its matrix products and the fused AdamW on rayon's pool. Called from a thread
/// outside the pool, each parallel operation hands its work to the pool's threads and puts the
/// caller to sleep until they finish: on 2 cores that is a wake-up of both workers and of the
/// caller per operation, several per step. From a worker, the caller runs its share itself and
/// only the other worker is woken. `trainer bench --backend flex` (docs/benchmarks.md): MLP
/// 0.506 -> 0.470 s/epoch, logistic regression 0.0565 -> 0.0505, alternating release builds.
///
/// Only for a thread that lives as long as the process (the main thread): the pool keeps it as
/// a worker. It does not run rayon's stealing loop while it does other work, so jobs that other
/// threads give the pool (an evaluation on another thread) are run by the remaining workers.
///
/// With fewer than two threads (`RAYON_NUM_THREADS=1`, one core) it does nothing: the pool would
/// be this thread alone, and a parallel operation started on another thread would wait for it
/// forever (a stand-alone program with rayon 1.12 did: `par_iter` on a second thread hung while
/// the main thread, the pool's one worker, ran `into_par_iter` sums).
pub fn compute_on_this_thread() -> bool {
    default_threads() >= 2
        && rayon::ThreadPoolBuilder::new()
            .use_current_thread()
            .build_global()
            .is_ok()
}

/// The number of threads rayon gives its global pool when not told (see [`threads_from`]).
fn default_threads() -> usize {
    let var = |name| std::env::var(name).ok();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    threads_from(var("RAYON_NUM_THREADS"), var("RAYON_RS_NUM_CPUS"), cores)
}

/// The pool's size as rayon-core 1.13's `ThreadPoolBuilder::get_num_threads` finds it, from
/// `RAYON_NUM_THREADS`, the deprecated `RAYON_RS_NUM_CPUS` and the number of cores: the first
/// variable if a positive number, the cores if it is 0, else the second if positive, else the
/// cores.
fn threads_from(num_threads: Option<String>, num_cpus: Option<String>, cores: usize) -> usize {
    let number = |value: Option<String>| value.and_then(|n| n.parse::<usize>().ok());
    match number(num_threads) {
        Some(0) => cores,
        Some(n) => n,
        None => number(num_cpus).filter(|&n| n > 0).unwrap_or(cores),
    }
}

#[cfg(test)]
mod tests {
    use super::threads_from;

    #[test]
    fn the_pool_size_is_read_as_rayon_reads_it() {
        let some = |s: &str| Some(s.to_string());
        assert_eq!(threads_from(None, None, 2), 2);
        assert_eq!(threads_from(some("1"), None, 2), 1);
        assert_eq!(threads_from(some("0"), some("5"), 2), 2);
        assert_eq!(threads_from(some("many"), some("5"), 2), 5);
        assert_eq!(threads_from(None, some("0"), 3), 3);
        assert_eq!(threads_from(some("4"), some("1"), 1), 4);
    }
}
