//! [`Dataset`] and [`TensorDataset`].

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A collection of `(input, target)` samples addressed by index.
/// PyTorch: `torch.utils.data.Dataset` (`__len__` and `__getitem__`).
///
/// `get_batch` stacks samples along a new first dim; a dataset that can build a batch
/// more cheaply (from one contiguous buffer, say) overrides it.
///
/// ```
/// use tapegrad::{Tensor, data::Dataset};
/// /// The pairs (x, x²) for x = 0, 1, 2, ...
/// struct Squares(usize);
/// impl Dataset for Squares {
///     fn len(&self) -> usize { self.0 }
///     fn get(&self, i: usize) -> (Tensor, Tensor) {
///         (Tensor::full(&[1], i as f32), Tensor::scalar((i * i) as f32))
///     }
/// }
/// let data = Squares(5);
/// assert_eq!((data.len(), data.is_empty(), data.get(3).1.item()), (5, false, 9.0));
/// let (x, y) = data.get_batch(&[1, 4]); // the default collate: stack along dim 0
/// assert_eq!((x.shape(), y.to_vec()), (&[2, 1][..], vec![1.0, 16.0]));
/// ```
pub trait Dataset: Send + Sync {
    /// The number of samples. PyTorch: `len(dataset)`. Example on [`Dataset`].
    fn len(&self) -> usize;

    /// Sample `index` as `(input, target)`. PyTorch: `dataset[index]`. Example on [`Dataset`].
    ///
    /// # Panics
    /// If `index >= len()`.
    fn get(&self, index: usize) -> (Tensor, Tensor);

    /// Whether there are no samples. PyTorch: `len(dataset) == 0`. Example on [`Dataset`].
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The samples `indices`, stacked: `(inputs, targets)` with a leading batch dim.
    /// PyTorch: the default `collate_fn` (`default_collate`) applied to `[dataset[i] for i
    /// in indices]`. Example on [`Dataset`].
    fn get_batch(&self, indices: &[usize]) -> (Tensor, Tensor) {
        let (inputs, targets): (Vec<Tensor>, Vec<Tensor>) = indices.iter().map(|&i| self.get(i)).unzip();
        (Tensor::stack(&inputs, 0), Tensor::stack(&targets, 0))
    }
}

/// Samples taken along the first dim of two tensors. PyTorch:
/// `torch.utils.data.TensorDataset(inputs, targets)`.
///
/// ```
/// use tapegrad::{Tensor, data::{Dataset, TensorDataset}};
/// let x = Tensor::arange(0.0, 6.0, 1.0).reshape(&[3, 2]);
/// let y = Tensor::from_vec(vec![0.0, 1.0, 0.0], &[3]).unwrap();
/// let dataset = TensorDataset::new(x, y).unwrap();
/// let (input, target) = dataset.get(1);
/// assert_eq!((input.to_vec(), target.item()), (vec![2.0, 3.0], 1.0));
/// ```
pub struct TensorDataset {
    inputs: Tensor,
    targets: Tensor,
}

impl TensorDataset {
    /// Pairs `inputs[i]` with `targets[i]`.
    ///
    /// # Errors
    /// [`Error::Value`] if either is 0-d or their first dims differ (PyTorch: "Size
    /// mismatch between tensors").
    pub fn new(inputs: Tensor, targets: Tensor) -> Result<TensorDataset> {
        if inputs.dim() == 0 || targets.dim() == 0 || inputs.shape()[0] != targets.shape()[0] {
            return Err(Error::Value(format!(
                "Size mismatch between tensors: inputs {:?} and targets {:?} must have the same first dim",
                inputs.shape(),
                targets.shape()
            )));
        }
        Ok(TensorDataset { inputs: inputs.detach(), targets: targets.detach() })
    }
}

impl Dataset for TensorDataset {
    fn len(&self) -> usize {
        self.inputs.shape()[0]
    }

    fn get(&self, index: usize) -> (Tensor, Tensor) {
        assert!(index < self.len(), "TensorDataset: index {index} is out of range for {} samples", self.len());
        let pick = |t: &Tensor| t.narrow(0, index as isize, 1).squeeze_dim(0);
        (pick(&self.inputs), pick(&self.targets))
    }
}
