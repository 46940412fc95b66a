//! Dropout: zero each element with probability `p` and scale the rest by `1/(1 − p)`.

use ndarray::Zip;

use crate::autograd::{Backward, record};
use crate::random::with_generator;
use crate::tensor::{SharedArray, Tensor};

impl Tensor {
    /// During training, zeroes each element independently with probability `p` (drawn
    /// from the global generator, [`manual_seed`](crate::manual_seed)) and multiplies the
    /// others by `1/(1 − p)`, so the expected value is unchanged; when `training` is false
    /// it returns the input unchanged. PyTorch: `F.dropout(input, p=0.5, training=True)`.
    ///
    /// # Panics
    /// If `p` is outside `[0, 1]` (PyTorch: "dropout probability has to be between 0 and 1,
    /// but got 1.5").
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// tapegrad::manual_seed(0);
    /// let y = Tensor::ones(&[1000]).dropout(0.5, true).to_vec();
    /// assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
    /// assert_eq!(Tensor::ones(&[3]).dropout(0.5, false).to_vec(), vec![1.0; 3]);
    /// ```
    #[track_caller]
    pub fn dropout(&self, p: f64, training: bool) -> Tensor {
        assert!(
            (0.0..=1.0).contains(&p),
            "dropout: dropout probability has to be between 0 and 1, but got {} (input of shape {:?})",
            crate::error::py_float(p),
            self.shape()
        );
        if !training || p == 0.0 {
            return self.clone();
        }
        // mask = 1/(1−p) where kept, 0 where dropped (all 0 when p = 1, as PyTorch).
        let scale = if p == 1.0 { 0.0 } else { (1.0 / (1.0 - p)) as f32 };
        let x = self.data();
        let keep: Vec<f32> =
            with_generator(|g| (0..x.len()).map(|_| if g.uniform_f64() >= p { scale } else { 0.0 }).collect());
        let mask = ndarray::ArrayD::from_shape_vec(x.raw_dim(), keep).expect("one draw per element").into_shared();
        let out = Zip::from(&x).and(&mask).map_collect(|&v, &m| v * m).into_shared();
        record(out, &[self], DropoutBackward { mask })
    }
}

/// d(x·mask)/dx = mask: the scaled keep-mask is saved.
struct DropoutBackward {
    mask: SharedArray,
}

impl Backward for DropoutBackward {
    fn name(&self) -> &'static str {
        "MulBackward0"
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        vec![Some(Zip::from(grad).and(&self.mask).map_collect(|&g, &m| g * m).into_shared())]
    }
}
