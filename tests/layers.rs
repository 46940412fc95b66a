//! Pooling, batch normalisation and embedding: functional ops and modules.
//!
//! Expected values come from the definitions, written here as plain loops over the input
//! (independent of the crate's window tables), or from arithmetic done by hand in the
//! comments. Gradients are checked against central differences (`gradcheck`), on inputs
//! whose values are all distinct and at least 0.05 apart, so no max-pooling window has a
//! tie, even after the 1e-3 perturbation gradcheck applies.

use std::sync::Mutex;

use tapegrad::autograd::{GradcheckOptions, gradcheck, gradcheck_with};
use tapegrad::nn::functional as F;
use tapegrad::nn::{
    AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, Embedding, MaxPool1d, MaxPool2d, Module, TrainingFlag,
};
use tapegrad::{Error, Tensor, manual_seed};

// ----- inputs --------------------------------------------------------------------------------

/// Tests run in parallel and share the global generator; one lock keeps each test's draws
/// together, so every run sees the same numbers.
static RNG_LOCK: Mutex<()> = Mutex::new(());

fn seeded<R>(seed: u64, draw: impl FnOnce() -> R) -> R {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    manual_seed(seed);
    draw()
}

/// All-distinct values `0.05·(rank − n/2)` in random order: no ties anywhere.
fn distinct(seed: u64, shape: &[usize]) -> Tensor {
    let keys = seeded(seed, || Tensor::rand(shape)).to_vec();
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&i, &j| keys[i].total_cmp(&keys[j]));
    let mut values = vec![0.0; keys.len()];
    for (rank, &i) in order.iter().enumerate() {
        values[i] = 0.05 * (rank as f32 - keys.len() as f32 / 2.0);
    }
    Tensor::from_vec(values, shape).unwrap()
}

fn randn(seed: u64, shape: &[usize]) -> Tensor {
    seeded(seed, || Tensor::randn(shape))
}

fn assert_close(actual: &[f32], expected: &[f32], tol: f32) {
    assert_eq!(actual.len(), expected.len(), "lengths differ");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!((a - e).abs() <= tol * (1.0 + e.abs()), "element {i}: {a} vs {e}\n{actual:?}\n{expected:?}");
    }
}

/// Output length of a pooling along one dim, from the definition in real arithmetic: the
/// number of window starts `o·s − p` (the first at `−p`) whose window fits in the padded
/// input (floor), or that start inside the input or left padding (ceil).
fn naive_out_len(len: usize, k: usize, s: usize, p: usize, d: usize, ceil: bool) -> usize {
    let reach = (d * (k - 1) + 1) as f64;
    let steps = (len as f64 + 2.0 * p as f64 - reach) / s as f64;
    let mut out = if ceil { steps.ceil() } else { steps.floor() } as i64 + 1;
    if ceil && (out - 1) * s as i64 >= (len + p) as i64 {
        out -= 1;
    }
    out as usize
}

// ----- naive references ----------------------------------------------------------------------

/// A pooling configuration per dim (H, W): kernel, stride, padding, dilation, and ceil_mode.
#[derive(Clone, Copy)]
struct Pool {
    k: [usize; 2],
    s: [usize; 2],
    p: [usize; 2],
    d: [usize; 2],
    ceil: bool,
}

impl Pool {
    fn out(&self, hw: [usize; 2]) -> [usize; 2] {
        [0, 1].map(|i| naive_out_len(hw[i], self.k[i], self.s[i], self.p[i], self.d[i], self.ceil))
    }
}

/// Every (plane, oh, ow) output position, row-major.
fn positions(planes: usize, out: [usize; 2]) -> impl Iterator<Item = (usize, usize, usize)> {
    (0..planes).flat_map(move |c| (0..out[0]).flat_map(move |h| (0..out[1]).map(move |w| (c, h, w))))
}

/// Max pooling of (planes, H, W) by brute force: every window element is visited, the
/// padding is −∞, the first maximum wins. Returns the values and the flat indices.
fn naive_max_pool(x: &[f32], hw: [usize; 2], cfg: Pool) -> (Vec<f32>, Vec<i64>) {
    let Pool { k, s, p, d, .. } = cfg;
    let planes = x.len() / (hw[0] * hw[1]);
    positions(planes, cfg.out(hw))
        .map(|(plane, oh, ow)| {
            let mut best = (f32::NEG_INFINITY, -1i64);
            for (i, j) in (0..k[0]).flat_map(|i| (0..k[1]).map(move |j| (i, j))) {
                let h = (oh * s[0] + i * d[0]) as i64 - p[0] as i64;
                let w = (ow * s[1] + j * d[1]) as i64 - p[1] as i64;
                if h >= 0 && w >= 0 && h < hw[0] as i64 && w < hw[1] as i64 {
                    let v = x[plane * hw[0] * hw[1] + h as usize * hw[1] + w as usize];
                    if best.1 < 0 || v > best.0 {
                        best = (v, h * hw[1] as i64 + w);
                    }
                }
            }
            best
        })
        .unzip()
}

/// Average pooling of (planes, H, W) by the README's rule, element by element.
fn naive_avg_pool(x: &[f32], hw: [usize; 2], cfg: Pool, include_pad: bool, divisor: Option<i64>) -> Vec<f32> {
    let (k, s, p) = (cfg.k[0] as i64, cfg.s[0], cfg.p[0]);
    let planes = x.len() / (hw[0] * hw[1]);
    positions(planes, cfg.out(hw))
        .map(|(plane, oh, ow)| {
            let (hs, ws) = ((oh * s) as i64 - p as i64, (ow * s) as i64 - p as i64);
            let (he, we) = ((hs + k).min((hw[0] + p) as i64), (ws + k).min((hw[1] + p) as i64));
            let (mut sum, mut real) = (0.0f32, 0usize);
            for (h, w) in (hs..he).flat_map(|h| (ws..we).map(move |w| (h, w))) {
                if h >= 0 && w >= 0 && h < hw[0] as i64 && w < hw[1] as i64 {
                    sum += x[plane * hw[0] * hw[1] + h as usize * hw[1] + w as usize];
                    real += 1;
                }
            }
            let count = if include_pad { ((he - hs) * (we - ws)) as f32 } else { real as f32 };
            sum / divisor.map(|d| d as f32).unwrap_or(count)
        })
        .collect()
}

/// Adaptive average pooling of (planes, H, W): window i along a dim of length L with Out
/// outputs is [floor(i·L/Out), ceil((i+1)·L/Out)), computed in real arithmetic.
fn naive_adaptive(x: &[f32], hw: [usize; 2], out: [usize; 2]) -> Vec<f32> {
    let window = |i: usize, len: usize, n: usize| {
        ((i * len) as f64 / n as f64).floor() as usize..(((i + 1) * len) as f64 / n as f64).ceil() as usize
    };
    positions(x.len() / (hw[0] * hw[1]), out)
        .map(|(plane, oh, ow)| {
            let (rows, cols) = (window(oh, hw[0], out[0]), window(ow, hw[1], out[1]));
            let count = (rows.len() * cols.len()) as f32;
            let at = |(h, w): (usize, usize)| x[plane * hw[0] * hw[1] + h * hw[1] + w];
            rows.flat_map(|h| cols.clone().map(move |w| (h, w))).map(at).sum::<f32>() / count
        })
        .collect()
}

// ----- max pooling ---------------------------------------------------------------------------

#[test]
fn max_pool2d_matches_the_naive_loop_with_indices_on_awkward_configurations() {
    // (H, W), kernel, stride, padding, dilation, ceil_mode
    let configs = [
        ([7, 9], [3, 2], [2, 3], [1, 1], [1, 1], false),
        ([7, 9], [3, 3], [2, 2], [1, 0], [2, 1], true),
        ([5, 5], [2, 2], [2, 2], [1, 1], [1, 1], true), // ceil drops the window in the padding
        ([6, 5], [4, 3], [1, 2], [2, 1], [1, 2], false),
        ([8, 3], [2, 3], [3, 1], [0, 1], [3, 1], true),
    ];
    for (i, (hw, k, s, p, d, ceil)) in configs.into_iter().enumerate() {
        let x = distinct(100 + i as u64, &[2, 3, hw[0], hw[1]]);
        let (y, indices) = F::max_pool2d_with_indices(&x, k, s, p, d, ceil);
        let cfg = Pool { k, s, p, d, ceil };
        let (values, naive_indices) = naive_max_pool(&x.to_vec(), hw, cfg);
        let out = cfg.out(hw);
        assert_eq!(y.shape(), &[2, 3, out[0], out[1]], "config {i}");
        assert_eq!(y.to_vec(), values, "config {i}");
        assert_eq!(indices.shape(), y.shape());
        assert_eq!(indices.into_raw_vec_and_offset().0, naive_indices, "config {i}");
    }
}

#[test]
fn ceil_mode_drops_a_last_window_that_starts_in_the_right_padding() {
    // L = 5, k = 2, s = 2, p = 1: ceil((5 + 2 − 2)/2) + 1 = 4 windows would start at −1, 1, 3
    // and 5; the last starts in the right padding (5 ≥ L), so there are 3.
    let y = F::max_pool2d(&Tensor::zeros(&[1, 5, 5]), 2, 2, 1, 1, true);
    assert_eq!(y.shape(), &[1, 3, 3]);
    // Without padding the 3rd window starts at 4 < 5 and is kept: ceil((5 − 2)/2) + 1 = 3.
    assert_eq!(F::max_pool2d(&Tensor::zeros(&[1, 5, 5]), 2, 2, 0, 1, true).shape(), &[1, 3, 3]);
    assert_eq!(F::max_pool2d(&Tensor::zeros(&[1, 5, 5]), 2, 2, 0, 1, false).shape(), &[1, 2, 2]);
}

#[test]
fn max_pool_stride_defaults_to_the_kernel_and_unbatched_matches_batched() {
    let x = distinct(7, &[3, 6, 8]);
    let unbatched = F::max_pool2d(&x, [3, 2], None, 0, 1, false);
    assert_eq!(unbatched.shape(), &[3, 2, 4]);
    assert_eq!(unbatched.to_vec(), F::max_pool2d(&x, [3, 2], [3, 2], 0, 1, false).to_vec());
    let batched = F::max_pool2d(&x.unsqueeze(0), [3, 2], None, 0, 1, false);
    assert_eq!(batched.shape(), &[1, 3, 2, 4]);
    assert_eq!(batched.to_vec(), unbatched.to_vec());
}

#[test]
fn max_pool_2x2_with_ties_and_infinities_matches_the_naive_loop() {
    // Small integers make ties common; −∞ tests the start of each window. Floor mode uses
    // the 2×2 kernel (every window whole), ceil mode on odd sizes the general one.
    let values: Vec<f32> = seeded(3, || Tensor::rand(&[2, 3, 7, 9]))
        .to_vec()
        .iter()
        .map(|&u| if u < 0.1 { f32::NEG_INFINITY } else { (u * 4.0).floor() })
        .collect();
    let x = Tensor::from_vec(values.clone(), &[2, 3, 7, 9]).unwrap();
    for ceil in [false, true] {
        let (y, indices) = F::max_pool2d_with_indices(&x, 2, None, 0, 1, ceil);
        let cfg = Pool { k: [2, 2], s: [2, 2], p: [0, 0], d: [1, 1], ceil };
        let (want, want_indices) = naive_max_pool(&values, [7, 9], cfg);
        assert_eq!(y.shape()[2..], cfg.out([7, 9]));
        assert_eq!(y.to_vec(), want, "ceil {ceil}");
        assert_eq!(indices.into_raw_vec_and_offset().0, want_indices, "ceil {ceil}");
    }
}

#[test]
fn max_pool1d_matches_the_naive_loop() {
    let x = distinct(8, &[2, 3, 11]);
    let (y, indices) = F::max_pool1d_with_indices(&x, 3, 2, 1, 2, true);
    let cfg = Pool { k: [1, 3], s: [1, 2], p: [0, 1], d: [1, 2], ceil: true };
    let (values, naive_indices) = naive_max_pool(&x.to_vec(), [1, 11], cfg);
    let out = cfg.out([1, 11]);
    assert_eq!(y.shape(), &[2, 3, out[1]]);
    assert_eq!(y.to_vec(), values);
    assert_eq!(indices.into_raw_vec_and_offset().0, naive_indices);
    // Unbatched (C, L) and the module.
    let pool = MaxPool1d::builder(3).stride(2).padding(1).dilation(2).ceil_mode(true).build();
    assert_eq!(pool.forward(&x.narrow(0, 0, 1).squeeze_dim(0)).to_vec(), values[..3 * out[1]]);
}

#[test]
fn max_pool1d_accepts_an_empty_batch_but_not_an_empty_length() {
    // An empty batch is PyTorch's "optional 0 dim batch size": the output is empty too.
    let y = F::max_pool1d(&Tensor::zeros(&[0, 2, 5]).requires_grad_(true), 2, None, 1, 1, false);
    assert_eq!(y.shape(), &[0, 2, 3]);
    // An empty length with padding would give a window of padding only (found by fuzz_ops).
    for shape in [[0, 1, 0], [2, 1, 0], [2, 0, 4]] {
        let message = std::panic::catch_unwind(|| F::max_pool1d(&Tensor::zeros(&shape), 2, None, 1, 1, false))
            .map(|_| String::new())
            .unwrap_or_else(|e| e.downcast_ref::<String>().cloned().unwrap_or_default());
        assert!(
            message.contains("max_pool1d") && message.contains("optional 0 dim batch size"),
            "{shape:?}: {message}"
        );
    }
}

#[test]
fn max_pool_gradients_match_central_differences() {
    let x = distinct(1, &[2, 2, 7, 6]).requires_grad_(true);
    gradcheck(|t| F::max_pool2d(&t[0], 3, 2, 1, 1, false), std::slice::from_ref(&x)).unwrap();
    gradcheck(|t| F::max_pool2d(&t[0], [2, 3], [1, 2], [1, 0], [2, 1], true), std::slice::from_ref(&x)).unwrap();
    // Overlapping windows (stride 1) send several gradients to one element.
    gradcheck(|t| F::max_pool2d(&t[0], 3, 1, 0, 1, false), std::slice::from_ref(&x)).unwrap();
    let x1 = distinct(2, &[3, 10]).requires_grad_(true);
    gradcheck(|t| F::max_pool1d(&t[0], 4, 3, 2, 1, true), &[x1]).unwrap();
}

#[test]
fn max_pool_ties_go_to_the_first_element_of_the_window() {
    // PyTorch keeps the first maximum in row-major window order (`val > max`).
    let x = Tensor::ones(&[1, 4, 4]).requires_grad_(true);
    let (y, indices) = F::max_pool2d_with_indices(&x, 2, None, 0, 1, false);
    assert_eq!(indices.into_raw_vec_and_offset().0, vec![0, 2, 8, 10]);
    y.sum().backward();
    let mut expected = vec![0.0; 16];
    [0, 2, 8, 10].iter().for_each(|&i| expected[i] = 1.0);
    assert_eq!(x.grad().unwrap().to_vec(), expected);
    // NaN wins (`val > max || isnan(val)`), so the last NaN of a window is taken.
    let x = Tensor::from_vec(vec![1., f32::NAN, 5., f32::NAN, f32::NAN, 2., 9., 1.], &[2, 2, 2]).unwrap();
    let (y, indices) = F::max_pool2d_with_indices(&x, 2, None, 0, 1, false);
    assert!(y.to_vec().iter().all(|v| v.is_nan()));
    assert_eq!(indices.into_raw_vec_and_offset().0, vec![3, 0]);
}

// ----- average pooling -----------------------------------------------------------------------

#[test]
fn avg_pool2d_matches_the_naive_divisor_rule() {
    // kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
    let configs = [
        (2, 2, 0, false, true, None),
        (3, 2, 1, false, true, None),
        (3, 2, 1, false, false, None),
        (3, 2, 1, true, true, None), // windows hanging past the padding are clipped
        (3, 2, 1, true, false, None),
        (2, 3, 1, true, true, Some(3)),
        (4, 3, 2, true, false, Some(-2)),
    ];
    for (i, (k, s, p, ceil, include, divisor)) in configs.into_iter().enumerate() {
        let x = randn(200 + i as u64, &[2, 3, 5, 6]);
        let y = F::avg_pool2d(&x, k, s, p, ceil, include, divisor);
        let cfg = Pool { k: [k; 2], s: [s; 2], p: [p; 2], d: [1; 2], ceil };
        let (values, out) = (naive_avg_pool(&x.to_vec(), [5, 6], cfg, include, divisor), cfg.out([5, 6]));
        assert_eq!(y.shape(), &[2, 3, out[0], out[1]], "config {i}");
        assert_close(&y.to_vec(), &values, 1e-6);
    }
}

#[test]
fn avg_pool_gradients_match_central_differences() {
    let x = randn(3, &[2, 2, 5, 6]).requires_grad_(true);
    for (k, s, p, ceil, include, divisor) in
        [(3, 2, 1, true, true, None), (3, 2, 1, true, false, None), (2, 1, 1, false, true, Some(3))]
    {
        gradcheck(|t| F::avg_pool2d(&t[0], k, s, p, ceil, include, divisor), std::slice::from_ref(&x)).unwrap();
    }
}

#[test]
fn adaptive_avg_pool2d_matches_the_naive_windows() {
    for (hw, out) in [([4, 6], [2, 2]), ([5, 7], [3, 2]), ([3, 4], [1, 1]), ([2, 3], [3, 4]), ([7, 5], [7, 5])] {
        let x = randn(9, &[2, 3, hw[0], hw[1]]);
        let y = F::adaptive_avg_pool2d(&x, out);
        assert_eq!(y.shape(), &[2, 3, out[0], out[1]]);
        assert_close(&y.to_vec(), &naive_adaptive(&x.to_vec(), hw, out), 1e-6);
    }
    // An int means a square output; unbatched input keeps its rank.
    assert_eq!(F::adaptive_avg_pool2d(&Tensor::ones(&[3, 9, 9]), 4).shape(), &[3, 4, 4]);
}

#[test]
fn adaptive_avg_pool_gradients_match_central_differences() {
    let x = randn(4, &[2, 2, 5, 7]).requires_grad_(true);
    for out in [[3, 2], [2, 4], [1, 1], [6, 9]] {
        gradcheck(|t| F::adaptive_avg_pool2d(&t[0], out), std::slice::from_ref(&x)).unwrap();
    }
}

#[test]
fn pooling_modules_mirror_pytorch_defaults_and_reprs() {
    let pool = MaxPool2d::new([2, 3]);
    assert_eq!(
        (pool.stride(), pool.padding(), pool.dilation(), pool.ceil_mode()),
        (&[2i64, 3][..], &[0i64][..], &[1i64][..], false)
    );
    assert_eq!(
        format!("{pool:?}"),
        "MaxPool2d(kernel_size=(2, 3), stride=(2, 3), padding=0, dilation=1, ceil_mode=False)"
    );
    let avg = AvgPool2d::builder(3).stride(1).divisor_override(2).build();
    assert_eq!((avg.stride(), avg.count_include_pad(), avg.divisor_override()), (&[1i64][..], true, Some(2)));
    assert_eq!(format!("{avg:?}"), "AvgPool2d(kernel_size=3, stride=1, padding=0)");
    let x = randn(5, &[2, 3, 6, 6]);
    assert_eq!(avg.forward(&x).to_vec(), F::avg_pool2d(&x, 3, 1, 0, false, true, Some(2)).to_vec());
    let adaptive = AdaptiveAvgPool2d::new(2);
    assert_eq!(adaptive.forward(&x).to_vec(), F::adaptive_avg_pool2d(&x, [2, 2]).to_vec());
    assert!(pool.parameters().is_empty() && adaptive.named_buffers().is_empty());
    pool.eval();
    assert!(!pool.is_training());
}

// ----- errors ------------------------------------------------------------------------------

/// The message of the panic `f` raises.
fn panic_message(f: &dyn Fn()) -> String {
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("expected a panic");
    payload.downcast_ref::<String>().cloned().unwrap_or_else(|| payload.downcast_ref::<&str>().unwrap().to_string())
}

/// `message` is PyTorch's text `expected`, followed by the shapes involved unless the text
/// already shows the input's shape: "(input of shape [2, 3])".
fn assert_pytorch_text(message: &str, expected: &str) {
    let with_shapes =
        message.strip_prefix(expected).is_some_and(|rest| rest.is_empty() || rest.starts_with(" (input of shape ["));
    assert!(with_shapes, "{message:?} is not {expected:?} followed by the shapes");
}

#[test]
fn pooling_errors_carry_pytorchs_messages() {
    let (x, x3) = (Tensor::zeros(&[1, 1, 8, 8]), Tensor::zeros(&[2, 3, 3]));
    let cases: [(&dyn Fn(), &str); 7] = [
        (
            &|| drop(F::max_pool2d(&x, 3, None, 2, 1, false)),
            "max_pool2d: pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1",
        ),
        (
            &|| drop(MaxPool1d::builder(3).padding(2).build().forward(&x3)),
            "max_pool1d() padding should be at most half of kernel size, but got padding=2 and kernel_size=3",
        ),
        (
            &|| drop(MaxPool2d::new([2, 2, 2]).forward(&x)),
            "max_pool2d: kernel_size must either be a single int, or a tuple of two ints",
        ),
        (
            &|| drop(F::max_pool2d(&Tensor::zeros(&[8, 8]), 2, None, 0, 1, false)),
            "max_pool2d: non-empty 3D or 4D (batch mode) tensor expected for input",
        ),
        (
            &|| drop(F::max_pool2d(&x3, 4, None, 0, 1, false)),
            "max_pool2d: Given input size: (2x3x3). Calculated output size: (2x0x0). Output size is too small",
        ),
        (&|| drop(F::avg_pool2d(&x3, 2, None, 0, false, true, Some(0))), "avg_pool2d: divisor must be not zero"),
        (
            &|| drop(F::adaptive_avg_pool2d(&Tensor::zeros(&[4, 4]), 2)),
            "adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got [4, 4]",
        ),
    ];
    for (f, expected) in cases {
        assert_pytorch_text(&panic_message(f), expected);
    }
}

// ----- batch norm ----------------------------------------------------------------------------

/// Per-channel mean and biased / unbiased variance of an (N, C, S) buffer, in f64.
fn naive_stats(x: &[f32], shape: &[usize]) -> Vec<(f64, f64, f64)> {
    let (n, c) = (shape[0], shape[1]);
    let s: usize = shape[2..].iter().product();
    (0..c)
        .map(|ch| {
            let values: Vec<f64> =
                (0..n).flat_map(|b| (0..s).map(move |i| (b, i))).map(|(b, i)| x[(b * c + ch) * s + i] as f64).collect();
            let count = values.len() as f64;
            let mean = values.iter().sum::<f64>() / count;
            let squares: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
            (mean, squares / count, squares / (count - 1.0))
        })
        .collect()
}

#[test]
fn batch_norm_train_output_and_running_stats_match_a_naive_computation() {
    let shape = [4, 3, 2, 5];
    let x = randn(11, &shape);
    let (w, b) = (randn(12, &[3]), randn(13, &[3]));
    let (rm, rv) = (randn(14, &[3]), Tensor::full(&[3], 2.0));
    let (rm0, rv0) = (rm.to_vec(), rv.to_vec());
    let y = F::batch_norm(&x, Some(&rm), Some(&rv), Some(&w), Some(&b), true, 0.3, 1e-5);
    let stats = naive_stats(&x.to_vec(), &shape);
    let (xs, ws, bs) = (x.to_vec(), w.to_vec(), b.to_vec());
    let expected: Vec<f32> = (0..xs.len())
        .map(|i| {
            let c = (i / 10) % 3;
            let (mean, var, _) = stats[c];
            ((xs[i] as f64 - mean) / (var + 1e-5).sqrt() * ws[c] as f64 + bs[c] as f64) as f32
        })
        .collect();
    assert_close(&y.to_vec(), &expected, 1e-5);
    for c in 0..3 {
        let (mean, _, unbiased) = stats[c];
        assert!((rm.to_vec()[c] as f64 - (0.7 * rm0[c] as f64 + 0.3 * mean)).abs() < 1e-6);
        assert!((rv.to_vec()[c] as f64 - (0.7 * rv0[c] as f64 + 0.3 * unbiased)).abs() < 1e-5);
    }
}

#[test]
fn batch_norm_gradients_match_central_differences_in_train_and_eval_mode() {
    let x = randn(21, &[4, 3, 5]).requires_grad_(true);
    let w = randn(22, &[3]).requires_grad_(true);
    let b = randn(23, &[3]).requires_grad_(true);
    let (rm, rv) = (randn(24, &[3]), Tensor::from_vec(vec![0.5, 1.5, 3.0], &[3]).unwrap());
    let inputs = [x.clone(), w.clone(), b.clone()];
    let options = GradcheckOptions { eps: 1e-3, atol: 2e-3, rtol: 1e-2 };
    for training in [true, false] {
        gradcheck_with(
            |t| F::batch_norm(&t[0], Some(&rm), Some(&rv), Some(&t[1]), Some(&t[2]), training, 0.1, 1e-5),
            &inputs,
            options,
        )
        .unwrap_or_else(|e| panic!("training={training}: {e}"));
    }
    // Without affine parameters, and a 2-D input.
    let x2 = randn(25, &[6, 4]).requires_grad_(true);
    gradcheck_with(|t| F::batch_norm(&t[0], None, None, None, None, true, 0.1, 1e-5), &[x2], options).unwrap();
}

#[test]
fn batchnorm_defaults_are_pytorchs() {
    let bn = BatchNorm2d::new(3);
    assert_eq!(bn.weight.as_ref().unwrap().to_vec(), vec![1.0; 3]);
    assert_eq!(bn.bias.as_ref().unwrap().to_vec(), vec![0.0; 3]);
    assert_eq!(bn.running_mean.as_ref().unwrap().to_vec(), vec![0.0; 3]);
    assert_eq!(bn.running_var.as_ref().unwrap().to_vec(), vec![1.0; 3]);
    let count = bn.num_batches_tracked.as_ref().unwrap();
    assert_eq!((count.shape(), count.item()), (&[][..], 0.0));
    assert_eq!((bn.eps(), bn.momentum(), bn.affine(), bn.track_running_stats()), (1e-5, Some(0.1), true, true));
    assert!(bn.is_training() && bn.weight.as_ref().unwrap().requires_grad());
    let names: Vec<String> = bn.state_dict().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]);
    assert_eq!(format!("{bn:?}"), "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
}

/// A model with a BatchNorm child: `eval()` on the parent must reach it.
struct Net {
    bn: BatchNorm1d,
    training: TrainingFlag,
}

impl Module for Net {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.bn.forward(x)
    }
    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        vec![("bn".into(), &self.bn)]
    }
    fn train(&self, mode: bool) {
        self.training.set(mode);
        self.bn.train(mode);
    }
}

#[test]
fn train_eval_switching_changes_batchnorm_behaviour() {
    let net = Net { bn: BatchNorm1d::new(2), training: TrainingFlag::default() };
    let x = Tensor::from_vec(vec![1., -2., 3., 0., 5., 2.], &[3, 2]).unwrap(); // means 3, 0; unbiased vars 4, 4
    net.forward(&x);
    let (rm, rv) = (net.bn.running_mean.clone().unwrap(), net.bn.running_var.clone().unwrap());
    assert_close(&rm.to_vec(), &[0.3, 0.0], 1e-7);
    assert_close(&rv.to_vec(), &[0.9 + 0.4, 0.9 + 0.4], 1e-7);

    net.eval();
    assert!(!net.bn.is_training());
    let y = net.forward(&x);
    // eval: (x − running_mean) / √(running_var + eps), and no update
    let expected: Vec<f32> =
        x.to_vec().iter().enumerate().map(|(i, &v)| (v - [0.3, 0.0][i % 2]) / (1.3f32 + 1e-5).sqrt()).collect();
    assert_close(&y.to_vec(), &expected, 1e-6);
    assert_close(&rm.to_vec(), &[0.3, 0.0], 1e-7);
    assert_eq!(net.bn.num_batches_tracked.as_ref().unwrap().item(), 1.0);

    net.train(true);
    let y = net.forward(&x); // training again: batch statistics, and a second update
    assert_close(
        &y.to_vec()[..2],
        &[-(2.0f32 / (8.0f32 / 3.0 + 1e-5).sqrt()), -(2.0f32 / (8.0f32 / 3.0 + 1e-5).sqrt())],
        1e-6,
    );
    assert_close(&rm.to_vec(), &[0.9 * 0.3 + 0.3, 0.0], 1e-6);
    assert_eq!(net.bn.num_batches_tracked.as_ref().unwrap().item(), 2.0);
}

#[test]
fn momentum_none_is_a_cumulative_moving_average() {
    let bn = BatchNorm1d::builder(1).momentum(None).build();
    let batches = [vec![1.0, 3.0], vec![10.0, 14.0], vec![-4.0, 0.0]]; // means 2, 12, −2
    for batch in &batches {
        bn.forward(&Tensor::from_vec(batch.clone(), &[2, 1]).unwrap());
    }
    // factor 1/k at batch k: the running mean is the plain average of the batch means
    // (the initial 0 has weight 0 after the first batch).
    assert_close(&bn.running_mean.as_ref().unwrap().to_vec(), &[4.0], 1e-6);
    // unbiased variances 2, 8, 8 → average 6
    assert_close(&bn.running_var.as_ref().unwrap().to_vec(), &[6.0], 1e-6);
}

#[test]
fn without_running_stats_eval_uses_the_batch_statistics() {
    let bn = BatchNorm1d::builder(1).affine(false).track_running_stats(false).build();
    assert!(bn.named_buffers().is_empty() && bn.named_parameters().is_empty());
    bn.eval();
    let y = bn.forward(&Tensor::from_vec(vec![1.0, 3.0], &[2, 1]).unwrap());
    assert_close(&y.to_vec(), &[-1.0, 1.0], 1e-4);
}

#[test]
fn batchnorm_errors_carry_pytorchs_messages() {
    let (x2, x3) = (Tensor::zeros(&[2, 3]), Tensor::zeros(&[2, 3, 2]));
    let cases: [(&dyn Fn(), &str); 5] = [
        (
            &|| drop(BatchNorm1d::new(2).forward(&Tensor::zeros(&[2, 2, 2, 2]))),
            "BatchNorm1d: expected 2D or 3D input (got 4D input)",
        ),
        (&|| drop(BatchNorm2d::new(3).forward(&x3)), "BatchNorm2d: expected 4D input (got 3D input)"),
        (
            &|| drop(BatchNorm1d::new(3).forward(&Tensor::zeros(&[1, 3]))),
            "batch_norm: Expected more than 1 value per channel when training, got input size torch.Size([1, 3])",
        ),
        (
            &|| {
                drop(F::batch_norm(
                    &x2,
                    Some(&Tensor::zeros(&[4])),
                    Some(&Tensor::ones(&[3])),
                    None,
                    None,
                    false,
                    0.1,
                    1e-5,
                ))
            },
            "batch_norm: running_mean should contain 3 elements not 4",
        ),
        (
            &|| drop(F::batch_norm(&x2, None, None, None, None, false, 0.1, 1e-5)),
            "batch_norm: running_mean must be defined in evaluation mode",
        ),
    ];
    for (f, expected) in cases {
        assert_pytorch_text(&panic_message(f), expected);
    }
}

// ----- embedding -----------------------------------------------------------------------------

fn ids(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).unwrap()
}

#[test]
fn embedding_looks_up_rows_and_scatter_adds_gradients() {
    let weight = randn(31, &[5, 3]).requires_grad_(true);
    let index = ids(&[4., 0., 4., 2., 4., 1.], &[2, 3]);
    let out = F::embedding(&index, &weight, None);
    assert_eq!(out.shape(), &[2, 3, 3]);
    let table = weight.to_vec();
    let expected: Vec<f32> = [4, 0, 4, 2, 4, 1].iter().flat_map(|&r| table[r * 3..r * 3 + 3].to_vec()).collect();
    assert_eq!(out.to_vec(), expected);
    gradcheck(|t| F::embedding(&index, &t[0], None), std::slice::from_ref(&weight)).unwrap();
    // 0-d indices give a single row.
    assert_eq!(F::embedding(&Tensor::scalar(2.0), &weight, None).to_vec(), table[6..9]);
}

#[test]
fn embedding_padding_row_is_read_but_never_gets_a_gradient() {
    let weight = Tensor::ones(&[4, 2]).requires_grad_(true);
    let index = ids(&[3., 1., 3., 0.], &[4]);
    let out = F::embedding(&index, &weight, Some(-1)); // padding_idx = 3
    assert_eq!(out.to_vec(), vec![1.0; 8]); // not zeroed in the forward pass
    let grad_out = Tensor::from_vec((1..=8).map(|v| v as f32).collect(), &[4, 2]).unwrap();
    out.backward_with(&grad_out);
    // row 1 ← position 1 (3, 4); row 0 ← position 3 (7, 8); row 3 (padding) gets nothing
    assert_eq!(weight.grad().unwrap().to_vec(), vec![7., 8., 3., 4., 0., 0., 0., 0.]);
}

#[test]
fn embedding_default_init_is_standard_normal_with_the_padding_row_zeroed() {
    let emb = seeded(41, || Embedding::new(1000, 64, Some(-3)).unwrap());
    assert_eq!(emb.padding_idx(), Some(997));
    let rows = emb.weight.to_array();
    assert!(rows.index_axis(ndarray::Axis(0), 997).iter().all(|&v| v == 0.0));
    assert!(emb.weight.requires_grad());
    let values: Vec<f64> = rows.iter().enumerate().filter(|(i, _)| i / 64 != 997).map(|(_, &v)| v as f64).collect();
    let n = values.len() as f64; // 63,936 draws
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    // For N(0, 1), the sample mean has standard error 1/√n ≈ 0.0040 and the sample std
    // 1/√(2n) ≈ 0.0028; 5 standard errors (0.02 and 0.014) fail a wrong distribution
    // (U(0, 1), N(0, 0.9²)), and a correct one with probability < 2·10⁻⁶ (the seed is fixed anyway).
    assert!(mean.abs() < 0.02, "mean {mean}");
    assert!((std - 1.0).abs() < 0.014, "std {std}");
}

#[test]
fn embedding_module_forward_and_errors() {
    let emb = Embedding::new(6, 2, None).unwrap();
    assert_eq!((emb.num_embeddings(), emb.embedding_dim(), emb.padding_idx()), (6, 2, None));
    assert_eq!(format!("{emb:?}"), "Embedding(6, 2)");
    let table = emb.weight.to_vec();
    assert_eq!(emb.forward(&ids(&[5.], &[1])).to_vec(), table[10..12]);
    let err = Embedding::new(6, 2, Some(6)).unwrap_err();
    assert_eq!(err, Error::Value("Padding_idx must be within num_embeddings".into()));
    assert!(Embedding::new(6, 2, Some(-7)).is_err() && Embedding::new(6, 2, Some(-6)).is_ok());

    let out_of_range = panic_message(&|| drop(emb.forward(&ids(&[1., 6.], &[2]))));
    assert!(out_of_range.starts_with("embedding: index out of range in self"), "{out_of_range}");
    let table = Tensor::zeros(&[3, 2]);
    let bad_padding = panic_message(&|| drop(F::embedding(&ids(&[0.], &[1]), &table, Some(3))));
    assert_pytorch_text(&bad_padding, "embedding: Padding_idx must be within num_embeddings");
    let fractional = panic_message(&|| drop(F::embedding(&ids(&[0.5], &[1]), &table, None)));
    assert!(fractional.starts_with("embedding: indices must hold whole numbers"), "{fractional}");
}
