//! The one GEMM wrapper: `C ← α·A·B + β·C` on `f32` matrices of any strides, on top of
//! `matrixmultiply::sgemm` (or, with the `gemm-crate` feature, the `gemm` crate's
//! single-threaded `gemm`). This is the crate's only `unsafe` code.

use ndarray::{ArrayView2, ArrayViewMut2};

/// Which library [`gemm`] runs on in this build, for reports (the bench's `_info` line):
/// matrixmultiply by default, the `gemm` crate with the `gemm-crate` feature. Both are
/// called single-threaded; the convolution's tiles give the parallelism. tapegrad-only.
///
/// ```
/// assert!(tapegrad::ops::gemm::BACKEND.contains("single-threaded"));
/// ```
pub const BACKEND: &str = if cfg!(feature = "gemm-crate") {
    "gemm 0.19 (x86-v4 kernels, single-threaded: Parallelism::None)"
} else {
    "matrixmultiply 0.3 (single-threaded: its threading feature is off)"
};

/// `C ← α·A·B + β·C`, where `A` is `(m, k)`, `B` is `(k, n)` and `C` is `(m, n)`.
/// tapegrad-only (PyTorch's counterpart is ATen's `cpublas::gemm`, BLAS `sgemm`).
///
/// Any strides work (transposed and broadcast views included), so a transpose costs
/// nothing: pass `a.t()`. When `β = 0`, `C` is overwritten and its old contents (even NaN)
/// are ignored, as in BLAS.
///
/// # Panics
/// If the inner or outer dimensions disagree.
///
/// ```
/// use ndarray::array;
/// let a = array![[1.0f32, 2.0], [3.0, 4.0]];
/// let b = array![[5.0f32], [6.0]];
/// let mut c = ndarray::Array2::<f32>::zeros((2, 1));
/// tapegrad::ops::gemm::gemm(1.0, a.view(), b.view(), 0.0, c.view_mut());
/// assert_eq!(c, array![[17.0], [39.0]]);
/// ```
#[track_caller]
pub fn gemm(alpha: f32, a: ArrayView2<f32>, b: ArrayView2<f32>, beta: f32, mut c: ArrayViewMut2<f32>) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert!(
        k == k2 && c.dim() == (m, n),
        "gemm: shapes cannot be multiplied: A is {m}x{k}, B is {k2}x{n}, C is {}x{}",
        c.nrows(),
        c.ncols()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // Nothing to multiply: C ← β·C (and β = 0 means overwrite with zeros).
        c.mapv_inplace(|v| if beta == 0.0 { 0.0 } else { beta * v });
        return;
    }
    let [rsa, csa] = [a.strides()[0], a.strides()[1]];
    let [rsb, csb] = [b.strides()[0], b.strides()[1]];
    let [rsc, csc] = [c.strides()[0], c.strides()[1]];
    #[cfg(feature = "gemm-crate")]
    {
        // `gemm::gemm` computes dst ← α_g·dst + β_g·lhs·rhs, reading dst only when asked to;
        // its strides come column stride first.
        // SAFETY: as for matrixmultiply below: the addresses `ptr + i·row_stride +
        // j·col_stride` for the views' dimensions all lie inside `a`, `b` and `c`, and `c`
        // is an unaliased mutable view without zero strides on dimensions longer than 1.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr(),
                csc,
                rsc,
                beta != 0.0,
                a.as_ptr(),
                csa,
                rsa,
                b.as_ptr(),
                csb,
                rsb,
                beta,
                alpha,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }
    // SAFETY: `matrixmultiply::sgemm` reads A[i, l] at `a_ptr + i·rsa + l·csa` for i < m,
    // l < k, and B likewise for (k, n); every such address lies inside the views `a` and
    // `b`, whose dimensions and strides these are. It reads and writes C[i, j] at
    // `c_ptr + i·rsc + j·csc` for i < m, j < n, inside `c`, which is a mutable view: the
    // borrow checker guarantees no other live reference (including `a` or `b`) aliases it,
    // and a mutable view never has zero strides on a dimension longer than 1, so distinct
    // (i, j) are distinct elements. Sizes are non-zero here.
    #[cfg(not(feature = "gemm-crate"))]
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            rsc,
            csc,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, ShapeBuilder};

    fn naive(a: &ArrayView2<f32>, b: &ArrayView2<f32>) -> Array2<f32> {
        let (m, k) = a.dim();
        let n = b.ncols();
        Array2::from_shape_fn((m, n), |(i, j)| (0..k).map(|l| a[[i, l]] * b[[l, j]]).sum())
    }

    fn filled(rows: usize, cols: usize, seed: usize) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |(i, j)| ((i * 31 + j * 17 + seed) % 13) as f32 - 6.0)
    }

    #[test]
    fn matches_naive_on_awkward_sizes_and_layouts() {
        for (m, k, n) in [(1, 1, 1), (0, 3, 2), (2, 0, 3), (3, 5, 7), (7, 11, 5), (63, 65, 67)] {
            let a = filled(m, k, 1);
            let b = filled(k, n, 2);
            // Column-major A and a transposed B exercise non-unit strides.
            let mut a_f = Array2::zeros((m, k).f());
            a_f.assign(&a);
            let b_t = filled(n, k, 2).reversed_axes();
            for (a_view, b_view) in [(a.view(), b.view()), (a_f.view(), b_t.view())] {
                let mut c = Array2::from_elem((m, n), f32::NAN);
                gemm(1.0, a_view, b_view, 0.0, c.view_mut());
                let expected = naive(&a_view, &b_view);
                assert_eq!(c, expected, "m={m} k={k} n={n}");
            }
        }
    }

    #[test]
    fn alpha_and_beta_scale_and_accumulate() {
        let a = filled(4, 3, 0);
        let b = filled(3, 5, 1);
        let mut c = Array2::<f32>::ones((4, 5));
        gemm(2.0, a.view(), b.view(), 3.0, c.view_mut());
        let expected = naive(&a.view(), &b.view()) * 2.0 + 3.0;
        assert_eq!(c, expected);
    }

    #[test]
    #[should_panic(expected = "gemm: shapes cannot be multiplied: A is 2x3, B is 4x5")]
    fn mismatched_inner_dimension_panics() {
        let mut c = Array2::zeros((2, 5));
        gemm(1.0, filled(2, 3, 0).view(), filled(4, 5, 0).view(), 0.0, c.view_mut());
    }
}
