//! Neural-network building blocks. PyTorch: `torch.nn`.
//!
//! * [`Module`] and [`Parameter`]: the model abstraction;
//! * [`Conv1d`], [`Conv2d`], [`Conv3d`]: convolution layers;
//! * [`functional`]: the `F.*` spellings of the ops;
//! * [`init`]: parameter initialisation.

pub mod args;
mod conv;
pub mod functional;
pub mod init;
mod module;
mod parameter;

pub use args::{IntOrTuple, Padding, PaddingArg, PaddingMode};
pub use conv::{Conv, Conv1d, Conv2d, Conv3d, ConvBuilder};
pub use module::Module;
pub use parameter::Parameter;
