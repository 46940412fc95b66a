//! Convolution as im2col + GEMM, forward and backward, for 1-, 2- and 3-d inputs.
//!
//! One code path serves every dimensionality: a 1-d or 2-d convolution is a 3-d one whose
//! leading spatial dims have size 1 (input, kernel, stride 1, no padding). Names:
//!
//! ```text
//! N batch, C in channels, O out channels, G groups, Cg = C/G, Og = O/G
//! input (N, C, D, H, W)          in_len  = D·H·W
//! weight (O, Cg, KD, KH, KW)     K       = KD·KH·KW
//! output (N, O, OD, OH, OW)      out_len = OD·OH·OW
//! cols (Cg·K, out_len): column l holds the input patch that output position l sees
//! ```
//!
//! The work is cut into *tiles* of T output columns (see `conv_tiles.rs`): several whole samples
//! side by side when one sample's column matrix is small (LeNet's layers), or a run of
//! output rows of one sample when it is large. Per group g and tile:
//!
//! * forward:     `out (Og, T) = W[g] (Og, Cg·K) × cols (Cg·K, T)`, then `+ bias`
//! * grad_weight: `dW[g] (Og, Cg·K) += dout (Og, T) × colsᵀ (T, Cg·K)`
//! * grad_input:  `dcols (Cg·K, T) = W[g]ᵀ (Cg·K, Og) × dout (Og, T)`, then col2im into dx
//! * grad_bias:   `db[o] = Σ_n Σ_l dout[n, o, l]`
//!
//! Both backward products of a tile run on one thread, one after the other, so the tile's
//! `dout` and column matrix are read from cache. The weight gradient is summed per fixed
//! chunk of samples and the chunks' partial sums are added in order: the chunking depends
//! on the shapes only, so the result is bit-for-bit the same on any number of threads.
//!
//! Memory: the column matrix of a tile holds at most [`MAX_COLS_ELEMENTS`] floats (or one
//! output row's worth, Cg·K·OW, when that is larger), in a per-thread scratch buffer that
//! is reused from call to call; the whole batch's column matrix is never built. A thread
//! also keeps a second buffer of at most Og·T floats (a tile of `dout` or of the output),
//! and a third for the padded input that im2col copies from, used only while it holds at
//! most twice the tile's column entries (`PaddedLayout::pays_for`).
//!
//! Zero padding is folded into im2col (positions outside the input read as 0, and may be
//! asymmetric); other padding modes are applied by an explicit pad before the convolution.
//! A 1×1 convolution with stride 1 and no padding uses the input as its column matrix.

use super::contiguous;
use std::ops::Range;

use ndarray::{Array3, ArrayView2, ArrayViewMut2, ArrayViewMut3, Axis, IxDyn, ShapeBuilder, s};
use rayon::prelude::*;

use super::conv_bias::grad_bias;
use super::conv_depthwise;
use super::conv_tiles::{Scratch, Tile, max_tile_columns, scratch, tiles, with_scratch};
use super::gemm::gemm;
pub use super::im2col::{col2im, im2col};
use super::im2col::{col2im_strided, im2col_strided};
use super::padded::PaddedLayout;
use crate::autograd::{Backward, record};
use crate::tensor::{SharedArray, Tensor};

/// Most floats one tile's column matrix may hold (1 MiB): small enough to stay in cache
/// between im2col and the GEMM that reads it, and the bound on per-thread scratch memory.
/// tapegrad-only (PyTorch's CPU convolution builds the columns of one sample at a time).
///
/// ```
/// // A ResNet 3×3 layer on 64 channels has 576 column rows: a tile then covers at most
/// // ⌊2¹⁸ / 576⌋ = 455 output positions, whatever the batch size.
/// assert_eq!(tapegrad::ops::conv::MAX_COLS_ELEMENTS / (64 * 3 * 3), 455);
/// ```
pub const MAX_COLS_ELEMENTS: usize = 1 << 18;
/// Fewest output columns worth a forward task of its own when a batch is cut finer to keep
/// every thread busy.
const MIN_TILE_COLUMNS: usize = 256;
/// Most partial weight gradients (chunks of samples) in the backward pass...
const MAX_PARTIALS: usize = 16;
/// ...and most floats all of them may hold together (16 MiB).
const MAX_PARTIAL_ELEMENTS: usize = 1 << 22;

/// Everything about one convolution's shapes, in 3-d form. Built from validated arguments.
/// tapegrad-only; the nearest PyTorch counterpart is ATen's internal `ConvParams`.
///
/// ```
/// use tapegrad::ops::conv::ConvGeometry;
/// // LeNet-5's first layer: a batch of 2 one-channel 28×28 images, six 5×5 kernels.
/// let g = ConvGeometry::new(&[2, 1, 28, 28], &[6, 1, 5, 5], 1, &[1, 1], &[1, 1], &[(0, 0), (0, 0)]);
/// assert_eq!(g.output, [1, 24, 24]); // 28 − 5 + 1 = 24; the leading 1 is the lifted depth
/// assert_eq!(g.output_shape(), vec![2, 6, 24, 24]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvGeometry {
    /// N.
    pub batch: usize,
    /// C.
    pub in_channels: usize,
    /// O.
    pub out_channels: usize,
    /// G.
    pub groups: usize,
    /// How many trailing dims are spatial in the caller's tensors (1, 2 or 3).
    pub spatial_dims: usize,
    /// (D, H, W) of the input, leading 1s for fewer spatial dims.
    pub input: [usize; 3],
    /// (KD, KH, KW).
    pub kernel: [usize; 3],
    /// Stride per dim (≥ 1).
    pub stride: [usize; 3],
    /// Dilation per dim (≥ 1).
    pub dilation: [usize; 3],
    /// Zeros added before each dim (the part after only shows in `output`).
    pub pad_before: [usize; 3],
    /// (OD, OH, OW): `floor((in + before + after − dilation·(k − 1) − 1) / stride) + 1`.
    pub output: [usize; 3],
}

impl ConvGeometry {
    /// The geometry of `input` (N, C, *spatial) convolved with `weight` (O, C/G, *kernel),
    /// with per-dim stride, dilation and (before, after) zero padding. The arguments must
    /// already be valid (see `nn::functional::conv2d` for the checks PyTorch makes).
    /// tapegrad-only (PyTorch computes the same sizes inside `at::convolution`). Example on
    /// [`ConvGeometry`].
    pub fn new(
        input: &[usize],
        weight: &[usize],
        groups: usize,
        stride: &[usize],
        dilation: &[usize],
        padding: &[(usize, usize)],
    ) -> ConvGeometry {
        let spatial_dims = input.len() - 2;
        let lift = |v: &[usize], fill: usize| -> [usize; 3] {
            let mut out = [fill; 3];
            out[3 - spatial_dims..].copy_from_slice(v);
            out
        };
        let input_3d = lift(&input[2..], 1);
        let kernel = lift(&weight[2..], 1);
        let stride = lift(stride, 1);
        let dilation = lift(dilation, 1);
        let pad_before = lift(&padding.iter().map(|p| p.0).collect::<Vec<_>>(), 0);
        let pad_after = lift(&padding.iter().map(|p| p.1).collect::<Vec<_>>(), 0);
        let output = std::array::from_fn(|i| {
            let span = input_3d[i] + pad_before[i] + pad_after[i];
            let reach = dilation[i] * (kernel[i] - 1) + 1;
            (span - reach) / stride[i] + 1
        });
        ConvGeometry {
            batch: input[0],
            in_channels: input[1],
            out_channels: weight[0],
            groups,
            spatial_dims,
            input: input_3d,
            kernel,
            stride,
            dilation,
            pad_before,
            output,
        }
    }

    pub(crate) fn in_len(&self) -> usize {
        self.input.iter().product()
    }
    pub(crate) fn out_len(&self) -> usize {
        self.output.iter().product()
    }
    pub(crate) fn kernel_len(&self) -> usize {
        self.kernel.iter().product()
    }
    pub(crate) fn group_in(&self) -> usize {
        self.in_channels / self.groups
    }
    pub(crate) fn group_out(&self) -> usize {
        self.out_channels / self.groups
    }
    /// Rows of the column matrix: Cg·K.
    pub(crate) fn col_rows(&self) -> usize {
        self.group_in() * self.kernel_len()
    }
    /// Output "rows" (od, oh) of OW positions each: the unit of tiling.
    pub(crate) fn out_rows(&self) -> usize {
        self.output[0] * self.output[1]
    }
    /// A 1×1 kernel with stride 1 and no padding: the input already is the column matrix.
    pub(crate) fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1, 1]
            && self.stride == [1, 1, 1]
            && self.pad_before == [0, 0, 0]
            && self.output == self.input
    }
    /// One input channel and at most 4 output channels per group (depthwise convolutions):
    /// the direct kernels of `conv_depthwise` replace im2col + GEMM, whose products would
    /// be too thin. (With more output channels, as LeNet's first layer has, GEMM wins:
    /// measured with `examples/bench`.)
    pub(crate) fn is_direct(&self) -> bool {
        self.group_in() == 1
            && self.group_out() <= 4
            && !self.is_pointwise()
            && PaddedLayout::pays_for(self, 0..self.out_rows())
    }
    /// The output shape in the caller's dimensionality: (N, O, *spatial), each spatial size
    /// `⌊(in + before + after − dilation·(k − 1) − 1) / stride⌋ + 1`, as in PyTorch's
    /// `torch.nn.Conv2d` shape notes. Example on [`ConvGeometry`].
    pub fn output_shape(&self) -> Vec<usize> {
        [&[self.batch, self.out_channels][..], &self.output[3 - self.spatial_dims..]].concat()
    }
}

/// Convolves already-validated arguments: `input` (N, C, *spatial) with `weight`
/// (O, C/G, *kernel) and an optional `bias` (O,), zero padding `(before, after)` per dim.
/// The checks PyTorch makes live in `nn::functional`; this is the op they call (PyTorch:
/// `at::convolution`, below `F.conv2d`'s argument checks). A cross-correlation:
///
/// ```text
/// out[n, o, p] = bias[o] + Σ_{c in o's group} Σ_k weight[o, c, k] · x[n, c, p·stride + k·dilation − pad_before]
/// ```
///
/// ```
/// use tapegrad::Tensor;
/// use tapegrad::ops::conv::{ConvGeometry, conv_nd};
/// // 1-d: x = [1, 2, 3, 4], kernel [1, −1]: out[p] = x[p] − x[p + 1].
/// let x = Tensor::from_vec(vec![1., 2., 3., 4.], &[1, 1, 4]).unwrap();
/// let w = Tensor::from_vec(vec![1., -1.], &[1, 1, 2]).unwrap();
/// let g = ConvGeometry::new(x.shape(), w.shape(), 1, &[1], &[1], &[(0, 0)]);
/// assert_eq!(conv_nd(&x, &w, None, g).to_vec(), vec![-1., -1., -1.]);
/// ```
pub fn conv_nd(input: &Tensor, weight: &Tensor, bias: Option<&Tensor>, geometry: ConvGeometry) -> Tensor {
    let x = input.data();
    let w = weight.data();
    let b = bias.map(Tensor::data);
    let out = conv_forward(&x, &w, b.as_ref(), &geometry);
    let mut inputs = vec![input, weight];
    inputs.extend(bias);
    record(out, &inputs, ConvBackward { input: x, weight: w, geometry, has_bias: bias.is_some() })
}

/// The slices one group of one sample reads: its input (Cg, D, H, W) and its weights as a
/// matrix (Og, Cg·K).
struct GroupData<'a> {
    x: &'a [f32],
    w: &'a [f32],
    g: &'a ConvGeometry,
}

impl<'a> GroupData<'a> {
    fn input(&self, n: usize, group: usize) -> &'a [f32] {
        let (cg, in_len) = (self.g.group_in(), self.g.in_len());
        &self.x[(n * self.g.in_channels + group * cg) * in_len..][..cg * in_len]
    }
    fn weight(&self, group: usize) -> ArrayView2<'a, f32> {
        let (og, col_rows) = (self.g.group_out(), self.g.col_rows());
        ArrayView2::from_shape((og, col_rows), &self.w[group * og * col_rows..][..og * col_rows]).expect("weight")
    }
    /// The pointwise path's column matrix: the input itself, restricted to the tile's columns.
    fn pointwise_columns(&self, n: usize, group: usize, tile: &Tile) -> ArrayView2<'a, f32> {
        let (cg, in_len, ow) = (self.g.group_in(), self.g.in_len(), self.g.output[2]);
        let x = ArrayView2::from_shape((cg, in_len), self.input(n, group)).expect("pointwise input");
        x.slice_move(s![.., tile.rows.start * ow..tile.rows.end * ow])
    }
}

/// The forward pass: the batch is cut into tiles (finer than the batch when it is small, so
/// every thread has work), each tile computed by one task for every group.
fn conv_forward(x: &SharedArray, w: &SharedArray, bias: Option<&SharedArray>, g: &ConvGeometry) -> SharedArray {
    let (x, w) = (contiguous(x), contiguous(w));
    let bias = bias.map(contiguous);
    let data = GroupData { x: &x, w: &w, g };
    let out_len = g.out_len();
    let shape = (g.batch, g.out_channels, out_len);
    // Every path overwrites its block of the output (no `+=`). The zeros are written into a
    // reused buffer when there is one (see `tensor/reuse.rs`).
    let mut out = Array3::from_shape_vec(shape, super::zeroed(shape.0 * shape.1 * shape.2)).expect("output shape");

    let tasks_wanted = 2 * rayon::current_num_threads();
    let columns_wanted = (g.batch * out_len).div_ceil(tasks_wanted).max(MIN_TILE_COLUMNS);
    let tiles = tiles(g, 0..g.batch, columns_wanted.min(max_tile_columns(g)));
    // With fewer tiles than tasks wanted (a small batch of a grouped or depthwise conv, say
    // one image), each tile's groups are shared out too: every group writes its own
    // channels, so the result does not depend on who computes it.
    let group_chunks = tasks_wanted.div_ceil(tiles.len().max(1)).clamp(1, g.groups.max(1));
    let groups_per_job = g.groups.div_ceil(group_chunks).max(1);
    // Each job's block of the output: (samples, its groups' channels, tile columns), disjoint
    // views.
    let mut jobs = Vec::with_capacity(tiles.len() * group_chunks);
    let mut rest = out.view_mut();
    let mut columns_left = 0; // Of the current sample, when tiles cut it into rows.
    let mut sample_rest: Option<ArrayViewMut3<f32>> = None;
    for tile in tiles {
        let block = if tile.rows.len() == g.out_rows() {
            let (block, tail) = rest.split_at(Axis(0), tile.samples.len());
            rest = tail;
            block
        } else {
            if columns_left == 0 {
                let (sample, tail) = rest.split_at(Axis(0), 1);
                (sample_rest, rest, columns_left) = (Some(sample), tail, out_len);
            }
            let (block, tail) = sample_rest.take().expect("a sample is open").split_at(Axis(2), tile.width(g));
            (sample_rest, columns_left) = (Some(tail), columns_left - tile.width(g));
            block
        };
        let mut block = block;
        for first in (0..g.groups).step_by(groups_per_job) {
            let groups = first..(first + groups_per_job).min(g.groups);
            let (part, tail) = block.split_at(Axis(1), groups.len() * g.group_out());
            block = tail;
            jobs.push((tile.clone(), groups, part));
        }
    }
    jobs.into_par_iter().for_each(|(tile, groups, mut block)| {
        with_scratch(|buffers| {
            for group in groups.clone() {
                // The group's channels within the block, and within the whole output.
                let local = (group - groups.start) * g.group_out()..(group - groups.start + 1) * g.group_out();
                forward_tile(&data, group, &tile, block.slice_mut(s![.., local.clone(), ..]), buffers);
                if let Some(bias) = &bias {
                    for mut sample in block.outer_iter_mut() {
                        for (o, mut row) in sample.slice_mut(s![local.clone(), ..]).outer_iter_mut().enumerate() {
                            row += bias[group * g.group_out() + o];
                        }
                    }
                }
            }
        })
    });
    out.into_shared().into_shape_with_order(IxDyn(&g.output_shape())).expect("output shape")
}

/// One group of one tile: `out` is the tile's (samples, Og, width) block of the output.
fn forward_tile(data: &GroupData, group: usize, tile: &Tile, mut out: ArrayViewMut3<f32>, buffers: &mut Scratch) {
    let g = data.g;
    let (og, col_rows, width) = (g.group_out(), g.col_rows(), tile.width(g));
    let w_group = data.weight(group);
    if g.is_direct() {
        let w_flat = w_group.as_slice().expect("contiguous weight");
        let n = tile.samples.start;
        let out = out.index_axis_mut(Axis(0), 0);
        let input = data.input(n, group);
        conv_depthwise::forward(input, w_flat, g, tile.rows.clone(), out, [&mut buffers.padded, &mut buffers.tile]);
        return;
    }
    if g.is_pointwise() {
        let n = tile.samples.start;
        // (Og, Cg) × (Cg, width) → (Og, width)
        gemm(1.0, w_group, data.pointwise_columns(n, group, tile), 0.0, out.index_axis_mut(Axis(0), 0));
        return;
    }
    let samples = tile.samples.len();
    let total = samples * width;
    let cols = scratch(&mut buffers.cols, col_rows * total);
    for (s, n) in tile.samples.clone().enumerate().filter(|_| col_rows > 0) {
        let input = data.input(n, group);
        im2col_strided(input, g, tile.rows.clone(), &mut cols[s * width..], total, &mut buffers.padded);
    }
    let cols = ArrayView2::from_shape((col_rows, total), &cols[..]).expect("cols");
    if samples == 1 {
        // (Og, Cg·K) × (Cg·K, width) → (Og, width), straight into the output.
        gemm(1.0, w_group, cols, 0.0, out.index_axis_mut(Axis(0), 0));
    } else {
        // (Og, Cg·K) × (Cg·K, S·width) → (Og, S·width), then each sample's columns to its place.
        let mut product = ArrayViewMut2::from_shape((og, total), scratch(&mut buffers.tile, og * total)).expect("tile");
        gemm(1.0, w_group, cols, 0.0, product.view_mut());
        for (s, mut sample) in out.outer_iter_mut().enumerate() {
            sample.assign(&product.slice(s![.., s * width..(s + 1) * width]));
        }
    }
}

/// Convolution backward. Saved: the input and the weight (the column matrices are
/// recomputed rather than stored), and the geometry.
struct ConvBackward {
    input: SharedArray,
    weight: SharedArray,
    geometry: ConvGeometry,
    has_bias: bool,
}

impl Drop for ConvBackward {
    /// The saved input is often the last owner of its buffer (an activation): keep it for reuse.
    fn drop(&mut self) {
        crate::tensor::reuse::recycle_field(&mut self.input);
    }
}

impl Backward for ConvBackward {
    fn name(&self) -> &'static str {
        "ConvolutionBackward0"
    }
    fn backward(&self, grad: &SharedArray, needs: &[bool]) -> Vec<Option<SharedArray>> {
        let g = &self.geometry;
        let dout = contiguous(grad);
        let (x, w) = (contiguous(&self.input), contiguous(&self.weight));
        let (grad_input, grad_weight) = conv_backward(&dout, &x, &w, g, needs[0], needs[1]);
        let input_shape: Vec<usize> = [&[g.batch, g.in_channels][..], &g.input[3 - g.spatial_dims..]].concat();
        let weight_shape: Vec<usize> = [&[g.out_channels, g.group_in()][..], &g.kernel[3 - g.spatial_dims..]].concat();
        let as_array = |shape: &[usize], values: Vec<f32>| {
            ndarray::ArrayD::from_shape_vec(IxDyn(shape), values).expect("gradient shape").into_shared()
        };
        let mut grads =
            vec![grad_input.map(|dx| as_array(&input_shape, dx)), grad_weight.map(|dw| as_array(&weight_shape, dw))];
        if self.has_bias {
            grads.push(needs[2].then(|| grad_bias(&dout, g)));
        }
        grads
    }
}

/// grad_input and grad_weight together: one task per fixed chunk of samples, which owns
/// that chunk's slice of `dx` and computes its partial sum of `dW`, tile by tile.
fn conv_backward(
    dout: &[f32],
    x: &[f32],
    w: &[f32],
    g: &ConvGeometry,
    needs_input: bool,
    needs_weight: bool,
) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
    if !needs_input && !needs_weight {
        return (None, None);
    }
    let data = GroupData { x, w, g };
    let weight_len = g.out_channels * g.col_rows();
    let sample_len = g.in_channels * g.in_len();
    // The chunking depends on the shapes only, never on the thread count.
    let partials = g.batch.min(MAX_PARTIALS).min(MAX_PARTIAL_ELEMENTS / weight_len.max(1)).max(1);
    let chunk = g.batch.div_ceil(partials).max(1);
    let mut dx = super::zeroed(if needs_input { g.batch * sample_len } else { 0 });
    let chunks: Vec<(Range<usize>, &mut [f32])> = if needs_input {
        dx.chunks_mut(chunk * sample_len.max(1))
            .enumerate()
            .map(|(i, dx)| (i * chunk..((i + 1) * chunk).min(g.batch), dx))
            .collect()
    } else {
        (0..g.batch).step_by(chunk).map(|start| (start..(start + chunk).min(g.batch), &mut [][..])).collect()
    };
    let partial_sums: Vec<Vec<f32>> = chunks
        .into_par_iter()
        .map(|(samples, dx_chunk)| {
            let mut dw = vec![0.0f32; if needs_weight { weight_len } else { 0 }];
            let chunk_tiles = tiles(g, samples.clone(), max_tile_columns(g));
            with_scratch(|buffers| {
                for group in 0..g.groups {
                    for tile in &chunk_tiles {
                        let dx_chunk = needs_input.then_some(&mut *dx_chunk);
                        let dw = needs_weight.then_some(&mut dw[..]);
                        backward_tile(&data, dout, group, tile, samples.start, dx_chunk, dw, buffers);
                    }
                }
            });
            dw
        })
        .collect();
    // The partial sums, added in chunk order.
    let grad_weight = needs_weight.then(|| {
        let mut total = vec![0.0f32; weight_len];
        for partial in partial_sums {
            total.iter_mut().zip(partial).for_each(|(t, p)| *t += p);
        }
        total
    });
    (needs_input.then_some(dx), grad_weight)
}

/// Both backward products of one group of one tile. `dx_chunk` is the input gradient of
/// the samples from `first_sample` on; `dw` the chunk's partial weight gradient.
#[allow(clippy::too_many_arguments)]
fn backward_tile(
    data: &GroupData,
    dout: &[f32],
    group: usize,
    tile: &Tile,
    first_sample: usize,
    dx_chunk: Option<&mut [f32]>,
    dw: Option<&mut [f32]>,
    buffers: &mut Scratch,
) {
    let g = data.g;
    let (cg, og, col_rows, in_len, out_len) = (g.group_in(), g.group_out(), g.col_rows(), g.in_len(), g.out_len());
    let (width, samples, ow) = (tile.width(g), tile.samples.len(), g.output[2]);
    let total = samples * width;
    let w_group = data.weight(group);
    let dout_group = |n: usize| &dout[(n * g.out_channels + group * og) * out_len..][..og * out_len];
    // Where sample n's group lies in dx_chunk.
    let dx_group = |n: usize| {
        let start = ((n - first_sample) * g.in_channels + group * cg) * in_len;
        start..start + cg * in_len
    };
    let mut dw = dw.map(|dw| {
        ArrayViewMut2::from_shape(
            (og, col_rows).strides((col_rows, 1)),
            &mut dw[group * og * col_rows..][..og * col_rows],
        )
        .expect("dw")
    });

    if g.is_direct() {
        let n = tile.samples.start;
        let w_flat = w_group.as_slice().expect("contiguous weight");
        let dw = dw.as_mut().map(|dw| dw.as_slice_mut().expect("dw"));
        let dx = dx_chunk.map(|dx| &mut dx[dx_group(n)]);
        let buffers = [&mut buffers.padded, &mut buffers.tile];
        conv_depthwise::backward(dout_group(n), data.input(n, group), w_flat, g, dw, dx, buffers);
        return;
    }

    // The tile of dout, (Og, total): a view of dout for one sample, gathered for several.
    let columns = tile.rows.start * ow..tile.rows.end * ow;
    let dout_view = if samples == 1 {
        let n = tile.samples.start;
        ArrayView2::from_shape((og, out_len), dout_group(n)).expect("dout").slice_move(s![.., columns.clone()])
    } else {
        let gathered = scratch(&mut buffers.tile, og * total);
        for (s, n) in tile.samples.clone().enumerate() {
            for (o, row) in dout_group(n).chunks_exact(out_len).enumerate() {
                gathered[o * total + s * width..][..width].copy_from_slice(&row[columns.clone()]);
            }
        }
        ArrayView2::from_shape((og, total), &gathered[..]).expect("dout tile")
    };

    if g.is_pointwise() {
        let n = tile.samples.start;
        if let Some(dw) = dw.as_mut() {
            // (Og, width) × (width, Cg) → (Og, Cg), accumulated.
            gemm(1.0, dout_view, data.pointwise_columns(n, group, tile).t(), 1.0, dw.view_mut());
        }
        if let Some(dx) = dx_chunk {
            let range = dx_group(n);
            let dx_view = ArrayViewMut2::from_shape((cg, in_len), &mut dx[range]).expect("dx");
            // (Cg, Og) × (Og, width) → (Cg, width), written straight into dx.
            gemm(1.0, w_group.t(), dout_view, 0.0, dx_view.slice_move(s![.., columns]));
        }
        return;
    }

    let cols = scratch(&mut buffers.cols, col_rows * total);
    if let Some(dw) = dw.as_mut() {
        for (s, n) in tile.samples.clone().enumerate().filter(|_| col_rows > 0) {
            let input = data.input(n, group);
            im2col_strided(input, g, tile.rows.clone(), &mut cols[s * width..], total, &mut buffers.padded);
        }
        let cols = ArrayView2::from_shape((col_rows, total), &cols[..]).expect("cols");
        // (Og, total) × (total, Cg·K) → (Og, Cg·K), accumulated (β = 1).
        gemm(1.0, dout_view, cols.t(), 1.0, dw.view_mut());
    }
    if let Some(dx) = dx_chunk {
        // (Cg·K, Og) × (Og, total) → (Cg·K, total), in the same buffer the columns were in.
        let dcols = ArrayViewMut2::from_shape((col_rows, total), &mut cols[..]).expect("dcols");
        gemm(1.0, w_group.t(), dout_view, 0.0, dcols);
        for (s, n) in tile.samples.clone().enumerate().filter(|_| col_rows > 0) {
            let range = dx_group(n);
            col2im_strided(&cols[s * width..], g, tile.rows.clone(), total, &mut dx[range], &mut buffers.padded);
        }
    }
}
