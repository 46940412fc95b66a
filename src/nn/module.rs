//! The [`Module`] trait: something with a `forward` and named parameters.
//! PyTorch: `torch.nn.Module`.

use super::Parameter;
use crate::tensor::Tensor;

/// A layer or a model. Implement `forward` and `named_parameters`; the rest has defaults.
///
/// Parameter names are PyTorch's dotted keys (`conv1.weight`, `0.bias`), so a model's
/// parameters line up with a PyTorch `state_dict`. No derive macro: a model lists its
/// children's parameters in a few obvious lines.
///
/// ```
/// use tapegrad::{Tensor, nn::{Conv2d, Module, Parameter}};
///
/// struct Net { conv: Conv2d }
///
/// impl Module for Net {
///     fn forward(&self, x: &Tensor) -> Tensor {
///         self.conv.forward(x).relu()
///     }
///     fn named_parameters(&self) -> Vec<(String, Parameter)> {
///         self.conv.named_parameters().into_iter().map(|(name, p)| (format!("conv.{name}"), p)).collect()
///     }
/// }
///
/// let net = Net { conv: Conv2d::new(1, 4, 3).unwrap() };
/// let names: Vec<String> = net.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["conv.weight", "conv.bias"]);
/// assert_eq!(net.forward(&Tensor::zeros(&[2, 1, 8, 8])).shape(), &[2, 4, 6, 6]);
/// ```
pub trait Module: Send + Sync {
    /// Computes the output. PyTorch: `module(input)` / `module.forward(input)`.
    fn forward(&self, input: &Tensor) -> Tensor;

    /// Every parameter with its dotted name, in registration order.
    /// PyTorch: `module.named_parameters()`.
    fn named_parameters(&self) -> Vec<(String, Parameter)>;

    /// Every parameter, in registration order. PyTorch: `module.parameters()`.
    fn parameters(&self) -> Vec<Parameter> {
        self.named_parameters().into_iter().map(|(_, p)| p).collect()
    }

    /// Clears the gradient of every parameter. PyTorch: `module.zero_grad()`
    /// (`set_to_none=True`).
    fn zero_grad(&self) {
        for p in self.parameters() {
            p.zero_grad();
        }
    }
}
