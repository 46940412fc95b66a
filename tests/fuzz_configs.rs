//! Layers, losses, optimisers and loaders built from random configurations (zero, negative
//! or huge sizes, mismatched groups, every padding string and mode) give either a valid
//! object or an `Err` with a message, never a panic or an abort. Where the rules are
//! PyTorch's constructor checks (convolution, dropout, embedding, loss options), an oracle
//! written here from those rules says which it must be; a valid layer then runs a forward
//! pass on a fitting input, which may only panic with a planned message.
//!
//! "Huge" sizes are at least 2⁴⁰: their weights either overflow or are far beyond memory,
//! so a correct constructor refuses them without touching memory.
//!
//! Case counts are in the test names.

mod common;

use std::sync::Mutex;

use common::catch_quietly;
use proptest::prelude::*;
use tapegrad::Tensor;
use tapegrad::data::{DataLoader, TensorDataset};
use tapegrad::nn::functional::CrossEntropyOptions;
use tapegrad::nn::functional::{HuberOptions, Reduction, SmoothL1Options};
use tapegrad::nn::loss::{CrossEntropyLoss, HuberLoss, SmoothL1Loss};
use tapegrad::nn::{
    AvgPool2d, BatchNorm2d, Conv, Dropout, Embedding, IntOrTuple, Linear, MaxPool2d, Module, PaddingArg, Parameter,
};
use tapegrad::optim::{Adagrad, Adam, CosineAnnealingLr, Optimizer, RmsProp, Sgd, StepLr};

/// Building a layer draws its initial weights from the global generator: one test at a time.
static GLOBAL_RNG: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    GLOBAL_RNG.lock().unwrap_or_else(|e| e.into_inner())
}

/// A size: small (0 to 6) or huge.
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![8 => 0usize..7, 1 => prop::sample::select(vec![1usize << 40, 1 << 62, usize::MAX])]
}

/// An int argument (kernel size, stride, dilation, padding): small, negative or huge.
fn int() -> impl Strategy<Value = i64> {
    prop_oneof![8 => -2i64..6, 1 => prop::sample::select(vec![1i64 << 40, i64::MAX, i64::MIN])]
}

/// Whether a tensor of `shape` is one a correct constructor can allocate here: the product
/// of its non-zero sizes (what ndarray checks) fits in `isize` bytes of `f32`, and its
/// element count in far less than this machine's memory. Sizes are small or ≥ 2⁴⁰, so
/// nothing falls between "tiny" and "impossible".
fn allocatable(shape: &[usize]) -> bool {
    let nonzero = shape.iter().filter(|&&d| d != 0).try_fold(1usize, |n, &d| n.checked_mul(d));
    let count = if shape.contains(&0) { Some(0) } else { nonzero };
    nonzero.is_some_and(|n| n <= isize::MAX as usize / 4) && count.is_some_and(|n| n <= 1 << 30)
}

/// A forward pass on a fitting input: a result or a panic that starts with one of `ops`.
fn forward_runs(ops: &[&str], what: &str, forward: impl FnOnce() -> Tensor) {
    if let Err(message) = catch_quietly(forward) {
        assert!(
            ops.iter().any(|op| message.starts_with(&format!("{op}: ")) || message.starts_with(&format!("{op}()"))),
            "{what}: forward panicked with an unplanned message: {message}"
        );
    }
}

// ----- convolution -----------------------------------------------------------------------------------

const PADDING_STRINGS: [&str; 6] = ["same", "valid", "zeros", "", "SAME", "same "];
const PADDING_MODES: [&str; 7] = ["zeros", "reflect", "replicate", "circular", "Zeros", "", "constant"];

#[derive(Debug, Clone)]
struct ConvConfig {
    spatial: usize,
    in_channels: usize,
    out_channels: usize,
    kernel: Vec<i64>,
    stride: Vec<i64>,
    padding: Result<Vec<i64>, &'static str>,
    dilation: Vec<i64>,
    groups: usize,
    bias: bool,
    mode: &'static str,
}

fn conv_config() -> impl Strategy<Value = ConvConfig> {
    let ints = || prop::collection::vec(int(), 1..4);
    let padding =
        prop_oneof![3 => ints().prop_map(Ok), 2 => prop::sample::select(PADDING_STRINGS.to_vec()).prop_map(Err)];
    let groups = prop_oneof![6 => 0usize..4, 1 => Just(1usize << 40)];
    (
        1usize..4,
        size(),
        size(),
        ints(),
        ints(),
        padding,
        ints(),
        groups,
        any::<bool>(),
        prop::sample::select(PADDING_MODES.to_vec()),
    )
        .prop_map(|(spatial, in_channels, out_channels, kernel, stride, padding, dilation, groups, bias, mode)| {
            ConvConfig { spatial, in_channels, out_channels, kernel, stride, padding, dilation, groups, bias, mode }
        })
}

/// PyTorch's `_single/_pair/_triple`: an int is repeated, a tuple kept.
fn ntuple(v: &[i64], n: usize) -> Vec<i64> {
    if v.len() == 1 { vec![v[0]; n] } else { v.to_vec() }
}

/// `nn.ConvNd.__init__`'s checks, in words: the weight shape when the module must build.
fn conv_oracle(c: &ConvConfig) -> Option<Vec<usize>> {
    if c.groups == 0 || !c.in_channels.is_multiple_of(c.groups) || !c.out_channels.is_multiple_of(c.groups) {
        return None;
    }
    let stride = ntuple(&c.stride, c.spatial);
    match c.padding {
        Err("same") if stride.iter().any(|&s| s != 1) => return None,
        Err(s) if s != "same" && s != "valid" => return None,
        _ => {}
    }
    if !["zeros", "reflect", "replicate", "circular"].contains(&c.mode) {
        return None;
    }
    let kernel = ntuple(&c.kernel, c.spatial);
    if kernel.iter().any(|&k| k < 0) {
        return None;
    }
    let weight: Vec<usize> =
        [c.out_channels, c.in_channels / c.groups].into_iter().chain(kernel.iter().map(|&k| k as usize)).collect();
    (allocatable(&weight) && (!c.bias || allocatable(&[c.out_channels]))).then_some(weight)
}

/// A built convolution: its weight shape, its bias shape, and the module.
type BuiltConv = (Vec<usize>, Option<Vec<usize>>, Box<dyn Module>);

fn build_conv<const N: usize>(c: &ConvConfig) -> tapegrad::Result<BuiltConv> {
    let padding: PaddingArg = match &c.padding {
        Ok(ints) => ints.clone().into(),
        Err(s) => (*s).into(),
    };
    let conv = Conv::<N>::builder(c.in_channels, c.out_channels, IntOrTuple(c.kernel.clone()))
        .stride(IntOrTuple(c.stride.clone()))
        .padding(padding)
        .dilation(IntOrTuple(c.dilation.clone()))
        .groups(c.groups)
        .bias(c.bias)
        .padding_mode(c.mode)
        .build()?;
    let bias = conv.bias.as_ref().map(|b| b.shape().to_vec());
    Ok((conv.weight.shape().to_vec(), bias, Box::new(conv)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn conv_modules_from_random_configurations_1500_cases(c in conv_config()) {
        let _rng = lock();
        let built = catch_quietly(|| match c.spatial {
            1 => build_conv::<1>(&c),
            2 => build_conv::<2>(&c),
            _ => build_conv::<3>(&c),
        })
        .unwrap_or_else(|m| panic!("{c:?}: build panicked: {m}"));
        match (built, conv_oracle(&c)) {
            (Ok((weight, bias, module)), Some(expected)) => {
                prop_assert_eq!(&weight, &expected);
                prop_assert_eq!(bias, c.bias.then(|| vec![c.out_channels]));
                if weight.iter().all(|&d| d <= 6) && c.in_channels <= 6 {
                    let input: Vec<usize> = [2, c.in_channels].into_iter().chain(std::iter::repeat_n(7, c.spatial)).collect();
                    let name = ["conv1d", "conv2d", "conv3d"][c.spatial - 1];
                    forward_runs(&[name, "pad"], &format!("{c:?}"), || module.forward(&Tensor::ones(&input)));
                }
            }
            (Err(e), None) => prop_assert!(!e.message().is_empty()),
            (Ok((weight, ..)), None) => prop_assert!(false, "{:?}: built with weight {:?}, expected an Err", c, weight),
            (Err(e), Some(_)) => prop_assert!(false, "{:?}: expected a module, got {}", c, e),
        }
    }
}

// ----- linear, batch norm, embedding, dropout, pooling ---------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn linear_batchnorm_embedding_from_random_sizes_500_cases(
        a in size(),
        b in size(),
        flag in any::<bool>(),
        padding_idx in prop::option::of(int()),
        eps in prop::sample::select(vec![1e-5, 0.0, -1.0, f64::NAN]),
    ) {
        let _rng = lock();
        let linear = catch_quietly(|| Linear::try_new(a, b, flag)).unwrap_or_else(|m| panic!("Linear({a}, {b}): {m}"));
        match linear {
            Ok(linear) => {
                prop_assert!(allocatable(&[b, a]), "Linear({}, {}) built", a, b);
                prop_assert_eq!(linear.weight.shape(), &[b, a]);
                if a <= 6 && b <= 6 {
                    forward_runs(&["linear"], "Linear", || linear.forward(&Tensor::ones(&[3, a])));
                }
            }
            Err(e) => prop_assert!(!allocatable(&[b, a]) || !allocatable(&[b]), "Linear({}, {}): {}", a, b, e),
        }

        let bn = catch_quietly(|| BatchNorm2d::builder(a).eps(eps).affine(flag).track_running_stats(!flag).try_build())
            .unwrap_or_else(|m| panic!("BatchNorm2d({a}): {m}"));
        match bn {
            Ok(bn) => {
                prop_assert!(allocatable(&[a]));
                if a <= 6 {
                    forward_runs(&["batch_norm", "BatchNorm2d"], "BatchNorm2d", || bn.forward(&Tensor::ones(&[2, a, 3, 3])));
                }
            }
            Err(e) => prop_assert!(!allocatable(&[a]), "BatchNorm2d({}): {}", a, e),
        }

        // PyTorch: padding_idx within [−num_embeddings, num_embeddings).
        let n = a as i128;
        let index_ok = padding_idx.is_none_or(|p| (-n..n).contains(&(p as i128)));
        let embedding = catch_quietly(|| Embedding::new(a, b, padding_idx)).unwrap_or_else(|m| panic!("Embedding({a}, {b}): {m}"));
        match embedding {
            Ok(embedding) => {
                prop_assert!(index_ok && allocatable(&[a, b]));
                if a > 0 && a <= 6 && b <= 6 {
                    let ids = Tensor::from_vec(vec![0.0, (a - 1) as f32], &[2]).unwrap();
                    forward_runs(&["embedding"], "Embedding", || embedding.forward(&ids));
                }
            }
            Err(e) => prop_assert!(!index_ok || !allocatable(&[a, b]), "Embedding({}, {}, {:?}): {}", a, b, padding_idx, e),
        }
    }

    #[test]
    fn dropout_and_pooling_from_random_arguments_500_cases(
        p in prop_oneof![-1.0..2.0f64, prop::sample::select(vec![0.0, 1.0, -0.0, f64::NAN, f64::INFINITY])],
        kernel in prop::collection::vec(int(), 0..4),
        stride in prop::option::of(prop::collection::vec(int(), 0..4)),
        padding in prop::collection::vec(int(), 0..4),
        ceil_mode in any::<bool>(),
    ) {
        let dropout = catch_quietly(|| Dropout::new(p)).unwrap_or_else(|m| panic!("Dropout({p}): {m}"));
        prop_assert_eq!(dropout.is_ok(), (0.0..=1.0).contains(&p), "Dropout({})", p);
        // Pooling constructors check nothing (as PyTorch's); forward checks everything.
        let x = Tensor::ones(&[1, 2, 6, 6]);
        let stride_arg = stride.clone().map(IntOrTuple);
        let max = MaxPool2d::builder(IntOrTuple(kernel.clone())).stride(stride_arg.clone()).padding(IntOrTuple(padding.clone())).ceil_mode(ceil_mode).build();
        forward_runs(&["max_pool2d"], "MaxPool2d", || max.forward(&x));
        let avg = AvgPool2d::builder(IntOrTuple(kernel.clone())).stride(stride_arg).padding(IntOrTuple(padding)).ceil_mode(ceil_mode).build();
        forward_runs(&["avg_pool2d"], "AvgPool2d", || avg.forward(&x));
    }
}

// ----- losses, optimisers, schedulers, loaders --------------------------------------------------------

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![4 => -2.0..2.0f64, 1 => prop::sample::select(vec![0.0, -0.0, 1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300])]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn loss_options_and_reductions_500_cases(x in float(), reduction in prop::sample::select(vec!["none", "mean", "sum", "Mean", "", "avg"])) {
        let ce = CrossEntropyLoss::with_options(CrossEntropyOptions { label_smoothing: x as f32, ..Default::default() });
        prop_assert_eq!(ce.is_ok(), (0.0..=1.0).contains(&(x as f32)), "label_smoothing {}", x);
        let smooth = SmoothL1Loss::with_options(SmoothL1Options { beta: x as f32, ..Default::default() });
        prop_assert_eq!(smooth.is_ok(), x as f32 >= 0.0, "beta {}", x);
        let huber = HuberLoss::with_options(HuberOptions { delta: x as f32, ..Default::default() });
        prop_assert_eq!(huber.is_ok(), x as f32 > 0.0, "delta {}", x);
        let parsed = reduction.parse::<Reduction>();
        prop_assert_eq!(parsed.is_ok(), ["none", "mean", "sum"].contains(&reduction));
    }

    #[test]
    fn optimizers_and_schedulers_from_random_hyperparameters_500_cases(
        kind in 0usize..4,
        lr in float(),
        a in float(),
        b in float(),
        flag in any::<bool>(),
        steps in 0usize..4,
    ) {
        // Never a panic: Ok or Err, and an Ok optimiser steps (possibly to NaN weights).
        let params = vec![Parameter::new(Tensor::ones(&[2, 2]))];
        let built: tapegrad::Result<Box<dyn Optimizer>> = catch_quietly(|| match kind {
            0 => Sgd::builder(params.clone(), lr).momentum(a).dampening(b).nesterov(flag).weight_decay(b).build().map(|o| Box::new(o) as Box<dyn Optimizer>),
            1 => Adam::builder(params.clone()).lr(lr).betas((a, b)).eps(b).amsgrad(flag).build().map(|o| Box::new(o) as Box<dyn Optimizer>),
            2 => RmsProp::builder(params.clone()).lr(lr).alpha(a).momentum(b).centered(flag).build().map(|o| Box::new(o) as Box<dyn Optimizer>),
            _ => Adagrad::builder(params.clone()).lr(lr).lr_decay(a).initial_accumulator_value(b).build().map(|o| Box::new(o) as Box<dyn Optimizer>),
        })
        .unwrap_or_else(|m| panic!("optimizer {kind} (lr {lr}, {a}, {b}): {m}"));
        match built {
            Ok(mut optimizer) => {
                prop_assert!(lr >= 0.0 || lr.is_nan(), "a negative learning rate {} was accepted", lr);
                let stepped = catch_quietly(|| {
                    for _ in 0..steps {
                        optimizer.zero_grad();
                        params[0].pow(2.0).sum().backward();
                        optimizer.step();
                    }
                    let scheduler = StepLr::new(optimizer.as_ref(), steps);
                    assert_eq!(scheduler.is_ok(), steps > 0, "StepLr with step_size {steps}");
                    assert_eq!(CosineAnnealingLr::new(optimizer.as_ref(), steps).is_ok(), steps > 0);
                });
                prop_assert!(stepped.is_ok(), "{:?}", stepped.err());
            }
            Err(e) => prop_assert!(e.message().starts_with("Invalid") || e.message().contains("requires"), "{}", e),
        }
    }

    #[test]
    fn data_loaders_from_random_sizes_500_cases(inputs in 0usize..6, targets in 0usize..6, batch_size in prop_oneof![0usize..8, Just(usize::MAX)], drop_last in any::<bool>()) {
        let dataset = TensorDataset::new(Tensor::zeros(&[inputs, 2]), Tensor::zeros(&[targets]));
        prop_assert_eq!(dataset.is_ok(), inputs == targets);
        let Ok(dataset) = dataset else { return Ok(()) };
        let loader = DataLoader::builder(dataset).batch_size(batch_size).drop_last(drop_last).build();
        prop_assert_eq!(loader.is_ok(), batch_size > 0);
        if let Ok(mut loader) = loader {
            let batches: Vec<usize> = loader.iter().map(|(x, _)| x.shape()[0]).collect();
            prop_assert_eq!(batches.iter().sum::<usize>(), if drop_last { inputs - inputs % batch_size } else { inputs });
            prop_assert_eq!(batches.len(), loader.len());
        }
    }
}
