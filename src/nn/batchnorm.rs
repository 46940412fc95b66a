//! `BatchNorm1d`, `BatchNorm2d`, `BatchNorm3d`: batch normalisation with learnable affine
//! parameters and running statistics. PyTorch: `torch.nn.BatchNorm{1,2,3}d`.

use std::fmt;

use super::functional::batch_norm;
use super::module::{Module, TrainingFlag};
use super::parameter::Parameter;
use crate::error::{Error, Result, py_float};
use crate::tensor::Tensor;

/// Batch normalisation over the channels (dim 1) of its input; use the aliases
/// [`BatchNorm1d`], [`BatchNorm2d`], [`BatchNorm3d`]. PyTorch: `nn.BatchNorm1d`,
/// `nn.BatchNorm2d`, `nn.BatchNorm3d`. Per channel, `y = (x − E[x]) / √(Var[x] + eps)·γ + β`;
/// see [`functional::batch_norm`](super::functional::batch_norm) for the rest of the maths.
///
/// * **Parameters** (with `affine`): `weight` (γ, ones) and `bias` (β, zeros), `(C,)`.
/// * **Buffers** (with `track_running_stats`): `running_mean` (zeros), `running_var`
///   (ones), and `num_batches_tracked`, a 0-d tensor counting the training batches seen
///   (an `f32` here, exact up to 2²⁴ batches; PyTorch's is an `int64`).
/// * **Training mode** (the default, [`Module::train`]): normalises with the batch's mean
///   and biased variance, and updates the running statistics with
///   `running ← (1 − m)·running + m·batch` (the unbiased variance for `running_var`), where
///   `m` is `momentum`, or `1 / num_batches_tracked` when `momentum` is `None` (a
///   cumulative moving average, as PyTorch).
/// * **Eval mode** ([`Module::eval`]): normalises with the running statistics, which stay
///   unchanged (without them, with the batch statistics).
///
/// ```
/// use tapegrad::{Tensor, nn::{BatchNorm1d, Module}};
/// let bn = BatchNorm1d::new(2);
/// let x = Tensor::from_vec(vec![1., 10., 3., 30.], &[2, 2]).unwrap();
/// let y = bn.forward(&x); // training: each column becomes [−1, 1] (up to eps)
/// assert!((y.to_vec()[0] + 1.0).abs() < 1e-4);
/// assert_eq!(bn.running_mean.as_ref().unwrap().to_vec(), vec![0.2, 2.0]); // 0.1 · [2, 20]
/// assert_eq!(bn.num_batches_tracked.as_ref().unwrap().item(), 1.0);
/// bn.eval();
/// let y = bn.forward(&x); // eval: (x − running_mean) / √(running_var + eps)
/// assert_eq!(bn.num_batches_tracked.as_ref().unwrap().item(), 1.0);
/// ```
pub struct BatchNorm<const D: usize> {
    /// γ, `(num_features,)`; `None` without `affine`.
    pub weight: Option<Parameter>,
    /// β, `(num_features,)`; `None` without `affine`.
    pub bias: Option<Parameter>,
    /// The running mean, `(num_features,)`; `None` without `track_running_stats`.
    pub running_mean: Option<Tensor>,
    /// The running (unbiased) variance, `(num_features,)`; `None` without
    /// `track_running_stats`.
    pub running_var: Option<Tensor>,
    /// The number of training batches seen, a 0-d tensor; `None` without
    /// `track_running_stats`.
    pub num_batches_tracked: Option<Tensor>,
    num_features: usize,
    eps: f64,
    momentum: Option<f64>,
    training: TrainingFlag,
}

/// Batch normalisation of `(N, C)` or `(N, C, L)`. PyTorch: `nn.BatchNorm1d`. Example on
/// [`BatchNorm`].
pub type BatchNorm1d = BatchNorm<1>;
/// Batch normalisation of `(N, C, H, W)`. PyTorch: `nn.BatchNorm2d`.
///
/// ```
/// use tapegrad::{Tensor, nn::{BatchNorm2d, Module}};
/// let bn = BatchNorm2d::new(3);
/// let x = Tensor::randn(&[4, 3, 5, 5]);
/// let y = bn.forward(&x); // training mode: each channel gets mean 0
/// assert!(y.mean_dim([0, 2, 3], false).to_vec().iter().all(|m| m.abs() < 1e-5));
/// ```
pub type BatchNorm2d = BatchNorm<2>;
/// Batch normalisation of `(N, C, D, H, W)`. PyTorch: `nn.BatchNorm3d`.
///
/// ```
/// use tapegrad::{Tensor, nn::{BatchNorm3d, Module}};
/// let bn = BatchNorm3d::new(2);
/// bn.eval(); // fresh running statistics: mean 0, variance 1, so y = x / √(1 + eps)
/// let y = bn.forward(&Tensor::ones(&[1, 2, 2, 2, 2]));
/// assert!(y.to_vec().iter().all(|v| (v - 1.0 / (1.0f32 + 1e-5).sqrt()).abs() < 1e-6));
/// ```
pub type BatchNorm3d = BatchNorm<3>;

/// Builds a [`BatchNorm`] with PyTorch's keyword arguments and defaults: `eps=1e-5`,
/// `momentum=0.1`, `affine=True`, `track_running_stats=True`. PyTorch: `nn.BatchNorm2d(C,
/// eps=..., momentum=..., affine=..., track_running_stats=...)`.
///
/// ```
/// use tapegrad::nn::{BatchNorm2d, Module};
/// let bn = BatchNorm2d::builder(8).eps(1e-3).momentum(None).affine(false).build();
/// assert!(bn.named_parameters().is_empty());
/// assert_eq!(bn.named_buffers().len(), 3);
/// assert_eq!(format!("{bn:?}"), "BatchNorm2d(8, eps=0.001, momentum=None, affine=False, track_running_stats=True)");
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .build()"]
pub struct BatchNormBuilder<const D: usize> {
    num_features: usize,
    eps: f64,
    momentum: Option<f64>,
    affine: bool,
    track_running_stats: bool,
}

impl<const D: usize> BatchNorm<D> {
    /// A layer with PyTorch's defaults. PyTorch: `nn.BatchNormNd(num_features)`. Examples on
    /// [`BatchNorm`], [`BatchNorm2d`], [`BatchNorm3d`].
    pub fn new(num_features: usize) -> Self {
        Self::builder(num_features).build()
    }

    /// A builder for eps, momentum, affine and track_running_stats. PyTorch: the keyword
    /// arguments of `nn.BatchNormNd`. Example on [`BatchNormBuilder`].
    pub fn builder(num_features: usize) -> BatchNormBuilder<D> {
        BatchNormBuilder { num_features, eps: 1e-5, momentum: Some(0.1), affine: true, track_running_stats: true }
    }

    /// Sets `running_mean` to 0, `running_var` to 1 and `num_batches_tracked` to 0.
    /// PyTorch: `bn.reset_running_stats()`.
    ///
    /// ```
    /// use tapegrad::{Tensor, nn::{BatchNorm1d, Module}};
    /// let bn = BatchNorm1d::new(1);
    /// bn.forward(&Tensor::from_vec(vec![1.0, 3.0], &[2, 1]).unwrap());
    /// assert_eq!(bn.running_mean.as_ref().unwrap().item(), 0.2); // 0.1 · 2
    /// bn.reset_running_stats();
    /// assert_eq!(bn.running_mean.as_ref().unwrap().item(), 0.0);
    /// assert_eq!(bn.num_batches_tracked.as_ref().unwrap().item(), 0.0);
    /// ```
    pub fn reset_running_stats(&self) {
        let fill = |t: &Option<Tensor>, v: f32| {
            if let Some(t) = t {
                t.with_data_mut(|d| d.fill(v));
            }
        };
        fill(&self.running_mean, 0.0);
        fill(&self.running_var, 1.0);
        fill(&self.num_batches_tracked, 0.0);
    }

    /// Resets the running statistics, and `weight` to 1 and `bias` to 0. PyTorch:
    /// `bn.reset_parameters()`.
    ///
    /// ```
    /// use tapegrad::nn::BatchNorm1d;
    /// let bn = BatchNorm1d::new(2);
    /// bn.weight.as_ref().unwrap().with_data_mut(|w| w.fill(3.0));
    /// bn.reset_parameters();
    /// assert_eq!(bn.weight.as_ref().unwrap().to_vec(), vec![1.0, 1.0]);
    /// ```
    pub fn reset_parameters(&self) {
        self.reset_running_stats();
        if let Some(w) = &self.weight {
            w.with_data_mut(|d| d.fill(1.0));
        }
        if let Some(b) = &self.bias {
            b.with_data_mut(|d| d.fill(0.0));
        }
    }

    /// `num_features` (C). PyTorch: `bn.num_features`. Like the getters below, it returns
    /// the constructor argument:
    ///
    /// ```
    /// use tapegrad::nn::BatchNorm2d;
    /// let bn = BatchNorm2d::builder(8).momentum(None).track_running_stats(false).build();
    /// assert_eq!((bn.num_features(), bn.eps(), bn.momentum()), (8, 1e-5, None));
    /// assert_eq!((bn.affine(), bn.track_running_stats()), (true, false));
    /// ```
    pub fn num_features(&self) -> usize {
        self.num_features
    }
    /// `eps`, added to the variance. PyTorch: `bn.eps`. Example on [`BatchNorm::num_features`].
    pub fn eps(&self) -> f64 {
        self.eps
    }
    /// `momentum`; `None` for a cumulative moving average. PyTorch: `bn.momentum`. Example on
    /// [`BatchNorm::num_features`].
    pub fn momentum(&self) -> Option<f64> {
        self.momentum
    }
    /// Whether the layer has `weight` and `bias`. PyTorch: `bn.affine`. Example on
    /// [`BatchNorm::num_features`].
    pub fn affine(&self) -> bool {
        self.weight.is_some()
    }
    /// Whether the layer keeps running statistics. PyTorch: `bn.track_running_stats`.
    /// Example on [`BatchNorm::num_features`].
    pub fn track_running_stats(&self) -> bool {
        self.running_mean.is_some()
    }

    /// PyTorch's `_check_input_dim`, with its `ValueError` text.
    #[track_caller]
    fn check_input_dim(&self, input: &Tensor) {
        let got = input.dim();
        let (ok, expected) = match D {
            1 => (got == 2 || got == 3, "2D or 3D"),
            2 => (got == 4, "4D"),
            _ => (got == 5, "5D"),
        };
        assert!(ok, "BatchNorm{D}d: expected {expected} input (got {got}D input)");
    }
}

impl<const D: usize> BatchNormBuilder<D> {
    /// The value added to the variance for numerical stability. Default 1e-5. PyTorch:
    /// `eps=`. Example on [`BatchNormBuilder`].
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    /// The weight of the batch statistics in the running ones, or `None` for a cumulative
    /// moving average. Default `Some(0.1)`; `.momentum(0.01)` and `.momentum(None)` both work.
    /// PyTorch: `momentum=`. Example on [`BatchNormBuilder`].
    pub fn momentum(mut self, momentum: impl Into<Option<f64>>) -> Self {
        self.momentum = momentum.into();
        self
    }
    /// Whether to learn `weight` and `bias`. Default true. PyTorch: `affine=`. Example on
    /// [`BatchNormBuilder`].
    pub fn affine(mut self, affine: bool) -> Self {
        self.affine = affine;
        self
    }
    /// Whether to keep running statistics (without them, eval mode uses the batch's).
    /// Default true. PyTorch: `track_running_stats=`. Example on [`BatchNormBuilder`].
    pub fn track_running_stats(mut self, track_running_stats: bool) -> Self {
        self.track_running_stats = track_running_stats;
        self
    }
    /// The layer, initialised as PyTorch's `reset_parameters`. PyTorch checks nothing here.
    /// PyTorch: the `nn.BatchNormNd(...)` constructor call. Example on [`BatchNormBuilder`].
    ///
    /// # Panics
    /// When the `(num_features,)` tensors cannot be allocated; [`BatchNormBuilder::try_build`]
    /// returns an `Err` instead.
    #[track_caller]
    pub fn build(self) -> BatchNorm<D> {
        self.try_build().unwrap_or_else(|e| panic!("BatchNorm{D}d: {}", e.message()))
    }

    /// [`BatchNormBuilder::build`] for a `num_features` that comes from a configuration.
    /// PyTorch: the `nn.BatchNormNd(...)` call (where an impossible size raises a
    /// `RuntimeError`).
    ///
    /// # Errors
    /// [`Error::Runtime`] when `(num_features,)` tensors cannot be allocated.
    ///
    /// ```
    /// use tapegrad::nn::BatchNorm2d;
    /// assert!(BatchNorm2d::builder(usize::MAX).try_build().is_err());
    /// assert_eq!(BatchNorm2d::builder(8).try_build().unwrap().num_features(), 8);
    /// ```
    pub fn try_build(self) -> Result<BatchNorm<D>> {
        let c = self.num_features;
        let tracked = self.track_running_stats;
        let filled = |value: f32| {
            Tensor::try_full(&[c], value).map_err(|e| Error::Runtime(format!("BatchNorm{D}d({c}): {}", e.message())))
        };
        let optional = |wanted: bool, value: f32| if wanted { filled(value).map(Some) } else { Ok(None) };
        Ok(BatchNorm {
            weight: optional(self.affine, 1.0)?.map(Parameter::new),
            bias: optional(self.affine, 0.0)?.map(Parameter::new),
            running_mean: optional(tracked, 0.0)?,
            running_var: optional(tracked, 1.0)?,
            num_batches_tracked: tracked.then(|| Tensor::scalar(0.0)),
            num_features: c,
            eps: self.eps,
            momentum: self.momentum,
            training: TrainingFlag::default(),
        })
    }
}

impl<const D: usize> Module for BatchNorm<D> {
    /// PyTorch's `_BatchNorm.forward`: in training mode with running statistics, counts the
    /// batch and updates them; normalises with the batch statistics in training mode (or
    /// when there are no running statistics), with the running ones otherwise.
    ///
    /// # Panics
    /// On an input of the wrong rank ("expected 4D input (got 3D input)"), with the wrong
    /// number of channels, or with one value per channel in training mode, with PyTorch's
    /// messages.
    #[track_caller]
    fn forward(&self, input: &Tensor) -> Tensor {
        self.check_input_dim(input);
        let training = self.training.get();
        let mut factor = self.momentum.unwrap_or(0.0);
        if training && let Some(count) = &self.num_batches_tracked {
            count.with_data_mut(|d| d.mapv_inplace(|v| v + 1.0));
            if self.momentum.is_none() {
                factor = 1.0 / count.item() as f64;
            }
        }
        let use_batch_stats = training || self.running_mean.is_none();
        // Running statistics are passed when they are used (eval) or updated (training).
        let (mean, var) = (self.running_mean.as_ref(), self.running_var.as_ref());
        let weight = self.weight.as_deref();
        let bias = self.bias.as_deref();
        batch_norm(input, mean, var, weight, bias, use_batch_stats, factor, self.eps)
    }

    fn named_parameters(&self) -> Vec<(String, Parameter)> {
        let mut params = Vec::new();
        params.extend(self.weight.iter().map(|w| ("weight".to_string(), w.clone())));
        params.extend(self.bias.iter().map(|b| ("bias".to_string(), b.clone())));
        params
    }

    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        [
            ("running_mean", &self.running_mean),
            ("running_var", &self.running_var),
            ("num_batches_tracked", &self.num_batches_tracked),
        ]
        .into_iter()
        .filter_map(|(name, t)| t.as_ref().map(|t| (name.to_string(), t.clone())))
        .collect()
    }

    fn train(&self, mode: bool) {
        self.training.set(mode);
    }

    fn is_training(&self) -> bool {
        self.training.get()
    }
}

impl<const D: usize> fmt::Debug for BatchNorm<D> {
    /// PyTorch's repr: `BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let py_bool = |b: bool| if b { "True" } else { "False" };
        let momentum = self.momentum.map(py_float).unwrap_or_else(|| "None".into());
        write!(
            f,
            "BatchNorm{D}d({}, eps={}, momentum={momentum}, affine={}, track_running_stats={})",
            self.num_features,
            py_float(self.eps),
            py_bool(self.affine()),
            py_bool(self.track_running_stats())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_float_repr() {
        assert_eq!(py_float(1e-5), "1e-05");
        assert_eq!(py_float(0.1), "0.1");
        assert_eq!(py_float(1.0), "1.0");
        assert_eq!(py_float(1e-3), "0.001");
        assert_eq!(py_float(2.5e16), "2.5e+16");
    }
}
