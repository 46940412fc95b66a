//! [`Adagrad`]: per-coordinate learning rates from the sum of squared gradients.
//! PyTorch: `torch.optim.Adagrad`.

use std::collections::BTreeMap;

use ndarray::{ArrayD, IxDyn, Zip};
use serde::{Deserialize, Serialize};

use super::optimizer::{
    Buffer, Hyperparameters, Optimizer, OptimizerState, ParamState, check_group, check_params_not_empty, ensure,
    for_each_param_with_grad, py_number, read_param_state, wrong_optimizer,
};
use crate::error::Result;
use crate::nn::Parameter;

/// The hyper-parameters of [`Adagrad`], with PyTorch's names and defaults.
///
/// ```
/// use tapegrad::optim::AdagradOptions;
/// let options = AdagradOptions::default();
/// assert_eq!((options.lr, options.eps, options.initial_accumulator_value), (1e-2, 1e-10, 0.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdagradOptions {
    /// Learning rate γ (default 1e-2).
    pub lr: f64,
    /// Learning-rate decay η: step t uses γ / (1 + (t − 1)·η) (default 0).
    pub lr_decay: f64,
    /// L2 penalty λ added to the gradient (default 0).
    pub weight_decay: f64,
    /// The starting value of the `sum` accumulator (default 0).
    pub initial_accumulator_value: f64,
    /// ε added to the denominator, after the square root (default 1e-10).
    pub eps: f64,
    /// Maximise the objective instead of minimising it (default false).
    pub maximize: bool,
}

impl Default for AdagradOptions {
    fn default() -> Self {
        AdagradOptions {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            maximize: false,
        }
    }
}

impl AdagradOptions {
    /// PyTorch's checks, in PyTorch's order and words.
    fn validate(&self) -> Result<()> {
        ensure(0.0 <= self.lr, || format!("Invalid learning rate: {}", py_number(self.lr, false)))?;
        ensure(0.0 <= self.lr_decay, || format!("Invalid lr_decay value: {}", py_number(self.lr_decay, true)))?;
        ensure(0.0 <= self.weight_decay, || {
            format!("Invalid weight_decay value: {}", py_number(self.weight_decay, true))
        })?;
        ensure(0.0 <= self.initial_accumulator_value, || {
            format!("Invalid initial_accumulator_value value: {}", py_number(self.initial_accumulator_value, true))
        })?;
        ensure(0.0 <= self.eps, || format!("Invalid epsilon value: {}", py_number(self.eps, false)))
    }
}

/// The state of one parameter: PyTorch's `step` and `sum`.
#[derive(Debug, Clone)]
struct AdagradState {
    step: u64,
    sum: ArrayD<f32>,
}

/// The Adagrad optimizer (Duchi et al.). PyTorch: `torch.optim.Adagrad`.
///
/// For each parameter `p` with gradient `g`, at its step t = 1, 2, ...:
///
/// ```text
/// g ← −g                          if maximize
/// g ← g + λ·p                     if weight_decay λ ≠ 0
/// γₜ ← γ / (1 + (t − 1)·η)        lr_decay η
/// S ← S + g²                      sum, starting at initial_accumulator_value
/// p ← p − γₜ · g / (√S + ε)
/// ```
///
/// As in PyTorch, the state (step 0 and `sum`) exists for every parameter from the start.
/// Computed in `f32`, in PyTorch's order. One parameter group.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::{Adagrad, Optimizer}};
///
/// let w = Parameter::new(Tensor::from_vec(vec![1.0], &[1]).unwrap());
/// let mut optimizer = Adagrad::builder(vec![w.clone()]).lr(0.5).build().unwrap();
/// w.pow(2.0).sum().backward();    // g = 2: S = 4
/// optimizer.step();               // w = 1 − 0.5·2/2
/// assert!((w.item() - 0.5).abs() < 1e-6);
/// ```
#[derive(Debug)]
pub struct Adagrad {
    params: Vec<Parameter>,
    options: AdagradOptions,
    state: Vec<AdagradState>,
}

impl Adagrad {
    /// Adagrad with the given hyper-parameters (`AdagradOptions::default()` for PyTorch's).
    /// PyTorch: `torch.optim.Adagrad(params, **options)`.
    ///
    /// # Errors
    /// [`Error::Value`](crate::Error::Value) with PyTorch's message for an empty parameter
    /// list or a negative `lr`, `lr_decay`, `weight_decay`, `initial_accumulator_value` or
    /// `eps` ("Invalid lr_decay value: -1").
    pub fn new(params: Vec<Parameter>, options: AdagradOptions) -> Result<Adagrad> {
        options.validate()?;
        check_params_not_empty(&params)?;
        let state = params
            .iter()
            .map(|p| AdagradState {
                step: 0,
                sum: ArrayD::from_elem(IxDyn(p.shape()), options.initial_accumulator_value as f32),
            })
            .collect();
        Ok(Adagrad { params, options, state })
    }

    /// A builder starting from PyTorch's defaults, for the keyword arguments:
    /// `Adagrad::builder(params).lr(0.1).lr_decay(0.01).build()?`.
    pub fn builder(params: Vec<Parameter>) -> AdagradBuilder {
        AdagradBuilder { params, options: AdagradOptions::default() }
    }

    /// The hyper-parameters.
    /// PyTorch: `optimizer.param_groups[0]` without `"params"`. Example on [`AdagradBuilder`].
    pub fn options(&self) -> &AdagradOptions {
        &self.options
    }
}

impl Optimizer for Adagrad {
    fn step(&mut self) {
        let o = self.options;
        let (weight_decay, eps) = (o.weight_decay as f32, o.eps as f32);
        let states = &mut self.state;
        for_each_param_with_grad(&self.params, |index, values, grad| {
            let state = &mut states[index];
            state.step = state.step.saturating_add(1); // a loaded count may be u64::MAX
            // The decayed learning rate is a Python float in PyTorch: computed in f64.
            let clr = (o.lr / (1.0 + (state.step - 1) as f64 * o.lr_decay)) as f32;
            Zip::from(values.view_mut()).and(grad).and(&mut state.sum).for_each(|p, &g, sum| {
                let mut g = if o.maximize { -g } else { g };
                if o.weight_decay != 0.0 {
                    g += weight_decay * *p;
                }
                *sum += g * g;
                let std = sum.sqrt() + eps;
                *p += -clr * (g / std);
            });
        });
    }

    fn params(&self) -> &[Parameter] {
        &self.params
    }

    fn lr(&self) -> f64 {
        self.options.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.options.lr = lr;
    }

    fn state_dict(&self) -> OptimizerState {
        let state = self.state.iter().enumerate().map(|(index, state)| {
            let buffers = BTreeMap::from([("sum".to_string(), Buffer::from_array(&state.sum))]);
            (index, ParamState { step: Some(state.step), buffers })
        });
        OptimizerState {
            hyperparameters: Hyperparameters::Adagrad(self.options),
            params: (0..self.params.len()).collect(),
            state: state.collect(),
        }
    }

    fn load_state_dict(&mut self, state: &OptimizerState) -> Result<()> {
        let Hyperparameters::Adagrad(options) = state.hyperparameters else {
            return Err(wrong_optimizer("Adagrad", state));
        };
        options.validate()?;
        check_group(state, self.params.len())?;
        let mut loaded = Vec::with_capacity(self.params.len());
        for (index, param) in self.params.iter().enumerate() {
            // PyTorch's Adagrad creates its state in the constructor: every parameter has one.
            let saved = state.state.get(&index).ok_or_else(|| {
                crate::Error::Value(format!(
                    "loaded state dict has no state for parameter {index} (Adagrad keeps one for every parameter)"
                ))
            })?;
            let (step, mut arrays) = read_param_state(index, saved, param.shape(), true, &["sum"])?;
            let sum = arrays.pop().expect("sum was read");
            loaded.push(AdagradState { step: step.expect("read_param_state checked the step"), sum });
        }
        self.options = options;
        self.state = loaded;
        Ok(())
    }
}

/// Builds an [`Adagrad`]; made by [`Adagrad::builder`]. Each method sets the PyTorch
/// keyword argument of the same name.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::Adagrad};
/// // PyTorch: torch.optim.Adagrad(params, lr=0.1, initial_accumulator_value=0.1)
/// let params = vec![Parameter::new(Tensor::zeros(&[3]))];
/// let adagrad = Adagrad::builder(params).lr(0.1).initial_accumulator_value(0.1).build().unwrap();
/// assert_eq!(adagrad.options().eps, 1e-10);
/// ```
#[derive(Debug)]
pub struct AdagradBuilder {
    params: Vec<Parameter>,
    options: AdagradOptions,
}

impl AdagradBuilder {
    /// Learning rate γ (default 1e-2).
    /// PyTorch: `lr=`. Example on [`AdagradBuilder`].
    pub fn lr(mut self, lr: f64) -> Self {
        self.options.lr = lr;
        self
    }
    /// Learning-rate decay η (default 0).
    /// PyTorch: `lr_decay=`. Example on [`AdagradBuilder`].
    pub fn lr_decay(mut self, lr_decay: f64) -> Self {
        self.options.lr_decay = lr_decay;
        self
    }
    /// L2 penalty λ (default 0).
    /// PyTorch: `weight_decay=`. Example on [`AdagradBuilder`].
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.options.weight_decay = weight_decay;
        self
    }
    /// Starting value of the accumulator (default 0).
    /// PyTorch: `initial_accumulator_value=`. Example on [`AdagradBuilder`].
    pub fn initial_accumulator_value(mut self, value: f64) -> Self {
        self.options.initial_accumulator_value = value;
        self
    }
    /// ε (default 1e-10).
    /// PyTorch: `eps=`. Example on [`AdagradBuilder`].
    pub fn eps(mut self, eps: f64) -> Self {
        self.options.eps = eps;
        self
    }
    /// Maximise instead of minimise (default false).
    /// PyTorch: `maximize=`. Example on [`AdagradBuilder`].
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.options.maximize = maximize;
        self
    }
    /// The optimizer.
    /// PyTorch: the `torch.optim.Adagrad(params, ...)` call. Example on [`AdagradBuilder`].
    ///
    /// # Errors
    /// As [`Adagrad::new`].
    pub fn build(self) -> Result<Adagrad> {
        Adagrad::new(self.params, self.options)
    }
}
