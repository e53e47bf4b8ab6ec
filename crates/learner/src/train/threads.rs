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

/// Makes the calling thread a background worker: it yields the cores to every other thread
/// of the process (nice 19, which Linux applies to the thread alone), and the backends' own CPU
/// threading keeps its work on it (with `tch` compiled in, LibTorch's OpenMP and MKL thread
/// counts of this thread set to 1; flex and ndarray use rayon, whose pool the caller chooses).
/// For the thread that measures each checkpoint while the next epoch trains.
///
/// Why: with LibTorch, every thread that runs parallel operations gets an OpenMP team of its
/// own, and with more of its threads than cores libgomp wakes the training thread's workers by
/// a system call for each operation; and an evaluation sharing a core at the same priority
/// holds up every parallel operation of the training thread that waits for that core's worker.
/// CNN epochs on LibTorch (docs/benchmarks.md): 6.3 s beside a two-thread evaluation, 5.3-5.8 s
/// beside a one-thread one, 4.5-4.8 s beside a one-thread one at low priority, about 4.5 s (the
/// first epoch) with none.
pub(crate) fn background_thread() {
    // Linux only: elsewhere (macOS) `nice` applies to the whole process, the training too.
    #[cfg(target_os = "linux")]
    {
        // Best effort: a thread that cannot lower its priority only runs as before.
        let _ = rustix::process::nice(19);
    }
    #[cfg(feature = "tch")]
    {
        // A failure (LibTorch's thread setup throwing) only leaves the thread as it was: the
        // work still runs, on LibTorch's threads.
        #[allow(deprecated)]
        let _ = std::panic::catch_unwind(burn::backend::libtorch::one_cpu_thread_here);
    }
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

    /// The number of threads LibTorch's operations of the calling thread may use, when compiled
    /// in.
    fn libtorch_threads_here() -> Option<usize> {
        #[cfg(feature = "tch")]
        #[allow(deprecated)]
        return Some(burn::backend::libtorch::cpu_threads_here());
        #[cfg(not(feature = "tch"))]
        None
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_background_thread_yields_its_cores_and_keeps_libtorch_on_itself() {
        let nice = || rustix::process::getpriority_process(None).expect("getpriority");
        let (nice_before, libtorch_before) = (nice(), libtorch_threads_here());
        let (nice_there, libtorch_there) = std::thread::spawn(move || {
            super::background_thread();
            (nice(), libtorch_threads_here())
        })
        .join()
        .expect("the background thread ran");
        assert_eq!(nice_there, 19);
        assert_eq!(
            nice(),
            nice_before,
            "the calling thread's priority is its own"
        );
        if let (Some(there), Some(before)) = (libtorch_there, libtorch_before) {
            assert_eq!(there, 1, "LibTorch's work stays on the background thread");
            assert_eq!(
                libtorch_threads_here(),
                Some(before),
                "other threads keep theirs"
            );
        }
    }
}
