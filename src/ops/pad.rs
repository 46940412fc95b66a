//! Padding: `F.pad` with the modes constant, reflect, replicate and circular.
//!
//! Each padded dim is an index map from output positions to input positions (or to the
//! fill value); the forward gathers through it one dim at a time, and the backward is its
//! adjoint, scattering (`+=`) the gradient of every copy back onto the element it came
//! from, one dim at a time in reverse order.

use std::str::FromStr;

use ndarray::{ArrayD, Axis, IxDyn};

use crate::autograd::{Backward, record};
use crate::error::Error;
use crate::tensor::{SharedArray, Tensor, check_allocation};

/// How `F.pad` fills the new border. PyTorch: the `mode` argument of `F.pad`. Parses from
/// PyTorch's strings; [`PadMode::as_str`] gives them back.
///
/// ```
/// use tapegrad::{Tensor, ops::pad::PadMode};
/// let mode: PadMode = "replicate".parse().unwrap();
/// assert_eq!(mode.as_str(), "replicate");
/// let x = Tensor::from_vec(vec![1.0, 2.0], &[1, 2]).unwrap();
/// assert_eq!(x.pad(&[2, 1], mode, 0.0).to_vec(), vec![1.0, 1.0, 1.0, 2.0, 2.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadMode {
    /// A constant `value` (0 by default); negative pads crop. Any number of dims.
    Constant,
    /// The mirror image without repeating the edge: `[a b c] → b [a b c] b`. Pad < size.
    Reflect,
    /// The edge element repeated: `[a b c] → a a [a b c] c c`.
    Replicate,
    /// Wrap around: `[a b c] → c [a b c] a`. Pad ≤ size.
    Circular,
}

impl PadMode {
    /// PyTorch's spelling of the mode (`"constant"`, `"reflect"`, `"replicate"`, `"circular"`);
    /// example on [`PadMode`].
    pub fn as_str(self) -> &'static str {
        match self {
            PadMode::Constant => "constant",
            PadMode::Reflect => "reflect",
            PadMode::Replicate => "replicate",
            PadMode::Circular => "circular",
        }
    }

    /// The input position that output position `o` copies, along a dim of `size` elements
    /// padded by `before`; `None` means the fill value.
    fn source(self, o: usize, before: i64, size: usize) -> Option<usize> {
        // i128: a crop of i64::MIN before is valid when the pad after makes up for it.
        let i = o as i128 - before as i128;
        let n = size as i128;
        match self {
            PadMode::Constant => (0..n).contains(&i).then_some(i as usize),
            PadMode::Reflect => {
                let reflected = if i < 0 {
                    -i
                } else if i >= n {
                    2 * (n - 1) - i
                } else {
                    i
                };
                Some(reflected.clamp(0, n - 1) as usize)
            }
            PadMode::Replicate => Some(i.clamp(0, n - 1) as usize),
            PadMode::Circular => Some(i.rem_euclid(n) as usize),
        }
    }
}

impl FromStr for PadMode {
    type Err = Error;
    /// Parses PyTorch's mode names; anything else is PyTorch's `NotImplementedError`.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "constant" => Ok(PadMode::Constant),
            "reflect" => Ok(PadMode::Reflect),
            "replicate" => Ok(PadMode::Replicate),
            "circular" => Ok(PadMode::Circular),
            other => Err(Error::NotImplemented(format!("Unrecognised padding mode {other}"))),
        }
    }
}

/// The `(before, after)` pads per padded dim, from PyTorch's list (last dim first), paired
/// with the dim they apply to.
fn pads_per_dim(pad: &[i64], ndim: usize) -> Vec<(usize, i64, i64)> {
    pad.chunks(2).enumerate().map(|(i, pair)| (ndim - 1 - i, pair[0], pair[1])).collect()
}

/// [`pads_per_dim`] in the order the dims are padded: the dims that shrink first. Each dim
/// is padded independently, so the order does not change the result, but cropping first
/// keeps every intermediate tensor no larger than the input or the output (a huge pad of
/// one dim followed by cropping another to nothing would otherwise allocate the huge one).
fn pad_order(shape: &[usize], pad: &[i64]) -> Vec<(usize, i64, i64)> {
    let mut pads = pads_per_dim(pad, shape.len());
    pads.sort_by_key(|&(dim, before, after)| output_size(shape[dim], before, after) >= shape[dim] as i128);
    pads
}

/// Checks `F.pad`'s arguments as PyTorch does, in PyTorch's order, panicking with its text.
#[track_caller]
fn check_pad(shape: &[usize], pad: &[i64], mode: PadMode) {
    let ndim = shape.len();
    assert!(
        pad.len().is_multiple_of(2),
        "pad: Padding length must be divisible by 2 (pad {pad:?}, input of shape {shape:?})"
    );
    assert!(
        pad.len() <= ndim * 2,
        "pad: Padding length should be less than or equal to two times the input dimension but got padding length {} and input of dimension {ndim} (shape {shape:?})",
        pad.len()
    );
    let padded = pad.len() / 2;
    if mode == PadMode::Constant {
        for (dim, before, after) in pads_per_dim(pad, ndim) {
            assert!(
                output_size(shape[dim], before, after) >= 0,
                "pad: The input size {}, plus negative padding {before} and {after} resulted in a negative output size, which is invalid. Check dimension {dim} of your input (shape {shape:?}).",
                shape[dim]
            );
        }
        check_output_shape(shape, pad);
        return;
    }
    let supported = matches!((padded, ndim), (1, 2 | 3) | (2, 3 | 4) | (3, 4 | 5));
    assert!(
        supported,
        "pad: Padding size {} is not supported for {ndim}D input tensor.\nSupported combinations for non-constant padding:\n  - 2D or 3D input: padding size = 2 (pads last dimension)\n  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)\n(input of shape {shape:?})",
        pad.len()
    );
    for (dim, before, after) in pads_per_dim(pad, ndim) {
        let size = shape[dim] as i64;
        match mode {
            PadMode::Reflect => assert!(
                before < size && after < size,
                "pad: Argument #4: Padding size should be less than the corresponding input dimension, but got: padding ({before}, {after}) at dimension {dim} of input {shape:?}"
            ),
            PadMode::Circular => {
                assert!(
                    before <= size && after <= size,
                    "pad: Padding value causes wrapping around more than once. (padding ({before}, {after}) at dimension {dim} of input {shape:?})"
                );
                assert!(
                    output_size(shape[dim], before, after) >= 0,
                    "pad: Negative padding value is resulting in an empty dimension (padding ({before}, {after}) at dimension {dim} of input {shape:?})"
                );
            }
            PadMode::Replicate => assert!(
                size > 0 || before.saturating_add(after) <= 0,
                "pad: input tensor must have a non-zero size at dimension {dim} to be padded with replicate (shape {shape:?})"
            ),
            PadMode::Constant => unreachable!("handled above"),
        }
        assert!(
            output_size(shape[dim], before, after) >= 0,
            "pad: padding ({before}, {after}) would make dimension {dim} of input {shape:?} negative"
        );
    }
    check_output_shape(shape, pad);
}

/// `size + before + after`, exact (no `i64` overflow for huge pads).
fn output_size(size: usize, before: i64, after: i64) -> i128 {
    size as i128 + before as i128 + after as i128
}

/// Panics unless the padded shape (every size already non-negative) is one a tensor can have,
/// and so is every intermediate shape of [`pad_order`].
#[track_caller]
fn check_output_shape(shape: &[usize], pad: &[i64]) {
    let mut out = shape.to_vec();
    for (dim, before, after) in pad_order(shape, pad) {
        out[dim] = usize::try_from(output_size(shape[dim], before, after)).unwrap_or(usize::MAX);
        if let Err(e) = check_allocation(&out) {
            panic!("pad: padding {pad:?} of input {shape:?}: the output: {}", e.message());
        }
    }
}

impl Tensor {
    /// Pads the trailing dims: `pad` lists `(before, after)` pairs **starting from the last
    /// dim**, as PyTorch's `F.pad(input, pad, mode, value)` does: `[left, right]` pads the
    /// last dim, `[left, right, top, bottom]` the last two, and so on.
    ///
    /// `value` is used by [`PadMode::Constant`] only. Reflect, replicate and circular pad
    /// exactly the last 1, 2 or 3 dims of an input with 1 or 2 more dims, as in PyTorch.
    ///
    /// # Panics
    /// With PyTorch's message when the pad list does not fit the input, a reflect pad is not
    /// smaller than the dim, or a circular pad would wrap more than once.
    ///
    /// ```
    /// use tapegrad::{Tensor, ops::pad::PadMode};
    /// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[1, 3]).unwrap();
    /// assert_eq!(x.pad(&[2, 1], PadMode::Reflect, 0.0).to_vec(), vec![3.0, 2.0, 1.0, 2.0, 3.0, 2.0]);
    /// assert_eq!(x.pad(&[1, 1], PadMode::Circular, 0.0).to_vec(), vec![3.0, 1.0, 2.0, 3.0, 1.0]);
    /// assert_eq!(x.pad(&[-1, 1], PadMode::Constant, 9.0).to_vec(), vec![2.0, 3.0, 9.0]);
    /// ```
    #[track_caller]
    pub fn pad(&self, pad: &[i64], mode: PadMode, value: f32) -> Tensor {
        check_pad(self.shape(), pad, mode);
        let pads = pad_order(self.shape(), pad);
        let mut out = self.data();
        for &(dim, before, after) in &pads {
            out = gather_axis(&out, dim, before, after, mode, value);
        }
        record(out, &[self], PadBackward { input_shape: self.shape().to_vec(), pads, mode })
    }
}

/// Pads one axis: output position `o` copies input position `mode.source(o)`, or `value`.
fn gather_axis(x: &SharedArray, axis: usize, before: i64, after: i64, mode: PadMode, value: f32) -> SharedArray {
    let size = x.shape()[axis];
    let out_len = output_size(size, before, after) as usize;
    let mut shape = x.shape().to_vec();
    shape[axis] = out_len;
    let mut out = ArrayD::from_elem(IxDyn(&shape), value);
    if out.is_empty() {
        return out.into_shared(); // nothing to copy, however long the padded axis
    }
    for o in 0..out_len {
        if let Some(i) = mode.source(o, before, size) {
            out.index_axis_mut(Axis(axis), o).assign(&x.index_axis(Axis(axis), i));
        }
    }
    out.into_shared()
}

/// The adjoint of `gather_axis`: every output position's gradient is added onto the input
/// position it copied (fill positions get none).
fn scatter_axis(grad: &SharedArray, axis: usize, before: i64, size: usize, mode: PadMode) -> SharedArray {
    let mut shape = grad.shape().to_vec();
    shape[axis] = size;
    let mut grad_input = ArrayD::<f32>::zeros(IxDyn(&shape));
    if grad.is_empty() {
        return grad_input.into_shared();
    }
    for o in 0..grad.shape()[axis] {
        if let Some(i) = mode.source(o, before, size) {
            let mut target = grad_input.index_axis_mut(Axis(axis), i);
            target += &grad.index_axis(Axis(axis), o);
        }
    }
    grad_input.into_shared()
}

/// Padding copies elements (several times, for reflect/replicate/circular): the gradient
/// of each copy flows back onto its source. Saved: the input's shape, the pads, the mode.
struct PadBackward {
    input_shape: Vec<usize>,
    pads: Vec<(usize, i64, i64)>,
    mode: PadMode,
}

impl Backward for PadBackward {
    fn name(&self) -> &'static str {
        match self.mode {
            PadMode::Constant => "ConstantPadNdBackward0",
            PadMode::Reflect => "ReflectionPadBackward0",
            PadMode::Replicate => "ReplicationPadBackward0",
            PadMode::Circular => "PadBackward0",
        }
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        let mut grad = grad.clone();
        for &(dim, before, _) in self.pads.iter().rev() {
            grad = scatter_axis(&grad, dim, before, self.input_shape[dim], self.mode);
        }
        vec![Some(grad)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_maps_match_the_definitions() {
        // size 4, pad 2 before: positions 0..8 of [c b | a b c d | c b].
        let reflect: Vec<_> = (0..8).map(|o| PadMode::Reflect.source(o, 2, 4).unwrap()).collect();
        assert_eq!(reflect, vec![2, 1, 0, 1, 2, 3, 2, 1]);
        let replicate: Vec<_> = (0..8).map(|o| PadMode::Replicate.source(o, 2, 4).unwrap()).collect();
        assert_eq!(replicate, vec![0, 0, 0, 1, 2, 3, 3, 3]);
        let circular: Vec<_> = (0..8).map(|o| PadMode::Circular.source(o, 2, 4).unwrap()).collect();
        assert_eq!(circular, vec![2, 3, 0, 1, 2, 3, 0, 1]);
        assert_eq!(PadMode::Constant.source(1, 2, 4), None);
        assert_eq!(PadMode::Constant.source(2, 2, 4), Some(0));
    }

    #[test]
    fn scatter_is_the_adjoint_of_gather() {
        // <gather(x), y> = <x, scatter(y)> for every mode, with crops and full wraps.
        let x = ndarray::Array::from_shape_fn(IxDyn(&[2, 3, 4]), |i| (i[0] * 12 + i[1] * 4 + i[2]) as f32 * 0.37 - 2.0)
            .into_shared();
        for (mode, before, after) in [
            (PadMode::Constant, -1, 2),
            (PadMode::Reflect, 3, 2),
            (PadMode::Replicate, 5, 1),
            (PadMode::Circular, 4, 4),
        ] {
            let padded = gather_axis(&x, 2, before, after, mode, 0.0);
            let y =
                ndarray::Array::from_shape_fn(padded.raw_dim(), |i| ((i[0] + 2 * i[1] + 3 * i[2]) % 7) as f32 - 3.0)
                    .into_shared();
            let lhs: f32 = (&padded * &y).sum();
            let rhs: f32 = (&x * &scatter_axis(&y, 2, before, 4, mode)).sum();
            assert!((lhs - rhs).abs() < 1e-3, "{mode:?}: {lhs} vs {rhs}");
        }
    }

    #[test]
    fn cropping_first_gives_the_same_result_as_the_written_order() {
        let x = Tensor::from_vec((0..24).map(|v| v as f32).collect(), &[1, 2, 3, 4]).unwrap();
        for (mode, pad) in [
            (PadMode::Constant, [2, 1, -1, 0, 1, -1]),
            (PadMode::Replicate, [2, 1, -1, -1, 0, 0]),
            (PadMode::Circular, [-2, 1, 2, -1, 0, 0]),
            (PadMode::Reflect, [-1, 2, 1, 0, -1, 0]),
        ] {
            let mut written = x.data();
            for (dim, before, after) in pads_per_dim(&pad, 4) {
                written = gather_axis(&written, dim, before, after, mode, 7.0);
            }
            let padded = x.pad(&pad, mode, 7.0);
            assert_eq!(padded.shape(), written.shape(), "{mode:?}");
            assert_eq!(padded.to_vec(), written.iter().copied().collect::<Vec<_>>(), "{mode:?}");
        }
    }

    #[test]
    fn a_huge_pad_then_a_crop_to_nothing_allocates_nothing() {
        // Found by fuzz_configs: W padded by 2⁴⁰ on each side, then C cropped from 4 to 0.
        // Padding W first would allocate 2 · 4 · 13 · (2⁴¹ + 7) floats and abort.
        let huge = 1i64 << 40;
        let x = Tensor::ones(&[2, 4, 7, 7]);
        let y = x.pad(&[huge, huge, 3, 3, -2, -2], PadMode::Replicate, 0.0);
        assert_eq!(y.shape(), &[2, 0, 13, 7 + 2 * huge as usize]);
        let y = x.pad(&[huge, huge, 0, 0, -4, 0, 0, 0], PadMode::Constant, 0.0);
        assert_eq!(y.shape(), &[2, 0, 7, 7 + 2 * huge as usize]);
    }

    #[test]
    #[should_panic(expected = "Padding value causes wrapping around more than once.")]
    fn circular_pad_larger_than_input_panics() {
        Tensor::zeros(&[1, 1, 2, 3]).pad(&[1, 1, 3, 3], PadMode::Circular, 0.0);
    }

    #[test]
    fn unknown_mode_is_pytorchs_not_implemented_error() {
        assert_eq!(
            "mirror".parse::<PadMode>().unwrap_err(),
            Error::NotImplemented("Unrecognised padding mode mirror".into())
        );
    }
}
