//! AdamW in one pass per parameter on the flex backend.
//!
//! Why our own: burn-optim's `AdamW` is backend-generic tensor code, about fifteen element-wise
//! operations per parameter and step (the moments, their bias corrections, the square root, the
//! division, the decay). On flex each is its own single-threaded pass over the tensor, several
//! into fresh buffers: on the MLP that was 17 % of an epoch, plus 6.5 % zeroing new pages
//! (docs/benchmarks.md). Burn has no fused optimizer kernel to call instead. Here the same
//! arithmetic, in the same order and precision, runs as one pass over the weight, the gradient
//! and both moments, in place, split over rayon's threads for large tensors. One difference:
//! moments too small to move a weight are stored as 0 rather than left to go subnormal
//! ([`FLUSH_BELOW`]), which made burn-optim's AdamW twice as slow after two MNIST epochs.
//!
//! Everywhere else (wgpu, LibTorch, ndarray, tensors that are not `f32`) the step is
//! burn-optim's own `AdamW`. Both keep burn-optim's [`AdamWState`], so a checkpoint written by
//! one resumes with the other, and a run resumed on another backend keeps its moments.

use burn::optim::grad_clipping::GradientClipping;
use burn::optim::{
    AdamW, AdamWConfig, AdamWState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer,
};
use burn::tensor::{DType, Device, Tensor, TensorData};
use rayon::prelude::*;

/// Elements per parallel chunk: tensors up to this size are updated on the calling thread, where
/// waking rayon's workers would cost more than the pass.
const CHUNK: usize = 1 << 14;

/// AdamW (`torch.optim.AdamW`, Burn's arithmetic) fused into one pass on flex.
#[derive(Clone)]
pub(crate) struct FusedAdamW {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    weight_decay: f32,
    amsgrad: bool,
    /// burn-optim's AdamW with the same settings, for every tensor the fused pass does not take.
    generic: AdamW,
}

impl std::fmt::Debug for FusedAdamW {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FusedAdamW")
            .field("beta_1", &self.beta_1)
            .field("beta_2", &self.beta_2)
            .field("epsilon", &self.epsilon)
            .field("weight_decay", &self.weight_decay)
            .field("amsgrad", &self.amsgrad)
            .finish()
    }
}

/// The step's scalars, computed once per tensor exactly as burn-optim computes them.
#[derive(Debug, Clone, Copy)]
struct StepScalars {
    beta_1: f32,
    beta_2: f32,
    factor_1: f32,
    factor_2: f32,
    correction_1: f32,
    correction_2: f32,
    epsilon: f32,
    /// `1 - lr * weight_decay`: 1 without decay, where burn-optim skips the product, which
    /// leaves every value as it is, as multiplying by 1 does.
    keep: f32,
    lr: f32,
}

/// One parameter's tensors as plain vectors: the weights, gradient and moments.
struct Buffers {
    weights: Vec<f32>,
    grad: Vec<f32>,
    moment_1: Vec<f32>,
    moment_2: Vec<f32>,
    max_moment_2: Option<Vec<f32>>,
}

impl FusedAdamW {
    /// The optimizer for `config`'s betas, epsilon, weight decay and AMSGrad flag.
    pub(crate) fn new(
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
        weight_decay: f32,
        amsgrad: bool,
    ) -> Self {
        let generic = AdamWConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .with_weight_decay(weight_decay)
            .with_amsgrad(amsgrad)
            .build();
        Self {
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
            amsgrad,
            generic,
        }
    }

    /// The whole-module optimizer, with `clipping` if any (as `AdamWConfig::init` does).
    pub(crate) fn init(self, clipping: Option<GradientClipping>) -> ModuleOptimizer {
        let optim = ModuleOptimizer::from(self);
        match clipping {
            Some(clipping) => optim.with_grad_clipping(clipping),
            None => optim,
        }
    }

    /// Whether the fused pass takes this step: every tensor `f32` on the flex device.
    fn fuses<const D: usize>(
        &self,
        tensor: &Tensor<D>,
        grad: &Tensor<D>,
        state: Option<&AdamWState<D>>,
    ) -> bool {
        if !on_flex(&tensor.device()) {
            return false;
        }
        let f32s = |t: &Tensor<D>| t.dtype() == DType::F32 && on_flex(&t.device());
        let state_f32s = state.is_none_or(|s| {
            let m = &s.momentum;
            f32s(&m.moment_1) && f32s(&m.moment_2) && m.max_moment_2.as_ref().is_none_or(f32s)
        });
        f32s(tensor) && f32s(grad) && state_f32s
    }

    /// The scalars of step number `time` (1 for the first) at learning rate `lr`.
    fn scalars(&self, lr: LearningRate, time: usize) -> StepScalars {
        let time = i32::try_from(time).unwrap_or(i32::MAX);
        let decay_rate = lr * f64::from(self.weight_decay);
        StepScalars {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            factor_1: 1.0 - self.beta_1,
            factor_2: 1.0 - self.beta_2,
            correction_1: 1.0 - self.beta_1.powi(time),
            correction_2: 1.0 - self.beta_2.powi(time),
            epsilon: self.epsilon,
            keep: if decay_rate == 0.0 {
                1.0
            } else {
                (1.0 - decay_rate) as f32
            },
            lr: lr as f32,
        }
    }

    /// The fused step; the caller has checked [`Self::fuses`].
    fn fused_step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<AdamWState<D>>,
    ) -> (Tensor<D>, Option<AdamWState<D>>) {
        let device = tensor.device();
        let shape = tensor.shape();
        let weights = into_f32s(tensor);
        let grad = into_f32s(grad);
        let zeros = || vec![0.0f32; weights.len()];
        let (time, moment_1, moment_2, max_moment_2) = match state {
            Some(AdamWState { momentum: m }) => (
                m.time + 1,
                into_f32s(m.moment_1),
                into_f32s(m.moment_2),
                m.max_moment_2.map(into_f32s),
            ),
            None => (1, zeros(), zeros(), None),
        };
        // AMSGrad's running maximum starts at the first second moment, which is >= 0.
        let max_moment_2 = max_moment_2.or_else(|| self.amsgrad.then(zeros));
        let mut buffers = Buffers {
            weights,
            grad,
            moment_1,
            moment_2,
            max_moment_2,
        };
        buffers.update(self.scalars(lr, time));

        let tensor = |values: Vec<f32>| {
            Tensor::<D>::from_data(TensorData::new(values, shape.clone()), &device)
        };
        let momentum = AdaptiveMomentumState {
            time,
            moment_1: tensor(buffers.moment_1),
            moment_2: tensor(buffers.moment_2),
            max_moment_2: buffers.max_moment_2.map(tensor),
        };
        (tensor(buffers.weights), Some(AdamWState { momentum }))
    }
}

impl Optimizer for FusedAdamW {
    type State<const D: usize> = AdamWState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        if self.fuses(&tensor, &grad, state.as_ref()) {
            self.fused_step(lr, tensor, grad, state)
        } else {
            self.generic.step(lr, tensor, grad, state)
        }
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdamW::to_device(state, device)
    }
}

impl Buffers {
    /// The update over every element, in parallel chunks for large tensors.
    fn update(&mut self, k: StepScalars) {
        let Self {
            weights,
            grad,
            moment_1,
            moment_2,
            max_moment_2,
        } = self;
        if weights.len() <= CHUNK {
            return update(
                k,
                weights,
                grad,
                moment_1,
                moment_2,
                max_moment_2.as_deref_mut(),
            );
        }
        let parts = weights
            .par_chunks_mut(CHUNK)
            .zip(grad.par_chunks(CHUNK))
            .zip(moment_1.par_chunks_mut(CHUNK))
            .zip(moment_2.par_chunks_mut(CHUNK));
        match max_moment_2 {
            Some(max) => parts
                .zip(max.par_chunks_mut(CHUNK))
                .for_each(|((((w, g), m), v), x)| update(k, w, g, m, v, Some(x))),
            None => parts.for_each(|(((w, g), m), v)| update(k, w, g, m, v, None)),
        }
    }
}

impl StepScalars {
    /// The new moments from the old ones and the gradient, each flushed to 0 below
    /// [`FLUSH_BELOW`].
    #[inline(always)]
    fn moments(&self, m: f32, v: f32, g: f32) -> (f32, f32) {
        (
            flush(m * self.beta_1 + g * self.factor_1),
            flush(v * self.beta_2 + (g * g) * self.factor_2),
        )
    }

    /// The new weight from the first moment and the second (AMSGrad: its running maximum).
    #[inline(always)]
    fn weight(&self, w: f32, m: f32, v: f32) -> f32 {
        let delta = (m / self.correction_1) / ((v / self.correction_2).sqrt() + self.epsilon);
        w * self.keep - delta * self.lr
    }
}

/// Moments smaller than this are stored as 0. The first moment of a weight whose input stays
/// at 0 for a while (an MNIST pixel near the border) shrinks by `β1` every step, and after some
/// 800 steps reaches the subnormal floats, where every multiplication and division takes a
/// microcode assist of about a hundred cycles on x86: on the MLP the update took twice as long
/// from the third epoch on. Flushing costs nothing measurable here: such a moment moves its
/// weight by less than `lr · 1e-30 / ε`, below any `f32` weight's last bit.
const FLUSH_BELOW: f32 = 1e-30;

/// `x`, or 0 when `|x| <` [`FLUSH_BELOW`] (a compare and a mask, vectorized).
#[inline(always)]
fn flush(x: f32) -> f32 {
    if x.abs() < FLUSH_BELOW { 0.0 } else { x }
}

/// AdamW on one chunk, element by element in burn-optim's order of operations (the moments
/// flushed below [`FLUSH_BELOW`]): `m = m·β1 + g·(1-β1)`, `v = v·β2 + g²·(1-β2)`, (AMSGrad: `v̂ = max(v̂, v)`),
/// `δ = (m / (1-β1ᵗ)) / (sqrt(v / (1-β2ᵗ)) + ε)`, `w = w·(1 - lr·λ) - δ·lr`.
fn update(
    k: StepScalars,
    weights: &mut [f32],
    grad: &[f32],
    moment_1: &mut [f32],
    moment_2: &mut [f32],
    max_moment_2: Option<&mut [f32]>,
) {
    let elements = weights.iter_mut().zip(grad).zip(moment_1).zip(moment_2);
    match max_moment_2 {
        None => {
            for (((w, &g), m), v) in elements {
                (*m, *v) = k.moments(*m, *v, g);
                *w = k.weight(*w, *m, *v);
            }
        }
        Some(max) => {
            for ((((w, &g), m), v), x) in elements.zip(max) {
                (*m, *v) = k.moments(*m, *v, g);
                *x = x.max(*v);
                *w = k.weight(*w, *m, *x);
            }
        }
    }
}

/// Whether `device` is flex's (autodiff or not).
#[cfg(feature = "flex")]
fn on_flex(device: &Device) -> bool {
    *device == Device::flex()
}

/// Without flex compiled in, no device is flex's.
#[cfg(not(feature = "flex"))]
fn on_flex(_device: &Device) -> bool {
    false
}

/// The tensor's values, without a copy when flex holds the only reference to a contiguous
/// buffer. The caller has checked it is an `f32` tensor on flex, whose read cannot fail and
/// whose every bit pattern is a valid `f32`.
fn into_f32s<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .try_into_vec::<f32>()
        .expect("an f32 tensor on flex reads as f32 values")
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use burn::tensor::Distribution;

    use super::*;

    /// Random `[rows, cols]` f32 tensors on flex.
    fn random(rows: usize, cols: usize, seed: u64) -> Tensor<2> {
        let device = Device::flex();
        device.seed(seed);
        Tensor::random([rows, cols], Distribution::Normal(0.0, 1.0), &device)
    }

    fn values(tensor: &Tensor<2>) -> Vec<f32> {
        tensor.to_data().try_to_vec::<f32>().unwrap()
    }

    /// Runs `steps` steps of `optim` from `w` with gradients `grads[i]` and learning rates that
    /// change each step (as a schedule does); returns the weights and the final state.
    fn run<O: Optimizer<State<2> = AdamWState<2>>>(
        optim: &O,
        mut w: Tensor<2>,
        grads: &[Tensor<2>],
        mut state: Option<AdamWState<2>>,
    ) -> (Vec<f32>, AdamWState<2>) {
        for (i, g) in grads.iter().enumerate() {
            let lr = 0.01 / (i as f64 + 1.0);
            (w, state) = optim.step(lr, w, g.clone(), state);
        }
        (values(&w), state.unwrap())
    }

    fn assert_same(ours: &[f32], theirs: &[f32], what: &str) {
        assert_eq!(ours.len(), theirs.len(), "{what}: lengths");
        for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
            let tolerance = 1e-6 * a.abs().max(b.abs()).max(1e-3);
            assert!(
                (a - b).abs() <= tolerance,
                "{what}[{i}]: fused {a}, burn-optim {b}"
            );
        }
    }

    /// The fused pass gives burn-optim's AdamW's weights and moments, with and without decay
    /// and AMSGrad, on a tensor updated in one piece and on one split over threads.
    #[test]
    fn the_fused_step_matches_burn_optims_adamw() {
        for (rows, cols) in [(3, 5), (300, 200)] {
            assert!(
                rows * cols <= CHUNK || rows * cols > 2 * CHUNK,
                "one small, one parallel"
            );
            for (weight_decay, amsgrad) in [(0.0, false), (0.5, false), (0.01, true)] {
                let what = format!("[{rows}, {cols}], decay {weight_decay}, amsgrad {amsgrad}");
                let fused = FusedAdamW::new(0.9, 0.999, 1e-8, weight_decay, amsgrad);
                let generic = AdamWConfig::new()
                    .with_epsilon(1e-8)
                    .with_weight_decay(weight_decay)
                    .with_amsgrad(amsgrad)
                    .build();
                let w = random(rows, cols, 1);
                let grads: Vec<_> = (0..4).map(|i| random(rows, cols, 10 + i)).collect();
                let (ours, our_state) = run(&fused, w.clone(), &grads, None);
                let (theirs, their_state) = run(&generic, w.clone(), &grads, None);
                assert_same(&ours, &theirs, &format!("weights, {what}"));
                assert_ne!(ours, values(&w), "{what}: the weights moved");
                let (ours, theirs) = (&our_state.momentum, &their_state.momentum);
                assert_eq!(ours.time, theirs.time, "{what}: steps counted");
                assert_same(&values(&ours.moment_1), &values(&theirs.moment_1), &what);
                assert_same(&values(&ours.moment_2), &values(&theirs.moment_2), &what);
                assert_eq!(
                    ours.max_moment_2.is_some(),
                    amsgrad,
                    "{what}: AMSGrad's maximum"
                );
            }
        }
    }

    /// A state written by burn-optim's AdamW (an older checkpoint, another backend) continues
    /// in the fused pass as it would have in burn-optim's.
    #[test]
    fn the_fused_step_continues_burn_optims_state() {
        let fused = FusedAdamW::new(0.9, 0.999, 1e-8, 0.01, false);
        let generic = AdamWConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(0.01)
            .build();
        let w = random(40, 30, 2);
        let grads: Vec<_> = (0..3).map(|i| random(40, 30, 20 + i)).collect();
        let (_, state) = run(&generic, w.clone(), &grads[..1], None);
        let (ours, _) = run(&fused, w.clone(), &grads[1..], Some(state.clone()));
        let (theirs, _) = run(&generic, w, &grads[1..], Some(state));
        assert_same(&ours, &theirs, "weights after a resumed state");
    }

    /// A moment that would shrink into the subnormal floats (a weight whose gradient stays 0)
    /// is stored as 0, and the weights still are burn-optim's.
    #[test]
    fn moments_never_become_subnormal() {
        let fused = FusedAdamW::new(0.9, 0.999, 1e-8, 0.0, false);
        let generic = AdamWConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(0.0)
            .build();
        let device = Device::flex();
        let tiny = |value: f32| Tensor::<2>::full([3, 4], value, &device);
        let state = AdamWState {
            momentum: AdaptiveMomentumState {
                time: 900,
                moment_1: tiny(1.25e-38),
                moment_2: tiny(1e-36),
                max_moment_2: None,
            },
        };
        let w = random(3, 4, 5);
        let zero = tiny(0.0);
        let (ours, our_state) = run(
            &fused,
            w.clone(),
            std::slice::from_ref(&zero),
            Some(state.clone()),
        );
        let (theirs, their_state) = run(&generic, w, &[zero], Some(state));
        assert_same(&ours, &theirs, "weights");
        let subnormal = |t: &Tensor<2>| values(t).iter().any(|x| x.is_subnormal());
        assert!(
            subnormal(&their_state.momentum.moment_1),
            "burn-optim's goes subnormal"
        );
        assert!(!subnormal(&our_state.momentum.moment_1), "ours is flushed");
        assert!(!subnormal(&our_state.momentum.moment_2));
    }

    /// The fused weights are f32 tensors on flex, of the parameter's shape.
    #[test]
    fn the_fused_step_returns_flex_f32_tensors_of_the_same_shape() {
        let fused = FusedAdamW::new(0.9, 0.999, 1e-8, 0.01, false);
        let (w, state) = fused.step(0.1, random(7, 9, 3), random(7, 9, 4), None);
        let state = state.unwrap();
        for t in [&w, &state.momentum.moment_1, &state.momentum.moment_2] {
            assert_eq!(t.dims(), [7, 9]);
            assert_eq!(t.dtype(), DType::F32);
            assert!(on_flex(&t.device()));
        }
    }
}
