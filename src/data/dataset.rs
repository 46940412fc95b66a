//! [`Dataset`] and [`TensorDataset`].

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A collection of `(input, target)` samples addressed by index.
/// PyTorch: `torch.utils.data.Dataset` (`__len__` and `__getitem__`).
///
/// `get_batch` stacks samples along a new first dim; a dataset that can build a batch
/// more cheaply (from one contiguous buffer, say) overrides it.
pub trait Dataset: Send + Sync {
    /// The number of samples. PyTorch: `len(dataset)`.
    fn len(&self) -> usize;

    /// Sample `index` as `(input, target)`. PyTorch: `dataset[index]`.
    ///
    /// # Panics
    /// If `index >= len()`.
    fn get(&self, index: usize) -> (Tensor, Tensor);

    /// Whether there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The samples `indices`, stacked: `(inputs, targets)` with a leading batch dim.
    /// PyTorch: the default `collate_fn`.
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
