//! `Dropout`. PyTorch: `torch.nn.Dropout`.

use super::activation::parameterless_module;
use super::module::TrainingFlag;
use super::{Module, Parameter};
use crate::error::{Error, Result, py_float};
use crate::tensor::Tensor;

/// In training mode, zeroes each element with probability `p` and scales the rest by
/// `1/(1 − p)`; in evaluation mode, the identity. PyTorch: `nn.Dropout(p=0.5)`.
///
/// ```
/// use tapegrad::{Tensor, nn::{Dropout, Module}};
/// let dropout = Dropout::new(0.5).unwrap();
/// dropout.eval();
/// assert_eq!(dropout.forward(&Tensor::ones(&[4])).to_vec(), vec![1.0; 4]);
/// ```
#[derive(Debug, Clone)]
pub struct Dropout {
    /// The probability of zeroing an element.
    pub p: f64,
    training: TrainingFlag,
}

impl Dropout {
    /// PyTorch: `nn.Dropout(p)`.
    ///
    /// # Errors
    /// [`Error::Value`] if `p` is outside `[0, 1]`, with PyTorch's text.
    ///
    /// ```
    /// use tapegrad::nn::Dropout;
    /// assert_eq!(Dropout::new(0.2).unwrap().p, 0.2);
    /// // Python prints the float: "but got 2.0", not "2".
    /// let err = Dropout::new(2.0).unwrap_err();
    /// assert_eq!(err.message(), "dropout probability has to be between 0 and 1, but got 2.0");
    /// ```
    pub fn new(p: f64) -> Result<Dropout> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::Value(format!(
                "dropout probability has to be between 0 and 1, but got {}",
                py_float(p)
            )));
        }
        Ok(Dropout { p, training: TrainingFlag::default() })
    }
}

parameterless_module!(Dropout, |self, x| x.dropout(self.p, self.training.get()));
