//! Patch (logreg, not in burn-tch 0.22.1): what the patch's C++ functions (src/*.cpp, compiled
//! by build.rs) share at the boundary: each returns NULL or a message allocated with malloc, and
//! hands over the tensors it creates with `new`. See PATCHED.md.

use std::ffi::{CStr, c_char};
use torch_sys::C_tensor;

/// Panics with `error`, prefixed by `operation`, after freeing it, as tch's own operations panic
/// on LibTorch's errors; does nothing when `error` is NULL.
///
/// # Safety
/// `error` is NULL or a NUL-terminated string from malloc that nothing else frees.
pub(crate) unsafe fn panic_on_error(error: *mut c_char, operation: &str) {
    if error.is_null() {
        return;
    }
    // SAFETY: the caller's promise; the string is read, then freed once here.
    let message = unsafe { CStr::from_ptr(error) }.to_string_lossy().into_owned();
    unsafe { libc::free(error.cast()) };
    panic!("{operation}: {message}");
}

/// Takes over `tensor`; panics, naming `what`, when the C++ side returned none.
///
/// # Safety
/// `tensor` is NULL or a tensor the C++ side allocated with `new` that nothing else owns.
pub(crate) unsafe fn take_tensor(tensor: *mut C_tensor, what: &str) -> tch::Tensor {
    assert!(!tensor.is_null(), "{what} returned no tensor");
    // SAFETY: the caller's promise, and not NULL.
    unsafe { tch::Tensor::from_ptr(tensor) }
}
