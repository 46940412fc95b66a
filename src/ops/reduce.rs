//! Sum and mean, over all elements or over a list of dims, with `keepdim`.

use ndarray::{ArrayD, Axis, IxDyn};

use super::Dims;
use super::shape::reshape_array;
use crate::autograd::{Backward, record};
use crate::tensor::{SharedArray, Tensor};

/// The shape with every reduced dim set to 1 (what `keepdim=True` gives).
pub(crate) fn keepdim_shape(shape: &[usize], dims: &[usize]) -> Vec<usize> {
    shape.iter().enumerate().map(|(i, &s)| if dims.contains(&i) { 1 } else { s }).collect()
}

/// Sums `x` over `dims` (sorted, in range), keeping them as size-1 dims or not.
pub(crate) fn sum_dims(x: &SharedArray, dims: &[usize], keepdim: bool) -> SharedArray {
    let mut out = x.to_owned();
    for &d in dims.iter().rev() {
        out = out.sum_axis(Axis(d));
    }
    let out = out.into_shared();
    if keepdim { reshape_array(&out, &keepdim_shape(x.shape(), dims)) } else { out }
}

/// The dims a reduction works on: all of them when none are given, as PyTorch's
/// `sum(dim=[])` and `sum()` both do.
#[track_caller]
pub(crate) fn reduction_dims(op: &str, dims: &Dims, ndim: usize) -> Vec<usize> {
    let dims = dims.resolve(op, ndim);
    if dims.is_empty() { (0..ndim).collect() } else { dims }
}

impl Tensor {
    /// The sum of all elements `Σᵢ xᵢ`, as a 0-d tensor; every element's gradient is 1.
    /// PyTorch: `torch.sum(input)` / `Tensor.sum()`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let x = Tensor::arange(1.0, 5.0, 1.0).requires_grad_(true);
    /// let s = x.sum();
    /// assert_eq!((s.shape(), s.item()), (&[][..], 10.0)); // 1 + 2 + 3 + 4
    /// s.backward();
    /// assert_eq!(x.grad().unwrap().to_vec(), vec![1.0; 4]);
    /// ```
    pub fn sum(&self) -> Tensor {
        let x = self.data();
        let out = ndarray::arr0(x.sum()).into_dyn();
        record(
            out.into_shared(),
            &[self],
            SumBackward {
                input_shape: self.shape().to_vec(),
                dims: (0..self.dim()).collect(),
                scale: 1.0,
                name: "SumBackward0",
            },
        )
    }

    /// The sum over `dim` (one dim or several), keeping them as size 1 if `keepdim`.
    /// PyTorch: `torch.sum(input, dim, keepdim=False)`.
    ///
    /// # Panics
    /// If a dim is out of range or repeated.
    ///
    /// ```
    /// let x = tapegrad::Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// assert_eq!(x.sum_dim(0, false).to_vec(), vec![5.0, 7.0, 9.0]); // column sums
    /// let rows = x.sum_dim(1, true);
    /// assert_eq!((rows.shape(), rows.to_vec()), (&[2, 1][..], vec![6.0, 15.0]));
    /// ```
    #[track_caller]
    pub fn sum_dim(&self, dim: impl Into<Dims>, keepdim: bool) -> Tensor {
        let dims = reduction_dims("sum", &dim.into(), self.dim());
        let out = sum_dims(&self.data(), &dims, keepdim);
        record(out, &[self], SumBackward { input_shape: self.shape().to_vec(), dims, scale: 1.0, name: "SumBackward1" })
    }

    /// The mean of all elements `(1/n)·Σᵢ xᵢ`, as a 0-d tensor (NaN for an empty tensor);
    /// every element's gradient is `1/n`. PyTorch: `torch.mean(input)` / `Tensor.mean()`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let x = Tensor::arange(1.0, 5.0, 1.0).requires_grad_(true);
    /// let m = x.mean();
    /// assert_eq!(m.item(), 2.5); // (1 + 2 + 3 + 4) / 4
    /// m.backward();
    /// assert_eq!(x.grad().unwrap().to_vec(), vec![0.25; 4]);
    /// ```
    pub fn mean(&self) -> Tensor {
        let x = self.data();
        let scale = 1.0 / self.numel() as f32;
        let out = ndarray::arr0(x.sum() * scale).into_dyn();
        record(
            out.into_shared(),
            &[self],
            SumBackward {
                input_shape: self.shape().to_vec(),
                dims: (0..self.dim()).collect(),
                scale,
                name: "MeanBackward0",
            },
        )
    }

    /// The mean over `dim` (one dim or several). PyTorch: `torch.mean(input, dim,
    /// keepdim=False)`.
    ///
    /// # Panics
    /// If a dim is out of range or repeated.
    ///
    /// ```
    /// let x = tapegrad::Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// assert_eq!(x.mean_dim(1, false).to_vec(), vec![2.0, 5.0]); // row means
    /// assert_eq!(x.mean_dim([0, 1], true).shape(), &[1, 1]);
    /// ```
    #[track_caller]
    pub fn mean_dim(&self, dim: impl Into<Dims>, keepdim: bool) -> Tensor {
        let dims = reduction_dims("mean", &dim.into(), self.dim());
        let count: usize = dims.iter().map(|&d| self.shape()[d]).product();
        let scale = 1.0 / count as f32;
        let out = sum_dims(&self.data(), &dims, keepdim).mapv(|v| v * scale).into_shared();
        record(out, &[self], SumBackward { input_shape: self.shape().to_vec(), dims, scale, name: "MeanBackward1" })
    }
}

/// d(scale·Σx)/dx = scale for every element that went into the sum: the gradient is
/// broadcast back over the reduced dims. Saved: the input's shape, the dims, the scale
/// (1 for sum, 1/count for mean).
struct SumBackward {
    input_shape: Vec<usize>,
    dims: Vec<usize>,
    scale: f32,
    name: &'static str,
}

impl Backward for SumBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        // Scale the (small) reduced gradient, then spread it over the input's shape.
        let scale = self.scale;
        let kept = reshape_array(grad, &keepdim_shape(&self.input_shape, &self.dims)).mapv(|g| g * scale);
        let expanded = kept.broadcast(IxDyn(&self.input_shape)).expect("reduced shape broadcasts back");
        let values = super::contiguous(&expanded).into_owned();
        vec![Some(ArrayD::from_shape_vec(IxDyn(&self.input_shape), values).expect("input shape").into_shared())]
    }
}
