//! The [`Tensor`] handle: constructors, shape queries, data access and gradient access.
//!
//! A `Tensor` is a cheap-to-clone handle (`Arc`) to shared state, and is `Send + Sync`.
//! Its values live in a [`SharedArray`] (ndarray's reference-counted `ArcArray`), so saving
//! a tensor for backward, reshaping it or handing its gradient to two inputs costs a
//! reference-count increment, not a copy. Writing to values that are shared (with a saved
//! tensor, say) copies them first: copy-on-write, so a saved tensor never changes under the
//! backward pass that needs it.

mod alloc;
mod creation;
mod display;
pub(crate) mod reuse;

pub(crate) use alloc::{check_allocation, checked_numel, try_filled};

use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};

use ndarray::{ArcArray, ArrayD, IxDyn};

use crate::autograd::{AutogradMeta, Node, run_backward};
use crate::error::{Error, Result};

/// The storage of a tensor's values: a reference-counted, copy-on-write n-d array of `f32`.
/// tapegrad-only, no PyTorch counterpart (PyTorch's `Storage` is not copy-on-write).
///
/// Cloning it is a reference-count increment; writing through one clone copies the values
/// first when another clone still holds them.
///
/// ```
/// use tapegrad::{SharedArray, Tensor};
/// let x = Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap();
/// let mut values: SharedArray = x.data(); // shared, no copy
/// values[[0]] = 10.0; // copy-on-write: x keeps its values
/// assert_eq!((x.to_vec(), values[[0]]), (vec![1.0, 2.0], 10.0));
/// ```
pub type SharedArray = ArcArray<f32, IxDyn>;

/// An n-dimensional array of `f32` that can record the operations applied to it, so that
/// gradients can be computed with [`Tensor::backward`]. PyTorch: `torch.Tensor`.
///
/// Cloning a `Tensor` clones the handle: both clones are the same tensor (same values, same
/// `.grad()`), as two Python names bound to one tensor are.
///
/// ```
/// use tapegrad::Tensor;
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap().requires_grad_(true);
/// let y = (&x * &x).sum();           // y = Σ x²
/// y.backward();
/// assert_eq!(x.grad().unwrap().to_vec(), vec![2.0, 4.0, 6.0]); // dy/dx = 2x
/// ```
#[derive(Clone)]
pub struct Tensor(Arc<TensorImpl>);

struct TensorImpl {
    /// Fixed for the tensor's life; kept outside the lock so `shape()` can return a slice.
    shape: Vec<usize>,
    data: RwLock<SharedArray>,
    meta: Arc<AutogradMeta>,
}

impl Drop for TensorImpl {
    /// A large buffer that no other array shares is kept for the next step's tensors (see
    /// `tensor/reuse.rs`).
    fn drop(&mut self) {
        reuse::recycle_field(self.data.get_mut().unwrap_or_else(|e| e.into_inner()));
    }
}

// Compile-time check of the design's promise: tensors move and are shared between threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Tensor>();
};

impl Tensor {
    // ----- construction -----------------------------------------------------------------

    /// A leaf tensor wrapping `data` (no copy). Used by every constructor and op.
    /// PyTorch: `torch.from_numpy(array)` (also `Tensor::from(array)`).
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let array = ndarray::ArrayD::<f32>::ones(ndarray::IxDyn(&[2, 2])).into_shared();
    /// let t = Tensor::from_shared(array);
    /// assert_eq!((t.shape(), t.is_leaf(), t.requires_grad()), (&[2, 2][..], true, false));
    /// ```
    pub fn from_shared(data: SharedArray) -> Tensor {
        Self::new(data, AutogradMeta::leaf(false))
    }

    pub(crate) fn from_node(data: SharedArray, node: Arc<Node>) -> Tensor {
        let mut meta = AutogradMeta::leaf(true);
        meta.grad_fn = Some(node);
        Self::new(data, meta)
    }

    fn new(data: SharedArray, meta: AutogradMeta) -> Tensor {
        Tensor(Arc::new(TensorImpl { shape: data.shape().to_vec(), data: RwLock::new(data), meta: Arc::new(meta) }))
    }

    /// A tensor of the given shape from row-major (C order) `data`.
    /// PyTorch: `torch.tensor(data).reshape(shape)`.
    ///
    /// # Errors
    /// [`Error::Shape`] when `data.len()` is not the product of `shape`.
    ///
    /// ```
    /// let t = tapegrad::Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// assert_eq!(t.shape(), &[2, 2]);
    /// assert!(tapegrad::Tensor::from_vec(vec![1.0], &[2, 2]).is_err());
    /// ```
    pub fn from_vec(data: Vec<f32>, shape: &[usize]) -> Result<Tensor> {
        let numel = checked_numel(shape)?;
        if data.len() != numel {
            return Err(Error::Shape(format!(
                "shape {shape:?} is invalid for input of size {} (expected {numel} values)",
                data.len()
            )));
        }
        let array = ArrayD::from_shape_vec(IxDyn(shape), data).map_err(|e| Error::Shape(e.to_string()))?;
        Ok(Tensor::from_shared(array.into_shared()))
    }

    // ----- shape queries ----------------------------------------------------------------

    /// The size of each dimension. PyTorch: `tensor.shape`.
    ///
    /// ```
    /// assert_eq!(tapegrad::Tensor::zeros(&[2, 3]).shape(), &[2, 3]);
    /// ```
    pub fn shape(&self) -> &[usize] {
        &self.0.shape
    }

    /// The number of dimensions. PyTorch: `tensor.dim()`.
    ///
    /// ```
    /// assert_eq!(tapegrad::Tensor::zeros(&[2, 3]).dim(), 2);
    /// ```
    pub fn dim(&self) -> usize {
        self.0.shape.len()
    }

    /// The number of elements, `∏ shape`. PyTorch: `tensor.numel()`.
    ///
    /// ```
    /// assert_eq!(tapegrad::Tensor::zeros(&[2, 3]).numel(), 6);
    /// ```
    pub fn numel(&self) -> usize {
        self.0.shape.iter().product()
    }

    /// The size of dimension `dim` (negative counts from the end). PyTorch: `tensor.size(dim)`.
    ///
    /// # Panics
    /// If `dim` is out of range.
    ///
    /// ```
    /// let t = tapegrad::Tensor::zeros(&[2, 3]);
    /// assert_eq!((t.size(0), t.size(-1)), (2, 3));
    /// ```
    #[track_caller]
    pub fn size(&self, dim: isize) -> usize {
        self.0.shape[crate::ops::normalize_dim("size", dim, self.dim())]
    }

    // ----- data access ------------------------------------------------------------------

    /// The values, shared (a reference-count increment, no copy), outside the graph.
    /// PyTorch: `tensor.detach()` used as an array (the closest counterpart; the result is
    /// an ndarray, not a tensor).
    ///
    /// ```
    /// let t = tapegrad::Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// let values = t.data();
    /// assert_eq!(values[[1, 0]], 3.0);
    /// ```
    pub fn data(&self) -> SharedArray {
        self.0.data.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The values as an owned ndarray. PyTorch: `tensor.numpy()`.
    ///
    /// ```
    /// let t = tapegrad::Tensor::eye(2);
    /// let a: ndarray::ArrayD<f32> = t.to_array();
    /// assert_eq!((a.shape(), a[[0, 0]], a[[0, 1]]), (&[2, 2][..], 1.0, 0.0));
    /// ```
    pub fn to_array(&self) -> ArrayD<f32> {
        self.data().into_owned()
    }

    /// The values in row-major (C) order. PyTorch: `tensor.flatten().tolist()`.
    ///
    /// ```
    /// let t = tapegrad::Tensor::arange(0.0, 4.0, 1.0).reshape(&[2, 2]).t();
    /// assert_eq!(t.to_vec(), vec![0.0, 2.0, 1.0, 3.0]); // row-major order of the transpose
    /// ```
    pub fn to_vec(&self) -> Vec<f32> {
        crate::ops::contiguous(&self.data()).into_owned()
    }

    /// The value of a one-element tensor. PyTorch: `tensor.item()`.
    ///
    /// # Panics
    /// If the tensor has more or fewer than one element (PyTorch's "a Tensor with 6
    /// elements cannot be converted to Scalar").
    ///
    /// ```
    /// let t = tapegrad::Tensor::full(&[1, 1], 2.5);
    /// assert_eq!(t.item(), 2.5);
    /// ```
    #[track_caller]
    pub fn item(&self) -> f32 {
        let data = self.data();
        assert!(
            data.len() == 1,
            "item: a Tensor with {} elements cannot be converted to Scalar (shape {:?})",
            data.len(),
            self.shape()
        );
        data.iter().copied().next().expect("one element")
    }

    /// Modifies the values in place, outside the graph (copy-on-write if they are shared
    /// with a saved tensor). This is what an optimizer step does. PyTorch: in-place ops
    /// under `torch.no_grad()`, e.g. `p -= lr * p.grad`.
    ///
    /// # Panics
    /// If `f` changes the shape.
    ///
    /// ```
    /// let p = tapegrad::Tensor::ones(&[2]);
    /// p.with_data_mut(|d| d.mapv_inplace(|v| v - 0.5));
    /// assert_eq!(p.to_vec(), vec![0.5, 0.5]);
    /// ```
    #[track_caller]
    pub fn with_data_mut<R>(&self, f: impl FnOnce(&mut SharedArray) -> R) -> R {
        let mut guard = self.0.data.write().unwrap_or_else(|e| e.into_inner());
        let result = f(&mut guard);
        assert_eq!(guard.shape(), self.shape(), "with_data_mut: the shape of a tensor cannot change");
        result
    }

    /// Replaces the values with `values` of the same shape. PyTorch: `tensor.copy_(values)`
    /// under `torch.no_grad()`.
    ///
    /// # Panics
    /// If the shapes differ.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let w = Tensor::zeros(&[2]).requires_grad_(true);
    /// w.copy_(&Tensor::from_vec(vec![3.0, 4.0], &[2]).unwrap());
    /// assert_eq!((w.to_vec(), w.is_leaf()), (vec![3.0, 4.0], true)); // still the same leaf
    /// ```
    #[track_caller]
    pub fn copy_(&self, values: &Tensor) {
        assert_eq!(
            values.shape(),
            self.shape(),
            "copy_: the shape of the source {:?} must match the destination {:?}",
            values.shape(),
            self.shape()
        );
        let new = values.data();
        self.with_data_mut(|d| *d = new);
    }

    // ----- autograd ---------------------------------------------------------------------

    pub(crate) fn meta(&self) -> &Arc<AutogradMeta> {
        &self.0.meta
    }

    /// Whether gradients flow to (or through) this tensor. PyTorch: `tensor.requires_grad`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let w = Tensor::ones(&[2]).requires_grad_(true);
    /// assert!(w.requires_grad() && (&w * 2.0).requires_grad()); // an op on it does too
    /// assert!(!Tensor::ones(&[2]).requires_grad());
    /// ```
    pub fn requires_grad(&self) -> bool {
        self.0.meta.requires_grad()
    }

    /// Sets `requires_grad` on a leaf and returns the same tensor (a new handle to it).
    /// PyTorch: `tensor.requires_grad_(requires_grad)`.
    ///
    /// # Panics
    /// When asked to turn off `requires_grad` on a non-leaf (PyTorch: "you can only change
    /// requires_grad flags of leaf variables").
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let w = Tensor::zeros(&[3]).requires_grad_(true);
    /// assert!(w.requires_grad());
    /// w.requires_grad_(false); // freeze it
    /// assert!(!w.requires_grad());
    /// ```
    #[track_caller]
    pub fn requires_grad_(&self, requires_grad: bool) -> Tensor {
        if !self.is_leaf() {
            assert!(
                requires_grad,
                "requires_grad_: you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
            );
        } else {
            self.0.meta.requires_grad.store(requires_grad, Ordering::Relaxed);
        }
        self.clone()
    }

    /// Whether this tensor is a leaf of the graph: made by the user, not by a recorded op.
    /// PyTorch: `tensor.is_leaf`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let w = Tensor::ones(&[2]).requires_grad_(true);
    /// assert!(w.is_leaf());
    /// assert!(!(&w * 2.0).is_leaf());
    /// ```
    pub fn is_leaf(&self) -> bool {
        self.0.meta.grad_fn.is_none()
    }

    /// The name of the op that produced this tensor, e.g. `Some("AddBackward0")`; `None`
    /// for a leaf. PyTorch: `tensor.grad_fn`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let w = Tensor::ones(&[2]).requires_grad_(true);
    /// assert_eq!((&w + &w).grad_fn(), Some("AddBackward0"));
    /// assert_eq!(w.grad_fn(), None);
    /// ```
    pub fn grad_fn(&self) -> Option<&'static str> {
        self.0.meta.grad_fn.as_ref().map(|n| n.name())
    }

    /// The accumulated gradient. PyTorch: `tensor.grad`.
    ///
    /// `Some` for a leaf that requires grad after a `backward()` reached it, and for a
    /// non-leaf after [`Tensor::retain_grad`]. The returned tensor is the gradient itself:
    /// a later `backward()` accumulates into it.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let w = Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap().requires_grad_(true);
    /// assert!(w.grad().is_none());
    /// let g = { (&w * &w).sum().backward(); w.grad().unwrap() }; // d(Σw²)/dw = 2w
    /// assert_eq!(g.to_vec(), vec![2.0, 4.0]);
    /// (&w * 3.0).sum().backward(); // accumulates: 2w + 3
    /// assert_eq!(g.to_vec(), vec![5.0, 7.0]);
    /// ```
    pub fn grad(&self) -> Option<Tensor> {
        self.0.meta.grad.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Clears the gradient (sets it to `None`, PyTorch's default `set_to_none=True`).
    /// PyTorch: `tensor.grad = None`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let w = Tensor::ones(&[2]).requires_grad_(true);
    /// w.sum().backward();
    /// w.zero_grad();
    /// assert!(w.grad().is_none());
    /// ```
    pub fn zero_grad(&self) {
        *self.0.meta.grad.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Makes a non-leaf keep its gradient in `.grad()` during `backward()`.
    /// PyTorch: `tensor.retain_grad()`. A no-op on leaves, which always keep theirs.
    ///
    /// # Panics
    /// On a tensor that does not require grad (PyTorch: "can't retain_grad on Tensor that
    /// has requires_grad=False").
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap().requires_grad_(true);
    /// let h = &x * 2.0; // a non-leaf
    /// h.retain_grad();
    /// assert!(h.retains_grad());
    /// (&h * &h).sum().backward();
    /// assert_eq!(h.grad().unwrap().to_vec(), vec![4.0, 8.0]); // d(Σh²)/dh = 2h
    /// ```
    #[track_caller]
    pub fn retain_grad(&self) {
        assert!(self.requires_grad(), "retain_grad: can't retain_grad on Tensor that has requires_grad=False");
        if !self.is_leaf() {
            self.0.meta.retains_grad.store(true, Ordering::Relaxed);
        }
    }

    /// Whether `.grad()` is kept for this non-leaf. PyTorch: `tensor.retains_grad`.
    /// Example on [`Tensor::retain_grad`].
    pub fn retains_grad(&self) -> bool {
        self.0.meta.retains_grad.load(Ordering::Relaxed)
    }

    /// A new leaf with the same values that is cut off from the graph (no `grad_fn`, no
    /// `requires_grad`). The values are shared until either side is written to.
    /// PyTorch: `tensor.detach()`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let w = Tensor::ones(&[2]).requires_grad_(true);
    /// let d = (&w * 2.0).detach();
    /// assert!(d.is_leaf() && !d.requires_grad());
    /// assert_eq!(d.to_vec(), vec![2.0, 2.0]);
    /// ```
    pub fn detach(&self) -> Tensor {
        Tensor::from_shared(self.data())
    }

    /// Computes the gradient of this scalar with respect to every leaf that requires grad,
    /// and accumulates it into their `.grad()`. PyTorch: `tensor.backward()`.
    ///
    /// The graph is kept, so calling `backward()` again accumulates a second time (as
    /// PyTorch's `retain_graph=True`); it is freed when the last tensor of it is dropped.
    ///
    /// # Panics
    /// If the tensor has more than one element (PyTorch: "grad can be implicitly created
    /// only for scalar outputs"), or does not require grad.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let x = Tensor::scalar(3.0).requires_grad_(true);
    /// let y = &x * &x; // y = x², dy/dx = 2x
    /// y.backward();
    /// assert_eq!(x.grad().unwrap().item(), 6.0);
    /// y.backward(); // the graph is kept: accumulates again
    /// assert_eq!(x.grad().unwrap().item(), 12.0);
    /// ```
    #[track_caller]
    pub fn backward(&self) {
        assert!(
            self.numel() == 1,
            "backward: grad can be implicitly created only for scalar outputs, but this tensor has shape {:?}",
            self.shape()
        );
        self.backward_with(&Tensor::ones(self.shape()));
    }

    /// Back-propagates `gradient` (the gradient of some scalar with respect to this
    /// tensor). PyTorch: `tensor.backward(gradient)`.
    ///
    /// # Panics
    /// If `gradient` does not have this tensor's shape, or this tensor does not require grad.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap().requires_grad_(true);
    /// let y = &x * 3.0;
    /// y.backward_with(&Tensor::from_vec(vec![1.0, 10.0], &[2]).unwrap());
    /// assert_eq!(x.grad().unwrap().to_vec(), vec![3.0, 30.0]);
    /// ```
    #[track_caller]
    pub fn backward_with(&self, gradient: &Tensor) {
        assert!(
            self.requires_grad(),
            "backward: element 0 of tensors does not require grad and does not have a grad_fn"
        );
        assert_eq!(
            gradient.shape(),
            self.shape(),
            "backward: Mismatch in shape: grad_output[0] has a shape of {:?} and output[0] has a shape of {:?}",
            gradient.shape(),
            self.shape()
        );
        run_backward(&self.0.meta, gradient.data());
    }
}

impl From<ArrayD<f32>> for Tensor {
    fn from(array: ArrayD<f32>) -> Tensor {
        Tensor::from_shared(array.into_shared())
    }
}

impl From<SharedArray> for Tensor {
    fn from(array: SharedArray) -> Tensor {
        Tensor::from_shared(array)
    }
}

impl From<f32> for Tensor {
    fn from(value: f32) -> Tensor {
        Tensor::scalar(value)
    }
}
