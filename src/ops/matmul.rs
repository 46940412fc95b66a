//! Matrix products: `matmul` with `torch.matmul` semantics, and `linear`.
//!
//! The core op multiplies stacks of matrices `(..., m, k) × (..., k, n) → (..., m, n)`,
//! broadcasting the batch dims, one GEMM per matrix through [`gemm`]. The 1-D cases of
//! `torch.matmul` are the core op between an `unsqueeze` and a `squeeze`, as PyTorch does it.

use ndarray::{Array3, ArrayView2, ArrayViewD, ArrayViewMut2, Ix2, IxDyn};
use rayon::prelude::*;

use super::broadcast::broadcast_shapes;
use super::gemm::gemm;
use crate::autograd::{Backward, record};
use crate::tensor::{SharedArray, Tensor};

/// Below this many multiply-adds a batched product runs on one thread.
const PARALLEL_WORK: usize = 1 << 16;

impl Tensor {
    /// The matrix product `Cᵢⱼ = Σₖ Aᵢₖ·Bₖⱼ` with `torch.matmul` semantics (PyTorch:
    /// `torch.matmul(input, other)`, the `@` operator):
    /// * 1-D · 1-D: the dot product (0-d result);
    /// * 2-D · 2-D: the matrix product;
    /// * 1-D operand: treated as a row (left) or column (right) vector, then that dim is
    ///   removed from the result;
    /// * ≥ 3-D: a batch of matrix products, the batch dims broadcast.
    ///
    /// # Panics
    /// If an operand is 0-d, or the inner dimensions differ (PyTorch: "mat1 and mat2
    /// shapes cannot be multiplied (3x4 and 5x6)").
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// let v = Tensor::from_vec(vec![1.0, 1.0], &[2]).unwrap();
    /// assert_eq!(a.matmul(&v).to_vec(), vec![3.0, 7.0]);
    /// assert_eq!(Tensor::randn(&[5, 1, 3, 4]).matmul(&Tensor::randn(&[6, 4, 2])).shape(), &[5, 6, 3, 2]);
    /// ```
    #[track_caller]
    pub fn matmul(&self, other: &Tensor) -> Tensor {
        assert!(
            self.dim() > 0 && other.dim() > 0,
            "matmul: both arguments to matmul need to be at least 1D, but they are {}D and {}D (shapes {:?} and {:?})",
            self.dim(),
            other.dim(),
            self.shape(),
            other.shape()
        );
        match (self.dim(), other.dim()) {
            (1, 1) => {
                // assert!, not assert_eq!: the message must start with the op's name.
                assert!(
                    self.shape() == other.shape(),
                    "matmul: inconsistent tensor size, expected tensor [{}] and src [{}] to have the same number of elements",
                    self.numel(),
                    other.numel()
                );
                self.unsqueeze(0).batched_matmul(&other.unsqueeze(1)).reshape(&[])
            }
            (1, _) => self.unsqueeze(0).batched_matmul(other).squeeze_dim(-2),
            (_, 1) => self.batched_matmul(&other.unsqueeze(1)).squeeze_dim(-1),
            _ => self.batched_matmul(other),
        }
    }

    /// `(..., m, k) × (..., k, n)` with broadcast batch dims; both operands at least 2-D.
    #[track_caller]
    fn batched_matmul(&self, other: &Tensor) -> Tensor {
        let (a, b) = (self.data(), other.data());
        let (m, ka) = (a.shape()[a.ndim() - 2], a.shape()[a.ndim() - 1]);
        let (kb, n) = (b.shape()[b.ndim() - 2], b.shape()[b.ndim() - 1]);
        assert!(
            ka == kb,
            "matmul: mat1 and mat2 shapes cannot be multiplied ({m}x{ka} and {kb}x{n}) (shapes {:?} and {:?})",
            a.shape(),
            b.shape()
        );
        // The batch dims must broadcast; checked here so that the message shows both shapes.
        let (batch_a, batch_b) = (&a.shape()[..a.ndim() - 2], &b.shape()[..b.ndim() - 2]);
        let batch_ndim = batch_a.len().max(batch_b.len());
        for (i, (&da, &db)) in batch_a.iter().rev().zip(batch_b.iter().rev()).enumerate() {
            assert!(
                da == db || da == 1 || db == 1,
                "matmul: The size of tensor a ({da}) must match the size of tensor b ({db}) at non-singleton dimension {} (shapes {:?} and {:?})",
                batch_ndim - 1 - i,
                a.shape(),
                b.shape()
            );
        }
        let out = matmul_arrays(a.view(), b.view());
        let name = if a.ndim() == 2 && b.ndim() == 2 { "MmBackward0" } else { "BmmBackward0" };
        record(out, &[self, other], MatmulBackward { input: a, other: b, name })
    }

    /// The transpose of a matrix, `(Aᵀ)ᵢⱼ = Aⱼᵢ`; a 0-d or 1-D tensor is returned as is.
    /// PyTorch: `tensor.t()` (equivalently `.T` on ≤ 2-D tensors).
    ///
    /// # Panics
    /// On a tensor with more than 2 dims.
    ///
    /// ```
    /// let a = tapegrad::Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// assert_eq!((a.t().shape(), a.t().to_vec()), (&[3, 2][..], vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]));
    /// ```
    #[track_caller]
    pub fn t(&self) -> Tensor {
        assert!(
            self.dim() <= 2,
            "t: t() expects a tensor with <= 2 dimensions, but self is {}D (shape {:?})",
            self.dim(),
            self.shape()
        );
        if self.dim() < 2 { self.transpose(0, 0) } else { self.transpose_named(0, 1, "TBackward0") }
    }

    /// `y = x·Wᵀ + b`. PyTorch: `F.linear(input, weight, bias)`, the op of `nn.Linear`.
    /// `input` is `(*, in)`, `weight` is `(out, in)`, `bias` is `(out,)`.
    ///
    /// # Panics
    /// If the shapes do not fit.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let x = Tensor::ones(&[3, 4]);
    /// let w = Tensor::ones(&[2, 4]);
    /// let b = Tensor::from_vec(vec![0.5, -0.5], &[2]).unwrap();
    /// assert_eq!(x.linear(&w, Some(&b)).to_vec(), vec![4.5, 3.5, 4.5, 3.5, 4.5, 3.5]);
    /// ```
    #[track_caller]
    pub fn linear(&self, weight: &Tensor, bias: Option<&Tensor>) -> Tensor {
        // PyTorch's text, with the shapes as the caller gave them (matmul sees them transposed).
        if let (Some(&features), [out_features, in_features]) = (self.shape().last(), weight.shape()) {
            assert!(
                features == *in_features,
                "linear: mat1 and mat2 shapes cannot be multiplied ({}x{features} and {in_features}x{out_features}) (input of shape {:?}, weight of shape {:?})",
                self.numel().checked_div(features).unwrap_or(0),
                self.shape(),
                weight.shape()
            );
        }
        let out = self.matmul(&weight.t());
        match bias {
            Some(bias) => out.add(bias),
            None => out,
        }
    }
}

/// The batched product of two arrays of at least 2 dims (any strides), batch dims broadcast.
pub(crate) fn matmul_arrays(a: ArrayViewD<f32>, b: ArrayViewD<f32>) -> SharedArray {
    let (m, k) = (a.shape()[a.ndim() - 2], a.shape()[a.ndim() - 1]);
    let n = b.shape()[b.ndim() - 1];
    let batch = broadcast_shapes("matmul", &a.shape()[..a.ndim() - 2], &b.shape()[..b.ndim() - 2]);
    let with_batch = |rows: usize, cols: usize| [batch.as_slice(), &[rows, cols]].concat();
    let a = a.broadcast(IxDyn(&with_batch(m, k))).expect("batch dims broadcast");
    let b = b.broadcast(IxDyn(&with_batch(k, n))).expect("batch dims broadcast");
    let batch_len: usize = batch.iter().product();
    let mut out = Array3::<f32>::zeros((batch_len, m, n));

    let (mut a_mats, mut b_mats) = (Vec::new(), Vec::new());
    matrices(a, &mut a_mats);
    matrices(b, &mut b_mats);
    let jobs: Vec<(ArrayView2<f32>, ArrayView2<f32>, ArrayViewMut2<f32>)> =
        a_mats.into_iter().zip(b_mats).zip(out.outer_iter_mut()).map(|((a, b), c)| (a, b, c)).collect();
    // One GEMM per matrix of the batch: (m, k) × (k, n) → (m, n).
    if jobs.len() > 1 && m * k * n * jobs.len() >= PARALLEL_WORK {
        jobs.into_par_iter().for_each(|(a, b, c)| gemm(1.0, a, b, 0.0, c));
    } else {
        for (a, b, c) in jobs {
            gemm(1.0, a, b, 0.0, c);
        }
    }
    out.into_shared().into_shape_with_order(IxDyn(&with_batch(m, n))).expect("same element count")
}

/// The 2-D matrices of a stack `(..., r, c)`, in row-major batch order.
fn matrices<'a>(v: ArrayViewD<'a, f32>, out: &mut Vec<ArrayView2<'a, f32>>) {
    if v.ndim() == 2 {
        out.push(v.into_dimensionality::<Ix2>().expect("2-D"));
    } else {
        for sub in v.into_outer_iter() {
            matrices(sub, out);
        }
    }
}

/// For C = A·B: ∂L/∂A = ∂L/∂C · Bᵀ and ∂L/∂B = Aᵀ · ∂L/∂C (batched; the engine sums over
/// broadcast batch dims). Both operands are saved.
struct MatmulBackward {
    input: SharedArray,
    other: SharedArray,
    name: &'static str,
}

fn transpose_last_two(v: ArrayViewD<f32>) -> ArrayViewD<f32> {
    let nd = v.ndim();
    let mut v = v;
    v.swap_axes(nd - 1, nd - 2);
    v
}

impl Backward for MatmulBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, grad: &SharedArray, needs: &[bool]) -> Vec<Option<SharedArray>> {
        vec![
            // (..., m, n) × (..., n, k) → (..., m, k)
            needs[0].then(|| matmul_arrays(grad.view(), transpose_last_two(self.other.view()))),
            // (..., k, m) × (..., m, n) → (..., k, n)
            needs[1].then(|| matmul_arrays(transpose_last_two(self.input.view()), grad.view())),
        ]
    }
}
