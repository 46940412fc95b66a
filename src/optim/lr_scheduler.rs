//! Learning-rate schedulers: [`StepLr`], [`MultiStepLr`], [`ExponentialLr`] and
//! [`CosineAnnealingLr`]. PyTorch: `torch.optim.lr_scheduler`.
//!
//! As in PyTorch, a scheduler is made after its optimizer (it remembers the optimizer's
//! learning rate as `base_lr`, and `last_epoch` starts at 0), and `scheduler.step()` is
//! called after `optimizer.step()`, once per epoch (or per iteration, as the user decides).
//! Each `step` computes the new rate from the optimizer's *current* rate (PyTorch's
//! "chainable" form), so a rate changed by hand is carried on from. The scheduler does not
//! hold the optimizer (Rust's borrow rules): `step` takes it as an argument.

use serde::{Deserialize, Serialize};

use super::Optimizer;
use crate::error::{Error, Result};

/// Something that sets an optimizer's learning rate as training proceeds.
/// PyTorch: `torch.optim.lr_scheduler.LRScheduler`.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::{LrScheduler, Optimizer, Sgd, StepLr}};
///
/// let w = Parameter::new(Tensor::zeros(&[1]));
/// let mut optimizer = Sgd::new(vec![w.clone()], 0.1).unwrap();
/// let mut scheduler = StepLr::new(&optimizer, 2).unwrap().gamma(0.5);
/// let mut lrs = Vec::new();
/// for _epoch in 0..5 {
///     lrs.push(optimizer.lr());
///     // ... zero_grad, forward, backward ...
///     optimizer.step();
///     scheduler.step(&mut optimizer);
/// }
/// assert_eq!(lrs, [0.1, 0.1, 0.05, 0.05, 0.025]);
/// assert_eq!(scheduler.get_last_lr(), [0.025]); // epoch 5 is not a multiple of 2
/// ```
pub trait LrScheduler {
    /// Advances `last_epoch` by one and sets the optimizer's learning rate for it.
    /// PyTorch: `scheduler.step()`, called after `optimizer.step()`.
    fn step(&mut self, optimizer: &mut dyn Optimizer);

    /// The learning rate set by the last `step` (or at construction), one per parameter
    /// group (always one here). PyTorch: `scheduler.get_last_lr()`.
    fn get_last_lr(&self) -> Vec<f64>;

    /// How many times `step` has been called. PyTorch: `scheduler.last_epoch`.
    fn last_epoch(&self) -> usize;

    /// Everything needed to resume the schedule. PyTorch: `scheduler.state_dict()`.
    fn state_dict(&self) -> SchedulerState;

    /// Restores a state saved by [`LrScheduler::state_dict`], hyper-parameters included.
    /// The optimizer's learning rate comes back with the optimizer's own state.
    /// PyTorch: `scheduler.load_state_dict(state_dict)`.
    ///
    /// # Errors
    /// [`Error::Value`] for a state saved by another kind of scheduler, with other than one
    /// learning rate, or with an invalid hyper-parameter.
    fn load_state_dict(&mut self, state: &SchedulerState) -> Result<()>;
}

/// The saved state of a scheduler: PyTorch's `scheduler.state_dict()` (its `__dict__`
/// without the optimizer), as a serde type.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::{ExponentialLr, LrScheduler, Sgd, SchedulerState}};
///
/// let mut optimizer = Sgd::new(vec![Parameter::new(Tensor::zeros(&[1]))], 1.0).unwrap();
/// let mut scheduler = ExponentialLr::new(&optimizer, 0.5);
/// scheduler.step(&mut optimizer);
/// let json = serde_json::to_string(&scheduler.state_dict()).unwrap();
/// let state: SchedulerState = serde_json::from_str(&json).unwrap();
/// assert_eq!((state.last_epoch, state.last_lr.clone()), (1, vec![0.5]));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchedulerState {
    /// Which scheduler, and its hyper-parameters.
    pub scheduler: SchedulerKind,
    /// The optimizer's learning rate when the scheduler was made. PyTorch: `base_lrs`.
    pub base_lrs: Vec<f64>,
    /// How many times `step` was called. PyTorch: `last_epoch`.
    pub last_epoch: usize,
    /// The learning rate set last. PyTorch: `_last_lr`.
    pub last_lr: Vec<f64>,
}

/// A scheduler's kind and hyper-parameters, tagged with its PyTorch class name
/// (`{"name": "StepLR", "step_size": 3, "gamma": 0.5}` in JSON).
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::{LrScheduler, SchedulerKind, Sgd, StepLr}};
/// let sgd = Sgd::new(vec![Parameter::new(Tensor::zeros(&[1]))], 0.1).unwrap();
/// let scheduler = StepLr::new(&sgd, 3).unwrap().gamma(0.5);
/// assert_eq!(scheduler.state_dict().scheduler, SchedulerKind::StepLr { step_size: 3, gamma: 0.5 });
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name")]
pub enum SchedulerKind {
    /// [`StepLr`].
    #[serde(rename = "StepLR")]
    StepLr {
        /// Epochs between decays.
        step_size: usize,
        /// Decay factor.
        gamma: f64,
    },
    /// [`MultiStepLr`].
    #[serde(rename = "MultiStepLR")]
    MultiStepLr {
        /// The epochs at which to decay.
        milestones: Vec<usize>,
        /// Decay factor.
        gamma: f64,
    },
    /// [`ExponentialLr`].
    #[serde(rename = "ExponentialLR")]
    ExponentialLr {
        /// Decay factor per epoch.
        gamma: f64,
    },
    /// [`CosineAnnealingLr`].
    #[serde(rename = "CosineAnnealingLR")]
    CosineAnnealingLr {
        /// Half-period in epochs.
        #[serde(rename = "T_max")]
        t_max: usize,
        /// Minimum learning rate.
        eta_min: f64,
    },
}

impl SchedulerKind {
    fn name(&self) -> &'static str {
        match self {
            SchedulerKind::StepLr { .. } => "StepLR",
            SchedulerKind::MultiStepLr { .. } => "MultiStepLR",
            SchedulerKind::ExponentialLr { .. } => "ExponentialLR",
            SchedulerKind::CosineAnnealingLr { .. } => "CosineAnnealingLR",
        }
    }
}

/// What every scheduler tracks: PyTorch's `base_lrs`, `last_epoch` and `_last_lr` for
/// the one parameter group.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Progress {
    base_lr: f64,
    last_epoch: usize,
    last_lr: f64,
}

impl Progress {
    /// PyTorch's constructor: `base_lr` is the optimizer's rate, `last_epoch` becomes 0
    /// (the initial `step()`, which leaves the rate as it is).
    fn start(optimizer: &dyn Optimizer) -> Progress {
        Progress { base_lr: optimizer.lr(), last_epoch: 0, last_lr: optimizer.lr() }
    }

    /// PyTorch's `step()`: `last_epoch += 1`, then `lr = rule(last_epoch, current lr, base lr)`.
    fn advance(&mut self, optimizer: &mut dyn Optimizer, rule: impl FnOnce(usize, f64, f64) -> f64) {
        self.last_epoch += 1;
        let lr = rule(self.last_epoch, optimizer.lr(), self.base_lr);
        optimizer.set_lr(lr);
        self.last_lr = lr;
    }

    fn save(&self, scheduler: SchedulerKind) -> SchedulerState {
        SchedulerState {
            scheduler,
            base_lrs: vec![self.base_lr],
            last_epoch: self.last_epoch,
            last_lr: vec![self.last_lr],
        }
    }

    fn load(state: &SchedulerState) -> Result<Progress> {
        match (state.base_lrs.as_slice(), state.last_lr.as_slice()) {
            (&[base_lr], &[last_lr]) => Ok(Progress { base_lr, last_epoch: state.last_epoch, last_lr }),
            _ => Err(Error::Value(format!(
                "loaded scheduler state has {} base_lrs and {} last_lr values, but the optimizer has one parameter group",
                state.base_lrs.len(),
                state.last_lr.len()
            ))),
        }
    }
}

fn wrong_scheduler(expected: &str, state: &SchedulerState) -> Error {
    Error::Value(format!("loaded scheduler state is for {}, but this scheduler is {expected}", state.scheduler.name()))
}

fn check_positive(scheduler: &str, name: &str, value: usize) -> Result<()> {
    // PyTorch would fail later, dividing by zero in `step()`; here the configuration is rejected.
    if value == 0 { Err(Error::Value(format!("{scheduler}: {name} must be at least 1, got 0"))) } else { Ok(()) }
}

/// Multiplies the learning rate by `gamma` every `step_size` epochs.
/// PyTorch: `torch.optim.lr_scheduler.StepLR(optimizer, step_size, gamma=0.1)`.
///
/// Closed form: `lr(e) = base_lr · γ^⌊e / step_size⌋`. PyTorch computes it step by step:
/// `lr ← lr·γ` when `e > 0` and `e % step_size == 0`.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::{LrScheduler, Sgd, StepLr}};
///
/// let mut optimizer = Sgd::new(vec![Parameter::new(Tensor::zeros(&[1]))], 1.0).unwrap();
/// let mut scheduler = StepLr::new(&optimizer, 2).unwrap(); // gamma 0.1
/// let lrs: Vec<f64> = (0..4).map(|_| { scheduler.step(&mut optimizer); scheduler.get_last_lr()[0] }).collect();
/// assert_eq!(lrs, [1.0, 0.1, 0.1, 0.1 * 0.1]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StepLr {
    step_size: usize,
    gamma: f64,
    progress: Progress,
}

impl StepLr {
    /// A schedule for `optimizer` that decays every `step_size` epochs by PyTorch's default
    /// `gamma = 0.1` (change it with [`StepLr::gamma`]). PyTorch: `StepLR(optimizer,
    /// step_size)`. Example on [`StepLr`].
    ///
    /// # Errors
    /// [`Error::Value`] when `step_size` is 0.
    pub fn new(optimizer: &dyn Optimizer, step_size: usize) -> Result<StepLr> {
        check_positive("StepLR", "step_size", step_size)?;
        Ok(StepLr { step_size, gamma: 0.1, progress: Progress::start(optimizer) })
    }

    /// Sets the decay factor γ (PyTorch's `gamma` keyword argument).
    pub fn gamma(mut self, gamma: f64) -> StepLr {
        self.gamma = gamma;
        self
    }
}

impl LrScheduler for StepLr {
    fn step(&mut self, optimizer: &mut dyn Optimizer) {
        let (step_size, gamma) = (self.step_size, self.gamma);
        self.progress.advance(optimizer, |epoch, lr, _| if epoch % step_size == 0 { lr * gamma } else { lr });
    }

    fn get_last_lr(&self) -> Vec<f64> {
        vec![self.progress.last_lr]
    }

    fn last_epoch(&self) -> usize {
        self.progress.last_epoch
    }

    fn state_dict(&self) -> SchedulerState {
        self.progress.save(SchedulerKind::StepLr { step_size: self.step_size, gamma: self.gamma })
    }

    fn load_state_dict(&mut self, state: &SchedulerState) -> Result<()> {
        let SchedulerKind::StepLr { step_size, gamma } = state.scheduler else {
            return Err(wrong_scheduler("StepLR", state));
        };
        check_positive("StepLR", "step_size", step_size)?;
        *self = StepLr { step_size, gamma, progress: Progress::load(state)? };
        Ok(())
    }
}

/// Multiplies the learning rate by `gamma` at each milestone epoch.
/// PyTorch: `torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.1)`.
///
/// Closed form: `lr(e) = base_lr · γ^(number of milestones ≤ e)`. Step by step, as PyTorch:
/// at an epoch listed k times, `lr ← lr·γᵏ`.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::{LrScheduler, MultiStepLr, Sgd}};
///
/// let mut optimizer = Sgd::new(vec![Parameter::new(Tensor::zeros(&[1]))], 1.0).unwrap();
/// let mut scheduler = MultiStepLr::new(&optimizer, vec![1, 3]).gamma(0.5);
/// let lrs: Vec<f64> = (0..4).map(|_| { scheduler.step(&mut optimizer); scheduler.get_last_lr()[0] }).collect();
/// assert_eq!(lrs, [0.5, 0.5, 0.25, 0.25]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MultiStepLr {
    milestones: Vec<usize>,
    gamma: f64,
    progress: Progress,
}

impl MultiStepLr {
    /// A schedule for `optimizer` that decays at each of `milestones` (in any order; an
    /// epoch listed twice decays twice) by PyTorch's default `gamma = 0.1`. PyTorch:
    /// `MultiStepLR(optimizer, milestones)`. Example on [`MultiStepLr`].
    pub fn new(optimizer: &dyn Optimizer, milestones: Vec<usize>) -> MultiStepLr {
        MultiStepLr { milestones, gamma: 0.1, progress: Progress::start(optimizer) }
    }

    /// Sets the decay factor γ (PyTorch's `gamma` keyword argument).
    pub fn gamma(mut self, gamma: f64) -> MultiStepLr {
        self.gamma = gamma;
        self
    }
}

impl LrScheduler for MultiStepLr {
    fn step(&mut self, optimizer: &mut dyn Optimizer) {
        let (milestones, gamma) = (&self.milestones, self.gamma);
        self.progress.advance(optimizer, |epoch, lr, _| {
            // PyTorch keeps the milestones in a Counter: `lr * gamma ** milestones[epoch]`.
            match milestones.iter().filter(|&&m| m == epoch).count() {
                0 => lr,
                count => lr * gamma.powf(count as f64),
            }
        });
    }

    fn get_last_lr(&self) -> Vec<f64> {
        vec![self.progress.last_lr]
    }

    fn last_epoch(&self) -> usize {
        self.progress.last_epoch
    }

    fn state_dict(&self) -> SchedulerState {
        self.progress.save(SchedulerKind::MultiStepLr { milestones: self.milestones.clone(), gamma: self.gamma })
    }

    fn load_state_dict(&mut self, state: &SchedulerState) -> Result<()> {
        let SchedulerKind::MultiStepLr { milestones, gamma } = &state.scheduler else {
            return Err(wrong_scheduler("MultiStepLR", state));
        };
        *self = MultiStepLr { milestones: milestones.clone(), gamma: *gamma, progress: Progress::load(state)? };
        Ok(())
    }
}

/// Multiplies the learning rate by `gamma` every epoch.
/// PyTorch: `torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma)`.
///
/// Closed form: `lr(e) = base_lr · γᵉ`; step by step, `lr ← lr·γ`.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::{ExponentialLr, LrScheduler, Sgd}};
///
/// let mut optimizer = Sgd::new(vec![Parameter::new(Tensor::zeros(&[1]))], 1.0).unwrap();
/// let mut scheduler = ExponentialLr::new(&optimizer, 0.5);
/// scheduler.step(&mut optimizer);
/// scheduler.step(&mut optimizer);
/// assert_eq!(scheduler.get_last_lr(), [0.25]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ExponentialLr {
    gamma: f64,
    progress: Progress,
}

impl ExponentialLr {
    /// A schedule for `optimizer` that multiplies the rate by `gamma` each epoch:
    /// `lr(e) = base_lr·γᵉ`. PyTorch: `ExponentialLR(optimizer, gamma)`. Example on
    /// [`ExponentialLr`].
    pub fn new(optimizer: &dyn Optimizer, gamma: f64) -> ExponentialLr {
        ExponentialLr { gamma, progress: Progress::start(optimizer) }
    }
}

impl LrScheduler for ExponentialLr {
    fn step(&mut self, optimizer: &mut dyn Optimizer) {
        let gamma = self.gamma;
        self.progress.advance(optimizer, |_, lr, _| lr * gamma);
    }

    fn get_last_lr(&self) -> Vec<f64> {
        vec![self.progress.last_lr]
    }

    fn last_epoch(&self) -> usize {
        self.progress.last_epoch
    }

    fn state_dict(&self) -> SchedulerState {
        self.progress.save(SchedulerKind::ExponentialLr { gamma: self.gamma })
    }

    fn load_state_dict(&mut self, state: &SchedulerState) -> Result<()> {
        let SchedulerKind::ExponentialLr { gamma } = state.scheduler else {
            return Err(wrong_scheduler("ExponentialLR", state));
        };
        *self = ExponentialLr { gamma, progress: Progress::load(state)? };
        Ok(())
    }
}

/// Anneals the learning rate from `base_lr` to `eta_min` along a cosine over `T_max`
/// epochs. PyTorch: `torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max,
/// eta_min=0.0)`.
///
/// Closed form: `lr(e) = η_min + (base_lr − η_min)·(1 + cos(π·e / T_max)) / 2`. Like
/// PyTorch, the schedule does not stop at `T_max`: it climbs back up, with period
/// `2·T_max` (use it for `T_max` epochs, or see SGDR for restarts). PyTorch computes it
/// recursively, from the current rate, and so does this:
///
/// ```text
/// e = 0:                               lr
/// (e − 1 − T_max) mod 2·T_max = 0:     lr + (base_lr − η_min)·(1 − cos(π / T_max)) / 2
/// otherwise:                           (1 + cos(π·e/T_max)) / (1 + cos(π·(e − 1)/T_max))·(lr − η_min) + η_min
/// ```
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::{CosineAnnealingLr, LrScheduler, Optimizer, Sgd}};
///
/// let mut optimizer = Sgd::new(vec![Parameter::new(Tensor::zeros(&[1]))], 1.0).unwrap();
/// let mut scheduler = CosineAnnealingLr::new(&optimizer, 2).unwrap();
/// scheduler.step(&mut optimizer);
/// assert!((optimizer.lr() - 0.5).abs() < 1e-12); // halfway down
/// scheduler.step(&mut optimizer);
/// assert!(optimizer.lr().abs() < 1e-12); // eta_min at T_max
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CosineAnnealingLr {
    t_max: usize,
    eta_min: f64,
    progress: Progress,
}

impl CosineAnnealingLr {
    /// A schedule for `optimizer` with half-period `t_max` (PyTorch's `T_max`) and
    /// PyTorch's default `eta_min = 0` (change it with [`CosineAnnealingLr::eta_min`]).
    /// PyTorch: `CosineAnnealingLR(optimizer, T_max)`. Example on [`CosineAnnealingLr`].
    ///
    /// # Errors
    /// [`Error::Value`] when `t_max` is 0.
    pub fn new(optimizer: &dyn Optimizer, t_max: usize) -> Result<CosineAnnealingLr> {
        check_positive("CosineAnnealingLR", "T_max", t_max)?;
        Ok(CosineAnnealingLr { t_max, eta_min: 0.0, progress: Progress::start(optimizer) })
    }

    /// Sets the minimum learning rate η_min (PyTorch's `eta_min` keyword argument).
    pub fn eta_min(mut self, eta_min: f64) -> CosineAnnealingLr {
        self.eta_min = eta_min;
        self
    }
}

impl LrScheduler for CosineAnnealingLr {
    fn step(&mut self, optimizer: &mut dyn Optimizer) {
        let (t_max_epochs, eta_min) = (self.t_max as i64, self.eta_min);
        let t_max = t_max_epochs as f64;
        self.progress.advance(optimizer, |epoch, lr, base_lr| {
            let e = epoch as f64;
            // The same expressions, in the same order, as PyTorch's `get_lr` (Python's `%`
            // is `rem_euclid`).
            if (epoch as i64 - 1 - t_max_epochs).rem_euclid(2 * t_max_epochs) == 0 {
                lr + (base_lr - eta_min) * (1.0 - (std::f64::consts::PI / t_max).cos()) / 2.0
            } else {
                (1.0 + (std::f64::consts::PI * e / t_max).cos())
                    / (1.0 + (std::f64::consts::PI * (e - 1.0) / t_max).cos())
                    * (lr - eta_min)
                    + eta_min
            }
        });
    }

    fn get_last_lr(&self) -> Vec<f64> {
        vec![self.progress.last_lr]
    }

    fn last_epoch(&self) -> usize {
        self.progress.last_epoch
    }

    fn state_dict(&self) -> SchedulerState {
        self.progress.save(SchedulerKind::CosineAnnealingLr { t_max: self.t_max, eta_min: self.eta_min })
    }

    fn load_state_dict(&mut self, state: &SchedulerState) -> Result<()> {
        let SchedulerKind::CosineAnnealingLr { t_max, eta_min } = state.scheduler else {
            return Err(wrong_scheduler("CosineAnnealingLR", state));
        };
        check_positive("CosineAnnealingLR", "T_max", t_max)?;
        *self = CosineAnnealingLr { t_max, eta_min, progress: Progress::load(state)? };
        Ok(())
    }
}
