//! Neural-network building blocks. PyTorch: `torch.nn`.
//!
//! * [`Module`] and [`Parameter`]: the model abstraction;
//! * layers: [`Conv1d`], [`Conv2d`], [`Conv3d`], [`Linear`], [`Dropout`], [`Flatten`],
//!   [`Identity`], [`Sequential`], activations ([`Relu`], [`Sigmoid`], ...), pooling,
//!   batch norm, embedding, losses;
//! * [`functional`]: the `F.*` spellings of the ops;
//! * [`init`]: parameter initialisation.

mod activation;
pub mod args;
mod batchnorm;
mod container;
mod conv;
mod dropout;
mod embedding;
pub mod functional;
pub mod init;
mod linear;
pub mod loss;
mod module;
mod parameter;
mod pooling;

pub use activation::{Gelu, LeakyRelu, LogSoftmax, Relu, Sigmoid, Softmax, Tanh};
pub use args::{IntOrTuple, Padding, PaddingArg, PaddingMode};
pub use container::{Flatten, Identity, Sequential};
pub use conv::{Conv, Conv1d, Conv2d, Conv3d, ConvBuilder};
pub use dropout::Dropout;
pub use linear::Linear;
pub use module::{Module, StateDict, TrainingFlag};
pub use parameter::Parameter;
pub use {batchnorm::*, embedding::*, loss::*, pooling::*};
