//! Ops that change how the values are arranged, not the values: reshape/view, flatten,
//! unsqueeze, squeeze, permute, transpose, expand.
//!
//! Reshapes of contiguous data and permutations share the storage (no copy). Each backward
//! applies the inverse arrangement to the gradient.

use ndarray::IxDyn;

use super::normalize_dim;
use crate::autograd::{Backward, record};
use crate::tensor::{SharedArray, Tensor, check_allocation, checked_numel};

/// `x` with a new shape of the same element count, in row-major order. Shares the storage
/// when `x` is contiguous, copies it into row-major order otherwise.
pub(crate) fn reshape_array(x: &SharedArray, shape: &[usize]) -> SharedArray {
    match x.clone().into_shape_with_order(IxDyn(shape)) {
        Ok(reshaped) => reshaped,
        Err(_) => x
            .as_standard_layout()
            .into_owned()
            .into_shared()
            .into_shape_with_order(IxDyn(shape))
            .expect("same element count"),
    }
}

/// Resolves a target shape with at most one `-1` against the elements of `input` (a shape).
#[track_caller]
fn infer_shape(op: &str, shape: &[isize], input: &[usize]) -> Vec<usize> {
    let numel: usize = input.iter().product();
    let inferred: Vec<usize> = shape.iter().enumerate().filter(|(_, d)| **d == -1).map(|(i, _)| i).collect();
    assert!(
        inferred.len() <= 1,
        "{op}: only one dimension can be inferred (shape {shape:?}, input of shape {input:?})"
    );
    for &d in shape {
        assert!(d >= -1, "{op}: invalid shape dimension {d} in {shape:?} (input of shape {input:?})");
    }
    // Checked: a product that overflows is a shape no tensor of `numel` elements can take.
    let known = shape.iter().filter(|d| **d != -1).try_fold(1usize, |n, &d| n.checked_mul(d as usize));
    let invalid = || format!("{op}: shape '{shape:?}' is invalid for input of size {numel} (input of shape {input:?})");
    let known = known.unwrap_or_else(|| panic!("{}", invalid()));
    let mut out: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(&i) = inferred.first() {
        assert!(known != 0 && numel.is_multiple_of(known), "{}", invalid());
        out[i] = numel / known;
    }
    assert!(checked_numel(&out).ok() == Some(numel), "{}", invalid());
    out
}

impl Tensor {
    /// The same values with a new shape; one dim may be `-1` (inferred).
    /// PyTorch: `torch.reshape(input, shape)`.
    ///
    /// # Panics
    /// If the element counts differ (PyTorch: "shape '[3, 5]' is invalid for input of size
    /// 24") or more than one dim is `-1`.
    ///
    /// ```
    /// let x = tapegrad::Tensor::arange(0.0, 6.0, 1.0);
    /// assert_eq!(x.reshape(&[2, -1]).shape(), &[2, 3]);
    /// ```
    #[track_caller]
    pub fn reshape(&self, shape: &[isize]) -> Tensor {
        let shape = infer_shape("reshape", shape, self.shape());
        self.reshape_to(&shape, "ViewBackward0")
    }

    /// [`Tensor::reshape`] under PyTorch's other name. PyTorch: `tensor.view(shape)`; unlike
    /// PyTorch, a non-contiguous tensor is copied instead of rejected.
    ///
    /// ```
    /// let x = tapegrad::Tensor::arange(0.0, 6.0, 1.0);
    /// let v = x.view(&[3, 2]);
    /// assert_eq!((v.shape(), v.to_vec()), (&[3, 2][..], x.to_vec()));
    /// ```
    #[track_caller]
    pub fn view(&self, shape: &[isize]) -> Tensor {
        self.reshape(shape)
    }

    fn reshape_to(&self, shape: &[usize], name: &'static str) -> Tensor {
        let out = reshape_array(&self.data(), shape);
        record(out, &[self], ReshapeBackward { input_shape: self.shape().to_vec(), name })
    }

    /// Merges dims `start_dim..=end_dim` into one. PyTorch: `torch.flatten(input,
    /// start_dim=0, end_dim=-1)`; a 0-d tensor becomes 1-D.
    ///
    /// # Panics
    /// If a dim is out of range or `start_dim` comes after `end_dim`.
    ///
    /// ```
    /// let x = tapegrad::Tensor::zeros(&[2, 3, 4, 5]);
    /// assert_eq!(x.flatten(1, -1).shape(), &[2, 60]);
    /// assert_eq!(x.flatten(1, 2).shape(), &[2, 12, 5]);
    /// ```
    #[track_caller]
    pub fn flatten(&self, start_dim: isize, end_dim: isize) -> Tensor {
        let (start, end) =
            (normalize_dim("flatten", start_dim, self.dim()), normalize_dim("flatten", end_dim, self.dim()));
        assert!(
            start <= end,
            "flatten: flatten() has invalid args: start_dim cannot come after end_dim (start_dim {start_dim}, end_dim {end_dim}, shape {:?})",
            self.shape()
        );
        if self.dim() == 0 {
            return self.reshape_to(&[1], "ViewBackward0");
        }
        let shape = self.shape();
        let merged: usize = shape[start..=end].iter().product();
        let new_shape: Vec<usize> = [&shape[..start], &[merged], &shape[end + 1..]].concat();
        self.reshape_to(&new_shape, "ViewBackward0")
    }

    /// Inserts a dim of size 1 at `dim` (in `[-dim()-1, dim()]`). PyTorch: `torch.unsqueeze`.
    ///
    /// # Panics
    /// If `dim` is out of range.
    ///
    /// ```
    /// let x = tapegrad::Tensor::zeros(&[2, 3]);
    /// assert_eq!(x.unsqueeze(0).shape(), &[1, 2, 3]);
    /// assert_eq!(x.unsqueeze(-1).shape(), &[2, 3, 1]);
    /// ```
    #[track_caller]
    pub fn unsqueeze(&self, dim: isize) -> Tensor {
        let d = normalize_dim("unsqueeze", dim, self.dim() + 1);
        let mut shape = self.shape().to_vec();
        shape.insert(d, 1);
        self.reshape_to(&shape, "UnsqueezeBackward0")
    }

    /// Removes every dim of size 1. PyTorch: `torch.squeeze(input)`.
    ///
    /// ```
    /// let x = tapegrad::Tensor::zeros(&[1, 2, 1, 3]);
    /// assert_eq!(x.squeeze().shape(), &[2, 3]);
    /// ```
    pub fn squeeze(&self) -> Tensor {
        let shape: Vec<usize> = self.shape().iter().copied().filter(|&d| d != 1).collect();
        self.reshape_to(&shape, "SqueezeBackward0")
    }

    /// Removes dim `dim` if its size is 1 (otherwise returns the tensor unchanged, as
    /// PyTorch does). PyTorch: `torch.squeeze(input, dim)`.
    ///
    /// # Panics
    /// If `dim` is out of range.
    ///
    /// ```
    /// let x = tapegrad::Tensor::zeros(&[1, 2, 1]);
    /// assert_eq!(x.squeeze_dim(-1).shape(), &[1, 2]);
    /// assert_eq!(x.squeeze_dim(1).shape(), &[1, 2, 1]); // size 2: unchanged
    /// ```
    #[track_caller]
    pub fn squeeze_dim(&self, dim: isize) -> Tensor {
        let d = normalize_dim("squeeze", dim, self.dim());
        let mut shape = self.shape().to_vec();
        if self.dim() > 0 && shape[d] == 1 {
            shape.remove(d);
        }
        self.reshape_to(&shape, "SqueezeBackward1")
    }

    /// Reorders the dims: output dim `i` is input dim `dims[i]`. Shares the storage.
    /// PyTorch: `torch.permute(input, dims)`.
    ///
    /// # Panics
    /// If `dims` is not a permutation of the tensor's dims.
    ///
    /// ```
    /// let x = tapegrad::Tensor::zeros(&[2, 3, 4]);
    /// assert_eq!(x.permute(&[2, 0, 1]).shape(), &[4, 2, 3]);
    /// ```
    #[track_caller]
    pub fn permute(&self, dims: &[isize]) -> Tensor {
        assert!(
            dims.len() == self.dim(),
            "permute: number of dims don't match in permute: the tensor has {} dims (shape {:?}) but dims has {} ({dims:?})",
            self.dim(),
            self.shape(),
            dims.len()
        );
        let mut perm = Vec::with_capacity(dims.len());
        for &d in dims {
            perm.push(normalize_dim("permute", d, self.dim()));
        }
        let mut seen = vec![false; perm.len()];
        for &p in &perm {
            assert!(!seen[p], "permute: duplicate dims are not allowed ({dims:?}) (shape {:?})", self.shape());
            seen[p] = true;
        }
        let out = self.data().permuted_axes(IxDyn(&perm));
        let mut inverse = vec![0; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i;
        }
        record(out, &[self], PermuteBackward { inverse, name: "PermuteBackward0" })
    }

    /// Swaps dims `dim0` and `dim1`. Shares the storage. PyTorch: `torch.transpose`.
    ///
    /// # Panics
    /// If a dim is out of range.
    ///
    /// ```
    /// let x = tapegrad::Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// let y = x.transpose(0, 1); // yᵢⱼ = xⱼᵢ
    /// assert_eq!((y.shape(), y.to_vec()), (&[3, 2][..], vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]));
    /// ```
    #[track_caller]
    pub fn transpose(&self, dim0: isize, dim1: isize) -> Tensor {
        self.transpose_named(dim0, dim1, "TransposeBackward0")
    }

    /// [`Tensor::transpose`] recorded under `name` (`t()` is `TBackward0` in PyTorch).
    #[track_caller]
    pub(crate) fn transpose_named(&self, dim0: isize, dim1: isize, name: &'static str) -> Tensor {
        let (a, b) = (normalize_dim("transpose", dim0, self.dim()), normalize_dim("transpose", dim1, self.dim()));
        let mut perm: Vec<usize> = (0..self.dim()).collect();
        if self.dim() > 0 {
            perm.swap(a, b);
        }
        // A transposition is its own inverse.
        let out = self.data().permuted_axes(IxDyn(&perm));
        record(out, &[self], PermuteBackward { inverse: perm, name })
    }

    /// Broadcasts to `shape` (new dims at the front; `-1` keeps a dim's size). The result is
    /// materialised. PyTorch: `tensor.expand(*sizes)`.
    ///
    /// # Panics
    /// If a non-singleton dim would change size (PyTorch: "The expanded size of the tensor
    /// (4) must match the existing size (3) at non-singleton dimension 1").
    ///
    /// ```
    /// let x = tapegrad::Tensor::from_vec(vec![1.0, 2.0], &[2, 1]).unwrap();
    /// assert_eq!(x.expand(&[-1, 3]).to_vec(), vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn expand(&self, shape: &[isize]) -> Tensor {
        let own = self.shape();
        assert!(
            shape.len() >= own.len(),
            "expand: the number of sizes provided ({}) must be greater or equal to the number of dimensions in the tensor ({}); target {shape:?}, tensor {own:?}",
            shape.len(),
            own.len()
        );
        let lead = shape.len() - own.len();
        // A loop, not a closure, so that the panics keep pointing at the caller.
        let mut target = Vec::with_capacity(shape.len());
        for (i, &s) in shape.iter().enumerate() {
            if i < lead {
                assert!(
                    s >= 0,
                    "expand: The expanded size of the tensor ({s}) isn't allowed in a leading, non-existing dimension {i}.  Target sizes: {shape:?}.  Tensor sizes: {own:?}"
                );
                target.push(s as usize);
                continue;
            }
            assert!(
                s >= -1,
                "expand: The expanded size of the tensor ({s}) isn't allowed (sizes must be non-negative, or -1 to keep a dim). Target sizes: {shape:?}.  Tensor sizes: {own:?}"
            );
            let existing = own[i - lead];
            if s == -1 {
                target.push(existing);
                continue;
            }
            assert!(
                existing == 1 || s as usize == existing,
                "expand: The expanded size of the tensor ({s}) must match the existing size ({existing}) at non-singleton dimension {i}.  Target sizes: {shape:?}.  Tensor sizes: {own:?}"
            );
            target.push(s as usize);
        }
        if let Err(e) = check_allocation(&target) {
            panic!("expand: {}.  Target sizes: {shape:?}.  Tensor sizes: {own:?}", e.message());
        }
        let data = self.data();
        let out = data.broadcast(IxDyn(&target)).expect("checked above").to_owned();
        record(out, &[self], ExpandBackward)
    }
}

/// The gradient of any reshape is the gradient reshaped back. Saved: the input's shape.
struct ReshapeBackward {
    input_shape: Vec<usize>,
    name: &'static str,
}

impl Backward for ReshapeBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        vec![Some(reshape_array(grad, &self.input_shape))]
    }
}

/// The gradient of a permutation is the gradient under the inverse permutation.
struct PermuteBackward {
    inverse: Vec<usize>,
    name: &'static str,
}

impl Backward for PermuteBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        vec![Some(grad.clone().permuted_axes(IxDyn(&self.inverse)))]
    }
}

/// Expand is broadcasting: its gradient, in the expanded shape, is summed back to the
/// input's shape by the engine. Nothing saved.
struct ExpandBackward;

impl Backward for ExpandBackward {
    fn name(&self) -> &'static str {
        "ExpandBackward0"
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        vec![Some(grad.clone())]
    }
}
