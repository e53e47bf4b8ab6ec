//! The memory pages a training run gets from the kernel.

/// From here on, the process's new memory comes in 4 KB pages, not 2 MB transparent huge pages
/// (`prctl(PR_SET_THP_DISABLE)`, on Linux; memory already mapped keeps its pages, so a dataset
/// loaded before keeps its huge pages). Unless the user set `MIMALLOC_ALLOW_THP`, mimalloc's
/// own switch for huge pages, themselves; best effort: where the call is refused (a sandbox),
/// the run goes on as before.
///
/// Why: mimalloc (the trainer's allocator) asks for huge pages for its arenas, and the kernel
/// zeroes each 2 MB page as a whole the first time any of it is touched, about 1-2 ms a page
/// on this project's virtual machine. The first two epochs, whose batches land in memory the
/// process has not touched yet, were the slow ones: 0.08-0.12 s against 0.05 s for later
/// logistic regression epochs, with the loader threads in `clear_page_erms` under
/// `do_huge_pmd_anonymous_page` (`perf record`). Turned off once the data is loaded (same
/// binary both ways, alternating, docs/benchmarks.md): the MLP 2 % faster (0.456 against 0.465
/// and 0.501 against 0.512 s an epoch, 8 pairs each, 10 of the 16 faster) in 10 MB less
/// memory; the logistic regression's first epochs 52.5 against 76.5 ms (medians of 8 pairs)
/// in one hour, within the noise (16 pairs) three hours later, when its first epochs zeroed
/// less; the CNN on LibTorch 4.50 against 4.52 s. Turning them off for the whole process
/// (`MIMALLOC_ALLOW_THP=0`) cost the larger models instead: the evaluations 2-10 % slower.
pub(crate) fn small_pages_from_here() {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
        return;
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let _ = rustix::thread::disable_transparent_huge_pages(true);
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn new_memory_comes_in_small_pages_after_the_call() {
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
            return;
        }
        super::small_pages_from_here();
        assert_eq!(
            rustix::thread::transparent_huge_pages_are_disabled().ok(),
            Some(true)
        );
    }
}
