//! The trainer's memory allocator: mimalloc, set up for training's allocation pattern.

/// mimalloc rather than glibc's allocator (and, through the crate's `override` feature, for
/// LibTorch's C++ allocations too): batches are built on the loader's thread and freed on the
/// training thread, and glibc then handed each multi-megabyte batch back to the kernel and
/// faulted a new one in (evaluation at 0.64 million images a second instead of 0.87); LibTorch's
/// tensors did the same (a third of a CNN epoch on `tch` in page faults). docs/benchmarks.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (`mimalloc.h`, the same in its v2 and v3): the Rust
/// bindings (libmimalloc-sys 0.1.49) do not name it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tells mimalloc never to hand freed pages back to the kernel (its purge delay -1), unless the
/// user set `MIMALLOC_PURGE_DELAY` themselves. A training step frees and allocates the same
/// multi-megabyte tensors over and over; with mimalloc's default (purge after a delay) the
/// kernel zeroed fresh pages for them: 10 % of a CNN epoch on `tch` in `clear_page_erms`, and
/// epochs 13 % longer (docs/benchmarks.md). The cost is memory kept for reuse, 12 MB there.
///
/// Only this function may use `unsafe` in the trainer (its `Cargo.toml` denies it elsewhere):
/// mimalloc's options are a C API with no safe Rust binding.
#[allow(unsafe_code)]
pub fn keep_freed_pages() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: mi_option_set only stores a value in mimalloc's option table; it may be called at
    // any time, from any thread (mimalloc.h), and the option index is mimalloc's own.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}
