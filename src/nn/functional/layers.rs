//! `F.max_pool1d`, `F.max_pool2d`, `F.avg_pool2d`, `F.adaptive_avg_pool2d`, `F.batch_norm`,
//! `F.embedding`: PyTorch's argument checks, in PyTorch's order and with PyTorch's
//! messages, in front of the ops of [`crate::ops::pool`], [`crate::ops::batch_norm`] and
//! [`crate::ops::embedding`].

use ndarray::ArrayD;

use crate::nn::args::IntOrTuple;
use crate::ops::pool::{PoolGeometry, adaptive_spans, avg_pool, avg_pool_spans, max_pool, pooling_output_size};
use crate::tensor::{Tensor, check_allocation};

/// The `stride` of a pooling function: PyTorch's `stride=None | int | tuple`. `None` (the
/// default of every PyTorch pooling function and module) means "the kernel size". Built
/// with `.into()` from `None`, an int, an array, a slice or a `Vec` of ints.
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let x = Tensor::ones(&[1, 1, 6, 6]);
/// assert_eq!(F::max_pool2d(&x, 3, None, 0, 1, false).shape(), &[1, 1, 2, 2]); // stride 3
/// assert_eq!(F::max_pool2d(&x, 3, 1, 0, 1, false).shape(), &[1, 1, 4, 4]);
/// assert_eq!(F::max_pool2d(&x, 3, [1, 3], 0, 1, false).shape(), &[1, 1, 4, 2]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PoolStride(pub Option<IntOrTuple>);

impl<T: Into<IntOrTuple>> From<T> for PoolStride {
    fn from(stride: T) -> Self {
        PoolStride(Some(stride.into()))
    }
}

impl From<Option<IntOrTuple>> for PoolStride {
    fn from(stride: Option<IntOrTuple>) -> Self {
        PoolStride(stride)
    }
}

impl PoolStride {
    /// The values as ATen receives them: an empty list for `None`.
    pub(crate) fn values(&self) -> Vec<i64> {
        self.0.as_ref().map(|s| s.0.clone()).unwrap_or_default()
    }
}

/// Panics with `message`, prefixed by the op's name unless PyTorch's text already starts
/// with it (`"max_pool2d: kernel_size must ..."`), and followed by the shapes involved
/// unless the message already shows the first one (`"(input of shape [2, 3])"`).
#[track_caller]
fn raise(op: &str, message: String, shapes: &[(&str, &[usize])]) -> ! {
    let mut message = if message.starts_with(op) { message } else { format!("{op}: {message}") };
    if let Some((_, first)) = shapes.first()
        && !message.contains(&format!("{first:?}"))
    {
        let listed: Vec<String> = shapes.iter().map(|(name, shape)| format!("{name} of shape {shape:?}")).collect();
        message = format!("{message} ({})", listed.join(", "));
    }
    panic!("{message}")
}

/// `geometry` if its output (the input's leading dims, then the pooled sizes) can be
/// allocated: huge paddings or ceil-mode windows must not abort the process.
fn output_allocatable(shape: &[usize], spatial: usize, geometry: PoolGeometry) -> Result<PoolGeometry, String> {
    let out: Vec<usize> = shape[..shape.len() - spatial].iter().chain(&geometry.output).copied().collect();
    check_allocation(&out).map_err(|e| format!("the output: {}", e.message()))?;
    Ok(geometry)
}

/// The value for dim `i` of a 1-or-2-value argument (an int is used for both dims).
fn pick(values: &[i64], i: usize) -> i64 {
    if values.len() == 1 { values[0] } else { values[i] }
}

/// PyTorch's `pooling_output_shape` checks for one dim, then the size.
fn checked_output_size(input: usize, k: i64, pad: i64, stride: i64, dilation: i64, ceil: bool) -> Result<i64, String> {
    if stride == 0 {
        return Err("stride should not be zero".into());
    }
    if pad < 0 {
        return Err(format!("pad must be non-negative, but got pad: {pad}"));
    }
    if pad as i128 > ((k as i128 - 1) * dilation as i128 + 1) / 2 {
        return Err(format!(
            "pad should be at most half of effective kernel size, but got pad={pad}, kernel_size={k} and dilation={dilation}"
        ));
    }
    Ok(pooling_output_size(input as i64, k, pad, stride, dilation, ceil))
}

/// The checks of ATen's `max_pool2d_with_indices` / `avg_pool2d` (`dilation` is `[1]` for
/// average pooling) and `pool2d_shape_check`, for a 3-D or 4-D input.
#[allow(clippy::too_many_arguments)] // both ops' arguments
fn check_pool2d(
    op: &str,
    shape: &[usize],
    kernel: &[i64],
    stride: &[i64],
    padding: &[i64],
    dilation: &[i64],
    ceil_mode: bool,
    divisor_override: Option<i64>,
) -> Result<PoolGeometry, String> {
    let is_max = op == "max_pool2d";
    if kernel.len() != 1 && kernel.len() != 2 {
        return Err(format!("{op}: kernel_size must either be a single int, or a tuple of two ints"));
    }
    if !is_max && kernel.iter().any(|&k| k <= 0) {
        return Err("integer out of range".into());
    }
    if stride.len() > 2 {
        return Err(format!("{op}: stride must either be omitted, a single int, or a tuple of two ints"));
    }
    if !is_max && stride.iter().any(|&s| s < 0) {
        return Err("integer out of range".into());
    }
    if padding.len() != 1 && padding.len() != 2 {
        return Err(format!("{op}: padding must either be a single int, or a tuple of two ints"));
    }
    if dilation.len() != 1 && dilation.len() != 2 {
        return Err(format!("{op}: dilation must be either a single int, or a tuple of two ints"));
    }
    if divisor_override == Some(0) {
        return Err("divisor must be not zero".into());
    }
    let dims_ok = shape.len() == 3 || shape.len() == 4;
    if is_max && !dims_ok {
        return Err("non-empty 3D or 4D (batch mode) tensor expected for input".into());
    }
    let empty_dims =
        format!("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:{shape:?}");
    if !dims_ok {
        return Err(empty_dims);
    }
    let k = [pick(kernel, 0), pick(kernel, 1)];
    let s = if stride.is_empty() { k } else { [pick(stride, 0), pick(stride, 1)] };
    let p = [pick(padding, 0), pick(padding, 1)];
    let d = [pick(dilation, 0), pick(dilation, 1)];
    let (h, w) = (shape[shape.len() - 2], shape[shape.len() - 1]);
    let out_h = checked_output_size(h, k[0], p[0], s[0], d[0], ceil_mode)?;
    let out_w = checked_output_size(w, k[1], p[1], s[1], d[1], ceil_mode)?;
    if k.iter().any(|&v| v <= 0) {
        return Err(format!("kernel size should be greater than zero, but got kH: {} kW: {}", k[0], k[1]));
    }
    if s.iter().any(|&v| v <= 0) {
        return Err(format!("stride should be greater than zero, but got dH: {} dW: {}", s[0], s[1]));
    }
    if d.iter().any(|&v| v <= 0) {
        return Err(format!("dilation should be greater than zero, but got dilationH: {} dilationW: {}", d[0], d[1]));
    }
    let n = shape.len();
    if shape[n - 3] == 0 || h == 0 || w == 0 {
        return Err(empty_dims);
    }
    if out_h < 1 || out_w < 1 {
        let c = shape[n - 3];
        return Err(format!(
            "Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{out_h}x{out_w}). Output size is too small"
        ));
    }
    let to_usize = |v: [i64; 2]| v.map(|x| x as usize);
    Ok(PoolGeometry::new(&[h, w], &to_usize(k), &to_usize(s), &to_usize(p), &to_usize(d), ceil_mode))
}

/// The checks of ATen's `check_max_pool1d`, for a 2-D or 3-D input.
fn check_max_pool1d(
    shape: &[usize],
    kernel: &[i64],
    stride: &[i64],
    padding: &[i64],
    dilation: &[i64],
    ceil_mode: bool,
) -> Result<PoolGeometry, String> {
    if shape.len() != 2 && shape.len() != 3 {
        return Err(format!("max_pool1d() Expected 2D or 3D input tensor, but got {shape:?}"));
    }
    let size_check = |name: &str, v: &[i64], what: &str| -> Result<(), String> {
        let ok = v.len() == 1 || (name == "stride" && v.is_empty());
        if ok { Ok(()) } else { Err(format!("max_pool1d() {name} must be {what} of size 1 but got size {}", v.len())) }
    };
    size_check("kernel_size", kernel, "an int, list of ints or tuple of ints")?;
    size_check("stride", stride, "None, an int, list of ints, or tuple of ints")?;
    size_check("padding", padding, "an int, list of ints, or tuple of ints")?;
    size_check("dilation", dilation, "an int, list of ints or tuple of ints")?;
    let (k, p, d) = (kernel[0], padding[0], dilation[0]);
    let s = stride.first().copied().unwrap_or(k);
    if k <= 0 {
        return Err(format!("max_pool1d() kernel_size must be greater than zero, but got {k}"));
    }
    if s <= 0 {
        return Err(format!("max_pool1d() stride must be greater than zero, but got {s}"));
    }
    if p < 0 {
        return Err(format!("max_pool1d() padding must be non-negative, but got {p}"));
    }
    if p > k / 2 {
        return Err(format!(
            "max_pool1d() padding should be at most half of kernel size, but got padding={p} and kernel_size={k}"
        ));
    }
    if d <= 0 {
        return Err(format!("max_pool1d() dilation must be greater than zero, but got {d}"));
    }
    // PyTorch's no-grad kernel would return an empty plane here while its autograd path
    // (`max_pool1d_with_indices`, through `max_pool2d`) rejects it; tapegrad has one path
    // and rejects empty channel and length dims in both cases, with that path's message
    // adapted to the caller's shape (PyTorch prints the unsqueezed 4-d shape).
    if shape[shape.len() - 2..].contains(&0) {
        return Err(format!(
            "max_pool1d() Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, but got:{shape:?}"
        ));
    }
    let length = shape[shape.len() - 1];
    let out = checked_output_size(length, k, p, s, d, ceil_mode)?;
    if out <= 0 {
        return Err(format!("max_pool1d() Invalid computed output size: {out}"));
    }
    let u = |v: i64| [v as usize];
    Ok(PoolGeometry::new(&[length], &u(k), &u(s), &u(p), &u(d), ceil_mode))
}

/// The shared body of `F.max_pool1d/2d` (and their `_with_indices` forms); `spatial` is 1
/// or 2. Used by the modules too.
#[track_caller]
#[allow(clippy::too_many_arguments)] // PyTorch's argument list, plus the dimensionality
pub(crate) fn max_pool_functional(
    spatial: usize,
    input: &Tensor,
    kernel_size: &IntOrTuple,
    stride: &PoolStride,
    padding: &IntOrTuple,
    dilation: &IntOrTuple,
    ceil_mode: bool,
    return_indices: bool,
) -> (Tensor, Option<ArrayD<i64>>) {
    let op = if spatial == 1 { "max_pool1d" } else { "max_pool2d" };
    let (k, s, p, d) = (&kernel_size.0, stride.values(), &padding.0, &dilation.0);
    let geometry = if spatial == 1 {
        check_max_pool1d(input.shape(), k, &s, p, d, ceil_mode)
    } else {
        check_pool2d(op, input.shape(), k, &s, p, d, ceil_mode, None)
    };
    let geometry = geometry
        .and_then(|g| output_allocatable(input.shape(), spatial, g))
        .unwrap_or_else(|m| raise(op, m, &[("input", input.shape())]));
    max_pool(input, &geometry, return_indices)
}

/// 1-d max pooling over the last dim of `(N, C, L)` or unbatched `(C, L)`:
/// `out[.., o] = max_j input[.., o·stride − padding + j·dilation]`, `j < kernel_size`, the
/// padding counting as −∞. PyTorch: `F.max_pool1d(input, kernel_size, stride=None,
/// padding=0, dilation=1, ceil_mode=False)`.
///
/// Output length: `⌊(L + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1` (⌈⌉ with
/// `ceil_mode`, dropping a last window that would start in the right padding).
///
/// # Panics
/// Wherever PyTorch raises, with PyTorch's message, e.g. "max_pool1d() padding should be at
/// most half of kernel size, but got padding=2 and kernel_size=2".
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let x = Tensor::from_vec(vec![1., 3., 2., 5., 4.], &[1, 5]).unwrap();
/// assert_eq!(F::max_pool1d(&x, 2, None, 0, 1, false).to_vec(), vec![3., 5.]);
/// assert_eq!(F::max_pool1d(&x, 2, None, 0, 1, true).to_vec(), vec![3., 5., 4.]);
/// ```
#[track_caller]
pub fn max_pool1d(
    input: &Tensor,
    kernel_size: impl Into<IntOrTuple>,
    stride: impl Into<PoolStride>,
    padding: impl Into<IntOrTuple>,
    dilation: impl Into<IntOrTuple>,
    ceil_mode: bool,
) -> Tensor {
    let (k, s, p, d) = (kernel_size.into(), stride.into(), padding.into(), dilation.into());
    max_pool_functional(1, input, &k, &s, &p, &d, ceil_mode, false).0
}

/// [`max_pool1d`] that also returns, for each output, the position `l` of the input element
/// it took. PyTorch: `F.max_pool1d(..., return_indices=True)`.
///
/// # Panics
/// As [`max_pool1d`].
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let x = Tensor::from_vec(vec![1., 3., 2., 5., 4.], &[1, 1, 5]).unwrap();
/// let (y, indices) = F::max_pool1d_with_indices(&x, 3, 2, 1, 1, false);
/// assert_eq!(y.to_vec(), vec![3., 5., 5.]); // windows [−1, 2), [1, 4), [3, 6)
/// assert_eq!(indices.into_raw_vec_and_offset().0, vec![1, 3, 3]);
/// ```
#[track_caller]
pub fn max_pool1d_with_indices(
    input: &Tensor,
    kernel_size: impl Into<IntOrTuple>,
    stride: impl Into<PoolStride>,
    padding: impl Into<IntOrTuple>,
    dilation: impl Into<IntOrTuple>,
    ceil_mode: bool,
) -> (Tensor, ArrayD<i64>) {
    let (k, s, p, d) = (kernel_size.into(), stride.into(), padding.into(), dilation.into());
    let (out, indices) = max_pool_functional(1, input, &k, &s, &p, &d, ceil_mode, true);
    (out, indices.expect("asked for indices"))
}

/// 2-d max pooling of `(N, C, H, W)` or unbatched `(C, H, W)`:
///
/// `out[.., y, x] = max_{i < kH, j < kW} input[.., y·s₀ − p₀ + i·d₀, x·s₁ − p₁ + j·d₁]`
///
/// with positions outside the input counting as −∞. PyTorch: `F.max_pool2d(input,
/// kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)`.
///
/// * `kernel_size`, `padding`, `dilation`: an int or `[h, w]`; `stride`: `None` (= the
///   kernel size), an int or `[h, w]`.
/// * `padding` must be at most half the effective kernel size `dilation·(k − 1) + 1`.
/// * output size per dim: `⌊(in + 2p − d·(k − 1) − 1) / s⌋ + 1`; with `ceil_mode`, ⌈⌉, and a
///   last window that would start in the right padding is dropped.
/// * the gradient flows to the element each window took (the first one on ties).
///
/// # Panics
/// Wherever PyTorch raises, with PyTorch's message, e.g. "max_pool2d: pad should be at
/// most half of effective kernel size, but got pad=2, kernel_size=2 and dilation=1".
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let x = Tensor::from_vec((0..16).map(|v| v as f32).collect(), &[1, 1, 4, 4]).unwrap();
/// assert_eq!(F::max_pool2d(&x, 2, None, 0, 1, false).to_vec(), vec![5., 7., 13., 15.]);
/// assert_eq!(F::max_pool2d(&x, 3, 2, 1, 1, false).to_vec(), vec![5., 7., 13., 15.]);
/// ```
#[track_caller]
pub fn max_pool2d(
    input: &Tensor,
    kernel_size: impl Into<IntOrTuple>,
    stride: impl Into<PoolStride>,
    padding: impl Into<IntOrTuple>,
    dilation: impl Into<IntOrTuple>,
    ceil_mode: bool,
) -> Tensor {
    let (k, s, p, d) = (kernel_size.into(), stride.into(), padding.into(), dilation.into());
    max_pool_functional(2, input, &k, &s, &p, &d, ceil_mode, false).0
}

/// [`max_pool2d`] that also returns PyTorch's indices: for each output element, the flat
/// offset `h·W + w` of the input element it took, within its `(H, W)` plane (the form
/// `F.max_unpool2d` expects). PyTorch: `F.max_pool2d(..., return_indices=True)`.
///
/// # Panics
/// As [`max_pool2d`].
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let x = Tensor::from_vec(vec![1., 9., 2., 3., 4., 8., 7., 6.], &[1, 2, 4]).unwrap();
/// let (y, indices) = F::max_pool2d_with_indices(&x, 2, None, 0, 1, false);
/// assert_eq!(y.to_vec(), vec![9., 7.]);
/// assert_eq!(indices.into_raw_vec_and_offset().0, vec![1, 6]); // (0, 1) and (1, 2)
/// ```
#[track_caller]
pub fn max_pool2d_with_indices(
    input: &Tensor,
    kernel_size: impl Into<IntOrTuple>,
    stride: impl Into<PoolStride>,
    padding: impl Into<IntOrTuple>,
    dilation: impl Into<IntOrTuple>,
    ceil_mode: bool,
) -> (Tensor, ArrayD<i64>) {
    let (k, s, p, d) = (kernel_size.into(), stride.into(), padding.into(), dilation.into());
    let (out, indices) = max_pool_functional(2, input, &k, &s, &p, &d, ceil_mode, true);
    (out, indices.expect("asked for indices"))
}

/// 2-d average pooling of `(N, C, H, W)` or unbatched `(C, H, W)`: each output is the sum
/// of its window divided by a divisor. PyTorch: `F.avg_pool2d(input, kernel_size,
/// stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None)`.
///
/// Per dim, window `o` starts at `hs = o·s − p` and ends at `he = min(hs + k, in + p)`; the
/// sum runs over the part inside the input (the padding is 0). The divisor is
/// `divisor_override` if given, else `(he − hs)` per dim multiplied when
/// `count_include_pad`, else the number of input elements summed. So with `ceil_mode`, the
/// part of a window beyond the padding is not counted even with `count_include_pad`.
/// Output size as [`max_pool2d`] with dilation 1.
///
/// # Panics
/// Wherever PyTorch raises, with PyTorch's message ("divisor must be not zero", "pad should
/// be at most half of effective kernel size, ...").
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let x = Tensor::ones(&[1, 1, 2, 2]);
/// // padding 1: the corner windows hold 1 real element of 4
/// assert_eq!(F::avg_pool2d(&x, 2, 1, 1, false, true, None).to_vec()[0], 0.25);
/// assert_eq!(F::avg_pool2d(&x, 2, 1, 1, false, false, None).to_vec()[0], 1.0);
/// assert_eq!(F::avg_pool2d(&x, 2, None, 0, false, true, Some(3)).to_vec(), vec![4.0 / 3.0]);
/// ```
#[track_caller]
pub fn avg_pool2d(
    input: &Tensor,
    kernel_size: impl Into<IntOrTuple>,
    stride: impl Into<PoolStride>,
    padding: impl Into<IntOrTuple>,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Option<i64>,
) -> Tensor {
    let (k, s, p) = (kernel_size.into().0, stride.into().values(), padding.into().0);
    let g = check_pool2d("avg_pool2d", input.shape(), &k, &s, &p, &[1], ceil_mode, divisor_override)
        .and_then(|g| output_allocatable(input.shape(), 2, g))
        .unwrap_or_else(|m| raise("avg_pool2d", m, &[("input", input.shape())]));
    let spans = std::array::from_fn(|i| {
        avg_pool_spans(g.input[i], g.kernel[i], g.stride[i], g.padding[i], g.output[i], count_include_pad)
    });
    avg_pool(input, 2, spans, divisor_override, false)
}

/// 2-d adaptive average pooling of `(N, C, H, W)` or unbatched `(C, H, W)` to a fixed
/// output size: output `(i, j)` is the mean of rows `[⌊i·H/OH⌋, ⌈(i+1)·H/OH⌉)` and columns
/// `[⌊j·W/OW⌋, ⌈(j+1)·W/OW⌉)`. Windows may overlap, and an output larger than the input is
/// allowed. PyTorch: `F.adaptive_avg_pool2d(input, output_size)`.
///
/// `output_size` is an int (square) or `[OH, OW]` (PyTorch's `None` entries, "keep the
/// input's size", are not supported). As in PyTorch, an output size of 1×1 is computed as
/// `input.mean_dim([-1, -2], true)`.
///
/// # Panics
/// Wherever PyTorch raises, with PyTorch's message ("adaptive_avg_pool2d(): Expected 3D or
/// 4D tensor, but got [2, 3]", negative sizes, empty spatial dims).
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let x = Tensor::from_vec((0..6).map(|v| v as f32).collect(), &[1, 1, 6]).unwrap();
/// // windows [0, 2), [2, 4), [4, 6) along W; H = 1
/// assert_eq!(F::adaptive_avg_pool2d(&x, [1, 3]).to_vec(), vec![0.5, 2.5, 4.5]);
/// // 6 → 4: windows [0, 2), [1, 3), [3, 5), [4, 6) overlap
/// assert_eq!(F::adaptive_avg_pool2d(&x, [1, 4]).to_vec(), vec![0.5, 1.5, 3.5, 4.5]);
/// ```
#[track_caller]
pub fn adaptive_avg_pool2d(input: &Tensor, output_size: impl Into<IntOrTuple>) -> Tensor {
    let shape = input.shape();
    let fail = |m: String| raise("adaptive_avg_pool2d", m, &[("input", shape)]);
    let size = output_size.into().0;
    if size.len() != 1 && size.len() != 2 {
        fail("adaptive_avg_pool2d: output_size must be 2".into());
    }
    let (oh, ow) = (pick(&size, 0), pick(&size, 1));
    if oh < 0 || ow < 0 {
        fail(format!(
            "adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but received {{{oh}, {ow}}}"
        ));
    }
    // The input checks come before the 1×1 shortcut, so that it never sees a bad input.
    let ndim = shape.len();
    if ndim != 3 && ndim != 4 {
        fail(format!("adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got {shape:?}"));
    }
    for dim in [ndim - 2, ndim - 1] {
        if shape[dim] == 0 {
            fail(format!(
                "adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch dimensions, but input has sizes {shape:?} with dimension {dim} being empty"
            ));
        }
    }
    let out_shape = [&shape[..ndim - 2], &[oh as usize, ow as usize]].concat();
    if let Err(e) = check_allocation(&out_shape) {
        fail(format!("output_size {{{oh}, {ow}}}: {}", e.message()));
    }
    if (oh, ow) == (1, 1) {
        return input.mean_dim([-1, -2], true);
    }
    let spans = [adaptive_spans(shape[ndim - 2], oh as usize), adaptive_spans(shape[ndim - 1], ow as usize)];
    avg_pool(input, 2, spans, None, true)
}

/// Batch normalisation over every dim except dim 1 (the channels) of `(N, C, *)`:
/// `y = (x − μ) / √(σ² + eps) · weight + bias`, per channel. PyTorch: `F.batch_norm(input,
/// running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
/// eps=1e-05)`.
///
/// * `training`: μ and σ² are the batch mean and **biased** variance; when given,
///   `running_mean ← (1 − momentum)·running_mean + momentum·μ` and `running_var ← (1 −
///   momentum)·running_var + momentum·σ²·n/(n − 1)` (the **unbiased** variance, `n = N·∏*`),
///   in place and outside the graph.
/// * eval (`training = false`): μ and σ² are the running statistics, left unchanged.
/// * gradients flow to `input`, `weight` and `bias` (see [`crate::ops::batch_norm`]).
///
/// # Panics
/// Wherever PyTorch raises, with PyTorch's message: "Expected more than 1 value per channel
/// when training, got input size torch.Size([1, 3])", "running_mean should contain 3
/// elements not 4", "running_mean must be defined in evaluation mode".
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let x = Tensor::from_vec(vec![1., 10., 3., 20.], &[2, 2]).unwrap();
/// let (mean, var) = (Tensor::zeros(&[2]), Tensor::ones(&[2]));
/// let y = F::batch_norm(&x, Some(&mean), Some(&var), None, None, true, 0.1, 0.0);
/// assert_eq!(y.to_vec(), vec![-1., -1., 1., 1.]);
/// assert_eq!(mean.to_vec(), vec![0.2, 1.5]); // 0.1 · [2, 15]
/// let _ = F::batch_norm(&x, Some(&mean), Some(&var), None, None, false, 0.1, 0.0);
/// assert_eq!(mean.to_vec(), vec![0.2, 1.5]); // eval mode leaves them alone
/// ```
#[track_caller]
#[allow(clippy::too_many_arguments)] // PyTorch's argument list
pub fn batch_norm(
    input: &Tensor,
    running_mean: Option<&Tensor>,
    running_var: Option<&Tensor>,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    training: bool,
    momentum: f64,
    eps: f64,
) -> Tensor {
    let shape = input.shape();
    let fail = |m: String| raise("batch_norm", m, &[("input", shape)]);
    if shape.len() < 2 {
        fail(format!("expected an input of at least 2 dims (N, C, *), but got input of size {shape:?}"));
    }
    if training && shape[0] * shape[2..].iter().product::<usize>() == 1 {
        fail(format!("Expected more than 1 value per channel when training, got input size torch.Size({shape:?})"));
    }
    let channels = shape[1];
    let stats = [("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)];
    for (name, tensor) in stats {
        match tensor {
            Some(t) if t.numel() != channels => {
                fail(format!("{name} should contain {channels} elements not {}", t.numel()))
            }
            None if !training && name.starts_with("running") => {
                fail(format!("{name} must be defined in evaluation mode"))
            }
            _ => {}
        }
    }
    crate::ops::batch_norm::batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
}

/// A lookup table: `out[..., :] = weight[input[...], :]`, output shape `input.shape + [D]`
/// for `weight` `(V, D)`. PyTorch: `F.embedding(input, weight, padding_idx=None)`.
///
/// `input` holds integer ids in an `f32` tensor (the crate's convention for index tensors:
/// see [`crate::ops::embedding`]). Only `weight` gets a gradient, a scatter-add of the
/// output gradient; the `padding_idx` row (negative values count from the end) gets none.
/// The forward does not zero the padding row ([`crate::nn::Embedding`] zeroes it at
/// initialisation).
///
/// # Panics
/// With PyTorch's messages: "Padding_idx must be within num_embeddings", "'weight' must be
/// 2-D", "index out of range in self"; also for ids that are not whole numbers.
///
/// ```
/// use tapegrad::{Tensor, nn::functional as F};
/// let weight = Tensor::from_vec(vec![0., 0., 1., 1., 2., 2.], &[3, 2]).unwrap().requires_grad_(true);
/// let ids = Tensor::from_vec(vec![2., 1., 2., 0.], &[2, 2]).unwrap();
/// let out = F::embedding(&ids, &weight, Some(-1)); // padding_idx = 2
/// assert_eq!(out.shape(), &[2, 2, 2]);
/// assert_eq!(out.to_vec()[..2], [2., 2.]); // the padding row is still read
/// out.sum().backward();
/// assert_eq!(weight.grad().unwrap().to_vec(), vec![1., 1., 1., 1., 0., 0.]);
/// ```
#[track_caller]
pub fn embedding(input: &Tensor, weight: &Tensor, padding_idx: Option<i64>) -> Tensor {
    let fail = |m: String| raise("embedding", m, &[("input", input.shape()), ("weight", weight.shape())]);
    let num_embeddings = weight.shape().first().copied().unwrap_or(0) as i64;
    let padding_idx = padding_idx.map(|p| {
        // PyTorch: `assert padding_idx < weight.size(0)` if > 0, `>= -weight.size(0)` if < 0.
        if (p > 0 && p >= num_embeddings) || (p < 0 && p < -num_embeddings) {
            fail("Padding_idx must be within num_embeddings".into());
        }
        if p < 0 { p + num_embeddings } else { p }
    });
    if weight.dim() != 2 {
        fail("'weight' must be 2-D".into());
    }
    crate::ops::embedding::embedding(input, weight, padding_idx.map(|p| p as usize))
}
