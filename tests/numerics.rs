//! Numerical robustness at extreme logits (±1e4): log_softmax, softmax, cross_entropy, the
//! BCE losses, and the gradients of sigmoid and tanh stay finite and agree with the maths.
//!
//! Expected values are worked out by hand in the comments: with logits this far apart,
//! `logsumexp(x) = max(x)` to f32 precision, `sigmoid(±1e4)` is 1 or 0 exactly, and every
//! loss is a small integer multiple of 1e4 or 0.

use tapegrad::Tensor;
use tapegrad::nn::functional as F;

const BIG: f32 = 1e4;

fn leaf(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).unwrap().requires_grad_(true)
}

fn assert_close(what: &str, got: &[f32], want: &[f32], tolerance: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(g.is_finite(), "{what}[{i}] = {g} is not finite");
        assert!((g - w).abs() <= tolerance * (1.0 + w.abs()), "{what}[{i}] = {g}, expected {w}");
    }
}

fn grad(t: &Tensor) -> Vec<f32> {
    t.grad().expect("a gradient").to_vec()
}

#[test]
fn log_softmax_and_softmax_of_extreme_logits_are_exact_and_finite() {
    // Row 0: max 1e4, so log_softmax = x − 1e4 = [0, −2e4, −1e4].
    // Row 1: max 0 with e^0 + e^0: log_softmax = x − ln 2 on the two zeros, −1e4 − ln 2.
    let x = leaf(&[BIG, -BIG, 0.0, 0.0, -BIG, 0.0], &[2, 3]);
    let out = x.log_softmax(1);
    let ln2 = std::f32::consts::LN_2;
    assert_close("log_softmax", &out.to_vec(), &[0.0, -2.0 * BIG, -BIG, -ln2, -BIG - ln2, -ln2], 1e-6);
    // d/dx Σ log_softmax(x) = 1 − n·softmax(x): [1 − 3, 1, 1] and [1 − 1.5, 1, 1 − 1.5].
    out.sum().backward();
    assert_close("log_softmax grad", &grad(&x), &[-2.0, 1.0, 1.0, -0.5, 1.0, -0.5], 1e-6);

    let probabilities = Tensor::from_vec(vec![BIG, -BIG, 0.0, -BIG], &[2, 2]).unwrap().softmax(-1);
    assert_close("softmax", &probabilities.to_vec(), &[1.0, 0.0, 1.0, 0.0], 1e-6);
}

#[test]
fn cross_entropy_of_extreme_logits_is_finite_with_exact_gradients() {
    // Sample 0 picks the class with logit −1e4 against one of 1e4: loss 2e4.
    // Sample 1 picks the class with logit 1e4: loss 0. Mean 1e4.
    let x = leaf(&[BIG, -BIG, -BIG, BIG], &[2, 2]);
    let y = Tensor::from_vec(vec![1.0, 1.0], &[2]).unwrap();
    let loss = F::cross_entropy(&x, &y);
    assert_close("cross_entropy", &[loss.item()], &[BIG], 1e-6);
    // (softmax − one_hot) / N: [[1 − 0, 0 − 1], [0, 1 − 1]] / 2.
    loss.backward();
    assert_close("cross_entropy grad", &grad(&x), &[0.5, -0.5, 0.0, 0.0], 1e-6);

    // Label smoothing 0.1 with 2 classes: target weights 0.05 / 0.95 on log-probabilities
    // [0, −2e4] (sample 0, class 1) and [−2e4, 0] (sample 1): losses 0.95·2e4 and 0.05·2e4.
    let smoothed =
        F::cross_entropy_with(&x.detach(), &y, &F::CrossEntropyOptions { label_smoothing: 0.1, ..Default::default() });
    assert_close("smoothed cross_entropy", &[smoothed.item()], &[(0.95 + 0.05) * 2.0 * BIG / 2.0], 1e-5);
}

#[test]
fn bce_with_logits_of_extreme_logits_is_finite_with_exact_gradients() {
    // ℓ(x, t) = max(x, 0) − x·t + ln(1 + e^−|x|): for |x| = 1e4 the log term is 0, so
    // ℓ(1e4, 0) = 1e4, ℓ(1e4, 1) = 0, ℓ(−1e4, 0) = 0, ℓ(−1e4, 1) = 1e4. Mean 5e3.
    let x = leaf(&[BIG, BIG, -BIG, -BIG], &[4]);
    let t = Tensor::from_vec(vec![0.0, 1.0, 0.0, 1.0], &[4]).unwrap();
    let loss = F::binary_cross_entropy_with_logits(&x, &t);
    assert_close("bce_with_logits", &[loss.item()], &[BIG / 2.0], 1e-6);
    // dℓ/dx = (sigmoid(x) − t) / 4 = [1, 0, 0, −1] / 4.
    loss.backward();
    assert_close("bce_with_logits grad", &grad(&x), &[0.25, 0.0, 0.0, -0.25], 1e-6);
}

#[test]
fn bce_of_saturated_sigmoids_is_finite() {
    // sigmoid(±1e4) is exactly 1 or 0 in f32; BCE clamps each log at −100 (as PyTorch):
    // ℓ(1, 0) = ℓ(0, 1) = 100, ℓ(1, 1) = ℓ(0, 0) = 0. Mean 50.
    let logits = leaf(&[BIG, BIG, -BIG, -BIG], &[4]);
    let p = logits.sigmoid();
    assert_eq!(p.to_vec(), vec![1.0, 1.0, 0.0, 0.0]);
    let t = Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0], &[4]).unwrap();
    let loss = F::binary_cross_entropy(&p, &t);
    assert_close("bce", &[loss.item()], &[50.0], 1e-6);
    // The gradient reaching the logits is finite (sigmoid' is 0 there, and 0·finite = 0).
    loss.backward();
    for g in grad(&logits) {
        assert!(g.is_finite(), "bce grad through sigmoid: {g}");
    }
}

#[test]
fn sigmoid_and_tanh_gradients_are_finite_and_exact() {
    // sigmoid'(x) = s(1 − s): 0.25 at 0, e^−100·… ≈ 3.7e−44 at ±100 (a subnormal), 0 at ±1e4.
    // tanh'(x) = 1 − tanh²: 1 at 0, 0 at ±100 and ±1e4.
    let values = [-BIG, -100.0, -1.0, 0.0, 1.0, 100.0, BIG];
    let x = leaf(&values, &[7]);
    x.sigmoid().sum().backward();
    let s1 = 1.0 / (1.0 + (-1.0f64).exp());
    let sigmoid_grad = [0.0, 0.0, s1 * (1.0 - s1), 0.25, s1 * (1.0 - s1), 0.0, 0.0].map(|v| v as f32);
    assert_close("sigmoid grad", &grad(&x), &sigmoid_grad, 1e-6);

    let x = leaf(&values, &[7]);
    x.tanh().sum().backward();
    let t1 = 1.0f64.tanh();
    let tanh_grad = [0.0, 0.0, 1.0 - t1 * t1, 1.0, 1.0 - t1 * t1, 0.0, 0.0].map(|v| v as f32);
    assert_close("tanh grad", &grad(&x), &tanh_grad, 1e-6);
    let forward = x.tanh().to_vec();
    assert_eq!((forward[0], forward[6]), (-1.0, 1.0));
}
