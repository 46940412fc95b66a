//! Activation modules: `ReLU`, `LeakyReLU`, `Sigmoid`, `Tanh`, `GELU`, `Softmax`,
//! `LogSoftmax` (Rust casing: `Relu`, `LeakyRelu`, `Gelu`, ...). Each wraps the op of the
//! same name so it can sit in a [`Sequential`](super::Sequential).

use super::module::TrainingFlag;
use super::{Module, Parameter};
use crate::ops::activation::Approximate;
use crate::tensor::Tensor;

/// Implements `Module` for a parameterless layer: `forward` calls `$apply`.
macro_rules! parameterless_module {
    ($name:ident, |$self_:ident, $x:ident| $apply:expr) => {
        impl Module for $name {
            #[track_caller]
            fn forward(&$self_, $x: &Tensor) -> Tensor {
                $apply
            }
            fn named_parameters(&self) -> Vec<(String, Parameter)> {
                Vec::new()
            }
            fn train(&self, mode: bool) {
                self.training.set(mode);
            }
            fn is_training(&self) -> bool {
                self.training.get()
            }
        }
    };
}
pub(crate) use parameterless_module;

/// `max(x, 0)`. PyTorch: `nn.ReLU()`.
///
/// ```
/// use tapegrad::{Tensor, nn::{Module, Relu}};
/// let y = Relu::new().forward(&Tensor::from_vec(vec![-1.0, 2.0], &[2]).unwrap());
/// assert_eq!(y.to_vec(), vec![0.0, 2.0]);
/// ```
#[derive(Debug, Default, Clone)]
pub struct Relu {
    training: TrainingFlag,
}

impl Relu {
    /// PyTorch: `nn.ReLU()`. Example on [`Relu`].
    pub fn new() -> Self {
        Self::default()
    }
}
parameterless_module!(Relu, |self, x| x.relu());

/// `x` for `x > 0`, else `negative_slope·x`. PyTorch: `nn.LeakyReLU(negative_slope=0.01)`.
///
/// ```
/// use tapegrad::{Tensor, nn::{LeakyRelu, Module}};
/// let x = Tensor::from_vec(vec![-2.0, 3.0], &[2]).unwrap();
/// assert_eq!(LeakyRelu::new(0.5).forward(&x).to_vec(), vec![-1.0, 3.0]);
/// assert_eq!(LeakyRelu::default().negative_slope, 0.01);
/// ```
#[derive(Debug, Clone)]
pub struct LeakyRelu {
    /// The slope for negative inputs.
    pub negative_slope: f32,
    training: TrainingFlag,
}

impl LeakyRelu {
    /// PyTorch: `nn.LeakyReLU(negative_slope)`. Example on [`LeakyRelu`].
    pub fn new(negative_slope: f32) -> Self {
        LeakyRelu { negative_slope, training: TrainingFlag::default() }
    }
}

impl Default for LeakyRelu {
    /// PyTorch's default slope, 0.01.
    fn default() -> Self {
        LeakyRelu::new(0.01)
    }
}
parameterless_module!(LeakyRelu, |self, x| x.leaky_relu(self.negative_slope));

/// `σ(x) = 1 / (1 + e⁻ˣ)`. PyTorch: `nn.Sigmoid()`.
///
/// ```
/// use tapegrad::{Tensor, nn::{Module, Sigmoid}};
/// assert_eq!(Sigmoid::new().forward(&Tensor::zeros(&[2])).to_vec(), vec![0.5, 0.5]);
/// ```
#[derive(Debug, Default, Clone)]
pub struct Sigmoid {
    training: TrainingFlag,
}

impl Sigmoid {
    /// PyTorch: `nn.Sigmoid()`. Example on [`Sigmoid`].
    pub fn new() -> Self {
        Self::default()
    }
}
parameterless_module!(Sigmoid, |self, x| x.sigmoid());

/// `tanh x = (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ)`. PyTorch: `nn.Tanh()`.
///
/// ```
/// use tapegrad::{Tensor, nn::{Module, Tanh}};
/// let y = Tanh::new().forward(&Tensor::from_vec(vec![0.0, 20.0], &[2]).unwrap());
/// assert_eq!(y.to_vec(), vec![0.0, 1.0]); // tanh 20 = 1 to f32 precision
/// ```
#[derive(Debug, Default, Clone)]
pub struct Tanh {
    training: TrainingFlag,
}

impl Tanh {
    /// PyTorch: `nn.Tanh()`. Example on [`Tanh`].
    pub fn new() -> Self {
        Self::default()
    }
}
parameterless_module!(Tanh, |self, x| x.tanh());

/// `x·Φ(x)` (or its tanh approximation), Φ the standard normal CDF. PyTorch:
/// `nn.GELU(approximate='none')`. The formulas are on [`Tensor::gelu`].
///
/// ```
/// use tapegrad::{Tensor, nn::{Gelu, Module, functional::Approximate}};
/// let x = Tensor::from_vec(vec![0.0, 1.0], &[2]).unwrap();
/// let y = Gelu::new(Approximate::None).forward(&x).to_vec();
/// assert_eq!(y[0], 0.0);
/// assert!((y[1] - 0.841_344_7).abs() < 1e-6); // Φ(1)
/// ```
#[derive(Debug, Default, Clone)]
pub struct Gelu {
    /// Exact (`Approximate::None`, the default) or `Approximate::Tanh`.
    pub approximate: Approximate,
    training: TrainingFlag,
}

impl Gelu {
    /// PyTorch: `nn.GELU(approximate=...)`. Example on [`Gelu`].
    pub fn new(approximate: Approximate) -> Self {
        Gelu { approximate, training: TrainingFlag::default() }
    }
}
parameterless_module!(Gelu, |self, x| x.gelu(self.approximate));

/// `exp(xᵢ) / Σⱼ exp(xⱼ)` along `dim`. PyTorch: `nn.Softmax(dim)`.
///
/// ```
/// use tapegrad::{Tensor, nn::{Module, Softmax}};
/// let x = Tensor::from_vec(vec![0.0, 0.0, 5.0, 5.0], &[2, 2]).unwrap();
/// assert_eq!(Softmax::new(1).forward(&x).to_vec(), vec![0.5; 4]); // each row sums to 1
/// ```
#[derive(Debug, Clone)]
pub struct Softmax {
    /// The dim that sums to 1.
    pub dim: isize,
    training: TrainingFlag,
}

impl Softmax {
    /// PyTorch: `nn.Softmax(dim)`. Example on [`Softmax`].
    pub fn new(dim: isize) -> Self {
        Softmax { dim, training: TrainingFlag::default() }
    }
}
parameterless_module!(Softmax, |self, x| x.softmax(self.dim));

/// `log(softmax(x))ᵢ = xᵢ − ln Σⱼ exp(xⱼ)` along `dim`, computed stably.
/// PyTorch: `nn.LogSoftmax(dim)`.
///
/// ```
/// use tapegrad::{Tensor, nn::{LogSoftmax, Module}};
/// let y = LogSoftmax::new(-1).forward(&Tensor::zeros(&[1, 2]));
/// assert!(y.to_vec().iter().all(|v| (v + std::f32::consts::LN_2).abs() < 1e-6)); // ln ½
/// ```
#[derive(Debug, Clone)]
pub struct LogSoftmax {
    /// The dim of the distribution.
    pub dim: isize,
    training: TrainingFlag,
}

impl LogSoftmax {
    /// PyTorch: `nn.LogSoftmax(dim)`. Example on [`LogSoftmax`].
    pub fn new(dim: isize) -> Self {
        LogSoftmax { dim, training: TrainingFlag::default() }
    }
}
parameterless_module!(LogSoftmax, |self, x| x.log_softmax(self.dim));
