//! [`RmsProp`]: divide the gradient by a running root mean square of recent gradients.
//! PyTorch: `torch.optim.RMSprop`.

use std::collections::BTreeMap;

use ndarray::{ArrayD, ArrayViewD, Zip};
use serde::{Deserialize, Serialize};

use super::optimizer::{
    Buffer, Hyperparameters, Optimizer, OptimizerState, ParamState, check_group, check_params_not_empty, ensure,
    for_each_param_with_grad, lerp, py_number, read_param_state, wrong_optimizer, zeros_like,
};
use crate::error::Result;
use crate::nn::Parameter;
use crate::tensor::SharedArray;

/// The hyper-parameters of [`RmsProp`], with PyTorch's names and defaults.
///
/// ```
/// use tapegrad::optim::RmsPropOptions;
/// let options = RmsPropOptions::default();
/// assert_eq!((options.lr, options.alpha, options.eps), (1e-2, 0.99, 1e-8));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RmsPropOptions {
    /// Learning rate γ (default 1e-2).
    pub lr: f64,
    /// Smoothing constant α of the averages (default 0.99).
    pub alpha: f64,
    /// ε added to the denominator, after the square root (default 1e-8).
    pub eps: f64,
    /// L2 penalty λ added to the gradient (default 0).
    pub weight_decay: f64,
    /// Momentum factor μ (default 0: no momentum buffer).
    pub momentum: f64,
    /// Normalise by an estimate of the gradient's variance instead of its second moment
    /// (default false).
    pub centered: bool,
    /// Maximise the objective instead of minimising it (default false).
    pub maximize: bool,
}

impl Default for RmsPropOptions {
    fn default() -> Self {
        RmsPropOptions {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            maximize: false,
        }
    }
}

impl RmsPropOptions {
    /// PyTorch's checks, in PyTorch's order and words.
    fn validate(&self) -> Result<()> {
        ensure(0.0 <= self.lr, || format!("Invalid learning rate: {}", py_number(self.lr, false)))?;
        ensure(0.0 <= self.eps, || format!("Invalid epsilon value: {}", py_number(self.eps, false)))?;
        ensure(0.0 <= self.momentum, || format!("Invalid momentum value: {}", py_number(self.momentum, true)))?;
        ensure(0.0 <= self.weight_decay, || {
            format!("Invalid weight_decay value: {}", py_number(self.weight_decay, true))
        })?;
        ensure(0.0 <= self.alpha, || format!("Invalid alpha value: {}", py_number(self.alpha, false)))
    }

    /// The buffers PyTorch keeps for these options, by name.
    fn buffer_names(&self) -> Vec<&'static str> {
        let mut names = vec!["square_avg"];
        if self.momentum > 0.0 {
            names.push("momentum_buffer");
        }
        if self.centered {
            names.push("grad_avg");
        }
        names
    }
}

/// The state of one parameter: PyTorch's `step`, `square_avg`, and `momentum_buffer` (with
/// momentum) and `grad_avg` (centered).
#[derive(Debug, Clone)]
struct RmsPropState {
    step: u64,
    square_avg: ArrayD<f32>,
    momentum_buffer: Option<ArrayD<f32>>,
    grad_avg: Option<ArrayD<f32>>,
}

/// RMSprop (Hinton's lecture notes; centered variant by Graves). PyTorch: `torch.optim.RMSprop`.
///
/// For each parameter `p` with gradient `g`:
///
/// ```text
/// g ← −g                          if maximize
/// g ← g + λ·p                     if weight_decay λ ≠ 0
/// s ← α·s + (1 − α)·g²            square_avg
/// if centered:
///     a ← α·a + (1 − α)·g         grad_avg (PyTorch: grad_avg.lerp_(g, 1 − α))
///     d ← √(s − a²) + ε
/// else:
///     d ← √s + ε
/// if momentum μ > 0:  b ← μ·b + g/d;  p ← p − γ·b
/// else:               p ← p − γ·g/d
/// ```
///
/// ε is added after the square root (TensorFlow adds it inside). Computed in `f32`, in
/// PyTorch's order. One parameter group.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::{Optimizer, RmsProp}};
///
/// let w = Parameter::new(Tensor::from_vec(vec![1.0], &[1]).unwrap());
/// let mut optimizer = RmsProp::new(vec![w.clone()], Default::default()).unwrap();
/// w.sum().backward();     // g = 1: s = 0.01, d = 0.1 + ε
/// optimizer.step();       // w = 1 − 0.01·1/0.1
/// assert!((w.item() - 0.9).abs() < 1e-6);
/// ```
#[derive(Debug)]
pub struct RmsProp {
    params: Vec<Parameter>,
    options: RmsPropOptions,
    state: Vec<Option<RmsPropState>>,
}

impl RmsProp {
    /// RMSprop with the given hyper-parameters (`RmsPropOptions::default()` for PyTorch's).
    /// PyTorch: `torch.optim.RMSprop(params, **options)`.
    ///
    /// # Errors
    /// [`Error::Value`](crate::Error::Value) with PyTorch's message for an empty parameter
    /// list or a negative `lr`, `eps`, `momentum`, `weight_decay` or `alpha`
    /// ("Invalid alpha value: -0.5").
    pub fn new(params: Vec<Parameter>, options: RmsPropOptions) -> Result<RmsProp> {
        options.validate()?;
        check_params_not_empty(&params)?;
        let state = vec![None; params.len()];
        Ok(RmsProp { params, options, state })
    }

    /// A builder starting from PyTorch's defaults, for the keyword arguments:
    /// `RmsProp::builder(params).lr(0.01).centered(true).build()?`.
    pub fn builder(params: Vec<Parameter>) -> RmsPropBuilder {
        RmsPropBuilder { params, options: RmsPropOptions::default() }
    }

    /// The hyper-parameters.
    /// PyTorch: `optimizer.param_groups[0]` without `"params"`. Example on [`RmsPropBuilder`].
    pub fn options(&self) -> &RmsPropOptions {
        &self.options
    }

    fn update(options: &RmsPropOptions, state: &mut RmsPropState, values: &mut SharedArray, grad: ArrayViewD<'_, f32>) {
        state.step = state.step.saturating_add(1); // a loaded count may be u64::MAX
        let (alpha, one_minus_alpha) = (options.alpha as f32, (1.0 - options.alpha) as f32);
        let (lr, eps, momentum, weight_decay) =
            (options.lr as f32, options.eps as f32, options.momentum as f32, options.weight_decay as f32);

        // g ← ±g + λ·p, into a fresh array (the .grad itself is never written).
        let mut grad = grad.to_owned();
        Zip::from(&mut grad).and(&*values).for_each(|g, &p| {
            if options.maximize {
                *g = -*g;
            }
            if options.weight_decay != 0.0 {
                *g += weight_decay * p;
            }
        });

        // d: the denominator, √s + ε or √(s − a²) + ε.
        let mut denom = ArrayD::zeros(grad.raw_dim());
        Zip::from(&mut state.square_avg).and(&grad).for_each(|s, &g| *s = *s * alpha + one_minus_alpha * g * g);
        match &mut state.grad_avg {
            Some(grad_avg) => {
                Zip::from(&mut denom).and(&state.square_avg).and(grad_avg).and(&grad).for_each(|d, &s, a, &g| {
                    *a = lerp(*a, g, one_minus_alpha);
                    *d = (s + -*a * *a).sqrt() + eps;
                })
            }
            None => Zip::from(&mut denom).and(&state.square_avg).for_each(|d, &s| *d = s.sqrt() + eps),
        }

        match &mut state.momentum_buffer {
            Some(buffer) => Zip::from(values.view_mut()).and(buffer).and(&grad).and(&denom).for_each(|p, b, &g, &d| {
                *b = *b * momentum + g / d;
                *p += -lr * *b;
            }),
            None => Zip::from(values.view_mut()).and(&grad).and(&denom).for_each(|p, &g, &d| *p += -lr * (g / d)),
        }
    }
}

impl Optimizer for RmsProp {
    fn step(&mut self) {
        let options = self.options;
        let params = &self.params;
        let states = &mut self.state;
        for_each_param_with_grad(params, |index, values, grad| {
            let param = &params[index];
            let state = states[index].get_or_insert_with(|| RmsPropState {
                step: 0,
                square_avg: zeros_like(param),
                momentum_buffer: (options.momentum > 0.0).then(|| zeros_like(param)),
                grad_avg: options.centered.then(|| zeros_like(param)),
            });
            RmsProp::update(&options, state, values, grad);
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
        let state = self.state.iter().enumerate().filter_map(|(index, state)| {
            let state = state.as_ref()?;
            let mut buffers = BTreeMap::from([("square_avg".to_string(), Buffer::from_array(&state.square_avg))]);
            if let Some(buffer) = &state.momentum_buffer {
                buffers.insert("momentum_buffer".to_string(), Buffer::from_array(buffer));
            }
            if let Some(grad_avg) = &state.grad_avg {
                buffers.insert("grad_avg".to_string(), Buffer::from_array(grad_avg));
            }
            Some((index, ParamState { step: Some(state.step), buffers }))
        });
        OptimizerState {
            hyperparameters: Hyperparameters::RmsProp(self.options),
            params: (0..self.params.len()).collect(),
            state: state.collect(),
        }
    }

    fn load_state_dict(&mut self, state: &OptimizerState) -> Result<()> {
        let Hyperparameters::RmsProp(options) = state.hyperparameters else {
            return Err(wrong_optimizer("RMSprop", state));
        };
        options.validate()?;
        check_group(state, self.params.len())?;
        let names = options.buffer_names();
        let mut loaded = vec![None; self.params.len()];
        for (&index, saved) in &state.state {
            let (step, arrays) = read_param_state(index, saved, self.params[index].shape(), true, &names)?;
            let mut arrays = arrays.into_iter();
            loaded[index] = Some(RmsPropState {
                step: step.expect("read_param_state checked the step"),
                square_avg: arrays.next().expect("square_avg is always kept"),
                momentum_buffer: if options.momentum > 0.0 { arrays.next() } else { None },
                grad_avg: if options.centered { arrays.next() } else { None },
            });
        }
        self.options = options;
        self.state = loaded;
        Ok(())
    }
}

/// Builds an [`RmsProp`]; made by [`RmsProp::builder`]. Each method sets the PyTorch
/// keyword argument of the same name.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::RmsProp};
/// // PyTorch: torch.optim.RMSprop(params, lr=0.001, momentum=0.9, centered=True)
/// let params = vec![Parameter::new(Tensor::zeros(&[3]))];
/// let rmsprop = RmsProp::builder(params).lr(0.001).momentum(0.9).centered(true).build().unwrap();
/// assert_eq!(rmsprop.options().alpha, 0.99);
/// ```
#[derive(Debug)]
pub struct RmsPropBuilder {
    params: Vec<Parameter>,
    options: RmsPropOptions,
}

impl RmsPropBuilder {
    /// Learning rate γ (default 1e-2).
    /// PyTorch: `lr=`. Example on [`RmsPropBuilder`].
    pub fn lr(mut self, lr: f64) -> Self {
        self.options.lr = lr;
        self
    }
    /// Smoothing constant α (default 0.99).
    /// PyTorch: `alpha=`. Example on [`RmsPropBuilder`].
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.options.alpha = alpha;
        self
    }
    /// ε (default 1e-8).
    /// PyTorch: `eps=`. Example on [`RmsPropBuilder`].
    pub fn eps(mut self, eps: f64) -> Self {
        self.options.eps = eps;
        self
    }
    /// L2 penalty λ (default 0).
    /// PyTorch: `weight_decay=`. Example on [`RmsPropBuilder`].
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.options.weight_decay = weight_decay;
        self
    }
    /// Momentum factor μ (default 0).
    /// PyTorch: `momentum=`. Example on [`RmsPropBuilder`].
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.options.momentum = momentum;
        self
    }
    /// Centered RMSprop (default false).
    /// PyTorch: `centered=`. Example on [`RmsPropBuilder`].
    pub fn centered(mut self, centered: bool) -> Self {
        self.options.centered = centered;
        self
    }
    /// Maximise instead of minimise (default false).
    /// PyTorch: `maximize=`. Example on [`RmsPropBuilder`].
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.options.maximize = maximize;
        self
    }
    /// The optimizer.
    /// PyTorch: the `torch.optim.RMSprop(params, ...)` call. Example on [`RmsPropBuilder`].
    ///
    /// # Errors
    /// As [`RmsProp::new`].
    pub fn build(self) -> Result<RmsProp> {
        RmsProp::new(self.params, self.options)
    }
}
