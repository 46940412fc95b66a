//! Reference models. PyTorch: the models of `torchvision.models` and of PyTorch's examples.

use crate::nn::functional as F;
use crate::nn::{Conv2d, Linear, Module};
use crate::tensor::Tensor;

/// LeNet-5 for 28×28 single-channel images (MNIST), as in PyTorch's examples (PyTorch: the
/// `Net` of `pytorch/examples`' MNIST tutorials; torchvision has no LeNet):
///
/// ```text
/// conv1 = Conv2d(1, 6, 5);  conv2 = Conv2d(6, 16, 5)
/// fc1 = Linear(256, 120);   fc2 = Linear(120, 84);   fc3 = Linear(84, 10)
/// x = max_pool2d(relu(conv1(x)), 2)     # (N, 6, 12, 12)
/// x = max_pool2d(relu(conv2(x)), 2)     # (N, 16, 4, 4)
/// x = flatten(x, 1); x = relu(fc1(x)); x = relu(fc2(x)); logits = fc3(x)
/// ```
///
/// Parameter names are PyTorch's (`conv1.weight`, ..., `fc3.bias`), so a PyTorch
/// `state_dict` of the same model loads into it and back.
///
/// ```
/// use tapegrad::{Tensor, models::LeNet5, nn::Module};
/// let model = LeNet5::new();
/// assert_eq!(model.forward(&Tensor::zeros(&[2, 1, 28, 28])).shape(), &[2, 10]);
/// assert_eq!(model.parameters().iter().map(|p| p.numel()).sum::<usize>(), 44_426);
/// ```
pub struct LeNet5 {
    /// `Conv2d(1, 6, 5)`.
    pub conv1: Conv2d,
    /// `Conv2d(6, 16, 5)`.
    pub conv2: Conv2d,
    /// `Linear(256, 120)`.
    pub fc1: Linear,
    /// `Linear(120, 84)`.
    pub fc2: Linear,
    /// `Linear(84, 10)`.
    pub fc3: Linear,
}

impl LeNet5 {
    /// A model with PyTorch's default initialisation, drawn from the global generator.
    /// PyTorch: `Net()`. Example on [`LeNet5`].
    pub fn new() -> LeNet5 {
        LeNet5 {
            conv1: Conv2d::new(1, 6, 5).expect("a valid configuration"),
            conv2: Conv2d::new(6, 16, 5).expect("a valid configuration"),
            fc1: Linear::new(256, 120),
            fc2: Linear::new(120, 84),
            fc3: Linear::new(84, 10),
        }
    }
}

impl Default for LeNet5 {
    fn default() -> Self {
        LeNet5::new()
    }
}

impl Module for LeNet5 {
    /// `(N, 1, 28, 28)` images to `(N, 10)` logits.
    fn forward(&self, x: &Tensor) -> Tensor {
        let x = F::max_pool2d(&self.conv1.forward(x).relu(), 2, None, 0, 1, false);
        let x = F::max_pool2d(&self.conv2.forward(&x).relu(), 2, None, 0, 1, false);
        let x = x.flatten(1, -1);
        let x = self.fc1.forward(&x).relu();
        let x = self.fc2.forward(&x).relu();
        self.fc3.forward(&x)
    }

    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        vec![
            ("conv1".into(), &self.conv1),
            ("conv2".into(), &self.conv2),
            ("fc1".into(), &self.fc1),
            ("fc2".into(), &self.fc2),
            ("fc3".into(), &self.fc3),
        ]
    }
}
