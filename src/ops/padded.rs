//! A zero-padded copy of a convolution's input channels, laid out so that every kernel tap
//! reads one contiguous run per output row: the one place where padding, stride and
//! dilation turn into offsets. Used by im2col/col2im and by the direct depthwise kernels.
//!
//! ```text
//! input position (d, h, w)  →  padded position (d + pad_d, h + pad_h, w + pad_w)
//! output row (od, oh), tap (i, j, l), output column p  reads
//!     padded (od·sd + i·dd, oh·sh + j·dh, p·sw + l·dw)  =  xp[bases[row] + taps[t] + p]
//! ```
//!
//! The last equality is what the layout is for. Along D and H a padded row is a whole
//! `row_len` floats, so the row offsets add up. Along W each padded row is stored as
//! `stride_w` *phases*: phase `r` holds the padded columns `r, r + s, r + 2s, …`, so column
//! `p·s + l·d` is element `p + ⌊l·d / s⌋` of phase `(l·d) mod s`: consecutive in `p`, whatever
//! the stride. The padded volume covers exactly what the output reads: along each dim
//! `E = (out − 1)·stride + (k − 1)·dilation + 1` positions (input beyond it is never read).

use std::ops::Range;

use super::conv::ConvGeometry;

/// Where one channel's zero-padded input lives in a flat buffer, and where each kernel tap
/// and output row read from. Several channels are stored one after another, [`len`](Self::len)
/// floats each.
pub(crate) struct PaddedLayout {
    /// Padded extent along D and H.
    depth: usize,
    height: usize,
    /// Padded extent along W, and the length of one phase (`⌈E_w / s⌉`).
    width: usize,
    phase_len: usize,
    /// Floats per padded row: `min(stride_w, E_w) · phase_len`.
    row_len: usize,
    /// For each kernel position, in the weights' row-major (i, j, l) order: its offset from
    /// an output row's base.
    pub taps: Vec<usize>,
    /// For each output row (od, oh), in order: its base, padded position (od·sd, oh·sh, 0).
    pub bases: Vec<usize>,
}

/// Floats of padding per channel that are always worth it (small images).
const ALWAYS_WORTH_IT: usize = 1 << 12;

impl PaddedLayout {
    /// Whether padding what output rows `rows` read is worth it: the padded rows they touch
    /// (per channel) hold at most twice the floats of their column-matrix rows (`K ×
    /// rows × OW`), or few floats anyway. It is not when the taps skip most of what lies
    /// between them: a large dilation with short tiles (an atrous layer), or a huge padding
    /// with a stride as huge. im2col then walks the input row by row without a copy
    /// ([`im2col_strided`](super::im2col)), and the direct kernels are not used. This also
    /// bounds the padded buffer by twice the tile's column matrix.
    pub fn pays_for(g: &ConvGeometry, rows: Range<usize>) -> bool {
        if rows.is_empty() || g.out_len() == 0 {
            return true;
        }
        let [_, height, width] = extents(g);
        let sw = g.stride[2].max(1);
        let row_len = sw.min(width).saturating_mul(width.div_ceil(sw));
        // Padded (d, h) rows from the first row's base to the last tap of the last row.
        let padded_row = |row: usize, reach_d: usize, reach_h: usize| {
            let (od, oh) = (row / g.output[1], row % g.output[1]);
            let d = od.saturating_mul(g.stride[0]).saturating_add(reach_d);
            d.saturating_mul(height).saturating_add(oh.saturating_mul(g.stride[1])).saturating_add(reach_h)
        };
        let reach = |d: usize| g.kernel[d].saturating_sub(1).saturating_mul(g.dilation[d]);
        let touched = padded_row(rows.end - 1, reach(0), reach(1)).saturating_sub(padded_row(rows.start, 0, 0)) + 1;
        let padded = touched.saturating_mul(row_len);
        let columns = g.kernel_len().saturating_mul(rows.len()).saturating_mul(g.output[2]);
        padded <= columns.saturating_mul(2).max(ALWAYS_WORTH_IT)
    }

    /// The layout for `g`, whose output must not be empty and for which padding
    /// [pays](Self::pays_for).
    pub fn new(g: &ConvGeometry) -> Self {
        let [depth, height, width] = extents(g);
        // Phases beyond the extent would be empty: a stride wider than the padded row
        // (possible when the output is one column wide) keeps one float per phase used.
        let sw = g.stride[2];
        let phase_len = width.div_ceil(sw);
        let row_len = sw.min(width) * phase_len;
        let [kd, kh, kw] = g.kernel;
        let mut taps = Vec::with_capacity(kd * kh * kw);
        for i in 0..kd {
            for j in 0..kh {
                for l in 0..kw {
                    let column = l * g.dilation[2];
                    let row = (i * g.dilation[0] * height + j * g.dilation[1]) * row_len;
                    taps.push(row + (column % sw) * phase_len + column / sw);
                }
            }
        }
        let bases = (0..g.output[0])
            .flat_map(|od| (0..g.output[1]).map(move |oh| (od * g.stride[0] * height + oh * g.stride[1]) * row_len))
            .collect();
        PaddedLayout { depth, height, width, phase_len, row_len, taps, bases }
    }

    /// Floats per channel.
    pub fn len(&self) -> usize {
        self.depth * self.height * self.row_len
    }

    /// The span of output rows `rows` (not empty): from the first row's base to the end of
    /// the last row, `ow` wide.
    pub fn span(&self, rows: Range<usize>, ow: usize) -> Range<usize> {
        self.bases[rows.start]..self.bases[rows.end - 1] + ow
    }

    /// The floats of one channel that output rows `rows` (not empty) read: whole padded
    /// rows, from the first row's base to the last tap of the last row.
    pub fn read_by(&self, rows: Range<usize>) -> Range<usize> {
        let last_tap = self.taps.last().copied().unwrap_or(0);
        let end = (self.bases[rows.end - 1] + last_tap) / self.row_len + 1;
        self.bases[rows.start]..(end * self.row_len).min(self.len())
    }

    /// Calls `f(input start, padded start, len)` for every run of input elements inside
    /// `within` (a range of whole padded rows) that lands contiguously in the padded volume:
    /// input elements `start, start + s_w, …` (`len` of them) go to padded elements `start,
    /// start + 1, …`, one run per phase of each row.
    fn for_each_run(&self, g: &ConvGeometry, within: &Range<usize>, mut f: impl FnMut(usize, usize, usize)) {
        let [d_in, h_in, w_in] = g.input;
        let [pd, ph, pw] = g.pad_before;
        let sw = g.stride[2];
        let rows = within.start / self.row_len..within.end.div_ceil(self.row_len);
        let columns = w_in.min(self.width.saturating_sub(pw)); // input columns 0..columns
        for id in 0..d_in.min(self.depth.saturating_sub(pd)) {
            for ih in 0..h_in.min(self.height.saturating_sub(ph)) {
                let padded_row_index = (id + pd) * self.height + ih + ph;
                if !rows.contains(&padded_row_index) {
                    continue;
                }
                let (input_row, padded_row) = ((id * h_in + ih) * w_in, padded_row_index * self.row_len);
                // Phase r holds padded columns p ≡ r (mod s), i.e. input columns iw ≡ r − pw.
                for first in 0..sw.min(columns) {
                    let p = first + pw;
                    let len = (columns - first).div_ceil(sw);
                    f(input_row + first, padded_row + (p % sw) * self.phase_len + p / sw, len);
                }
            }
        }
    }

    /// Whether the padded volume of `within` is the input itself: no padding, stride 1 along
    /// W, every input position read, and all of it asked for (a LeNet-style layer with
    /// padding 0). Then nothing needs copying.
    pub fn is_the_input(&self, g: &ConvGeometry, within: &Range<usize>) -> bool {
        g.pad_before == [0, 0, 0]
            && g.stride[2] == 1
            && [self.depth, self.height, self.width] == g.input
            && *within == (0..self.len())
    }

    /// Copies the part `within` of each of the `channels` channels of `x` (D·H·W values
    /// each) into `buffer`, zero where it is padding, and returns it: `channels` blocks of
    /// `within.len()` floats, padded position `p` at `p − within.start` of its block. When
    /// that layout [is the input itself](Self::is_the_input), `x` is returned as it is.
    pub fn fill<'b>(
        &self,
        g: &ConvGeometry,
        x: &'b [f32],
        channels: usize,
        within: Range<usize>,
        buffer: &'b mut Vec<f32>,
    ) -> &'b [f32] {
        let (sw, len, in_len) = (g.stride[2], within.len(), g.in_len());
        if self.is_the_input(g, &within) {
            return &x[..channels * in_len];
        }
        let padded = zeroed_prefix(buffer, channels * len);
        for (c, padded) in padded.chunks_exact_mut(len.max(1)).enumerate().take(channels) {
            let x_c = &x[c * in_len..(c + 1) * in_len];
            self.for_each_run(g, &within, |i, p, n| {
                let dst = &mut padded[p - within.start..][..n];
                if sw == 1 {
                    dst.copy_from_slice(&x_c[i..i + n]);
                } else {
                    dst.iter_mut().zip(x_c[i..].iter().step_by(sw)).for_each(|(d, &v)| *d = v);
                }
            });
        }
        padded
    }

    /// The adjoint of [`fill`](Self::fill): adds the inside of each channel's block (the
    /// padded rows `within`) back onto `dx`.
    pub fn crop_add(&self, g: &ConvGeometry, padded: &[f32], channels: usize, within: Range<usize>, dx: &mut [f32]) {
        let (sw, len, in_len) = (g.stride[2], within.len(), g.in_len());
        for c in 0..channels {
            let (dx_c, padded) = (&mut dx[c * in_len..(c + 1) * in_len], &padded[c * len..(c + 1) * len]);
            self.for_each_run(g, &within, |i, p, n| {
                let src = &padded[p - within.start..][..n];
                if sw == 1 {
                    dx_c[i..i + n].iter_mut().zip(src).for_each(|(d, &v)| *d += v);
                } else {
                    dx_c[i..].iter_mut().step_by(sw).zip(src).for_each(|(d, &v)| *d += v);
                }
            });
        }
    }
}

/// The padded extent along each dim, `E = (out − 1)·stride + (k − 1)·dilation + 1` (the
/// positions the output reads), saturating for geometries [`PaddedLayout::pays_for`] rejects.
fn extents(g: &ConvGeometry) -> [usize; 3] {
    std::array::from_fn(|d| {
        let reach = g.kernel[d].saturating_sub(1).saturating_mul(g.dilation[d]).saturating_add(1);
        g.output[d].saturating_sub(1).saturating_mul(g.stride[d]).saturating_add(reach)
    })
}

/// The first `len` floats of `buffer`, set to zero (grown if needed).
pub(crate) fn zeroed_prefix(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    let prefix = &mut buffer[..len];
    prefix.fill(0.0);
    prefix
}
