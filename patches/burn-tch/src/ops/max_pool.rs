//! Patch (logreg, not in burn-tch 0.22.1): 2x2 max pooling with stride 2 (src/max_pool.cpp) for
//! f32 CPU tensors, where LibTorch's generic CPU kernel is several times slower
//! than the convolution before it. Every other pooling goes to LibTorch. See PATCHED.md.

use super::ffi::{panic_on_error, take_tensor};
use std::ffi::{c_char, c_int};
use tch::{Device, Kind};
use torch_sys::C_tensor;

unsafe extern "C" {
    fn burn_tch_max_pool2d_2x2(
        input: *const C_tensor,
        want_indices: c_int,
        output: *mut *mut C_tensor,
        indices: *mut *mut C_tensor,
    ) -> *mut c_char;
}

/// The 2x2, stride-2 max pooling of `x` and, when `want_indices`, LibTorch's indices (int64,
/// flat within each plane), or `None` when the pooling asked for is not that one (or the tensor
/// is not a 4-D f32 CPU tensor with sides of at least 2): the caller then uses LibTorch's kernel.
/// Panics with LibTorch's message on error, as tch's own operations do.
pub(crate) fn max_pool2d_2x2(
    x: &tch::Tensor,
    kernel_size: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    ceil_mode: bool,
    want_indices: bool,
) -> Option<(tch::Tensor, Option<tch::Tensor>)> {
    let size = x.size();
    let even = size.len() == 4 && size[2] % 2 == 0 && size[3] % 2 == 0;
    let handled = kernel_size == [2, 2]
        && stride == [2, 2]
        && padding == [0, 0]
        && dilation == [1, 1]
        && (!ceil_mode || even)
        && size.len() == 4
        && size[2] >= 2
        && size[3] >= 2
        && x.kind() == Kind::Float
        && x.device() == Device::Cpu;
    if !handled {
        return None;
    }
    let mut output: *mut C_tensor = std::ptr::null_mut();
    let mut indices: *mut C_tensor = std::ptr::null_mut();
    // SAFETY: `x` is a live tch tensor; the C++ side writes new tensors into the pointers asked
    // for, or returns a malloc'ed message.
    let error = unsafe {
        burn_tch_max_pool2d_2x2(
            x.as_ptr(),
            want_indices as c_int,
            &mut output,
            &mut indices,
        )
    };
    // SAFETY: NULL or a message from strdup; NULL or tensors from new, handed over to us.
    unsafe { panic_on_error(error, "max_pool2d_2x2") };
    let output = unsafe { take_tensor(output, "max_pool2d_2x2") };
    let indices = want_indices.then(|| unsafe { take_tensor(indices, "max_pool2d_2x2 (indices)") });
    Some((output, indices))
}
