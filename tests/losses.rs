//! The losses of `nn::functional` and their module forms.
//!
//! * Forward values against naive references written here from the formulas in PyTorch's
//!   documentation, computed in f64 with plain loops (no tapegrad op involved).
//! * Gradients by central differences (`gradcheck`) for every loss and reduction, with
//!   weights, `ignore_index`, label smoothing, K-dim and unbatched inputs; inputs stay away
//!   from kinks (|d| = 0, β, δ) where the derivative is not defined.
//! * Finiteness for extreme logits (±1e4) and probabilities at 0 and 1.
//! * Errors and the module forms: in `losses/errors.rs`.

use tapegrad::Tensor;
use tapegrad::autograd::gradcheck;
use tapegrad::nn::functional::{
    self as F, BceOptions, BceWithLogitsOptions, CrossEntropyOptions, HuberOptions, NllOptions, Reduction,
    SmoothL1Options,
};

#[path = "losses/errors.rs"]
mod errors;

const REDUCTIONS: [Reduction; 3] = [Reduction::None, Reduction::Mean, Reduction::Sum];

// ----- helpers -------------------------------------------------------------------------------

fn tensor(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).unwrap()
}

fn leaf(values: &[f32], shape: &[usize]) -> Tensor {
    tensor(values, shape).requires_grad_(true)
}

/// `n` deterministic pseudo-random values in `[low, high)` (xorshift; no global state, so
/// tests running in parallel do not disturb each other).
fn uniform(seed: u64, n: usize, low: f32, high: f32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            low + (high - low) * ((state >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}

#[track_caller]
fn assert_close(actual: &Tensor, expected: &[f64], shape: &[usize]) {
    assert_eq!(actual.shape(), shape, "shape");
    for (i, (&a, &e)) in actual.to_vec().iter().zip(expected).enumerate() {
        assert!((a as f64 - e).abs() <= 1e-5 + 1e-5 * e.abs(), "element {i}: {a} vs expected {e}");
    }
}

fn reduce_ref(per_element: Vec<f64>, reduction: Reduction, divisor: f64) -> Vec<f64> {
    match reduction {
        Reduction::None => per_element,
        Reduction::Sum => vec![per_element.iter().sum()],
        Reduction::Mean => vec![per_element.iter().sum::<f64>() / divisor],
    }
}

fn reduced_shape(shape: &[usize], reduction: Reduction) -> Vec<usize> {
    if reduction == Reduction::None { shape.to_vec() } else { Vec::new() }
}

/// (N, C, S) of an input `(N, C, d1, ...)`, or of an unbatched `(C,)` as N = S = 1.
fn layout(shape: &[usize]) -> (usize, usize, usize) {
    match shape {
        [c] => (1, *c, 1),
        [n, c, rest @ ..] => (*n, *c, rest.iter().product()),
        [] => unreachable!(),
    }
}

/// The log-softmax over the class dim of sample `n`, position `s`, in f64.
fn log_probs(x: &[f32], shape: &[usize], n: usize, s: usize) -> Vec<f64> {
    let (_, c, spatial) = layout(shape);
    let row: Vec<f64> = (0..c).map(|k| x[(n * c + k) * spatial + s] as f64).collect();
    let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let log_sum = row.iter().map(|v| (v - max).exp()).sum::<f64>().ln() + max;
    row.iter().map(|v| v - log_sum).collect()
}

/// The keyword arguments of the class-index references.
struct RefOptions<'a> {
    weight: Option<&'a [f32]>,
    ignore_index: i64,
    epsilon: f64,
    reduction: Reduction,
}

/// PyTorch's cross-entropy with class indices, literally: `(1 − ε)·NLL + (ε/C)·SMOOTH`,
/// both zero for ignored targets, `'mean'` dividing by the total weight of the kept targets.
/// With `log_softmax = false` the input is taken as log-probabilities (nll_loss).
fn cross_entropy_ref(x: &[f32], shape: &[usize], target: &[f32], options: &RefOptions, log_softmax: bool) -> Vec<f64> {
    let RefOptions { weight, ignore_index, epsilon, reduction } = *options;
    let (n_batch, classes, spatial) = layout(shape);
    let w = |c: usize| weight.map_or(1.0, |w| w[c] as f64);
    let (mut per_sample, mut kept_weight) = (Vec::new(), 0.0);
    for n in 0..n_batch {
        for s in 0..spatial {
            let logp = if log_softmax {
                log_probs(x, shape, n, s)
            } else {
                (0..classes).map(|k| x[(n * classes + k) * spatial + s] as f64).collect()
            };
            let y = target[n * spatial + s] as i64;
            if y == ignore_index {
                per_sample.push(0.0);
                continue;
            }
            let y = y as usize;
            kept_weight += w(y);
            let nll = -w(y) * logp[y];
            let smooth: f64 = -(0..classes).map(|c| w(c) * logp[c]).sum::<f64>();
            per_sample.push((1.0 - epsilon) * nll + epsilon / classes as f64 * smooth);
        }
    }
    reduce_ref(per_sample, reduction, kept_weight)
}

/// Cross-entropy with class probabilities: `−Σ_c w[c]·t'[c]·logp[c]`, `t' = (1 − ε)t + ε/C`;
/// `'mean'` divides by the number of samples.
fn cross_entropy_probs_ref(
    x: &[f32],
    shape: &[usize],
    target: &[f32],
    weight: Option<&[f32]>,
    epsilon: f64,
    reduction: Reduction,
) -> Vec<f64> {
    let (n_batch, classes, spatial) = layout(shape);
    let mut per_sample = Vec::new();
    for n in 0..n_batch {
        for s in 0..spatial {
            let logp = log_probs(x, shape, n, s);
            let loss = (0..classes)
                .map(|c| {
                    let t = (1.0 - epsilon) * target[(n * classes + c) * spatial + s] as f64 + epsilon / classes as f64;
                    -weight.map_or(1.0, |w| w[c] as f64) * t * logp[c]
                })
                .sum();
            per_sample.push(loss);
        }
    }
    let count = per_sample.len() as f64;
    reduce_ref(per_sample, reduction, count)
}

/// Class indices in `[0, classes)`, with every `ignore_every`-th replaced by `ignore`.
fn class_targets(seed: u64, n: usize, classes: usize, ignore: Option<(usize, f32)>) -> Vec<f32> {
    let mut t: Vec<f32> = uniform(seed, n, 0.0, classes as f32).into_iter().map(f32::floor).collect();
    if let Some((every, value)) = ignore {
        t.iter_mut().step_by(every).for_each(|v| *v = value);
    }
    t
}

// ----- cross_entropy and nll_loss -------------------------------------------------------------

/// Input shapes: 2-D, K-dim with one and two spatial dims, unbatched.
const CLASS_SHAPES: [&[usize]; 4] = [&[3, 5], &[2, 4, 3], &[2, 3, 2, 2], &[4]];

fn target_shape(shape: &[usize]) -> Vec<usize> {
    if shape.len() == 1 { Vec::new() } else { std::iter::once(shape[0]).chain(shape[2..].iter().copied()).collect() }
}

#[test]
fn cross_entropy_with_class_indices_matches_the_definition_and_its_gradient() {
    for (seed, shape) in CLASS_SHAPES.iter().enumerate() {
        let (_, classes, _) = layout(shape);
        let numel: usize = shape.iter().product();
        let x = uniform(seed as u64, numel, -2.0, 2.0);
        let t_shape = target_shape(shape);
        let count = t_shape.iter().product();
        let weights = uniform(100 + seed as u64, classes, 0.2, 2.0);
        // ignore_index 1 (batched inputs only): the first target is set to class 1, which is
        // then dropped there and wherever else it occurs.
        let ignores: &[Option<i64>] = if count > 1 { &[None, Some(1)] } else { &[None] };
        for &ignore in ignores {
            let mut targets = class_targets(7 + seed as u64, count, classes, None);
            if ignore.is_some() {
                targets[0] = 1.0;
            }
            for weight in [None, Some(weights.as_slice())] {
                for epsilon in [0.0, 0.2] {
                    for reduction in REDUCTIONS {
                        let options = CrossEntropyOptions {
                            weight: weight.map(|w| tensor(w, &[classes])),
                            ignore_index: ignore.unwrap_or(-100),
                            reduction,
                            label_smoothing: epsilon,
                        };
                        let target = tensor(&targets, &t_shape);
                        let loss = F::cross_entropy_with(&tensor(&x, shape), &target, &options);
                        let reference = RefOptions {
                            weight,
                            ignore_index: options.ignore_index,
                            epsilon: epsilon as f64,
                            reduction,
                        };
                        let expected = cross_entropy_ref(&x, shape, &targets, &reference, true);
                        assert_close(&loss, &expected, &reduced_shape(&t_shape, reduction));
                        gradcheck(|i| F::cross_entropy_with(&i[0], &target, &options), &[leaf(&x, shape)])
                            .unwrap_or_else(|e| panic!("{shape:?} {options:?}: {e}"));
                    }
                }
            }
        }
    }
}

#[test]
fn cross_entropy_with_probabilities_matches_the_definition_and_differentiates_both() {
    for (seed, shape) in CLASS_SHAPES.iter().enumerate() {
        let (_, classes, _) = layout(shape);
        let numel: usize = shape.iter().product();
        let x = uniform(seed as u64, numel, -2.0, 2.0);
        let probs = uniform(50 + seed as u64, numel, 0.0, 1.0); // soft labels need not sum to 1
        let weights = uniform(100 + seed as u64, classes, 0.2, 2.0);
        for weight in [None, Some(weights.as_slice())] {
            for epsilon in [0.0, 0.3] {
                for reduction in REDUCTIONS {
                    let options = CrossEntropyOptions {
                        weight: weight.map(|w| tensor(w, &[classes])),
                        reduction,
                        label_smoothing: epsilon,
                        ..Default::default()
                    };
                    let loss = F::cross_entropy_with(&tensor(&x, shape), &tensor(&probs, shape), &options);
                    let expected = cross_entropy_probs_ref(&x, shape, &probs, weight, epsilon as f64, reduction);
                    assert_close(&loss, &expected, &reduced_shape(&target_shape(shape), reduction));
                    gradcheck(
                        |i| F::cross_entropy_with(&i[0], &i[1], &options),
                        &[leaf(&x, shape), leaf(&probs, shape)],
                    )
                    .unwrap_or_else(|e| panic!("{shape:?} {options:?}: {e}"));
                }
            }
        }
    }
}

#[test]
fn nll_loss_matches_the_definition_and_its_gradient() {
    for (seed, shape) in CLASS_SHAPES.iter().enumerate() {
        let (_, classes, _) = layout(shape);
        let numel: usize = shape.iter().product();
        let x = uniform(seed as u64, numel, -3.0, 0.0);
        let t_shape = target_shape(shape);
        let count = t_shape.iter().product();
        let targets = class_targets(9 + seed as u64, count, classes, (count > 1).then_some((2, -100.0)));
        let weights = uniform(100 + seed as u64, classes, 0.2, 2.0);
        for weight in [None, Some(weights.as_slice())] {
            for reduction in REDUCTIONS {
                let options =
                    NllOptions { weight: weight.map(|w| tensor(w, &[classes])), reduction, ..Default::default() };
                let target = tensor(&targets, &t_shape);
                let loss = F::nll_loss_with(&tensor(&x, shape), &target, &options);
                let reference = RefOptions { weight, ignore_index: -100, epsilon: 0.0, reduction };
                let expected = cross_entropy_ref(&x, shape, &targets, &reference, false);
                assert_close(&loss, &expected, &reduced_shape(&t_shape, reduction));
                gradcheck(|i| F::nll_loss_with(&i[0], &target, &options), &[leaf(&x, shape)]).unwrap();
            }
        }
    }
}

#[test]
fn cross_entropy_is_nll_of_log_softmax() {
    let x = tensor(&uniform(3, 12, -2.0, 2.0), &[4, 3]);
    let target = tensor(&[0.0, 2.0, 1.0, 2.0], &[4]);
    let direct = F::cross_entropy(&x, &target).item();
    let composed = F::nll_loss(&x.log_softmax(1), &target).item();
    assert!((direct - composed).abs() < 1e-6, "{direct} vs {composed}");
}

#[test]
fn mean_divides_by_the_weight_of_the_targets_kept_not_by_n() {
    // Uniform logits: every log-probability is −ln 3. Targets 0, 1 and one ignored.
    let logits = Tensor::zeros(&[3, 3]);
    let target = tensor(&[0.0, 1.0, -100.0], &[3]);
    let weight = tensor(&[1.0, 3.0, 5.0], &[3]);
    let options = CrossEntropyOptions { weight: Some(weight), ..Default::default() };
    let ln3 = 3f32.ln();
    // (1·ln 3 + 3·ln 3) / (1 + 3), not / 3 samples.
    assert!((F::cross_entropy_with(&logits, &target, &options).item() - ln3).abs() < 1e-6);
    let plain = F::cross_entropy(&logits, &target).item();
    assert!((plain - ln3).abs() < 1e-6, "(ln 3 + ln 3) / 2 kept targets: {plain}");
}

#[test]
fn every_target_ignored_gives_nan_mean_zero_sum_and_zero_gradient() {
    let logits = leaf(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let target = tensor(&[-100.0, -100.0], &[2]);
    let mean = F::cross_entropy(&logits, &target);
    assert!(mean.item().is_nan(), "PyTorch: 0 / 0");
    mean.backward();
    assert_eq!(logits.grad().unwrap().to_vec(), vec![0.0; 4]);
    let options = CrossEntropyOptions { reduction: Reduction::Sum, ..Default::default() };
    assert_eq!(F::cross_entropy_with(&logits, &target, &options).item(), 0.0);
}

#[test]
fn unbatched_cross_entropy_is_the_batch_of_one() {
    let x = uniform(5, 4, -1.0, 1.0);
    for reduction in REDUCTIONS {
        let options = CrossEntropyOptions { reduction, label_smoothing: 0.1, ..Default::default() };
        let single = F::cross_entropy_with(&tensor(&x, &[4]), &Tensor::scalar(2.0), &options);
        let batch = F::cross_entropy_with(&tensor(&x, &[1, 4]), &tensor(&[2.0], &[1]), &options);
        assert_eq!(single.shape(), &[] as &[usize]);
        assert!((single.item() - batch.to_vec()[0]).abs() < 1e-6);
    }
}

#[test]
fn class_index_targets_are_not_differentiated() {
    let logits = leaf(&[0.5, -0.5, 1.0, 0.0], &[2, 2]);
    let target = tensor(&[1.0, 0.0], &[2]).requires_grad_(true);
    let loss = F::cross_entropy(&logits, &target);
    assert_eq!(loss.grad_fn(), Some("NllLossBackward0"));
    loss.backward();
    assert!(logits.grad().is_some());
    assert!(target.grad().is_none());
}

// ----- regression losses ----------------------------------------------------------------------

/// One regression loss: its function, its per-element formula in f64 and the kinks its
/// inputs must avoid.
struct RegressionCase {
    name: &'static str,
    loss: fn(&Tensor, &Tensor, Reduction) -> Tensor,
    formula: fn(f64) -> f64,
    kinks: Vec<f64>,
}

fn regression_losses() -> Vec<RegressionCase> {
    vec![
        RegressionCase { name: "mse", loss: F::mse_loss_with, formula: |d| d * d, kinks: vec![] },
        RegressionCase { name: "l1", loss: F::l1_loss_with, formula: f64::abs, kinks: vec![0.0] },
        RegressionCase {
            name: "smooth_l1 beta 0.5",
            loss: |x, t, r| F::smooth_l1_loss_with(x, t, SmoothL1Options { reduction: r, beta: 0.5 }),
            formula: |d| if d.abs() < 0.5 { 0.5 * d * d / 0.5 } else { d.abs() - 0.25 },
            kinks: vec![0.0, 0.5],
        },
        RegressionCase {
            name: "huber delta 1.5",
            loss: |x, t, r| F::huber_loss_with(x, t, HuberOptions { reduction: r, delta: 1.5 }),
            formula: |d| if d.abs() < 1.5 { 0.5 * d * d } else { 1.5 * (d.abs() - 0.75) },
            kinks: vec![1.5],
        },
    ]
}

#[test]
fn regression_losses_match_their_formula_and_differentiate_input_and_target() {
    let shape = [3, 5];
    let x = uniform(11, 15, -3.0, 3.0);
    let t = uniform(12, 15, -3.0, 3.0);
    for RegressionCase { name, loss: loss_fn, formula, kinks } in regression_losses() {
        // Keep every |d| at least 0.05 (50 gradcheck steps) away from the kinks.
        let t: Vec<f32> = x
            .iter()
            .zip(&t)
            .map(|(&x, &t)| {
                let d = (x - t) as f64;
                let near = kinks.iter().any(|&k| (d.abs() - k).abs() < 0.05);
                if near { t - 0.2 } else { t }
            })
            .collect();
        for reduction in REDUCTIONS {
            let loss = loss_fn(&tensor(&x, &shape), &tensor(&t, &shape), reduction);
            let per: Vec<f64> = x.iter().zip(&t).map(|(&x, &t)| formula(x as f64 - t as f64)).collect();
            assert_close(&loss, &reduce_ref(per, reduction, 15.0), &reduced_shape(&shape, reduction));
            gradcheck(|i| loss_fn(&i[0], &i[1], reduction), &[leaf(&x, &shape), leaf(&t, &shape)])
                .unwrap_or_else(|e| panic!("{name} {reduction}: {e}"));
        }
    }
}

#[test]
fn regression_losses_broadcast_as_pytorch_does() {
    // A (3, 1) prediction against a (3,) target: a (3, 3) loss, PyTorch's (warned) behaviour.
    let x = leaf(&[1.0, 2.0, 3.0], &[3, 1]);
    let t = leaf(&[0.5, -1.5, 4.5], &[3]);
    let loss = F::mse_loss_with(&x, &t, Reduction::None);
    assert_eq!(loss.shape(), &[3, 3]);
    assert_eq!(loss.to_vec()[1], (1.0f32 + 1.5).powi(2));
    gradcheck(|i| F::mse_loss(&i[0], &i[1]), &[x, t]).unwrap();
}

#[test]
fn smooth_l1_with_beta_zero_is_l1_and_huber_is_delta_times_smooth_l1() {
    let x = tensor(&uniform(13, 8, -3.0, 3.0), &[8]);
    let t = tensor(&uniform(14, 8, -3.0, 3.0), &[8]);
    let zero_beta = F::smooth_l1_loss_with(&x, &t, SmoothL1Options { beta: 0.0, ..Default::default() }).item();
    assert!((zero_beta - F::l1_loss(&x, &t).item()).abs() < 1e-6);
    let huber = F::huber_loss_with(&x, &t, HuberOptions { delta: 0.7, ..Default::default() }).item();
    let smooth = F::smooth_l1_loss_with(&x, &t, SmoothL1Options { beta: 0.7, ..Default::default() }).item();
    assert!((huber - 0.7 * smooth).abs() < 1e-6);
}

#[test]
fn l1_gradient_at_zero_difference_is_zero() {
    let x = leaf(&[1.0, 2.0], &[2]);
    F::l1_loss_with(&x, &tensor(&[1.0, 0.0], &[2]), Reduction::Sum).backward();
    assert_eq!(x.grad().unwrap().to_vec(), vec![0.0, 1.0]);
}

// ----- binary cross-entropies -----------------------------------------------------------------

#[test]
fn binary_cross_entropy_matches_its_formula_and_differentiates_input_and_target() {
    let shape = [3, 4];
    let p = uniform(21, 12, 0.1, 0.9);
    let t = uniform(22, 12, 0.0, 1.0);
    let row_weight = uniform(23, 4, 0.5, 2.0); // (4,) broadcast over the rows
    for weight in [None, Some(&row_weight)] {
        for reduction in REDUCTIONS {
            let options = BceOptions { weight: weight.map(|w| tensor(w, &[4])), reduction };
            let loss = F::binary_cross_entropy_with(&tensor(&p, &shape), &tensor(&t, &shape), &options);
            let per: Vec<f64> = (0..12)
                .map(|i| {
                    let (p, t) = (p[i] as f64, t[i] as f64);
                    -weight.map_or(1.0, |w| w[i % 4] as f64) * (t * p.ln() + (1.0 - t) * (1.0 - p).ln())
                })
                .collect();
            assert_close(&loss, &reduce_ref(per, reduction, 12.0), &reduced_shape(&shape, reduction));
            gradcheck(|i| F::binary_cross_entropy_with(&i[0], &i[1], &options), &[leaf(&p, &shape), leaf(&t, &shape)])
                .unwrap();
        }
    }
}

#[test]
fn binary_cross_entropy_with_logits_matches_sigmoid_then_bce_and_differentiates_both() {
    let shape = [3, 4];
    let x = uniform(31, 12, -4.0, 4.0);
    let t = uniform(32, 12, 0.0, 1.0);
    let weight = uniform(33, 12, 0.5, 2.0); // full shape
    let pos_weight = uniform(34, 4, 0.5, 3.0); // per class (last dim)
    for (use_weight, use_pos) in [(false, false), (true, false), (false, true), (true, true)] {
        for reduction in REDUCTIONS {
            let options = BceWithLogitsOptions {
                weight: use_weight.then(|| tensor(&weight, &shape)),
                pos_weight: use_pos.then(|| tensor(&pos_weight, &[4])),
                reduction,
            };
            let loss = F::binary_cross_entropy_with_logits_with(&tensor(&x, &shape), &tensor(&t, &shape), &options);
            // The naive definition: −w·(p·t·ln σ(x) + (1 − t)·ln(1 − σ(x))), in f64.
            let per: Vec<f64> = (0..12)
                .map(|i| {
                    let sigma = 1.0 / (1.0 + (-x[i] as f64).exp());
                    let w = if use_weight { weight[i] as f64 } else { 1.0 };
                    let p = if use_pos { pos_weight[i % 4] as f64 } else { 1.0 };
                    let t = t[i] as f64;
                    -w * (p * t * sigma.ln() + (1.0 - t) * (1.0 - sigma).ln())
                })
                .collect();
            assert_close(&loss, &reduce_ref(per, reduction, 12.0), &reduced_shape(&shape, reduction));
            let f = |i: &[Tensor]| F::binary_cross_entropy_with_logits_with(&i[0], &i[1], &options);
            gradcheck(f, &[leaf(&x, &shape), leaf(&t, &shape)]).unwrap();
        }
    }
}

// ----- finiteness ----------------------------------------------------------------------------

fn all_finite(t: &Tensor) -> bool {
    t.to_vec().iter().all(|v| v.is_finite())
}

#[test]
fn log_softmax_and_cross_entropy_stay_finite_for_logits_of_1e4() {
    let logits = leaf(&[1e4, -1e4, 0.0, -1e4, 1e4, 1e4], &[2, 3]);
    let log_probs = logits.log_softmax(1);
    assert!(all_finite(&log_probs));
    assert_eq!(log_probs.to_vec()[..3], [0.0, -2e4, -1e4]);
    let target = tensor(&[1.0, 2.0], &[2]);
    let options = CrossEntropyOptions { reduction: Reduction::None, ..Default::default() };
    let loss = F::cross_entropy_with(&logits, &target, &options);
    assert_eq!(loss.to_vec(), vec![2e4, 2f32.ln()]);
    loss.sum().backward();
    // softmax − one-hot: [1, −1, 0] and [0, ½, −½].
    let expected = [1.0, -1.0, 0.0, 0.0, 0.5, -0.5];
    assert_close(&logits.grad().unwrap(), &expected, &[2, 3]);

    let smoothed = CrossEntropyOptions { label_smoothing: 0.1, ..Default::default() };
    let logits = leaf(&[1e4, -1e4, 0.0], &[1, 3]);
    let loss = F::cross_entropy_with(&logits, &tensor(&[1.0], &[1]), &smoothed);
    assert!(loss.item().is_finite());
    loss.backward();
    assert!(all_finite(&logits.grad().unwrap()));
}

#[test]
fn bce_with_logits_stays_finite_and_exact_for_logits_of_1e4() {
    let x = leaf(&[1e4, 1e4, -1e4, -1e4, 1e4], &[5]);
    let t = leaf(&[0.0, 1.0, 0.0, 1.0, 0.25], &[5]);
    let loss = F::binary_cross_entropy_with_logits_with(
        &x,
        &t,
        &BceWithLogitsOptions { reduction: Reduction::None, ..Default::default() },
    );
    // Confidently wrong costs |x|; confidently right costs e^−|x| = 0 in f32.
    assert_eq!(loss.to_vec(), vec![1e4, 0.0, 0.0, 1e4, 0.75e4]);
    loss.sum().backward();
    // ∂/∂x = σ(x) − t; ∂/∂t = −x.
    assert_eq!(x.grad().unwrap().to_vec(), vec![1.0, 0.0, 0.0, -1.0, 0.75]);
    assert_eq!(t.grad().unwrap().to_vec(), vec![-1e4, -1e4, 1e4, 1e4, -1e4]);
}

#[test]
fn bce_clamps_its_logs_at_minus_100_near_0_and_1() {
    let p = leaf(&[0.0, 1.0, 1e-30, 0.0, 1.0], &[5]);
    let t = leaf(&[1.0, 0.0, 1.0, 0.0, 1.0], &[5]);
    let loss = F::binary_cross_entropy_with(&p, &t, &BceOptions { reduction: Reduction::None, ..Default::default() });
    assert_eq!(loss.to_vec(), vec![100.0, 100.0, -(1e-30f32).ln(), 0.0, 0.0]);
    loss.sum().backward();
    assert!(all_finite(&p.grad().unwrap()), "{:?}", p.grad());
    assert!(all_finite(&t.grad().unwrap()), "{:?}", t.grad());
    // ∂/∂t = max(ln(1 − p), −100) − max(ln p, −100): +100 at p = 0, −100 at p = 1.
    assert_eq!(t.grad().unwrap().to_vec()[..2], [100.0, -100.0]);
}
