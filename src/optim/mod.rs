//! Optimisers and learning-rate schedulers. PyTorch: `torch.optim`.
//!
//! * [`Optimizer`]: the trait (`step`, `zero_grad`, `lr`/`set_lr`, `state_dict`/`load_state_dict`);
//! * [`Sgd`], [`Adam`], [`AdamW`], [`RmsProp`], [`Adagrad`]: PyTorch's `SGD`, `Adam`, `AdamW`,
//!   `RMSprop`, `Adagrad`, with PyTorch's defaults, validation messages and update rules
//!   (computed in `f32`, in PyTorch's order of operations, so trajectories agree);
//! * [`LrScheduler`]: [`StepLr`], [`MultiStepLr`], [`ExponentialLr`], [`CosineAnnealingLr`];
//! * [`OptimizerState`], [`SchedulerState`]: the serde-serialisable `state_dict()`s, to resume
//!   training exactly.
//!
//! Each optimizer takes its parameters as a `Vec<Parameter>` (for example
//! `model.parameters()`: clones of a [`Parameter`](crate::nn::Parameter) share the tensor, so
//! the model sees the updates) and its hyper-parameters either as an options struct
//! (`XxxOptions`, whose `Default` is PyTorch's) or through a builder whose methods are
//! PyTorch's keyword arguments. Every optimizer holds a single parameter group; PyTorch's
//! per-group hyper-parameters (`[{"params": ..., "lr": ...}, ...]`) are not supported yet.
//!
//! ```
//! use tapegrad::{Tensor, nn::{Linear, Module}, optim::{LrScheduler, Optimizer, Sgd, StepLr}};
//!
//! tapegrad::manual_seed(0);
//! let model = Linear::new(3, 1);
//! let mut optimizer = Sgd::builder(model.parameters(), 0.05).momentum(0.9).build().unwrap();
//! let mut scheduler = StepLr::new(&optimizer, 10).unwrap();
//! let (x, y) = (Tensor::randn(&[8, 3]), Tensor::randn(&[8, 1]));
//! for _epoch in 0..20 {
//!     optimizer.zero_grad();
//!     let loss = (model.forward(&x) - &y).pow(2.0).mean();
//!     loss.backward();
//!     optimizer.step();
//!     scheduler.step(&mut optimizer);
//! }
//! assert!((optimizer.lr() - 0.05 * 0.1 * 0.1).abs() < 1e-12);
//! ```

mod adagrad;
mod adam;
mod lr_scheduler;
mod optimizer;
mod rmsprop;
mod sgd;

pub use adagrad::{Adagrad, AdagradBuilder, AdagradOptions};
pub use adam::{Adam, AdamBuilder, AdamOptions, AdamW, AdamWBuilder, AdamWOptions};
pub use lr_scheduler::{
    CosineAnnealingLr, ExponentialLr, LrScheduler, MultiStepLr, SchedulerKind, SchedulerState, StepLr,
};
pub use optimizer::{Buffer, Hyperparameters, Optimizer, OptimizerState, ParamState};
pub use rmsprop::{RmsProp, RmsPropBuilder, RmsPropOptions};
pub use sgd::{Sgd, SgdBuilder, SgdOptions};
