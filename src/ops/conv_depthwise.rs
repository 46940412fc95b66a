//! Direct kernels for convolutions with one input channel per group (Cg = 1): depthwise
//! convolutions and single-channel inputs.
//!
//! With Cg = 1 the im2col + GEMM formulation degenerates into many thin products
//! (`(Og, K) × (K, L)` with K = the kernel size, often 9 or 25), where packing the operands
//! costs as much as the arithmetic. Here each output channel is instead accumulated
//! directly, one kernel position at a time: `out[o, row] += w[o, k] · x[row shifted by k]`,
//! walking the same rows as im2col ([`for_each_row_read`]), so the padding logic is shared.
//! The three backward kernels are the same walk with the roles exchanged.

use ndarray::ArrayViewMut2;

use super::conv::{ConvGeometry, for_each_row_read};

/// `out (Og, tile) += W[group] ⋆ x` for the output rows `rows`, where `x` is the group's
/// single input channel (D·H·W values) and `w` the group's `(Og, K)` weights.
pub(crate) fn forward(
    x: &[f32],
    w: &[f32],
    g: &ConvGeometry,
    rows: std::ops::Range<usize>,
    mut out: ArrayViewMut2<f32>,
) {
    let (ow_len, kernel_len, sw) = (g.output[2], g.kernel.iter().product::<usize>(), g.stride[2]);
    for (o, mut out_row_block) in out.outer_iter_mut().enumerate() {
        let out_o = out_row_block.as_slice_mut().expect("an output tile row is contiguous");
        let w_o = &w[o * kernel_len..(o + 1) * kernel_len];
        for_each_row_read(g, rows.clone(), |read| {
            let Some(x_row) = read.x_row else { return };
            let weight = w_o[read.k];
            let start = read.local_row * ow_len;
            let dst = &mut out_o[start + read.ow_valid.start..start + read.ow_valid.end];
            let src = &x[x_row + read.iw_start..];
            if sw == 1 {
                dst.iter_mut().zip(src).for_each(|(y, &v)| *y += weight * v);
            } else {
                dst.iter_mut().zip(src.iter().step_by(sw)).for_each(|(y, &v)| *y += weight * v);
            }
        });
    }
}

/// `dx += Σ_o W[o]ᵀ ⋆ dout[o]`: the adjoint of [`forward`] with respect to the input, for one
/// group; `dout` holds the group's `Og` output channels, `out_len` values each.
pub(crate) fn grad_input(dout: &[f32], w: &[f32], g: &ConvGeometry, dx: &mut [f32]) {
    let (ow_len, out_len, kernel_len, sw) =
        (g.output[2], g.output.iter().product::<usize>(), g.kernel.iter().product::<usize>(), g.stride[2]);
    for (o, dout_o) in dout.chunks_exact(out_len).enumerate() {
        let w_o = &w[o * kernel_len..(o + 1) * kernel_len];
        for_each_row_read(g, 0..g.output[0] * g.output[1], |read| {
            let Some(x_row) = read.x_row else { return };
            let weight = w_o[read.k];
            let start = read.local_row * ow_len;
            let src = &dout_o[start + read.ow_valid.start..start + read.ow_valid.end];
            let dst = &mut dx[x_row + read.iw_start..];
            if sw == 1 {
                dst.iter_mut().zip(src).for_each(|(x, &d)| *x += weight * d);
            } else {
                dst.iter_mut().step_by(sw).zip(src).for_each(|(x, &d)| *x += weight * d);
            }
        });
    }
}

/// `dW[o, k] += ⟨dout[o], x shifted by k⟩`: the adjoint with respect to the weights, for one
/// group of one sample; `dw` is the group's `(Og, K)` block.
pub(crate) fn grad_weight(dout: &[f32], x: &[f32], g: &ConvGeometry, dw: &mut [f32]) {
    let (ow_len, out_len, kernel_len, sw) =
        (g.output[2], g.output.iter().product::<usize>(), g.kernel.iter().product::<usize>(), g.stride[2]);
    for (o, dout_o) in dout.chunks_exact(out_len).enumerate() {
        let dw_o = &mut dw[o * kernel_len..(o + 1) * kernel_len];
        for_each_row_read(g, 0..g.output[0] * g.output[1], |read| {
            let Some(x_row) = read.x_row else { return };
            let start = read.local_row * ow_len;
            let d = &dout_o[start + read.ow_valid.start..start + read.ow_valid.end];
            let src = &x[x_row + read.iw_start..];
            let dot =
                if sw == 1 { dot(d, src) } else { d.iter().zip(src.iter().step_by(sw)).map(|(a, b)| a * b).sum() };
            dw_o[read.k] += dot;
        });
    }
}

/// `Σ aᵢ·bᵢ` over `a`'s length, with eight running sums so the compiler can vectorise it (a
/// single f32 sum is a chain of dependent adds). The order is fixed, so the result does not
/// depend on the thread count.
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
