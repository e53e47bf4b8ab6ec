//! Patch (logreg, not in burn-tch 0.22.1): the convolution's backward pass with LibTorch's own
//! `aten::convolution_backward` (src/conv_backward.cpp), instead of Burn's generic fallback,
//! which computes the weight gradient as a forward convolution of the swapped input and output
//! gradient, a shape LibTorch's CPU kernels handle several times slower. See PATCHED.md.

use super::ffi::{panic_on_error, take_tensor};
use std::ffi::{c_char, c_int};
use torch_sys::C_tensor;

unsafe extern "C" {
    fn burn_tch_convolution_backward(
        grad_output: *const C_tensor,
        input: *const C_tensor,
        weight: *const C_tensor,
        stride: *const i64,
        padding: *const i64,
        dilation: *const i64,
        spatial_dims: i64,
        groups: i64,
        want_input: c_int,
        want_weight: c_int,
        grad_input: *mut *mut C_tensor,
        grad_weight: *mut *mut C_tensor,
    ) -> *mut c_char;
}

/// Which gradients of a convolution to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConvGrad {
    /// The gradient with respect to the convolution's input.
    Input,
    /// The gradient with respect to the convolution's weight.
    Weight,
}

/// The gradient `which` of `conv(input, weight)` (no transposition, symmetric `padding`) given
/// the gradient of its output, computed by LibTorch. Panics with LibTorch's message on error, as
/// tch's own operations do.
#[allow(clippy::too_many_arguments)]
pub(crate) fn convolution_backward<const N: usize>(
    grad_output: &tch::Tensor,
    input: &tch::Tensor,
    weight: &tch::Tensor,
    stride: [i64; N],
    padding: [i64; N],
    dilation: [i64; N],
    groups: i64,
    which: ConvGrad,
) -> tch::Tensor {
    let mut grad_input: *mut C_tensor = std::ptr::null_mut();
    let mut grad_weight: *mut C_tensor = std::ptr::null_mut();
    // SAFETY: the tensors are live tch tensors, the three arrays hold N values each, and the C++
    // side writes a new tensor into the pointer asked for, or returns a malloc'ed message.
    let error = unsafe {
        burn_tch_convolution_backward(
            grad_output.as_ptr(),
            input.as_ptr(),
            weight.as_ptr(),
            stride.as_ptr(),
            padding.as_ptr(),
            dilation.as_ptr(),
            N as i64,
            groups,
            (which == ConvGrad::Input) as c_int,
            (which == ConvGrad::Weight) as c_int,
            &mut grad_input,
            &mut grad_weight,
        )
    };
    // SAFETY: NULL or a message from strdup; NULL or a tensor from new, handed over to us.
    unsafe { panic_on_error(error, "LibTorch convolution_backward") };
    let tensor = match which {
        ConvGrad::Input => grad_input,
        ConvGrad::Weight => grad_weight,
    };
    unsafe { take_tensor(tensor, "LibTorch convolution_backward") }
}
