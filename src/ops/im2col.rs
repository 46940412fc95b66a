//! im2col and col2im: the two data movements that turn a convolution into a matrix product.
//!
//! ```text
//! cols (Cg·K, L): row (c, k) holds, for every output position l, the input value that
//!                 kernel position k of channel c sees from l (0 where that is padding)
//! im2col:  cols[(c, k), l] = x[c, position(l) + offset(k)]
//! col2im:  x_grad[c, position(l) + offset(k)] += cols[(c, k), l]   (its adjoint)
//! ```
//!
//! Both read or write the channels through a zero-padded copy ([`PaddedLayout`]) in which
//! every (kernel position, output row) pair is one contiguous run of OW floats at
//! `bases[row] + taps[k]`: no padding test and no index arithmetic in the copy loops. Both
//! can work on a tile of output rows (only the padded rows the tile reads are touched), and
//! can read or write a block of columns inside a wider matrix (`row_stride`), which is how
//! several samples share one column matrix.

use std::ops::Range;

use super::conv::ConvGeometry;
use super::padded::{PaddedLayout, zeroed_prefix};

/// Fills `cols` (Cg·K rows × the columns of output rows `rows`, stored row after row) with
/// the input patches of one group of one sample, `x` being that group's (Cg, D, H, W)
/// input. Out-of-range positions (the zero padding) read as 0. PyTorch: `F.unfold` (for
/// one group of one sample): `cols[(c, k), l] = x[c, position(l)·stride + k·dilation − pad]`.
///
/// # Panics
/// If `cols` is shorter than Cg·K × `rows.len()`·OW.
///
/// ```
/// use tapegrad::ops::conv::{ConvGeometry, im2col};
/// // A 1×3×3 input, a 2×2 kernel: four output positions, four column rows.
/// let x = [1., 2., 3., 4., 5., 6., 7., 8., 9.];
/// let g = ConvGeometry::new(&[1, 1, 3, 3], &[1, 1, 2, 2], 1, &[1, 1], &[1, 1], &[(0, 0), (0, 0)]);
/// let mut cols = [0.0; 16];
/// im2col(&x, &g, 0..2, &mut cols);
/// // Row k = (0, 0) holds each patch's top-left value; row k = (1, 1) its bottom-right.
/// assert_eq!(cols[..4], [1., 2., 4., 5.]);
/// assert_eq!(cols[12..], [5., 6., 8., 9.]);
/// ```
pub fn im2col(x: &[f32], g: &ConvGeometry, rows: Range<usize>, cols: &mut [f32]) {
    let width = rows.len() * g.output[2];
    im2col_strided(x, g, rows, cols, width, &mut Vec::new());
}

/// [`im2col`] into a block of columns of a wider matrix: row `r` of the block starts at
/// `cols[r · row_stride]` (pass a slice that starts at the block's first column). `buffer`
/// is scratch space for the padded input.
pub(crate) fn im2col_strided(
    x: &[f32],
    g: &ConvGeometry,
    rows: Range<usize>,
    cols: &mut [f32],
    row_stride: usize,
    buffer: &mut Vec<f32>,
) {
    if rows.is_empty() || g.out_len() == 0 {
        return;
    }
    if !PaddedLayout::pays_for(g, rows.clone()) {
        return im2col_walk(x, g, rows, cols, row_stride);
    }
    let layout = PaddedLayout::new(g);
    let within = layout.read_by(rows.clone());
    let xp = layout.fill(g, x, g.group_in(), within.clone(), buffer);
    let (ow, k_len, width) = (g.output[2], layout.taps.len(), rows.len() * g.output[2]);
    let bases = &layout.bases[rows];
    for (c, plane) in xp.chunks_exact(within.len()).enumerate() {
        for (k, &tap) in layout.taps.iter().enumerate() {
            let col_row = &mut cols[(c * k_len + k) * row_stride..][..width];
            for (dst, &base) in col_row.chunks_exact_mut(ow).zip(bases) {
                copy_run(dst, &plane[base + tap - within.start..][..ow]);
            }
        }
    }
}

/// `dst = src` for one run of OW floats. Runs of up to 24 floats (24 and 8 in LeNet-5's
/// layers) are copied eight floats at a time: a `memcpy` call per run cost more than its
/// copy (im2col of LeNet-5's second layer took 41% less time, its first 10% less). Longer
/// runs go to `memcpy`, which was 3–6% faster from 30 floats on (`docs/performance.md`).
fn copy_run(dst: &mut [f32], src: &[f32]) {
    if dst.len() > 24 {
        dst.copy_from_slice(src);
        return;
    }
    let mut dst_chunks = dst.chunks_exact_mut(8);
    let mut src_chunks = src.chunks_exact(8);
    for (d, s) in (&mut dst_chunks).zip(&mut src_chunks) {
        let s: &[f32; 8] = s.try_into().expect("a chunk of 8");
        let d: &mut [f32; 8] = d.try_into().expect("a chunk of 8");
        *d = *s;
    }
    for (d, &s) in dst_chunks.into_remainder().iter_mut().zip(src_chunks.remainder()) {
        *d = s;
    }
}

/// The adjoint of [`im2col`]: adds every column entry of the output rows `rows` back onto
/// the input position it was read from (`x_grad += col2imᵀ`); entries that came from the
/// padding are dropped. `x_grad` is one group of one sample, (Cg, D, H, W). PyTorch:
/// `F.fold`. It is the adjoint: `⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩` for every `x` and `y`.
///
/// ```
/// use tapegrad::ops::conv::{ConvGeometry, col2im};
/// // All-ones columns of a 2×2 kernel on a 3×3 input: each input position receives the
/// // number of patches that contain it (1 at the corners, 4 in the centre).
/// let g = ConvGeometry::new(&[1, 1, 3, 3], &[1, 1, 2, 2], 1, &[1, 1], &[1, 1], &[(0, 0), (0, 0)]);
/// let mut x_grad = [0.0; 9];
/// col2im(&[1.0; 16], &g, 0..2, &mut x_grad);
/// assert_eq!(x_grad, [1., 2., 1., 2., 4., 2., 1., 2., 1.]);
/// ```
pub fn col2im(cols: &[f32], g: &ConvGeometry, rows: Range<usize>, x_grad: &mut [f32]) {
    let width = rows.len() * g.output[2];
    col2im_strided(cols, g, rows, width, x_grad, &mut Vec::new());
}

/// [`col2im`] from a block of columns of a wider matrix (row `r` at `cols[r · row_stride]`):
/// the runs are added into a zeroed padded volume in `buffer`, whose inside is then added
/// onto `x_grad`.
pub(crate) fn col2im_strided(
    cols: &[f32],
    g: &ConvGeometry,
    rows: Range<usize>,
    row_stride: usize,
    x_grad: &mut [f32],
    buffer: &mut Vec<f32>,
) {
    if rows.is_empty() || g.out_len() == 0 {
        return;
    }
    if !PaddedLayout::pays_for(g, rows.clone()) {
        return col2im_walk(cols, g, rows, row_stride, x_grad);
    }
    let layout = PaddedLayout::new(g);
    let within = layout.read_by(rows.clone());
    let (ow, k_len, width) = (g.output[2], layout.taps.len(), rows.len() * g.output[2]);
    let bases = &layout.bases[rows];
    let add_runs = |planes: &mut [f32]| {
        for (c, plane) in planes.chunks_exact_mut(within.len()).enumerate() {
            for (k, &tap) in layout.taps.iter().enumerate() {
                let col_row = &cols[(c * k_len + k) * row_stride..][..width];
                for (src, &base) in col_row.chunks_exact(ow).zip(bases) {
                    plane[base + tap - within.start..][..ow].iter_mut().zip(src).for_each(|(d, &v)| *d += v);
                }
            }
        }
    };
    if layout.is_the_input(g, &within) {
        // The padded layout is the input's own: add straight into the gradient.
        add_runs(&mut x_grad[..g.group_in() * g.in_len()]);
        return;
    }
    // The gradient's padded blocks, laid out as `fill` returns the input's.
    let dxp = zeroed_prefix(buffer, g.group_in() * within.len());
    add_runs(dxp);
    layout.crop_add(g, dxp, g.group_in(), within, x_grad);
}

// ----- without a padded copy ------------------------------------------------------------------

// When padding would copy far more than the tile reads (see `PaddedLayout::pays_for`),
// im2col and col2im walk each (kernel position, output row) pair on the input itself,
// with the padding tests per row.

/// What one output row reads for one kernel position, in the walk that needs no padded
/// copy.
struct RowRead {
    /// The kernel position, in the column matrix's row order (row-major over (i, j, l)).
    k: usize,
    /// The output row's index within the visited range of rows.
    local_row: usize,
    /// Where the input row it reads starts within a channel (`h·W + ...`), or `None` when
    /// that row lies in the zero padding.
    x_row: Option<usize>,
    /// The output columns whose input column lies inside the row.
    ow_valid: Range<usize>,
    /// The input column read by `ow_valid.start` (then every `stride[2]`).
    iw_start: usize,
}

/// Calls `f` for every kernel position and every output row (od, oh) of `rows`.
fn for_each_row_read(g: &ConvGeometry, rows: Range<usize>, mut f: impl FnMut(RowRead)) {
    let [d_in, h_in, w_in] = g.input;
    let [kd, kh, kw] = g.kernel;
    let oh_len = g.output[1];
    for (k, (i, j, l)) in kernel_offsets(kd, kh, kw).enumerate() {
        let (ow_valid, iw_start) = valid_columns(g, l);
        // (od, oh) of each row, stepped rather than divided out of the row index.
        let (mut od, mut oh) = (rows.start / oh_len.max(1), rows.start % oh_len.max(1));
        for local_row in 0..rows.len() {
            if oh == oh_len {
                (od, oh) = (od + 1, 0);
            }
            let id = (od * g.stride[0] + i * g.dilation[0]) as isize - g.pad_before[0] as isize;
            let ih = (oh * g.stride[1] + j * g.dilation[1]) as isize - g.pad_before[1] as isize;
            let inside = (0..d_in as isize).contains(&id) && (0..h_in as isize).contains(&ih);
            let x_row = inside.then(|| (id as usize * h_in + ih as usize) * w_in);
            f(RowRead { k, local_row, x_row, ow_valid: ow_valid.clone(), iw_start });
            oh += 1;
        }
    }
}

/// [`im2col_strided`] without a padded copy.
fn im2col_walk(x: &[f32], g: &ConvGeometry, rows: Range<usize>, cols: &mut [f32], row_stride: usize) {
    let ow_len = g.output[2];
    let sw = g.stride[2];
    for c in 0..g.group_in() {
        let x_c = &x[c * g.in_len()..(c + 1) * g.in_len()];
        for_each_row_read(g, rows.clone(), |read| {
            let col_row = (c * g.kernel_len() + read.k) * row_stride + read.local_row * ow_len;
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

/// [`col2im_strided`] without a padded copy.
fn col2im_walk(cols: &[f32], g: &ConvGeometry, rows: Range<usize>, row_stride: usize, x_grad: &mut [f32]) {
    let (ow_len, sw) = (g.output[2], g.stride[2]);
    for c in 0..g.group_in() {
        let x_c = &mut x_grad[c * g.in_len()..(c + 1) * g.in_len()];
        for_each_row_read(g, rows.clone(), |read| {
            let Some(x_row) = read.x_row else { return };
            let col_row = (c * g.kernel_len() + read.k) * row_stride + read.local_row * ow_len;
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
