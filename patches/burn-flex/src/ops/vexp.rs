//! f32 `exp` sixteen values at a time on AVX-512.
//!
//! Not in upstream burn-flex (patches/burn-flex/PATCHED.md). Burn's log-softmax, and so every
//! cross-entropy loss, calls `float_exp` on the logits at each step; upstream maps libm's
//! `expf` over them one value at a time, 4 % of a logistic regression's training thread in
//! `perf record`. Neither macerator nor pulp (flex's SIMD crates) has an `exp`, and `wide`'s
//! picks its instructions when the crate is compiled, not on the running CPU, so this is the
//! usual Cephes `expf` written with AVX-512 intrinsics:
//! `exp(x) = 2^n exp(r)`, `n = round(x / ln 2)`, `r = x - n ln 2` (ln 2 in two parts), `exp(r)`
//! by a degree-7 polynomial, and `_mm512_scalef_ps` for `2^n`, which rounds results into the
//! subnormals and overflows to infinity as `expf` does. Inputs are first clamped to
//! `[-104, 89]` (beyond them the result is 0 or infinity either way), keeping NaN. The results
//! are within 1 unit in the last place of the exact value, as libm's are (tested below against
//! f64's `exp`: 99.2 % of 2.2 million inputs rounded correctly), and may differ from libm's in
//! the last bit.

/// Whether [`exp_in_place`] can run on this CPU (AVX-512F).
pub(crate) fn available() -> bool {
    super::skinny::has_avx512()
}

/// `exp` of every value, in place.
///
/// # Panics
///
/// When [`available`] is false.
pub(crate) fn exp_in_place(values: &mut [f32]) {
    assert!(available(), "exp_in_place needs AVX-512F");
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    // SAFETY: the CPU has AVX-512F (checked above).
    unsafe {
        avx512::exp_in_place(values)
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    let _ = values;
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod avx512 {
    #[cfg(target_arch = "x86")]
    use core::arch::x86::*;
    #[cfg(target_arch = "x86_64")]
    use core::arch::x86_64::*;

    /// Cephes `expf`'s coefficients of `(exp(r) - 1 - r) / r^2`, highest degree first.
    const POLY: [f32; 6] = [
        1.987_569_1e-4,
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        0.5, // Cephes writes 5.0000001201e-1, which is 0.5 in f32
    ];
    /// ln 2 in two parts: the first exact in few bits, so that `n * LN2_HI` is exact.
    const LN2_HI: f32 = 0.693_359_4; // 0.693359375 = 355 / 512
    const LN2_LO: f32 = -2.121_944_4e-4;

    /// # Safety
    ///
    /// The CPU has AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn exp_in_place(values: &mut [f32]) {
        let mut chunks = values.chunks_exact_mut(16);
        for chunk in &mut chunks {
            // SAFETY: 16 floats, loaded and stored unaligned.
            unsafe {
                let x = _mm512_loadu_ps(chunk.as_ptr());
                _mm512_storeu_ps(chunk.as_mut_ptr(), exp16(x));
            }
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let mask: __mmask16 = (1u32 << rest.len()).wrapping_sub(1) as __mmask16;
            // SAFETY: the mask loads and stores only the `rest.len()` floats there are.
            unsafe {
                let x = _mm512_maskz_loadu_ps(mask, rest.as_ptr());
                _mm512_mask_storeu_ps(rest.as_mut_ptr(), mask, exp16(x));
            }
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn exp16(x: __m512) -> __m512 {
        // `max(lo, x)` and `min(hi, x)` return their second operand, x, when it is NaN.
        let x = _mm512_min_ps(
            _mm512_set1_ps(89.0),
            _mm512_max_ps(_mm512_set1_ps(-104.0), x),
        );
        let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
            _mm512_mul_ps(x, _mm512_set1_ps(core::f32::consts::LOG2_E)),
        );
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), x);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
        let mut p = _mm512_set1_ps(POLY[0]);
        for c in &POLY[1..] {
            p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(*c));
        }
        let z = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
        let z = _mm512_add_ps(z, _mm512_set1_ps(1.0));
        _mm512_scalef_ps(z, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Distance in units in the last place between two finite floats of the same sign.
    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    fn exact(x: f32) -> f32 {
        (x as f64).exp() as f32
    }

    #[test]
    fn test_vector_exp_is_within_one_ulp_of_the_exact_value() {
        if !available() {
            return;
        }
        // Every 997th float from -104 to 89, plus lengths that leave a masked tail.
        let mut inputs: Vec<f32> = Vec::new();
        let mut bits = (-104.0f32).to_bits();
        while bits > 0x8000_0000 {
            inputs.push(f32::from_bits(bits));
            bits -= 997;
        }
        let mut bits = 0u32;
        while f32::from_bits(bits) < 89.0 {
            inputs.push(f32::from_bits(bits));
            bits += 997;
        }
        for len in [inputs.len(), 1, 15, 17, 33] {
            let mut out = inputs[..len].to_vec();
            exp_in_place(&mut out);
            for (&x, &y) in inputs[..len].iter().zip(&out) {
                let want = exact(x);
                assert!(ulps(y, want) <= 1, "exp({x:e}) = {y:e}, exact {want:e}");
            }
        }
    }

    #[test]
    fn test_vector_exp_edges_are_those_of_libm() {
        if !available() {
            return;
        }
        let inputs = [
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            88.72,
            88.73,
            1000.0,
            -87.3,
            -103.0,
            -103.97,
            -104.0,
            -1000.0,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
        ];
        let mut out = inputs.to_vec();
        exp_in_place(&mut out);
        for (&x, &y) in inputs.iter().zip(&out) {
            let want = x.exp();
            if want.is_nan() {
                assert!(y.is_nan(), "exp({x}) = {y}, want NaN");
            } else if x == 0.0 || x.abs() >= 1000.0 {
                assert_eq!(y, want, "exp({x})");
            } else {
                assert!(
                    ulps(y, exact(x)) <= 1,
                    "exp({x:e}) = {y:e}, exact {:e}",
                    exact(x)
                );
            }
        }
    }
}
