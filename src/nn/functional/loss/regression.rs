//! The regression losses: `mse_loss`, `l1_loss`, `smooth_l1_loss`, `huber_loss`.
//!
//! Each is a function `f` of the difference `d = input − target`, elementwise, then reduced.
//! One op serves all four: [`Pointwise::value`] is `f`, [`Pointwise::derivative`] is `f′`, and
//! the backward gives `∂l/∂input = f′(d)` and `∂l/∂target = −f′(d)`.
//!
//! `input` and `target` broadcast, as in PyTorch (which also warns when their shapes differ:
//! a `(N, 1)` prediction against a `(N,)` target gives an `(N, N)` loss, almost never what
//! was meant; tapegrad has no warnings, so check your shapes).

use ndarray::Zip;

use super::{Reduction, grad_per_element, reduce};
use crate::autograd::{Backward, record};
use crate::error::{Error, Result};
use crate::ops::arith::broadcast_zip;
use crate::tensor::{SharedArray, Tensor};

/// The loss of one difference `d = input − target`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pointwise {
    /// `d²`.
    Squared,
    /// `|d|`.
    Absolute,
    /// `0.5·d²/β` if `|d| < β`, else `|d| − 0.5·β`.
    SmoothL1 { beta: f32 },
    /// `0.5·d²` if `|d| < δ`, else `δ·(|d| − 0.5·δ)`.
    Huber { delta: f32 },
}

impl Pointwise {
    fn value(self, d: f32) -> f32 {
        match self {
            Pointwise::Squared => d * d,
            Pointwise::Absolute => d.abs(),
            Pointwise::SmoothL1 { beta } if d.abs() < beta => 0.5 * d * d / beta,
            Pointwise::SmoothL1 { beta } => d.abs() - 0.5 * beta,
            Pointwise::Huber { delta } if d.abs() < delta => 0.5 * d * d,
            Pointwise::Huber { delta } => delta * (d.abs() - 0.5 * delta),
        }
    }

    /// `f′(d)`. At the kink of `|d|` (d = 0) it is 0, PyTorch's `sign(0)`.
    fn derivative(self, d: f32) -> f32 {
        let sign = if d > 0.0 {
            1.0
        } else if d < 0.0 {
            -1.0
        } else {
            0.0
        };
        match self {
            Pointwise::Squared => 2.0 * d,
            Pointwise::Absolute => sign,
            Pointwise::SmoothL1 { beta } if d.abs() < beta => d / beta,
            Pointwise::SmoothL1 { .. } => sign,
            Pointwise::Huber { delta } if d.abs() < delta => d,
            Pointwise::Huber { delta } => delta * sign,
        }
    }

    fn op_name(self) -> &'static str {
        match self {
            Pointwise::Squared => "mse_loss",
            Pointwise::Absolute => "l1_loss",
            Pointwise::SmoothL1 { .. } => "smooth_l1_loss",
            Pointwise::Huber { .. } => "huber_loss",
        }
    }

    fn backward_name(self) -> &'static str {
        match self {
            Pointwise::Squared => "MseLossBackward0",
            Pointwise::Absolute => "L1LossBackward0",
            Pointwise::SmoothL1 { .. } => "SmoothL1LossBackward0",
            Pointwise::Huber { .. } => "HuberLossBackward0",
        }
    }
}

/// Records `reduce(f(input − target))` over the broadcast shape.
#[track_caller]
fn regression_loss(kind: Pointwise, input: &Tensor, target: &Tensor, reduction: Reduction) -> Tensor {
    let diff = broadcast_zip(kind.op_name(), &input.data(), &target.data(), |x, t| x - t);
    let losses = diff.mapv(|d| kind.value(d));
    let divisor = diff.len() as f64;
    record(reduce(losses, reduction, divisor), &[input, target], RegressionBackward { kind, diff, reduction, divisor })
}

/// `∂l/∂input = f′(d)`, `∂l/∂target = −f′(d)`, times the gradient reaching each element.
/// Returned in the broadcast shape; the engine sums them back to each operand's shape.
struct RegressionBackward {
    kind: Pointwise,
    /// `d = input − target` in the broadcast shape: all that `f′` needs.
    diff: SharedArray,
    reduction: Reduction,
    divisor: f64,
}

impl Backward for RegressionBackward {
    fn name(&self) -> &'static str {
        self.kind.backward_name()
    }
    fn backward(&self, grad: &SharedArray, needs: &[bool]) -> Vec<Option<SharedArray>> {
        let mut grad_input = grad_per_element(grad, self.diff.shape(), self.reduction, self.divisor);
        Zip::from(&mut grad_input).and(&self.diff).for_each(|g, &d| *g *= self.kind.derivative(d));
        let grad_target = needs[1].then(|| grad_input.mapv(|g| -g).into_shared());
        vec![needs[0].then(|| grad_input.into_shared()), grad_target]
    }
}

/// The mean squared error `(1/n)·Σᵢ (inputᵢ − targetᵢ)²` (PyTorch's default reduction,
/// `'mean'`). PyTorch: `F.mse_loss(input, target)`. See [`mse_loss_with`].
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
/// let y = Tensor::from_vec(vec![1.0, 0.0, 0.0], &[3]).unwrap();
/// assert_eq!(F::mse_loss(&x, &y).item(), (0.0 + 4.0 + 9.0) / 3.0);
/// ```
///
/// # Panics
/// If the shapes do not broadcast.
#[track_caller]
pub fn mse_loss(input: &Tensor, target: &Tensor) -> Tensor {
    mse_loss_with(input, target, Reduction::Mean)
}

/// The squared error `(input − target)²`, reduced. PyTorch: `F.mse_loss(input, target,
/// reduction='mean')`. Both `input` and `target` are differentiated:
/// `∂/∂input = 2(input − target) = −∂/∂target`. The shapes broadcast, as in PyTorch (see
/// [`crate::nn::loss`] on why that deserves care).
///
/// ```
/// use tapegrad::{Tensor, nn::functional::{self as F, Reduction}};
/// let x = Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap();
/// let y = Tensor::zeros(&[2]);
/// assert_eq!(F::mse_loss_with(&x, &y, Reduction::None).to_vec(), vec![1.0, 4.0]);
/// assert_eq!(F::mse_loss_with(&x, &y, Reduction::Sum).item(), 5.0);
/// ```
///
/// # Panics
/// If the shapes do not broadcast (naming both).
#[track_caller]
pub fn mse_loss_with(input: &Tensor, target: &Tensor, reduction: Reduction) -> Tensor {
    regression_loss(Pointwise::Squared, input, target, reduction)
}

/// The mean absolute error `(1/n)·Σᵢ |inputᵢ − targetᵢ|`. PyTorch: `F.l1_loss(input,
/// target)`. See [`l1_loss_with`].
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let x = Tensor::from_vec(vec![1.0, -2.0], &[2]).unwrap();
/// assert_eq!(F::l1_loss(&x, &Tensor::zeros(&[2])).item(), 1.5);
/// ```
///
/// # Panics
/// If the shapes do not broadcast.
#[track_caller]
pub fn l1_loss(input: &Tensor, target: &Tensor) -> Tensor {
    l1_loss_with(input, target, Reduction::Mean)
}

/// The absolute error `|input − target|`, reduced. PyTorch: `F.l1_loss(input, target,
/// reduction='mean')`. `∂/∂input = sign(input − target) = −∂/∂target`, 0 where they are
/// equal (PyTorch's `sign(0) = 0`). The shapes broadcast.
///
/// # Panics
/// If the shapes do not broadcast (naming both).
///
/// ```
/// use tapegrad::{Tensor, nn::functional::{self as F, Reduction}};
/// let x = Tensor::from_vec(vec![1.0, -2.0], &[2]).unwrap().requires_grad_(true);
/// let loss = F::l1_loss_with(&x, &Tensor::zeros(&[2]), Reduction::Sum);
/// assert_eq!(loss.item(), 3.0); // |1| + |−2|
/// loss.backward();
/// assert_eq!(x.grad().unwrap().to_vec(), vec![1.0, -1.0]); // sign(d)
/// ```
#[track_caller]
pub fn l1_loss_with(input: &Tensor, target: &Tensor, reduction: Reduction) -> Tensor {
    regression_loss(Pointwise::Absolute, input, target, reduction)
}

/// The keyword arguments of [`smooth_l1_loss_with`]. PyTorch: `F.smooth_l1_loss(input,
/// target, reduction='mean', beta=1.0)`. `Default` is PyTorch's defaults.
///
/// ```
/// use tapegrad::nn::functional::{Reduction, SmoothL1Options};
/// let options = SmoothL1Options::default();
/// assert_eq!((options.beta, options.reduction), (1.0, Reduction::Mean));
/// let err = SmoothL1Options { beta: -1.0, ..Default::default() }.validate().unwrap_err();
/// assert_eq!(err.message(), "smooth_l1_loss does not support negative values for beta.");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmoothL1Options {
    /// Default [`Reduction::Mean`].
    pub reduction: Reduction,
    /// Where the loss turns from quadratic to linear; `β ≥ 0`. Default 1.
    pub beta: f32,
}

impl Default for SmoothL1Options {
    fn default() -> Self {
        SmoothL1Options { reduction: Reduction::Mean, beta: 1.0 }
    }
}

impl SmoothL1Options {
    /// Checks `beta ≥ 0`, as [`nn::SmoothL1Loss`](crate::nn::SmoothL1Loss) does when built
    /// (PyTorch checks it in the forward pass of `F.smooth_l1_loss`). Example on
    /// [`SmoothL1Options`].
    ///
    /// # Errors
    /// [`Error::Runtime`] with PyTorch's text: "smooth_l1_loss does not support negative
    /// values for beta."
    pub fn validate(&self) -> Result<()> {
        if self.beta >= 0.0 {
            Ok(())
        } else {
            Err(Error::Runtime("smooth_l1_loss does not support negative values for beta.".into()))
        }
    }
}

/// The smooth L1 loss with `β = 1`, mean: with `d = input − target`, `0.5·d²` if `|d| < 1`,
/// else `|d| − 0.5`. PyTorch: `F.smooth_l1_loss(input, target)`. See [`smooth_l1_loss_with`].
///
/// # Panics
/// If the shapes do not broadcast.
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let x = Tensor::from_vec(vec![0.5, 3.0], &[2]).unwrap();
/// let loss = F::smooth_l1_loss(&x, &Tensor::zeros(&[2]));
/// assert_eq!(loss.item(), (0.5 * 0.5 * 0.5 + (3.0 - 0.5)) / 2.0);
/// ```
#[track_caller]
pub fn smooth_l1_loss(input: &Tensor, target: &Tensor) -> Tensor {
    smooth_l1_loss_with(input, target, SmoothL1Options::default())
}

/// The smooth L1 loss: with `d = input − target`, `0.5·d²/β` if `|d| < β`, else
/// `|d| − 0.5·β`; reduced. PyTorch: `F.smooth_l1_loss(input, target, reduction='mean',
/// beta=1.0)`. `β = 0` gives the L1 loss. `∂/∂input = d/β` inside, `sign(d)` outside;
/// `∂/∂target` is its negative. The shapes broadcast.
///
/// ```
/// use tapegrad::{Tensor, nn::functional::{self as F, Reduction, SmoothL1Options}};
/// let x = Tensor::from_vec(vec![0.25, 3.0], &[2]).unwrap();
/// let options = SmoothL1Options { beta: 0.5, reduction: Reduction::None };
/// let loss = F::smooth_l1_loss_with(&x, &Tensor::zeros(&[2]), options);
/// assert_eq!(loss.to_vec(), vec![0.5 * 0.25 * 0.25 / 0.5, 3.0 - 0.25]);
/// ```
///
/// # Panics
/// If `beta < 0` (PyTorch's "smooth_l1_loss does not support negative values for beta."),
/// or the shapes do not broadcast.
#[track_caller]
pub fn smooth_l1_loss_with(input: &Tensor, target: &Tensor, options: SmoothL1Options) -> Tensor {
    if let Err(e) = options.validate() {
        panic!("{}", e.message());
    }
    regression_loss(Pointwise::SmoothL1 { beta: options.beta }, input, target, options.reduction)
}

/// The keyword arguments of [`huber_loss_with`]. PyTorch: `F.huber_loss(input, target,
/// reduction='mean', delta=1.0)`. `Default` is PyTorch's defaults.
///
/// ```
/// use tapegrad::nn::functional::{HuberOptions, Reduction};
/// let options = HuberOptions { reduction: Reduction::Sum, ..Default::default() };
/// assert_eq!(options.delta, 1.0);
/// let err = HuberOptions { delta: 0.0, ..Default::default() }.validate().unwrap_err();
/// assert_eq!(err.message(), "huber_loss does not support non-positive values for delta.");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HuberOptions {
    /// Default [`Reduction::Mean`].
    pub reduction: Reduction,
    /// Where the loss turns from quadratic to linear; `δ > 0`. Default 1.
    pub delta: f32,
}

impl Default for HuberOptions {
    fn default() -> Self {
        HuberOptions { reduction: Reduction::Mean, delta: 1.0 }
    }
}

impl HuberOptions {
    /// Checks `delta > 0`, as [`nn::HuberLoss`](crate::nn::HuberLoss) does when built
    /// (PyTorch checks it in the forward pass of `F.huber_loss`). Example on [`HuberOptions`].
    ///
    /// # Errors
    /// [`Error::Runtime`] with PyTorch's text: "huber_loss does not support non-positive
    /// values for delta."
    pub fn validate(&self) -> Result<()> {
        if self.delta > 0.0 {
            Ok(())
        } else {
            Err(Error::Runtime("huber_loss does not support non-positive values for delta.".into()))
        }
    }
}

/// The Huber loss with `δ = 1`, mean: with `d = input − target`, `0.5·d²` if `|d| < 1`, else
/// `|d| − 0.5`. PyTorch: `F.huber_loss(input, target)`. See [`huber_loss_with`].
///
/// # Panics
/// If the shapes do not broadcast.
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let x = Tensor::from_vec(vec![0.5, -3.0], &[2]).unwrap();
/// let loss = F::huber_loss(&x, &Tensor::zeros(&[2]));
/// assert_eq!(loss.item(), (0.5 * 0.5 * 0.5 + (3.0 - 0.5)) / 2.0);
/// ```
#[track_caller]
pub fn huber_loss(input: &Tensor, target: &Tensor) -> Tensor {
    huber_loss_with(input, target, HuberOptions::default())
}

/// The Huber loss: with `d = input − target`, `0.5·d²` if `|d| < δ`, else
/// `δ·(|d| − 0.5·δ)`; reduced. PyTorch: `F.huber_loss(input, target, reduction='mean',
/// delta=1.0)`. It equals `δ·smooth_l1_loss(β = δ)`. `∂/∂input = d` inside, `δ·sign(d)`
/// outside; `∂/∂target` is its negative. The shapes broadcast.
///
/// ```
/// use tapegrad::{Tensor, nn::functional::{self as F, HuberOptions, Reduction}};
/// let x = Tensor::from_vec(vec![1.0, 4.0], &[2]).unwrap();
/// let options = HuberOptions { delta: 2.0, reduction: Reduction::None };
/// assert_eq!(F::huber_loss_with(&x, &Tensor::zeros(&[2]), options).to_vec(), vec![0.5, 2.0 * (4.0 - 1.0)]);
/// ```
///
/// # Panics
/// If `delta ≤ 0` (PyTorch's "huber_loss does not support non-positive values for delta."),
/// or the shapes do not broadcast.
#[track_caller]
pub fn huber_loss_with(input: &Tensor, target: &Tensor, options: HuberOptions) -> Tensor {
    if let Err(e) = options.validate() {
        panic!("{}", e.message());
    }
    regression_loss(Pointwise::Huber { delta: options.delta }, input, target, options.reduction)
}
