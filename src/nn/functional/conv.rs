//! `F.conv1d`, `F.conv2d`, `F.conv3d`: PyTorch's argument checks, in PyTorch's order and
//! with PyTorch's messages, in front of the im2col + GEMM op of [`crate::ops::conv`].

use crate::nn::args::{IntOrTuple, Padding, PaddingArg};
use crate::ops::conv::{ConvGeometry, conv_nd};
use crate::tensor::{Tensor, check_allocation};

/// The shared body of `F.conv1d/2d/3d`: `spatial` is 1, 2 or 3.
///
/// # Panics
/// Whenever PyTorch raises, with its message prefixed by the function's name.
#[track_caller]
#[allow(clippy::too_many_arguments)] // PyTorch's argument list, plus the dimensionality
pub(crate) fn conv_functional(
    spatial: usize,
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    stride: IntOrTuple,
    padding: PaddingArg,
    dilation: IntOrTuple,
    groups: i64,
) -> Tensor {
    let name = format!("conv{spatial}d");
    let fail = |msg: String| -> ! { panic!("{name}: {msg}") };

    // batchify: (C, *spatial) becomes (1, C, *spatial) and the result loses the 1 again.
    let (unbatched, batched_dims) = (spatial + 1, spatial + 2);
    if input.dim() != unbatched && input.dim() != batched_dims {
        fail(format!(
            "Expected {unbatched}D (unbatched) or {batched_dims}D (batched) input to {name}, but got input of size: {:?}",
            input.shape()
        ));
    }
    let is_batched = input.dim() == batched_dims;
    let x = if is_batched { input.clone() } else { input.unsqueeze(0) };

    let pads = match padding.for_functional().unwrap_or_else(|m| fail(m)) {
        Padding::Explicit(p) => Pads::Symmetric(IntOrTuple(p)),
        Padding::Valid => Pads::Symmetric(IntOrTuple(vec![0])),
        Padding::Same => Pads::Pairs(same_padding(&x, weight, &stride, &dilation, groups).unwrap_or_else(|m| fail(m))),
    };
    let out = convolution(&x, weight, bias, &stride, pads, &dilation, groups).unwrap_or_else(|m| fail(m));
    if is_batched { out } else { out.squeeze_dim(0) }
}

/// The 'same' padding of one dim, `(before, after)`: `total = dilation·(k − 1)`, the
/// smaller half before (Python's floor division, as PyTorch), the rest after. Shared by
/// `F.conv*`, the modules' padding modes and [`conv_output_shape`].
pub(crate) fn same_padding_split(kernel: i64, dilation: i64) -> (i64, i64) {
    // Saturating: a total beyond i64 is rejected later as a kernel larger than the input.
    let total = dilation.saturating_mul(kernel.saturating_sub(1));
    let before = total.div_euclid(2);
    (before, total - before)
}

/// PyTorch's check that the (dilated) kernel fits in the padded input, per dim, with its
/// message.
fn check_kernel_fits(padded: &[i64], reach: &[i64]) -> Result<(), String> {
    if padded.iter().zip(reach).all(|(p, r)| p >= r) {
        return Ok(());
    }
    let join = |v: &[i64]| v.iter().map(i64::to_string).collect::<Vec<_>>().join(" x ");
    Err(format!(
        "Calculated padded input size per channel: ({}). Kernel size: ({}). Kernel size can't be greater than actual input size",
        join(padded),
        join(reach)
    ))
}

/// Padding as `_convolution` receives it: PyTorch's symmetric int-or-tuple, or the
/// per-dim `(before, after)` pairs that 'same' computed.
enum Pads {
    Symmetric(IntOrTuple),
    Pairs(Vec<(i64, i64)>),
}

/// PyTorch's `_convolution_same`: checks, then `total = dilation·(k − 1)` per dim, split
/// `(total / 2, total − total / 2)`.
fn same_padding(
    x: &Tensor,
    weight: &Tensor,
    stride: &IntOrTuple,
    dilation: &IntOrTuple,
    groups: i64,
) -> Result<Vec<(i64, i64)>, String> {
    let k = weight.dim();
    if k <= 2 {
        return Err("weight should have at least three dimensions".into());
    }
    if groups <= 0 {
        return Err("non-positive groups is not supported".into());
    }
    let dims = k - 2;
    if x.dim() != k {
        return Err(format!(
            "Expected {k}-dimensional input for {k}-dimensional weight {:?}, but got {}-dimensional input of size {:?} instead",
            weight.shape(),
            x.dim(),
            x.shape()
        ));
    }
    if stride.0.len() != dims && stride.0.len() != 1 {
        return Err(format!("stride cannot broadcast to {dims} dimensions"));
    }
    if dilation.0.len() != dims && dilation.0.len() != 1 {
        return Err(format!("dilation cannot broadcast to {dims} dimensions"));
    }
    if stride.0.iter().any(|&s| s != 1) {
        return Err("padding='same' is not supported for strided convolutions".into());
    }
    let dilation = dilation.expand("dilation", dims)?;
    Ok((0..dims).map(|i| same_padding_split(weight.shape()[i + 2] as i64, dilation[i])).collect())
}

/// PyTorch's `_convolution` + `check_shape_forward` for a batched input and explicit
/// `(before, after)` padding; then the op.
fn convolution(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    stride: &IntOrTuple,
    pads: Pads,
    dilation: &IntOrTuple,
    groups: i64,
) -> Result<Tensor, String> {
    let ws = weight.shape();
    if ws.len() <= 2 {
        return Err("weight should have at least three dimensions".into());
    }
    if groups <= 0 {
        return Err("non-positive groups is not supported".into());
    }
    let dims = ws.len() - 2;
    // PyTorch expands stride, then padding, then dilation: the first bad one is reported.
    let stride = stride.expand("stride", dims)?;
    let pads: Vec<(i64, i64)> = match pads {
        Pads::Symmetric(p) => p.expand("padding", dims)?.into_iter().map(|v| (v, v)).collect(),
        Pads::Pairs(pairs) => pairs,
    };
    let dilation = dilation.expand("dilation", dims)?;

    // check_shape_forward
    if pads.iter().any(|&(b, a)| b < 0 || a < 0) {
        return Err("negative padding is not supported".into());
    }
    if stride.iter().any(|&s| s <= 0) {
        return Err("non-positive stride is not supported".into());
    }
    if dilation.iter().any(|&d| d < 0) {
        return Err("dilation should be greater than zero".into());
    }
    let xs = x.shape();
    if ws.len() != xs.len() {
        return Err(format!(
            "Expected {}-dimensional input for {}-dimensional weight {ws:?}, but got {}-dimensional input of size {xs:?} instead",
            ws.len(),
            ws.len(),
            xs.len()
        ));
    }
    let groups_u = groups as usize;
    if ws[0] < groups_u {
        return Err(format!(
            "Given groups={groups}, expected weight to be at least {groups} at dimension 0, but got weight of size {ws:?} instead"
        ));
    }
    if !ws[0].is_multiple_of(groups_u) {
        return Err(format!(
            "Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but got weight of size [{ws:?}] instead"
        ));
    }
    if xs[1] != ws[1] * groups_u {
        return Err(format!(
            "Given groups={groups}, weight of size {ws:?}, expected input{xs:?} to have {} channels, but got {} channels instead",
            ws[1] * groups_u,
            xs[1]
        ));
    }
    if let Some(bias) = bias
        && (bias.dim() != 1 || bias.shape()[0] != ws[0])
    {
        return Err(format!(
            "Given weight of size {ws:?}, expected bias to be 1-dimensional with {} elements, but got bias of size {:?} instead",
            ws[0],
            bias.shape()
        ));
    }
    let (padded, reach) = padded_and_reach(&xs[2..], &pads, &ws[2..], &dilation)?;
    check_kernel_fits(&padded, &reach)?;
    if dilation.contains(&0) {
        return Err(format!("dilation should be greater than zero, but got {dilation:?}"));
    }
    if ws[2..].contains(&0) {
        let names = ["kernel_depth", "kernel_height", "kernel_width"];
        let listed: Vec<String> =
            ws[2..].iter().zip(&names[3 - dims.min(3)..]).map(|(k, n)| format!("{n}: {k}")).collect();
        return Err(format!("kernel size should be greater than zero, but got {}", listed.join(" ")));
    }

    // The output must be a tensor (its size can overflow with huge paddings).
    let out_shape: Vec<usize> = [xs[0], ws[0]]
        .into_iter()
        .chain((0..dims).map(|i| ((padded[i] - reach[i]) / stride[i] + 1) as usize))
        .collect();
    check_allocation(&out_shape).map_err(|e| format!("the output: {}", e.message()))?;
    let to_usize = |v: &[i64]| v.iter().map(|&x| x as usize).collect::<Vec<_>>();
    let pads_usize: Vec<(usize, usize)> = pads.iter().map(|&(b, a)| (b as usize, a as usize)).collect();
    let geometry = ConvGeometry::new(xs, ws, groups_u, &to_usize(&stride), &to_usize(&dilation), &pads_usize);
    Ok(conv_nd(x, weight, bias, geometry))
}

/// Per spatial dim, the padded input size `input + before + after` and the kernel's reach
/// `dilation·(kernel − 1) + 1`, or PyTorch's error for sizes that do not fit in `i64`.
fn padded_and_reach(
    input: &[usize],
    pads: &[(i64, i64)],
    kernel: &[usize],
    dilation: &[i64],
) -> Result<(Vec<i64>, Vec<i64>), String> {
    let mut padded = Vec::with_capacity(input.len());
    let mut reach = Vec::with_capacity(input.len());
    for i in 0..input.len() {
        let p = (input[i] as i64).checked_add(pads[i].0).and_then(|v| v.checked_add(pads[i].1));
        let r = dilation[i].checked_mul(kernel[i] as i64 - 1).and_then(|v| v.checked_add(1));
        match (p, r) {
            (Some(p), Some(r)) => {
                padded.push(p);
                reach.push(r);
            }
            _ => {
                return Err(format!(
                    "padding {:?} and dilation {dilation:?} overflow the sizes of input {input:?} and kernel {kernel:?}",
                    pads.iter().map(|&(b, a)| [b, a]).collect::<Vec<_>>()
                ));
            }
        }
    }
    Ok((padded, reach))
}

/// How one spatial dim of a convolution's output comes about; see [`conv_output_shape`].
/// tapegrad-only, no PyTorch counterpart (PyTorch gives the formula in `nn.Conv2d`'s
/// docstring).
///
/// `output = ⌊(input + pad_before + pad_after − dilation·(kernel − 1) − 1) / stride⌋ + 1`.
///
/// ```
/// use tapegrad::nn::functional::conv_output_shape;
/// let w = &conv_output_shape(&[32, 32], 5, 1, 0, 1).unwrap()[1]; // LeNet's first layer
/// assert_eq!((w.name, w.input, w.kernel, w.output), ("W_out", 32, 5, 28)); // 32 − 4 = 28
/// assert_eq!(w.formula, "W_out = floor((32 + 0 + 0 − 1·(5 − 1) − 1) / 1) + 1 = 28");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvDimension {
    /// `"H_out"`, `"W_out"`, `"D_out"` or `"L_out"`.
    pub name: &'static str,
    /// Input size along this dim.
    pub input: usize,
    /// Kernel size.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Dilation.
    pub dilation: usize,
    /// Zeros (or padded elements) added before.
    pub pad_before: usize,
    /// Added after (one more than before for 'same' with an even effective kernel).
    pub pad_after: usize,
    /// `floor((input + pad_before + pad_after − dilation·(kernel − 1) − 1) / stride) + 1`.
    pub output: usize,
    /// That formula with the numbers filled in, e.g.
    /// `H_out = floor((4 + 0 + 1 − 1·(2 − 1) − 1) / 1) + 1 = 4`.
    pub formula: String,
}

/// Explains a convolution's output size, dim by dim: the padding applied before and after,
/// the output size, and the formula with the numbers filled in. `input` lists the spatial
/// sizes only (`[H, W]` for a 2-d convolution); the other arguments are those of
/// [`conv2d`](super::conv2d). tapegrad-only, no PyTorch counterpart (PyTorch documents
/// the formula, `⌊(in + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1`, in `nn.Conv2d`).
///
/// # Errors
/// What PyTorch would reject for these sizes: 'same' with a stride ≠ 1, an unknown padding
/// string, non-positive stride or dilation, negative padding, a zero kernel, or a (dilated)
/// kernel larger than the padded input, with PyTorch's messages.
///
/// ```
/// use tapegrad::nn::functional::conv_output_shape;
/// let dims = conv_output_shape(&[4, 4], 2, 1, "same", 1).unwrap();
/// assert_eq!((dims[0].pad_before, dims[0].pad_after, dims[0].output), (0, 1, 4));
/// assert_eq!(dims[0].formula, "H_out = floor((4 + 0 + 1 − 1·(2 − 1) − 1) / 1) + 1 = 4");
/// let strided = conv_output_shape(&[28, 28], 3, 2, 1, 1).unwrap();
/// assert_eq!(strided[1].output, 14);
/// ```
pub fn conv_output_shape(
    input: &[usize],
    kernel_size: impl Into<IntOrTuple>,
    stride: impl Into<IntOrTuple>,
    padding: impl Into<PaddingArg>,
    dilation: impl Into<IntOrTuple>,
) -> crate::Result<Vec<ConvDimension>> {
    use crate::Error;
    let dims = input.len();
    let names: &[&'static str] = match dims {
        1 => &["L_out"],
        2 => &["H_out", "W_out"],
        3 => &["D_out", "H_out", "W_out"],
        _ => return Err(Error::Value(format!("expected 1, 2 or 3 spatial sizes, got {input:?}"))),
    };
    let kernel = kernel_size.into().expand("kernel_size", dims).map_err(Error::Runtime)?;
    let stride = stride.into().expand("stride", dims).map_err(Error::Runtime)?;
    let dilation = dilation.into().expand("dilation", dims).map_err(Error::Runtime)?;
    if stride.iter().any(|&s| s <= 0) {
        return Err(Error::Runtime("non-positive stride is not supported".into()));
    }
    if dilation.iter().any(|&d| d <= 0) {
        return Err(Error::Runtime(format!("dilation should be greater than zero, but got {dilation:?}")));
    }
    if kernel.iter().any(|&k| k <= 0) {
        return Err(Error::Runtime(format!("kernel size should be greater than zero, but got {kernel:?}")));
    }
    let pads: Vec<(i64, i64)> = match padding.into().for_module()? {
        Padding::Explicit(p) => {
            let p = IntOrTuple(p).expand("padding", dims).map_err(Error::Runtime)?;
            if p.iter().any(|&v| v < 0) {
                return Err(Error::Runtime("negative padding is not supported".into()));
            }
            p.into_iter().map(|v| (v, v)).collect()
        }
        Padding::Valid => vec![(0, 0); dims],
        Padding::Same => {
            if stride.iter().any(|&s| s != 1) {
                return Err(Error::Value("padding='same' is not supported for strided convolutions".into()));
            }
            (0..dims).map(|i| same_padding_split(kernel[i], dilation[i])).collect()
        }
    };
    let kernel_sizes: Vec<usize> = kernel.iter().map(|&k| k as usize).collect();
    let (padded, reach) = padded_and_reach(input, &pads, &kernel_sizes, &dilation).map_err(Error::Runtime)?;
    check_kernel_fits(&padded, &reach).map_err(Error::Runtime)?;
    Ok((0..dims)
        .map(|i| {
            let output = ((padded[i] - reach[i]) / stride[i] + 1) as usize;
            let (before, after) = (pads[i].0 as usize, pads[i].1 as usize);
            let formula = format!(
                "{} = floor(({} + {before} + {after} − {}·({} − 1) − 1) / {}) + 1 = {output}",
                names[i], input[i], dilation[i], kernel[i], stride[i]
            );
            ConvDimension {
                name: names[i],
                input: input[i],
                kernel: kernel[i] as usize,
                stride: stride[i] as usize,
                dilation: dilation[i] as usize,
                pad_before: before,
                pad_after: after,
                output,
                formula,
            }
        })
        .collect())
}
