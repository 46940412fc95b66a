//! The `torch.nn.functional` spellings (`F.relu(x)`, `F.linear(x, w, b)`, ...) of the ops
//! defined as `Tensor` methods in [`crate::ops`]. Each function forwards to the method of
//! the same name.

pub(crate) mod conv;
mod layers;
mod loss;
pub use {layers::*, loss::*};

pub use crate::nn::args::{IntOrTuple, Padding, PaddingArg, PaddingMode};
pub use crate::ops::activation::Approximate;
pub use crate::ops::pad::PadMode;
use crate::tensor::Tensor;
use conv::conv_functional;
pub use conv::{ConvDimension, conv_output_shape};

/// 1-d convolution, `out[n, o, x] = bias[o] + Σ_c Σ_j input[n, g·Cg + c, x·s + j·d − p] ·
/// weight[o, c, j]`. PyTorch: `F.conv1d(input, weight, bias=None, stride=1, padding=0,
/// dilation=1, groups=1)`. `input` is `(N, C, L)` or unbatched `(C, L)`; `weight` is
/// `(O, C/groups, k)`. See [`conv2d`] for the arguments.
///
/// # Panics
/// Wherever PyTorch raises, with PyTorch's message.
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let x = Tensor::from_vec(vec![1., 2., 3., 4., 5.], &[1, 1, 5]).unwrap();
/// let w = Tensor::from_vec(vec![1., 1.], &[1, 1, 2]).unwrap(); // sums of neighbours
/// assert_eq!(F::conv1d(&x, &w, None, 1, 0, 1, 1).to_vec(), vec![3., 5., 7., 9.]);
/// assert_eq!(F::conv1d(&x, &w, None, 2, 0, 1, 1).to_vec(), vec![3., 7.]); // stride 2
/// ```
#[track_caller]
pub fn conv1d(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    stride: impl Into<IntOrTuple>,
    padding: impl Into<PaddingArg>,
    dilation: impl Into<IntOrTuple>,
    groups: i64,
) -> Tensor {
    conv_functional(1, input, weight, bias, stride.into(), padding.into(), dilation.into(), groups)
}

/// 2-d convolution (cross-correlation, as in every deep-learning framework):
///
/// `out[n, o, y, x] = bias[o] + Σ_c Σ_i Σ_j input[n, g·Cg + c, y·s₀ + i·d₀ − p₀, x·s₁ + j·d₁ − p₁] · weight[o, c, i, j]`
///
/// where `g = o / (O/groups)` is the output channel's group and positions outside the
/// input read as 0. PyTorch: `F.conv2d(input, weight, bias=None, stride=1, padding=0,
/// dilation=1, groups=1)`.
///
/// * `input`: `(N, C, H, W)` or unbatched `(C, H, W)`; `weight`: `(O, C/groups, kH, kW)`;
///   `bias`: `(O,)`.
/// * `stride`, `dilation`: an int or `[h, w]`.
/// * `padding`: an int, `[h, w]`, `"valid"` (none) or `"same"` (output size = input size;
///   stride must be 1; an odd total puts the extra row/column at the bottom/right).
/// * output size per dim: `floor((in + before + after − dilation·(k − 1) − 1) / stride) + 1`.
///
/// # Panics
/// Wherever PyTorch raises, with PyTorch's message, e.g. "Given groups=1, weight of size
/// [1, 2, 3, 3], expected input[1, 1, 3, 3] to have 2 channels, but got 1 channels instead".
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let x = Tensor::from_vec(vec![4., 1., 7., 5., 4., 4., 2., 5., 7., 7., 2., 4., 1., 0., 2., 4.], &[1, 1, 4, 4]).unwrap();
/// let k = Tensor::from_vec(vec![1., 0., 2., 1.], &[1, 1, 2, 2]).unwrap();
/// let y = F::conv2d(&x, &k, None, 1, "same", 1, 1);
/// assert_eq!(y.to_vec()[..4], [16., 11., 16., 15.]);
/// ```
#[track_caller]
pub fn conv2d(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    stride: impl Into<IntOrTuple>,
    padding: impl Into<PaddingArg>,
    dilation: impl Into<IntOrTuple>,
    groups: i64,
) -> Tensor {
    conv_functional(2, input, weight, bias, stride.into(), padding.into(), dilation.into(), groups)
}

/// 3-d convolution: [`conv2d`]'s formula with a third spatial index. PyTorch:
/// `F.conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1)`. `input`
/// is `(N, C, D, H, W)` or unbatched `(C, D, H, W)`; `weight` is `(O, C/groups, kD, kH,
/// kW)`. See [`conv2d`] for the arguments.
///
/// # Panics
/// Wherever PyTorch raises, with PyTorch's message.
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let (x, w) = (Tensor::ones(&[1, 1, 3, 3, 3]), Tensor::ones(&[1, 1, 2, 2, 2]));
/// let y = F::conv3d(&x, &w, Some(&Tensor::full(&[1], 0.5)), 1, 0, 1, 1);
/// assert_eq!((y.shape(), y.to_vec()), (&[1, 1, 2, 2, 2][..], vec![8.5; 8])); // 2·2·2 ones + bias
/// ```
#[track_caller]
pub fn conv3d(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    stride: impl Into<IntOrTuple>,
    padding: impl Into<PaddingArg>,
    dilation: impl Into<IntOrTuple>,
    groups: i64,
) -> Tensor {
    conv_functional(3, input, weight, bias, stride.into(), padding.into(), dilation.into(), groups)
}

/// Pads the trailing dims. PyTorch: `F.pad(input, pad, mode='constant', value=None)`;
/// `pad` lists `(before, after)` pairs starting from the **last** dim. See [`Tensor::pad`].
///
/// # Panics
/// With PyTorch's message for an unknown mode ("Unrecognised padding mode mirror"), a
/// `value` with a non-constant mode, or pads that do not fit the input.
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let x = Tensor::ones(&[1, 2, 3]);
/// assert_eq!(F::pad(&x, &[1, 2], "constant", None).shape(), &[1, 2, 6]);
/// assert_eq!(F::pad(&x, &[1, 1, 1, 1], "replicate", None).shape(), &[1, 4, 5]);
/// ```
#[track_caller]
pub fn pad(input: &Tensor, pad: &[i64], mode: &str, value: Option<f32>) -> Tensor {
    let mode: PadMode = mode.parse().unwrap_or_else(|e: crate::Error| panic!("pad: {}", e.message()));
    if mode != PadMode::Constant && value.is_some_and(|v| v != 0.0) {
        panic!("pad: Padding mode \"{}\" doesn't take in value argument", mode.as_str());
    }
    input.pad(pad, mode, value.unwrap_or(0.0))
}

/// `max(x, 0)`. PyTorch: `F.relu(input)`. See [`Tensor::relu`].
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let x = Tensor::from_vec(vec![-1.0, 2.0], &[2]).unwrap();
/// assert_eq!(F::relu(&x).to_vec(), vec![0.0, 2.0]);
/// ```
pub fn relu(input: &Tensor) -> Tensor {
    input.relu()
}

/// `x` for `x > 0`, else `negative_slope·x`. PyTorch: `F.leaky_relu(input,
/// negative_slope=0.01)`. See [`Tensor::leaky_relu`].
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let x = Tensor::from_vec(vec![-4.0, 2.0], &[2]).unwrap();
/// assert_eq!(F::leaky_relu(&x, 0.25).to_vec(), vec![-1.0, 2.0]);
/// ```
pub fn leaky_relu(input: &Tensor, negative_slope: f32) -> Tensor {
    input.leaky_relu(negative_slope)
}

/// `σ(x) = 1 / (1 + e⁻ˣ)`. PyTorch: `F.sigmoid(input)`. See [`Tensor::sigmoid`].
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// assert_eq!(F::sigmoid(&Tensor::zeros(&[1])).item(), 0.5);
/// ```
pub fn sigmoid(input: &Tensor) -> Tensor {
    input.sigmoid()
}

/// `tanh x = (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ)`. PyTorch: `F.tanh(input)`. See [`Tensor::tanh`].
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// assert_eq!(F::tanh(&Tensor::zeros(&[1])).item(), 0.0);
/// ```
pub fn tanh(input: &Tensor) -> Tensor {
    input.tanh()
}

/// `x·Φ(x)`, Φ the standard normal CDF (or the tanh approximation). PyTorch: `F.gelu(input,
/// approximate='none')`. See [`Tensor::gelu`].
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let x = Tensor::from_vec(vec![0.0, 1.0], &[2]).unwrap();
/// let y = F::gelu(&x, F::Approximate::None).to_vec();
/// assert!(y[0] == 0.0 && (y[1] - 0.841_344_7).abs() < 1e-6); // Φ(1) = 0.8413447
/// ```
pub fn gelu(input: &Tensor, approximate: Approximate) -> Tensor {
    input.gelu(approximate)
}

/// Zeroes each element with probability `p` and scales the others by `1/(1 − p)` when
/// `training`; the identity otherwise. PyTorch: `F.dropout(input, p=0.5, training=True)`.
/// See [`Tensor::dropout`].
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// tapegrad::manual_seed(1);
/// let y = F::dropout(&Tensor::ones(&[100]), 0.75, true).to_vec();
/// assert!(y.iter().all(|&v| v == 0.0 || v == 4.0)); // kept ones become 1/(1 − 0.75)
/// assert_eq!(F::dropout(&Tensor::ones(&[2]), 0.75, false).to_vec(), vec![1.0, 1.0]);
/// ```
#[track_caller]
pub fn dropout(input: &Tensor, p: f64, training: bool) -> Tensor {
    input.dropout(p, training)
}

/// `softmax(x)ᵢ = exp(xᵢ) / Σⱼ exp(xⱼ)` along `dim`. PyTorch: `F.softmax(input, dim)`.
/// See [`Tensor::softmax`].
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let p = F::softmax(&Tensor::zeros(&[2, 4]), -1);
/// assert_eq!(p.to_vec(), vec![0.25; 8]);
/// ```
#[track_caller]
pub fn softmax(input: &Tensor, dim: isize) -> Tensor {
    input.softmax(dim)
}

/// `log_softmax(x)ᵢ = xᵢ − ln Σⱼ exp(xⱼ)` along `dim`, computed stably. PyTorch:
/// `F.log_softmax(input, dim)`. See [`Tensor::log_softmax`].
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let y = F::log_softmax(&Tensor::zeros(&[1, 4]), 1);
/// assert!(y.to_vec().iter().all(|v| (v + 4f32.ln()).abs() < 1e-6)); // ln ¼
/// ```
#[track_caller]
pub fn log_softmax(input: &Tensor, dim: isize) -> Tensor {
    input.log_softmax(dim)
}

/// `y = x·Wᵀ + b`. PyTorch: `F.linear(input, weight, bias=None)`.
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
