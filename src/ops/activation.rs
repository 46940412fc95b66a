//! Activation functions: relu, leaky_relu, sigmoid, tanh, gelu (exact and tanh
//! approximation). Forward and derivative side by side.

use std::str::FromStr;

use ndarray::Zip;

use super::unary::{grad_times, map};
use crate::autograd::{Backward, record};
use crate::error::Error;
use crate::tensor::{SharedArray, Tensor};

/// Which GELU to compute. PyTorch: the `approximate` argument of `F.gelu`
/// (`'none'` or `'tanh'`). Parses from those two strings.
///
/// ```
/// use tapegrad::ops::activation::Approximate;
/// assert_eq!("tanh".parse::<Approximate>().unwrap(), Approximate::Tanh);
/// assert_eq!(Approximate::default(), Approximate::None);
/// assert!("fast".parse::<Approximate>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Approximate {
    /// The exact `x·Φ(x)`, with Φ the standard normal CDF (PyTorch's default, `'none'`).
    #[default]
    None,
    /// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` (`'tanh'`).
    Tanh,
}

impl FromStr for Approximate {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "none" => Ok(Approximate::None),
            "tanh" => Ok(Approximate::Tanh),
            other => Err(Error::Runtime(format!("approximate argument must be either none or tanh, got '{other}'"))),
        }
    }
}

impl Tensor {
    /// `relu(x) = max(x, 0)`. PyTorch: `torch.relu` / `F.relu`. The gradient is 1 where the
    /// output is positive and 0 elsewhere (0 at x = 0, as in PyTorch).
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let x = Tensor::from_vec(vec![-1.0, 0.0, 2.0], &[3]).unwrap().requires_grad_(true);
    /// let y = x.relu();
    /// assert_eq!(y.to_vec(), vec![0.0, 0.0, 2.0]);
    /// y.sum().backward();
    /// assert_eq!(x.grad().unwrap().to_vec(), vec![0.0, 0.0, 1.0]);
    /// ```
    pub fn relu(&self) -> Tensor {
        // NaN is kept, as in PyTorch.
        let out = map(&self.data(), |v| if v > 0.0 || v.is_nan() { v } else { 0.0 });
        record(out.clone(), &[self], ReluBackward { result: out })
    }

    /// `x` for `x > 0`, `negative_slope·x` otherwise. PyTorch: `F.leaky_relu(x,
    /// negative_slope=0.01)`.
    ///
    /// ```
    /// let x = tapegrad::Tensor::from_vec(vec![-2.0, 3.0], &[2]).unwrap();
    /// assert_eq!(x.leaky_relu(0.1).to_vec(), vec![-0.2, 3.0]);
    /// ```
    pub fn leaky_relu(&self, negative_slope: f32) -> Tensor {
        let x = self.data();
        let out = map(&x, |v| if v > 0.0 { v } else { v * negative_slope });
        record(out, &[self], LeakyReluBackward { input: x, negative_slope })
    }

    /// `σ(x) = 1 / (1 + e⁻ˣ)`, computed without overflow for large |x|; derivative
    /// `σ(x)·(1 − σ(x))`. PyTorch: `torch.sigmoid`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let x = Tensor::zeros(&[1]).requires_grad_(true);
    /// let y = x.sigmoid();
    /// assert_eq!(y.item(), 0.5);
    /// y.sum().backward();
    /// assert_eq!(x.grad().unwrap().item(), 0.25); // 0.5 · (1 − 0.5)
    /// ```
    pub fn sigmoid(&self) -> Tensor {
        let out = map(&self.data(), sigmoid);
        record(out.clone(), &[self], SigmoidBackward { result: out })
    }

    /// `tanh x = (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ)`, derivative `1 − tanh²x`. PyTorch: `torch.tanh`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let x = Tensor::zeros(&[1]).requires_grad_(true);
    /// let y = x.tanh();
    /// assert_eq!(y.item(), 0.0);
    /// y.sum().backward();
    /// assert_eq!(x.grad().unwrap().item(), 1.0); // 1 − tanh²0
    /// ```
    pub fn tanh(&self) -> Tensor {
        let out = map(&self.data(), f32::tanh);
        record(out.clone(), &[self], TanhBackward { result: out })
    }

    /// The Gaussian error linear unit. PyTorch: `F.gelu(x, approximate=...)`.
    ///
    /// * exact: `x·Φ(x)`, derivative `Φ(x) + x·φ(x)`;
    /// * tanh: `0.5·x·(1 + tanh u)` with `u = √(2/π)·(x + 0.044715·x³)`.
    ///
    /// ```
    /// use tapegrad::{Tensor, ops::activation::Approximate};
    /// let x = Tensor::from_vec(vec![0.0, 1.0], &[2]).unwrap();
    /// let y = x.gelu(Approximate::None).to_vec();
    /// assert!((y[1] - 0.841_344_7).abs() < 1e-6); // 1·Φ(1)
    /// let t = x.gelu(Approximate::Tanh).to_vec();
    /// assert!((t[1] - y[1]).abs() < 1e-3); // the approximation is close
    /// ```
    pub fn gelu(&self, approximate: Approximate) -> Tensor {
        let x = self.data();
        let out = match approximate {
            Approximate::None => map(&x, |v| (v as f64 * normal_cdf(v as f64)) as f32),
            Approximate::Tanh => map(&x, |v| {
                let v = v as f64;
                (0.5 * v * (1.0 + (SQRT_2_OVER_PI * (v + GELU_COEFF * v * v * v)).tanh())) as f32
            }),
        };
        record(out, &[self], GeluBackward { input: x, approximate })
    }
}

const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
const GELU_COEFF: f64 = 0.044_715;

fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Φ(x) = ½·erfc(−x/√2).
fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// The complementary error function, with relative error below 1.2·10⁻⁷ everywhere
/// (Numerical Recipes' Chebyshev fit `erfcc`), ample for `f32`.
pub(crate) fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let ans = t * poly.exp();
    if x >= 0.0 { ans } else { 2.0 - ans }
}

/// relu'(x) = 1 where the output is positive: the output is saved (it carries the mask).
struct ReluBackward {
    result: SharedArray,
}

impl Drop for ReluBackward {
    /// The saved output is usually the last owner of its buffer: keep it for reuse.
    fn drop(&mut self) {
        crate::tensor::reuse::recycle_field(&mut self.result);
    }
}

impl Backward for ReluBackward {
    fn name(&self) -> &'static str {
        "ReluBackward0"
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        vec![Some(grad_times(grad, &self.result, |y| if y > 0.0 { 1.0 } else { 0.0 }))]
    }
}

/// leaky_relu'(x) = 1 for x > 0, else the slope: the input is saved.
struct LeakyReluBackward {
    input: SharedArray,
    negative_slope: f32,
}

impl Backward for LeakyReluBackward {
    fn name(&self) -> &'static str {
        "LeakyReluBackward0"
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        let slope = self.negative_slope;
        vec![Some(grad_times(grad, &self.input, |x| if x > 0.0 { 1.0 } else { slope }))]
    }
}

/// σ'(x) = σ(x)(1 − σ(x)): the output is saved.
struct SigmoidBackward {
    result: SharedArray,
}

impl Backward for SigmoidBackward {
    fn name(&self) -> &'static str {
        "SigmoidBackward0"
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        vec![Some(grad_times(grad, &self.result, |y| y * (1.0 - y)))]
    }
}

/// tanh'(x) = 1 − tanh²(x): the output is saved.
struct TanhBackward {
    result: SharedArray,
}

impl Backward for TanhBackward {
    fn name(&self) -> &'static str {
        "TanhBackward0"
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        vec![Some(grad_times(grad, &self.result, |y| 1.0 - y * y))]
    }
}

/// gelu'(x), exact: Φ(x) + x·φ(x); tanh: ½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²).
/// The input is saved.
struct GeluBackward {
    input: SharedArray,
    approximate: Approximate,
}

impl Backward for GeluBackward {
    fn name(&self) -> &'static str {
        "GeluBackward0"
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        let approximate = self.approximate;
        let derivative = move |x: f32| {
            let x = x as f64;
            let d = match approximate {
                Approximate::None => {
                    let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
                    normal_cdf(x) + x * pdf
                }
                Approximate::Tanh => {
                    let u = SQRT_2_OVER_PI * (x + GELU_COEFF * x * x * x);
                    let t = u.tanh();
                    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_COEFF * x * x)
                }
            };
            d as f32
        };
        vec![Some(Zip::from(grad).and(&self.input).map_collect(|&g, &x| g * derivative(x)).into_shared())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_matches_known_values() {
        // erfc(0) = 1, erfc(1) = 0.157299207050285, erfc(-1) = 1.842700792949715,
        // erfc(3) = 2.20904969985854e-5 (Abramowitz & Stegun table 7.1).
        for (x, expected) in
            [(0.0, 1.0), (1.0, 0.157_299_207_050_285), (-1.0, 1.842_700_792_949_715), (3.0, 2.209_049_699_858_54e-5)]
        {
            let got = erfc(x);
            assert!(((got - expected) / expected).abs() < 2e-7, "erfc({x}) = {got}, expected {expected}");
        }
    }

    #[test]
    fn sigmoid_is_finite_and_saturates_for_large_inputs() {
        assert_eq!(sigmoid(1e4), 1.0);
        assert_eq!(sigmoid(-1e4), 0.0);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-7);
    }

    #[test]
    fn approximate_parses_pytorch_strings() {
        assert_eq!("tanh".parse::<Approximate>().unwrap(), Approximate::Tanh);
        assert_eq!("none".parse::<Approximate>().unwrap(), Approximate::None);
        assert!("fast".parse::<Approximate>().is_err());
    }
}
