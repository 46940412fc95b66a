//! Ops on random shape combinations either give a result or panic with a planned message:
//! one that starts with the op's name (`"matmul: "`) and mentions the shapes involved (or,
//! for a bad dim argument, the valid range of dims). Anything else (an index out of bounds,
//! an arithmetic overflow, an `unwrap` or `expect` on a broken assumption, ndarray's own
//! messages) is a failure, reported with the op, the shapes and the message. A result is
//! then differentiated: `backward()` must never panic.
//!
//! Sizes are small (0 to 5) so that every case is cheap; integer arguments are small or
//! huge (±2⁶², `i64::MAX`, `i64::MIN`), never in between: a valid result of a huge but
//! representable size would be an allocation failure, which Rust reports by aborting.
//!
//! Case counts are in the test names.

mod common;

use common::{Rng, catch_quietly};
use proptest::prelude::*;
use tapegrad::Tensor;
use tapegrad::nn::functional::{self as F, BceWithLogitsOptions, CrossEntropyOptions, PadMode};

// ----- the judge -----------------------------------------------------------------------------------

/// A random leaf of `shape` that requires grad, values in `[-1, 1)` from `seed`.
fn leaf(shape: &[usize], seed: u64) -> Tensor {
    let numel = shape.iter().product();
    Tensor::from_vec(Rng(seed).values(numel), shape).unwrap().requires_grad_(true)
}

/// PyTorch's texts for a convolution's bad arguments, kept verbatim (the tutorial teaches
/// them): they name the argument and its value, or the padded sizes, not the shapes.
const CONV_ARGUMENT_ERRORS: [&str; 7] = [
    "Calculated padded input size per channel: (",
    "Invalid padding string: '",
    "should be greater than zero",
    "to match the convolution dimensions, but got ",
    "is not supported",
    "overflow the sizes of input [",
    "the output: ",
];

/// Whether a panic message is planned: it starts with one of `ops` and a colon (or `()`), and
/// mentions one of `shapes` as `[a, b]`. Some messages name something else instead: a bad
/// dim argument names the valid range of dims ("Dimension out of range", a repeated dim), a
/// bad index *value* in a class or embedding index tensor names the value, and a
/// convolution's bad argument is PyTorch's text ([`CONV_ARGUMENT_ERRORS`]).
fn planned(message: &str, ops: &[&str], shapes: &[Vec<usize>]) -> bool {
    // PyTorch's own texts sometimes start with the call instead: "max_pool1d() ...".
    let named = ops.iter().any(|op| message.starts_with(&format!("{op}: ")) || message.starts_with(&format!("{op}()")));
    let shaped = shapes.iter().any(|s| message.contains(&format!("{s:?}")))
        || message.contains("Dimension out of range (expected to be in range of")
        || message.contains("appears multiple times in the list of dims")
        || ["is out of bounds.", "index out of range in self", "must hold whole numbers", "must hold integer values"]
            .iter()
            .any(|value_error| message.contains(value_error))
        || (ops[0].starts_with("conv") && CONV_ARGUMENT_ERRORS.iter().any(|text| message.contains(text)));
    named && shaped
}

/// Runs `forward`; a panic must be planned. A result is summed and differentiated, which
/// must not panic at all.
///
/// With `TAPEGRAD_FUZZ_SURVEY=1` in the environment, failures are printed (once per kind
/// of message) instead of failing the test, to survey them all in one run.
fn check(ops: &[&str], shapes: &[Vec<usize>], args: &str, forward: impl FnOnce() -> Tensor) {
    let context = || format!("op {:?} on shapes {shapes:?} with {args}", ops[0]);
    let failure = match catch_quietly(forward) {
        Ok(out) if out.requires_grad() => {
            catch_quietly(|| out.sum().backward()).err().map(|m| format!("{}: backward panicked: {m}", context()))
        }
        Ok(_) => None,
        Err(m) if planned(&m, ops, shapes) => None,
        Err(m) => Some(format!("{}: unplanned panic: {m}", context())),
    };
    if let Some(failure) = failure {
        survey_or_fail(ops[0], &failure);
    }
}

fn survey_or_fail(op: &str, failure: &str) {
    static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    if std::env::var_os("TAPEGRAD_FUZZ_SURVEY").is_none() {
        panic!("{failure}");
    }
    // One report per op and message shape (digits erased).
    let kind: String =
        format!("{op} {}", failure.rsplit(": ").next().unwrap_or("")).chars().filter(|c| !c.is_ascii_digit()).collect();
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if !seen.contains(&kind) {
        seen.push(kind);
        eprintln!("SURVEY {failure}");
    }
}

// ----- strategies ----------------------------------------------------------------------------------

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![6 => 1usize..4, 1 => Just(0usize), 1 => Just(5usize)]
}

fn shape(max_rank: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(size(), 0..=max_rank)
}

/// A second shape made from `a` by dropping leading dims and replacing some sizes: often
/// broadcastable with `a`, often not.
fn related(a: Vec<usize>) -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    let rank = a.len();
    (0..=rank, prop::collection::vec((0u8..4, size()), rank..=rank), prop::collection::vec(size(), 0..2)).prop_map(
        move |(drop, edits, extra)| {
            let mut b: Vec<usize> = extra;
            for (i, &(how, s)) in edits.iter().enumerate().skip(drop) {
                b.push(match how {
                    0 | 1 => a[i],
                    2 => 1,
                    _ => s,
                });
            }
            (a.clone(), b)
        },
    )
}

const HUGE: [i64; 6] = [i64::MAX, i64::MIN, 1 << 62, -(1 << 62), (1 << 61) + 1, i64::MAX - 1];

/// An integer argument (a dim, a size, a padding, a stride): small, or huge.
fn arg() -> impl Strategy<Value = i64> {
    prop_oneof![12 => -4i64..7, 1 => prop::sample::select(HUGE.to_vec())]
}

fn args(max: usize) -> impl Strategy<Value = Vec<i64>> {
    prop::collection::vec(arg(), 0..=max)
}

fn isizes(v: &[i64]) -> Vec<isize> {
    v.iter().map(|&x| x as isize).collect()
}

fn first(v: &[i64], default: i64) -> i64 {
    v.first().copied().unwrap_or(default)
}

/// A non-negative argument read from a possibly negative one (sizes, steps).
fn unsigned(v: i64) -> usize {
    if v < 0 { v.unsigned_abs() as usize } else { v as usize }
}

// ----- elementwise, matmul -------------------------------------------------------------------------

const BINARY: [&str; 7] = ["add", "sub", "mul", "div", "maximum", "minimum", "pow"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn broadcasting_binary_ops_1000_cases(op in 0usize..7, (a, b) in shape(4).prop_flat_map(related), seed in any::<u64>()) {
        let (x, y) = (leaf(&a, seed), leaf(&b, seed ^ 1));
        let name = BINARY[op];
        check(&[name], &[a, b], "", || match name {
            "add" => &x + &y,
            "sub" => x.sub(&y),
            "mul" => x.mul(&y),
            "div" => &x / &y,
            "maximum" => x.maximum(&y),
            "minimum" => x.minimum(&y),
            _ => x.abs().pow_tensor(&y),
        });
    }

    #[test]
    fn matmul_and_linear_1000_cases(
        (a, b) in shape(4).prop_flat_map(related),
        swap_last in any::<bool>(),
        linear in any::<bool>(),
        bias in prop::option::of(shape(1)),
        seed in any::<u64>(),
    ) {
        // Swapping b's last two sizes turns many mismatches into products and back.
        let mut b = b;
        if swap_last && b.len() >= 2 {
            let n = b.len();
            b.swap(n - 1, n - 2);
        }
        let (x, w) = (leaf(&a, seed), leaf(&b, seed ^ 1));
        if linear {
            let bias_shape = bias.unwrap_or_default();
            let bias_tensor = leaf(&bias_shape, seed ^ 2);
            check(&["linear", "matmul", "t", "add"], &[a, b, bias_shape], "", || x.linear(&w, Some(&bias_tensor)));
        } else {
            check(&["matmul"], &[a, b], "", || x.matmul(&w));
        }
    }
}

// ----- arrangement ---------------------------------------------------------------------------------

const ARRANGE: [&str; 12] = [
    "reshape",
    "expand",
    "permute",
    "transpose",
    "flatten",
    "squeeze",
    "unsqueeze",
    "narrow",
    "slice",
    "t",
    "item",
    "view",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn reshape_expand_permute_narrow_slice_2000_cases(
        op in 0usize..12,
        a in shape(4),
        ints in args(5),
        seed in any::<u64>(),
    ) {
        let x = leaf(&a, seed);
        let name = ARRANGE[op];
        let (i0, i1, i2) = (first(&ints, 0), ints.get(1).copied().unwrap_or(1), ints.get(2).copied().unwrap_or(1));
        let label = format!("arguments {ints:?}");
        check(&[name, "reshape"], std::slice::from_ref(&a), &label, || match name {
            "reshape" => x.reshape(&isizes(&ints)),
            "view" => x.view(&isizes(&ints)),
            "expand" => x.expand(&isizes(&ints)),
            "permute" => x.permute(&isizes(&ints)),
            "transpose" => x.transpose(i0 as isize, i1 as isize),
            "flatten" => x.flatten(i0 as isize, i1 as isize),
            "squeeze" => x.squeeze_dim(i0 as isize),
            "unsqueeze" => x.unsqueeze(i0 as isize),
            "narrow" => x.narrow(i0 as isize, i1 as isize, unsigned(i2)),
            "slice" => x.slice(i0 as isize, i1 as isize, i2 as isize, unsigned(ints.get(3).copied().unwrap_or(1))),
            "t" => x.t(),
            _ => Tensor::scalar(x.item()),
        });
    }
}

// ----- reductions, softmax, min/max ----------------------------------------------------------------

const REDUCE: [&str; 10] = ["sum", "mean", "softmax", "log_softmax", "max", "min", "amax", "amin", "argmax", "argmin"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn reductions_softmax_and_min_max_1000_cases(
        op in 0usize..10,
        a in shape(4),
        dims in args(3),
        keepdim in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let x = leaf(&a, seed);
        let name = REDUCE[op];
        let d = first(&dims, 0) as isize;
        let dim_list = isizes(&dims);
        let label = format!("dims {dims:?}, keepdim {keepdim}");
        check(&[name], std::slice::from_ref(&a), &label, || match name {
            "sum" => x.sum_dim(dim_list, keepdim),
            "mean" => x.mean_dim(dim_list, keepdim),
            "softmax" => x.softmax(d),
            "log_softmax" => x.log_softmax(d),
            "max" => x.max_dim(d, keepdim).0,
            "min" => x.min_dim(d, keepdim).0,
            "amax" => x.amax(dim_list, keepdim),
            "amin" => x.amin(dim_list, keepdim),
            "argmax" => Tensor::from(x.argmax(dims.first().map(|&v| v as isize), keepdim).mapv(|v| v as f32)),
            _ => Tensor::from(x.argmin(dims.first().map(|&v| v as isize), keepdim).mapv(|v| v as f32)),
        });
    }

    #[test]
    fn cat_and_stack_1000_cases(
        stack in any::<bool>(),
        (a, b) in shape(4).prop_flat_map(related),
        third in any::<bool>(),
        dim in arg(),
        seed in any::<u64>(),
    ) {
        let mut tensors = vec![leaf(&a, seed), leaf(&b, seed ^ 1)];
        if third {
            tensors.push(leaf(&a, seed ^ 2));
        }
        let name = if stack { "stack" } else { "cat" };
        check(&[name], &[a, b], &format!("dim {dim}"), || {
            if stack { Tensor::stack(&tensors, dim as isize) } else { Tensor::cat(&tensors, dim as isize) }
        });
    }
}

// ----- convolution, pooling, padding -----------------------------------------------------------------

/// A convolution or pooling geometry: mostly valid (so that the op runs), with one random
/// mutation in a third of the cases (a size, an argument replaced by a small or huge value).
#[derive(Debug, Clone)]
struct Geometry {
    input: Vec<usize>,
    weight: Vec<usize>,
    bias: Option<Vec<usize>>,
    stride: Vec<i64>,
    padding: Result<Vec<i64>, &'static str>,
    dilation: Vec<i64>,
    groups: i64,
}

fn geometry() -> impl Strategy<Value = Geometry> {
    let base = (1usize..4, 0usize..3, 1usize..3, 1usize..3, 1usize..3, any::<bool>());
    let per_dim = prop::collection::vec((1usize..7, 1usize..4, 1i64..3, 0i64..2, 1i64..3), 3);
    let padding_kind = prop_oneof![4 => Just(None), 1 => prop::sample::select(vec!["same", "valid"]).prop_map(Some)];
    let mutation = prop_oneof![2 => Just(None), 1 => (0usize..9, 0usize..6, arg(), prop::sample::select(vec!["zeros", "", "SAME"])).prop_map(Some)];
    (base, per_dim, padding_kind, mutation).prop_map(
        |((spatial, batch, groups, cin, cout, bias), dims, padding_kind, mutation)| {
            let dims = &dims[..spatial];
            let mut g = Geometry {
                input: [batch, groups * cin].into_iter().chain(dims.iter().map(|d| d.0 + d.1)).collect(),
                weight: [groups * cout, cin].into_iter().chain(dims.iter().map(|d| d.1)).collect(),
                bias: bias.then(|| vec![groups * cout]),
                stride: dims.iter().map(|d| if padding_kind == Some("same") { 1 } else { d.2 }).collect(),
                padding: padding_kind.ok_or(()).map_or_else(|()| Ok(dims.iter().map(|d| d.3).collect()), Err),
                dilation: dims.iter().map(|d| d.4).collect(),
                groups: groups as i64,
            };
            if let Some((what, at, value, text)) = mutation {
                let size = value.unsigned_abs() as usize % 7;
                match what {
                    0 => {
                        let n = g.input.len();
                        g.input[at % n] = size;
                    }
                    1 => {
                        let n = g.weight.len();
                        g.weight[at % n] = size;
                    }
                    2 => {
                        g.input.remove(0);
                    } // unbatched, or a rank mismatch
                    3 => g.stride[at % spatial] = value,
                    4 => g.padding = Ok(vec![value; 1 + at % 2]),
                    5 => g.dilation[at % spatial] = value,
                    6 => g.groups = value,
                    7 => g.padding = Err(text),
                    _ => g.bias = Some(vec![size]),
                }
            }
            g
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn conv1d_2d_3d_2000_cases(g in geometry(), seed in any::<u64>()) {
        let spatial = g.weight.len().clamp(3, 5) - 2;
        let (x, w) = (leaf(&g.input, seed), leaf(&g.weight, seed ^ 1));
        let b = g.bias.as_ref().map(|s| leaf(s, seed ^ 2));
        let name = ["conv1d", "conv2d", "conv3d"][spatial - 1];
        let label = format!("stride {:?}, padding {:?}, dilation {:?}, groups {}", g.stride, g.padding, g.dilation, g.groups);
        let padding: F::PaddingArg = match g.padding.clone() {
            Ok(ints) => ints.into(),
            Err(s) => s.into(),
        };
        let (stride, dilation, groups) = (g.stride.clone(), g.dilation.clone(), g.groups);
        check(&[name], &[g.input, g.weight, g.bias.unwrap_or_default()], &label, || match spatial {
            1 => F::conv1d(&x, &w, b.as_ref(), stride, padding, dilation, groups),
            2 => F::conv2d(&x, &w, b.as_ref(), stride, padding, dilation, groups),
            _ => F::conv3d(&x, &w, b.as_ref(), stride, padding, dilation, groups),
        });
    }

    #[test]
    fn pooling_2000_cases(op in 0usize..4, g in geometry(), ceil_mode in any::<bool>(), divisor in prop::option::of(arg()), seed in any::<u64>()) {
        // The geometry's input, and its kernel sizes as the pooling window.
        let name = ["max_pool1d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"][op];
        let spatial = if op == 0 { 1 } else { 2 };
        let input: Vec<usize> = g.input.iter().copied().take(2 + spatial).collect();
        let kernel: Vec<i64> = g.weight.iter().skip(2).map(|&k| k as i64).collect();
        let padding = g.padding.clone().unwrap_or_default();
        let stride = F::PoolStride((seed % 3 != 0).then(|| F::IntOrTuple(g.stride.clone())));
        let x = leaf(&input, seed);
        let label = format!("kernel {kernel:?}, stride {stride:?}, padding {padding:?}, dilation {:?}, ceil {ceil_mode}, divisor {divisor:?}", g.dilation);
        let dilation = g.dilation.clone();
        check(&[name], std::slice::from_ref(&input), &label, || match name {
            "max_pool1d" => F::max_pool1d(&x, kernel, stride, padding, dilation, ceil_mode),
            "max_pool2d" => F::max_pool2d_with_indices(&x, kernel, stride, padding, dilation, ceil_mode).0,
            "avg_pool2d" => F::avg_pool2d(&x, kernel, stride, padding, ceil_mode, ceil_mode ^ (seed % 2 == 0), divisor),
            _ => F::adaptive_avg_pool2d(&x, kernel),
        });
    }

    #[test]
    fn pad_2000_cases(
        mode in 0usize..4,
        input in shape(5),
        pads in args(6),
        seed in any::<u64>(),
    ) {
        let x = leaf(&input, seed);
        let mode = [PadMode::Constant, PadMode::Reflect, PadMode::Replicate, PadMode::Circular][mode];
        check(&["pad"], std::slice::from_ref(&input), &format!("pads {pads:?}, mode {mode:?}"), || x.pad(&pads, mode, 0.5));
    }
}

// ----- normalisation, embedding, dropout, losses ----------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn batch_norm_embedding_dropout_1000_cases(
        op in 0usize..3,
        input in shape(5),
        other in shape(3),
        training in any::<bool>(),
        number in arg(),
        seed in any::<u64>(),
    ) {
        let x = leaf(&input, seed);
        let o = leaf(&other, seed ^ 1);
        match op {
            0 => {
                let (mean, var) = (o.detach(), o.detach().abs());
                check(&["batch_norm"], &[input, other], &format!("training {training}"), || {
                    F::batch_norm(&x, Some(&mean), Some(&var), Some(&o), Some(&o), training, 0.1, 1e-5)
                });
            }
            1 => {
                // Ids: whole numbers from −2 to 6, or a fraction, as f32.
                let ids = Tensor::from_vec(
                    Rng(seed).values(x.numel()).iter().map(|v| if number == 0 { v + 0.5 } else { (v * 4.0 + 2.0).round() }).collect(),
                    &input,
                ).unwrap();
                let padding_idx = (number % 3 != 0).then_some(number);
                check(&["embedding"], &[input, other], &format!("padding_idx {padding_idx:?}"), || {
                    F::embedding(&ids, &o, padding_idx)
                });
            }
            _ => {
                let p = [0.0, 0.5, 1.0, -0.5, 1.5, f64::NAN][unsigned(number) % 6];
                check(&["dropout"], &[input], &format!("p {p}"), || F::dropout(&x, p, training));
            }
        }
    }

    #[test]
    fn losses_1000_cases(
        op in 0usize..8,
        (input, target) in shape(4).prop_flat_map(related),
        same_shape in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let target = if same_shape { input.clone() } else { target };
        let x = leaf(&input, seed);
        let name = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
            "binary_cross_entropy", "binary_cross_entropy_with_logits"][op];
        // Class-index targets: whole numbers from −1 to 5 (some out of range).
        let mut g = Rng(seed ^ 3);
        let t = match op {
            0 | 1 if seed % 3 != 0 => Tensor::from_vec(
                (0..target.iter().product::<usize>()).map(|_| g.below(7) as f32 - 1.0).collect(),
                &target,
            ).unwrap(),
            6 => leaf(&target, seed ^ 1).detach().abs(),
            _ => leaf(&target, seed ^ 1),
        };
        let probabilities = (x.clone() + 1.0) * 0.5;
        let weight = (seed % 5 == 0).then(|| leaf(&[input.get(1).copied().unwrap_or(1)], seed ^ 4).detach());
        let weight_shape = weight.as_ref().map(|w| w.shape().to_vec()).unwrap_or_default();
        check(&[name], &[input, target, weight_shape], "", || match op {
            0 => F::cross_entropy_with(&x, &t, &CrossEntropyOptions { weight, label_smoothing: 0.1, ..Default::default() }),
            1 => F::nll_loss(&x, &t),
            2 => F::mse_loss(&x, &t),
            3 => F::l1_loss(&x, &t),
            4 => F::smooth_l1_loss(&x, &t),
            5 => F::huber_loss(&x, &t),
            6 => F::binary_cross_entropy(&probabilities, &t),
            _ => F::binary_cross_entropy_with_logits_with(&x, &t, &BceWithLogitsOptions { pos_weight: weight, ..Default::default() }),
        });
    }
}

// ----- shapes that no tensor can have -----------------------------------------------------------------

#[test]
fn constructors_with_overflowing_shapes_are_errors_or_planned_panics_7_cases() {
    let overflowing: [&[usize]; 4] = [&[usize::MAX, 2], &[1 << 32, 1 << 32], &[0, usize::MAX, usize::MAX], &[1 << 62]];
    for shape in overflowing {
        let result = catch_quietly(|| Tensor::from_vec(vec![], shape));
        assert!(matches!(result, Ok(Err(_))), "from_vec({shape:?}) must be an Err, got {result:?}");
    }
    for (name, make) in [
        ("zeros", Tensor::zeros as fn(&[usize]) -> Tensor),
        ("ones", Tensor::ones),
        ("rand", Tensor::rand),
        ("randn", Tensor::randn),
    ] {
        for shape in overflowing {
            let message = catch_quietly(|| make(shape)).err().unwrap_or_else(|| panic!("{name}({shape:?}) succeeded"));
            assert!(planned(&message, &[name, "full"], &[shape.to_vec()]), "{name}({shape:?}): {message}");
        }
    }
}
