//! Adam and AdamW in one pass per parameter on the flex backend.
//!
//! Why our own: burn-optim's `Adam` and `AdamW` are backend-generic tensor code, about fifteen
//! element-wise operations per parameter and step (the moments, their bias corrections, the
//! square root, the division, the decay). On flex each is its own single-threaded pass over
//! the tensor, several into fresh buffers: on the MLP that was 17 % of an epoch, plus 6.5 %
//! zeroing new pages (docs/benchmarks.md). Burn has no fused optimizer kernel to call instead.
//! Here the same arithmetic, in the same order and precision, runs as one pass over the weight,
//! the gradient and both moments, in place, split over rayon's threads for large tensors. One
//! difference: moments too small to move a weight are stored as 0 rather than left to go
//! subnormal ([`FLUSH_BELOW`]), which made burn-optim's AdamW twice as slow after two MNIST
//! epochs.
//!
//! Everywhere else (wgpu, LibTorch, ndarray, tensors that are not `f32`) the step is
//! burn-optim's own. Both keep burn-optim's states ([`AdamState`], [`AdamWState`]), so a
//! checkpoint written by one resumes with the other, and a run resumed on another backend keeps
//! its moments.

use burn::optim::decay::WeightDecayConfig;
use burn::optim::grad_clipping::GradientClipping;
use burn::optim::{
    Adam, AdamConfig, AdamState, AdamW, AdamWConfig, AdamWState, AdaptiveMomentumState,
    LearningRate, ModuleOptimizer, Optimizer,
};
use burn::tensor::{DType, Device, Tensor, TensorData};
use rayon::prelude::*;

/// Elements per parallel chunk: tensors up to this size are updated on the calling thread, where
/// waking rayon's workers would cost more than the pass.
const CHUNK: usize = 1 << 14;

/// The moments' settings, Adam's and AdamW's alike.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Moments {
    /// Decay of the first moment.
    pub(crate) beta_1: f32,
    /// Decay of the second moment.
    pub(crate) beta_2: f32,
    /// Added to the second moment's square root.
    pub(crate) epsilon: f32,
    /// AMSGrad: divide by the running maximum of the second moment.
    pub(crate) amsgrad: bool,
}

/// AdamW (`torch.optim.AdamW`, Burn's arithmetic), fused into one pass on flex.
#[derive(Debug, Clone)]
pub(crate) struct FusedAdamW {
    moments: Moments,
    weight_decay: f32,
}

/// Adam (`torch.optim.Adam`, Burn's arithmetic: weight decay as an L2 term added to the
/// gradient), fused into one pass on flex.
#[derive(Debug, Clone)]
pub(crate) struct FusedAdam {
    moments: Moments,
    weight_decay: Option<f32>,
}

/// How a step turns the moments into the new weight, with its scalars computed once per tensor
/// exactly as burn-optim computes them.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// AdamW: `w·keep - lr·(m / c1) / (sqrt(v / c2) + ε)`.
    Decoupled {
        correction_1: f32,
        correction_2: f32,
        epsilon: f32,
        /// `1 - lr·λ`: 1 without decay, where burn-optim skips the product, which leaves every
        /// value as it is, as multiplying by 1 does.
        keep: f32,
    },
    /// Adam: the gradient plus `penalty·w` (none without decay), then
    /// `w - lr·(m·combined) / (sqrt(v) + epsilon)`.
    L2 {
        penalty: Option<f32>,
        /// `sqrt(1-β2ᵗ) / (1-β1ᵗ)`.
        combined: f32,
        /// `ε·sqrt(1-β2ᵗ)`.
        epsilon: f32,
    },
}

/// One step's scalars.
#[derive(Debug, Clone, Copy)]
struct StepScalars {
    beta_1: f32,
    beta_2: f32,
    factor_1: f32,
    factor_2: f32,
    lr: f32,
    rule: Rule,
}

/// One parameter's tensors as their data, taken from flex without a copy when flex held the
/// only reference (the usual case): the weights, gradient and moments. The update writes the
/// weights and moments in place and they go back to flex as they are; a round trip through
/// `Vec<f32>` cost two copies of each (flex's buffers are 64-byte aligned, a `Vec<f32>`'s
/// allocation is not interchangeable with them), 6.6 % of an MLP epoch.
struct Buffers {
    weights: TensorData,
    grad: TensorData,
    moment_1: TensorData,
    moment_2: TensorData,
    max_moment_2: Option<TensorData>,
}

impl Moments {
    /// The scalars of step number `time` (1 for the first) at learning rate `lr`; `rule` makes
    /// the rule from `β1ᵗ` and `β2ᵗ`'s corrections `1-β1ᵗ`, `1-β2ᵗ`.
    fn scalars(
        &self,
        lr: LearningRate,
        time: usize,
        rule: impl Fn(f32, f32) -> Rule,
    ) -> StepScalars {
        let time = i32::try_from(time).unwrap_or(i32::MAX);
        StepScalars {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            factor_1: 1.0 - self.beta_1,
            factor_2: 1.0 - self.beta_2,
            lr: lr as f32,
            rule: rule(1.0 - self.beta_1.powi(time), 1.0 - self.beta_2.powi(time)),
        }
    }
}

impl FusedAdamW {
    /// The optimizer for these moments and weight decay.
    pub(crate) fn new(moments: Moments, weight_decay: f32) -> Self {
        Self {
            moments,
            weight_decay,
        }
    }

    /// burn-optim's AdamW with the same settings, for every step the fused pass does not take.
    fn generic(&self) -> AdamW {
        let m = self.moments;
        AdamWConfig::new()
            .with_beta_1(m.beta_1)
            .with_beta_2(m.beta_2)
            .with_epsilon(m.epsilon)
            .with_weight_decay(self.weight_decay)
            .with_amsgrad(m.amsgrad)
            .build()
    }

    /// The update rule at learning rate `lr`.
    fn rule(&self, lr: LearningRate) -> impl Fn(f32, f32) -> Rule {
        let decay_rate = lr * f64::from(self.weight_decay);
        let epsilon = self.moments.epsilon;
        move |correction_1, correction_2| Rule::Decoupled {
            correction_1,
            correction_2,
            epsilon,
            keep: if decay_rate == 0.0 {
                1.0
            } else {
                (1.0 - decay_rate) as f32
            },
        }
    }
}

impl FusedAdam {
    /// The optimizer for these moments and L2 penalty (none: no decay).
    pub(crate) fn new(moments: Moments, weight_decay: Option<f32>) -> Self {
        Self {
            moments,
            weight_decay,
        }
    }

    /// burn-optim's Adam with the same settings, for every step the fused pass does not take.
    fn generic(&self) -> Adam {
        let m = self.moments;
        AdamConfig::new()
            .with_beta_1(m.beta_1)
            .with_beta_2(m.beta_2)
            .with_epsilon(m.epsilon)
            .with_weight_decay(self.weight_decay.map(WeightDecayConfig::new))
            .with_amsgrad(m.amsgrad)
            .build()
    }

    /// The update rule (`lr` enters only at the end, as in burn-optim).
    fn rule(&self) -> impl Fn(f32, f32) -> Rule {
        let (penalty, epsilon) = (self.weight_decay, self.moments.epsilon);
        move |correction_1, correction_2| {
            let bias_correction_2_sqrt = correction_2.sqrt();
            Rule::L2 {
                penalty,
                combined: bias_correction_2_sqrt / correction_1,
                epsilon: epsilon * bias_correction_2_sqrt,
            }
        }
    }
}

/// The whole-module optimizer for `optim`, with `clipping` if any (as burn-optim's configs'
/// `init` do).
pub(crate) fn module_optimizer<O: Optimizer>(
    optim: O,
    clipping: Option<GradientClipping>,
) -> ModuleOptimizer {
    let optim = ModuleOptimizer::from(optim);
    match clipping {
        Some(clipping) => optim.with_grad_clipping(clipping),
        None => optim,
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
        let momentum = state.as_ref().map(|s| &s.momentum);
        if !fuses(&tensor, &grad, momentum) {
            return self.generic().step(lr, tensor, grad, state);
        }
        let rule = self.rule(lr);
        let state = state.map(|s| s.momentum);
        let (tensor, momentum) = fused_step(
            self.moments,
            |time| self.moments.scalars(lr, time, &rule),
            tensor,
            grad,
            state,
        );
        (tensor, Some(AdamWState { momentum }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdamW::to_device(state, device)
    }
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let momentum = state.as_ref().map(|s| &s.momentum);
        if !fuses(&tensor, &grad, momentum) {
            return self.generic().step(lr, tensor, grad, state);
        }
        let rule = self.rule();
        let state = state.map(|s| s.momentum);
        let (tensor, momentum) = fused_step(
            self.moments,
            |time| self.moments.scalars(lr, time, &rule),
            tensor,
            grad,
            state,
        );
        (tensor, Some(AdamState { momentum }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        Adam::to_device(state, device)
    }
}

/// Whether the fused pass takes this step: every tensor `f32` on the flex device.
fn fuses<const D: usize>(
    tensor: &Tensor<D>,
    grad: &Tensor<D>,
    state: Option<&AdaptiveMomentumState<D>>,
) -> bool {
    if !on_flex(&tensor.device()) {
        return false;
    }
    let f32s = |t: &Tensor<D>| t.dtype() == DType::F32 && on_flex(&t.device());
    let state_f32s = state.is_none_or(|m| {
        f32s(&m.moment_1) && f32s(&m.moment_2) && m.max_moment_2.as_ref().is_none_or(f32s)
    });
    f32s(tensor) && f32s(grad) && state_f32s
}

/// The fused step, with the scalars `scalars(time)` of step `time`; the caller has checked
/// [`fuses`].
fn fused_step<const D: usize>(
    moments: Moments,
    scalars: impl Fn(usize) -> StepScalars,
    tensor: Tensor<D>,
    grad: Tensor<D>,
    state: Option<AdaptiveMomentumState<D>>,
) -> (Tensor<D>, AdaptiveMomentumState<D>) {
    let device = tensor.device();
    let weights = tensor.into_data();
    let zeros = || TensorData::zeros::<f32, _>(weights.shape().clone());
    let (time, moment_1, moment_2, max_moment_2) = match state {
        Some(m) => (
            m.time + 1,
            m.moment_1.into_data(),
            m.moment_2.into_data(),
            m.max_moment_2.map(Tensor::into_data),
        ),
        None => (1, zeros(), zeros(), None),
    };
    // AMSGrad's running maximum starts at the first second moment, which is >= 0.
    let max_moment_2 = max_moment_2.or_else(|| moments.amsgrad.then(zeros));
    let mut buffers = Buffers {
        weights,
        grad: grad.into_data(),
        moment_1,
        moment_2,
        max_moment_2,
    };
    buffers.update(scalars(time));

    let tensor = |data: TensorData| Tensor::<D>::from_data(data, &device);
    let momentum = AdaptiveMomentumState {
        time,
        moment_1: tensor(buffers.moment_1),
        moment_2: tensor(buffers.moment_2),
        max_moment_2: buffers.max_moment_2.map(tensor),
    };
    (tensor(buffers.weights), momentum)
}

impl Buffers {
    /// The update over every element, in place, in parallel chunks for large tensors.
    fn update(&mut self, k: StepScalars) {
        let weights = f32s_mut(&mut self.weights);
        let grad = self
            .grad
            .as_slice::<f32>()
            .expect("an f32 tensor on flex reads as f32 values");
        let moment_1 = f32s_mut(&mut self.moment_1);
        let moment_2 = f32s_mut(&mut self.moment_2);
        let max_moment_2 = self.max_moment_2.as_mut().map(f32s_mut);
        if weights.len() <= CHUNK {
            return update(k, weights, grad, moment_1, moment_2, max_moment_2);
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

/// One chunk's update, element by element in burn-optim's order of operations (the moments
/// flushed below [`FLUSH_BELOW`]): the gradient `g` (Adam: plus `λ·w`), `m = m·β1 + g·(1-β1)`,
/// `v = v·β2 + g²·(1-β2)`, (AMSGrad: `v̂ = max(v̂, v)`), then the weight by [`Rule`].
fn update(
    k: StepScalars,
    weights: &mut [f32],
    grad: &[f32],
    moment_1: &mut [f32],
    moment_2: &mut [f32],
    max_moment_2: Option<&mut [f32]>,
) {
    let lr = k.lr;
    let chunk = (weights, grad, moment_1, moment_2, max_moment_2);
    match k.rule {
        Rule::Decoupled {
            correction_1,
            correction_2,
            epsilon,
            keep,
        } => each(
            k,
            chunk,
            |_, g| g,
            |w, m, v| {
                let delta = (m / correction_1) / ((v / correction_2).sqrt() + epsilon);
                w * keep - delta * lr
            },
        ),
        Rule::L2 {
            penalty,
            combined,
            epsilon,
        } => {
            let adam = |w: f32, m: f32, v: f32| w - ((m * combined) / (v.sqrt() + epsilon)) * lr;
            match penalty {
                None => each(k, chunk, |_, g| g, adam),
                Some(penalty) => each(k, chunk, |w, g| w * penalty + g, adam),
            }
        }
    }
}

/// A chunk: the weights, gradient, moments and AMSGrad's maximum.
type Chunk<'a> = (
    &'a mut [f32],
    &'a [f32],
    &'a mut [f32],
    &'a mut [f32],
    Option<&'a mut [f32]>,
);

/// The loop of [`update`], with the gradient as the rule takes it (`gradient(w, g)`) and the
/// new weight (`weight(w, m, v)`); inlined, so that each rule's loop is vectorized.
#[inline(always)]
fn each(
    k: StepScalars,
    (weights, grad, moment_1, moment_2, max_moment_2): Chunk<'_>,
    gradient: impl Fn(f32, f32) -> f32,
    weight: impl Fn(f32, f32, f32) -> f32,
) {
    let elements = weights.iter_mut().zip(grad).zip(moment_1).zip(moment_2);
    match max_moment_2 {
        None => {
            for (((w, &g), m), v) in elements {
                (*m, *v) = k.moments(*m, *v, gradient(*w, g));
                *w = weight(*w, *m, *v);
            }
        }
        Some(max) => {
            for ((((w, &g), m), v), x) in elements.zip(max) {
                (*m, *v) = k.moments(*m, *v, gradient(*w, g));
                *x = x.max(*v);
                *w = weight(*w, *m, *x);
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

/// The values of `data`, read from a tensor the caller checked is `f32` on flex, whose read
/// cannot fail and whose every bit pattern is a valid `f32`.
fn f32s_mut(data: &mut TensorData) -> &mut [f32] {
    data.as_mut_slice::<f32>()
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

    /// Runs one step of `optim` from `w` per gradient in `grads`, at learning rates that change
    /// each step (as a schedule does); returns the weights and the final state.
    fn run<O: Optimizer>(
        optim: &O,
        mut w: Tensor<2>,
        grads: &[Tensor<2>],
        mut state: Option<O::State<2>>,
    ) -> (Vec<f32>, O::State<2>) {
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

    fn assert_same_moments(
        ours: &AdaptiveMomentumState<2>,
        theirs: &AdaptiveMomentumState<2>,
        what: &str,
    ) {
        assert_eq!(ours.time, theirs.time, "{what}: steps counted");
        assert_same(&values(&ours.moment_1), &values(&theirs.moment_1), what);
        assert_same(&values(&ours.moment_2), &values(&theirs.moment_2), what);
        let max = |m: &AdaptiveMomentumState<2>| m.max_moment_2.as_ref().map(values);
        match (max(ours), max(theirs)) {
            (Some(ours), Some(theirs)) => assert_same(&ours, &theirs, what),
            (ours, theirs) => assert_eq!(ours.is_some(), theirs.is_some(), "{what}: AMSGrad"),
        }
    }

    /// The settings tried: no decay, decay, decay with AMSGrad; shapes updated in one piece and
    /// split over threads.
    const DECAYS: [(f32, bool); 3] = [(0.0, false), (0.5, false), (0.01, true)];
    const SHAPES: [(usize, usize); 2] = [(3, 5), (300, 200)];

    fn moments(amsgrad: bool) -> Moments {
        Moments {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            amsgrad,
        }
    }

    /// The fused AdamW and burn-optim's, built from its config rather than from ours.
    fn adamw(weight_decay: f32, amsgrad: bool) -> (FusedAdamW, AdamW) {
        let fused = FusedAdamW::new(moments(amsgrad), weight_decay);
        let generic = AdamWConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(weight_decay)
            .with_amsgrad(amsgrad)
            .build();
        (fused, generic)
    }

    /// The fused Adam and burn-optim's, built from its config rather than from ours.
    fn adam(weight_decay: f32, amsgrad: bool) -> (FusedAdam, Adam) {
        let decay = (weight_decay > 0.0).then_some(weight_decay);
        let fused = FusedAdam::new(moments(amsgrad), decay);
        let generic = AdamConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(decay.map(WeightDecayConfig::new))
            .with_amsgrad(amsgrad)
            .build();
        (fused, generic)
    }

    fn adamw_momentum(state: &AdamWState<2>) -> &AdaptiveMomentumState<2> {
        &state.momentum
    }

    fn adam_momentum(state: &AdamState<2>) -> &AdaptiveMomentumState<2> {
        &state.momentum
    }

    /// Four steps of `fused` and of `generic` from the same weights and gradients give the same
    /// weights and moments; `momentum` reads a state's moments.
    fn compare<F: Optimizer, G: Optimizer>(
        (fused, generic): (F, G),
        (rows, cols): (usize, usize),
        momentum_f: impl Fn(&F::State<2>) -> &AdaptiveMomentumState<2>,
        momentum_g: impl Fn(&G::State<2>) -> &AdaptiveMomentumState<2>,
        what: &str,
    ) {
        let w = random(rows, cols, 1);
        let grads: Vec<_> = (0..4).map(|i| random(rows, cols, 10 + i)).collect();
        let (ours, our_state) = run(&fused, w.clone(), &grads, None);
        let (theirs, their_state) = run(&generic, w.clone(), &grads, None);
        assert_same(&ours, &theirs, &format!("weights, {what}"));
        assert_ne!(ours, values(&w), "{what}: the weights moved");
        assert_same_moments(momentum_f(&our_state), momentum_g(&their_state), what);
    }

    /// The fused AdamW and Adam give burn-optim's weights and moments, with and without decay
    /// (decoupled for AdamW, an L2 term in the gradient for Adam) and AMSGrad, on a tensor
    /// updated in one piece and on one split over threads.
    #[test]
    fn the_fused_steps_match_burn_optims() {
        for shape in SHAPES {
            for (decay, amsgrad) in DECAYS {
                let what = format!("{shape:?}, decay {decay}, amsgrad {amsgrad}");
                let (w, a) = (adamw_momentum, adam_momentum);
                compare(
                    adamw(decay, amsgrad),
                    shape,
                    w,
                    w,
                    &format!("AdamW, {what}"),
                );
                compare(adam(decay, amsgrad), shape, a, a, &format!("Adam, {what}"));
            }
        }
    }

    /// The parallel split is exercised: one shape fits a chunk, the other spans several.
    #[test]
    fn the_shapes_tried_cover_one_chunk_and_several() {
        let [(r1, c1), (r2, c2)] = SHAPES;
        assert!(r1 * c1 <= CHUNK && r2 * c2 > 2 * CHUNK);
    }

    /// A state written by burn-optim's AdamW (an older checkpoint, another backend) continues
    /// in the fused pass as it would have in burn-optim's.
    #[test]
    fn the_fused_step_continues_burn_optims_state() {
        let (fused, generic) = adamw(0.01, false);
        let w = random(40, 30, 2);
        let grads: Vec<_> = (0..3).map(|i| random(40, 30, 20 + i)).collect();
        let (_, state) = run(&generic, w.clone(), &grads[..1], None);
        let (ours, _) = run(&fused, w.clone(), &grads[1..], Some(state.clone()));
        let (theirs, _) = run(&generic, w, &grads[1..], Some(state));
        assert_same(&ours, &theirs, "weights after a resumed state");
    }

    /// A moment that would shrink into the subnormal floats (a weight whose gradient stays 0)
    /// is stored as 0, and the weights still are burn-optim's, for AdamW and Adam.
    #[test]
    fn moments_never_become_subnormal() {
        let device = Device::flex();
        let tiny = |value: f32| Tensor::<2>::full([3, 4], value, &device);
        let momentum = AdaptiveMomentumState {
            time: 900,
            moment_1: tiny(1.25e-38),
            moment_2: tiny(1e-36),
            max_moment_2: None,
        };
        let w = random(3, 4, 5);
        let zero = std::slice::from_ref(&tiny(0.0)).to_vec();
        let subnormal = |t: &Tensor<2>| values(t).iter().any(|x| x.is_subnormal());

        let (fused, generic) = adamw(0.0, false);
        let state = AdamWState::new(momentum.clone());
        let (ours, our_state) = run(&fused, w.clone(), &zero, Some(state.clone()));
        let (theirs, their_state) = run(&generic, w.clone(), &zero, Some(state));
        assert_same(&ours, &theirs, "AdamW's weights");
        assert!(
            subnormal(&their_state.momentum.moment_1),
            "burn-optim's goes subnormal"
        );
        assert!(
            !subnormal(&our_state.momentum.moment_1),
            "AdamW's is flushed"
        );
        assert!(!subnormal(&our_state.momentum.moment_2));

        let (fused, generic) = adam(0.0, false);
        let state = AdamState::new(momentum);
        let (ours, our_state) = run(&fused, w.clone(), &zero, Some(state.clone()));
        let (theirs, _) = run(&generic, w, &zero, Some(state));
        assert_same(&ours, &theirs, "Adam's weights");
        assert!(
            !subnormal(&our_state.momentum.moment_1),
            "Adam's is flushed"
        );
    }

    /// The fused weights are f32 tensors on flex, of the parameter's shape.
    #[test]
    fn the_fused_step_returns_flex_f32_tensors_of_the_same_shape() {
        let (fused, _) = adamw(0.01, false);
        let (w, state) = fused.step(0.1, random(7, 9, 3), random(7, 9, 4), None);
        let state = state.unwrap();
        for t in [&w, &state.momentum.moment_1, &state.momentum.moment_2] {
            assert_eq!(t.dims(), [7, 9]);
            assert_eq!(t.dtype(), DType::F32);
            assert!(on_flex(&t.device()));
        }
    }

    /// The step writes in place only into buffers it holds alone: tensors that share theirs
    /// with a copy kept elsewhere (a checkpoint's record, a model clone) keep their values.
    #[test]
    fn the_fused_step_leaves_shared_tensors_unchanged() {
        let (fused, _) = adamw(0.01, false);
        let (w, grad) = (random(300, 70, 5), random(300, 70, 6));
        let (kept_w, kept_grad) = (values(&w), values(&grad));
        let (w_clone, grad_clone) = (w.clone(), grad.clone());
        let (stepped, state) = fused.step(0.1, w, grad, None);
        assert_ne!(values(&stepped), kept_w);
        assert_eq!(values(&w_clone), kept_w);
        assert_eq!(values(&grad_clone), kept_grad);
        let momentum = state.unwrap().momentum;
        let (m1, m2) = (values(&momentum.moment_1), values(&momentum.moment_2));
        let shared = AdamWState {
            momentum: momentum.clone(),
        };
        let _ = fused.step(0.1, stepped, random(300, 70, 7), Some(shared));
        assert_eq!(values(&momentum.moment_1), m1);
        assert_eq!(values(&momentum.moment_2), m2);
    }
}
