//! Joining and cutting: cat, stack, narrow, slice.

use std::borrow::Borrow;

use ndarray::{ArrayD, Axis, IxDyn, Slice};

use super::normalize_dim;
use crate::autograd::{Backward, record};
use crate::tensor::{SharedArray, Tensor};

impl Tensor {
    /// Concatenates tensors along an existing dim. PyTorch: `torch.cat(tensors, dim=0)`.
    ///
    /// # Panics
    /// If the list is empty, the ranks differ, or a size other than `dim`'s differs
    /// (PyTorch: "Sizes of tensors must match except in dimension 0. Expected size 3 but got
    /// size 4 for tensor number 1 in the list.").
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let a = Tensor::zeros(&[2, 3]);
    /// let b = Tensor::ones(&[1, 3]);
    /// assert_eq!(Tensor::cat(&[a, b], 0).shape(), &[3, 3]);
    /// ```
    #[track_caller]
    pub fn cat<T: Borrow<Tensor>>(tensors: &[T], dim: isize) -> Tensor {
        let tensors: Vec<&Tensor> = tensors.iter().map(Borrow::borrow).collect();
        assert!(!tensors.is_empty(), "cat: torch.cat(): expected a non-empty list of Tensors");
        let first = tensors[0].shape();
        let axis = normalize_dim("cat", dim, first.len());
        assert!(!first.is_empty(), "cat: zero-dimensional tensor (at position 0) cannot be concatenated (shape [])");
        for (i, t) in tensors.iter().enumerate() {
            assert!(
                t.dim() == first.len(),
                "cat: Tensors must have same number of dimensions: got {} and {} (shapes {first:?} and {:?})",
                first.len(),
                t.dim(),
                t.shape()
            );
            for (d, (&a, &b)) in first.iter().zip(t.shape()).enumerate() {
                assert!(
                    d == axis || a == b,
                    "cat: Sizes of tensors must match except in dimension {axis}. Expected size {a} but got size {b} for tensor number {i} in the list. (shapes {first:?} and {:?})",
                    t.shape()
                );
            }
        }
        let data: Vec<SharedArray> = tensors.iter().map(|t| t.data()).collect();
        let views: Vec<_> = data.iter().map(|d| d.view()).collect();
        let out = ndarray::concatenate(Axis(axis), &views).expect("shapes checked above");
        let sizes = tensors.iter().map(|t| t.shape()[axis]).collect();
        record(out.into_shared(), &tensors, SplitBackward { axis, sizes, stacked: false })
    }

    /// Stacks equally shaped tensors along a new dim. PyTorch: `torch.stack(tensors, dim=0)`.
    ///
    /// # Panics
    /// If the list is empty or the shapes differ (PyTorch: "stack expects each tensor to be
    /// equal size, but got [2, 3] at entry 0 and [2, 4] at entry 1").
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap();
    /// let b = Tensor::from_vec(vec![3.0, 4.0], &[2]).unwrap();
    /// let s = Tensor::stack(&[&a, &b], 1);
    /// assert_eq!((s.shape(), s.to_vec()), (&[2, 2][..], vec![1.0, 3.0, 2.0, 4.0]));
    /// ```
    #[track_caller]
    pub fn stack<T: Borrow<Tensor>>(tensors: &[T], dim: isize) -> Tensor {
        let tensors: Vec<&Tensor> = tensors.iter().map(Borrow::borrow).collect();
        assert!(!tensors.is_empty(), "stack: stack expects a non-empty TensorList");
        let first = tensors[0].shape();
        for (i, t) in tensors.iter().enumerate() {
            assert!(
                t.shape() == first,
                "stack: stack expects each tensor to be equal size, but got {first:?} at entry 0 and {:?} at entry {i}",
                t.shape()
            );
        }
        let axis = normalize_dim("stack", dim, first.len() + 1);
        let data: Vec<SharedArray> = tensors.iter().map(|t| t.data()).collect();
        let views: Vec<_> = data.iter().map(|d| d.view()).collect();
        let out = ndarray::stack(Axis(axis), &views).expect("shapes checked above");
        let sizes = vec![1; tensors.len()];
        record(out.into_shared(), &tensors, SplitBackward { axis, sizes, stacked: true })
    }

    /// The elements `start..start + length` along `dim`, sharing the storage.
    /// PyTorch: `torch.narrow(input, dim, start, length)`; a negative `start` counts from
    /// the end.
    ///
    /// # Panics
    /// If the range does not fit (PyTorch: "start (5) + length (2) exceeds dimension size (6).").
    ///
    /// ```
    /// let x = tapegrad::Tensor::arange(0.0, 6.0, 1.0);
    /// assert_eq!(x.narrow(0, 1, 3).to_vec(), vec![1.0, 2.0, 3.0]);
    /// assert_eq!(x.narrow(0, -2, 2).to_vec(), vec![4.0, 5.0]);
    /// ```
    #[track_caller]
    pub fn narrow(&self, dim: isize, start: isize, length: usize) -> Tensor {
        assert!(self.dim() > 0, "narrow: narrow() cannot be applied to a 0-dim tensor. (shape [])");
        let axis = normalize_dim("narrow", dim, self.dim());
        let size = self.shape()[axis];
        let begin = if start < 0 { start + size as isize } else { start };
        assert!(
            (0..=size as isize).contains(&begin),
            "narrow: start out of range (expected to be in range of [{}, {size}], but got {start}) (shape {:?})",
            -(size as isize),
            self.shape()
        );
        let begin = begin as usize;
        // checked: a length near usize::MAX must not wrap around to a small end.
        assert!(
            begin.checked_add(length).is_some_and(|end| end <= size),
            "narrow: start ({begin}) + length ({length}) exceeds dimension size ({size}). (shape {:?})",
            self.shape()
        );
        self.slice_impl(axis, begin, begin + length, 1, "SliceBackward0")
    }

    /// Python's `x[..., start:end:step, ...]` along `dim`: negative bounds count from the
    /// end and out-of-range bounds are clamped, as in Python. Shares the storage.
    /// PyTorch: basic slicing (`SliceBackward0`).
    ///
    /// # Panics
    /// If `step` is zero.
    ///
    /// ```
    /// let x = tapegrad::Tensor::arange(0.0, 10.0, 1.0);
    /// assert_eq!(x.slice(0, 1, -1, 3).to_vec(), vec![1.0, 4.0, 7.0]);
    /// assert_eq!(x.slice(0, -2, isize::MAX, 1).to_vec(), vec![8.0, 9.0]);
    /// ```
    #[track_caller]
    pub fn slice(&self, dim: isize, start: isize, end: isize, step: usize) -> Tensor {
        assert!(step > 0, "slice: slice step must be positive (shape {:?})", self.shape());
        assert!(self.dim() > 0, "slice: slicing a 0-dim tensor is not allowed (shape [])");
        let axis = normalize_dim("slice", dim, self.dim());
        let size = self.shape()[axis] as isize;
        let clamp = |i: isize| if i < 0 { (i + size).max(0) } else { i.min(size) };
        let (begin, end) = (clamp(start) as usize, clamp(end) as usize);
        self.slice_impl(axis, begin, end.max(begin), step, "SliceBackward0")
    }

    fn slice_impl(&self, axis: usize, begin: usize, end: usize, step: usize, name: &'static str) -> Tensor {
        let mut out = self.data();
        out.slice_axis_inplace(Axis(axis), Slice::new(begin as isize, Some(end as isize), step as isize));
        let backward = SliceBackward { input_shape: self.shape().to_vec(), axis, begin, end, step, name };
        record(out, &[self], backward)
    }
}

/// cat/stack: each input's gradient is its own piece of the output gradient. Saved: the
/// axis and each input's extent along it.
struct SplitBackward {
    axis: usize,
    sizes: Vec<usize>,
    /// stack added the axis, so each piece drops it again.
    stacked: bool,
}

impl Backward for SplitBackward {
    fn name(&self) -> &'static str {
        if self.stacked { "StackBackward0" } else { "CatBackward0" }
    }
    fn backward(&self, grad: &SharedArray, needs: &[bool]) -> Vec<Option<SharedArray>> {
        let axis = Axis(self.axis);
        let mut offset = 0;
        self.sizes
            .iter()
            .zip(needs)
            .map(|(&size, &need)| {
                let range = Slice::from(offset..offset + size);
                offset += size;
                need.then(|| {
                    let piece = grad.slice_axis(axis, range);
                    let piece = if self.stacked { piece.index_axis_move(axis, 0) } else { piece };
                    piece.to_owned().into_shared()
                })
            })
            .collect()
    }
}

/// narrow/slice: the gradient lands in the sliced positions of a zero tensor of the input's
/// shape. Saved: the input's shape and the slice.
struct SliceBackward {
    input_shape: Vec<usize>,
    axis: usize,
    begin: usize,
    end: usize,
    step: usize,
    name: &'static str,
}

impl Backward for SliceBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        let mut grad_input = ArrayD::<f32>::zeros(IxDyn(&self.input_shape));
        let slice = Slice::new(self.begin as isize, Some(self.end as isize), self.step as isize);
        grad_input.slice_axis_mut(Axis(self.axis), slice).assign(grad);
        vec![Some(grad_input.into_shared())]
    }
}
