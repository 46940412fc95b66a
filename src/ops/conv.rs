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
//! * forward, per sample n and group g:  `out[n,g] (Og, L) = W[g] (Og, Cg·K) × cols[n,g] (Cg·K, L)`
//! * grad_input:  `dcols (Cg·K, L) = W[g]ᵀ (Cg·K, Og) × dout[n,g] (Og, L)`, then col2im
//! * grad_weight: `dW[g] (Og, Cg·K) += dout[n,g] (Og, L) × cols[n,g]ᵀ (L, Cg·K)`, summed over
//!   fixed chunks of samples in a fixed order, so the result is the same on any thread count
//! * grad_bias:   `db[o] = Σ_n Σ_l dout[n, o, l]`
//!
//! Zero padding is folded into im2col (positions outside the input read as 0, and may be
//! asymmetric); other padding modes are applied by an explicit pad before the convolution.
//! A 1×1 convolution with stride 1 and no padding uses the input as its column matrix.

use std::ops::Range;

use ndarray::{ArrayView2, ArrayViewMut2, Axis, IxDyn, ShapeBuilder};
use rayon::prelude::*;

use super::conv_depthwise;
use super::gemm::gemm;
use crate::autograd::{Backward, record};
use crate::tensor::{SharedArray, Tensor};

/// Samples whose grad_weight contributions are summed into one partial (a fixed number, so
/// the reduction order does not depend on how many threads run).
const SAMPLES_PER_PARTIAL: usize = 4;
/// Smallest number of output columns worth a task of its own when tiling one sample.
const MIN_TILE_COLUMNS: usize = 256;
/// Most `f32`s one task's column matrix may hold in the forward pass (4 MiB): larger
/// outputs are tiled, which bounds memory and keeps the matrix in cache.
const MAX_COLS_ELEMENTS: usize = 1 << 20;

/// Everything about one convolution's shapes, in 3-d form. Built from validated arguments.
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

    fn in_len(&self) -> usize {
        self.input.iter().product()
    }
    fn out_len(&self) -> usize {
        self.output.iter().product()
    }
    fn kernel_len(&self) -> usize {
        self.kernel.iter().product()
    }
    fn group_in(&self) -> usize {
        self.in_channels / self.groups
    }
    fn group_out(&self) -> usize {
        self.out_channels / self.groups
    }
    /// Rows of the column matrix: Cg·K.
    fn col_rows(&self) -> usize {
        self.group_in() * self.kernel_len()
    }
    /// Output "rows" (od, oh) of OW positions each: the unit of tiling.
    fn out_rows(&self) -> usize {
        self.output[0] * self.output[1]
    }
    /// A 1×1 kernel with stride 1 and no padding: the input already is the column matrix.
    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1, 1]
            && self.stride == [1, 1, 1]
            && self.pad_before == [0, 0, 0]
            && self.output == self.input
    }
    /// One input channel and at most 4 output channels per group (depthwise convolutions):
    /// the direct kernels of `conv_depthwise` replace im2col + GEMM, whose products would
    /// be too thin. (With more output channels, as LeNet's first layer has, GEMM wins:
    /// measured with `examples/bench`.)
    fn is_direct(&self) -> bool {
        self.group_in() == 1 && self.group_out() <= 4 && !self.is_pointwise()
    }
    /// The output shape in the caller's dimensionality: (N, O, *spatial).
    pub fn output_shape(&self) -> Vec<usize> {
        [&[self.batch, self.out_channels][..], &self.output[3 - self.spatial_dims..]].concat()
    }
}

/// What one output row reads for one kernel position: the walk shared by im2col, col2im
/// and the direct depthwise kernels.
pub(crate) struct RowRead {
    /// The kernel position, in the column matrix's row order (row-major over (i, j, l)).
    pub k: usize,
    /// The output row's index within the visited range of rows.
    pub local_row: usize,
    /// Where the input row it reads starts within a channel (`h·W + ...`), or `None` when
    /// that row lies in the zero padding.
    pub x_row: Option<usize>,
    /// The output columns whose input column lies inside the row.
    pub ow_valid: Range<usize>,
    /// The input column read by `ow_valid.start` (then every `stride[2]`).
    pub iw_start: usize,
}

/// Calls `f` for every kernel position and every output row (od, oh) of `rows`.
pub(crate) fn for_each_row_read(g: &ConvGeometry, rows: Range<usize>, mut f: impl FnMut(RowRead)) {
    let [d_in, h_in, w_in] = g.input;
    let [kd, kh, kw] = g.kernel;
    let oh_len = g.output[1];
    for (k, (i, j, l)) in kernel_offsets(kd, kh, kw).enumerate() {
        let (ow_valid, iw_start) = valid_columns(g, l);
        for (local_row, r) in rows.clone().enumerate() {
            let (od, oh) = (r / oh_len, r % oh_len);
            let id = (od * g.stride[0] + i * g.dilation[0]) as isize - g.pad_before[0] as isize;
            let ih = (oh * g.stride[1] + j * g.dilation[1]) as isize - g.pad_before[1] as isize;
            let inside = (0..d_in as isize).contains(&id) && (0..h_in as isize).contains(&ih);
            let x_row = inside.then(|| (id as usize * h_in + ih as usize) * w_in);
            f(RowRead { k, local_row, x_row, ow_valid: ow_valid.clone(), iw_start });
        }
    }
}

/// Fills `cols` (Cg·K rows × the columns of output rows `rows`) with the input patches of
/// one group of one sample, `x` being that group's (Cg, D, H, W) input. Out-of-range
/// positions (the zero padding) read as 0.
pub fn im2col(x: &[f32], g: &ConvGeometry, rows: Range<usize>, cols: &mut [f32]) {
    let ow_len = g.output[2];
    let width = rows.len() * ow_len;
    debug_assert_eq!(cols.len(), g.col_rows() * width);
    let sw = g.stride[2];
    for c in 0..g.group_in() {
        let x_c = &x[c * g.in_len()..(c + 1) * g.in_len()];
        for_each_row_read(g, rows.clone(), |read| {
            let col_row = (c * g.kernel_len() + read.k) * width + read.local_row * ow_len;
            let out_row = &mut cols[col_row..col_row + ow_len];
            let Some(x_row) = read.x_row else {
                out_row.fill(0.0);
                return;
            };
            let x_row = &x_c[x_row..x_row + g.input[2]];
            out_row[..read.ow_valid.start].fill(0.0);
            out_row[read.ow_valid.end..].fill(0.0);
            let valid = &mut out_row[read.ow_valid.clone()];
            if sw == 1 {
                valid.copy_from_slice(&x_row[read.iw_start..read.iw_start + valid.len()]);
            } else {
                for (i, v) in valid.iter_mut().enumerate() {
                    *v = x_row[read.iw_start + i * sw];
                }
            }
        });
    }
}

/// The adjoint of [`im2col`]: adds every column entry back onto the input position it was
/// read from (`x_grad += col2imᵀ`); entries that came from the padding are dropped.
pub fn col2im(cols: &[f32], g: &ConvGeometry, x_grad: &mut [f32]) {
    let (ow_len, width, sw) = (g.output[2], g.out_len(), g.stride[2]);
    for c in 0..g.group_in() {
        let x_c = &mut x_grad[c * g.in_len()..(c + 1) * g.in_len()];
        for_each_row_read(g, 0..g.out_rows(), |read| {
            let Some(x_row) = read.x_row else { return };
            let col_row = (c * g.kernel_len() + read.k) * width + read.local_row * ow_len;
            let valid = &cols[col_row + read.ow_valid.start..col_row + read.ow_valid.end];
            let x_row = &mut x_c[x_row..x_row + g.input[2]];
            if sw == 1 {
                x_row[read.iw_start..read.iw_start + valid.len()].iter_mut().zip(valid).for_each(|(x, v)| *x += v);
            } else {
                for (i, v) in valid.iter().enumerate() {
                    x_row[read.iw_start + i * sw] += v;
                }
            }
        });
    }
}

/// The kernel positions (i, j, l) in row-major order: the row order of the column matrix.
fn kernel_offsets(kd: usize, kh: usize, kw: usize) -> impl Iterator<Item = (usize, usize, usize)> {
    (0..kd).flat_map(move |i| (0..kh).flat_map(move |j| (0..kw).map(move |l| (i, j, l))))
}

/// For kernel column `l`: the output columns `ow` whose input column
/// `iw = ow·sw + l·dw − pw` lies inside the input, and the `iw` of the first of them.
fn valid_columns(g: &ConvGeometry, l: usize) -> (Range<usize>, usize) {
    let (sw, pw, w_in, ow_len) = (g.stride[2], g.pad_before[2] as isize, g.input[2] as isize, g.output[2]);
    let offset = (l * g.dilation[2]) as isize - pw; // iw = ow·sw + offset
    let first = if offset >= 0 { 0 } else { ((-offset) as usize).div_ceil(sw) };
    let last = if w_in - 1 - offset < 0 { 0 } else { ((w_in - 1 - offset) as usize / sw + 1).min(ow_len) };
    let range = first.min(last)..last;
    // An empty range (the kernel column lies wholly in the padding) reads nothing.
    let iw_start = if range.is_empty() { 0 } else { (range.start as isize * sw as isize + offset) as usize };
    (range, iw_start)
}

/// Convolves already-validated arguments: `input` (N, C, *spatial) with `weight`
/// (O, C/G, *kernel) and an optional `bias` (O,), zero padding `(before, after)` per dim.
/// The checks PyTorch makes live in `nn::functional`; this is the op they call.
pub fn conv_nd(input: &Tensor, weight: &Tensor, bias: Option<&Tensor>, geometry: ConvGeometry) -> Tensor {
    let x = input.data();
    let w = weight.data();
    let b = bias.map(Tensor::data);
    let out = conv_forward(&x, &w, b.as_ref(), &geometry);
    let mut inputs = vec![input, weight];
    inputs.extend(bias);
    record(out, &inputs, ConvBackward { input: x, weight: w, geometry, has_bias: bias.is_some() })
}

fn contiguous(a: &SharedArray) -> std::borrow::Cow<'_, [f32]> {
    match a.as_slice() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(a.iter().copied().collect()),
    }
}

/// The forward pass: one GEMM per (sample, group, tile of output rows), in parallel.
fn conv_forward(x: &SharedArray, w: &SharedArray, bias: Option<&SharedArray>, g: &ConvGeometry) -> SharedArray {
    let (x, w) = (contiguous(x), contiguous(w));
    let (cg, og, out_len, col_rows) = (g.group_in(), g.group_out(), g.out_len(), g.col_rows());
    let mut out = ndarray::Array3::<f32>::zeros((g.batch * g.groups, og, out_len));

    // Split each (sample, group) into tiles of whole output rows when there are too few
    // (sample, group) pairs to keep every thread busy.
    let pairs = g.batch * g.groups;
    let threads = rayon::current_num_threads();
    let rows_per_tile = if pairs >= 2 * threads || g.is_pointwise() {
        g.out_rows()
    } else {
        let tiles_wanted = (2 * threads).div_ceil(pairs.max(1));
        let min_rows = MIN_TILE_COLUMNS.div_ceil(g.output[2].max(1));
        g.out_rows().div_ceil(tiles_wanted).max(min_rows).max(1)
    };
    let rows_per_tile = if g.is_pointwise() {
        rows_per_tile
    } else {
        rows_per_tile.min(MAX_COLS_ELEMENTS / (col_rows * g.output[2]).max(1)).max(1)
    };
    let ow = g.output[2];
    let mut jobs = Vec::new();
    for (pair, mut rest) in out.outer_iter_mut().enumerate() {
        let mut row_start = 0;
        while row_start < g.out_rows() {
            let rows = rows_per_tile.min(g.out_rows() - row_start);
            let (tile, tail) = rest.split_at(Axis(1), rows * ow);
            jobs.push((pair, row_start..row_start + rows, tile));
            rest = tail;
            row_start += rows;
        }
    }
    jobs.into_par_iter().for_each_init(Vec::new, |cols: &mut Vec<f32>, (pair, rows, out_tile)| {
        let (n, group) = (pair / g.groups, pair % g.groups);
        let x_group = &x[(n * g.in_channels + group * cg) * g.in_len()..][..cg * g.in_len()];
        let w_group =
            ArrayView2::from_shape((og, col_rows), &w[group * og * col_rows..][..og * col_rows]).expect("weight");
        if g.is_direct() {
            let w_group = &w[group * og * col_rows..][..og * col_rows];
            conv_depthwise::forward(x_group, w_group, g, rows, out_tile);
            return;
        }
        let width = out_tile.ncols();
        let columns: ArrayView2<f32> = if g.is_pointwise() {
            ArrayView2::from_shape((cg, out_len), x_group).expect("pointwise input")
        } else {
            cols.resize(col_rows * width, 0.0);
            im2col(x_group, g, rows, cols);
            ArrayView2::from_shape((col_rows, width), &cols[..]).expect("cols")
        };
        // (Og, Cg·K) × (Cg·K, tile) → (Og, tile)
        gemm(1.0, w_group, columns, 0.0, out_tile);
    });

    if let Some(bias) = bias {
        let bias = contiguous(bias);
        for (pair, mut out_pair) in out.outer_iter_mut().enumerate() {
            let group = pair % g.groups;
            for (o, mut row) in out_pair.outer_iter_mut().enumerate() {
                row += bias[group * og + o];
            }
        }
    }
    out.into_shared().into_shape_with_order(IxDyn(&g.output_shape())).expect("output shape")
}

/// Convolution backward. Saved: the input and the weight (the column matrices are
/// recomputed rather than stored), and the geometry.
struct ConvBackward {
    input: SharedArray,
    weight: SharedArray,
    geometry: ConvGeometry,
    has_bias: bool,
}

impl Backward for ConvBackward {
    fn name(&self) -> &'static str {
        "ConvolutionBackward0"
    }
    fn backward(&self, grad: &SharedArray, needs: &[bool]) -> Vec<Option<SharedArray>> {
        let g = &self.geometry;
        let dout = contiguous(grad);
        let mut grads = vec![
            needs[0].then(|| grad_input(&dout, &self.weight, g)),
            needs[1].then(|| grad_weight(&dout, &self.input, g)),
        ];
        if self.has_bias {
            grads.push(needs[2].then(|| grad_bias(&dout, g)));
        }
        grads
    }
}

fn grad_input(dout: &[f32], weight: &SharedArray, g: &ConvGeometry) -> SharedArray {
    let w = contiguous(weight);
    let (cg, og, out_len, col_rows, in_len) = (g.group_in(), g.group_out(), g.out_len(), g.col_rows(), g.in_len());
    let mut dx = vec![0.0f32; g.batch * g.in_channels * in_len];
    // Each (sample, group) owns a disjoint slice of dx: no two tasks write the same element.
    dx.par_chunks_mut(cg * in_len).enumerate().for_each_init(Vec::new, |dcols: &mut Vec<f32>, (pair, dx_group)| {
        let (n, group) = (pair / g.groups, pair % g.groups);
        let w_group =
            ArrayView2::from_shape((og, col_rows), &w[group * og * col_rows..][..og * col_rows]).expect("weight");
        let dout_group =
            ArrayView2::from_shape((og, out_len), &dout[(n * g.out_channels + group * og) * out_len..][..og * out_len])
                .expect("dout");
        if g.is_direct() {
            let w_group = &w[group * og * col_rows..][..og * col_rows];
            conv_depthwise::grad_input(dout_group.as_slice().expect("contiguous"), w_group, g, dx_group);
        } else if g.is_pointwise() {
            // (Cg, Og) × (Og, L) → (Cg, L), written straight into dx.
            let dx_view = ArrayViewMut2::from_shape((cg, in_len), dx_group).expect("dx");
            gemm(1.0, w_group.t(), dout_group, 0.0, dx_view);
        } else {
            dcols.resize(col_rows * out_len, 0.0);
            let dcols_view = ArrayViewMut2::from_shape((col_rows, out_len), &mut dcols[..]).expect("dcols");
            // (Cg·K, Og) × (Og, L) → (Cg·K, L)
            gemm(1.0, w_group.t(), dout_group, 0.0, dcols_view);
            col2im(dcols, g, dx_group);
        }
    });
    let shape: Vec<usize> = [&[g.batch, g.in_channels][..], &g.input[3 - g.spatial_dims..]].concat();
    ndarray::ArrayD::from_shape_vec(IxDyn(&shape), dx).expect("input shape").into_shared()
}

fn grad_weight(dout: &[f32], input: &SharedArray, g: &ConvGeometry) -> SharedArray {
    let x = contiguous(input);
    let (cg, og, out_len, col_rows, in_len) = (g.group_in(), g.group_out(), g.out_len(), g.col_rows(), g.in_len());
    let weight_len = g.out_channels * col_rows;
    let chunks: Vec<Range<usize>> =
        (0..g.batch).step_by(SAMPLES_PER_PARTIAL).map(|s| s..(s + SAMPLES_PER_PARTIAL).min(g.batch)).collect();
    // One partial sum per fixed chunk of samples, computed in parallel...
    let partials: Vec<Vec<f32>> = chunks
        .into_par_iter()
        .map(|samples| {
            let mut partial = vec![0.0f32; weight_len];
            let mut cols = Vec::new();
            for n in samples {
                for group in 0..g.groups {
                    let x_group = &x[(n * g.in_channels + group * cg) * in_len..][..cg * in_len];
                    if g.is_direct() {
                        let dout_group = &dout[(n * g.out_channels + group * og) * out_len..][..og * out_len];
                        let dw = &mut partial[group * og * col_rows..][..og * col_rows];
                        conv_depthwise::grad_weight(dout_group, x_group, g, dw);
                        continue;
                    }
                    let columns = if g.is_pointwise() {
                        ArrayView2::from_shape((cg, out_len), x_group).expect("pointwise input")
                    } else {
                        cols.resize(col_rows * out_len, 0.0);
                        im2col(x_group, g, 0..g.out_rows(), &mut cols);
                        ArrayView2::from_shape((col_rows, out_len), &cols[..]).expect("cols")
                    };
                    let dout_group = ArrayView2::from_shape(
                        (og, out_len),
                        &dout[(n * g.out_channels + group * og) * out_len..][..og * out_len],
                    )
                    .expect("dout");
                    let dw = ArrayViewMut2::from_shape(
                        (og, col_rows).strides((col_rows, 1)),
                        &mut partial[group * og * col_rows..][..og * col_rows],
                    )
                    .expect("dw");
                    // (Og, L) × (L, Cg·K) → (Og, Cg·K), accumulated (β = 1).
                    gemm(1.0, dout_group, columns.t(), 1.0, dw);
                }
            }
            partial
        })
        .collect();
    // ...then added in chunk order, whatever the thread count.
    let mut total = vec![0.0f32; weight_len];
    for partial in partials {
        total.iter_mut().zip(partial).for_each(|(t, p)| *t += p);
    }
    let shape: Vec<usize> = [&[g.out_channels, cg][..], &g.kernel[3 - g.spatial_dims..]].concat();
    ndarray::ArrayD::from_shape_vec(IxDyn(&shape), total).expect("weight shape").into_shared()
}

fn grad_bias(dout: &[f32], g: &ConvGeometry) -> SharedArray {
    let out_len = g.out_len();
    let mut db = vec![0.0f32; g.out_channels];
    for n in 0..g.batch {
        for (o, sum) in db.iter_mut().enumerate() {
            *sum += dout[(n * g.out_channels + o) * out_len..][..out_len].iter().sum::<f32>();
        }
    }
    ndarray::ArrayD::from_shape_vec(IxDyn(&[g.out_channels]), db).expect("bias shape").into_shared()
}
