//! `Linear`: `y = x·Wᵀ + b`. PyTorch: `torch.nn.Linear`.

use super::init::{FanMode, calculate_fan_in_and_fan_out, kaiming_uniform_, uniform_};
use super::module::TrainingFlag;
use super::{Module, Parameter};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A fully connected layer: `y = x·Wᵀ + b`, for `x` of shape `(*, in_features)`.
/// PyTorch: `nn.Linear(in_features, out_features, bias=True)`.
///
/// `weight` is `(out_features, in_features)`, `bias` `(out_features,)`. Default
/// initialisation is PyTorch's: weight `kaiming_uniform_(a=√5)` = `U(±1/√in_features)`,
/// bias `U(±1/√in_features)`.
///
/// ```
/// use tapegrad::{Tensor, nn::{Linear, Module}};
/// let fc = Linear::new(4, 3);
/// assert_eq!(fc.forward(&Tensor::zeros(&[2, 4])).shape(), &[2, 3]);
/// assert_eq!(fc.weight.shape(), &[3, 4]);
/// ```
pub struct Linear {
    /// `(out_features, in_features)`.
    pub weight: Parameter,
    /// `(out_features,)`, or `None` without bias.
    pub bias: Option<Parameter>,
    training: TrainingFlag,
}

impl Linear {
    /// A layer with bias. PyTorch: `nn.Linear(in_features, out_features)`.
    pub fn new(in_features: usize, out_features: usize) -> Linear {
        Linear::with_bias(in_features, out_features, true)
    }

    /// A layer with or without bias. PyTorch: `nn.Linear(in_features, out_features, bias=...)`.
    ///
    /// ```
    /// use tapegrad::nn::Linear;
    /// let fc = Linear::with_bias(4, 3, false);
    /// assert!(fc.bias.is_none());
    /// assert_eq!((fc.in_features(), fc.out_features()), (4, 3));
    /// ```
    ///
    /// # Panics
    /// When the weight cannot be allocated; [`Linear::try_new`] returns an `Err` instead.
    #[track_caller]
    pub fn with_bias(in_features: usize, out_features: usize, bias: bool) -> Linear {
        Linear::try_new(in_features, out_features, bias).unwrap_or_else(|e| panic!("Linear: {}", e.message()))
    }

    /// [`Linear::with_bias`] for sizes that come from a configuration or a file.
    ///
    /// # Errors
    /// [`Error::Runtime`] when the weight `(out_features, in_features)` has more elements
    /// than `usize` counts or than memory holds (PyTorch's "not enough memory").
    ///
    /// ```
    /// use tapegrad::nn::Linear;
    /// assert!(Linear::try_new(1 << 40, 1 << 40, true).is_err());
    /// assert_eq!(Linear::try_new(4, 3, false).unwrap().out_features(), 3);
    /// ```
    pub fn try_new(in_features: usize, out_features: usize, bias: bool) -> Result<Linear> {
        let zeros = |shape: &[usize]| {
            Tensor::try_full(shape, 0.0)
                .map(Parameter::new)
                .map_err(|e| Error::Runtime(format!("Linear({in_features}, {out_features}): {}", e.message())))
        };
        let linear = Linear {
            weight: zeros(&[out_features, in_features])?,
            bias: if bias { Some(zeros(&[out_features])?) } else { None },
            training: TrainingFlag::default(),
        };
        linear.reset_parameters();
        Ok(linear)
    }

    /// Re-draws the parameters as PyTorch's `nn.Linear.reset_parameters()`: weight
    /// `kaiming_uniform_(a=√5)`, which is `U(−1/√in, 1/√in)`, and bias `U(−1/√in, 1/√in)`.
    ///
    /// ```
    /// use tapegrad::nn::Linear;
    /// let fc = Linear::new(16, 4);
    /// fc.reset_parameters();
    /// let bound = 1.0 / 16f32.sqrt(); // 1/√in_features = 0.25
    /// assert!(fc.weight.to_vec().iter().all(|w| w.abs() <= bound));
    /// ```
    pub fn reset_parameters(&self) {
        kaiming_uniform_(&self.weight, 5f64.sqrt(), FanMode::FanIn, "leaky_relu").expect("2-D weight");
        if let Some(bias) = &self.bias {
            let (fan_in, _) = calculate_fan_in_and_fan_out(self.weight.shape()).expect("2-D weight");
            if fan_in > 0 {
                let bound = 1.0 / (fan_in as f64).sqrt();
                uniform_(bias, -bound, bound);
            }
        }
    }

    /// `in_features`, the last dim of the input. PyTorch: `linear.in_features`. Example on
    /// [`Linear::with_bias`].
    pub fn in_features(&self) -> usize {
        self.weight.shape()[1]
    }

    /// `out_features`, the last dim of the output. PyTorch: `linear.out_features`. Example on
    /// [`Linear::with_bias`].
    pub fn out_features(&self) -> usize {
        self.weight.shape()[0]
    }
}

impl Module for Linear {
    /// `F.linear(input, weight, bias)`.
    ///
    /// # Panics
    /// If the last dim of `input` is not `in_features`.
    #[track_caller]
    fn forward(&self, input: &Tensor) -> Tensor {
        input.linear(&self.weight, self.bias.as_deref())
    }

    fn named_parameters(&self) -> Vec<(String, Parameter)> {
        let mut params = vec![("weight".to_string(), self.weight.clone())];
        params.extend(self.bias.iter().map(|b| ("bias".to_string(), b.clone())));
        params
    }

    fn train(&self, mode: bool) {
        self.training.set(mode);
    }

    fn is_training(&self) -> bool {
        self.training.get()
    }
}

impl std::fmt::Debug for Linear {
    /// PyTorch's repr: `Linear(in_features=256, out_features=120, bias=True)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bias = if self.bias.is_some() { "True" } else { "False" };
        write!(f, "Linear(in_features={}, out_features={}, bias={bias})", self.in_features(), self.out_features())
    }
}
