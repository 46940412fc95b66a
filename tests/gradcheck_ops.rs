//! Numerical gradient checks of every differentiable op, through the public
//! `tapegrad::autograd::gradcheck`: the analytical gradient of `backward()` is compared with
//! central differences of the forward pass.
//!
//! Inputs are drawn from `manual_seed` + `randn`/`rand` and then shifted or rearranged so that
//! every element stays well away (≥ 0.1, i.e. 100 × the gradcheck step) from kinks (0 for
//! relu/abs, clamp bounds) and ties (max/min), where the derivative is not defined. Shapes are
//! odd (3, 5, 7) so that a transposed or mis-broadcast gradient cannot pass by symmetry.
//!
//! The last sections check gradcheck itself (a deliberately wrong `Backward` must fail) and the
//! gradients PyTorch defines at kinks and ties, where central differences do not apply.

use std::sync::Mutex;

use tapegrad::autograd::{Backward, GradcheckOptions, gradcheck, gradcheck_with, record};
use tapegrad::ops::activation::Approximate;
use tapegrad::{SharedArray, Tensor, manual_seed};

// ----- inputs --------------------------------------------------------------------------------

/// The global generator is shared by the tests of this binary, which run in parallel; the
/// lock keeps one test's draws together so each test sees the same numbers on every run.
static RNG_LOCK: Mutex<()> = Mutex::new(());

fn seeded<R>(seed: u64, draw: impl FnOnce() -> R) -> R {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    manual_seed(seed);
    draw()
}

/// A leaf that requires grad, holding `f` of standard-normal draws.
fn randn_map(seed: u64, shape: &[usize], f: impl Fn(f32) -> f32) -> Tensor {
    let values = seeded(seed, || Tensor::randn(shape)).to_vec();
    leaf(values.into_iter().map(f).collect(), shape)
}

/// A leaf that requires grad, holding standard-normal draws.
fn randn(seed: u64, shape: &[usize]) -> Tensor {
    randn_map(seed, shape, |v| v)
}

/// Standard-normal draws pushed at least 0.25 away from 0 (for relu, abs, division).
fn away_from_zero(seed: u64, shape: &[usize]) -> Tensor {
    randn_map(seed, shape, |v| if v >= 0.0 { v + 0.25 } else { v - 0.25 })
}

/// Values in `[0.5, ∞)` (for log, sqrt, fractional and negative powers).
fn positive(seed: u64, shape: &[usize]) -> Tensor {
    randn_map(seed, shape, |v| v.abs() + 0.5)
}

/// All-distinct values in random order: `offset + spacing · (rank − (n − 1)/2)`, so any two
/// differ by at least `spacing` (no ties for max/min, whatever the perturbation).
fn distinct(seed: u64, shape: &[usize], spacing: f32, offset: f32) -> Tensor {
    let keys = seeded(seed, || Tensor::rand(shape)).to_vec();
    let n = keys.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| keys[i].total_cmp(&keys[j]));
    let mut values = vec![0.0; n];
    for (rank, &i) in order.iter().enumerate() {
        values[i] = offset + spacing * (rank as f32 - (n as f32 - 1.0) / 2.0);
    }
    leaf(values, shape)
}

/// Moves `v` to at least `margin` from each of `points`.
fn avoid(v: f32, points: &[f32], margin: f32) -> f32 {
    points.iter().fold(v, |v, &p| {
        if (v - p).abs() >= margin {
            v
        } else if v >= p {
            p + margin
        } else {
            p - margin
        }
    })
}

fn leaf(values: Vec<f32>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(values, shape).expect("length matches shape").requires_grad_(true)
}

/// A constant (no grad) tensor.
fn constant(values: Vec<f32>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(values, shape).expect("length matches shape")
}

/// For functions linear in each input (matmul, linear): step 1e-2, tolerances 10× tighter.
#[track_caller]
fn check_bilinear(f: impl Fn(&[Tensor]) -> Tensor, inputs: &[Tensor]) {
    let options = GradcheckOptions { eps: 1e-2, atol: 1e-4, rtol: 1e-3 };
    if let Err(e) = gradcheck_with(f, inputs, options) {
        panic!("gradcheck failed: {e}");
    }
}

#[track_caller]
fn check(f: impl Fn(&[Tensor]) -> Tensor, inputs: &[Tensor]) {
    if let Err(e) = gradcheck(f, inputs) {
        panic!("gradcheck failed: {e}");
    }
}

// ----- add, sub, mul, div ----------------------------------------------------------------------

#[test]
fn add_same_shape() {
    check(|t| t[0].add(&t[1]), &[randn(1, &[3, 5]), randn(2, &[3, 5])]);
}

#[test]
fn sub_same_shape() {
    check_bilinear(|t| &t[0] - &t[1], &[randn(3, &[3, 5]), randn(4, &[3, 5])]);
}

#[test]
fn mul_same_shape() {
    check_bilinear(|t| &t[0] * &t[1], &[randn(5, &[3, 5]), randn(6, &[3, 5])]);
}

#[test]
fn div_same_shape() {
    check(|t| &t[0] / &t[1], &[randn(7, &[3, 5]), away_from_zero(8, &[3, 5])]);
}

#[test]
fn binary_ops_broadcast_odd_shapes() {
    // [2, 1, 3] with [4, 1] broadcasts to [2, 4, 3]: both operands are stretched along
    // different dims and the second also gains a leading dim.
    let a = randn(9, &[2, 1, 3]);
    let b = randn(10, &[4, 1]);
    let b_nonzero = away_from_zero(11, &[4, 1]);
    let a_nonzero = away_from_zero(12, &[2, 1, 3]);
    check_bilinear(|t| &t[0] + &t[1], &[a.clone(), b.clone()]);
    check_bilinear(|t| &t[0] - &t[1], &[a.clone(), b.clone()]);
    check_bilinear(|t| &t[0] * &t[1], &[a.clone(), b.clone()]);
    check(|t| &t[0] / &t[1], &[a.clone(), b_nonzero.clone()]);
    // And the other way round (the broadcast operand first).
    check_bilinear(|t| &t[0] - &t[1], &[b.clone(), a.clone()]);
    check(|t| &t[0] / &t[1], &[b, a_nonzero]);
}

#[test]
fn binary_ops_with_a_zero_dim_operand() {
    let x = randn(13, &[3, 5]);
    let s = away_from_zero(14, &[]);
    let x_nonzero = away_from_zero(15, &[3, 5]);
    check_bilinear(|t| &t[0] + &t[1], &[x.clone(), s.clone()]);
    check_bilinear(|t| &t[1] - &t[0], &[x.clone(), s.clone()]);
    check_bilinear(|t| &t[0] * &t[1], &[x.clone(), s.clone()]);
    check(|t| &t[0] / &t[1], &[x, s.clone()]);
    check(|t| &t[1] / &t[0], &[x_nonzero, s]);
}

#[test]
fn binary_ops_with_f32_scalars() {
    let x = randn(16, &[5, 3]);
    let x_nonzero = away_from_zero(17, &[5, 3]);
    check_bilinear(|t| &t[0] + 2.5, std::slice::from_ref(&x));
    check_bilinear(|t| 2.5 + &t[0], std::slice::from_ref(&x));
    check_bilinear(|t| &t[0] - 1.25, std::slice::from_ref(&x));
    check_bilinear(|t| 1.25 - &t[0], std::slice::from_ref(&x));
    check_bilinear(|t| &t[0] * -1.75, std::slice::from_ref(&x));
    check_bilinear(|t| 0.5 * &t[0], std::slice::from_ref(&x));
    check(|t| &t[0] / 1.5, std::slice::from_ref(&x));
    check(|t| 3.0 / &t[0], &[x_nonzero]);
}

#[test]
fn binary_ops_when_only_one_operand_requires_grad() {
    let constant_a = seeded(18, || Tensor::randn(&[3, 5]));
    let constant_b = seeded(19, || Tensor::randn(&[5])).abs() + 0.5;
    let x = randn(20, &[3, 5]);
    let y = away_from_zero(21, &[5]);
    check_bilinear(|t| &t[0] * &t[1], &[constant_a.clone(), y.clone()]);
    check(|t| &t[0] / &t[1], &[constant_a, y]);
    check_bilinear(|t| &t[0] * &t[1], &[x.clone(), constant_b.clone()]);
    check(|t| &t[0] / &t[1], &[x, constant_b]);
}

// ----- elementwise maths -----------------------------------------------------------------------

#[test]
fn neg() {
    check(|t| t[0].neg(), &[randn(22, &[3, 5])]);
    check(|t| -&t[0], &[randn(23, &[7])]);
}

#[test]
fn pow_scalar_exponents() {
    let x = positive(24, &[3, 5]);
    for exponent in [2.0, 3.0, 0.5, -1.5, 1.0, 0.0] {
        if let Err(e) = gradcheck(|t| t[0].pow(exponent), std::slice::from_ref(&x)) {
            panic!("pow({exponent}): {e}");
        }
    }
    // Integer exponents are defined for negative bases too.
    let signed = randn(25, &[3, 5]);
    check(|t| t[0].pow(2.0), std::slice::from_ref(&signed));
    check(|t| t[0].pow(3.0), &[signed]);
}

#[test]
fn pow_tensor_exponent() {
    let base = positive(26, &[3, 5]);
    let exponent = randn(27, &[3, 5]);
    check(|t| t[0].pow_tensor(&t[1]), &[base.clone(), exponent]);
    // Broadcast exponent, and each operand alone requiring grad.
    let row_exponent = randn(28, &[5]);
    check(|t| t[0].pow_tensor(&t[1]), &[base.clone(), row_exponent]);
    let fixed_exponent = seeded(29, || Tensor::randn(&[5]));
    check(|t| t[0].pow_tensor(&t[1]), &[base.clone(), fixed_exponent]);
    let fixed_base = base.detach();
    check(|t| t[0].pow_tensor(&t[1]), &[fixed_base, randn(30, &[3, 5])]);
}

#[test]
fn exp_and_log() {
    check(|t| t[0].exp(), &[randn(31, &[3, 5])]);
    check(|t| t[0].log(), &[positive(32, &[3, 5])]);
}

#[test]
fn sqrt() {
    check(|t| t[0].sqrt(), &[positive(33, &[5, 3])]);
}

#[test]
fn abs_away_from_zero() {
    check(|t| t[0].abs(), &[away_from_zero(34, &[3, 5])]);
}

#[test]
fn clamp_away_from_bounds() {
    let (lo, hi) = (-0.5, 0.7);
    let x = randn_map(35, &[5, 7], |v| avoid(v, &[lo, hi], 0.1));
    check(|t| t[0].clamp(Some(lo), Some(hi)), std::slice::from_ref(&x));
    check(|t| t[0].clamp(Some(lo), None), std::slice::from_ref(&x));
    check(|t| t[0].clamp(None, Some(hi)), std::slice::from_ref(&x));
    check(|t| t[0].clamp_min(lo), std::slice::from_ref(&x));
    check(|t| t[0].clamp_max(hi), &[x]);
}

#[test]
fn maximum_and_minimum_away_from_ties() {
    // b is a ± (0.2 + |noise|): never within 0.2 of a.
    let a = randn(36, &[3, 5]);
    let noise = seeded(37, || Tensor::randn(&[3, 5])).to_vec();
    let b_values = a
        .to_vec()
        .iter()
        .zip(&noise)
        .enumerate()
        .map(|(i, (&a, &n))| {
            let gap = 0.2 + n.abs();
            if i % 2 == 0 { a + gap } else { a - gap }
        })
        .collect();
    let b = leaf(b_values, &[3, 5]);
    check(|t| t[0].maximum(&t[1]), &[a.clone(), b.clone()]);
    check(|t| t[0].minimum(&t[1]), &[a, b]);
}

#[test]
fn maximum_and_minimum_broadcast() {
    // a on odd multiples of 0.1, b on even ones: every broadcast pair differs by ≥ 0.1.
    let a = distinct(38, &[2, 1, 3], 0.2, 0.0);
    let b = distinct(39, &[4, 1], 0.2, 0.1);
    check(|t| t[0].maximum(&t[1]), &[a.clone(), b.clone()]);
    check(|t| t[0].minimum(&t[1]), &[a.clone(), b.clone()]);
    check(|t| t[1].maximum(&t[0]), &[a, b]);
}

// ----- activations -----------------------------------------------------------------------------

#[test]
fn relu_away_from_zero() {
    check(|t| t[0].relu(), &[away_from_zero(40, &[3, 5, 7])]);
}

#[test]
fn leaky_relu_away_from_zero() {
    let x = away_from_zero(41, &[5, 7]);
    check(|t| t[0].leaky_relu(0.01), std::slice::from_ref(&x));
    check(|t| t[0].leaky_relu(0.3), &[x]);
}

#[test]
fn sigmoid() {
    check(|t| t[0].sigmoid(), &[randn(42, &[3, 5, 7])]);
}

#[test]
fn tanh() {
    check(|t| t[0].tanh(), &[randn(43, &[3, 5, 7])]);
}

#[test]
fn gelu_exact_and_tanh() {
    let x = randn_map(44, &[5, 7], |v| 2.0 * v);
    check(|t| t[0].gelu(Approximate::None), std::slice::from_ref(&x));
    check(|t| t[0].gelu(Approximate::Tanh), &[x]);
}

// ----- softmax ---------------------------------------------------------------------------------

#[test]
fn softmax_along_every_dim() {
    let x = randn(45, &[3, 5, 7]);
    for dim in [0, 1, 2, -1, -2, -3] {
        if let Err(e) = gradcheck(|t| t[0].softmax(dim), std::slice::from_ref(&x)) {
            panic!("softmax(dim={dim}): {e}");
        }
    }
    check(|t| t[0].softmax(0), &[randn(46, &[7])]);
}

#[test]
fn log_softmax_along_every_dim() {
    let x = randn(47, &[3, 5, 7]);
    for dim in [0, 1, 2, -1, -2, -3] {
        if let Err(e) = gradcheck(|t| t[0].log_softmax(dim), std::slice::from_ref(&x)) {
            panic!("log_softmax(dim={dim}): {e}");
        }
    }
    check(|t| t[0].log_softmax(-1), &[randn(48, &[7])]);
}

#[test]
fn softmax_of_a_permuted_input() {
    // The input is a non-contiguous view; the gradient comes back through the permutation.
    let x = randn(49, &[3, 5, 7]);
    check(|t| t[0].permute(&[2, 0, 1]).softmax(1), std::slice::from_ref(&x));
    check(|t| t[0].transpose(0, 2).log_softmax(-1), &[x]);
}

// ----- reductions ------------------------------------------------------------------------------

#[test]
fn sum_all_dims_and_keepdim() {
    let x = randn(50, &[3, 5, 7]);
    check(|t| t[0].sum(), std::slice::from_ref(&x));
    check(|t| t[0].sum_dim(1, false), std::slice::from_ref(&x));
    check(|t| t[0].sum_dim(-1, true), std::slice::from_ref(&x));
    check(|t| t[0].sum_dim([0, 2], false), std::slice::from_ref(&x));
    check(|t| t[0].sum_dim([2, 0], true), std::slice::from_ref(&x));
    check(|t| t[0].sum_dim(vec![-3, -2, -1], false), &[x]);
}

#[test]
fn mean_all_dims_and_keepdim() {
    let x = randn(51, &[3, 5, 7]);
    check(|t| t[0].mean(), std::slice::from_ref(&x));
    check(|t| t[0].mean_dim(0, false), std::slice::from_ref(&x));
    check(|t| t[0].mean_dim(-2, true), std::slice::from_ref(&x));
    check(|t| t[0].mean_dim([1, 2], false), std::slice::from_ref(&x));
    check(|t| t[0].mean_dim([0, -1], true), &[x]);
}

#[test]
fn sum_of_a_zero_dim_tensor() {
    let s = randn(52, &[]);
    check(|t| t[0].sum(), std::slice::from_ref(&s));
    check(|t| t[0].mean(), &[s]);
}

#[test]
fn max_and_min_of_all_elements() {
    let x = distinct(53, &[3, 5, 7], 0.1, 0.3);
    check(|t| t[0].max(), std::slice::from_ref(&x));
    check(|t| t[0].min(), &[x]);
}

#[test]
fn max_dim_and_min_dim() {
    let x = distinct(54, &[3, 5, 7], 0.1, -0.2);
    for keepdim in [false, true] {
        for dim in [0, 1, 2, -1] {
            if let Err(e) = gradcheck(|t| t[0].max_dim(dim, keepdim).0, std::slice::from_ref(&x)) {
                panic!("max_dim({dim}, keepdim={keepdim}): {e}");
            }
            if let Err(e) = gradcheck(|t| t[0].min_dim(dim, keepdim).0, std::slice::from_ref(&x)) {
                panic!("min_dim({dim}, keepdim={keepdim}): {e}");
            }
        }
    }
}

#[test]
fn amax_and_amin() {
    let x = distinct(55, &[3, 5, 7], 0.1, 0.0);
    check(|t| t[0].amax(1, false), std::slice::from_ref(&x));
    check(|t| t[0].amax([0, 2], true), std::slice::from_ref(&x));
    check(|t| t[0].amax(-1, true), std::slice::from_ref(&x));
    check(|t| t[0].amin(0, false), std::slice::from_ref(&x));
    check(|t| t[0].amin([-1, 0], false), std::slice::from_ref(&x));
    check(|t| t[0].amin([1, 2], true), &[x]);
}

// ----- shape ops -------------------------------------------------------------------------------

#[test]
fn reshape_and_view() {
    let x = randn(56, &[3, 5, 7]);
    check(|t| t[0].reshape(&[5, -1]), std::slice::from_ref(&x));
    check(|t| t[0].reshape(&[-1]), std::slice::from_ref(&x));
    check(|t| t[0].view(&[7, 3, 5]), std::slice::from_ref(&x));
    // Reshaping a non-contiguous view copies; the gradient must still land in place.
    check(|t| t[0].transpose(0, 2).reshape(&[7, 15]), &[x]);
}

#[test]
fn permute_and_transpose() {
    let x = randn(57, &[3, 5, 7]);
    check(|t| t[0].permute(&[2, 0, 1]), std::slice::from_ref(&x));
    check(|t| t[0].permute(&[-1, 0, -2]), std::slice::from_ref(&x));
    check(|t| t[0].transpose(0, 2), std::slice::from_ref(&x));
    check(|t| t[0].transpose(-1, -2), &[x]);
}

#[test]
fn t_of_matrix_and_vector() {
    check(|t| t[0].t(), &[randn(58, &[3, 5])]);
    check(|t| t[0].t(), &[randn(59, &[7])]);
}

#[test]
fn flatten() {
    let x = randn(60, &[3, 5, 7]);
    check(|t| t[0].flatten(0, -1), std::slice::from_ref(&x));
    check(|t| t[0].flatten(1, 2), std::slice::from_ref(&x));
    check(|t| t[0].flatten(0, 1), &[x]);
}

#[test]
fn unsqueeze_squeeze_and_squeeze_dim() {
    let x = randn(61, &[3, 5]);
    check(|t| t[0].unsqueeze(0), std::slice::from_ref(&x));
    check(|t| t[0].unsqueeze(1), std::slice::from_ref(&x));
    check(|t| t[0].unsqueeze(-1), &[x]);
    let y = randn(62, &[3, 1, 5, 1]);
    check(|t| t[0].squeeze(), std::slice::from_ref(&y));
    check(|t| t[0].squeeze_dim(1), std::slice::from_ref(&y));
    check(|t| t[0].squeeze_dim(-1), std::slice::from_ref(&y));
    // A dim that is not of size 1 is left alone.
    check(|t| t[0].squeeze_dim(0), &[y]);
}

#[test]
fn expand() {
    check(|t| t[0].expand(&[2, 3, 5]), &[randn(63, &[3, 1])]);
    check(|t| t[0].expand(&[-1, 4]), &[randn(64, &[3, 1])]);
    check(|t| t[0].expand(&[3, 5]), &[randn(65, &[])]);
    check(|t| t[0].expand(&[2, 3, 7]), &[randn(66, &[3, 7])]);
}

#[test]
fn cat_along_several_dims() {
    let (a, b, c) = (randn(67, &[2, 5]), randn(68, &[3, 5]), randn(69, &[1, 5]));
    check(|t| Tensor::cat(t, 0), &[a, b, c]);
    let (d, e) = (randn(70, &[3, 2, 7]), randn(71, &[3, 4, 7]));
    check(|t| Tensor::cat(t, 1), &[d, e]);
    let (f, g) = (randn(72, &[3, 5, 2]), randn(73, &[3, 5, 1]));
    check(|t| Tensor::cat(t, -1), &[f, g]);
}

#[test]
fn cat_with_a_constant_piece() {
    let constant_piece = seeded(74, || Tensor::randn(&[2, 5]));
    check(|t| Tensor::cat(&[&t[0], &t[1]], 0), &[randn(75, &[3, 5]), constant_piece]);
}

#[test]
fn stack_along_several_dims() {
    let inputs = [randn(76, &[3, 5]), randn(77, &[3, 5]), randn(78, &[3, 5])];
    for dim in [0, 1, 2, -1] {
        if let Err(e) = gradcheck(|t| Tensor::stack(t, dim), &inputs) {
            panic!("stack(dim={dim}): {e}");
        }
    }
}

#[test]
fn narrow() {
    let x = randn(79, &[5, 7]);
    check(|t| t[0].narrow(1, 1, 3), std::slice::from_ref(&x));
    check(|t| t[0].narrow(0, -2, 2), std::slice::from_ref(&x));
    check(|t| t[0].narrow(-1, 0, 7), &[x]);
}

#[test]
fn slice_with_steps() {
    let x = randn(80, &[5, 7]);
    check(|t| t[0].slice(1, 0, 7, 2), std::slice::from_ref(&x));
    check(|t| t[0].slice(-1, -5, isize::MAX, 3), std::slice::from_ref(&x));
    check(|t| t[0].slice(0, 1, -1, 1), std::slice::from_ref(&x));
    check(|t| t[0].slice(0, 4, 1, 1), std::slice::from_ref(&x)); // empty
    // A strided slice of a strided slice, then a reduction.
    check(|t| t[0].slice(1, 1, 7, 2).slice(0, 0, 5, 2).sum_dim(0, false), &[x]);
}

// ----- matmul and linear -----------------------------------------------------------------------
//
// These are linear in each input, so a central difference is exact up to rounding whatever the
// step: a larger step and tolerances ten times tighter than the defaults catch a gradient that
// is off by as little as 1 %.

#[test]
fn matmul_vector_vector() {
    check_bilinear(|t| t[0].matmul(&t[1]), &[randn(81, &[5]), randn(82, &[5])]);
}

#[test]
fn matmul_matrix_vector() {
    check_bilinear(|t| t[0].matmul(&t[1]), &[randn(83, &[3, 5]), randn(84, &[5])]);
}

#[test]
fn matmul_vector_matrix() {
    check_bilinear(|t| t[0].matmul(&t[1]), &[randn(85, &[5]), randn(86, &[5, 7])]);
}

#[test]
fn matmul_matrix_matrix() {
    check_bilinear(|t| t[0].matmul(&t[1]), &[randn(87, &[3, 5]), randn(88, &[5, 7])]);
}

#[test]
fn matmul_batched() {
    check_bilinear(|t| t[0].matmul(&t[1]), &[randn(89, &[2, 3, 5]), randn(90, &[2, 5, 4])]);
}

#[test]
fn matmul_broadcast_batch_dims() {
    // [2, 1, 3, 4] · [3, 4, 2] → [2, 3, 3, 2]: the first operand's batch dim of size 1 and the
    // second's missing leading dim are both broadcast, and their gradients summed back.
    check_bilinear(|t| t[0].matmul(&t[1]), &[randn(91, &[2, 1, 3, 4]), randn(92, &[3, 4, 2])]);
    check_bilinear(|t| t[0].matmul(&t[1]), &[randn(93, &[2, 3, 4]), randn(94, &[4, 5])]);
    check_bilinear(|t| t[0].matmul(&t[1]), &[randn(95, &[3, 5]), randn(96, &[2, 5, 4])]);
}

#[test]
fn matmul_vector_with_batched_matrix() {
    check_bilinear(|t| t[0].matmul(&t[1]), &[randn(97, &[4]), randn(98, &[2, 4, 3])]);
    check_bilinear(|t| t[0].matmul(&t[1]), &[randn(99, &[2, 3, 4]), randn(100, &[4])]);
}

#[test]
fn matmul_of_transposed_views() {
    check_bilinear(|t| t[0].t().matmul(&t[1].transpose(0, 1)), &[randn(101, &[5, 3]), randn(102, &[7, 5])]);
}

#[test]
fn linear_with_and_without_bias() {
    let x = randn(103, &[5, 3]);
    let weight = randn(104, &[7, 3]);
    let bias = randn(105, &[7]);
    check_bilinear(|t| t[0].linear(&t[1], Some(&t[2])), &[x.clone(), weight.clone(), bias]);
    check_bilinear(|t| t[0].linear(&t[1], None), &[x, weight]);
}

#[test]
fn linear_on_a_batch_of_sequences() {
    check_bilinear(
        |t| t[0].linear(&t[1], Some(&t[2])),
        &[randn(106, &[2, 5, 3]), randn(107, &[4, 3]), randn(108, &[4])],
    );
}

// ----- composites ------------------------------------------------------------------------------

#[test]
fn small_mlp_with_cross_entropy() {
    // x (5, 3) → linear(3 → 7) → tanh → linear(7 → 4) → log_softmax → NLL of fixed classes.
    let inputs = [
        randn(109, &[5, 3]),
        randn_map(110, &[7, 3], |v| 0.5 * v),
        randn(111, &[7]),
        randn_map(112, &[4, 7], |v| 0.5 * v),
        randn(113, &[4]),
    ];
    let classes = [2usize, 0, 3, 1, 2];
    let mut one_hot = vec![0.0; 5 * 4];
    for (row, &class) in classes.iter().enumerate() {
        one_hot[row * 4 + class] = 1.0;
    }
    let one_hot = constant(one_hot, &[5, 4]);
    check(
        |t| {
            let hidden = t[0].linear(&t[1], Some(&t[2])).tanh();
            let logits = hidden.linear(&t[3], Some(&t[4]));
            -(logits.log_softmax(-1) * &one_hot).sum_dim(-1, false).mean()
        },
        &inputs,
    );
}

#[test]
fn mlp_with_relu_gelu_and_sigmoid() {
    // relu acts on the input leaf, which stays ≥ 0.25 away from its kink.
    let inputs =
        [away_from_zero(114, &[3, 5]), randn_map(115, &[7, 5], |v| 0.4 * v), randn_map(116, &[3, 7], |v| 0.4 * v)];
    check(
        |t| {
            let h = t[0].relu().linear(&t[1], None).gelu(Approximate::Tanh);
            h.sigmoid().linear(&t[2], None).sum_dim(0, false)
        },
        &inputs,
    );
}

#[test]
fn layer_norm_by_hand() {
    // (x − mean) / sqrt(var + eps) · γ + β: x is used three times (diamond-shaped graph).
    let inputs = [randn(117, &[3, 7]), randn(118, &[7]), randn(119, &[7])];
    check(
        |t| {
            let centered = &t[0] - t[0].mean_dim(-1, true);
            let variance = centered.pow(2.0).mean_dim(-1, true);
            let normalized = &centered / (variance + 1e-5).sqrt();
            normalized * &t[1] + &t[2]
        },
        &inputs,
    );
}

#[test]
fn attention_by_hand() {
    // softmax(q kᵀ / √d) v with batch 2, 3 queries, 5 keys, d = 4.
    let inputs = [randn(120, &[2, 3, 4]), randn(121, &[2, 5, 4]), randn(122, &[2, 5, 4])];
    check(
        |t| {
            let scores = t[0].matmul(&t[1].transpose(-1, -2)) / 2.0;
            scores.softmax(-1).matmul(&t[2])
        },
        &inputs,
    );
}

#[test]
fn reshapes_and_joins_chained() {
    let inputs = [randn(123, &[3, 5]), randn(124, &[5, 3])];
    check(
        |t| {
            let joined = Tensor::cat(&[t[0].clone(), t[1].t()], 1); // [3, 10]
            let stacked = Tensor::stack(&[joined.narrow(1, 0, 5), joined.slice(1, 5, 10, 1)], 0);
            stacked.permute(&[1, 2, 0]).flatten(1, 2).unsqueeze(0).expand(&[2, -1, -1]).exp().mean_dim([0, 1], false)
        },
        &inputs,
    );
}

// ----- gradcheck checks itself -----------------------------------------------------------------

/// y = x², with a deliberately wrong derivative 3x (the right one is 2x).
struct WrongSquareBackward {
    input: SharedArray,
}

impl Backward for WrongSquareBackward {
    fn name(&self) -> &'static str {
        "WrongSquareBackward"
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        let wrong = ndarray::Zip::from(grad).and(&self.input).map_collect(|&g, &x| g * 3.0 * x);
        vec![Some(wrong.into_shared())]
    }
}

/// y = x², with the right derivative 2x: the control for the wrong one.
struct SquareBackward {
    input: SharedArray,
}

impl Backward for SquareBackward {
    fn name(&self) -> &'static str {
        "SquareBackward"
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        let right = ndarray::Zip::from(grad).and(&self.input).map_collect(|&g, &x| g * 2.0 * x);
        vec![Some(right.into_shared())]
    }
}

fn square_values(x: &Tensor) -> SharedArray {
    x.data().mapv(|v| v * v).into_shared()
}

#[test]
fn gradcheck_accepts_a_correct_custom_op() {
    let x = away_from_zero(125, &[3, 5]);
    check(
        |t| {
            let input = t[0].data();
            record(square_values(&t[0]), &[&t[0]], SquareBackward { input })
        },
        &[x],
    );
}

#[test]
fn gradcheck_rejects_a_wrong_gradient() {
    let x = away_from_zero(126, &[3, 5]);
    let result = gradcheck(
        |t| {
            let input = t[0].data();
            record(square_values(&t[0]), &[&t[0]], WrongSquareBackward { input })
        },
        std::slice::from_ref(&x),
    );
    let error = result.expect_err("gradcheck must reject the derivative 3x of x²");
    assert_eq!(error.input, 0);
    // The first element reported is a real mismatch: analytical ≈ 1.5 × numerical.
    let ratio = error.analytical / error.numerical;
    assert!(
        (ratio - 1.5).abs() < 0.01,
        "analytical {} should be 1.5 × numerical {}",
        error.analytical,
        error.numerical
    );
    assert!(error.to_string().contains("Jacobian mismatch for input 0"));
}

/// y = a · b elementwise, whose gradient for `b` is wrong at element `bad_index` only.
struct MulWrongAtBackward {
    a: SharedArray,
    b: SharedArray,
    bad_index: usize,
}

impl Backward for MulWrongAtBackward {
    fn name(&self) -> &'static str {
        "MulWrongAtBackward"
    }
    fn backward(&self, grad: &SharedArray, needs: &[bool]) -> Vec<Option<SharedArray>> {
        let grad_a = needs[0].then(|| (grad * &self.b).into_shared());
        let grad_b = needs[1].then(|| {
            let mut g = (grad * &self.a).into_shared();
            let slot = g.iter_mut().nth(self.bad_index).expect("index in range");
            *slot += 1.0;
            g
        });
        vec![grad_a, grad_b]
    }
}

#[test]
fn gradcheck_reports_which_input_and_element_is_wrong() {
    let a = randn(127, &[3, 5]);
    let b = randn(128, &[3, 5]);
    let error = gradcheck(
        |t| {
            let (a, b) = (t[0].data(), t[1].data());
            let out = (&a * &b).into_shared();
            record(out, &[&t[0], &t[1]], MulWrongAtBackward { a, b, bad_index: 7 })
        },
        &[a, b],
    )
    .expect_err("the gradient of b is off by 1 at element 7");
    assert_eq!((error.input, error.index), (1, 7));
}

/// y = a + b with broadcasting, whose backward hands back the gradient in the output shape
/// and relies on the engine to sum it back to each input's shape.
struct BroadcastAddBackward;

impl Backward for BroadcastAddBackward {
    fn name(&self) -> &'static str {
        "BroadcastAddBackward"
    }
    fn backward(&self, grad: &SharedArray, needs: &[bool]) -> Vec<Option<SharedArray>> {
        vec![needs[0].then(|| grad.clone()), needs[1].then(|| grad.clone())]
    }
}

#[test]
fn custom_op_gradients_are_summed_back_to_broadcast_inputs() {
    let a = randn(129, &[2, 1, 3]);
    let b = randn(130, &[4, 1]);
    check(
        |t| {
            let (a, b) = (t[0].data(), t[1].data());
            let shape = [2, 4, 3];
            let out = &a.broadcast(shape).expect("broadcasts") + &b.broadcast(shape).expect("broadcasts");
            record(out.into_dyn().into_shared(), &[&t[0], &t[1]], BroadcastAddBackward)
        },
        &[a, b],
    );
}

#[test]
fn gradcheck_leaves_the_callers_tensors_untouched() {
    let x = randn(131, &[3, 5]);
    let before = x.to_vec();
    check(|t| t[0].exp().sum(), std::slice::from_ref(&x));
    assert_eq!(x.to_vec(), before);
    assert!(x.grad().is_none(), "gradcheck must not write into the caller's .grad()");
}

#[test]
fn gradcheck_with_tight_options_still_passes_a_linear_op() {
    // A linear op has no truncation error, so a larger step and tighter tolerances hold.
    let options = GradcheckOptions { eps: 1e-2, atol: 1e-4, rtol: 1e-3 };
    let inputs = [randn(132, &[3, 5]), randn(133, &[5, 7])];
    if let Err(e) = gradcheck_with(|t| t[0].matmul(&t[1]), &inputs, options) {
        panic!("{e}");
    }
}

// ----- gradients at kinks and ties (PyTorch's conventions; not gradcheckable) ------------------

fn grad_of(x: &[f32], shape: &[usize], f: impl Fn(&Tensor) -> Tensor) -> Vec<f32> {
    let x = leaf(x.to_vec(), shape);
    f(&x).sum().backward();
    x.grad().expect("gradient reached the leaf").to_vec()
}

#[test]
fn relu_abs_and_leaky_relu_have_zero_or_slope_gradient_at_zero() {
    // PyTorch: relu'(0) = 0, abs'(0) = sign(0) = 0, leaky_relu'(0) = negative_slope.
    assert_eq!(grad_of(&[-1.0, 0.0, 2.0], &[3], Tensor::relu), [0.0, 0.0, 1.0]);
    assert_eq!(grad_of(&[-1.0, 0.0, 2.0], &[3], Tensor::abs), [-1.0, 0.0, 1.0]);
    assert_eq!(grad_of(&[-1.0, 0.0, 2.0], &[3], |x| x.leaky_relu(0.25)), [0.25, 0.25, 1.0]);
}

#[test]
fn clamp_passes_the_gradient_at_its_bounds() {
    // PyTorch: the gradient flows where min ≤ x ≤ max, bounds included.
    let g = grad_of(&[-2.0, -1.0, 0.0, 1.0, 2.0], &[5], |x| x.clamp(Some(-1.0), Some(1.0)));
    assert_eq!(g, [0.0, 1.0, 1.0, 1.0, 0.0]);
}

#[test]
fn max_of_all_shares_the_gradient_among_ties() {
    // PyTorch: max()/min()/amax() distribute the gradient evenly among equal extremes.
    assert_eq!(grad_of(&[1.0, 3.0, 3.0, 2.0], &[4], Tensor::max), [0.0, 0.5, 0.5, 0.0]);
    assert_eq!(
        grad_of(&[1.0, 0.0, 5.0, 0.0, 0.0, 4.0], &[2, 3], Tensor::min),
        [0.0, 1.0 / 3.0, 0.0, 1.0 / 3.0, 1.0 / 3.0, 0.0]
    );
    assert_eq!(grad_of(&[2.0, 2.0, 1.0, 0.0, 7.0, 7.0], &[2, 3], |x| x.amax(1, false)), [0.5, 0.5, 0.0, 0.0, 0.5, 0.5]);
}

#[test]
fn max_dim_gives_the_whole_gradient_to_the_returned_index() {
    let x = leaf(vec![3.0, 1.0, 3.0, 0.0, 2.0, 2.0], &[2, 3]);
    let (values, indices) = x.max_dim(1, false);
    assert_eq!(values.to_vec(), [3.0, 2.0]);
    values.sum().backward();
    let mut expected = vec![0.0; 6];
    for (row, &index) in indices.iter().enumerate() {
        expected[row * 3 + index as usize] = 1.0;
    }
    assert_eq!(x.grad().unwrap().to_vec(), expected);
}

#[test]
fn maximum_and_minimum_split_the_gradient_on_ties() {
    // PyTorch: where a == b, each operand gets half.
    let a = leaf(vec![1.0, 2.0, 3.0], &[3]);
    let b = leaf(vec![3.0, 2.0, 1.0], &[3]);
    a.maximum(&b).sum().backward();
    assert_eq!(a.grad().unwrap().to_vec(), [0.0, 0.5, 1.0]);
    assert_eq!(b.grad().unwrap().to_vec(), [1.0, 0.5, 0.0]);
    a.zero_grad();
    b.zero_grad();
    a.minimum(&b).sum().backward();
    assert_eq!(a.grad().unwrap().to_vec(), [1.0, 0.5, 0.0]);
    assert_eq!(b.grad().unwrap().to_vec(), [0.0, 0.5, 1.0]);
}
