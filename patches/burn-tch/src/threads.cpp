// Patch (logreg, not in burn-tch 0.22.1): LibTorch's CPU work of one thread kept on that thread.
// A Rust program calls LibTorch from several threads (a training thread, and an evaluation
// overlapping it); with OpenMP, each calling thread that runs a parallel region gets a team of
// worker threads of its own. libgomp then manages more threads than there are CPUs, and cuts its
// workers' spinning to a few rounds (GOMP_SPINCOUNT's documented throttling): the training
// thread's workers fall asleep between operations and are woken by a system call for each. This
// sets the calling thread's OpenMP and MKL thread counts to 1, so its operations run on it alone
// and start no team. See PATCHED.md.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstring>
#include <exception>

// OpenMP's per-thread setting (libgomp, which torch-sys links on Linux) and MKL's (exported by
// LibTorch builds with MKL, libtorch_cpu.so), declared weak: a LibTorch without OpenMP or MKL
// (macOS) still links, and the call it lacks is skipped. Compilers without weak symbols (MSVC)
// skip both; the thread then keeps LibTorch's threads.
#if defined(__GNUC__)
#define BURN_TCH_WEAK_SYMBOLS 1
extern "C" void omp_set_num_threads(int) __attribute__((weak));
extern "C" int MKL_Set_Num_Threads_Local(int) __attribute__((weak));
#endif

extern "C" {

// Makes LibTorch's CPU operations called from this thread single-threaded, and returns NULL; or
// returns a message allocated with malloc that the caller frees. Other threads keep theirs.
char *burn_tch_one_cpu_thread_here() {
  try {
    // ATen sets each thread's OpenMP thread count on the thread's first parallel operation
    // (`lazy_init_num_threads`); done now, it cannot undo the setting below later.
    at::get_num_threads();
#ifdef BURN_TCH_WEAK_SYMBOLS
    if (omp_set_num_threads != nullptr) omp_set_num_threads(1);
    if (MKL_Set_Num_Threads_Local != nullptr) MKL_Set_Num_Threads_Local(1);
#endif
    return nullptr;
  } catch (const std::exception &e) {
    return strdup(e.what());
  }
}
}
