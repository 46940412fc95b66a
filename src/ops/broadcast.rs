//! Broadcasting, PyTorch's (and NumPy's) rule: align shapes at the right; each pair of
//! sizes must be equal or one of them 1.
//!
//! [`sum_to_shape`] is its adjoint, the one place where the engine reduces a gradient
//! computed in the broadcast shape back to an input's shape.

use ndarray::{Axis, IxDyn};

use crate::tensor::SharedArray;

/// The broadcast shape of `a` and `b`: aligned at the right, each pair of sizes must be
/// equal or one of them 1, and the result takes the larger. PyTorch:
/// `torch.broadcast_shapes(a, b)`.
///
/// # Panics
/// With PyTorch's message, naming `op`, when the shapes are not broadcastable:
/// "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1".
///
/// ```
/// use tapegrad::ops::broadcast::broadcast_shapes;
/// // aligned at the right: (2, 1, 3) and (4, 1) → (2, 4, 3)
/// assert_eq!(broadcast_shapes("add", &[2, 1, 3], &[4, 1]), vec![2, 4, 3]);
/// assert_eq!(broadcast_shapes("mul", &[], &[5]), vec![5]); // a scalar broadcasts to anything
/// ```
#[track_caller]
pub fn broadcast_shapes(op: &str, a: &[usize], b: &[usize]) -> Vec<usize> {
    let ndim = a.len().max(b.len());
    let mut out = vec![0; ndim];
    for i in 0..ndim {
        let da = if i + a.len() >= ndim { a[i + a.len() - ndim] } else { 1 };
        let db = if i + b.len() >= ndim { b[i + b.len() - ndim] } else { 1 };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => panic!(
                "{op}: The size of tensor a ({da}) must match the size of tensor b ({db}) at non-singleton dimension {i} (shapes {a:?} and {b:?})"
            ),
        };
    }
    out
}

/// Sums `grad` over the dimensions that broadcasting added or stretched, so that it gets
/// `shape`. The adjoint of broadcasting `shape` to `grad.shape()`: the gradient of
/// `y = broadcast(x)` is `∂L/∂x = Σ over the broadcast dims of ∂L/∂y`. PyTorch:
/// `grad.sum_to_size(shape)` (what autograd applies to a broadcast operand's gradient).
///
/// ```
/// use tapegrad::ops::broadcast::sum_to_shape;
/// let g = ndarray::ArrayD::<f32>::ones(ndarray::IxDyn(&[2, 3, 4])).into_shared();
/// let s = sum_to_shape(g, &[3, 1]);
/// assert_eq!(s.shape(), &[3, 1]);
/// assert!(s.iter().all(|&v| v == 8.0));
/// ```
pub fn sum_to_shape(grad: SharedArray, shape: &[usize]) -> SharedArray {
    if grad.shape() == shape {
        return grad;
    }
    let lead = grad.ndim() - shape.len();
    let mut reduced = grad.into_owned();
    for _ in 0..lead {
        reduced = reduced.sum_axis(Axis(0));
    }
    for (axis, &size) in shape.iter().enumerate() {
        if size == 1 && reduced.shape()[axis] != 1 {
            reduced = reduced.sum_axis(Axis(axis)).insert_axis(Axis(axis));
        }
    }
    debug_assert_eq!(reduced.shape(), shape);
    reduced.into_shape_with_order(IxDyn(shape)).expect("same element count").into_shared()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_broadcast_like_pytorch() {
        assert_eq!(broadcast_shapes("add", &[2, 1, 3], &[4, 1]), vec![2, 4, 3]);
        assert_eq!(broadcast_shapes("add", &[], &[3]), vec![3]);
        assert_eq!(broadcast_shapes("add", &[5, 0], &[1]), vec![5, 0]);
    }

    #[test]
    #[should_panic(
        expected = "add: The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1"
    )]
    fn incompatible_shapes_panic_with_both_sizes() {
        broadcast_shapes("add", &[2, 3], &[4]);
    }

    #[test]
    fn sum_to_shape_reduces_leading_and_stretched_dims() {
        let g = ndarray::Array::from_shape_fn(IxDyn(&[2, 3]), |i| (i[0] * 3 + i[1]) as f32).into_shared();
        assert_eq!(sum_to_shape(g.clone(), &[3]).iter().copied().collect::<Vec<_>>(), vec![3.0, 5.0, 7.0]);
        assert_eq!(sum_to_shape(g.clone(), &[2, 1]).iter().copied().collect::<Vec<_>>(), vec![3.0, 12.0]);
        assert_eq!(sum_to_shape(g, &[]).iter().copied().collect::<Vec<_>>(), vec![15.0]);
    }
}
