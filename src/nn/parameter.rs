//! [`Parameter`]: a tensor that a module trains. PyTorch: `torch.nn.Parameter`.

use std::ops::Deref;

use crate::tensor::Tensor;

/// A tensor registered as a module's trainable state: a thin newtype over [`Tensor`] that
/// requires grad by default, and derefs to the tensor for everything else. PyTorch:
/// `torch.nn.Parameter`.
///
/// Cloning a `Parameter` clones the handle: both name the same tensor, so an optimizer
/// holding clones updates the module's weights.
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter};
/// let w = Parameter::new(Tensor::zeros(&[2, 3]));
/// assert!(w.requires_grad());
/// assert_eq!(w.shape(), &[2, 3]);
/// // A fixed (non-trainable) parameter, as a lesson's hand-made kernel:
/// let fixed = Parameter::new(Tensor::ones(&[1, 1, 2, 2])).requires_grad_(false);
/// assert!(!fixed.requires_grad());
/// ```
#[derive(Clone)]
pub struct Parameter(Tensor);

impl Parameter {
    /// Wraps `tensor` (detached from any graph) with `requires_grad = true`.
    /// PyTorch: `nn.Parameter(tensor)`.
    pub fn new(tensor: Tensor) -> Parameter {
        Parameter(tensor.detach().requires_grad_(true))
    }

    /// The same parameter with `requires_grad` set. PyTorch: `nn.Parameter(t,
    /// requires_grad=False)` or `p.requires_grad_(False)`.
    pub fn requires_grad_(self, requires_grad: bool) -> Parameter {
        self.0.requires_grad_(requires_grad);
        self
    }

    /// The underlying tensor handle (what `Deref` gives too). PyTorch: a `Parameter` *is* a
    /// `Tensor`; `p.data` is the nearest spelling.
    ///
    /// ```
    /// use tapegrad::{Tensor, nn::Parameter};
    /// let p = Parameter::new(Tensor::ones(&[2]));
    /// let t: &Tensor = p.tensor();
    /// assert_eq!(t.to_vec(), p.to_vec()); // the same tensor
    /// ```
    pub fn tensor(&self) -> &Tensor {
        &self.0
    }
}

impl Deref for Parameter {
    type Target = Tensor;
    fn deref(&self) -> &Tensor {
        &self.0
    }
}

impl AsRef<Tensor> for Parameter {
    fn as_ref(&self) -> &Tensor {
        &self.0
    }
}

impl From<Tensor> for Parameter {
    fn from(tensor: Tensor) -> Parameter {
        Parameter::new(tensor)
    }
}

impl std::fmt::Debug for Parameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Parameter containing:\n{:?}", self.0)
    }
}
