//! Maximum and minimum reductions: `max`/`min` (all elements, or along a dim with
//! indices), `amax`/`amin` over a list of dims, `argmax`/`argmin`.
//!
//! Indices are `ndarray::ArrayD<i64>`, PyTorch's `int64` (tensors in this crate hold `f32`,
//! and indices are not differentiable). NaN counts as the largest and the smallest value,
//! as in PyTorch; ties go to the first index.

use ndarray::{ArrayD, Axis, IxDyn, Zip};

use super::Dims;
use super::arith::broadcast_zip;
use super::normalize_dim;
use super::reduce::{keepdim_shape, reduction_dims, sum_dims};
use super::shape::reshape_array;
use crate::autograd::{Backward, record};
use crate::tensor::{SharedArray, Tensor};

/// Whether `candidate` beats `best` for a max (`sign = 1`) or a min (`sign = −1`); NaN wins.
fn beats(candidate: f32, best: f32, sign: f32) -> bool {
    !best.is_nan() && (candidate.is_nan() || sign * (candidate - best) > 0.0)
}

/// Index and value of the max (`sign = 1`) or min (`sign = −1`) of a lane; first on ties.
fn extreme_of<'a>(lane: impl Iterator<Item = &'a f32>, sign: f32) -> (usize, f32) {
    let mut best = (0, f32::NAN);
    for (i, &v) in lane.enumerate() {
        if i == 0 || beats(v, best.1, sign) {
            best = (i, v);
        }
    }
    best
}

impl Tensor {
    /// The largest element `maxᵢ xᵢ`, as a 0-d tensor. PyTorch: `torch.max(input)`. On ties
    /// the gradient is shared evenly, as in PyTorch.
    ///
    /// # Panics
    /// On an empty tensor.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 3.0, 3.0], &[3]).unwrap().requires_grad_(true);
    /// let m = x.max();
    /// assert_eq!(m.item(), 3.0);
    /// m.backward();
    /// assert_eq!(x.grad().unwrap().to_vec(), vec![0.0, 0.5, 0.5]); // a tie: half each
    /// ```
    #[track_caller]
    pub fn max(&self) -> Tensor {
        self.extreme_all("max", 1.0, "MaxBackward1")
    }

    /// The smallest element `minᵢ xᵢ`, as a 0-d tensor. PyTorch: `torch.min(input)`.
    /// On ties the gradient is shared evenly.
    ///
    /// # Panics
    /// On an empty tensor.
    ///
    /// ```
    /// let x = tapegrad::Tensor::from_vec(vec![4.0, -1.0, 2.0], &[3]).unwrap();
    /// assert_eq!(x.min().item(), -1.0);
    /// ```
    #[track_caller]
    pub fn min(&self) -> Tensor {
        self.extreme_all("min", -1.0, "MinBackward1")
    }

    #[track_caller]
    fn extreme_all(&self, op: &str, sign: f32, name: &'static str) -> Tensor {
        assert!(
            self.numel() > 0,
            "{op}: Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument. (shape {:?})",
            self.shape()
        );
        let dims: Vec<usize> = (0..self.dim()).collect();
        self.amax_impl(&dims, false, sign, name)
    }

    /// The maximum over `dim` (one or several dims). PyTorch: `torch.amax(input, dim,
    /// keepdim=False)`. On ties the gradient is shared evenly among the maxima.
    ///
    /// # Panics
    /// If a dim is out of range or repeated, or a reduced dim is empty.
    ///
    /// ```
    /// let x = tapegrad::Tensor::from_vec(vec![1.0, 5.0, 2.0, 7.0, 0.0, 3.0], &[2, 3]).unwrap();
    /// assert_eq!(x.amax(1, false).to_vec(), vec![5.0, 7.0]);
    /// assert_eq!(x.amax([0, 1], false).item(), 7.0);
    /// ```
    #[track_caller]
    pub fn amax(&self, dim: impl Into<Dims>, keepdim: bool) -> Tensor {
        let dims = reduction_dims("amax", &dim.into(), self.dim());
        self.amax_impl(&dims, keepdim, 1.0, "AmaxBackward0")
    }

    /// The minimum over `dim` (one or several dims). PyTorch: `torch.amin(input, dim,
    /// keepdim=False)`. On ties the gradient is shared evenly among the minima.
    ///
    /// # Panics
    /// If a dim is out of range or repeated, or a reduced dim is empty.
    ///
    /// ```
    /// let x = tapegrad::Tensor::from_vec(vec![1.0, 5.0, 2.0, 7.0, 0.0, 3.0], &[2, 3]).unwrap();
    /// assert_eq!(x.amin(0, true).to_vec(), vec![1.0, 0.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn amin(&self, dim: impl Into<Dims>, keepdim: bool) -> Tensor {
        let dims = reduction_dims("amin", &dim.into(), self.dim());
        self.amax_impl(&dims, keepdim, -1.0, "AminBackward0")
    }

    #[track_caller]
    fn amax_impl(&self, dims: &[usize], keepdim: bool, sign: f32, name: &'static str) -> Tensor {
        let x = self.data();
        for &d in dims {
            assert!(
                x.shape()[d] > 0,
                "{}: Expected reduction dim {d} to have non-zero size (shape {:?})",
                name.trim_end_matches("Backward0").trim_end_matches("Backward1").to_lowercase(),
                x.shape()
            );
        }
        let mut kept = x.to_owned();
        for &d in dims.iter().rev() {
            kept = kept.map_axis(Axis(d), |lane| extreme_of(lane.iter(), sign).1).insert_axis(Axis(d));
        }
        let kept = kept.into_shared();
        let out_shape: Vec<usize> = if keepdim {
            kept.shape().to_vec()
        } else {
            x.shape().iter().enumerate().filter(|(i, _)| !dims.contains(i)).map(|(_, &s)| s).collect()
        };
        let out = reshape_array(&kept, &out_shape);
        record(out, &[self], AmaxBackward { input: x, extreme: kept, dims: dims.to_vec(), name })
    }

    /// The maximum along `dim` and the index where it occurs (the first one on ties).
    /// PyTorch: `torch.max(input, dim, keepdim=False)` → `(values, indices)`.
    ///
    /// # Panics
    /// If `dim` is out of range or empty.
    ///
    /// ```
    /// let x = tapegrad::Tensor::from_vec(vec![1.0, 5.0, 2.0, 7.0, 0.0, 3.0], &[2, 3]).unwrap();
    /// let (values, indices) = x.max_dim(1, false);
    /// assert_eq!(values.to_vec(), vec![5.0, 7.0]);
    /// assert_eq!(indices.into_raw_vec_and_offset().0, vec![1, 0]);
    /// ```
    #[track_caller]
    pub fn max_dim(&self, dim: isize, keepdim: bool) -> (Tensor, ArrayD<i64>) {
        self.extreme_dim("max", dim, keepdim, 1.0, "MaxBackward0")
    }

    /// The minimum along `dim` and its index (the first one on ties); the gradient goes to
    /// that index. PyTorch: `torch.min(input, dim, keepdim=False)` → `(values, indices)`.
    ///
    /// # Panics
    /// If `dim` is out of range or empty.
    ///
    /// ```
    /// let x = tapegrad::Tensor::from_vec(vec![1.0, 5.0, 2.0, 7.0, 0.0, 3.0], &[2, 3]).unwrap();
    /// let (values, indices) = x.min_dim(1, true);
    /// assert_eq!((values.shape(), values.to_vec()), (&[2, 1][..], vec![1.0, 0.0]));
    /// assert_eq!(indices.into_raw_vec_and_offset().0, vec![0, 1]);
    /// ```
    #[track_caller]
    pub fn min_dim(&self, dim: isize, keepdim: bool) -> (Tensor, ArrayD<i64>) {
        self.extreme_dim("min", dim, keepdim, -1.0, "MinBackward0")
    }

    #[track_caller]
    fn extreme_dim(&self, op: &str, dim: isize, keepdim: bool, sign: f32, name: &'static str) -> (Tensor, ArrayD<i64>) {
        let x = self.data();
        if x.ndim() == 0 {
            normalize_dim(op, dim, 0);
            return (self.reshape(&[]), ArrayD::zeros(IxDyn(&[])));
        }
        let axis = normalize_dim(op, dim, x.ndim());
        assert!(
            x.shape()[axis] > 0,
            "{op}: Expected reduction dim {axis} to have non-zero size (shape {:?})",
            x.shape()
        );
        let best = x.map_axis(Axis(axis), |lane| extreme_of(lane.iter(), sign));
        let values = best.mapv(|(_, v)| v);
        let indices = best.mapv(|(i, _)| i as i64);
        let (values, indices) =
            if keepdim { (values.insert_axis(Axis(axis)), indices.insert_axis(Axis(axis))) } else { (values, indices) };
        let backward = IndexedExtremeBackward {
            input_shape: x.shape().to_vec(),
            axis,
            indices: indices.clone().into_shared(),
            keepdim,
            name,
        };
        (record(values.into_shared(), &[self], backward), indices)
    }

    /// The index of the maximum along `dim`, or of the flattened tensor when `dim` is
    /// `None`. PyTorch: `torch.argmax(input, dim=None, keepdim=False)`.
    ///
    /// # Panics
    /// If `dim` is out of range, or the tensor is empty.
    ///
    /// ```
    /// let x = tapegrad::Tensor::from_vec(vec![1.0, 5.0, 2.0, 7.0, 0.0, 3.0], &[2, 3]).unwrap();
    /// assert_eq!(x.argmax(None, false).into_raw_vec_and_offset().0, vec![3]); // 7.0, flat index 3
    /// assert_eq!(x.argmax(Some(1), false).into_raw_vec_and_offset().0, vec![1, 0]);
    /// ```
    #[track_caller]
    pub fn argmax(&self, dim: Option<isize>, keepdim: bool) -> ArrayD<i64> {
        self.arg_extreme("argmax", dim, keepdim, 1.0)
    }

    /// The index of the minimum along `dim`, or of the flattened tensor when `dim` is
    /// `None`. PyTorch: `torch.argmin(input, dim=None, keepdim=False)`.
    ///
    /// # Panics
    /// If `dim` is out of range, or the tensor is empty.
    ///
    /// ```
    /// let x = tapegrad::Tensor::from_vec(vec![1.0, 5.0, 2.0, 7.0, 0.0, 3.0], &[2, 3]).unwrap();
    /// assert_eq!(x.argmin(None, false).into_raw_vec_and_offset().0, vec![4]); // 0.0, flat index 4
    /// assert_eq!(x.argmin(Some(0), false).into_raw_vec_and_offset().0, vec![0, 1, 0]);
    /// ```
    #[track_caller]
    pub fn argmin(&self, dim: Option<isize>, keepdim: bool) -> ArrayD<i64> {
        self.arg_extreme("argmin", dim, keepdim, -1.0)
    }

    #[track_caller]
    fn arg_extreme(&self, op: &str, dim: Option<isize>, keepdim: bool, sign: f32) -> ArrayD<i64> {
        let _guard = crate::no_grad();
        match dim {
            Some(dim) => {
                let (_, indices) = self.extreme_dim(op, dim, keepdim, sign, "");
                indices
            }
            None => {
                assert!(
                    self.numel() > 0,
                    "{op}: Expected reduction dim to be specified for input.numel() == 0. (shape {:?})",
                    self.shape()
                );
                let data = self.data();
                let (index, _) = extreme_of(data.iter(), sign);
                let shape = if keepdim { vec![1; self.dim()] } else { vec![] };
                ArrayD::from_elem(IxDyn(&shape), index as i64)
            }
        }
    }
}

/// amax/amin (and max()/min() of everything): the gradient is shared evenly among the
/// elements equal to the extreme, as PyTorch does. Saved: the input and the extreme values
/// (kept dims).
struct AmaxBackward {
    input: SharedArray,
    extreme: SharedArray,
    dims: Vec<usize>,
    name: &'static str,
}

impl Backward for AmaxBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        let is_extreme = broadcast_zip("amax", &self.input, &self.extreme, |x, m| {
            if x == m || (x.is_nan() && m.is_nan()) { 1.0 } else { 0.0 }
        });
        let count = sum_dims(&is_extreme, &self.dims, true);
        let grad = reshape_array(grad, &keepdim_shape(self.input.shape(), &self.dims));
        let share = broadcast_zip("amax", &grad, &count, |g, c| g / c);
        vec![Some(broadcast_zip("amax", &is_extreme, &share, |mask, s| mask * s))]
    }
}

/// max/min along a dim: the whole gradient goes to the selected index. Saved: the indices.
struct IndexedExtremeBackward {
    input_shape: Vec<usize>,
    axis: usize,
    indices: ndarray::ArcArray<i64, IxDyn>,
    keepdim: bool,
    name: &'static str,
}

impl Backward for IndexedExtremeBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        let mut grad_input = ArrayD::<f32>::zeros(IxDyn(&self.input_shape));
        let axis = Axis(self.axis);
        let (grad, indices) = if self.keepdim {
            (grad.view().index_axis_move(axis, 0), self.indices.view().index_axis_move(axis, 0))
        } else {
            (grad.view(), self.indices.view())
        };
        Zip::from(grad_input.lanes_mut(axis)).and(&grad).and(&indices).for_each(|mut lane, &g, &i| {
            lane[i as usize] += g;
        });
        vec![Some(grad_input.into_shared())]
    }
}
