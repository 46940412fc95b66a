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
use super::padded::PaddedLayout;

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
    if !PaddedLayout::is_practical(g) {
        return each_column_entry(g, rows, row_stride, |at, x_at| cols[at] = x_at.map_or(0.0, |i| x[i]));
    }
    let layout = PaddedLayout::new(g);
    let xp = layout.fill(g, x, g.group_in(), layout.read_by(rows.clone()), buffer);
    let (ow, k_len, width) = (g.output[2], layout.taps.len(), rows.len() * g.output[2]);
    let bases = &layout.bases[rows];
    for (c, plane) in xp.chunks_exact(layout.len()).enumerate() {
        for (k, &tap) in layout.taps.iter().enumerate() {
            let col_row = &mut cols[(c * k_len + k) * row_stride..][..width];
            for (dst, &base) in col_row.chunks_exact_mut(ow).zip(bases) {
                dst.copy_from_slice(&plane[base + tap..][..ow]);
            }
        }
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
    if !PaddedLayout::is_practical(g) {
        return each_column_entry(g, rows, row_stride, |at, x_at| {
            if let Some(i) = x_at {
                x_grad[i] += cols[at];
            }
        });
    }
    let layout = PaddedLayout::new(g);
    let within = layout.read_by(rows.clone());
    let dxp = layout.zeroed(g.group_in(), within.clone(), buffer);
    let (ow, k_len, width) = (g.output[2], layout.taps.len(), rows.len() * g.output[2]);
    let bases = &layout.bases[rows];
    for (c, plane) in dxp.chunks_exact_mut(layout.len()).enumerate() {
        for (k, &tap) in layout.taps.iter().enumerate() {
            let col_row = &cols[(c * k_len + k) * row_stride..][..width];
            for (src, &base) in col_row.chunks_exact(ow).zip(bases) {
                plane[base + tap..][..ow].iter_mut().zip(src).for_each(|(d, &v)| *d += v);
            }
        }
    }
    layout.crop_add(g, dxp, g.group_in(), within, x_grad);
}

/// The element-by-element walk behind im2col and col2im for geometries whose padded copy
/// would be impractically large (see [`PaddedLayout::is_practical`]): calls `f(index in
/// cols, index in x or None in the padding)` for every entry of the column block.
fn each_column_entry(g: &ConvGeometry, rows: Range<usize>, row_stride: usize, mut f: impl FnMut(usize, Option<usize>)) {
    let ([kd, kh, kw], ow_len, oh_len) = (g.kernel, g.output[2], g.output[1]);
    // The input position along one dim, or None in the padding: o·s + k·d − pad.
    let position = |dim: usize, o: usize, k: usize| {
        o.saturating_mul(g.stride[dim])
            .saturating_add(k.saturating_mul(g.dilation[dim]))
            .checked_sub(g.pad_before[dim])
            .filter(|&p| p < g.input[dim])
    };
    for c in 0..g.group_in() {
        let kernel = (0..kd).flat_map(|i| (0..kh).flat_map(move |j| (0..kw).map(move |l| (i, j, l))));
        for (k, (i, j, l)) in kernel.enumerate() {
            for (r, row) in rows.clone().enumerate() {
                let (od, oh) = (row / oh_len, row % oh_len);
                for ow in 0..ow_len {
                    let at = (c * g.kernel_len() + k) * row_stride + r * ow_len + ow;
                    let x_at = match (position(0, od, i), position(1, oh, j), position(2, ow, l)) {
                        (Some(d), Some(h), Some(w)) => Some(((c * g.input[0] + d) * g.input[1] + h) * g.input[2] + w),
                        _ => None,
                    };
                    f(at, x_at);
                }
            }
        }
    }
}
