//! [`Sgd`]: stochastic gradient descent with momentum, dampening, Nesterov momentum and
//! weight decay. PyTorch: `torch.optim.SGD`.

use ndarray::{ArrayD, Zip};
use serde::{Deserialize, Serialize};

use super::optimizer::{
    Buffer, Hyperparameters, Optimizer, OptimizerState, ParamState, check_group, check_params_not_empty, ensure,
    for_each_param_with_grad, py_number, read_param_state, wrong_optimizer,
};
use crate::error::{Error, Result};
use crate::nn::Parameter;

/// The hyper-parameters of [`Sgd`], with PyTorch's names and defaults.
///
/// ```
/// use tapegrad::optim::SgdOptions;
/// let options = SgdOptions { lr: 0.1, momentum: 0.9, ..Default::default() };
/// assert_eq!(options.dampening, 0.0);
/// assert!(!options.nesterov);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SgdOptions {
    /// Learning rate γ. PyTorch's default is `1e-3` (since PyTorch 2.2; `lr` used to be required).
    pub lr: f64,
    /// Momentum factor μ (default 0: no momentum buffer).
    pub momentum: f64,
    /// Dampening τ of the momentum (default 0).
    pub dampening: f64,
    /// L2 penalty λ added to the gradient (default 0).
    pub weight_decay: f64,
    /// Nesterov momentum (default false); needs `momentum > 0` and `dampening == 0`.
    pub nesterov: bool,
    /// Maximise the objective instead of minimising it (default false).
    pub maximize: bool,
}

impl Default for SgdOptions {
    fn default() -> Self {
        SgdOptions { lr: 1e-3, momentum: 0.0, dampening: 0.0, weight_decay: 0.0, nesterov: false, maximize: false }
    }
}

impl SgdOptions {
    /// PyTorch's checks, in PyTorch's order and words.
    fn validate(&self) -> Result<()> {
        // SGD raises when `x < 0.0` (so NaN passes), unlike the adaptive optimizers' `not 0.0 <= x`.
        let invalid = |message: String| Err(Error::Value(message));
        if self.lr < 0.0 {
            return invalid(format!("Invalid learning rate: {}", py_number(self.lr, false)));
        }
        if self.momentum < 0.0 {
            return invalid(format!("Invalid momentum value: {}", py_number(self.momentum, true)));
        }
        if self.weight_decay < 0.0 {
            return invalid(format!("Invalid weight_decay value: {}", py_number(self.weight_decay, true)));
        }
        ensure(!(self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0)), || {
            "Nesterov momentum requires a momentum and zero dampening".into()
        })
    }
}

/// Stochastic gradient descent, optionally with momentum. PyTorch: `torch.optim.SGD`.
///
/// For each parameter `p` with gradient `g` (step t = 1, 2, ...):
///
/// ```text
/// g ← −g                      if maximize
/// g ← g + λ·p                 if weight_decay λ ≠ 0
/// if momentum μ ≠ 0:
///     b ← g                   on the first step (no dampening then)
///     b ← μ·b + (1 − τ)·g     afterwards
///     g ← g + μ·b             if nesterov, else g ← b
/// p ← p − γ·g
/// ```
///
/// This is PyTorch's form of momentum (`v = μv + g; p −= γv`), which differs from
/// Sutskever et al.'s (`v = μv + γg; p −= v`) when the learning rate changes. State per
/// parameter: `momentum_buffer` (only with momentum). Computed in `f32`, in PyTorch's
/// order of operations. One parameter group.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::{Optimizer, Sgd}};
///
/// let w = Parameter::new(Tensor::from_vec(vec![1.0, -2.0], &[2]).unwrap());
/// let mut optimizer = Sgd::builder(vec![w.clone()], 0.1).momentum(0.9).build().unwrap();
/// w.pow(2.0).sum().backward();   // g = 2w = [2, −4]
/// optimizer.step();              // first step: b = g, w −= 0.1·b
/// assert_eq!(w.to_vec(), vec![0.8, -1.6]);
/// ```
#[derive(Debug)]
pub struct Sgd {
    params: Vec<Parameter>,
    options: SgdOptions,
    /// `momentum_buffer` per parameter; `None` until the parameter's first step with momentum.
    momentum_buffers: Vec<Option<ArrayD<f32>>>,
}

impl Sgd {
    /// Plain SGD with learning rate `lr` and PyTorch's other defaults.
    /// PyTorch: `torch.optim.SGD(params, lr=lr)`.
    ///
    /// # Errors
    /// [`Error::Value`](crate::Error::Value) for an empty parameter list or a negative `lr`
    /// ("Invalid learning rate: -0.1").
    pub fn new(params: Vec<Parameter>, lr: f64) -> Result<Sgd> {
        Sgd::with_options(params, SgdOptions { lr, ..SgdOptions::default() })
    }

    /// SGD with every hyper-parameter given. PyTorch: `torch.optim.SGD(params, **options)`.
    ///
    /// # Errors
    /// [`Error::Value`](crate::Error::Value) with PyTorch's message for an empty parameter
    /// list, a negative `lr`, `momentum` or `weight_decay`, or Nesterov momentum without a
    /// momentum or with dampening ("Nesterov momentum requires a momentum and zero dampening").
    pub fn with_options(params: Vec<Parameter>, options: SgdOptions) -> Result<Sgd> {
        options.validate()?;
        check_params_not_empty(&params)?;
        let momentum_buffers = vec![None; params.len()];
        Ok(Sgd { params, options, momentum_buffers })
    }

    /// A builder starting from learning rate `lr` and PyTorch's defaults, for the keyword
    /// arguments: `Sgd::builder(params, 0.05).momentum(0.9).nesterov(true).build()?`.
    pub fn builder(params: Vec<Parameter>, lr: f64) -> SgdBuilder {
        SgdBuilder { params, options: SgdOptions { lr, ..SgdOptions::default() } }
    }

    /// The hyper-parameters.
    /// PyTorch: `optimizer.param_groups[0]` without `"params"`. Example on [`SgdBuilder`].
    pub fn options(&self) -> &SgdOptions {
        &self.options
    }
}

/// Builds an [`Sgd`]; made by [`Sgd::builder`]. Each method sets the PyTorch keyword
/// argument of the same name.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::Sgd};
/// // PyTorch: torch.optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
/// let params = vec![Parameter::new(Tensor::zeros(&[3]))];
/// let sgd = Sgd::builder(params, 0.05).momentum(0.9).nesterov(true).weight_decay(1e-4).build().unwrap();
/// assert_eq!(sgd.options().momentum, 0.9);
/// ```
#[derive(Debug)]
pub struct SgdBuilder {
    params: Vec<Parameter>,
    options: SgdOptions,
}

impl SgdBuilder {
    /// Momentum factor μ (default 0).
    /// PyTorch: `momentum=`. Example on [`SgdBuilder`].
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.options.momentum = momentum;
        self
    }
    /// Dampening τ (default 0).
    /// PyTorch: `dampening=`. Example on [`SgdBuilder`].
    pub fn dampening(mut self, dampening: f64) -> Self {
        self.options.dampening = dampening;
        self
    }
    /// L2 penalty λ (default 0).
    /// PyTorch: `weight_decay=`. Example on [`SgdBuilder`].
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.options.weight_decay = weight_decay;
        self
    }
    /// Nesterov momentum (default false).
    /// PyTorch: `nesterov=`. Example on [`SgdBuilder`].
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.options.nesterov = nesterov;
        self
    }
    /// Maximise instead of minimise (default false).
    /// PyTorch: `maximize=`. Example on [`SgdBuilder`].
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.options.maximize = maximize;
        self
    }
    /// The optimizer.
    /// PyTorch: the `torch.optim.SGD(params, ...)` call. Example on [`SgdBuilder`].
    ///
    /// # Errors
    /// As [`Sgd::with_options`].
    pub fn build(self) -> Result<Sgd> {
        Sgd::with_options(self.params, self.options)
    }
}

impl Optimizer for Sgd {
    fn step(&mut self) {
        let o = self.options;
        // Python floats become f32 scalars inside PyTorch's f32 kernels.
        let (lr, momentum, weight_decay) = (o.lr as f32, o.momentum as f32, o.weight_decay as f32);
        let one_minus_dampening = (1.0 - o.dampening) as f32;
        let buffers = &mut self.momentum_buffers;
        for_each_param_with_grad(&self.params, |index, values, grad| {
            // g ← ±g + λ·p, elementwise, into a fresh array (the .grad itself is never written).
            let mut direction = grad.to_owned();
            Zip::from(&mut direction).and(&*values).for_each(|g, &p| {
                if o.maximize {
                    *g = -*g;
                }
                if o.weight_decay != 0.0 {
                    *g += weight_decay * p;
                }
            });
            if o.momentum != 0.0 {
                let buffer = match &mut buffers[index] {
                    // First step: the buffer is the gradient itself, not dampened.
                    slot @ None => slot.insert(direction.clone()),
                    Some(buffer) => {
                        Zip::from(&mut *buffer)
                            .and(&direction)
                            .for_each(|b, &g| *b = *b * momentum + one_minus_dampening * g);
                        buffer
                    }
                };
                if o.nesterov {
                    Zip::from(&mut direction).and(&*buffer).for_each(|g, &b| *g += momentum * b);
                } else {
                    direction.assign(buffer);
                }
            }
            Zip::from(values).and(&direction).for_each(|p, &g| *p += -lr * g);
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
        let state = self.momentum_buffers.iter().enumerate().filter_map(|(index, buffer)| {
            let buffer = buffer.as_ref()?;
            let buffers = [("momentum_buffer".to_string(), Buffer::from_array(buffer))].into();
            Some((index, ParamState { step: None, buffers }))
        });
        OptimizerState {
            hyperparameters: Hyperparameters::Sgd(self.options),
            params: (0..self.params.len()).collect(),
            state: state.collect(),
        }
    }

    fn load_state_dict(&mut self, state: &OptimizerState) -> Result<()> {
        let Hyperparameters::Sgd(options) = state.hyperparameters else {
            return Err(wrong_optimizer("SGD", state));
        };
        options.validate()?;
        check_group(state, self.params.len())?;
        let mut momentum_buffers = vec![None; self.params.len()];
        for (&index, saved) in &state.state {
            // PyTorch keeps a momentum buffer only when momentum ≠ 0.
            let names: &[&str] = if options.momentum != 0.0 { &["momentum_buffer"] } else { &[] };
            let (_, mut arrays) = read_param_state(index, saved, self.params[index].shape(), false, names)?;
            momentum_buffers[index] = arrays.pop();
        }
        self.options = options;
        self.momentum_buffers = momentum_buffers;
        Ok(())
    }
}
