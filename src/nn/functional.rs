//! The `torch.nn.functional` spellings (`F.relu(x)`, `F.linear(x, w, b)`, ...) of the ops
//! defined as `Tensor` methods in [`crate::ops`]. Each function forwards to the method of
//! the same name.

pub use crate::ops::activation::Approximate;
use crate::tensor::Tensor;

/// PyTorch: `F.relu(input)`. See [`Tensor::relu`].
pub fn relu(input: &Tensor) -> Tensor {
    input.relu()
}

/// PyTorch: `F.leaky_relu(input, negative_slope=0.01)`. See [`Tensor::leaky_relu`].
pub fn leaky_relu(input: &Tensor, negative_slope: f32) -> Tensor {
    input.leaky_relu(negative_slope)
}

/// PyTorch: `F.sigmoid(input)`. See [`Tensor::sigmoid`].
pub fn sigmoid(input: &Tensor) -> Tensor {
    input.sigmoid()
}

/// PyTorch: `F.tanh(input)`. See [`Tensor::tanh`].
pub fn tanh(input: &Tensor) -> Tensor {
    input.tanh()
}

/// PyTorch: `F.gelu(input, approximate='none')`. See [`Tensor::gelu`].
pub fn gelu(input: &Tensor, approximate: Approximate) -> Tensor {
    input.gelu(approximate)
}

/// PyTorch: `F.softmax(input, dim)`. See [`Tensor::softmax`].
#[track_caller]
pub fn softmax(input: &Tensor, dim: isize) -> Tensor {
    input.softmax(dim)
}

/// PyTorch: `F.log_softmax(input, dim)`. See [`Tensor::log_softmax`].
#[track_caller]
pub fn log_softmax(input: &Tensor, dim: isize) -> Tensor {
    input.log_softmax(dim)
}

/// PyTorch: `F.linear(input, weight, bias=None)`: `input · weightᵀ + bias`.
/// See [`Tensor::linear`].
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let y = F::linear(&Tensor::ones(&[2, 3]), &Tensor::ones(&[4, 3]), None);
/// assert_eq!(y.shape(), &[2, 4]);
/// ```
#[track_caller]
pub fn linear(input: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Tensor {
    input.linear(weight, bias)
}
