//! Neural-network building blocks. PyTorch: `torch.nn`.
//!
//! For now this holds [`functional`], the `F.*` spellings of the ops; modules, layers,
//! losses and initialisation come with the nn work.

pub mod functional;
