//! [`Adam`] and [`AdamW`]: adaptive moment estimation, with L2 or decoupled weight decay.
//! PyTorch: `torch.optim.Adam`, `torch.optim.AdamW`.
//!
//! Since PyTorch 2.6, `AdamW` is `Adam(..., decoupled_weight_decay=True)` with a default
//! `weight_decay` of 1e-2; here too `AdamW` is a thin wrapper over the same code.

use ndarray::{ArrayD, ArrayViewMutD, Zip};
use serde::{Deserialize, Serialize};

use super::optimizer::{
    Buffer, Hyperparameters, Optimizer, OptimizerState, ParamState, check_group, check_params_not_empty, ensure,
    for_each_param_with_grad, lerp, maximum, py_number, read_param_state, wrong_optimizer, zeros_like,
};
use crate::error::Result;
use crate::nn::Parameter;
use crate::tensor::SharedArray;

/// The hyper-parameters of [`Adam`], with PyTorch's names and defaults.
///
/// ```
/// use tapegrad::optim::AdamOptions;
/// let options = AdamOptions::default();
/// assert_eq!((options.lr, options.betas, options.eps), (1e-3, (0.9, 0.999), 1e-8));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamOptions {
    /// Learning rate γ (default 1e-3).
    pub lr: f64,
    /// (β₁, β₂): decay rates of the first and second moment averages (default (0.9, 0.999)).
    pub betas: (f64, f64),
    /// ε added to the denominator, after the bias-corrected square root (default 1e-8).
    pub eps: f64,
    /// Weight decay λ (default 0): an L2 term in the gradient, or a decay of the parameter
    /// itself with `decoupled_weight_decay`.
    pub weight_decay: f64,
    /// Use the AMSGrad variant: the running maximum of the second moment (default false).
    pub amsgrad: bool,
    /// Maximise the objective instead of minimising it (default false).
    pub maximize: bool,
    /// Decay the parameter (`p ← p·(1 − γλ)`) instead of adding `λp` to the gradient: AdamW
    /// (default false).
    pub decoupled_weight_decay: bool,
}

impl Default for AdamOptions {
    fn default() -> Self {
        AdamOptions {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
            maximize: false,
            decoupled_weight_decay: false,
        }
    }
}

impl AdamOptions {
    /// PyTorch's checks, in PyTorch's order and words. `int_weight_decay`: whether the
    /// PyTorch default of `weight_decay` is an int (Adam's 0) or a float (AdamW's 1e-2),
    /// which decides how Python prints it.
    fn validate(&self, int_weight_decay: bool) -> Result<()> {
        let (beta1, beta2) = self.betas;
        ensure(0.0 <= self.lr, || format!("Invalid learning rate: {}", py_number(self.lr, false)))?;
        ensure(0.0 <= self.eps, || format!("Invalid epsilon value: {}", py_number(self.eps, false)))?;
        ensure((0.0..1.0).contains(&beta1), || {
            format!("Invalid beta parameter at index 0: {}", py_number(beta1, false))
        })?;
        ensure((0.0..1.0).contains(&beta2), || {
            format!("Invalid beta parameter at index 1: {}", py_number(beta2, false))
        })?;
        ensure(0.0 <= self.weight_decay, || {
            format!("Invalid weight_decay value: {}", py_number(self.weight_decay, int_weight_decay))
        })
    }
}

/// The hyper-parameters of [`AdamW`]: [`AdamOptions`] without the `decoupled_weight_decay`
/// switch (always on) and with PyTorch's AdamW default `weight_decay = 1e-2`.
///
/// ```
/// use tapegrad::optim::AdamWOptions;
/// assert_eq!(AdamWOptions::default().weight_decay, 1e-2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamWOptions {
    /// Learning rate γ (default 1e-3).
    pub lr: f64,
    /// (β₁, β₂) (default (0.9, 0.999)).
    pub betas: (f64, f64),
    /// ε (default 1e-8).
    pub eps: f64,
    /// Decoupled weight decay λ: `p ← p·(1 − γλ)` before the Adam update (default 1e-2).
    pub weight_decay: f64,
    /// AMSGrad (default false).
    pub amsgrad: bool,
    /// Maximise instead of minimise (default false).
    pub maximize: bool,
}

impl Default for AdamWOptions {
    fn default() -> Self {
        AdamWOptions { lr: 1e-3, betas: (0.9, 0.999), eps: 1e-8, weight_decay: 1e-2, amsgrad: false, maximize: false }
    }
}

impl From<AdamWOptions> for AdamOptions {
    fn from(o: AdamWOptions) -> AdamOptions {
        AdamOptions {
            lr: o.lr,
            betas: o.betas,
            eps: o.eps,
            weight_decay: o.weight_decay,
            amsgrad: o.amsgrad,
            maximize: o.maximize,
            decoupled_weight_decay: true,
        }
    }
}

impl AdamWOptions {
    fn from_adam(o: AdamOptions) -> AdamWOptions {
        AdamWOptions {
            lr: o.lr,
            betas: o.betas,
            eps: o.eps,
            weight_decay: o.weight_decay,
            amsgrad: o.amsgrad,
            maximize: o.maximize,
        }
    }
}

/// The state of one parameter: PyTorch's `step`, `exp_avg` (m), `exp_avg_sq` (v) and, with
/// AMSGrad, `max_exp_avg_sq`.
#[derive(Debug, Clone)]
struct AdamState {
    step: u64,
    exp_avg: ArrayD<f32>,
    exp_avg_sq: ArrayD<f32>,
    max_exp_avg_sq: Option<ArrayD<f32>>,
}

/// The Adam optimizer. PyTorch: `torch.optim.Adam`.
///
/// For each parameter `p` with gradient `g`, at its step t = 1, 2, ...:
///
/// ```text
/// g ← −g                              if maximize
/// p ← p·(1 − γλ)                      if decoupled_weight_decay (AdamW)
/// g ← g + λ·p                         otherwise, if weight_decay λ ≠ 0
/// m ← β₁·m + (1 − β₁)·g               first moment (PyTorch: exp_avg.lerp_(g, 1 − β₁))
/// v ← β₂·v + (1 − β₂)·g²              second moment
/// v̂ ← max(v̂, v) with amsgrad, else v̂ = v
/// p ← p − (γ / (1 − β₁ᵗ)) · m / (√v̂ / √(1 − β₂ᵗ) + ε)
/// ```
///
/// Note that ε is added *after* the bias-corrected square root, as PyTorch does. The bias
/// corrections are computed in `f64` (PyTorch computes them as Python floats); the rest in
/// `f32`, in PyTorch's order. One parameter group.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::{Adam, Optimizer}};
///
/// let w = Parameter::new(Tensor::from_vec(vec![1.0, -1.0], &[2]).unwrap());
/// let mut optimizer = Adam::builder(vec![w.clone()]).lr(0.1).build().unwrap();
/// w.pow(2.0).sum().backward();
/// optimizer.step();
/// // The first Adam step moves every coordinate by about lr, against its gradient's sign.
/// let moved: Vec<f32> = w.to_vec();
/// assert!((moved[0] - 0.9).abs() < 1e-6 && (moved[1] + 0.9).abs() < 1e-6);
/// ```
#[derive(Debug)]
pub struct Adam {
    params: Vec<Parameter>,
    options: AdamOptions,
    state: Vec<Option<AdamState>>,
}

impl Adam {
    /// Adam with the given hyper-parameters (`AdamOptions::default()` for PyTorch's).
    /// PyTorch: `torch.optim.Adam(params, **options)`.
    ///
    /// # Errors
    /// [`Error::Value`](crate::Error::Value) with PyTorch's message for an empty parameter
    /// list, a negative `lr`, `eps` or `weight_decay`, or a beta outside `[0, 1)`
    /// ("Invalid beta parameter at index 0: 1.0").
    pub fn new(params: Vec<Parameter>, options: AdamOptions) -> Result<Adam> {
        options.validate(true)?;
        Adam::unchecked(params, options)
    }

    fn unchecked(params: Vec<Parameter>, options: AdamOptions) -> Result<Adam> {
        check_params_not_empty(&params)?;
        let state = vec![None; params.len()];
        Ok(Adam { params, options, state })
    }

    /// A builder starting from PyTorch's defaults, for the keyword arguments:
    /// `Adam::builder(params).lr(0.01).amsgrad(true).build()?`.
    pub fn builder(params: Vec<Parameter>) -> AdamBuilder {
        AdamBuilder { params, options: AdamOptions::default() }
    }

    /// The hyper-parameters.
    /// PyTorch: `optimizer.param_groups[0]` without `"params"`. Example on [`AdamBuilder`].
    pub fn options(&self) -> &AdamOptions {
        &self.options
    }

    /// One Adam step on the values of parameter `index`.
    fn update(
        options: &AdamOptions,
        state: &mut AdamState,
        values: &mut SharedArray,
        grad: ndarray::ArrayViewD<'_, f32>,
    ) {
        let (beta1, beta2) = options.betas;
        state.step = state.step.saturating_add(1); // a loaded count may be u64::MAX
        let step = state.step as f64;
        // Python floats in PyTorch: computed in f64, then used as f32 scalars by the kernels.
        let bias_correction1 = 1.0 - beta1.powf(step);
        let bias_correction2 = 1.0 - beta2.powf(step);
        let step_size = (options.lr / bias_correction1) as f32;
        let bias_correction2_sqrt = bias_correction2.sqrt() as f32;
        let decay_factor = (1.0 - options.lr * options.weight_decay) as f32;
        let weight_decay = options.weight_decay as f32;
        let (one_minus_beta1, beta2_f32, one_minus_beta2) = ((1.0 - beta1) as f32, beta2 as f32, (1.0 - beta2) as f32);
        let eps = options.eps as f32;

        let element = |p: &mut f32, g: f32, m: &mut f32, v: &mut f32, v_max: Option<&mut f32>| {
            let mut g = if options.maximize { -g } else { g };
            if options.weight_decay != 0.0 {
                if options.decoupled_weight_decay {
                    *p *= decay_factor;
                } else {
                    g += weight_decay * *p;
                }
            }
            *m = lerp(*m, g, one_minus_beta1);
            *v = *v * beta2_f32 + one_minus_beta2 * g * g;
            let second_moment = match v_max {
                Some(v_max) => {
                    *v_max = maximum(*v_max, *v);
                    *v_max
                }
                None => *v,
            };
            let denom = second_moment.sqrt() / bias_correction2_sqrt + eps;
            *p += -step_size * (*m / denom);
        };

        let values: ArrayViewMutD<'_, f32> = values.view_mut();
        let zip = Zip::from(values).and(grad).and(&mut state.exp_avg).and(&mut state.exp_avg_sq);
        match &mut state.max_exp_avg_sq {
            Some(v_max) => zip.and(v_max).for_each(|p, &g, m, v, v_max| element(p, g, m, v, Some(v_max))),
            None => zip.for_each(|p, &g, m, v| element(p, g, m, v, None)),
        }
    }

    fn to_state(&self, hyperparameters: Hyperparameters) -> OptimizerState {
        let state = self.state.iter().enumerate().filter_map(|(index, state)| {
            let state = state.as_ref()?;
            let mut buffers: std::collections::BTreeMap<String, Buffer> = [
                ("exp_avg".to_string(), Buffer::from_array(&state.exp_avg)),
                ("exp_avg_sq".to_string(), Buffer::from_array(&state.exp_avg_sq)),
            ]
            .into();
            if let Some(v_max) = &state.max_exp_avg_sq {
                buffers.insert("max_exp_avg_sq".to_string(), Buffer::from_array(v_max));
            }
            Some((index, ParamState { step: Some(state.step), buffers }))
        });
        OptimizerState { hyperparameters, params: (0..self.params.len()).collect(), state: state.collect() }
    }

    /// Loads `state` with the hyper-parameters `options`, already validated.
    fn load(&mut self, state: &OptimizerState, options: AdamOptions) -> Result<()> {
        check_group(state, self.params.len())?;
        let names: &[&str] =
            if options.amsgrad { &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] } else { &["exp_avg", "exp_avg_sq"] };
        let mut loaded = vec![None; self.params.len()];
        for (&index, saved) in &state.state {
            let (step, arrays) = read_param_state(index, saved, self.params[index].shape(), true, names)?;
            let mut arrays = arrays.into_iter();
            let (exp_avg, exp_avg_sq) = (arrays.next().expect("exp_avg"), arrays.next().expect("exp_avg_sq"));
            let step = step.expect("read_param_state checked the step");
            loaded[index] = Some(AdamState { step, exp_avg, exp_avg_sq, max_exp_avg_sq: arrays.next() });
        }
        self.options = options;
        self.state = loaded;
        Ok(())
    }
}

impl Optimizer for Adam {
    fn step(&mut self) {
        let options = self.options;
        let params = &self.params;
        let states = &mut self.state;
        for_each_param_with_grad(params, |index, values, grad| {
            let state = states[index].get_or_insert_with(|| AdamState {
                step: 0,
                exp_avg: zeros_like(&params[index]),
                exp_avg_sq: zeros_like(&params[index]),
                max_exp_avg_sq: options.amsgrad.then(|| zeros_like(&params[index])),
            });
            Adam::update(&options, state, values, grad);
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
        self.to_state(Hyperparameters::Adam(self.options))
    }

    fn load_state_dict(&mut self, state: &OptimizerState) -> Result<()> {
        let Hyperparameters::Adam(options) = state.hyperparameters else {
            return Err(wrong_optimizer("Adam", state));
        };
        options.validate(true)?;
        self.load(state, options)
    }
}

/// Builds an [`Adam`]; made by [`Adam::builder`]. Each method sets the PyTorch keyword
/// argument of the same name.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::Adam};
/// // PyTorch: torch.optim.Adam(params, lr=0.01, betas=(0.8, 0.99), amsgrad=True)
/// let params = vec![Parameter::new(Tensor::zeros(&[3]))];
/// let adam = Adam::builder(params).lr(0.01).betas((0.8, 0.99)).amsgrad(true).build().unwrap();
/// assert_eq!(adam.options().eps, 1e-8);
/// ```
#[derive(Debug)]
pub struct AdamBuilder {
    params: Vec<Parameter>,
    options: AdamOptions,
}

impl AdamBuilder {
    /// Learning rate γ (default 1e-3).
    /// PyTorch: `lr=`. Example on [`AdamBuilder`].
    pub fn lr(mut self, lr: f64) -> Self {
        self.options.lr = lr;
        self
    }
    /// (β₁, β₂) (default (0.9, 0.999)).
    /// PyTorch: `betas=`. Example on [`AdamBuilder`].
    pub fn betas(mut self, betas: (f64, f64)) -> Self {
        self.options.betas = betas;
        self
    }
    /// ε (default 1e-8).
    /// PyTorch: `eps=`. Example on [`AdamBuilder`].
    pub fn eps(mut self, eps: f64) -> Self {
        self.options.eps = eps;
        self
    }
    /// Weight decay λ (default 0).
    /// PyTorch: `weight_decay=`. Example on [`AdamBuilder`].
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.options.weight_decay = weight_decay;
        self
    }
    /// AMSGrad (default false).
    /// PyTorch: `amsgrad=`. Example on [`AdamBuilder`].
    pub fn amsgrad(mut self, amsgrad: bool) -> Self {
        self.options.amsgrad = amsgrad;
        self
    }
    /// Maximise instead of minimise (default false).
    /// PyTorch: `maximize=`. Example on [`AdamBuilder`].
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.options.maximize = maximize;
        self
    }
    /// Decoupled weight decay, as AdamW (default false).
    /// PyTorch: `decoupled_weight_decay=`. Example on [`AdamBuilder`].
    pub fn decoupled_weight_decay(mut self, decoupled: bool) -> Self {
        self.options.decoupled_weight_decay = decoupled;
        self
    }
    /// The optimizer.
    /// PyTorch: the `torch.optim.Adam(params, ...)` call. Example on [`AdamBuilder`].
    ///
    /// # Errors
    /// As [`Adam::new`].
    pub fn build(self) -> Result<Adam> {
        Adam::new(self.params, self.options)
    }
}

/// Adam with decoupled weight decay (Loshchilov & Hutter). PyTorch: `torch.optim.AdamW`.
///
/// The update is [`Adam`]'s, except that the weight decay shrinks the parameter before the
/// step, `p ← p·(1 − γλ)`, instead of adding `λp` to the gradient; and `weight_decay`
/// defaults to 1e-2. State per parameter as Adam's.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::{AdamW, Optimizer}};
///
/// let w = Parameter::new(Tensor::from_vec(vec![2.0], &[1]).unwrap());
/// let mut optimizer = AdamW::builder(vec![w.clone()]).lr(0.1).weight_decay(0.5).build().unwrap();
/// w.sum().backward();       // g = 1
/// optimizer.step();         // w = 2·(1 − 0.05) − 0.1·1/(1 + ε) ≈ 1.8
/// assert!((w.item() - 1.8).abs() < 1e-6);
/// ```
#[derive(Debug)]
pub struct AdamW {
    adam: Adam,
}

impl AdamW {
    /// AdamW with the given hyper-parameters (`AdamWOptions::default()` for PyTorch's).
    /// PyTorch: `torch.optim.AdamW(params, **options)`.
    ///
    /// # Errors
    /// As [`Adam::new`], with PyTorch's messages.
    pub fn new(params: Vec<Parameter>, options: AdamWOptions) -> Result<AdamW> {
        let options = AdamOptions::from(options);
        options.validate(false)?;
        Ok(AdamW { adam: Adam::unchecked(params, options)? })
    }

    /// A builder starting from PyTorch's defaults: `AdamW::builder(params).lr(0.01).build()?`.
    pub fn builder(params: Vec<Parameter>) -> AdamWBuilder {
        AdamWBuilder { params, options: AdamWOptions::default() }
    }

    /// The hyper-parameters.
    /// PyTorch: `optimizer.param_groups[0]` without `"params"`. Example on [`AdamWBuilder`].
    pub fn options(&self) -> AdamWOptions {
        AdamWOptions::from_adam(self.adam.options)
    }
}

impl Optimizer for AdamW {
    fn step(&mut self) {
        self.adam.step();
    }

    fn params(&self) -> &[Parameter] {
        &self.adam.params
    }

    fn lr(&self) -> f64 {
        self.adam.options.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.adam.options.lr = lr;
    }

    fn state_dict(&self) -> OptimizerState {
        self.adam.to_state(Hyperparameters::AdamW(self.options()))
    }

    fn load_state_dict(&mut self, state: &OptimizerState) -> Result<()> {
        let Hyperparameters::AdamW(options) = state.hyperparameters else {
            return Err(wrong_optimizer("AdamW", state));
        };
        let options = AdamOptions::from(options);
        options.validate(false)?;
        self.adam.load(state, options)
    }
}

/// Builds an [`AdamW`]; made by [`AdamW::builder`]. Each method sets the PyTorch keyword
/// argument of the same name.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::AdamW};
/// // PyTorch: torch.optim.AdamW(params, lr=3e-4, weight_decay=0.05)
/// let params = vec![Parameter::new(Tensor::zeros(&[3]))];
/// let adamw = AdamW::builder(params).lr(3e-4).weight_decay(0.05).build().unwrap();
/// assert_eq!(adamw.options().betas, (0.9, 0.999));
/// ```
#[derive(Debug)]
pub struct AdamWBuilder {
    params: Vec<Parameter>,
    options: AdamWOptions,
}

impl AdamWBuilder {
    /// Learning rate γ (default 1e-3).
    /// PyTorch: `lr=`. Example on [`AdamWBuilder`].
    pub fn lr(mut self, lr: f64) -> Self {
        self.options.lr = lr;
        self
    }
    /// (β₁, β₂) (default (0.9, 0.999)).
    /// PyTorch: `betas=`. Example on [`AdamWBuilder`].
    pub fn betas(mut self, betas: (f64, f64)) -> Self {
        self.options.betas = betas;
        self
    }
    /// ε (default 1e-8).
    /// PyTorch: `eps=`. Example on [`AdamWBuilder`].
    pub fn eps(mut self, eps: f64) -> Self {
        self.options.eps = eps;
        self
    }
    /// Decoupled weight decay λ (default 1e-2).
    /// PyTorch: `weight_decay=`. Example on [`AdamWBuilder`].
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.options.weight_decay = weight_decay;
        self
    }
    /// AMSGrad (default false).
    /// PyTorch: `amsgrad=`. Example on [`AdamWBuilder`].
    pub fn amsgrad(mut self, amsgrad: bool) -> Self {
        self.options.amsgrad = amsgrad;
        self
    }
    /// Maximise instead of minimise (default false).
    /// PyTorch: `maximize=`. Example on [`AdamWBuilder`].
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.options.maximize = maximize;
        self
    }
    /// The optimizer.
    /// PyTorch: the `torch.optim.AdamW(params, ...)` call. Example on [`AdamWBuilder`].
    ///
    /// # Errors
    /// As [`AdamW::new`].
    pub fn build(self) -> Result<AdamW> {
        AdamW::new(self.params, self.options)
    }
}
