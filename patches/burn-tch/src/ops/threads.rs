//! Patch (logreg, not in burn-tch 0.22.1): LibTorch's CPU work of one thread kept on that
//! thread (src/threads.cpp). See PATCHED.md.

use super::ffi::panic_on_error;
use std::ffi::c_char;

unsafe extern "C" {
    fn burn_tch_one_cpu_thread_here() -> *mut c_char;
}

/// Makes LibTorch's CPU operations called from the calling thread run on that thread alone (its
/// OpenMP and MKL thread counts set to 1); every other thread keeps its own.
///
/// For a thread that works beside the one that trains, such as an evaluation overlapping the
/// next epoch: with OpenMP (LibTorch's CPU threading on Linux), every thread that runs parallel
/// operations gets a team of worker threads of its own, and libgomp, managing more threads than
/// there are CPUs, stops letting the training thread's workers spin between operations: each
/// operation then wakes them with a system call. The CNN's epochs took 6.3 s instead of 4.5 s
/// with an evaluation thread's team (docs/benchmarks.md).
///
/// Panics with LibTorch's message if LibTorch fails, as tch's own operations do.
pub fn one_cpu_thread_here() {
    // SAFETY: the function takes nothing and returns NULL or a malloc'ed message.
    unsafe { panic_on_error(burn_tch_one_cpu_thread_here(), "one_cpu_thread_here") }
}

/// The number of threads LibTorch's CPU operations called from the calling thread may use
/// (`at::get_num_threads`): the cores, or 1 after [`one_cpu_thread_here`].
pub fn cpu_threads_here() -> usize {
    usize::try_from(tch::get_num_threads()).unwrap_or(1)
}
