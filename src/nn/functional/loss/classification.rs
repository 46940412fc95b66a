//! `cross_entropy` and `nll_loss`, with class indices or class probabilities as targets.
//!
//! Both are one op on log-probabilities `logp` (`cross_entropy` takes `log_softmax` over the
//! class dim first; the backward of `log_softmax` does the rest):
//!
//! ```text
//! loss[j] = −Σ_c A[j, c] · logp[j, c]        for every position j (sample, and spatial
//!                                            position of a K-dim input)
//! ```
//!
//! with a coefficient tensor `A` of the input's shape, built from the target, the class
//! weights `w` (all 1 without), the label smoothing `ε` and the number of classes `C`:
//!
//! * class index `y`: `A[j, c] = (1 − ε)·w[y]·[c = y] + (ε/C)·w[c]`, and 0 where `y` is
//!   `ignore_index`. `'mean'` divides by `Σ_j w[y_j]` over the targets not ignored;
//! * probabilities `t`: `A[j, c] = w[c]·((1 − ε)·t[j, c] + ε/C)`. `'mean'` divides by the
//!   number of positions.
//!
//! This is PyTorch's `(1 − ε)·NLL + (ε/C)·SMOOTH` written as one sum. For class indices `A`
//! is never built: the indices, `w` and `ε` describe it (see `TargetWeights`). The derivatives:
//! `∂loss[j]/∂logp[j, c] = −A[j, c]`, and for probabilities
//! `∂loss[j]/∂t[j, c] = −(1 − ε)·w[c]·logp[j, c]`.

use ndarray::{ArrayD, Axis, IxDyn, Zip};

use super::{Reduction, grad_per_element, reduce};
use crate::autograd::{Backward, record};
use crate::error::{Error, Result};
use crate::tensor::{SharedArray, Tensor};

/// The keyword arguments of [`cross_entropy_with`], with PyTorch's defaults.
/// PyTorch: `F.cross_entropy(input, target, weight=None, ignore_index=-100,
/// reduction='mean', label_smoothing=0.0)`.
///
/// Set the fields you need and take the rest from `Default`, as you would pass keywords:
///
/// ```
/// use tapegrad::nn::functional::{CrossEntropyOptions, Reduction};
/// let options = CrossEntropyOptions { label_smoothing: 0.1, reduction: Reduction::Sum, ..Default::default() };
/// assert_eq!(options.ignore_index, -100);
/// assert!(options.weight.is_none());
/// ```
#[derive(Debug, Clone)]
pub struct CrossEntropyOptions {
    /// A weight per class, shape `(C,)`; `None` (the default) weighs every class 1.
    /// Not differentiated.
    pub weight: Option<Tensor>,
    /// Targets equal to this class index add nothing to the loss, the gradient or the
    /// `'mean'` divisor. Default −100. Class-index targets only: with probability targets it
    /// must be negative (PyTorch's rule).
    pub ignore_index: i64,
    /// Default [`Reduction::Mean`].
    pub reduction: Reduction,
    /// `ε ∈ [0, 1]`: the target becomes a mix of itself (weight `1 − ε`) and the uniform
    /// distribution (weight `ε`). Default 0.
    pub label_smoothing: f32,
}

impl Default for CrossEntropyOptions {
    fn default() -> Self {
        CrossEntropyOptions { weight: None, ignore_index: -100, reduction: Reduction::Mean, label_smoothing: 0.0 }
    }
}

impl CrossEntropyOptions {
    /// Checks what does not depend on the input: `label_smoothing` in `[0, 1]` and a 1-D
    /// `weight`. [`nn::CrossEntropyLoss`](crate::nn::CrossEntropyLoss) calls this when built;
    /// the number of classes is checked against the input in the forward pass.
    ///
    /// PyTorch raises the same `RuntimeError` in the forward pass, for `label_smoothing > 1`;
    /// a negative value it silently treats as 0, which tapegrad rejects too.
    ///
    /// # Errors
    /// [`Error::Runtime`] with PyTorch's text: "label_smoothing must be between 0.0 and 1.0.
    /// Got: 1.5".
    ///
    /// ```
    /// use tapegrad::nn::functional::CrossEntropyOptions;
    /// assert!(CrossEntropyOptions::default().validate().is_ok());
    /// let err = CrossEntropyOptions { label_smoothing: 1.5, ..Default::default() }.validate().unwrap_err();
    /// assert_eq!(err.message(), "label_smoothing must be between 0.0 and 1.0. Got: 1.5");
    /// ```
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.label_smoothing) {
            return Err(Error::Runtime(format!(
                "label_smoothing must be between 0.0 and 1.0. Got: {}",
                self.label_smoothing
            )));
        }
        validate_weight_dims(self.weight.as_ref())
    }
}

/// The keyword arguments of [`nll_loss_with`], with PyTorch's defaults.
/// PyTorch: `F.nll_loss(input, target, weight=None, ignore_index=-100, reduction='mean')`.
/// Example on [`nll_loss_with`].
#[derive(Debug, Clone)]
pub struct NllOptions {
    /// A weight per class, shape `(C,)`; `None` (the default) weighs every class 1.
    /// Not differentiated.
    pub weight: Option<Tensor>,
    /// Targets equal to this class index are ignored. Default −100.
    pub ignore_index: i64,
    /// Default [`Reduction::Mean`].
    pub reduction: Reduction,
}

impl Default for NllOptions {
    fn default() -> Self {
        NllOptions { weight: None, ignore_index: -100, reduction: Reduction::Mean }
    }
}

impl NllOptions {
    /// Checks that `weight` is 1-D, as [`nn::NllLoss`](crate::nn::NllLoss) does when built
    /// (PyTorch checks it in the forward pass of `F.nll_loss`).
    ///
    /// # Errors
    /// [`Error::Runtime`] for a weight that is not 1-D.
    ///
    /// ```
    /// use tapegrad::{Tensor, nn::functional::NllOptions};
    /// let options = NllOptions { weight: Some(Tensor::ones(&[2, 2])), ..Default::default() };
    /// assert!(options.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<()> {
        validate_weight_dims(self.weight.as_ref())
    }
}

fn validate_weight_dims(weight: Option<&Tensor>) -> Result<()> {
    match weight {
        Some(w) if w.dim() != 1 => Err(Error::Runtime(format!(
            "weight tensor should be defined either for all classes or no classes but got weight tensor of shape: {:?}",
            w.shape()
        ))),
        _ => Ok(()),
    }
}

/// Cross-entropy between logits and targets, with PyTorch's defaults (no weights,
/// `ignore_index = −100`, mean, no label smoothing): `(1/N)·Σᵢ −ln softmax(xᵢ)[yᵢ]` for class
/// indices `y`. PyTorch: `F.cross_entropy(input, target)`. See [`cross_entropy_with`] for
/// the full formula, the shapes and the options.
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let logits = Tensor::from_vec(vec![2.0, 0.0, 0.0, 0.0, 0.0, 2.0], &[2, 3]).unwrap().requires_grad_(true);
/// let target = Tensor::from_vec(vec![0.0, 2.0], &[2]).unwrap(); // class indices, as f32
/// let loss = F::cross_entropy(&logits, &target);
/// let expected = -(2f32.exp() / (2f32.exp() + 2.0)).ln(); // both samples alike
/// assert!((loss.item() - expected).abs() < 1e-6);
/// loss.backward();
/// assert_eq!(logits.grad().unwrap().shape(), &[2, 3]);
/// ```
///
/// # Panics
/// See [`cross_entropy_with`].
#[track_caller]
pub fn cross_entropy(input: &Tensor, target: &Tensor) -> Tensor {
    cross_entropy_with(input, target, &CrossEntropyOptions::default())
}

/// Cross-entropy between logits and targets: `nll_loss(log_softmax(input, class_dim), target)`,
/// with class weights, ignored targets and label smoothing. PyTorch: `F.cross_entropy(input,
/// target, weight, ignore_index, reduction, label_smoothing)`.
///
/// With `logp = log_softmax(input)` over the class dim, `C` classes, class weights `w` and
/// `ε = label_smoothing`, per sample `i`:
///
/// * **class indices** `y`: `loss_i = (1 − ε)·(−w[y_i]·logp[i, y_i]) + (ε/C)·(−Σ_c w[c]·logp[i, c])`,
///   0 where `y_i = ignore_index`. `'mean'` divides the sum by `Σ w[y_i]` over the targets
///   not ignored (the count of those targets without `weight`, not `N`).
/// * **probabilities** `t`: `loss_i = −Σ_c w[c]·t'[i, c]·logp[i, c]` with
///   `t' = (1 − ε)·t + ε/C`. `'mean'` divides by the number of samples (`N·d1·…`).
///
/// Shapes, told apart as PyTorch does: probabilities have the input's shape; class indices
/// lack the class dim.
///
/// | input | class indices | probabilities | `'none'` output |
/// |---|---|---|---|
/// | `(N, C)` | `(N,)` | `(N, C)` | `(N,)` |
/// | `(N, C, d1, …)` | `(N, d1, …)` | `(N, C, d1, …)` | `(N, d1, …)` |
/// | `(C,)`, unbatched | `()` | `(C,)` | `()` |
///
/// Class indices are `f32` tensors holding integer values (tapegrad's tensors are all `f32`);
/// they are not differentiated. Probability targets are, as in PyTorch.
///
/// ```
/// use tapegrad::{Tensor, nn::functional::{self as F, CrossEntropyOptions, Reduction}};
/// let logits = Tensor::zeros(&[3, 4]);
/// let target = Tensor::from_vec(vec![1.0, -100.0, 3.0], &[3]).unwrap();
/// let options = CrossEntropyOptions { reduction: Reduction::None, ..Default::default() };
/// let loss = F::cross_entropy_with(&logits, &target, &options);
/// let ln4 = 4f32.ln(); // uniform over 4 classes; the ignored sample gives 0
/// assert_eq!(loss.to_vec(), vec![ln4, 0.0, ln4]);
/// ```
///
/// # Panics
/// * a class index outside `[0, C)` that is not `ignore_index`: "Target 5 is out of bounds.";
/// * a class index that is not an integer;
/// * a target shape that is neither (naming both shapes), or `ignore_index ≥ 0` with
///   probabilities ("ignore_index is not supported for floating point target");
/// * a `weight` that is not `(C,)`; `label_smoothing` outside `[0, 1]`; a 0-d input.
#[track_caller]
pub fn cross_entropy_with(input: &Tensor, target: &Tensor, options: &CrossEntropyOptions) -> Tensor {
    const OP: &str = "cross_entropy";
    if let Err(e) = options.validate() {
        panic!("{OP}: {}", e.message());
    }
    let class_axis = class_axis(OP, input.shape());
    let weights = class_weights(OP, options.weight.as_ref(), input.shape()[class_axis]);
    let epsilon = options.label_smoothing;
    if target.shape() == input.shape() {
        assert!(options.ignore_index < 0, "{OP}: ignore_index is not supported for floating point target");
        let log_probs = input.log_softmax(class_axis as isize);
        let scale = weights.iter().map(|w| (1.0 - epsilon) * w).collect();
        let (target_weights, divisor) = probability_weights(&target.data(), class_axis, &weights, epsilon);
        let soft_target = SoftTarget { target, scale };
        weighted_nll(&log_probs, target_weights, class_axis, options.reduction, divisor, Some(soft_target))
    } else {
        check_index_target(OP, input.shape(), target.shape());
        let (indices, divisor) = class_indices(OP, &target.data(), &weights, options.ignore_index);
        let log_probs = input.log_softmax(class_axis as isize);
        let target_weights = TargetWeights::Indices { indices, weights, epsilon };
        weighted_nll(&log_probs, target_weights, class_axis, options.reduction, divisor, None)
    }
}

/// The negative log-likelihood of class-index targets under log-probabilities, with
/// PyTorch's defaults: `(1/N)·Σᵢ −input[i, yᵢ]`. PyTorch: `F.nll_loss(input, target)`. See
/// [`nll_loss_with`].
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let log_probs = Tensor::from_vec(vec![-0.5, -1.0, -2.0, -3.0], &[2, 2]).unwrap();
/// let target = Tensor::from_vec(vec![1.0, 0.0], &[2]).unwrap();
/// assert_eq!(F::nll_loss(&log_probs, &target).item(), 1.5); // (1.0 + 2.0) / 2
/// ```
///
/// # Panics
/// See [`nll_loss_with`].
#[track_caller]
pub fn nll_loss(input: &Tensor, target: &Tensor) -> Tensor {
    nll_loss_with(input, target, &NllOptions::default())
}

/// The negative log-likelihood loss: `loss_i = −w[y_i]·input[i, y_i]`, 0 where
/// `y_i = ignore_index`; `'mean'` divides the sum by `Σ w[y_i]` over the targets not ignored.
/// PyTorch: `F.nll_loss(input, target, weight=None, ignore_index=-100, reduction='mean')`.
///
/// `input` holds log-probabilities (`log_softmax` of logits), shaped as for
/// [`cross_entropy_with`]; `target` holds class indices (an `f32` tensor of integer
/// values), without the class dim. Only `input` is differentiated.
///
/// # Panics
/// As [`cross_entropy_with`] does for class indices: "Target 5 is out of bounds.", a target
/// shape that does not match (naming both shapes), a `weight` that is not `(C,)`.
///
/// ```
/// use tapegrad::{Tensor, nn::functional::{self as F, NllOptions}};
/// let log_probs = Tensor::from_vec(vec![-1.0, -2.0, -3.0, -4.0], &[2, 2]).unwrap();
/// let target = Tensor::from_vec(vec![1.0, 0.0], &[2]).unwrap();
/// let options = NllOptions { weight: Some(Tensor::from_vec(vec![1.0, 3.0], &[2]).unwrap()), ..Default::default() };
/// // (3·2 + 1·3) / (3 + 1): 'mean' divides by the weights of the targets
/// assert_eq!(F::nll_loss_with(&log_probs, &target, &options).item(), 2.25);
/// ```
#[track_caller]
pub fn nll_loss_with(input: &Tensor, target: &Tensor, options: &NllOptions) -> Tensor {
    const OP: &str = "nll_loss";
    let class_axis = class_axis(OP, input.shape());
    let weights = class_weights(OP, options.weight.as_ref(), input.shape()[class_axis]);
    check_index_target(OP, input.shape(), target.shape());
    let (indices, divisor) = class_indices(OP, &target.data(), &weights, options.ignore_index);
    let target_weights = TargetWeights::Indices { indices, weights, epsilon: 0.0 };
    weighted_nll(input, target_weights, class_axis, options.reduction, divisor, None)
}

// ----- targets -----------------------------------------------------------------------------

/// The class dim: 1, or 0 for an unbatched `(C,)` input.
#[track_caller]
fn class_axis(op: &str, input: &[usize]) -> usize {
    match input.len() {
        0 => panic!("{op}: Expected 1 or more dimensions (got 0) (input of shape [])"),
        1 => 0,
        _ => 1,
    }
}

/// The class weights as a list of `C` values (all 1 without `weight`).
#[track_caller]
fn class_weights(op: &str, weight: Option<&Tensor>, classes: usize) -> Vec<f32> {
    let Some(weight) = weight else {
        return vec![1.0; classes];
    };
    assert!(
        weight.dim() == 1 && weight.numel() == classes,
        "{op}: weight tensor should be defined either for all {classes} classes or no classes but got weight tensor of shape: {:?}",
        weight.shape()
    );
    weight.to_vec()
}

/// A class-index target has the input's shape without the class dim: `(N, d1, …)` for
/// `(N, C, d1, …)`, `()` for `(C,)`. Messages are PyTorch's `nll_loss_nd`'s, plus the shapes.
#[track_caller]
fn check_index_target(op: &str, input: &[usize], target: &[usize]) {
    let expected: Vec<usize> = match input {
        [_] => Vec::new(),
        [batch, _, spatial @ ..] => std::iter::once(*batch).chain(spatial.iter().copied()).collect(),
        [] => unreachable!("checked by class_axis"),
    };
    if target == expected.as_slice() {
        return;
    }
    if input.len() > 1 && !target.is_empty() && target[0] != input[0] {
        panic!(
            "{op}: Expected input batch_size ({}) to match target batch_size ({}). (input shape {input:?}, target shape {target:?})",
            input[0], target[0]
        );
    }
    panic!(
        "{op}: Expected target size {expected:?}, got {target:?} (input shape {input:?}; class indices have the input's shape without the class dim)"
    );
}

/// The class index held by a target value, or `None` for `ignore_index`.
#[track_caller]
fn class_index(op: &str, value: f32, classes: usize, ignore_index: i64) -> Option<usize> {
    assert!(value.fract() == 0.0, "{op}: class-index targets must hold integer values, got {value}");
    let index = value as i64;
    if index == ignore_index {
        return None;
    }
    assert!((0..classes as i64).contains(&index), "{op}: Target {index} is out of bounds.");
    Some(index as usize)
}

/// The class index of every position in the target's row-major order (`None` where it is
/// `ignore_index`), and the `'mean'` divisor `Σ w[y_j]` over the positions kept.
#[track_caller]
fn class_indices(op: &str, target: &SharedArray, weights: &[f32], ignore_index: i64) -> (Vec<Option<usize>>, f64) {
    let mut indices = Vec::with_capacity(target.len());
    let mut divisor = 0.0f64;
    for &value in target.iter() {
        let index = class_index(op, value, weights.len(), ignore_index);
        if let Some(y) = index {
            divisor += weights[y] as f64;
        }
        indices.push(index);
    }
    (indices, divisor)
}

/// `A = w[c]·((1 − ε)·t + ε/C)` and the `'mean'` divisor (the number of positions) for
/// probability targets.
fn probability_weights(target: &SharedArray, class_axis: usize, weights: &[f32], epsilon: f32) -> (TargetWeights, f64) {
    let classes = target.shape()[class_axis];
    let uniform_share = epsilon / classes as f32;
    let mut coefficients = target.to_owned();
    for mut lane in coefficients.lanes_mut(Axis(class_axis)) {
        lane.iter_mut().zip(weights).for_each(|(a, &w)| *a = w * ((1.0 - epsilon) * *a + uniform_share));
    }
    let positions = target.len() / classes.max(1);
    (TargetWeights::Dense(coefficients.into_shared()), positions as f64)
}

// ----- the op ------------------------------------------------------------------------------

/// `A` of the module doc: how much each log-probability counts in the loss.
///
/// Lanes along the class dim are visited in the row-major order of the other dims, which is
/// the order of the positions (and of a class-index target's elements).
enum TargetWeights {
    /// Class indices: `A[j, c] = (1 − ε)·w[y_j]·[c = y_j] + (ε/C)·w[c]`, 0 where `y_j` is
    /// ignored. Kept as the indices, not as a dense array of the input's shape.
    Indices { indices: Vec<Option<usize>>, weights: Vec<f32>, epsilon: f32 },
    /// Probabilities: `A[j, c] = w[c]·((1 − ε)·t[j, c] + ε/C)`, dense (the input's shape).
    Dense(SharedArray),
}

impl TargetWeights {
    /// `loss[j] = −Σ_c A[j, c]·logp[j, c]` for every position, in row-major order. Terms
    /// with `A = 0` are skipped, so a log-probability of −∞ there does not make NaN.
    fn losses(&self, logp: &SharedArray, axis: Axis) -> Vec<f32> {
        match self {
            TargetWeights::Indices { indices, weights, epsilon } => {
                let uniform_share = epsilon / weights.len() as f32;
                let lanes = logp.lanes(axis).into_iter().zip(indices);
                lanes
                    .map(|(lp, index)| {
                        let Some(y) = *index else { return 0.0 };
                        let smooth = if *epsilon > 0.0 {
                            uniform_share * lp.iter().zip(weights).map(|(&lp, &w)| w * lp).sum::<f32>()
                        } else {
                            0.0
                        };
                        -(1.0 - epsilon) * weights[y] * lp[y] - smooth
                    })
                    .collect()
            }
            TargetWeights::Dense(coefficients) => {
                let lanes = logp.lanes(axis).into_iter().zip(coefficients.lanes(axis));
                lanes
                    .map(|(lp, a)| -lp.iter().zip(a).filter(|&(_, &a)| a != 0.0).map(|(&lp, &a)| a * lp).sum::<f32>())
                    .collect()
            }
        }
    }

    /// `∂L/∂logp[j, c] = −A[j, c]·g[j]`, for the gradient `g` reaching each position's loss.
    /// It is 0 wherever `A` is, even if `g` is infinite (a `'mean'` over no targets).
    fn grad_log_probs(&self, g: &ArrayD<f32>, shape: &[usize], axis: Axis) -> ArrayD<f32> {
        let mut out = ArrayD::zeros(IxDyn(shape));
        match self {
            TargetWeights::Indices { indices, weights, epsilon } => {
                let uniform_share = epsilon / weights.len() as f32;
                for ((mut lane, index), &g) in out.lanes_mut(axis).into_iter().zip(indices).zip(g) {
                    let Some(y) = *index else { continue };
                    if *epsilon > 0.0 {
                        lane.iter_mut().zip(weights).for_each(|(o, &w)| *o = -uniform_share * w * g);
                    }
                    lane[y] -= (1.0 - epsilon) * weights[y] * g;
                }
            }
            TargetWeights::Dense(coefficients) => {
                Zip::from(out.lanes_mut(axis)).and(coefficients.lanes(axis)).and(g).for_each(|mut out, a, &g| {
                    Zip::from(&mut out).and(&a).for_each(|o, &a| *o = if a == 0.0 { 0.0 } else { -a * g });
                });
            }
        }
        out
    }
}

/// A probability target, differentiated: `∂loss[j]/∂t[j, c] = −scale[c]·logp[j, c]` with
/// `scale[c] = (1 − ε)·w[c]`.
struct SoftTarget<'a> {
    target: &'a Tensor,
    scale: Vec<f32>,
}

/// Records `loss[j] = −Σ_c A[j, c]·logp[j, c]`, reduced.
fn weighted_nll(
    log_probs: &Tensor,
    target_weights: TargetWeights,
    class_axis: usize,
    reduction: Reduction,
    divisor: f64,
    soft_target: Option<SoftTarget<'_>>,
) -> Tensor {
    let logp = log_probs.data();
    let axis = Axis(class_axis);
    let mut positions_shape = logp.shape().to_vec();
    positions_shape.remove(class_axis);
    let losses = ArrayD::from_shape_vec(IxDyn(&positions_shape), target_weights.losses(&logp, axis))
        .expect("one loss per position");
    let output = reduce(losses, reduction, divisor);
    let mut backward = NllLossBackward {
        target_weights,
        axis,
        positions_shape,
        reduction,
        divisor,
        log_probs: logp,
        target_scale: Vec::new(),
    };
    match soft_target {
        None => record(output, &[log_probs], backward),
        Some(soft) => {
            backward.target_scale = soft.scale;
            record(output, &[log_probs, soft.target], backward)
        }
    }
}

/// `∂loss[j]/∂logp[j, c] = −A[j, c]`, and for a probability target (second input)
/// `∂loss[j]/∂t[j, c] = −(1 − ε)·w[c]·logp[j, c]`, each times the gradient reaching `loss[j]`.
struct NllLossBackward {
    /// `A`: the whole derivative with respect to `logp`.
    target_weights: TargetWeights,
    /// The class dim.
    axis: Axis,
    /// The shape of the unreduced loss (the input's without the class dim).
    positions_shape: Vec<usize>,
    reduction: Reduction,
    divisor: f64,
    /// `logp`, shared (no copy): its shape, and the derivative for a probability target.
    log_probs: SharedArray,
    /// `(1 − ε)·w[c]` per class, for a probability target; empty otherwise.
    target_scale: Vec<f32>,
}

impl Backward for NllLossBackward {
    fn name(&self) -> &'static str {
        "NllLossBackward0"
    }
    fn backward(&self, grad: &SharedArray, needs: &[bool]) -> Vec<Option<SharedArray>> {
        let per_position = grad_per_element(grad, &self.positions_shape, self.reduction, self.divisor);
        let grad_log_probs = needs[0].then(|| {
            self.target_weights.grad_log_probs(&per_position, self.log_probs.shape(), self.axis).into_shared()
        });
        let grad_target = (needs.len() > 1 && needs[1]).then(|| {
            let mut out = self.log_probs.to_owned();
            Zip::from(out.lanes_mut(self.axis)).and(&per_position).for_each(|mut lane, &g| {
                lane.iter_mut().zip(&self.target_scale).for_each(|(lp, &s)| *lp *= -s * g);
            });
            out.into_shared()
        });
        let mut grads = vec![grad_log_probs];
        if needs.len() > 1 {
            grads.push(grad_target);
        }
        grads
    }
}
