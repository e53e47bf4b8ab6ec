//! Patch (logreg, not in burn-tch 0.22.1): Bernoulli masks for f32 CPU tensors
//! (src/bernoulli.cpp), where LibTorch's `bernoulli_(p)` draws every value on one thread from an
//! mt19937. Every other tensor keeps LibTorch's. See PATCHED.md.

use super::ffi::panic_on_error;
use std::ffi::c_char;
use tch::{Device, Kind};
use torch_sys::C_tensor;

unsafe extern "C" {
    fn burn_tch_bernoulli_f32_(tensor: *const C_tensor, p: f64) -> *mut c_char;
}

/// Fills `tensor` with 1 with probability `p` and 0 otherwise, seeded from LibTorch's default
/// generator: in one parallel pass when it is a contiguous f32 CPU tensor, through LibTorch's
/// `bernoulli_` otherwise. Panics with LibTorch's message on error, as tch's own operations do.
pub(crate) fn bernoulli_(tensor: &mut tch::Tensor, p: f64) {
    let fast = tensor.kind() == Kind::Float
        && tensor.device() == Device::Cpu
        && tensor.is_contiguous()
        && (0.0..=1.0).contains(&p);
    if !fast {
        let _ = tensor.f_bernoulli_float_(p).unwrap();
        return;
    }
    // SAFETY: `tensor` is a live tch tensor, borrowed mutably for the call; the C++ side only
    // writes its values, or returns a malloc'ed message.
    let error = unsafe { burn_tch_bernoulli_f32_(tensor.as_ptr(), p) };
    // SAFETY: NULL or a message from strdup.
    unsafe { panic_on_error(error, "bernoulli_f32_") };
}
