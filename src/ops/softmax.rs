//! softmax and log_softmax along one dim, computed stably (the maximum is subtracted first).

use ndarray::{Axis, Zip};

use super::normalize_dim;
use crate::autograd::{Backward, record};
use crate::tensor::{SharedArray, Tensor};

impl Tensor {
    /// `softmax(x)ᵢ = exp(xᵢ − max x) / Σⱼ exp(xⱼ − max x)` along `dim`.
    /// PyTorch: `F.softmax(input, dim)`.
    ///
    /// # Panics
    /// If `dim` is out of range.
    ///
    /// ```
    /// let x = tapegrad::Tensor::from_vec(vec![0.0, 0.0, 0.0, 0.0], &[2, 2]).unwrap();
    /// assert_eq!(x.softmax(1).to_vec(), vec![0.5; 4]);
    /// ```
    #[track_caller]
    pub fn softmax(&self, dim: isize) -> Tensor {
        let axis = Axis(normalize_dim("softmax", dim, self.dim()).min(self.dim().saturating_sub(1)));
        let mut out = self.data().as_standard_layout().into_owned();
        if out.ndim() == 0 {
            out.fill(1.0);
        } else {
            for mut lane in out.lanes_mut(axis) {
                let max = lane.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                lane.mapv_inplace(|v| (v - max).exp());
                let sum = lane.sum();
                lane.mapv_inplace(|v| v / sum);
            }
        }
        let out = out.into_shared();
        record(out.clone(), &[self], SoftmaxBackward { result: out, axis })
    }

    /// `log_softmax(x)ᵢ = xᵢ − max x − ln Σⱼ exp(xⱼ − max x)` along `dim`: finite even for
    /// very large logits. PyTorch: `F.log_softmax(input, dim)`.
    ///
    /// # Panics
    /// If `dim` is out of range.
    ///
    /// ```
    /// // Two equal logits: each log-probability is ln ½, even for huge logits.
    /// let x = tapegrad::Tensor::from_vec(vec![1000.0, 1000.0], &[1, 2]).unwrap();
    /// for v in x.log_softmax(-1).to_vec() {
    ///     assert!((v + std::f32::consts::LN_2).abs() < 1e-6);
    /// }
    /// ```
    #[track_caller]
    pub fn log_softmax(&self, dim: isize) -> Tensor {
        let axis = Axis(normalize_dim("log_softmax", dim, self.dim()).min(self.dim().saturating_sub(1)));
        let mut out = self.data().as_standard_layout().into_owned();
        if out.ndim() == 0 {
            out.fill(0.0);
        } else {
            for mut lane in out.lanes_mut(axis) {
                let max = lane.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                let log_sum = lane.fold(0.0f32, |s, &v| s + (v - max).exp()).ln();
                lane.mapv_inplace(|v| v - max - log_sum);
            }
        }
        let out = out.into_shared();
        record(out.clone(), &[self], LogSoftmaxBackward { result: out, axis })
    }
}

/// For y = softmax(x): ∂L/∂x = y ⊙ (g − Σ(g ⊙ y)) along the dim. The output is saved.
struct SoftmaxBackward {
    result: SharedArray,
    axis: Axis,
}

impl Backward for SoftmaxBackward {
    fn name(&self) -> &'static str {
        "SoftmaxBackward0"
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        if grad.ndim() == 0 {
            return vec![Some(grad.mapv(|_| 0.0).into_shared())];
        }
        let mut grad_input = grad.as_standard_layout().into_owned();
        Zip::from(grad_input.lanes_mut(self.axis)).and(self.result.lanes(self.axis)).for_each(|mut g, y| {
            let dot: f32 = g.iter().zip(y.iter()).map(|(g, y)| g * y).sum();
            Zip::from(&mut g).and(&y).for_each(|g, &y| *g = y * (*g - dot));
        });
        vec![Some(grad_input.into_shared())]
    }
}

/// For y = log_softmax(x): ∂L/∂x = g − exp(y) · Σg along the dim. The output is saved.
struct LogSoftmaxBackward {
    result: SharedArray,
    axis: Axis,
}

impl Backward for LogSoftmaxBackward {
    fn name(&self) -> &'static str {
        "LogSoftmaxBackward0"
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        if grad.ndim() == 0 {
            return vec![Some(grad.mapv(|_| 0.0).into_shared())];
        }
        let mut grad_input = grad.as_standard_layout().into_owned();
        Zip::from(grad_input.lanes_mut(self.axis)).and(self.result.lanes(self.axis)).for_each(|mut g, y| {
            let total: f32 = g.sum();
            Zip::from(&mut g).and(&y).for_each(|g, &y| *g -= y.exp() * total);
        });
        vec![Some(grad_input.into_shared())]
    }
}
