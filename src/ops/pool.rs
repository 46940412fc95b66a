//! Pooling over the last one or two dims, forward and backward side by side: max pooling
//! (with PyTorch's indices), average pooling and adaptive average pooling.
//!
//! An input `(*, H, W)` is a stack of `planes = ∏ leading dims` independent `(H, W)` planes
//! (N·C for a batch, C for an unbatched input); a 1-d pooling is a 2-d one with `H = 1`.
//! Planes are processed in parallel with rayon, each task owning its output plane, so no
//! two tasks write the same element. Along one dim of length `L`, output position `o`
//! (stride `s`, padding `p`, dilation `d`, kernel `k`) reads:
//!
//! ```text
//! max pool:      positions o·s − p + j·d, j = 0..k, that lie in [0, L)   (the padding is −∞)
//! avg pool:      [o·s − p, min(o·s − p + k, L + p)) clipped to [0, L)     (the padding is 0)
//! adaptive avg:  [⌊o·L/Out⌋, ⌈(o+1)·L/Out⌉)
//! ```
//!
//! The argument checks PyTorch makes (with its messages) live in `nn::functional`; the
//! functions here take validated arguments.

use super::contiguous;

use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

use crate::autograd::{Backward, record};
use crate::tensor::{SharedArray, Tensor};

/// Fewest input reads one rayon task should do: smaller planes are grouped together.
const MIN_WORK_PER_TASK: usize = 1 << 14;

/// The number of outputs along one dim, PyTorch's `pooling_output_shape`:
/// `⌊(L + 2p − d·(k − 1) − 1 + (ceil_mode ? s − 1 : 0)) / s⌋ + 1`, the division rounding
/// towards −∞. With `ceil_mode`, a last window that would start inside the right padding
/// (`(out − 1)·s ≥ L + p`) is dropped, as PyTorch does. `stride` must not be 0.
///
/// ```
/// use tapegrad::ops::pool::pooling_output_size;
/// assert_eq!(pooling_output_size(5, 2, 0, 2, 1, false), 2); // floor(3/2) + 1
/// assert_eq!(pooling_output_size(5, 2, 0, 2, 1, true), 3); // ceil: the last window is partial
/// // ceil would give 4, but the 4th window would start at 6 − 1 = 5, in the right padding.
/// assert_eq!(pooling_output_size(5, 2, 1, 2, 1, true), 3);
/// ```
pub fn pooling_output_size(input: i64, kernel: i64, padding: i64, stride: i64, dilation: i64, ceil_mode: bool) -> i64 {
    // In i128, so that no argument (up to i64::MAX) overflows; the size saturates to i64.
    let [input, kernel, padding, stride, dilation] = [input, kernel, padding, stride, dilation].map(i128::from);
    let rounding = if ceil_mode { stride - 1 } else { 0 };
    let mut out = div_floor(input + 2 * padding - dilation * (kernel - 1) - 1 + rounding, stride) + 1;
    if ceil_mode && (out - 1) * stride >= input + padding {
        out -= 1;
    }
    out.clamp(i64::MIN.into(), i64::MAX.into()) as i64
}

/// `⌊a / b⌋` for any signs (PyTorch's `div_rtn`; Rust's `/` rounds towards zero).
fn div_floor(a: i128, b: i128) -> i128 {
    let q = a / b;
    if a % b != 0 && ((a < 0) != (b < 0)) { q - 1 } else { q }
}

/// The shapes of one max or average pooling, in 2-d form. Built from validated arguments.
/// tapegrad-only (ATen computes the same sizes inside `max_pool2d`/`avg_pool2d`). Example
/// on [`PoolGeometry::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolGeometry {
    /// How many trailing dims are pooled in the caller's tensors (1 or 2).
    pub spatial_dims: usize,
    /// (H, W) of each input plane; H = 1 for a 1-d pooling.
    pub input: [usize; 2],
    /// (kH, kW), each ≥ 1.
    pub kernel: [usize; 2],
    /// Stride per dim, each ≥ 1.
    pub stride: [usize; 2],
    /// Padding on both sides of each dim.
    pub padding: [usize; 2],
    /// Dilation per dim (max pooling only; 1 for average pooling), each ≥ 1.
    pub dilation: [usize; 2],
    /// (OH, OW), from [`pooling_output_size`].
    pub output: [usize; 2],
}

impl PoolGeometry {
    /// The geometry of pooling spatial sizes `input` (1 or 2 values) with one kernel size,
    /// stride, padding and dilation per spatial dim; 1-d arguments are lifted to `H = 1`.
    /// tapegrad-only (PyTorch computes the same sizes inside `max_pool2d`/`avg_pool2d`).
    ///
    /// ```
    /// use tapegrad::ops::pool::PoolGeometry;
    /// let g = PoolGeometry::new(&[5, 7], &[3, 3], &[2, 2], &[1, 1], &[1, 1], false);
    /// assert_eq!(g.output, [3, 4]);
    /// let g = PoolGeometry::new(&[10], &[3], &[3], &[0], &[1], true);
    /// assert_eq!((g.input, g.output), ([1, 10], [1, 4]));
    /// ```
    pub fn new(
        input: &[usize],
        kernel: &[usize],
        stride: &[usize],
        padding: &[usize],
        dilation: &[usize],
        ceil_mode: bool,
    ) -> PoolGeometry {
        let spatial_dims = input.len();
        let lift = |v: &[usize], fill: usize| -> [usize; 2] {
            let mut out = [fill; 2];
            out[2 - spatial_dims..].copy_from_slice(v);
            out
        };
        let (input, kernel, stride) = (lift(input, 1), lift(kernel, 1), lift(stride, 1));
        let (padding, dilation) = (lift(padding, 0), lift(dilation, 1));
        let output = std::array::from_fn(|i| {
            let size = pooling_output_size(
                input[i] as i64,
                kernel[i] as i64,
                padding[i] as i64,
                stride[i] as i64,
                dilation[i] as i64,
                ceil_mode,
            );
            size.max(0) as usize
        });
        PoolGeometry { spatial_dims, input, kernel, stride, padding, dilation, output }
    }

    fn in_len(&self) -> usize {
        self.input[0] * self.input[1]
    }

    fn out_len(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// For every output position along `dim`, the input positions its dilated window reads,
    /// as PyTorch computes them: `[first, end)` in steps of the dilation, the start moved
    /// forward by whole dilations until it is ≥ 0 and the end clipped to the input.
    fn taps(&self, dim: usize) -> Vec<std::ops::Range<usize>> {
        let (s, p, d, k, len) =
            (self.stride[dim], self.padding[dim], self.dilation[dim], self.kernel[dim], self.input[dim]);
        // In i128: a kernel or dilation near 2⁶³ (valid with ceil_mode) must not overflow.
        let (s, p, d, k, len) = (s as i128, p as i128, d as i128, k as i128, len as i128);
        (0..self.output[dim])
            .map(|o| {
                let start = o as i128 * s - p;
                let end = (start + (k - 1) * d + 1).clamp(0, len) as usize;
                let first = if start < 0 { start + (-start + d - 1) / d * d } else { start };
                let first = first.min(len) as usize;
                first..end.max(first)
            })
            .collect()
    }

    /// A 2×2 window with stride 2, no padding and no dilation, every window inside the input
    /// (the pooling of most small CNNs): [`max_pool`] has a kernel for it.
    fn is_whole_2x2(&self) -> bool {
        self.kernel == [2, 2]
            && self.stride == [2, 2]
            && self.padding == [0, 0]
            && self.dilation == [1, 1]
            && self.output[0] * 2 <= self.input[0]
            && self.output[1] * 2 <= self.input[1]
    }

    /// The output shape: the input's leading dims, then the pooled ones.
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        let leading = &input_shape[..input_shape.len() - self.spatial_dims];
        [leading, &self.output[2 - self.spatial_dims..]].concat()
    }
}

/// How many planes one rayon task takes, so that each task does at least
/// [`MIN_WORK_PER_TASK`] reads.
fn planes_per_task(work_per_plane: usize) -> usize {
    MIN_WORK_PER_TASK.div_ceil(work_per_plane.max(1))
}

// ----- max pooling -----------------------------------------------------------------------

/// Max pooling of `input` `(*, H, W)` (or `(*, L)` for a 1-d geometry) with validated
/// arguments: `out = max over the window`, the padding counting as −∞. Returns the output
/// `(*, OH, OW)` and, when `return_indices`, PyTorch's indices: for each output element the
/// flat offset `h·W + w` of the input element it took, within its plane.
///
/// Ties go to the first element of the window in row-major order; NaN wins (PyTorch's
/// `val > max || isnan(val)`). The gradient flows only to the element taken.
///
/// ```
/// use tapegrad::{Tensor, ops::pool::{PoolGeometry, max_pool}};
/// let x = Tensor::from_vec(vec![1., 5., 2., 0., 3., 4., 8., 6., 7.], &[1, 3, 3]).unwrap();
/// let g = PoolGeometry::new(&[3, 3], &[2, 2], &[1, 1], &[0, 0], &[1, 1], false);
/// let (y, indices) = max_pool(&x, &g, true);
/// assert_eq!(y.to_vec(), vec![5., 5., 8., 7.]);
/// assert_eq!(indices.unwrap().into_raw_vec_and_offset().0, vec![1, 1, 6, 8]);
/// ```
pub fn max_pool(input: &Tensor, geometry: &PoolGeometry, return_indices: bool) -> (Tensor, Option<ArrayD<i64>>) {
    let g = geometry;
    let x_data = input.data();
    let x = contiguous(&x_data);
    let (in_len, out_len) = (g.in_len(), g.out_len());
    let planes = x.len().checked_div(in_len).unwrap_or(0);
    let mut out = super::zeroed(planes * out_len);
    let mut indices = vec![0i64; planes * out_len];
    if out_len > 0 && in_len > 0 {
        let window = g.kernel[0].saturating_mul(g.kernel[1]);
        let taps = [g.taps(0), g.taps(1)];
        out.par_chunks_mut(out_len)
            .zip(indices.par_chunks_mut(out_len))
            .zip(x.par_chunks(in_len))
            .with_min_len(planes_per_task(out_len.saturating_mul(window)))
            .for_each(|((out_plane, index_plane), x_plane)| {
                if g.is_whole_2x2() {
                    max_pool_plane_2x2(x_plane, g, out_plane, index_plane);
                } else {
                    max_pool_plane(x_plane, g, &taps, out_plane, index_plane);
                }
            });
    }
    let shape = g.output_shape(input.shape());
    let returned = return_indices
        .then(|| ArrayD::from_shape_vec(IxDyn(&shape), indices.clone()).expect("indices have the output's shape"));
    let out = ArrayD::from_shape_vec(IxDyn(&shape), out).expect("output shape").into_shared();
    let backward =
        MaxPoolBackward { indices, input_shape: input.shape().to_vec(), in_len, out_len, spatial_dims: g.spatial_dims };
    (record(out, &[input], backward), returned)
}

/// One plane of max pooling: PyTorch's `max_pool2d_with_indices_single_out_frame`. `taps`
/// holds [`PoolGeometry::taps`] of both dims.
fn max_pool_plane(
    x: &[f32],
    g: &PoolGeometry,
    taps: &[Vec<std::ops::Range<usize>>; 2],
    out: &mut [f32],
    indices: &mut [i64],
) {
    let (w_in, [dh, dw]) = (g.input[1], g.dilation);
    let positions = taps[0].iter().flat_map(|rows| taps[1].iter().map(move |cols| (rows, cols)));
    for ((value, index), (rows, cols)) in out.iter_mut().zip(indices.iter_mut()).zip(positions) {
        // As PyTorch: start from −∞ at the window's first in-range element. A window with no
        // element inside the input (possible only with dilation) gives −∞ and index −1.
        let mut best = f32::NEG_INFINITY;
        let mut best_at = if rows.is_empty() || cols.is_empty() { -1 } else { (rows.start * w_in + cols.start) as i64 };
        let mut saw_nan = false;
        let mut visit = |at: usize| {
            // Selects rather than a branch: a branch on `v > best` mispredicts on random
            // data and makes the loop 2-3× slower.
            let v = x[at];
            let take = v > best;
            best = if take { v } else { best };
            best_at = if take { at as i64 } else { best_at };
            saw_nan |= v.is_nan();
        };
        if dh == 1 && dw == 1 {
            // The common case, without `step_by` (whose setup divides, once per window).
            for h in rows.clone() {
                cols.clone().for_each(|w| visit(h * w_in + w));
            }
        } else {
            for h in rows.clone().step_by(dh) {
                cols.clone().step_by(dw).for_each(|w| visit(h * w_in + w));
            }
        }
        if saw_nan {
            // PyTorch takes `v > best || isnan(v)`: the last NaN of the window wins.
            let mut window = rows.clone().step_by(dh).flat_map(|h| cols.clone().step_by(dw).map(move |w| h * w_in + w));
            let last_nan = window.rfind(|&i| x[i].is_nan()).expect("a NaN was seen");
            (best, best_at) = (f32::NAN, last_nan as i64);
        }
        *value = best;
        *index = best_at;
    }
}

/// [`max_pool_plane`] for [`PoolGeometry::is_whole_2x2`]: the same comparisons in the same
/// order (first maximum in row-major window order; the last NaN wins), on the four values
/// of each window without the general loop's window bookkeeping.
fn max_pool_plane_2x2(x: &[f32], g: &PoolGeometry, out: &mut [f32], indices: &mut [i64]) {
    let (w_in, ow_len) = (g.input[1], g.output[1]);
    let rows = out.chunks_exact_mut(ow_len).zip(indices.chunks_exact_mut(ow_len));
    for (oh, (out_row, index_row)) in rows.enumerate() {
        let (top, bottom) = (2 * oh * w_in, (2 * oh + 1) * w_in);
        let (x_top, x_bottom) = (&x[top..top + 2 * ow_len], &x[bottom..bottom + 2 * ow_len]);
        for (ow, (value, index)) in out_row.iter_mut().zip(index_row).enumerate() {
            let c = 2 * ow;
            let window = [
                (x_top[c], top + c),
                (x_top[c + 1], top + c + 1),
                (x_bottom[c], bottom + c),
                (x_bottom[c + 1], bottom + c + 1),
            ];
            let (mut best, mut best_at, mut nan_at) = (f32::NEG_INFINITY, top + c, None);
            for (v, at) in window {
                let take = v > best;
                best = if take { v } else { best };
                best_at = if take { at } else { best_at };
                if v.is_nan() {
                    nan_at = Some(at);
                }
            }
            if let Some(at) = nan_at {
                (best, best_at) = (f32::NAN, at);
            }
            *value = best;
            *index = best_at as i64;
        }
    }
}

/// Max pooling backward: each output's gradient goes to the input element it took (several
/// outputs may take the same element; their gradients add up). Saved: the indices (what
/// forward chose), the input's shape.
struct MaxPoolBackward {
    indices: Vec<i64>,
    input_shape: Vec<usize>,
    in_len: usize,
    out_len: usize,
    spatial_dims: usize,
}

impl Backward for MaxPoolBackward {
    fn name(&self) -> &'static str {
        if self.spatial_dims == 1 { "MaxPool1DWithIndicesBackward0" } else { "MaxPool2DWithIndicesBackward0" }
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        let dout = contiguous(grad);
        // From the input's shape: an empty output (output size 0) still has input planes.
        let mut dx = super::zeroed(self.input_shape.iter().product());
        if self.out_len > 0 && self.in_len > 0 {
            dx.par_chunks_mut(self.in_len)
                .zip(dout.par_chunks(self.out_len))
                .zip(self.indices.par_chunks(self.out_len))
                .with_min_len(planes_per_task(self.out_len))
                .for_each(|((dx_plane, dout_plane), index_plane)| {
                    for (&g, &i) in dout_plane.iter().zip(index_plane) {
                        if i >= 0 {
                            dx_plane[i as usize] += g;
                        }
                    }
                });
        }
        vec![Some(ArrayD::from_shape_vec(IxDyn(&self.input_shape), dx).expect("input shape").into_shared())]
    }
}

// ----- average pooling (fixed and adaptive windows) --------------------------------------

/// One output position's window along one dim: the input positions `[start, end)` that
/// are summed, and `counted`, the length the divisor counts. tapegrad-only (ATen's
/// `hstart`/`hend` and `pool_size`). Examples on [`avg_pool_spans`] and [`adaptive_spans`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First input position summed.
    pub start: usize,
    /// One past the last input position summed.
    pub end: usize,
    /// The length this dim contributes to the divisor.
    pub counted: usize,
}

/// The windows of `avg_pool2d` along one dim (PyTorch: the `hstart`/`hend` arithmetic of
/// ATen's `avg_pool2d` kernel; the conformance README's divisor rule): for window start
/// `hs = o·s − p`, `he = min(hs + k, L + p)`; the sum runs over `[max(hs, 0), min(he, L))`
/// and the divisor counts `he − hs` with `count_include_pad`, the clipped length otherwise.
/// So with `ceil_mode`, the part of a window beyond the padding is never counted.
///
/// ```
/// use tapegrad::ops::pool::avg_pool_spans;
/// // L = 5, k = 3, s = 2, p = 1, three outputs (ceil_mode): the last window [3, 6) is
/// // clipped by the padding to [3, 6) and by the input to [3, 5).
/// let spans = avg_pool_spans(5, 3, 2, 1, 3, true);
/// assert_eq!((spans[2].start, spans[2].end, spans[2].counted), (3, 5, 3));
/// let spans = avg_pool_spans(5, 3, 2, 1, 3, false);
/// assert_eq!((spans[0].start, spans[0].end, spans[0].counted), (0, 2, 2));
/// ```
pub fn avg_pool_spans(
    input: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    outputs: usize,
    count_include_pad: bool,
) -> Vec<Span> {
    // In i128: huge kernels and strides (valid with ceil_mode) must not overflow.
    let (input, kernel, stride, padding) = (input as i128, kernel as i128, stride as i128, padding as i128);
    (0..outputs)
        .map(|o| {
            let start = o as i128 * stride - padding;
            let end = (start + kernel).min(input + padding);
            let (clipped_start, clipped_end) = (start.clamp(0, input) as usize, end.clamp(0, input) as usize);
            let counted = if count_include_pad {
                usize::try_from(end - start).unwrap_or(usize::MAX)
            } else {
                clipped_end.saturating_sub(clipped_start)
            };
            Span { start: clipped_start, end: clipped_end.max(clipped_start), counted }
        })
        .collect()
}

/// The windows of adaptive average pooling along one dim (PyTorch: ATen's `start_index` /
/// `end_index` in `adaptive_avg_pool2d`): output `o` of `outputs` covers
/// `[⌊o·L/Out⌋, ⌈(o+1)·L/Out⌉)`. Neighbouring windows may overlap, and `Out > L` is
/// allowed (windows then repeat input positions).
///
/// ```
/// use tapegrad::ops::pool::adaptive_spans;
/// let spans: Vec<(usize, usize)> = adaptive_spans(5, 3).iter().map(|s| (s.start, s.end)).collect();
/// assert_eq!(spans, vec![(0, 2), (1, 4), (3, 5)]);
/// let spans: Vec<(usize, usize)> = adaptive_spans(2, 3).iter().map(|s| (s.start, s.end)).collect();
/// assert_eq!(spans, vec![(0, 1), (0, 2), (1, 2)]);
/// ```
pub fn adaptive_spans(input: usize, outputs: usize) -> Vec<Span> {
    (0..outputs)
        .map(|o| {
            let start = o * input / outputs;
            let end = ((o + 1) * input).div_ceil(outputs);
            Span { start, end, counted: end - start }
        })
        .collect()
}

/// Average pooling of `input` `(*, H, W)` (or `(*, L)` when `spatial_dims` is 1) over the
/// windows `spans` (one list per pooled dim, `(H, W)` order; `[Span{0, 1, 1}]` for the `H`
/// of a 1-d pooling): `out = Σ window / divisor`, where the divisor is `divisor_override`
/// if given, else the product of the windows' `counted` lengths. `adaptive` only picks the
/// PyTorch name of the backward node. The backward spreads each output's gradient evenly
/// (÷ divisor) over its window.
///
/// ```
/// use tapegrad::{Tensor, ops::pool::{adaptive_spans, avg_pool}};
/// let x = Tensor::from_vec(vec![1., 2., 3., 4., 5., 6.], &[1, 2, 3]).unwrap();
/// let spans = [adaptive_spans(2, 1), adaptive_spans(3, 2)];
/// let y = avg_pool(&x, 2, spans, None, true);
/// assert_eq!(y.to_vec(), vec![3.0, 4.0]); // means of [1 2 4 5] and [2 3 5 6]
/// ```
pub fn avg_pool(
    input: &Tensor,
    spatial_dims: usize,
    spans: [Vec<Span>; 2],
    divisor_override: Option<i64>,
    adaptive: bool,
) -> Tensor {
    let shape = input.shape();
    let leading = &shape[..shape.len() - spatial_dims];
    let spatial: Vec<usize> = shape[shape.len() - spatial_dims..].to_vec();
    let w_in = *spatial.last().unwrap_or(&1);
    let in_len: usize = spatial.iter().product();
    let planes: usize = leading.iter().product();
    let windows = MeanWindows { spans, w_in, divisor_override };
    let out_len = windows.out_len();

    let x_data = input.data();
    let x = contiguous(&x_data);
    let mut out = super::zeroed(planes * out_len);
    if out_len > 0 && in_len > 0 {
        out.par_chunks_mut(out_len)
            .zip(x.par_chunks(in_len))
            .with_min_len(planes_per_task(in_len.max(out_len)))
            .for_each(|(out_plane, x_plane)| windows.forward_plane(x_plane, out_plane));
    }
    let out_spatial = [windows.spans[0].len(), windows.spans[1].len()];
    let out_shape = [leading, &out_spatial[2 - spatial_dims..]].concat();
    let out = ArrayD::from_shape_vec(IxDyn(&out_shape), out).expect("output shape").into_shared();
    let backward = MeanPoolBackward { windows, input_shape: shape.to_vec(), in_len, out_len, adaptive, spatial_dims };
    record(out, &[input], backward)
}

/// The windows of one average pooling and its divisor rule.
struct MeanWindows {
    /// (rows, columns): one span per output position along each dim.
    spans: [Vec<Span>; 2],
    /// W of the input planes (row length).
    w_in: usize,
    divisor_override: Option<i64>,
}

impl MeanWindows {
    fn out_len(&self) -> usize {
        self.spans[0].len() * self.spans[1].len()
    }

    /// The divisor of output (oh, ow).
    fn divisor(&self, rows: Span, cols: Span) -> f32 {
        match self.divisor_override {
            Some(d) => d as f32,
            None => (rows.counted as f32) * (cols.counted as f32), // f32: huge windows must not overflow
        }
    }

    /// Every output position with its row window, column window and divisor, row-major.
    fn positions(&self) -> impl Iterator<Item = (Span, Span, f32)> + '_ {
        self.spans[0].iter().flat_map(move |&r| self.spans[1].iter().map(move |&c| (r, c, self.divisor(r, c))))
    }

    fn forward_plane(&self, x: &[f32], out: &mut [f32]) {
        for (value, (rows, cols, divisor)) in out.iter_mut().zip(self.positions()) {
            let mut sum = 0.0f32;
            for h in rows.start..rows.end {
                sum += x[h * self.w_in + cols.start..h * self.w_in + cols.end].iter().sum::<f32>();
            }
            *value = sum / divisor;
        }
    }

    fn backward_plane(&self, dout: &[f32], dx: &mut [f32]) {
        for (&g, (rows, cols, divisor)) in dout.iter().zip(self.positions()) {
            let share = g / divisor;
            for h in rows.start..rows.end {
                dx[h * self.w_in + cols.start..h * self.w_in + cols.end].iter_mut().for_each(|v| *v += share);
            }
        }
    }
}

/// Average pooling backward: `dx[i] = Σ over the windows containing i of dout / divisor`.
/// Saved: the windows and divisor rule, the input's shape (no values: the op is linear).
struct MeanPoolBackward {
    windows: MeanWindows,
    input_shape: Vec<usize>,
    in_len: usize,
    out_len: usize,
    adaptive: bool,
    spatial_dims: usize,
}

impl Backward for MeanPoolBackward {
    fn name(&self) -> &'static str {
        match (self.adaptive, self.spatial_dims) {
            (true, _) => "AdaptiveAvgPool2DBackward0",
            (false, 1) => "AvgPool1DBackward0",
            (false, _) => "AvgPool2DBackward0",
        }
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        let dout = contiguous(grad);
        // From the input's shape: an empty output (output size 0) still has input planes.
        let mut dx = super::zeroed(self.input_shape.iter().product());
        if self.out_len > 0 && self.in_len > 0 {
            dx.par_chunks_mut(self.in_len)
                .zip(dout.par_chunks(self.out_len))
                .with_min_len(planes_per_task(self.in_len.max(self.out_len)))
                .for_each(|(dx_plane, dout_plane)| self.windows.backward_plane(dout_plane, dx_plane));
        }
        vec![Some(ArrayD::from_shape_vec(IxDyn(&self.input_shape), dx).expect("input shape").into_shared())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_size_matches_the_formula_and_drops_windows_in_the_padding() {
        // floor((7 + 2 − 2·2 − 1)/2) + 1 = 3
        assert_eq!(pooling_output_size(7, 3, 1, 2, 2, false), 3);
        // ceil((4 − 2)/3) + 1 = 2; the 2nd window starts at 3 < 4: kept.
        assert_eq!(pooling_output_size(4, 2, 0, 3, 1, true), 2);
        // L = 6, k = 3, s = 2, p = 1: ceil(5/2) + 1 = 4; start 6 ≥ 6 + 1? no: kept.
        assert_eq!(pooling_output_size(6, 3, 1, 2, 1, true), 4);
        // too small an input gives 0 (the caller reports it)
        assert_eq!(pooling_output_size(2, 5, 0, 1, 1, false), -2);
    }

    #[test]
    fn dilated_taps_skip_positions_before_the_input() {
        let g = PoolGeometry::new(&[1, 9], &[1, 3], &[1, 2], &[0, 2], &[1, 3], false);
        let taps: Vec<Vec<usize>> = g.taps(1).into_iter().map(|r| r.step_by(3).collect()).collect();
        // 4 outputs. start −2: taps −2, 1, 4 → 1, 4; start 0: 0, 3, 6; start 2: 2, 5, 8;
        // start 4: 4, 7, 10 → 4, 7.
        assert_eq!(taps, vec![vec![1, 4], vec![0, 3, 6], vec![2, 5, 8], vec![4, 7]]);
    }

    #[test]
    fn mean_backward_is_the_adjoint_of_forward() {
        // ⟨pool(x), y⟩ = ⟨x, poolᵀ(y)⟩ for overlapping, clipped windows with a divisor rule.
        let spans = [avg_pool_spans(5, 3, 2, 1, 3, true), adaptive_spans(4, 3)];
        let windows = MeanWindows { spans, w_in: 4, divisor_override: None };
        let x: Vec<f32> = (0..20).map(|i| (i as f32 * 0.37).sin()).collect();
        let y: Vec<f32> = (0..9).map(|i| (i as f32 * 1.3).cos()).collect();
        let mut out = vec![0.0; 9];
        windows.forward_plane(&x, &mut out);
        let mut dx = vec![0.0; 20];
        windows.backward_plane(&y, &mut dx);
        let lhs: f32 = out.iter().zip(&y).map(|(a, b)| a * b).sum();
        let rhs: f32 = x.iter().zip(&dx).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-5, "{lhs} vs {rhs}");
    }
}
