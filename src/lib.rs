//! # tapegrad
//!
//! A small deep-learning framework whose API mirrors PyTorch's: an `f32` [`Tensor`] with a
//! tape-based reverse-mode autograd engine, and the ops to build and train networks with.
//! It is meant to be read: every op keeps its forward and backward side by side, and says
//! which PyTorch function it mirrors.
//!
//! ```
//! use tapegrad::Tensor;
//!
//! // PyTorch: x = torch.tensor([1., 2., 3.], requires_grad=True)
//! let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap().requires_grad_(true);
//! // y = (x ** 2).sum(); y.backward()
//! let y = x.pow(2.0).sum();
//! y.backward();
//! assert_eq!(x.grad().unwrap().to_vec(), vec![2.0, 4.0, 6.0]);
//! ```
//!
//! Modules:
//! * [`tensor`]: the [`Tensor`] handle (constructors, queries, gradient access);
//! * [`autograd`]: the engine (the tape, [`no_grad`], [`autograd::gradcheck`]);
//! * [`ops`]: the differentiable ops, one file per family;
//! * [`nn`]: neural-network pieces ([`nn::functional`] for the `F.*` spellings);
//! * [`random`]: the global generator behind [`manual_seed`].
//!
//! In the repository, `docs/pytorch-mapping.md` lists the tapegrad spelling of every PyTorch
//! name used here, and `docs/architecture.md` is a contributor's map of the engine, the tape
//! and the convolution (`docs/design.md` records the decisions behind them).

#![deny(missing_docs)]

pub mod autograd;
pub mod data;
pub mod error;
pub mod models;
pub mod nn;
pub mod ops;
pub mod optim;
pub mod random;
pub mod serialize;
pub mod tensor;

/// The tutorial (`docs/tutorial`, `docs/zh/tutorial`), compiled only for doc tests: every Rust
/// code block of every chapter runs under `cargo test`. `build.rs` lists the chapters.
#[cfg(doctest)]
pub mod tutorial {
    include!(concat!(env!("OUT_DIR"), "/tutorial_doctests.rs"));
}

pub use autograd::{is_grad_enabled, no_grad, set_grad_enabled};
pub use error::{Error, Result};
pub use ops::Dims;
pub use random::manual_seed;
pub use serialize::{load, save};
pub use tensor::{SharedArray, Tensor};
