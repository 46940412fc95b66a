//! Neural-network building blocks. PyTorch: `torch.nn`.
//!
//! * [`Module`] and [`Parameter`]: the model abstraction;
//! * [`Conv1d`], [`Conv2d`], [`Conv3d`]: convolution layers; [`Linear`];
//! * [`functional`]: the `F.*` spellings of the ops;
//! * [`init`]: parameter initialisation.

pub mod args;
mod batchnorm;
mod conv;
mod embedding;
pub mod functional;
pub mod init;
mod linear;
pub mod loss;
mod module;
mod parameter;
mod pooling;

pub use args::{IntOrTuple, Padding, PaddingArg, PaddingMode};
pub use conv::{Conv, Conv1d, Conv2d, Conv3d, ConvBuilder};
pub use linear::Linear;
pub use module::{Module, StateDict, TrainingFlag};
pub use parameter::Parameter;
#[allow(unused_imports)] // filled in by the nn work
pub use {batchnorm::*, embedding::*, loss::*, pooling::*};
