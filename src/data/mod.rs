//! Data loading. PyTorch: `torch.utils.data` and `torchvision.datasets.MNIST`.
//!
//! * [`Dataset`]: a length and an indexed `(input, target)` sample; [`TensorDataset`];
//! * [`DataLoader`]: batches, optional shuffling, a background thread that prepares the
//!   next batch while the current one trains;
//! * [`Mnist`]: the MNIST IDX format (gzipped or not), with PyTorch's usual normalisation.
//!
//! Targets are class indices stored as `f32` tensors (tapegrad tensors are `f32` only;
//! every class index up to 2²⁴ is exact), as the losses expect.

mod dataloader;
mod dataset;
mod idx;
mod mnist;

pub use dataloader::{DataLoader, DataLoaderBuilder, DataLoaderIter};
pub use dataset::{Dataset, TensorDataset};
pub use idx::{IdxArray, read_idx};
pub use mnist::{MNIST_MEAN_STD, Mnist};
