//! f32 matrix products with at most 16 output columns (`[m, k] x [k, n]`, `n <= 16`).
//!
//! Not in upstream burn-flex (patches/burn-flex/PATCHED.md). A linear layer with few outputs
//! (a classifier's last layer, a logistic regression: `[128, 784] x [784, 10]`) and its weight
//! gradient (`[784, 128] x [128, 10]`, the input transposed) are such products. The `gemm`
//! crate computes them with its narrowest microkernel, 16 rows by 6 columns; on an AVX-512 Xeon
//! that took 49-62 µs and 44-49 µs for those two, and these loops about 34 and 18 µs
//! (docs/benchmarks.md, "Matrix products with few columns on flex"). They keep all `n` columns
//! of a block of rows in registers.
//!
//! Two layouts of the left matrix are handled, the two a linear layer meets:
//! - rows contiguous (`[m, k]`, column stride 1): each output is a dot product of a row and a
//!   column of the right matrix; 16 values of `k` at a time, two rows by `n` columns of
//!   accumulators, summed across lanes at the end (on AVX-512, [`rows_avx512`]: three rows by
//!   at most five columns, with intrinsics);
//! - columns contiguous (a transposed view, row stride 1): 16 or 32 output rows at a time are
//!   one or two vectors, updated by each of the `n` right-hand values of a row of `k`.
//!
//! Anything else (other strides, more columns, f64, or a CPU with neither AVX-512 nor AVX2 and
//! FMA) returns `None` and goes to `gemm` as before. The results differ from `gemm`'s only by
//! the order of the additions.

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::DType;
use burn_std::Shape;

use crate::FlexTensor;

/// Most output columns these loops handle.
const MAX_COLUMNS: usize = 16;
/// Lanes of one vector of the loops (an AVX-512 register; two AVX2 ones).
const LANES: usize = 16;
/// Below this many multiply-adds the product is left to `gemm` (too small to matter).
const MIN_WORK: usize = 4096;
/// From this many multiply-adds the rows are split over rayon's threads (as `gemm` does).
#[cfg(feature = "rayon")]
const PARALLEL_WORK: usize = 192 * 192 * 192;
/// Output rows per block (a multiple of 32); blocks are what threads share.
const BLOCK_ROWS: usize = 256;

/// Which vector instructions the running CPU has, checked once.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Avx512,
    Avx2,
    None,
}

fn level() -> Level {
    #[cfg(all(feature = "std", any(target_arch = "x86", target_arch = "x86_64")))]
    {
        static LEVEL: std::sync::OnceLock<Level> = std::sync::OnceLock::new();
        *LEVEL.get_or_init(|| {
            if std::arch::is_x86_feature_detected!("avx512f") {
                Level::Avx512
            } else if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                Level::Avx2
            } else {
                Level::None
            }
        })
    }
    #[cfg(not(all(feature = "std", any(target_arch = "x86", target_arch = "x86_64"))))]
    {
        Level::None
    }
}

/// Whether the running CPU has AVX-512F (checked once); other patched kernels ask too.
pub(crate) fn has_avx512() -> bool {
    level() == Level::Avx512
}

/// `lhs x rhs` when both are 2-D f32 matrices, `rhs` has at most 16 columns and `lhs` has
/// its rows or its columns contiguous; `None` for anything else.
pub(crate) fn try_matmul(lhs: &FlexTensor, rhs: &FlexTensor) -> Option<FlexTensor> {
    if lhs.dtype() != DType::F32 || rhs.dtype() != DType::F32 {
        return None;
    }
    let (lhs_shape, rhs_shape) = (lhs.layout().shape(), rhs.layout().shape());
    if lhs_shape.num_dims() != 2 || rhs_shape.num_dims() != 2 {
        return None;
    }
    let (m, k, n) = (lhs_shape[0], lhs_shape[1], rhs_shape[1]);
    if n == 0
        || n > MAX_COLUMNS
        || m == 0
        || k < LANES
        || m.saturating_mul(k).saturating_mul(n) < MIN_WORK
    {
        return None;
    }
    let level = level();
    if level == Level::None {
        return None;
    }
    let (a_rs, a_cs) = strides(lhs)?;
    let (b_rs, b_cs) = strides(rhs)?;
    let a = &lhs.storage::<f32>()[lhs.layout().start_offset()..];
    let b = &rhs.storage::<f32>()[rhs.layout().start_offset()..];
    let (form, a_stride, packed) = if a_cs == 1 {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        let packed = if level == Level::Avx512 {
            // SAFETY: `level` was detected on this CPU: it has AVX-512F.
            unsafe { rows_avx512::pack_columns(b, b_rs, b_cs, k, n) }
        } else {
            pack_columns(b, b_rs, b_cs, k, n)
        };
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        let packed = pack_columns(b, b_rs, b_cs, k, n);
        (Form::Rows, a_rs, packed)
    } else if a_rs == 1 && m >= LANES {
        (Form::Columns, a_cs, pack_rows(b, b_rs, b_cs, k, n))
    } else {
        return None;
    };
    let mut output = FlexTensor::empty(Shape::from(vec![m, n]), DType::F32);
    let operands = Operands {
        form,
        a,
        a_stride,
        b: &packed,
        dims: Dims { m, k, n },
    };
    for_blocks(&operands, output.storage_mut(), |first, rows| {
        // SAFETY: `level` was detected on this CPU, so the instructions `block` is compiled
        // for exist.
        unsafe { block(level, &operands, first, rows) }
    });
    Some(output)
}

/// The sizes of one product: `[m, k] x [k, n]`.
#[derive(Clone, Copy)]
struct Dims {
    m: usize,
    k: usize,
    n: usize,
}

/// Which of the left matrix's layouts a product has, and so which loop computes it.
#[derive(Clone, Copy)]
enum Form {
    /// Rows contiguous: `a_stride` is the row stride; `b` holds the right matrix's columns,
    /// each contiguous (`[n, k]`).
    Rows,
    /// Columns contiguous: `a_stride` is the column stride; `b` holds the right matrix's rows
    /// (`[k, n]`).
    Columns,
}

/// What every block of a product reads.
#[derive(Clone, Copy)]
struct Operands<'a> {
    form: Form,
    /// The left matrix from its first value.
    a: &'a [f32],
    a_stride: usize,
    /// The right matrix, packed as `form` says.
    b: &'a [f32],
    dims: Dims,
}

/// Row and column strides of a 2-D tensor, when neither is negative.
fn strides(tensor: &FlexTensor) -> Option<(usize, usize)> {
    let s = tensor.layout().strides();
    Some((usize::try_from(s[0]).ok()?, usize::try_from(s[1]).ok()?))
}

/// The right matrix's columns, each contiguous: `[n, k]` (read row by row, as a linear
/// layer's `[k, n]` weight is stored).
fn pack_columns(b: &[f32], b_rs: usize, b_cs: usize, k: usize, n: usize) -> Vec<f32> {
    // Column by column: the writes in order, without zeroing the buffer first (the reads are
    // strided, but the whole matrix is small enough for the L1 cache).
    let mut packed = Vec::with_capacity(n * k);
    for j in 0..n {
        packed.extend((0..k).map(|i| b[i * b_rs + j * b_cs]));
    }
    packed
}

/// The right matrix's rows, each contiguous: `[k, n]`.
fn pack_rows(b: &[f32], b_rs: usize, b_cs: usize, k: usize, n: usize) -> Vec<f32> {
    let mut packed = Vec::with_capacity(n * k);
    for i in 0..k {
        packed.extend((0..n).map(|j| b[i * b_rs + j * b_cs]));
    }
    packed
}

/// Splits `out`'s rows into blocks of `BLOCK_ROWS` rows, in parallel when the product is
/// large, and calls `f(first_row, rows_of_out)` for each.
fn for_blocks(operands: &Operands<'_>, out: &mut [f32], f: impl Fn(usize, &mut [f32]) + Sync) {
    let Dims { m, k, n } = operands.dims;
    #[cfg(feature = "rayon")]
    if m.saturating_mul(k).saturating_mul(n) >= PARALLEL_WORK {
        use rayon::prelude::*;
        out.par_chunks_mut(BLOCK_ROWS * n)
            .enumerate()
            .for_each(|(i, rows)| f(i * BLOCK_ROWS, rows));
        return;
    }
    let _ = (m, k);
    for (i, rows) in out.chunks_mut(BLOCK_ROWS * n).enumerate() {
        f(i * BLOCK_ROWS, rows);
    }
}

/// Output rows `first..` (as many as `out` holds), with the instructions `level` names.
///
/// # Safety
///
/// The CPU has them: `level` is what [`level`] returned.
unsafe fn block(level: Level, operands: &Operands<'_>, first: usize, out: &mut [f32]) {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        #[target_feature(enable = "avx512f,avx2,fma")]
        fn avx512(operands: &Operands<'_>, first: usize, out: &mut [f32]) {
            block_by_columns(operands, first, out);
        }
        #[target_feature(enable = "avx2,fma")]
        fn avx2(operands: &Operands<'_>, first: usize, out: &mut [f32]) {
            block_by_columns(operands, first, out);
        }
        // SAFETY: the caller checked that the CPU has these instructions.
        unsafe {
            match level {
                Level::Avx512 if matches!(operands.form, Form::Rows) => {
                    rows_avx512::rows(operands, first, out)
                }
                Level::Avx512 => avx512(operands, first, out),
                Level::Avx2 => avx2(operands, first, out),
                Level::None => unreachable!("no loops without AVX2 and FMA"),
            }
        }
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    {
        let _ = (level, operands, first, out);
        unreachable!("no loops on this architecture")
    }
}

/// One const-generic instance of either loop per column count, so that the accumulators are
/// registers.
#[inline(always)]
fn block_by_columns(operands: &Operands<'_>, first: usize, out: &mut [f32]) {
    let Operands {
        form,
        a,
        a_stride,
        b,
        dims,
    } = *operands;
    let count = out.len() / dims.n;
    macro_rules! by_columns {
        ($($n:literal)*) => {
            match (form, dims.n) {
                $(
                    (Form::Rows, $n) => rows_n::<$n>(a, a_stride, b, dims.k, first, count, out),
                    (Form::Columns, $n) => {
                        columns_n::<$n>(a, a_stride, b, dims.k, first, count, out)
                    }
                )*
                _ => unreachable!("at most {MAX_COLUMNS} columns"),
            }
        };
    }
    by_columns!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
}

// ---------------------------------------------------------------------------------------------
// Rows contiguous: dot products.
// ---------------------------------------------------------------------------------------------

/// Rows `first..first + count` of the product, `N` columns, two rows at a time.
#[inline(always)]
fn rows_n<const N: usize>(
    a: &[f32],
    a_rs: usize,
    bt: &[f32],
    k: usize,
    first: usize,
    count: usize,
    out: &mut [f32],
) {
    let mut r = 0;
    while r + 2 <= count {
        let row0 = &a[(first + r) * a_rs..][..k];
        let row1 = &a[(first + r + 1) * a_rs..][..k];
        let [sum0, sum1] = dot_rows::<N, 2>([row0, row1], bt, k);
        out[r * N..][..N].copy_from_slice(&sum0);
        out[(r + 1) * N..][..N].copy_from_slice(&sum1);
        r += 2;
    }
    if r < count {
        let row = &a[(first + r) * a_rs..][..k];
        let [sum] = dot_rows::<N, 1>([row], bt, k);
        out[r * N..][..N].copy_from_slice(&sum);
    }
}

/// The `N` dot products of each of `R` rows with the packed columns `bt` (`[N, k]`).
#[inline(always)]
fn dot_rows<const N: usize, const R: usize>(
    rows: [&[f32]; R],
    bt: &[f32],
    k: usize,
) -> [[f32; N]; R] {
    assert!(rows.iter().all(|row| row.len() >= k) && bt.len() >= N * k);
    let mut acc = [[[0.0f32; LANES]; N]; R];
    let chunks = k / LANES;
    // Plain loops, not `array::from_fn`: its closures were not inlined here (in a logistic
    // regression's profile they took 13 % as much time as this function, on top of it).
    for c in 0..chunks {
        let at = c * LANES;
        let mut xs = [[0.0f32; LANES]; R];
        for r in 0..R {
            // SAFETY: `at + LANES <= k`, and every row has `k` values (asserted above).
            xs[r] = unsafe { load(rows[r], at) };
        }
        for j in 0..N {
            // SAFETY: as above; column `j` is `bt[j * k..(j + 1) * k]`.
            let w = unsafe { load(bt, j * k + at) };
            for r in 0..R {
                for l in 0..LANES {
                    acc[r][j][l] = xs[r][l].mul_add(w[l], acc[r][j][l]);
                }
            }
        }
    }
    let mut sums = [[0.0f32; N]; R];
    for r in 0..R {
        for j in 0..N {
            let mut sum = reduce(&acc[r][j]);
            for i in chunks * LANES..k {
                sum = rows[r][i].mul_add(bt[j * k + i], sum);
            }
            sums[r][j] = sum;
        }
    }
    sums
}

/// Rows contiguous on AVX-512, with intrinsics: a block of three rows against a group of at
/// most five columns, 15 accumulators, the groups outside the rows (so that a group's packed
/// columns stay in the L1 cache while the rows stream past). The portable loops above keep two
/// rows by all `N` columns (20 accumulators for a logistic regression's 10) and were slower:
/// a `[128, 784] x [784, 10]` product took 26.5 µs there and 13.3 µs with these blocks (a
/// stand-alone copy of both, 64-byte aligned data; docs/benchmarks.md).
///
/// While the first column group runs, each block asks for the next block's rows
/// (`_mm_prefetch`, one 64-byte line per 16 values loaded). In training the left matrix is a
/// batch the loader thread has just written on the other core, so the first pass over it
/// waited for the last-level cache: the training loop's product took about 30 µs against 18.5
/// µs with the batch already in this core's caches (`examples/step_probe.rs`). The later
/// groups read rows the first brought into the L2 cache, and ask for nothing.
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod rows_avx512 {
    #[cfg(target_arch = "x86")]
    use core::arch::x86::*;
    #[cfg(target_arch = "x86_64")]
    use core::arch::x86_64::*;

    use alloc::vec::Vec;

    use super::{LANES, Operands};

    /// [`super::pack_columns`] with 16 values of a column gathered at a time
    /// (`_mm512_i32gather_ps`): a logistic regression's `[784, 10]` weight in 1.1 µs instead of
    /// 2.0 in a stand-alone copy of both (docs/benchmarks.md). The scalar loop for what does not
    /// fill 16, and for strides too large for the gather's 32-bit offsets.
    ///
    /// # Safety
    ///
    /// The CPU has AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn pack_columns(
        b: &[f32],
        b_rs: usize,
        b_cs: usize,
        k: usize,
        n: usize,
    ) -> Vec<f32> {
        // The offsets of 16 consecutive rows, in floats (the gather's scale, 4, makes them
        // bytes), as 32-bit integers: the largest, 15 rows down, must fit (checked with room).
        let Ok(stride) = i32::try_from(b_rs) else {
            return super::pack_columns(b, b_rs, b_cs, k, n);
        };
        if stride.checked_mul(LANES as i32 * 4).is_none() {
            return super::pack_columns(b, b_rs, b_cs, k, n);
        }
        assert!(n == 0 || k == 0 || (k - 1) * b_rs + (n - 1) * b_cs < b.len());
        let offsets = _mm512_mullo_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32(stride),
        );
        let mut packed: Vec<f32> = Vec::with_capacity(n * k);
        let full = k / LANES * LANES;
        for j in 0..n {
            let mut i = 0;
            while i < full {
                // SAFETY: rows `i..i + 16` of column `j` are inside `b` (asserted above: the
                // last row of the last column is), and the 16 floats go to the vector's spare
                // capacity, `n * k` values of which `packed.len() + 16` are then written.
                unsafe {
                    let values = _mm512_i32gather_ps::<4>(offsets, b.as_ptr().add(i * b_rs + j * b_cs));
                    _mm512_storeu_ps(packed.as_mut_ptr().add(packed.len()), values);
                    packed.set_len(packed.len() + LANES);
                }
                i += LANES;
            }
            packed.extend((full..k).map(|i| b[i * b_rs + j * b_cs]));
        }
        packed
    }

    /// Most columns in a group: 3 rows x 5 columns of accumulators, 3 rows and a column loaded,
    /// 19 of the 32 registers.
    const GROUP: usize = 5;
    /// Rows in a block.
    const ROWS: usize = 3;

    /// Output rows `first..` (as many as `out` holds) of a rows-contiguous product.
    ///
    /// # Safety
    ///
    /// The CPU has AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn rows(operands: &Operands<'_>, first: usize, out: &mut [f32]) {
        let Operands {
            a, a_stride, b, dims, ..
        } = *operands;
        let (k, n) = (dims.k, dims.n);
        let count = out.len() / n;
        assert!(b.len() >= n * k && (count == 0 || (first + count - 1) * a_stride + k <= a.len()));
        // Columns in groups of at most GROUP, as even as can be (10: 5 and 5; 16: four of 4).
        let groups = n.div_ceil(GROUP);
        let mut column = 0;
        for g in 0..groups {
            let width = (n - column) / (groups - g);
            let mut r = 0;
            while r < count {
                let rows = (count - r).min(ROWS);
                // How far ahead of a block's rows the next block's start: only in the first
                // group, and only while there is a next block.
                let ahead = if g == 0 && r + rows < count {
                    rows * a_stride
                } else {
                    0
                };
                // SAFETY: rows `first + r..first + r + rows` of `a` hold `k` values each and
                // columns `column..column + width` of the packed `b` hold `k` each (asserted
                // above); the block writes inside `out`'s rows `r..r + rows`.
                unsafe {
                    block(
                        a.as_ptr().add((first + r) * a_stride),
                        (a_stride, ahead),
                        b.as_ptr().add(column * k),
                        (k, n, column, width, rows),
                        &mut out[r * n..],
                    )
                };
                r += rows;
            }
            column += width;
        }
    }

    /// One block: `rows` (1 to 3) rows from `a` (stride `a_rs`) by `width` (1 to 5) packed
    /// columns from `b`, written to `out[row * n + column..]`; the rows `ahead` values past
    /// them asked for as they are read (none if `ahead` is 0).
    ///
    /// # Safety
    ///
    /// AVX-512F; `a` holds `rows` rows of `k` values at stride `a_rs`, `b` holds `width`
    /// columns of `k` values, `out` at least `(rows - 1) * n + column + width` values.
    #[inline(always)]
    unsafe fn block(
        a: *const f32,
        (a_rs, ahead): (usize, usize),
        b: *const f32,
        (k, n, column, width, rows): (usize, usize, usize, usize, usize),
        out: &mut [f32],
    ) {
        macro_rules! dispatch {
            ($($r:literal, $g:literal);*) => {
                match (rows, width) {
                    $(($r, $g) => {
                        // SAFETY: as this function's.
                        let sums = unsafe { dot::<$r, $g>(a, (a_rs, ahead), b, k) };
                        for (row, sums) in sums.iter().enumerate() {
                            out[row * n + column..][..$g].copy_from_slice(sums);
                        }
                    })*
                    _ => unreachable!("1 to {ROWS} rows, 1 to {GROUP} columns"),
                }
            };
        }
        dispatch!(3, 5; 3, 4; 3, 3; 3, 2; 3, 1;
                  2, 5; 2, 4; 2, 3; 2, 2; 2, 1;
                  1, 5; 1, 4; 1, 3; 1, 2; 1, 1);
    }

    /// The `G` dot products of each of `R` rows with `G` packed columns: 16 values of `k` at a
    /// time, the last `k % 16` under a mask, then each accumulator summed across its lanes.
    /// With `ahead` > 0, each full load of a row also asks for the line `ahead` values past
    /// it.
    ///
    /// # Safety
    ///
    /// As [`block`]'s.
    #[inline(always)]
    unsafe fn dot<const R: usize, const G: usize>(
        a: *const f32,
        (a_rs, ahead): (usize, usize),
        b: *const f32,
        k: usize,
    ) -> [[f32; G]; R] {
        // SAFETY (every load below): `at + LANES <= k` for the full chunks, and the tail's
        // masked loads read only the `k % LANES` values left (masked lanes are not read).
        unsafe {
            let mut acc = [[_mm512_setzero_ps(); G]; R];
            let mut at = 0;
            while at + LANES <= k {
                let mut x = [_mm512_setzero_ps(); R];
                for (i, x) in x.iter_mut().enumerate() {
                    let row = a.add(i * a_rs + at);
                    *x = _mm512_loadu_ps(row);
                    if ahead > 0 {
                        // A hint, which never faults; `wrapping_add` because the next block
                        // may have fewer rows than this one, so the address may be past `a`.
                        _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add(ahead).cast::<i8>());
                    }
                }
                for j in 0..G {
                    let w = _mm512_loadu_ps(b.add(j * k + at));
                    for i in 0..R {
                        acc[i][j] = _mm512_fmadd_ps(x[i], w, acc[i][j]);
                    }
                }
                at += LANES;
            }
            if at < k {
                let mask: __mmask16 = (1u16 << (k - at)) - 1;
                let mut x = [_mm512_setzero_ps(); R];
                for (i, x) in x.iter_mut().enumerate() {
                    *x = _mm512_maskz_loadu_ps(mask, a.add(i * a_rs + at));
                }
                for j in 0..G {
                    let w = _mm512_maskz_loadu_ps(mask, b.add(j * k + at));
                    for i in 0..R {
                        acc[i][j] = _mm512_fmadd_ps(x[i], w, acc[i][j]);
                    }
                }
            }
            let mut sums = [[0.0f32; G]; R];
            for i in 0..R {
                for j in 0..G {
                    sums[i][j] = _mm512_reduce_add_ps(acc[i][j]);
                }
            }
            sums
        }
    }
}

/// `LANES` values of `values` from `at`, without a bounds check.
///
/// # Safety
///
/// `at + LANES <= values.len()`.
#[inline(always)]
unsafe fn load(values: &[f32], at: usize) -> [f32; LANES] {
    debug_assert!(at + LANES <= values.len());
    // SAFETY: the caller keeps the read inside `values`.
    unsafe {
        values
            .as_ptr()
            .add(at)
            .cast::<[f32; LANES]>()
            .read_unaligned()
    }
}

/// The sum of 16 lanes, pairwise.
#[inline(always)]
fn reduce(v: &[f32; LANES]) -> f32 {
    let mut half = [0.0f32; 8];
    for l in 0..8 {
        half[l] = v[l] + v[l + 8];
    }
    let mut quarter = [0.0f32; 4];
    for l in 0..4 {
        quarter[l] = half[l] + half[l + 4];
    }
    (quarter[0] + quarter[2]) + (quarter[1] + quarter[3])
}

// ---------------------------------------------------------------------------------------------
// Columns contiguous: output rows as vectors.
// ---------------------------------------------------------------------------------------------

/// Output rows `first..first + count`, `N` columns: 32 rows at a time while `N <= 12` (24
/// accumulators), 16 otherwise, the last rows one by one.
#[inline(always)]
fn columns_n<const N: usize>(
    a: &[f32],
    a_cs: usize,
    bp: &[f32],
    k: usize,
    first: usize,
    count: usize,
    out: &mut [f32],
) {
    let mut r = 0;
    if N <= 12 {
        while r + 2 * LANES <= count {
            let block = rows_as_vectors::<N, 2>(a, a_cs, bp, k, first + r);
            store_block(&block, &mut out[r * N..]);
            r += 2 * LANES;
        }
    }
    while r + LANES <= count {
        let block = rows_as_vectors::<N, 1>(a, a_cs, bp, k, first + r);
        store_block(&block, &mut out[r * N..]);
        r += LANES;
    }
    for row in r..count {
        for j in 0..N {
            let mut sum = 0.0f32;
            for i in 0..k {
                sum = a[i * a_cs + first + row].mul_add(bp[i * N + j], sum);
            }
            out[row * N + j] = sum;
        }
    }
}

/// Output rows `row..row + 16 H`: for each `i` of `k`, `16 H` values of column `i` of the left
/// matrix times each of the `N` values of row `i` of the right one.
#[inline(always)]
fn rows_as_vectors<const N: usize, const H: usize>(
    a: &[f32],
    a_cs: usize,
    bp: &[f32],
    k: usize,
    row: usize,
) -> [[[f32; LANES]; N]; H] {
    assert!((k - 1) * a_cs + row + H * LANES <= a.len() && bp.len() >= k * N);
    let mut acc = [[[0.0f32; LANES]; N]; H];
    for i in 0..k {
        // SAFETY: `i < k`, so row `i` of `bp` and the `H * LANES` values of column `i` from
        // `row` are inside the slices (asserted above).
        let b: [f32; N] = unsafe { bp.as_ptr().add(i * N).cast::<[f32; N]>().read_unaligned() };
        for h in 0..H {
            let x = unsafe { load(a, i * a_cs + row + h * LANES) };
            for j in 0..N {
                for l in 0..LANES {
                    acc[h][j][l] = x[l].mul_add(b[j], acc[h][j][l]);
                }
            }
        }
    }
    acc
}

/// Writes `16 H` rows of `N` values, row-major, from accumulators held column by column.
#[inline(always)]
fn store_block<const N: usize, const H: usize>(block: &[[[f32; LANES]; N]; H], out: &mut [f32]) {
    for h in 0..H {
        for l in 0..LANES {
            let row = &mut out[(h * LANES + l) * N..][..N];
            for j in 0..N {
                row[j] = block[h][j][l];
            }
        }
    }
}
