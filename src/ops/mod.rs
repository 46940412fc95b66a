//! The differentiable ops, one file per family. Each file holds the `Tensor` methods, the
//! forward computation, the `XxxBackward` struct with its derivative, and unit tests, side
//! by side.

pub mod activation;
pub mod arith;
pub mod batch_norm;
pub mod broadcast;
pub mod conv;
mod conv_bias;
mod conv_depthwise;
mod conv_tiles;
pub mod dropout;
pub mod embedding;
pub mod gemm;
mod im2col;
pub mod join;
pub mod matmul;
pub mod minmax;
pub mod operators;
pub mod pad;
mod padded;
pub mod pool;
pub mod reduce;
pub mod shape;
pub mod softmax;
pub mod unary;

/// Turns a possibly negative `dim` into an index in `0..ndim`, PyTorch-style.
///
/// # Panics
/// With PyTorch's message when `dim` is outside `[-ndim, ndim - 1]`; a 0-d tensor accepts
/// `0` and `-1`, as PyTorch does.
#[track_caller]
pub(crate) fn normalize_dim(op: &str, dim: isize, ndim: usize) -> usize {
    let wrap = ndim.max(1) as isize;
    let d = if dim < 0 { dim + wrap } else { dim };
    assert!(
        (0..wrap).contains(&d),
        "{op}: Dimension out of range (expected to be in range of [{}, {}], but got {dim})",
        -wrap,
        wrap - 1
    );
    d as usize
}

/// A list of dimensions for a reduction: one `dim` or several, as PyTorch's
/// `dim: int | tuple[int]`. Built from an integer, an array, a slice or a `Vec`.
///
/// ```
/// use tapegrad::Tensor;
/// let x = Tensor::ones(&[2, 3, 4]);
/// assert_eq!(x.sum_dim(1, false).shape(), &[2, 4]);
/// assert_eq!(x.sum_dim([0, 2], true).shape(), &[1, 3, 1]);
/// assert_eq!(x.sum_dim(-1, false).shape(), &[2, 3]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dims(pub Vec<isize>);

impl Dims {
    /// The dims normalised to `0..ndim`, sorted, with duplicates rejected.
    ///
    /// # Panics
    /// On an out-of-range or repeated dim (PyTorch: "dim 1 appears multiple times in the
    /// list of dims").
    #[track_caller]
    pub(crate) fn resolve(&self, op: &str, ndim: usize) -> Vec<usize> {
        // A loop, not a closure: closures would lose #[track_caller]'s caller location.
        let mut dims = Vec::with_capacity(self.0.len());
        for &d in &self.0 {
            dims.push(normalize_dim(op, d, ndim));
        }
        dims.sort_unstable();
        for pair in dims.windows(2) {
            assert!(pair[0] != pair[1], "{op}: dim {} appears multiple times in the list of dims", pair[0]);
        }
        // On a 0-d tensor, dim 0/-1 names the tensor itself: nothing to reduce.
        dims.retain(|&d| d < ndim);
        dims
    }
}

macro_rules! dims_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Dims {
            fn from(d: $t) -> Dims { Dims(vec![d as isize]) }
        }
        impl<const N: usize> From<[$t; N]> for Dims {
            fn from(d: [$t; N]) -> Dims { Dims(d.iter().map(|&x| x as isize).collect()) }
        }
        impl From<&[$t]> for Dims {
            fn from(d: &[$t]) -> Dims { Dims(d.iter().map(|&x| x as isize).collect()) }
        }
        impl From<Vec<$t>> for Dims {
            fn from(d: Vec<$t>) -> Dims { Dims(d.into_iter().map(|x| x as isize).collect()) }
        }
    )*};
}
// Conversions only: several integer types so that literals (`1`, `[0, 2]`) infer.
dims_from_int!(i32, i64, isize, usize);

/// `n` zeros, written eagerly, in a reused buffer when one of that size was freed (see
/// `tensor/reuse.rs`). For buffers that are accumulated into (`+=`): `vec![0.0; n]` asks
/// the allocator for zeroed memory, which for large sizes is fresh pages from the OS mapped
/// lazily to the shared zero page, so the first `+=` on each page faults twice (once to
/// read, once to copy on write). Writing the zeros up front faults each page at most once.
pub(crate) fn zeroed(n: usize) -> Vec<f32> {
    crate::tensor::reuse::zeroed(n)
}

/// The elements of `a` in row-major order: borrowed when `a` already is contiguous, copied
/// out otherwise. The gradient that `sum` and `mean` pass back is a broadcast view (stride
/// 0) of one value; it is filled directly. Other layouts are copied lane by lane along the
/// last axis, which is several times faster than element-wise iteration over a dynamic
/// number of dims.
pub(crate) fn contiguous<S: ndarray::Data<Elem = f32>>(
    a: &ndarray::ArrayBase<S, ndarray::IxDyn>,
) -> std::borrow::Cow<'_, [f32]> {
    use std::borrow::Cow;
    if let Some(values) = a.as_slice() {
        return Cow::Borrowed(values);
    }
    if let Some(&first) = a.first()
        && a.strides().iter().all(|&s| s == 0)
    {
        let mut values = crate::tensor::reuse::with_capacity(a.len());
        values.resize(a.len(), first);
        return Cow::Owned(values);
    }
    let mut values = Vec::with_capacity(a.len());
    for lane in a.lanes(ndarray::Axis(a.ndim() - 1)) {
        match lane.as_slice() {
            Some(lane) => values.extend_from_slice(lane),
            None => values.extend(lane.iter().copied()),
        }
    }
    Cow::Owned(values)
}

#[cfg(test)]
mod tests {
    use ndarray::{ArrayD, Axis, IxDyn};

    /// Row-major order by definition: element `i` of the result is `a[unravel(i)]`.
    fn by_index(a: &ndarray::ArrayViewD<f32>) -> Vec<f32> {
        a.indexed_iter().map(|(_, &v)| v).collect()
    }

    #[test]
    fn contiguous_gives_row_major_order_for_every_layout() {
        let base = ArrayD::from_shape_fn(IxDyn(&[2, 3, 4]), |i| (i[0] * 100 + i[1] * 10 + i[2]) as f32);
        let scalar = ArrayD::from_elem(IxDyn(&[]), 7.0f32);
        let column = ArrayD::from_shape_fn(IxDyn(&[3, 1]), |i| i[0] as f32);
        let views = [
            base.view(),                                                          // contiguous
            base.view().permuted_axes(IxDyn(&[2, 0, 1])),                         // transposed
            base.slice_axis(Axis(2), ndarray::Slice::new(0, None, 2)).into_dyn(), // strided lanes
            scalar.broadcast(IxDyn(&[2, 5])).unwrap(),                            // all strides 0
            column.broadcast(IxDyn(&[2, 3, 4])).unwrap(),                         // stride 0 last axis
        ];
        for view in views {
            assert_eq!(super::contiguous(&view).into_owned(), by_index(&view), "shape {:?}", view.shape());
        }
    }
}
