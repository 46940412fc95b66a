//! The bias gradient of a convolution: `db[o] = Σ_n Σ_p dout[n, o, p]`.
//!
//! Every channel is summed sample by sample, each sample's values in order, and the
//! samples' sums are added in order:
//!
//! ```text
//! db[o] = (…((0 + s_0) + s_1) + …) + s_{N−1},   s_n = (…((−0 + d[n,o,0]) + d[n,o,1]) + …)
//! ```
//!
//! (`s_n` is exactly `slice.iter().sum::<f32>()`.) That order is fixed, so the result does
//! not depend on the thread count. It is also what `train_mnist`'s documented accuracy was
//! measured with: summing in eight lanes instead changes the rounding, and moved seed 0's
//! test accuracy from 0.956 to 0.949. A sum of one sample is a chain of dependent adds (one
//! per 3–4 cycles), so here eight samples' chains run side by side: the same adds in the
//! same order, eight at a time.

use ndarray::IxDyn;
use rayon::prelude::*;

use super::conv::ConvGeometry;
use crate::tensor::SharedArray;

/// Samples whose sums are computed side by side.
const LANES: usize = 8;

/// `db[o] = Σ_n Σ_p dout[n, o, p]` for `dout` (N, O, out_len): one task per channel.
pub(super) fn grad_bias(dout: &[f32], g: &ConvGeometry) -> SharedArray {
    let (batch, channels, out_len) = (g.batch, g.out_channels, g.out_len());
    let db: Vec<f32> = (0..channels).into_par_iter().map(|o| channel_sum(dout, batch, channels, out_len, o)).collect();
    ndarray::ArrayD::from_shape_vec(IxDyn(&[g.out_channels]), db).expect("bias shape").into_shared()
}

/// Channel `o`'s sum over `dout` (batch, channels, out_len), in the order of the module docs.
fn channel_sum(dout: &[f32], batch: usize, channels: usize, out_len: usize, o: usize) -> f32 {
    let row = |n: usize| &dout[(n * channels + o) * out_len..][..out_len];
    let mut total = 0.0;
    let mut n = 0;
    while n + LANES <= batch {
        let rows: [&[f32]; LANES] = std::array::from_fn(|j| row(n + j));
        for s in sample_sums(rows, out_len) {
            total += s;
        }
        n += LANES;
    }
    for n in n..batch {
        total += row(n).iter().sum::<f32>();
    }
    total
}

/// `[rows[j].iter().sum::<f32>() for each j]`, the eight chains advanced together.
fn sample_sums(rows: [&[f32]; LANES], len: usize) -> [f32; LANES] {
    let rows = rows.map(|r| &r[..len]);
    let mut sums = [-0.0f32; LANES];
    for i in 0..len {
        for (sum, row) in sums.iter_mut().zip(&rows) {
            *sum += row[i];
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order the module docs define, written as plainly as possible.
    fn sequential(dout: &[f32], batch: usize, channels: usize, out_len: usize, o: usize) -> f32 {
        (0..batch).fold(0.0, |sum, n| sum + dout[(n * channels + o) * out_len..][..out_len].iter().sum::<f32>())
    }

    #[test]
    fn side_by_side_chains_give_the_sequential_sum_bit_for_bit() {
        // Values of mixed magnitude and sign, so that any change of order changes the rounding.
        let mut state = 12345u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let unit = (state >> 40) as f32 / (1u64 << 24) as f32;
            (unit - 0.5) * 10f32.powi((state >> 20) as i32 % 7 - 3)
        };
        for (batch, channels, out_len) in
            [(1, 3, 5), (7, 2, 33), (8, 1, 100), (9, 4, 17), (17, 3, 64), (64, 6, 576), (3, 2, 0)]
        {
            let dout: Vec<f32> = (0..batch * channels * out_len).map(|_| next()).collect();
            for o in 0..channels {
                let expected = sequential(&dout, batch, channels, out_len, o);
                let got = channel_sum(&dout, batch, channels, out_len, o);
                assert_eq!(got.to_bits(), expected.to_bits(), "batch {batch}, channel {o}: {got} vs {expected}");
            }
        }
    }

    #[test]
    fn negative_zeros_keep_their_sign_as_in_the_sequential_sum() {
        let dout = vec![-0.0f32; 9 * 2];
        for o in 0..2 {
            assert_eq!(channel_sum(&dout, 9, 2, 1, o).to_bits(), sequential(&dout, 9, 2, 1, o).to_bits());
        }
    }
}
