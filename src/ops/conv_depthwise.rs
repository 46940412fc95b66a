//! Direct kernels for convolutions with one input channel per group (Cg = 1): depthwise
//! convolutions and single-channel inputs.
//!
//! With Cg = 1 the im2col + GEMM formulation degenerates into many thin products
//! (`(Og, K) × (K, L)` with K = the kernel size, often 9 or 25), where packing the operands
//! costs as much as the arithmetic. Here the channel's input is first copied into a
//! zero-padded volume `xp` laid out so that every kernel tap `t` reads output row `row`'s
//! inputs as one contiguous run starting at `bases[row] + taps[t]` (see [`PaddedLayout`] in `padded.rs`).
//! The output rows are placed at the same `bases` in a *span* (`outp`, `doutp`) with zeros
//! between them, so each tap becomes one long loop over the whole span instead of one short
//! loop per row:
//!
//! ```text
//! forward       outp[q]            = Σ_t w[t] · xp[taps[t] + q]          (gather)
//! grad_input    dxp[taps[t] + q]  += w[t] · doutp[q]                    (scatter)
//! grad_weight   dw[t]             += Σ_q doutp[q] · xp[taps[t] + q]      (dot)
//! ```
//!
//! The same walk three times, with the roles exchanged; `dxp` is then cropped back onto
//! `dx`. The positions between rows compute values nobody reads (forward), or multiply
//! zeros (backward): a few percent of extra work for stride 1. When outputs are less than
//! half of the span (a stride, or a large dilation), the same runs are walked row by row
//! instead.

use ndarray::ArrayViewMut2;

use super::conv::ConvGeometry;
use super::padded::{PaddedLayout, zeroed_prefix};

/// Output positions of a row computed together, their sums kept in registers.
const BLOCK: usize = 16;

/// `out (Og, rows·OW) = W[group] ⋆ x` for the output rows `rows`, where `x` is the group's
/// single input channel (D·H·W values) and `w` the group's `(Og, K)` weights. `buffers`
/// are scratch space for the padded input and the output span.
pub(crate) fn forward(
    x: &[f32],
    w: &[f32],
    g: &ConvGeometry,
    rows: std::ops::Range<usize>,
    mut out: ArrayViewMut2<f32>,
    buffers: [&mut Vec<f32>; 2],
) {
    if g.out_len() == 0 || rows.is_empty() {
        return;
    }
    let [xp_buffer, span_buffer] = buffers;
    let layout = PaddedLayout::new(g);
    let within = layout.read_by(rows.clone());
    let xp = layout.fill(g, x, 1, within.clone(), xp_buffer);
    let (ow, k, span) = (g.output[2], layout.taps.len(), layout.span(rows.clone(), g.output[2]));
    let bases = &layout.bases[rows.clone()];
    if is_gappy(span.len(), rows.len(), ow) {
        // Row by row: the span would be mostly gaps (a stride, or a large dilation).
        for (o, mut out_o) in out.outer_iter_mut().enumerate() {
            let out_o = out_o.as_slice_mut().expect("an output tile row is contiguous");
            for (out_row, &base) in out_o.chunks_exact_mut(ow).zip(bases) {
                gather(out_row, &xp[base - within.start..], &layout.taps, &w[o * k..(o + 1) * k]);
            }
        }
        return;
    }
    let outp = zeroed_prefix(span_buffer, span.len());
    for (o, mut out_o) in out.outer_iter_mut().enumerate() {
        let out_o = out_o.as_slice_mut().expect("an output tile row is contiguous");
        gather(outp, &xp[span.start - within.start..], &layout.taps, &w[o * k..(o + 1) * k]);
        for (out_row, &base) in out_o.chunks_exact_mut(ow).zip(bases) {
            out_row.copy_from_slice(&outp[base - span.start..][..ow]);
        }
    }
}

/// Whether a span of `span` floats holds `rows` output rows of `ow` so sparsely (at most
/// half of it outputs) that walking the rows one by one does less work than the span.
fn is_gappy(span: usize, rows: usize, ow: usize) -> bool {
    span > 2 * rows * ow
}

/// `out[q] = Σ_t w[t] · src[taps[t] + q]`, [`BLOCK`] outputs at a time, their sums kept in
/// registers while the taps are added in order.
fn gather(out: &mut [f32], src: &[f32], taps: &[usize], w: &[f32]) {
    let mut blocks = out.chunks_exact_mut(BLOCK);
    let mut q = 0;
    for block in &mut blocks {
        let mut sums = [0.0f32; BLOCK];
        for (&tap, &weight) in taps.iter().zip(w) {
            let run: &[f32; BLOCK] = src[tap + q..][..BLOCK].try_into().expect("a block of the span");
            for (s, &v) in sums.iter_mut().zip(run) {
                *s += weight * v;
            }
        }
        block.copy_from_slice(&sums);
        q += BLOCK;
    }
    let rest = blocks.into_remainder();
    rest.fill(0.0);
    for (&tap, &weight) in taps.iter().zip(w) {
        rest.iter_mut().zip(&src[tap + q..]).for_each(|(s, &v)| *s += weight * v);
    }
}

/// Both backward products of one group of one sample: `dw += ∂L/∂W` (the group's `(Og, K)`
/// block) and `dx += ∂L/∂x` (the group's input channel), each when asked for. `dout` holds
/// the group's `Og` output channels. Every sum runs in a fixed order, so the results do not
/// depend on the thread count.
pub(crate) fn backward(
    dout: &[f32],
    x: &[f32],
    w: &[f32],
    g: &ConvGeometry,
    mut dw: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
    buffers: [&mut Vec<f32>; 2],
) {
    if g.out_len() == 0 {
        return;
    }
    let [xp_buffer, buffer] = buffers;
    let layout = PaddedLayout::new(g);
    let (ow, k, span) = (g.output[2], layout.taps.len(), layout.span(0..g.out_rows(), g.output[2]));
    let xp = if dw.is_some() { layout.fill(g, x, 1, 0..layout.len(), xp_buffer) } else { &[][..] };
    // One buffer, two slices: the output-gradient span (not needed row by row), then the
    // padded input gradient (when asked for).
    let gappy = is_gappy(span.len(), g.out_rows(), ow);
    let span_len = if gappy { 0 } else { span.len() };
    let dx_len = if dx.is_some() { layout.len() } else { 0 };
    let buffer = zeroed_prefix(buffer, span_len + dx_len);
    let (doutp, dxp) = buffer.split_at_mut(span_len);
    if gappy {
        // Row by row, the same products without the span's gaps.
        for (o, dout_o) in dout.chunks_exact(g.out_len()).enumerate() {
            let w_o = &w[o * k..(o + 1) * k];
            if let Some(dw) = dw.as_deref_mut() {
                for (&tap, dw_t) in layout.taps.iter().zip(&mut dw[o * k..(o + 1) * k]) {
                    let rows = dout_o.chunks_exact(ow).zip(&layout.bases);
                    *dw_t += rows.fold(0.0, |sum, (d, &base)| sum + dot(d, &xp[base + tap..]));
                }
            }
            if dx.is_some() {
                for (d, &base) in dout_o.chunks_exact(ow).zip(&layout.bases) {
                    for (&tap, &weight) in layout.taps.iter().zip(w_o) {
                        dxp[base + tap..][..ow].iter_mut().zip(d).for_each(|(x, &v)| *x += weight * v);
                    }
                }
            }
        }
        if let Some(dx) = dx {
            layout.crop_add(g, dxp, 1, 0..layout.len(), dx);
        }
        return;
    }
    for (o, dout_o) in dout.chunks_exact(g.out_len()).enumerate() {
        for (d, &base) in dout_o.chunks_exact(ow).zip(&layout.bases) {
            doutp[base..base + ow].copy_from_slice(d);
        }
        let w_o = &w[o * k..(o + 1) * k];
        if let Some(dw) = dw.as_deref_mut() {
            for (&tap, dw_t) in layout.taps.iter().zip(&mut dw[o * k..(o + 1) * k]) {
                *dw_t += dot(doutp, &xp[tap..]);
            }
        }
        if dx.is_some() {
            for (&tap, &weight) in layout.taps.iter().zip(w_o) {
                dxp[tap..tap + span.len()].iter_mut().zip(&*doutp).for_each(|(x, &d)| *x += weight * d);
            }
        }
    }
    if let Some(dx) = dx {
        layout.crop_add(g, dxp, 1, 0..layout.len(), dx);
    }
}

/// `Σ aᵢ·bᵢ` over `a`'s length, in eight running sums so the adds vectorise (a single f32
/// sum is a chain of dependent adds), always in the same order.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let b = &b[..a.len()];
    let mut sums = [0.0f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for i in 0..8 {
            sums[i] += x[i] * y[i];
        }
    }
    sums.iter().sum::<f32>() + tail
}
