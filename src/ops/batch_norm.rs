//! Batch normalisation, forward and backward side by side, over every dim except dim 1.
//!
//! Names: the input `(N, C, *)` is viewed as `(N, C, S)` with `S = ∏ *`; a channel `c` has
//! `n = N·S` elements.
//!
//! ```text
//! training:  μ = mean over (N, S),  σ² = biased variance (÷ n)
//! eval:      μ = running_mean,      σ² = running_var
//! x̂ = (x − μ)·invstd,  invstd = 1/√(σ² + eps),   y = γ·x̂ + β
//! running stats (training only, in place, no graph):
//!   running_mean ← (1 − m)·running_mean + m·μ
//!   running_var  ← (1 − m)·running_var  + m·σ²·n/(n − 1)     (the unbiased variance)
//! backward, per channel, with Σ over the channel's n elements:
//!   dβ = Σ dy,   dγ = Σ dy·x̂
//!   training:  dx = γ·invstd·(dy − Σdy/n − x̂·Σ(dy·x̂)/n)   (μ and σ² depend on x)
//!   eval:      dx = γ·invstd·dy                           (an affine map of x)
//! ```
//!
//! Statistics are accumulated in `f64`, two passes (mean, then squared deviations), so a
//! channel with a large mean keeps an accurate variance. Channels are reduced in parallel,
//! and the elementwise passes run in parallel over `(n, c)` planes.

use super::contiguous;

use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

use crate::autograd::{Backward, record};
use crate::tensor::{SharedArray, Tensor};

/// Fewest elements one rayon task should handle in the elementwise passes.
const MIN_ELEMENTS_PER_TASK: usize = 1 << 14;

/// `(N, C, S)` of an input `(N, C, *)`.
fn layout(shape: &[usize]) -> (usize, usize, usize) {
    (shape[0], shape[1], shape[2..].iter().product())
}

/// The `S`-long runs of channel `c` in an `(N, C, S)` buffer, one per sample.
fn for_channel_runs(x: &[f32], c: usize, (batch, channels, s): (usize, usize, usize)) -> impl Iterator<Item = &[f32]> {
    (0..batch).map(move |n| &x[(n * channels + c) * s..][..s])
}

/// Batch normalisation of validated arguments. PyTorch: `torch.batch_norm` as called by
/// `F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)`.
///
/// Per channel, `y = γ·(x − μ)/√(σ² + eps) + β` (the full formulas, the running-statistics
/// update and the backward are in the [module docs](self)).
///
/// `input` is `(N, C, *)`; `running_mean`, `running_var`, `weight` and `bias` have `C`
/// elements. In training mode the batch statistics normalise the input and, when given,
/// the running statistics are updated in place (outside the graph, see the module docs);
/// otherwise the running statistics normalise it and are left unchanged. Gradients flow to
/// `input`, `weight` and `bias`, never to the running statistics. The checks PyTorch makes
/// live in `nn::functional::batch_norm`.
///
/// ```
/// use tapegrad::{Tensor, ops::batch_norm::batch_norm};
/// let x = Tensor::from_vec(vec![1.0, 3.0], &[2, 1]).unwrap();
/// let (mean, var) = (Tensor::zeros(&[1]), Tensor::ones(&[1]));
/// let y = batch_norm(&x, Some(&mean), Some(&var), None, None, true, 0.5, 0.0);
/// assert_eq!(y.to_vec(), vec![-1.0, 1.0]); // mean 2, biased variance 1
/// assert_eq!(mean.to_vec(), vec![1.0]); // 0.5·0 + 0.5·2
/// assert_eq!(var.to_vec(), vec![1.5]); // 0.5·1 + 0.5·2 (unbiased: 2/(2 − 1))
/// ```
#[allow(clippy::too_many_arguments)] // PyTorch's argument list
pub fn batch_norm(
    input: &Tensor,
    running_mean: Option<&Tensor>,
    running_var: Option<&Tensor>,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    training: bool,
    momentum: f64,
    eps: f64,
) -> Tensor {
    let dims = layout(input.shape());
    let (batch, channels, s) = dims;
    let count = batch * s;
    let x_data = input.data();
    let x = contiguous(&x_data);

    let (mean, var): (Vec<f64>, Vec<f64>) = if training {
        (0..channels)
            .into_par_iter()
            .map(|c| {
                let mean = for_channel_runs(&x, c, dims).flatten().map(|&v| v as f64).sum::<f64>() / count as f64;
                let squares: f64 =
                    for_channel_runs(&x, c, dims).flatten().map(|&v| (v as f64 - mean) * (v as f64 - mean)).sum();
                (mean, squares / count as f64)
            })
            .unzip()
    } else {
        let stat = |t: Option<&Tensor>| t.expect("checked: eval mode has running stats").to_vec();
        (stat(running_mean).iter().map(|&v| v as f64).collect(), stat(running_var).iter().map(|&v| v as f64).collect())
    };
    let invstd: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();

    // y = x·scale + shift, with scale = γ·invstd and shift = β − μ·scale, per channel.
    let gamma: Vec<f32> = weight.map(Tensor::to_vec).unwrap_or_else(|| vec![1.0; channels]);
    let beta: Vec<f32> = bias.map(Tensor::to_vec).unwrap_or_else(|| vec![0.0; channels]);
    let scale: Vec<f64> = (0..channels).map(|c| gamma[c] as f64 * invstd[c]).collect();
    let shift: Vec<f64> = (0..channels).map(|c| beta[c] as f64 - mean[c] * scale[c]).collect();
    let mut out = vec![0.0f32; x.len()];
    if s > 0 {
        out.par_chunks_mut(s)
            .zip(x.par_chunks(s))
            .enumerate()
            .with_min_len(MIN_ELEMENTS_PER_TASK.div_ceil(s))
            .for_each(|(plane, (y, x))| {
                let c = plane % channels;
                y.iter_mut().zip(x).for_each(|(y, &x)| *y = (x as f64 * scale[c] + shift[c]) as f32);
            });
    }

    if training && count > 0 {
        // PyTorch's numel = 0 early return skips this; n ≥ 2 otherwise (F.batch_norm checks).
        let unbiased = count as f64 / (count as f64 - 1.0);
        let update = |stat: Option<&Tensor>, batch_stat: &[f64], correction: f64| {
            if let Some(stat) = stat {
                stat.with_data_mut(|d| {
                    d.iter_mut().zip(batch_stat).for_each(|(r, &b)| {
                        *r = ((1.0 - momentum) * *r as f64 + momentum * b * correction) as f32;
                    })
                });
            }
        };
        update(running_mean, &mean, 1.0);
        update(running_var, &var, unbiased);
    }

    let out = ArrayD::from_shape_vec(IxDyn(input.shape()), out).expect("input shape").into_shared();
    let mut inputs = vec![input];
    inputs.extend(weight);
    inputs.extend(bias);
    let backward = BatchNormBackward {
        input: x_data,
        mean: mean.iter().map(|&v| v as f32).collect(),
        invstd: invstd.iter().map(|&v| v as f32).collect(),
        gamma,
        training,
        weight_shape: weight.map(|w| w.shape().to_vec()),
        bias_shape: bias.map(|b| b.shape().to_vec()),
    };
    record(out, &inputs, backward)
}

/// Batch-norm backward (formulas in the module docs). Saved: the input (for x̂), the mean
/// and invstd that normalised it, γ (ones without weight), the mode, and the shapes of
/// weight and bias (any shape of `C` elements, as PyTorch accepts), given or not.
struct BatchNormBackward {
    input: SharedArray,
    mean: Vec<f32>,
    invstd: Vec<f32>,
    gamma: Vec<f32>,
    training: bool,
    weight_shape: Option<Vec<usize>>,
    bias_shape: Option<Vec<usize>>,
}

impl Backward for BatchNormBackward {
    fn name(&self) -> &'static str {
        "NativeBatchNormBackward0"
    }
    fn backward(&self, grad: &SharedArray, needs: &[bool]) -> Vec<Option<SharedArray>> {
        let dims = layout(self.input.shape());
        let (batch, channels, s) = dims;
        let count = (batch * s) as f64;
        let x = contiguous(&self.input);
        let dy = contiguous(grad);
        // Σ dy and Σ dy·x̂ per channel: what every gradient needs.
        let (sum_dy, sum_dy_xhat): (Vec<f64>, Vec<f64>) = (0..channels)
            .into_par_iter()
            .map(|c| {
                let (mean, invstd) = (self.mean[c] as f64, self.invstd[c] as f64);
                let runs = for_channel_runs(&x, c, dims).zip(for_channel_runs(&dy, c, dims));
                runs.flat_map(|(x, dy)| x.iter().zip(dy)).fold((0.0, 0.0), |(sd, sdx), (&x, &dy)| {
                    (sd + dy as f64, sdx + dy as f64 * (x as f64 - mean) * invstd)
                })
            })
            .unzip();
        let shape = self.input.shape();
        // In the shape of the weight or bias it is the gradient of (C elements).
        let per_channel = |v: &[f64], shape: &[usize]| {
            ArrayD::from_shape_vec(IxDyn(shape), v.iter().map(|&g| g as f32).collect())
                .expect("weight and bias have C elements (checked by F::batch_norm)")
                .into_shared()
        };

        let grad_input = needs[0].then(|| {
            let mut dx = vec![0.0f32; x.len()];
            if s > 0 {
                dx.par_chunks_mut(s)
                    .zip(x.par_chunks(s).zip(dy.par_chunks(s)))
                    .enumerate()
                    .with_min_len(MIN_ELEMENTS_PER_TASK.div_ceil(s))
                    .for_each(|(plane, (dx, (x, dy)))| {
                        let c = plane % channels;
                        let (mean, invstd) = (self.mean[c] as f64, self.invstd[c] as f64);
                        let k = self.gamma[c] as f64 * invstd;
                        if self.training {
                            let (mean_dy, mean_dy_xhat) = (sum_dy[c] / count, sum_dy_xhat[c] / count);
                            for ((dx, &x), &dy) in dx.iter_mut().zip(x).zip(dy) {
                                let xhat = (x as f64 - mean) * invstd;
                                *dx = (k * (dy as f64 - mean_dy - xhat * mean_dy_xhat)) as f32;
                            }
                        } else {
                            dx.iter_mut().zip(dy).for_each(|(dx, &dy)| *dx = (k * dy as f64) as f32);
                        }
                    });
            }
            ArrayD::from_shape_vec(IxDyn(shape), dx).expect("input shape").into_shared()
        });
        let mut grads = vec![grad_input];
        if let Some(shape) = &self.weight_shape {
            grads.push(needs[1].then(|| per_channel(&sum_dy_xhat, shape)));
        }
        if let Some(shape) = &self.bias_shape {
            grads.push(needs[grads.len()].then(|| per_channel(&sum_dy, shape)));
        }
        grads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_each_channel_over_batch_and_space() {
        // (N=2, C=2, S=2): channel 0 holds 1,2,5,6 (mean 3.5, biased variance 4.25), channel
        // 1 is constant (variance 0: eps keeps it finite, and it normalises to 0).
        let x = Tensor::from_vec(vec![1., 2., 7., 7., 5., 6., 7., 7.], &[2, 2, 2]).unwrap();
        let y = batch_norm(&x, None, None, None, None, true, 0.1, 1e-5).to_vec();
        let sd = (4.25f32 + 1e-5).sqrt();
        let expected = [-2.5 / sd, -1.5 / sd, 0.0, 0.0, 1.5 / sd, 2.5 / sd, 0.0, 0.0];
        for (a, e) in y.iter().zip(expected) {
            assert!((a - e).abs() < 1e-6, "{y:?}");
        }
    }

    #[test]
    fn eval_mode_is_affine_in_the_running_stats() {
        let x = Tensor::from_vec(vec![3.0, 5.0], &[2, 1]).unwrap();
        let (mean, var) = (Tensor::full(&[1], 1.0), Tensor::full(&[1], 4.0));
        let (w, b) = (Tensor::full(&[1], 2.0), Tensor::full(&[1], 0.5));
        let y = batch_norm(&x, Some(&mean), Some(&var), Some(&w), Some(&b), false, 0.1, 0.0);
        assert_eq!(y.to_vec(), vec![2.5, 4.5]); // 2·(x − 1)/2 + 0.5
        assert_eq!((mean.to_vec(), var.to_vec()), (vec![1.0], vec![4.0]));
    }
}
