//! Binary elementwise ops with broadcasting: add, sub, mul, div, pow (tensor exponent),
//! maximum, minimum. Scalars operands go through the same ops as 0-d tensors.
//!
//! Each backward returns gradients in the broadcast output shape; the engine sums them back
//! to each operand's shape.

use ndarray::{IxDyn, Zip};

use super::broadcast::broadcast_shapes;
use crate::autograd::{Backward, record};
use crate::tensor::{SharedArray, Tensor};

/// `f(a, b)` elementwise over the broadcast shape of `a` and `b`.
#[track_caller]
pub(crate) fn broadcast_zip(op: &str, a: &SharedArray, b: &SharedArray, f: impl Fn(f32, f32) -> f32) -> SharedArray {
    let shape = broadcast_shapes(op, a.shape(), b.shape());
    let a = a.broadcast(IxDyn(&shape)).expect("broadcastable by check");
    let b = b.broadcast(IxDyn(&shape)).expect("broadcastable by check");
    Zip::from(&a).and(&b).map_collect(|&x, &y| f(x, y)).into_shared()
}

/// `f(a, b, c)` elementwise over the broadcast shape of three arrays (for backward passes:
/// gradient, then saved operands).
pub(crate) fn broadcast_zip3(
    a: &SharedArray,
    b: &SharedArray,
    c: &SharedArray,
    f: impl Fn(f32, f32, f32) -> f32,
) -> SharedArray {
    let shape = broadcast_shapes("backward", &broadcast_shapes("backward", a.shape(), b.shape()), c.shape());
    let a = a.broadcast(IxDyn(&shape)).expect("broadcastable by check");
    let b = b.broadcast(IxDyn(&shape)).expect("broadcastable by check");
    let c = c.broadcast(IxDyn(&shape)).expect("broadcastable by check");
    Zip::from(&a).and(&b).and(&c).map_collect(|&x, &y, &z| f(x, y, z)).into_shared()
}

impl Tensor {
    /// `self + other`, broadcasting. PyTorch: `torch.add`. Also the `+` operator, with
    /// tensors and `f32` on either side.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let a = Tensor::ones(&[2, 3]);
    /// let b = Tensor::arange(0.0, 3.0, 1.0);
    /// assert_eq!(a.add(&b).to_vec(), vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn add(&self, other: &Tensor) -> Tensor {
        let out = broadcast_zip("add", &self.data(), &other.data(), |a, b| a + b);
        record(out, &[self, other], AddBackward)
    }

    /// `self − other`, broadcasting. PyTorch: `torch.sub`; the `-` operator.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let a = Tensor::from_vec(vec![5.0, 7.0], &[2]).unwrap();
    /// assert_eq!(a.sub(&Tensor::scalar(1.0)).to_vec(), vec![4.0, 6.0]);
    /// assert_eq!((1.0 - &a).to_vec(), vec![-4.0, -6.0]);
    /// ```
    #[track_caller]
    pub fn sub(&self, other: &Tensor) -> Tensor {
        let out = broadcast_zip("sub", &self.data(), &other.data(), |a, b| a - b);
        record(out, &[self, other], SubBackward)
    }

    /// `self · other` elementwise, broadcasting; `∂/∂self = other`, `∂/∂other = self`.
    /// PyTorch: `torch.mul`; the `*` operator.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let a = Tensor::from_vec(vec![2.0, 3.0], &[2]).unwrap().requires_grad_(true);
    /// let b = Tensor::from_vec(vec![4.0, 5.0], &[2]).unwrap();
    /// let y = a.mul(&b);
    /// assert_eq!(y.to_vec(), vec![8.0, 15.0]);
    /// y.sum().backward();
    /// assert_eq!(a.grad().unwrap().to_vec(), vec![4.0, 5.0]);
    /// ```
    #[track_caller]
    pub fn mul(&self, other: &Tensor) -> Tensor {
        let (a, b) = (self.data(), other.data());
        let out = broadcast_zip("mul", &a, &b, |x, y| x * y);
        record(out, &[self, other], MulBackward { input: a, other: b })
    }

    /// `self / other` elementwise, broadcasting; `∂/∂self = 1/other`,
    /// `∂/∂other = −self/other²`. PyTorch: `torch.div`; the `/` operator.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 6.0], &[2]).unwrap();
    /// let b = Tensor::from_vec(vec![4.0, 3.0], &[2]).unwrap().requires_grad_(true);
    /// let y = a.div(&b);
    /// assert_eq!(y.to_vec(), vec![0.25, 2.0]);
    /// y.sum().backward();
    /// assert_eq!(b.grad().unwrap().to_vec(), vec![-1.0 / 16.0, -6.0 / 9.0]);
    /// ```
    #[track_caller]
    pub fn div(&self, other: &Tensor) -> Tensor {
        let (a, b) = (self.data(), other.data());
        let out = broadcast_zip("div", &a, &b, |x, y| x / y);
        record(out, &[self, other], DivBackward { input: a, other: b })
    }

    /// `aᵇ` elementwise with a tensor exponent, broadcasting; `∂/∂a = b·aᵇ⁻¹`,
    /// `∂/∂b = aᵇ·ln a`. PyTorch: `torch.pow(input, exponent)` with a tensor `exponent`.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let a = Tensor::from_vec(vec![2.0, 3.0], &[2]).unwrap();
    /// let b = Tensor::from_vec(vec![3.0, 2.0], &[2]).unwrap().requires_grad_(true);
    /// let y = a.pow_tensor(&b);
    /// assert_eq!(y.to_vec(), vec![8.0, 9.0]);
    /// y.sum().backward(); // ∂y/∂b = aᵇ·ln a
    /// let g = b.grad().unwrap().to_vec();
    /// assert!((g[0] - 8.0 * 2f32.ln()).abs() < 1e-5 && (g[1] - 9.0 * 3f32.ln()).abs() < 1e-5);
    /// ```
    #[track_caller]
    pub fn pow_tensor(&self, exponent: &Tensor) -> Tensor {
        let (a, b) = (self.data(), exponent.data());
        let out = broadcast_zip("pow", &a, &b, f32::powf);
        record(out.clone(), &[self, exponent], PowTensorBackward { input: a, exponent: b, result: out })
    }

    /// The elementwise maximum `max(a, b)`, broadcasting; NaN wins, as in PyTorch.
    /// PyTorch: `torch.maximum`. Where the two are equal, each gets half the gradient.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 5.0, 2.0], &[3]).unwrap().requires_grad_(true);
    /// let y = a.maximum(&Tensor::scalar(2.0)); // clamp from below, as a tensor op
    /// assert_eq!(y.to_vec(), vec![2.0, 5.0, 2.0]);
    /// y.sum().backward();
    /// assert_eq!(a.grad().unwrap().to_vec(), vec![0.0, 1.0, 0.5]); // a tie shares it
    /// ```
    #[track_caller]
    pub fn maximum(&self, other: &Tensor) -> Tensor {
        let (a, b) = (self.data(), other.data());
        let out = broadcast_zip("maximum", &a, &b, |x, y| if x.is_nan() || x > y { x } else { y });
        record(out, &[self, other], MaxMinBackward { input: a, other: b, name: "MaximumBackward0", sign: 1.0 })
    }

    /// The elementwise minimum `min(a, b)`, broadcasting; NaN wins, as in PyTorch.
    /// PyTorch: `torch.minimum`. Where the two are equal, each gets half the gradient.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 5.0], &[2]).unwrap();
    /// let b = Tensor::from_vec(vec![3.0, 4.0], &[2]).unwrap();
    /// assert_eq!(a.minimum(&b).to_vec(), vec![1.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn minimum(&self, other: &Tensor) -> Tensor {
        let (a, b) = (self.data(), other.data());
        let out = broadcast_zip("minimum", &a, &b, |x, y| if x.is_nan() || x < y { x } else { y });
        record(out, &[self, other], MaxMinBackward { input: a, other: b, name: "MinimumBackward0", sign: -1.0 })
    }
}

/// d(a+b)/da = d(a+b)/db = 1: the gradient passes through unchanged (shared, not copied).
struct AddBackward;

impl Backward for AddBackward {
    fn name(&self) -> &'static str {
        "AddBackward0"
    }
    fn backward(&self, grad: &SharedArray, needs: &[bool]) -> Vec<Option<SharedArray>> {
        vec![needs[0].then(|| grad.clone()), needs[1].then(|| grad.clone())]
    }
}

/// d(a−b)/da = 1, d(a−b)/db = −1.
struct SubBackward;

impl Backward for SubBackward {
    fn name(&self) -> &'static str {
        "SubBackward0"
    }
    fn backward(&self, grad: &SharedArray, needs: &[bool]) -> Vec<Option<SharedArray>> {
        vec![needs[0].then(|| grad.clone()), needs[1].then(|| grad.mapv(|g| -g).into_shared())]
    }
}

/// d(ab)/da = b, d(ab)/db = a: each operand is saved for the other's gradient.
struct MulBackward {
    input: SharedArray,
    other: SharedArray,
}

impl Backward for MulBackward {
    fn name(&self) -> &'static str {
        "MulBackward0"
    }
    fn backward(&self, grad: &SharedArray, needs: &[bool]) -> Vec<Option<SharedArray>> {
        vec![
            needs[0].then(|| broadcast_zip("mul", grad, &self.other, |g, b| g * b)),
            needs[1].then(|| broadcast_zip("mul", grad, &self.input, |g, a| g * a)),
        ]
    }
}

/// d(a/b)/da = 1/b, d(a/b)/db = −a/b²: both operands saved.
struct DivBackward {
    input: SharedArray,
    other: SharedArray,
}

impl Backward for DivBackward {
    fn name(&self) -> &'static str {
        "DivBackward0"
    }
    fn backward(&self, grad: &SharedArray, needs: &[bool]) -> Vec<Option<SharedArray>> {
        vec![
            needs[0].then(|| broadcast_zip("div", grad, &self.other, |g, b| g / b)),
            needs[1].then(|| broadcast_zip3(grad, &self.input, &self.other, |g, a, b| -g * a / (b * b))),
        ]
    }
}

/// d(aᵇ)/da = b·aᵇ⁻¹, d(aᵇ)/db = aᵇ·ln a (taken as 0 where a = 0 and b ≥ 0, as PyTorch
/// does). The operands and the result are saved.
struct PowTensorBackward {
    input: SharedArray,
    exponent: SharedArray,
    result: SharedArray,
}

impl Backward for PowTensorBackward {
    fn name(&self) -> &'static str {
        "PowBackward1"
    }
    fn backward(&self, grad: &SharedArray, needs: &[bool]) -> Vec<Option<SharedArray>> {
        let grad_input = needs[0].then(|| {
            broadcast_zip3(
                grad,
                &self.input,
                &self.exponent,
                |g, a, b| if b == 0.0 { 0.0 } else { g * b * a.powf(b - 1.0) },
            )
        });
        let grad_exponent = needs[1].then(|| {
            let g_times_result = broadcast_zip("pow", grad, &self.result, |g, r| g * r);
            broadcast_zip3(&g_times_result, &self.input, &self.exponent, |gr, a, b| {
                if a == 0.0 && b >= 0.0 { 0.0 } else { gr * a.ln() }
            })
        });
        vec![grad_input, grad_exponent]
    }
}

/// maximum/minimum: the gradient goes to the operand that was selected, half to each on a
/// tie (PyTorch's rule). `sign` is +1 for maximum, −1 for minimum.
struct MaxMinBackward {
    input: SharedArray,
    other: SharedArray,
    name: &'static str,
    sign: f32,
}

impl Backward for MaxMinBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, grad: &SharedArray, needs: &[bool]) -> Vec<Option<SharedArray>> {
        let sign = self.sign;
        let share = move |g: f32, mine: f32, theirs: f32| {
            if mine == theirs {
                g / 2.0
            } else if sign * (mine - theirs) > 0.0 || mine.is_nan() {
                g
            } else {
                0.0
            }
        };
        vec![
            needs[0].then(|| broadcast_zip3(grad, &self.input, &self.other, share)),
            needs[1].then(|| broadcast_zip3(grad, &self.other, &self.input, share)),
        ]
    }
}
