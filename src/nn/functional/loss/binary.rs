//! The binary cross-entropies: `binary_cross_entropy` on probabilities and
//! `binary_cross_entropy_with_logits` on logits (the numerically stable one).
//!
//! Both are elementwise over `input` and `target` of the same shape, with an optional
//! elementwise `weight` (and, with logits, `pos_weight`) that broadcasts to it. Both
//! differentiate `input` and `target`; `weight` and `pos_weight` are not differentiated.

use ndarray::{IxDyn, Zip};

use super::{Reduction, grad_per_element, reduce};
use crate::autograd::{Backward, record};
use crate::tensor::{SharedArray, Tensor};

/// The keyword arguments of [`binary_cross_entropy_with`], with PyTorch's defaults.
/// PyTorch: `F.binary_cross_entropy(input, target, weight=None, reduction='mean')`.
///
/// ```
/// use tapegrad::{Tensor, nn::functional::{self as F, BceOptions, Reduction}};
/// let options = BceOptions { weight: Some(Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap()), reduction: Reduction::Sum };
/// let p = Tensor::full(&[2], 0.5);
/// let loss = F::binary_cross_entropy_with(&p, &Tensor::ones(&[2]), &options);
/// assert!((loss.item() - 3.0 * std::f32::consts::LN_2).abs() < 1e-6); // (1 + 2)·(−ln ½)
/// ```
#[derive(Debug, Clone, Default)]
pub struct BceOptions {
    /// A weight per element, broadcast to the input's shape; `None` (the default) is 1.
    /// Not differentiated.
    pub weight: Option<Tensor>,
    /// Default [`Reduction::Mean`].
    pub reduction: Reduction,
}

/// The keyword arguments of [`binary_cross_entropy_with_logits_with`], with PyTorch's
/// defaults. PyTorch: `F.binary_cross_entropy_with_logits(input, target, weight=None,
/// reduction='mean', pos_weight=None)`. Example on [`binary_cross_entropy_with_logits_with`].
#[derive(Debug, Clone, Default)]
pub struct BceWithLogitsOptions {
    /// A weight per element, broadcast to the input's shape; `None` (the default) is 1.
    /// Not differentiated.
    pub weight: Option<Tensor>,
    /// A weight for the positive term, broadcast to the input's shape: shape `(C,)` weighs
    /// each of `C` classes (the last dim). `None` (the default) is 1. Not differentiated.
    pub pos_weight: Option<Tensor>,
    /// Default [`Reduction::Mean`].
    pub reduction: Reduction,
}

/// The binary cross-entropy of probabilities, mean:
/// `(1/n)·Σᵢ −(tᵢ·ln xᵢ + (1 − tᵢ)·ln(1 − xᵢ))`. PyTorch:
/// `F.binary_cross_entropy(input, target)`. See [`binary_cross_entropy_with`].
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let p = Tensor::from_vec(vec![0.8, 0.4], &[2]).unwrap();
/// let t = Tensor::from_vec(vec![1.0, 0.0], &[2]).unwrap();
/// let expected = -(0.8f32.ln() + 0.6f32.ln()) / 2.0;
/// assert!((F::binary_cross_entropy(&p, &t).item() - expected).abs() < 1e-6);
/// ```
///
/// # Panics
/// See [`binary_cross_entropy_with`].
#[track_caller]
pub fn binary_cross_entropy(input: &Tensor, target: &Tensor) -> Tensor {
    binary_cross_entropy_with(input, target, &BceOptions::default())
}

/// The binary cross-entropy between probabilities `x` and targets `t`, reduced:
/// `l = −w·(t·max(ln x, −100) + (1 − t)·max(ln(1 − x), −100))`.
/// PyTorch: `F.binary_cross_entropy(input, target, weight=None, reduction='mean')`.
///
/// Each log is clamped at −100, as in PyTorch, so `x = 0` or `1` gives a finite loss.
/// Derivatives (PyTorch's): `∂l/∂x = w·(x − t) / max(x·(1 − x), 10⁻¹²)` and
/// `∂l/∂t = w·(max(ln(1 − x), −100) − max(ln x, −100))`. For the latter PyTorch computes
/// `−w·logit(x)` without the clamp, which is ±∞ at `x = 0` or `1`; tapegrad returns the
/// derivative of the clamped loss it computed, which is finite. Elsewhere they agree.
///
/// For logits, prefer [`binary_cross_entropy_with_logits`]: `sigmoid` followed by this loss
/// loses precision for large logits.
///
/// ```
/// use tapegrad::{Tensor, nn::functional::{self as F, BceOptions}};
/// let p = Tensor::from_vec(vec![0.0, 0.5], &[2]).unwrap();
/// let t = Tensor::from_vec(vec![1.0, 1.0], &[2]).unwrap();
/// let loss = F::binary_cross_entropy_with(&p, &t, &BceOptions::default());
/// assert!((loss.item() - (100.0 + std::f32::consts::LN_2) / 2.0).abs() < 1e-4); // ln 0 clamped at −100
/// ```
///
/// # Panics
/// * if the shapes differ (PyTorch's `ValueError`: "Using a target size (\[3\]) that is
///   different to the input size (\[3, 4\]) is deprecated. Please ensure they have the same
///   size.");
/// * if an input is outside `[0, 1]` or NaN ("all elements of input should be between 0 and 1");
/// * if `weight` does not broadcast to the input's shape.
#[track_caller]
pub fn binary_cross_entropy_with(input: &Tensor, target: &Tensor, options: &BceOptions) -> Tensor {
    const OP: &str = "binary_cross_entropy";
    assert!(
        target.shape() == input.shape(),
        "{OP}: Using a target size ({:?}) that is different to the input size ({:?}) is deprecated. Please ensure they have the same size.",
        target.shape(),
        input.shape()
    );
    let (x, t) = (input.data(), target.data());
    assert!(x.iter().all(|v| (0.0..=1.0).contains(v)), "{OP}: all elements of input should be between 0 and 1");
    let weight = elementwise_weight(OP, "weight", options.weight.as_ref(), x.shape());
    let w = weight.broadcast(x.raw_dim()).expect("checked by elementwise_weight");
    let losses =
        Zip::from(&x).and(&t).and(&w).map_collect(|&x, &t, &w| -w * (t * clamped_ln(x) + (1.0 - t) * clamped_ln_1m(x)));
    let divisor = x.len() as f64;
    let output = reduce(losses, options.reduction, divisor);
    record(output, &[input, target], BceBackward { input: x, target: t, weight, reduction: options.reduction, divisor })
}

/// `max(ln x, −100)`.
fn clamped_ln(x: f32) -> f32 {
    x.ln().max(-100.0)
}

/// `max(ln(1 − x), −100)`.
fn clamped_ln_1m(x: f32) -> f32 {
    (-x).ln_1p().max(-100.0)
}

/// `∂l/∂x = w·(x − t)/max(x(1 − x), 10⁻¹²)`, `∂l/∂t = w·(max(ln(1 − x), −100) − max(ln x, −100))`.
struct BceBackward {
    input: SharedArray,
    target: SharedArray,
    /// The weight as given (or a 0-d 1), broadcast when used.
    weight: SharedArray,
    reduction: Reduction,
    divisor: f64,
}

impl Backward for BceBackward {
    fn name(&self) -> &'static str {
        "BinaryCrossEntropyBackward0"
    }
    fn backward(&self, grad: &SharedArray, needs: &[bool]) -> Vec<Option<SharedArray>> {
        let g = grad_per_element(grad, self.input.shape(), self.reduction, self.divisor);
        let w = self.weight.broadcast(self.input.raw_dim()).expect("checked in the forward pass");
        let grad_input = needs[0].then(|| {
            Zip::from(&g)
                .and(&self.input)
                .and(&self.target)
                .and(&w)
                .map_collect(|&g, &x, &t, &w| g * w * (x - t) / (x * (1.0 - x)).max(1e-12))
                .into_shared()
        });
        let grad_target = needs[1].then(|| {
            Zip::from(&g)
                .and(&self.input)
                .and(&w)
                .map_collect(|&g, &x, &w| g * w * (clamped_ln_1m(x) - clamped_ln(x)))
                .into_shared()
        });
        vec![grad_input, grad_target]
    }
}

/// The binary cross-entropy of logits, mean: `(1/n)·Σᵢ −(tᵢ·ln σ(xᵢ) + (1 − tᵢ)·ln(1 − σ(xᵢ)))`.
/// PyTorch: `F.binary_cross_entropy_with_logits(input, target)`.
/// See [`binary_cross_entropy_with_logits_with`].
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let logits = Tensor::from_vec(vec![1e4, -1e4], &[2]).unwrap();
/// let t = Tensor::from_vec(vec![0.0, 0.0], &[2]).unwrap();
/// // Confidently wrong, then confidently right: finite, as −ln σ(x) computed stably is.
/// assert_eq!(F::binary_cross_entropy_with_logits(&logits, &t).item(), 1e4 / 2.0);
/// ```
///
/// # Panics
/// See [`binary_cross_entropy_with_logits_with`].
#[track_caller]
pub fn binary_cross_entropy_with_logits(input: &Tensor, target: &Tensor) -> Tensor {
    binary_cross_entropy_with_logits_with(input, target, &BceWithLogitsOptions::default())
}

/// The binary cross-entropy between `σ(x)` and targets `t`, computed from the logits `x`
/// without forming `σ(x)`, so it stays finite and accurate for any logit:
///
/// `l = w·((1 − t)·x + (1 + (p − 1)·t)·softplus(−x))`, with
/// `softplus(−x) = ln(1 + e⁻ˣ) = ln1p(e^−|x|) + max(−x, 0)` = `−ln σ(x)`,
///
/// `w` the weight and `p` the positive weight. PyTorch:
/// `F.binary_cross_entropy_with_logits(input, target, weight=None, reduction='mean',
/// pos_weight=None)`.
///
/// Derivatives (PyTorch's): `∂l/∂x = w·((1 + (p − 1)·t)·σ(x) − p·t)` and
/// `∂l/∂t = w·((p − 1)·softplus(−x) − x)`.
///
/// ```
/// use tapegrad::{Tensor, nn::functional::{self as F, BceWithLogitsOptions, Reduction}};
/// let x = Tensor::zeros(&[2, 2]);
/// let t = Tensor::ones(&[2, 2]);
/// let options = BceWithLogitsOptions {
///     pos_weight: Some(Tensor::from_vec(vec![1.0, 3.0], &[2]).unwrap()), // per class
///     reduction: Reduction::None,
///     ..Default::default()
/// };
/// let ln2 = 2f32.ln();
/// assert_eq!(F::binary_cross_entropy_with_logits_with(&x, &t, &options).to_vec(), vec![ln2, 3.0 * ln2, ln2, 3.0 * ln2]);
/// ```
///
/// # Panics
/// * if the shapes differ (PyTorch's `ValueError`: "Target size (\[3\]) must be the same as
///   input size (\[3, 4\])");
/// * if `weight` or `pos_weight` does not broadcast to the input's shape.
#[track_caller]
pub fn binary_cross_entropy_with_logits_with(
    input: &Tensor,
    target: &Tensor,
    options: &BceWithLogitsOptions,
) -> Tensor {
    const OP: &str = "binary_cross_entropy_with_logits";
    assert!(
        target.shape() == input.shape(),
        "{OP}: Target size ({:?}) must be the same as input size ({:?})",
        target.shape(),
        input.shape()
    );
    let (x, t) = (input.data(), target.data());
    let weight = elementwise_weight(OP, "weight", options.weight.as_ref(), x.shape());
    let pos_weight = elementwise_weight(OP, "pos_weight", options.pos_weight.as_ref(), x.shape());
    let w = weight.broadcast(x.raw_dim()).expect("checked by elementwise_weight");
    let p = pos_weight.broadcast(x.raw_dim()).expect("checked by elementwise_weight");
    let losses = Zip::from(&x)
        .and(&t)
        .and(&w)
        .and(&p)
        .map_collect(|&x, &t, &w, &p| w * ((1.0 - t) * x + (1.0 + (p - 1.0) * t) * softplus_neg(x)));
    let divisor = x.len() as f64;
    let output = reduce(losses, options.reduction, divisor);
    let backward =
        BceWithLogitsBackward { input: x, target: t, weight, pos_weight, reduction: options.reduction, divisor };
    record(output, &[input, target], backward)
}

/// `softplus(−x) = ln(1 + e⁻ˣ) = −ln σ(x)`, as `ln1p(e^−|x|) + max(−x, 0)`: `exp` never
/// overflows and nothing cancels.
fn softplus_neg(x: f32) -> f32 {
    (-x.abs()).exp().ln_1p() + (-x).max(0.0)
}

/// `σ(x)`, without overflow for large `|x|`.
fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `∂l/∂x = w·((1 + (p − 1)t)·σ(x) − p·t)`, `∂l/∂t = w·((p − 1)·softplus(−x) − x)`.
struct BceWithLogitsBackward {
    input: SharedArray,
    target: SharedArray,
    /// As given (or a 0-d 1), broadcast when used.
    weight: SharedArray,
    /// As given (or a 0-d 1), broadcast when used.
    pos_weight: SharedArray,
    reduction: Reduction,
    divisor: f64,
}

impl Backward for BceWithLogitsBackward {
    fn name(&self) -> &'static str {
        "BinaryCrossEntropyWithLogitsBackward0"
    }
    fn backward(&self, grad: &SharedArray, needs: &[bool]) -> Vec<Option<SharedArray>> {
        let g = grad_per_element(grad, self.input.shape(), self.reduction, self.divisor);
        let w = self.weight.broadcast(self.input.raw_dim()).expect("checked in the forward pass");
        let p = self.pos_weight.broadcast(self.input.raw_dim()).expect("checked in the forward pass");
        let grad_input = needs[0].then(|| {
            Zip::from(&g)
                .and(&self.input)
                .and(&self.target)
                .and(&w)
                .and(&p)
                .map_collect(|&g, &x, &t, &w, &p| g * w * ((1.0 + (p - 1.0) * t) * sigmoid(x) - p * t))
                .into_shared()
        });
        let grad_target = needs[1].then(|| {
            Zip::from(&g)
                .and(&self.input)
                .and(&w)
                .and(&p)
                .map_collect(|&g, &x, &w, &p| g * w * ((p - 1.0) * softplus_neg(x) - x))
                .into_shared()
        });
        vec![grad_input, grad_target]
    }
}

/// An elementwise weight, or a 0-d 1 without one, checked to broadcast to `shape`. Kept
/// as given and broadcast (a view, no copy) where it is used.
#[track_caller]
fn elementwise_weight(op: &str, name: &str, weight: Option<&Tensor>, shape: &[usize]) -> SharedArray {
    let weight = weight.map_or_else(|| ndarray::arr0(1.0f32).into_dyn().into_shared(), Tensor::data);
    assert!(
        weight.broadcast(IxDyn(shape)).is_some(),
        "{op}: {name} of shape {:?} cannot be broadcast to the input's shape {shape:?}",
        weight.shape()
    );
    weight
}
