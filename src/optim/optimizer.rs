//! The [`Optimizer`] trait, the saved form of an optimizer ([`OptimizerState`]), and the
//! helpers the optimizers share. PyTorch: `torch.optim.Optimizer`.

use std::collections::BTreeMap;

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use serde::{Deserialize, Serialize};

use super::{AdagradOptions, AdamOptions, AdamWOptions, RmsPropOptions, SgdOptions};
use crate::error::{Error, Result, py_float};
use crate::nn::Parameter;
use crate::tensor::{SharedArray, Tensor};

/// Something that updates parameters from their gradients. PyTorch: `torch.optim.Optimizer`.
///
/// The training rhythm is PyTorch's: `zero_grad()`, forward, `backward()`, `step()`.
/// Every optimizer holds one parameter group (PyTorch's `param_groups[0]`); several groups
/// with different hyper-parameters are not supported yet.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::{Optimizer, Sgd}};
///
/// // Minimise (w − 3)² from w = 0.
/// let w = Parameter::new(Tensor::zeros(&[1]));
/// let mut optimizer = Sgd::new(vec![w.clone()], 0.1).unwrap();
/// for _ in 0..100 {
///     optimizer.zero_grad();
///     let loss = (&*w - 3.0).pow(2.0).sum();
///     loss.backward();
///     optimizer.step();
/// }
/// assert!((w.item() - 3.0).abs() < 1e-4);
/// ```
pub trait Optimizer {
    /// Updates every parameter that has a gradient, in place and outside the graph; a
    /// parameter whose `.grad()` is `None` is skipped (its state does not advance either).
    /// PyTorch: `optimizer.step()`.
    fn step(&mut self);

    /// The parameters this optimizer updates, in the order given to its constructor.
    /// PyTorch: `optimizer.param_groups[0]["params"]`.
    ///
    /// ```
    /// use tapegrad::{nn::{Linear, Module}, optim::{Optimizer, Sgd}};
    /// let model = Linear::new(3, 2);
    /// let optimizer = Sgd::new(model.parameters(), 0.1).unwrap();
    /// assert_eq!(optimizer.params().len(), 2); // weight, bias
    /// assert_eq!(optimizer.params()[0].shape(), &[2, 3]);
    /// ```
    fn params(&self) -> &[Parameter];

    /// Clears every parameter's gradient (sets it to `None`). PyTorch:
    /// `optimizer.zero_grad()` with its default `set_to_none=True`.
    fn zero_grad(&self) {
        for param in self.params() {
            param.zero_grad();
        }
    }

    /// The learning rate the next `step()` uses. PyTorch: `optimizer.param_groups[0]["lr"]`.
    /// Example on [`Optimizer::set_lr`].
    fn lr(&self) -> f64;

    /// Sets the learning rate (what an [`LrScheduler`](super::LrScheduler) does).
    /// PyTorch: `optimizer.param_groups[0]["lr"] = lr`.
    ///
    /// ```
    /// use tapegrad::{Tensor, nn::Parameter, optim::{Optimizer, Sgd}};
    /// let mut optimizer = Sgd::new(vec![Parameter::new(Tensor::zeros(&[1]))], 0.1).unwrap();
    /// assert_eq!(optimizer.lr(), 0.1);
    /// optimizer.set_lr(0.01);
    /// assert_eq!(optimizer.lr(), 0.01);
    /// ```
    fn set_lr(&mut self, lr: f64);

    /// The hyper-parameters, step counts and per-parameter buffers, enough to resume
    /// training exactly. PyTorch: `optimizer.state_dict()`. Example on [`OptimizerState`].
    fn state_dict(&self) -> OptimizerState;

    /// Restores a state saved by [`Optimizer::state_dict`], hyper-parameters included (as
    /// PyTorch does). Nothing changes unless the whole state fits. PyTorch:
    /// `optimizer.load_state_dict(state_dict)`.
    ///
    /// # Errors
    /// [`Error::Value`] naming what does not fit: a state saved by another kind of
    /// optimizer, a different number of parameters, out-of-range hyper-parameters, or a
    /// buffer that is missing, unexpected or has a shape other than its parameter's.
    ///
    /// Example on [`OptimizerState`]; a mismatch:
    ///
    /// ```
    /// use tapegrad::{Tensor, nn::Parameter, optim::{Adam, Optimizer, Sgd}};
    /// let p = || vec![Parameter::new(Tensor::zeros(&[1]))];
    /// let sgd_state = Sgd::new(p(), 0.1).unwrap().state_dict();
    /// let mut adam = Adam::new(p(), Default::default()).unwrap();
    /// assert!(adam.load_state_dict(&sgd_state).is_err()); // saved by another optimizer
    /// ```
    fn load_state_dict(&mut self, state: &OptimizerState) -> Result<()>;
}

/// The saved state of an optimizer: PyTorch's `optimizer.state_dict()`, as a serde type.
///
/// PyTorch's dict is `{"state": {index: {...}}, "param_groups": [{hyper-parameters...,
/// "params": [indices]}]}`; here the one group's hyper-parameters are [`Self::hyperparameters`]
/// (tagged with the optimizer's PyTorch class name), its parameter indices are
/// [`Self::params`], and [`Self::state`] is keyed by the same indices. A parameter that has
/// never been stepped has no entry, as in PyTorch.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::{Adam, Optimizer, OptimizerState}};
///
/// let w = Parameter::new(Tensor::ones(&[2]));
/// let mut optimizer = Adam::builder(vec![w.clone()]).lr(0.1).build().unwrap();
/// w.sum().backward();
/// optimizer.step();
///
/// let saved = serde_json::to_string(&optimizer.state_dict()).unwrap();
/// let restored: OptimizerState = serde_json::from_str(&saved).unwrap();
/// assert_eq!(restored.state[&0].step, Some(1));
/// assert_eq!(restored.state[&0].buffers["exp_avg"].shape, vec![2]);
///
/// let mut resumed = Adam::new(vec![w.clone()], Default::default()).unwrap();
/// resumed.load_state_dict(&restored).unwrap();
/// assert_eq!(resumed.lr(), 0.1); // hyper-parameters come back too
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    /// Which optimizer, and its hyper-parameters.
    pub hyperparameters: Hyperparameters,
    /// The indices of the parameters of the group: `0..n`. PyTorch: `param_groups[0]["params"]`.
    pub params: Vec<usize>,
    /// Per-parameter state, keyed by parameter index. PyTorch: `state_dict()["state"]`.
    pub state: BTreeMap<usize, ParamState>,
}

/// The hyper-parameters of an optimizer, tagged with its PyTorch class name
/// (`{"optimizer": "Adam", "lr": 0.001, ...}` in JSON). PyTorch: the entries of
/// `param_groups[0]` other than `"params"`.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::{Hyperparameters, Optimizer, Sgd}};
/// let sgd = Sgd::builder(vec![Parameter::new(Tensor::zeros(&[1]))], 0.1).momentum(0.9).build().unwrap();
/// let Hyperparameters::Sgd(options) = sgd.state_dict().hyperparameters else { unreachable!() };
/// assert_eq!((options.lr, options.momentum), (0.1, 0.9));
/// assert_eq!(sgd.state_dict().hyperparameters.optimizer_name(), "SGD");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "optimizer")]
pub enum Hyperparameters {
    /// [`Sgd`](super::Sgd).
    #[serde(rename = "SGD")]
    Sgd(SgdOptions),
    /// [`Adam`](super::Adam).
    Adam(AdamOptions),
    /// [`AdamW`](super::AdamW).
    AdamW(AdamWOptions),
    /// [`RmsProp`](super::RmsProp).
    #[serde(rename = "RMSprop")]
    RmsProp(RmsPropOptions),
    /// [`Adagrad`](super::Adagrad).
    Adagrad(AdagradOptions),
}

impl Hyperparameters {
    /// PyTorch's class name of the optimizer: `"SGD"`, `"Adam"`, `"AdamW"`, `"RMSprop"`, `"Adagrad"`
    /// (PyTorch: `type(optimizer).__name__`). Example on [`Hyperparameters`].
    pub fn optimizer_name(&self) -> &'static str {
        match self {
            Hyperparameters::Sgd(_) => "SGD",
            Hyperparameters::Adam(_) => "Adam",
            Hyperparameters::AdamW(_) => "AdamW",
            Hyperparameters::RmsProp(_) => "RMSprop",
            Hyperparameters::Adagrad(_) => "Adagrad",
        }
    }
}

/// The saved state of one parameter: its step count (for the optimizers that keep one) and
/// its buffers by PyTorch's names (`momentum_buffer`, `exp_avg`, `exp_avg_sq`,
/// `max_exp_avg_sq`, `square_avg`, `grad_avg`, `sum`). PyTorch: `state_dict()["state"][i]`.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::{Optimizer, RmsProp}};
/// let w = Parameter::new(Tensor::ones(&[2]));
/// let mut rmsprop = RmsProp::builder(vec![w.clone()]).momentum(0.9).build().unwrap();
/// w.sum().backward();
/// rmsprop.step();
/// let state = &rmsprop.state_dict().state[&0];
/// assert_eq!(state.step, Some(1));
/// assert_eq!(state.buffers.keys().collect::<Vec<_>>(), ["momentum_buffer", "square_avg"]);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ParamState {
    /// How many steps updated this parameter (PyTorch keeps it as a float tensor); `None`
    /// for SGD, which keeps no count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
    /// The buffers, by name.
    #[serde(default)]
    pub buffers: BTreeMap<String, Buffer>,
}

/// A saved buffer: its shape and its values in row-major order, exactly (`f32`). PyTorch:
/// a tensor in `optimizer.state_dict()["state"][i]` (a serde-friendly form of it here).
///
/// ```
/// use tapegrad::{Tensor, optim::Buffer};
/// let buffer = Buffer::from_tensor(&Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap());
/// assert_eq!(buffer.to_tensor().unwrap().to_vec(), vec![1.0, 2.0]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Buffer {
    /// The size of each dimension.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<f32>,
}

impl Buffer {
    /// The values of `tensor`. PyTorch: `tensor.clone()` as stored in a state dict. Example
    /// on [`Buffer`].
    pub fn from_tensor(tensor: &Tensor) -> Buffer {
        Buffer { shape: tensor.shape().to_vec(), data: tensor.to_vec() }
    }

    /// The buffer as a tensor. PyTorch: reading a tensor back from a state dict. Example on
    /// [`Buffer`].
    ///
    /// # Errors
    /// [`Error::Shape`] when the number of values does not match the shape.
    pub fn to_tensor(&self) -> Result<Tensor> {
        Tensor::from_vec(self.data.clone(), &self.shape)
    }

    pub(crate) fn from_array(array: &ArrayD<f32>) -> Buffer {
        Buffer { shape: array.shape().to_vec(), data: crate::ops::contiguous(array).into_owned() }
    }
}

// ----- helpers shared by the optimizers ---------------------------------------------------

/// Runs `update(index, values, grad)` for every parameter that has a gradient, with the
/// parameter's values open for writing outside the graph (PyTorch's update runs under
/// `torch.no_grad()`). Parameters without a gradient are skipped, as PyTorch skips them.
pub(crate) fn for_each_param_with_grad(
    params: &[Parameter],
    mut update: impl FnMut(usize, &mut SharedArray, ArrayViewD<'_, f32>),
) {
    for (index, param) in params.iter().enumerate() {
        let Some(grad) = param.grad() else { continue };
        let grad = grad.data();
        assert_eq!(
            grad.shape(),
            param.shape(),
            "optimizer step: the gradient of parameter {index} has shape {:?}, but the parameter has shape {:?}",
            grad.shape(),
            param.shape()
        );
        param.with_data_mut(|values| update(index, values, grad.view()));
    }
}

/// PyTorch's `torch.lerp(start, end, weight)` on CPU: `start + weight·(end − start)` for
/// `|weight| < 0.5`, else `end − (end − start)·(1 − weight)` (exact at `weight = 1`).
/// Adam's first moment and RMSprop's `grad_avg` are updated with it.
pub(crate) fn lerp(start: f32, end: f32, weight: f32) -> f32 {
    if weight.abs() < 0.5 { start + weight * (end - start) } else { end - (end - start) * (1.0 - weight) }
}

/// `torch.maximum`: the larger value, NaN if either is NaN.
pub(crate) fn maximum(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() { f32::NAN } else { a.max(b) }
}

/// How Python prints a hyper-parameter in PyTorch's messages (`f"Invalid learning rate:
/// {lr}"`). `python_int` is for the arguments whose PyTorch default is an `int`
/// (`weight_decay=0`, `momentum=0`, ...): a user passes an int there, so a whole value
/// prints as an int (`-1`); elsewhere it is a Python float (`1.0`, `-1e-08`).
pub(crate) fn py_number(value: f64, python_int: bool) -> String {
    if python_int && value.is_finite() && value.fract() == 0.0 { format!("{value:.0}") } else { py_float(value) }
}

/// `Err(Error::Value(message))` unless `valid`.
pub(crate) fn ensure(valid: bool, message: impl FnOnce() -> String) -> Result<()> {
    if valid { Ok(()) } else { Err(Error::Value(message())) }
}

/// PyTorch's "optimizer got an empty parameter list".
pub(crate) fn check_params_not_empty(params: &[Parameter]) -> Result<()> {
    ensure(!params.is_empty(), || "optimizer got an empty parameter list".into())
}

/// The error for a state saved by another kind of optimizer.
pub(crate) fn wrong_optimizer(expected: &str, state: &OptimizerState) -> Error {
    Error::Value(format!(
        "loaded state dict is for {}, but this optimizer is {expected}",
        state.hyperparameters.optimizer_name()
    ))
}

/// Checks that `state` describes `param_count` parameters: the group's indices are `0..n`
/// and every state entry belongs to one of them.
pub(crate) fn check_group(state: &OptimizerState, param_count: usize) -> Result<()> {
    ensure(state.params.len() == param_count, || {
        format!(
            "loaded state dict contains a parameter group that doesn't match the size of optimizer's group ({} parameters saved, {param_count} in the optimizer)",
            state.params.len()
        )
    })?;
    ensure(state.params.iter().copied().eq(0..param_count), || {
        format!("loaded state dict lists parameters {:?}; expected 0..{param_count}", state.params)
    })?;
    match state.state.keys().find(|&&index| index >= param_count) {
        Some(index) => Err(Error::Value(format!(
            "loaded state dict has state for parameter {index}, but the optimizer has {param_count} parameters"
        ))),
        None => Ok(()),
    }
}

/// Checks the saved state of parameter `index` against what the optimizer keeps (a step
/// count or not, exactly the buffers `names`) and the parameter's shape, and returns the
/// step count and the buffers as arrays, in the order of `names`.
pub(crate) fn read_param_state(
    index: usize,
    saved: &ParamState,
    shape: &[usize],
    keeps_step: bool,
    names: &[&str],
) -> Result<(Option<u64>, Vec<ArrayD<f32>>)> {
    let what = |message: String| Error::Value(format!("loaded state of parameter {index}: {message}"));
    match (keeps_step, saved.step) {
        (true, None) => return Err(what("missing \"step\"".into())),
        (false, Some(_)) => return Err(what("unexpected \"step\" (this optimizer keeps no step count)".into())),
        _ => {}
    }
    if let Some(name) = saved.buffers.keys().find(|name| !names.contains(&name.as_str())) {
        return Err(what(format!("unexpected buffer \"{name}\" (expected {})", quoted(names))));
    }
    let mut arrays = Vec::with_capacity(names.len());
    for &name in names {
        let buffer = saved.buffers.get(name).ok_or_else(|| what(format!("missing buffer \"{name}\"")))?;
        if buffer.shape != shape {
            return Err(what(format!(
                "buffer \"{name}\" has shape {:?}, but the parameter has shape {shape:?}",
                buffer.shape
            )));
        }
        let array = ArrayD::from_shape_vec(IxDyn(&buffer.shape), buffer.data.clone()).map_err(|_| {
            what(format!(
                "buffer \"{name}\" has {} values, but its shape {:?} needs {}",
                buffer.data.len(),
                buffer.shape,
                shape.iter().product::<usize>()
            ))
        })?;
        arrays.push(array);
    }
    Ok((saved.step, arrays))
}

fn quoted(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
}

/// A zero buffer with the shape of `param` (PyTorch: `torch.zeros_like(p)`).
pub(crate) fn zeros_like(param: &Parameter) -> ArrayD<f32> {
    ArrayD::zeros(IxDyn(param.shape()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_float_repr() {
        // Expected strings are what CPython prints for repr(x).
        let cases = [
            (-0.1, "-0.1"),
            (1.0, "1.0"),
            (-1e-08, "-1e-08"),
            (1e-4, "0.0001"),
            (1.5e-5, "1.5e-05"),
            (1e16, "1e+16"),
            (123456789.0, "123456789.0"),
            (-2.5, "-2.5"),
            (0.001, "0.001"),
            (f64::NAN, "nan"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (value, expected) in cases {
            assert_eq!(py_float(value), expected, "{value}");
        }
        assert_eq!(py_number(-1.0, true), "-1");
        assert_eq!(py_number(-1.0, false), "-1.0");
        assert_eq!(py_number(-0.5, true), "-0.5");
    }

    #[test]
    fn lerp_matches_both_forms() {
        assert_eq!(lerp(1.0, 3.0, 0.25), 1.5);
        assert_eq!(lerp(1.0, 3.0, 1.0), 3.0);
        assert_eq!(lerp(1.0, 3.0, 0.75), 2.5);
    }
}
