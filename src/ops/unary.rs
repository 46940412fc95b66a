//! Elementwise maths: neg, exp, log, sqrt, abs, pow with a scalar exponent, clamp.
//!
//! Each backward multiplies the incoming gradient by the local derivative, computed from
//! the saved input or output (whichever the formula needs).

use ndarray::Zip;

use crate::autograd::{Backward, record};
use crate::tensor::{SharedArray, Tensor};

/// `grad ⊙ f(saved)`, elementwise (both have the op's output shape).
pub(crate) fn grad_times(grad: &SharedArray, saved: &SharedArray, f: impl Fn(f32) -> f32) -> SharedArray {
    if let (Some(g), Some(s)) = (grad.as_slice(), saved.as_slice())
        && grad.shape() == saved.shape()
    {
        return collect(grad, g.iter().zip(s).map(|(&g, &s)| g * f(s)));
    }
    Zip::from(grad).and(saved).map_collect(|&g, &s| g * f(s)).into_shared()
}

/// `f(x)` elementwise.
pub(crate) fn map(x: &SharedArray, f: impl Fn(f32) -> f32) -> SharedArray {
    match x.as_slice() {
        Some(values) => collect(x, values.iter().map(|&v| f(v))),
        None => x.mapv(f).into_shared(),
    }
}

/// An array of `like`'s shape (row-major) holding `values`, in a reused buffer when one of
/// that size was freed (see `tensor/reuse.rs`).
fn collect(like: &SharedArray, values: impl Iterator<Item = f32>) -> SharedArray {
    let mut out = crate::tensor::reuse::with_capacity(like.len());
    out.extend(values);
    ndarray::ArrayD::from_shape_vec(like.raw_dim(), out).expect("one value per element").into_shared()
}

impl Tensor {
    /// `−x`. PyTorch: `torch.neg`; the unary `-` operator.
    ///
    /// ```
    /// let x = tapegrad::Tensor::from_vec(vec![1.0, -2.0], &[2]).unwrap();
    /// assert_eq!(x.neg().to_vec(), vec![-1.0, 2.0]);
    /// assert_eq!((-&x).to_vec(), vec![-1.0, 2.0]);
    /// ```
    pub fn neg(&self) -> Tensor {
        record(map(&self.data(), |v| -v), &[self], NegBackward)
    }

    /// `eˣ`, with derivative `eˣ`. PyTorch: `torch.exp`.
    ///
    /// ```
    /// let x = tapegrad::Tensor::from_vec(vec![0.0, 1.0], &[2]).unwrap();
    /// let y = x.exp().to_vec();
    /// assert_eq!(y[0], 1.0); // e⁰ = 1
    /// assert!((y[1] - std::f32::consts::E).abs() < 1e-6);
    /// ```
    pub fn exp(&self) -> Tensor {
        let out = map(&self.data(), f32::exp);
        record(out.clone(), &[self], ExpBackward { result: out })
    }

    /// The natural logarithm `ln x`, with derivative `1/x`. PyTorch: `torch.log`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 4.0], &[2]).unwrap().requires_grad_(true);
    /// let y = x.log();
    /// assert_eq!(y.to_vec()[0], 0.0); // ln 1 = 0
    /// y.sum().backward();
    /// assert_eq!(x.grad().unwrap().to_vec(), vec![1.0, 0.25]); // 1/x
    /// ```
    pub fn log(&self) -> Tensor {
        let x = self.data();
        record(map(&x, f32::ln), &[self], LogBackward { input: x })
    }

    /// `√x`, with derivative `1/(2√x)`. PyTorch: `torch.sqrt`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let x = Tensor::from_vec(vec![4.0, 9.0], &[2]).unwrap().requires_grad_(true);
    /// let y = x.sqrt();
    /// assert_eq!(y.to_vec(), vec![2.0, 3.0]);
    /// y.sum().backward();
    /// assert_eq!(x.grad().unwrap().to_vec(), vec![0.25, 1.0 / 6.0]);
    /// ```
    pub fn sqrt(&self) -> Tensor {
        let out = map(&self.data(), f32::sqrt);
        record(out.clone(), &[self], SqrtBackward { result: out })
    }

    /// `|x|`. PyTorch: `torch.abs`. The gradient is `sign(x)`, so 0 at 0 (`sign(0) = 0`).
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let x = Tensor::from_vec(vec![-2.0, 0.0, 3.0], &[3]).unwrap().requires_grad_(true);
    /// let y = x.abs();
    /// assert_eq!(y.to_vec(), vec![2.0, 0.0, 3.0]);
    /// y.sum().backward();
    /// assert_eq!(x.grad().unwrap().to_vec(), vec![-1.0, 0.0, 1.0]);
    /// ```
    pub fn abs(&self) -> Tensor {
        let x = self.data();
        record(map(&x, f32::abs), &[self], AbsBackward { input: x })
    }

    /// `xᵉ` with a scalar exponent, with derivative `e·xᵉ⁻¹`.
    /// PyTorch: `torch.pow(input, exponent)` with a number (`x ** e`).
    /// See [`Tensor::pow_tensor`] for a tensor exponent.
    ///
    /// ```
    /// let x = tapegrad::Tensor::from_vec(vec![2.0, 3.0], &[2]).unwrap();
    /// assert_eq!(x.pow(2.0).to_vec(), vec![4.0, 9.0]);
    /// ```
    pub fn pow(&self, exponent: f32) -> Tensor {
        let x = self.data();
        let out = if exponent == 2.0 { map(&x, |v| v * v) } else { map(&x, |v| v.powf(exponent)) };
        record(out, &[self], PowBackward { input: x, exponent })
    }

    /// Limits every element to `[min, max]` (either bound optional).
    /// PyTorch: `torch.clamp(input, min, max)`. The gradient passes where
    /// `min ≤ x ≤ max` and is 0 elsewhere. If `min > max`, every element becomes `max`.
    ///
    /// ```
    /// let x = tapegrad::Tensor::from_vec(vec![-2.0, 0.5, 3.0], &[3]).unwrap();
    /// assert_eq!(x.clamp(Some(0.0), Some(1.0)).to_vec(), vec![0.0, 0.5, 1.0]);
    /// ```
    pub fn clamp(&self, min: Option<f32>, max: Option<f32>) -> Tensor {
        let x = self.data();
        let out = map(&x, |v| {
            // PyTorch: min(max(x, min), max), NaN propagating.
            let low = match min {
                Some(m) if v < m => m,
                _ => v,
            };
            match max {
                Some(m) if low > m => m,
                _ => low,
            }
        });
        record(out, &[self], ClampBackward { input: x, min, max })
    }

    /// `max(x, min)`. PyTorch: `torch.clamp_min` / `clamp(min=...)`.
    ///
    /// ```
    /// let x = tapegrad::Tensor::from_vec(vec![-1.0, 2.0], &[2]).unwrap();
    /// assert_eq!(x.clamp_min(0.0).to_vec(), vec![0.0, 2.0]);
    /// ```
    pub fn clamp_min(&self, min: f32) -> Tensor {
        self.clamp(Some(min), None)
    }

    /// `min(x, max)`. PyTorch: `torch.clamp_max` / `clamp(max=...)`.
    ///
    /// ```
    /// let x = tapegrad::Tensor::from_vec(vec![-1.0, 2.0], &[2]).unwrap();
    /// assert_eq!(x.clamp_max(1.0).to_vec(), vec![-1.0, 1.0]);
    /// ```
    pub fn clamp_max(&self, max: f32) -> Tensor {
        self.clamp(None, Some(max))
    }
}

/// d(−x)/dx = −1. Nothing saved.
struct NegBackward;

impl Backward for NegBackward {
    fn name(&self) -> &'static str {
        "NegBackward0"
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        vec![Some(map(grad, |g| -g))]
    }
}

/// d(eˣ)/dx = eˣ: the output is saved, not recomputed.
struct ExpBackward {
    result: SharedArray,
}

impl Backward for ExpBackward {
    fn name(&self) -> &'static str {
        "ExpBackward0"
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        vec![Some(grad_times(grad, &self.result, |y| y))]
    }
}

/// d(ln x)/dx = 1/x: the input is saved.
struct LogBackward {
    input: SharedArray,
}

impl Backward for LogBackward {
    fn name(&self) -> &'static str {
        "LogBackward0"
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        vec![Some(Zip::from(grad).and(&self.input).map_collect(|&g, &x| g / x).into_shared())]
    }
}

/// d(√x)/dx = 1/(2√x): the output is saved.
struct SqrtBackward {
    result: SharedArray,
}

impl Backward for SqrtBackward {
    fn name(&self) -> &'static str {
        "SqrtBackward0"
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        vec![Some(Zip::from(grad).and(&self.result).map_collect(|&g, &y| g / (2.0 * y)).into_shared())]
    }
}

/// d|x|/dx = sign(x), with sign(0) = 0: the input is saved.
struct AbsBackward {
    input: SharedArray,
}

impl Backward for AbsBackward {
    fn name(&self) -> &'static str {
        "AbsBackward0"
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        let sign = |x: f32| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        };
        vec![Some(grad_times(grad, &self.input, sign))]
    }
}

/// d(xᵉ)/dx = e·xᵉ⁻¹ (0 when e = 0): the input and the exponent are saved.
struct PowBackward {
    input: SharedArray,
    exponent: f32,
}

impl Backward for PowBackward {
    fn name(&self) -> &'static str {
        "PowBackward0"
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        let e = self.exponent;
        let derivative = move |x: f32| {
            if e == 0.0 {
                0.0
            } else if e == 2.0 {
                2.0 * x
            } else {
                e * x.powf(e - 1.0)
            }
        };
        vec![Some(grad_times(grad, &self.input, derivative))]
    }
}

/// d clamp(x)/dx = 1 where min ≤ x ≤ max, else 0: the input and the bounds are saved.
struct ClampBackward {
    input: SharedArray,
    min: Option<f32>,
    max: Option<f32>,
}

impl Backward for ClampBackward {
    fn name(&self) -> &'static str {
        "ClampBackward1"
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        let (min, max) = (self.min, self.max);
        let inside = move |x: f32| {
            let above_min = min.is_none_or(|m| x >= m);
            let below_max = max.is_none_or(|m| x <= m);
            if above_min && below_max { 1.0 } else { 0.0 }
        };
        vec![Some(grad_times(grad, &self.input, inside))]
    }
}
