//! Matrix-multiplication cases through the crate's one GEMM wrapper.

use ndarray::Array2;
use tapegrad::ops::gemm::gemm;

use crate::spec::{Init, SgemmCase, init_values};

/// `A` (m × k) from the x formula, `B` (k × n) from the w formula, and `C` (m × n).
pub struct SgemmInputs {
    a: Array2<f32>,
    b: Array2<f32>,
    /// The product, overwritten by every call.
    pub c: Array2<f32>,
}

impl SgemmInputs {
    /// The row-major matrices of `case`.
    pub fn new(case: &SgemmCase) -> SgemmInputs {
        let a = Array2::from_shape_vec((case.m, case.k), init_values(Init::X, case.m * case.k, 1.0)).expect("A");
        let b = Array2::from_shape_vec((case.k, case.n), init_values(Init::W, case.k * case.n, 1.0)).expect("B");
        SgemmInputs { a, b, c: Array2::zeros((case.m, case.n)) }
    }

    /// `C ← A·B` (β = 0).
    pub fn multiply(&mut self) {
        gemm(1.0, self.a.view(), self.b.view(), 0.0, self.c.view_mut());
    }
}
