//! Loss functions as modules: [`CrossEntropyLoss`], [`NllLoss`], [`MseLoss`], [`L1Loss`],
//! [`SmoothL1Loss`], [`HuberLoss`], [`BceLoss`], [`BceWithLogitsLoss`]. PyTorch: the loss
//! classes of `torch.nn`; the maths lives in their functional forms
//! ([`functional::cross_entropy_with`](crate::nn::functional::cross_entropy_with) and friends).
//!
//! # Conventions shared by every loss
//!
//! * **Signatures.** Each functional loss comes twice: `F::cross_entropy(&input, &target)`
//!   with PyTorch's defaults, and `F::cross_entropy_with(&input, &target, &options)` where
//!   the options struct holds PyTorch's keyword arguments as public fields with PyTorch's
//!   defaults in `Default`, so a call reads like Python keywords:
//!   `CrossEntropyOptions { label_smoothing: 0.1, ..Default::default() }`. Losses whose only
//!   keyword is `reduction` (`mse_loss`, `l1_loss`) take a [`Reduction`] directly.
//! * **Class indices are `f32`.** tapegrad's tensors hold `f32` only, so the class-index
//!   target of `cross_entropy`/`nll_loss` is an `f32` tensor holding integer values (exact up
//!   to 2²⁴ classes); a value that is not an integer panics. `cross_entropy` tells indices
//!   from probabilities by shape, as PyTorch does: probabilities have the input's shape,
//!   indices lack the class dim.
//! * **What is differentiated** (as in PyTorch): `input` always; `target` for `mse_loss`,
//!   `l1_loss`, `smooth_l1_loss`, `huber_loss`, both binary cross-entropies, and
//!   probability targets of `cross_entropy`; never class indices, `weight` or `pos_weight`.
//! * **Shapes.** The regression losses broadcast `input` against `target`, as PyTorch does
//!   (PyTorch also warns when the shapes differ; tapegrad has no warnings, so check that a
//!   `(N, 1)` prediction is not compared with an `(N,)` target). The binary cross-entropies
//!   require equal shapes; the classification losses the shapes in
//!   [`cross_entropy_with`].
//! * **Errors.** Misuse in the forward pass (bad shapes, a class index out of range)
//!   panics with PyTorch's message and the shapes. Building a module from options returns
//!   `Result`: the checks PyTorch makes in the forward pass that do not depend on the input
//!   (`label_smoothing ∈ [0, 1]`, `beta ≥ 0`, `delta > 0`, a 1-D class weight) are made
//!   when the module is built, with PyTorch's text, as [`Error::Runtime`](crate::Error::Runtime) (PyTorch's
//!   `RuntimeError`).
//!
//! The modules take two inputs, so they do not implement the one-input
//! [`Module`](crate::nn::Module) trait; each has an inherent
//! `forward(&self, input, target)`. They have no parameters. (PyTorch registers a loss's
//! `weight` as a buffer, so it appears in the loss module's `state_dict`; here the weight is
//! simply part of the options.)
//!
//! ```
//! use tapegrad::{Tensor, nn::{CrossEntropyLoss, Linear, Module}};
//! let model = Linear::new(4, 3);
//! let criterion = CrossEntropyLoss::new();
//! let x = Tensor::randn(&[8, 4]);
//! let y = Tensor::from_vec(vec![0., 1., 2., 0., 1., 2., 0., 1.], &[8]).unwrap();
//! let loss = criterion.forward(&model.forward(&x), &y);
//! loss.backward();
//! assert!(model.weight.grad().is_some());
//! ```

use crate::error::Result;
use crate::tensor::Tensor;

pub use crate::nn::functional::{
    BceOptions, BceWithLogitsOptions, CrossEntropyOptions, HuberOptions, NllOptions, Reduction, SmoothL1Options,
};
use crate::nn::functional::{
    binary_cross_entropy_with, binary_cross_entropy_with_logits_with, cross_entropy_with, huber_loss_with,
    l1_loss_with, mse_loss_with, nll_loss_with, smooth_l1_loss_with,
};

/// Cross-entropy between logits and class indices or class probabilities: per sample,
/// `−ln softmax(x)[y]` for a class index `y`. PyTorch: `nn.CrossEntropyLoss(weight=None, ignore_index=-100, reduction='mean',
/// label_smoothing=0.0)`. See [`cross_entropy_with`] for the formula and the shapes.
///
/// ```
/// use tapegrad::{Tensor, nn::{CrossEntropyLoss, CrossEntropyOptions}};
/// let criterion = CrossEntropyLoss::with_options(CrossEntropyOptions { label_smoothing: 0.1, ..Default::default() })?;
/// let loss = criterion.forward(&Tensor::zeros(&[2, 5]), &Tensor::from_vec(vec![4.0, 0.0], &[2]).unwrap());
/// assert!((loss.item() - 5f32.ln()).abs() < 1e-6); // uniform logits: ln 5, smoothing or not
/// assert!(CrossEntropyLoss::with_options(CrossEntropyOptions { label_smoothing: 1.5, ..Default::default() }).is_err());
/// # Ok::<(), tapegrad::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct CrossEntropyLoss {
    options: CrossEntropyOptions,
}

impl CrossEntropyLoss {
    /// With PyTorch's defaults. PyTorch: `nn.CrossEntropyLoss()`.
    pub fn new() -> CrossEntropyLoss {
        CrossEntropyLoss::default()
    }

    /// With the given options. PyTorch: `nn.CrossEntropyLoss(weight=..., ...)`.
    ///
    /// # Errors
    /// [`Error::Runtime`](crate::Error::Runtime) for `label_smoothing` outside `[0, 1]`
    /// ("label_smoothing must be between 0.0 and 1.0. Got: 1.5") or a weight that is not 1-D.
    pub fn with_options(options: CrossEntropyOptions) -> Result<CrossEntropyLoss> {
        options.validate()?;
        Ok(CrossEntropyLoss { options })
    }

    /// The options (PyTorch's `weight`, `ignore_index`, `reduction`, `label_smoothing`
    /// attributes).
    pub fn options(&self) -> &CrossEntropyOptions {
        &self.options
    }

    /// The loss of `input` (logits) against `target`. PyTorch: `loss(input, target)`.
    ///
    /// # Panics
    /// As [`cross_entropy_with`].
    #[track_caller]
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        cross_entropy_with(input, target, &self.options)
    }
}

/// The negative log-likelihood loss on log-probabilities and class indices: per sample,
/// `−w[y]·input[y]`.
/// PyTorch: `nn.NLLLoss(weight=None, ignore_index=-100, reduction='mean')`.
/// See [`nll_loss_with`].
///
/// ```
/// use tapegrad::{Tensor, nn::NllLoss};
/// let log_probs = Tensor::from_vec(vec![-0.1, -2.0, -3.0, -0.2], &[2, 2]).unwrap();
/// let target = Tensor::from_vec(vec![0.0, 1.0], &[2]).unwrap();
/// assert!((NllLoss::new().forward(&log_probs, &target).item() - 0.15).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Default)]
pub struct NllLoss {
    options: NllOptions,
}

impl NllLoss {
    /// With PyTorch's defaults. PyTorch: `nn.NLLLoss()`.
    pub fn new() -> NllLoss {
        NllLoss::default()
    }

    /// With the given options. PyTorch: `nn.NLLLoss(weight=..., ...)`.
    ///
    /// # Errors
    /// [`Error::Runtime`](crate::Error::Runtime) for a weight that is not 1-D.
    pub fn with_options(options: NllOptions) -> Result<NllLoss> {
        options.validate()?;
        Ok(NllLoss { options })
    }

    /// The options (PyTorch's `weight`, `ignore_index`, `reduction` attributes).
    pub fn options(&self) -> &NllOptions {
        &self.options
    }

    /// The loss of `input` (log-probabilities) against `target`. PyTorch: `loss(input, target)`.
    ///
    /// # Panics
    /// As [`nll_loss_with`].
    #[track_caller]
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        nll_loss_with(input, target, &self.options)
    }
}

/// The mean squared error `(1/n)·Σᵢ (xᵢ − yᵢ)²`. PyTorch: `nn.MSELoss(reduction='mean')`.
/// See [`mse_loss_with`].
///
/// ```
/// use tapegrad::{Tensor, nn::{MseLoss, Reduction}};
/// let x = Tensor::from_vec(vec![1.0, 3.0], &[2]).unwrap();
/// assert_eq!(MseLoss::new().forward(&x, &Tensor::zeros(&[2])).item(), 5.0);
/// assert_eq!(MseLoss::with_reduction(Reduction::Sum).forward(&x, &Tensor::zeros(&[2])).item(), 10.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MseLoss {
    reduction: Reduction,
}

impl MseLoss {
    /// With PyTorch's default, `'mean'`. PyTorch: `nn.MSELoss()`.
    pub fn new() -> MseLoss {
        MseLoss::default()
    }

    /// PyTorch: `nn.MSELoss(reduction=...)`.
    pub fn with_reduction(reduction: Reduction) -> MseLoss {
        MseLoss { reduction }
    }

    /// PyTorch's `reduction` attribute.
    pub fn reduction(&self) -> Reduction {
        self.reduction
    }

    /// PyTorch: `loss(input, target)`.
    ///
    /// # Panics
    /// As [`mse_loss_with`].
    #[track_caller]
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        mse_loss_with(input, target, self.reduction)
    }
}

/// The mean absolute error `(1/n)·Σᵢ |xᵢ − yᵢ|`. PyTorch: `nn.L1Loss(reduction='mean')`.
/// See [`l1_loss_with`].
///
/// ```
/// use tapegrad::{Tensor, nn::L1Loss};
/// let x = Tensor::from_vec(vec![1.0, -3.0], &[2]).unwrap();
/// assert_eq!(L1Loss::new().forward(&x, &Tensor::zeros(&[2])).item(), 2.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct L1Loss {
    reduction: Reduction,
}

impl L1Loss {
    /// With PyTorch's default, `'mean'`. PyTorch: `nn.L1Loss()`.
    pub fn new() -> L1Loss {
        L1Loss::default()
    }

    /// PyTorch: `nn.L1Loss(reduction=...)`.
    pub fn with_reduction(reduction: Reduction) -> L1Loss {
        L1Loss { reduction }
    }

    /// PyTorch's `reduction` attribute.
    pub fn reduction(&self) -> Reduction {
        self.reduction
    }

    /// PyTorch: `loss(input, target)`.
    ///
    /// # Panics
    /// As [`l1_loss_with`].
    #[track_caller]
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        l1_loss_with(input, target, self.reduction)
    }
}

/// The smooth L1 loss: with `d = x − y`, `0.5·d²/β` if `|d| < β`, else `|d| − 0.5·β`.
/// PyTorch: `nn.SmoothL1Loss(reduction='mean', beta=1.0)`. See [`smooth_l1_loss_with`].
///
/// ```
/// use tapegrad::{Tensor, nn::{SmoothL1Loss, SmoothL1Options}};
/// let x = Tensor::from_vec(vec![0.5, 2.0], &[2]).unwrap();
/// let loss = SmoothL1Loss::new().forward(&x, &Tensor::zeros(&[2]));
/// assert_eq!(loss.item(), (0.125 + 1.5) / 2.0);
/// assert!(SmoothL1Loss::with_options(SmoothL1Options { beta: -1.0, ..Default::default() }).is_err());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SmoothL1Loss {
    options: SmoothL1Options,
}

impl SmoothL1Loss {
    /// With PyTorch's defaults (`'mean'`, `beta = 1`). PyTorch: `nn.SmoothL1Loss()`.
    pub fn new() -> SmoothL1Loss {
        SmoothL1Loss::default()
    }

    /// PyTorch: `nn.SmoothL1Loss(reduction=..., beta=...)`.
    ///
    /// # Errors
    /// [`Error::Runtime`](crate::Error::Runtime) for `beta < 0` ("smooth_l1_loss does not
    /// support negative values for beta.").
    pub fn with_options(options: SmoothL1Options) -> Result<SmoothL1Loss> {
        options.validate()?;
        Ok(SmoothL1Loss { options })
    }

    /// The options (PyTorch's `reduction` and `beta` attributes).
    pub fn options(&self) -> SmoothL1Options {
        self.options
    }

    /// PyTorch: `loss(input, target)`.
    ///
    /// # Panics
    /// As [`smooth_l1_loss_with`].
    #[track_caller]
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        smooth_l1_loss_with(input, target, self.options)
    }
}

/// The Huber loss: with `d = x − y`, `0.5·d²` if `|d| < δ`, else `δ·(|d| − 0.5·δ)`.
/// PyTorch: `nn.HuberLoss(reduction='mean', delta=1.0)`. See [`huber_loss_with`].
///
/// ```
/// use tapegrad::{Tensor, nn::{HuberLoss, HuberOptions}};
/// let x = Tensor::from_vec(vec![0.5, 2.0], &[2]).unwrap();
/// assert_eq!(HuberLoss::new().forward(&x, &Tensor::zeros(&[2])).item(), (0.125 + 1.5) / 2.0);
/// let err = HuberLoss::with_options(HuberOptions { delta: 0.0, ..Default::default() }).unwrap_err();
/// assert_eq!(err.message(), "huber_loss does not support non-positive values for delta.");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HuberLoss {
    options: HuberOptions,
}

impl HuberLoss {
    /// With PyTorch's defaults (`'mean'`, `delta = 1`). PyTorch: `nn.HuberLoss()`.
    pub fn new() -> HuberLoss {
        HuberLoss::default()
    }

    /// PyTorch: `nn.HuberLoss(reduction=..., delta=...)`.
    ///
    /// # Errors
    /// [`Error::Runtime`](crate::Error::Runtime) for `delta ≤ 0` ("huber_loss does not
    /// support non-positive values for delta.").
    pub fn with_options(options: HuberOptions) -> Result<HuberLoss> {
        options.validate()?;
        Ok(HuberLoss { options })
    }

    /// The options (PyTorch's `reduction` and `delta` attributes).
    pub fn options(&self) -> HuberOptions {
        self.options
    }

    /// PyTorch: `loss(input, target)`.
    ///
    /// # Panics
    /// As [`huber_loss_with`].
    #[track_caller]
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        huber_loss_with(input, target, self.options)
    }
}

/// The binary cross-entropy of probabilities, `−w·(t·ln x + (1 − t)·ln(1 − x))` per element.
/// PyTorch: `nn.BCELoss(weight=None, reduction='mean')`. See [`binary_cross_entropy_with`].
///
/// ```
/// use tapegrad::{Tensor, nn::BceLoss};
/// let p = Tensor::from_vec(vec![0.5, 0.5], &[2]).unwrap();
/// let t = Tensor::from_vec(vec![1.0, 0.0], &[2]).unwrap();
/// assert!((BceLoss::new().forward(&p, &t).item() - 2f32.ln()).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Default)]
pub struct BceLoss {
    options: BceOptions,
}

impl BceLoss {
    /// With PyTorch's defaults. PyTorch: `nn.BCELoss()`.
    pub fn new() -> BceLoss {
        BceLoss::default()
    }

    /// PyTorch: `nn.BCELoss(weight=..., reduction=...)`. The weight's shape is checked
    /// against the input in the forward pass.
    pub fn with_options(options: BceOptions) -> BceLoss {
        BceLoss { options }
    }

    /// The options (PyTorch's `weight` and `reduction` attributes).
    pub fn options(&self) -> &BceOptions {
        &self.options
    }

    /// PyTorch: `loss(input, target)`.
    ///
    /// # Panics
    /// As [`binary_cross_entropy_with`].
    #[track_caller]
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        binary_cross_entropy_with(input, target, &self.options)
    }
}

/// The binary cross-entropy of logits, `−w·(p·t·ln σ(x) + (1 − t)·ln(1 − σ(x)))` per element,
/// computed stably. PyTorch:
/// `nn.BCEWithLogitsLoss(weight=None, reduction='mean', pos_weight=None)`.
/// See [`binary_cross_entropy_with_logits_with`].
///
/// ```
/// use tapegrad::{Tensor, nn::{BceWithLogitsLoss, BceWithLogitsOptions}};
/// let criterion = BceWithLogitsLoss::with_options(BceWithLogitsOptions {
///     pos_weight: Some(Tensor::from_vec(vec![2.0], &[1]).unwrap()),
///     ..Default::default()
/// });
/// let loss = criterion.forward(&Tensor::zeros(&[3, 1]), &Tensor::ones(&[3, 1]));
/// assert!((loss.item() - 2.0 * 2f32.ln()).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Default)]
pub struct BceWithLogitsLoss {
    options: BceWithLogitsOptions,
}

impl BceWithLogitsLoss {
    /// With PyTorch's defaults. PyTorch: `nn.BCEWithLogitsLoss()`.
    pub fn new() -> BceWithLogitsLoss {
        BceWithLogitsLoss::default()
    }

    /// PyTorch: `nn.BCEWithLogitsLoss(weight=..., reduction=..., pos_weight=...)`. The
    /// weights' shapes are checked against the input in the forward pass.
    pub fn with_options(options: BceWithLogitsOptions) -> BceWithLogitsLoss {
        BceWithLogitsLoss { options }
    }

    /// The options (PyTorch's `weight`, `reduction` and `pos_weight` attributes).
    pub fn options(&self) -> &BceWithLogitsOptions {
        &self.options
    }

    /// PyTorch: `loss(input, target)`.
    ///
    /// # Panics
    /// As [`binary_cross_entropy_with_logits_with`].
    #[track_caller]
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        binary_cross_entropy_with_logits_with(input, target, &self.options)
    }
}
