//! Convolution checked against definitions, never against its own output:
//!
//! * `F::conv1d/2d/3d`, `ops::conv::conv_nd` (asymmetric padding) and the `Conv*d` modules
//!   (every padding mode) against a plain nested-loop convolution in f64, forward and
//!   backward, on random geometries (proptest);
//! * the forward's output-row tiling and the grad_weight reduction on several thread counts;
//! * `im2col` against its definition and `col2im` as its adjoint;
//! * `gradcheck` through the padding modes, groups, dilation, stride, 'same', 1-d and 3-d;
//! * the distribution of the default initialisation.
//!
//! Test data come from the test's own SplitMix64, so they never depend on the crate's
//! generator; only the initialisation test draws from `manual_seed`.

use std::sync::Mutex;

use proptest::prelude::*;
use tapegrad::autograd::{GradcheckOptions, gradcheck_with};
use tapegrad::nn::functional as F;
use tapegrad::nn::{Conv, Conv1d, Conv2d, Conv3d, Module, PaddingArg, Parameter};
use tapegrad::ops::conv::{ConvGeometry, col2im, conv_nd, im2col};
use tapegrad::{Tensor, manual_seed};

// ----- data -----------------------------------------------------------------------------------

/// SplitMix64: the test's own generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// `n` values uniform in [−1, 1).
    fn values(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| (self.next() >> 40) as f32 / (1u32 << 23) as f32 - 1.0).collect()
    }
}

/// The global generator is shared by the tests of this binary, which run in parallel; every
/// draw from it (building a module draws its initial weights) happens under this lock.
static GLOBAL_RNG: Mutex<()> = Mutex::new(());

fn with_global_rng<R>(f: impl FnOnce() -> R) -> R {
    let _guard = GLOBAL_RNG.lock().unwrap_or_else(|e| e.into_inner());
    f()
}

fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(f)
}

// ----- cases and the reference ---------------------------------------------------------------

/// Padding as the caller writes it; `Pairs` is (before, after) per dim, given to `conv_nd`.
#[derive(Debug, Clone)]
enum Pad {
    Int(usize),
    PerDim(Vec<usize>),
    Valid,
    Same,
    Pairs(Vec<(usize, usize)>),
}

/// One convolution. Per-dim arrays are in 3-d form: conv1d/conv2d have leading 1s (a
/// size-1 dim with a size-1 kernel, stride 1 and no padding changes nothing).
#[derive(Debug, Clone)]
struct Case {
    spatial: usize,
    batch: usize,
    groups: usize,
    group_in: usize,
    group_out: usize,
    input: [usize; 3],
    kernel: [usize; 3],
    stride: [usize; 3],
    dilation: [usize; 3],
    padding: Pad,
    bias: bool,
    /// Pass the input without its batch dim (batch 1 only).
    unbatched: bool,
    /// Whether the input requires grad (the weight always does).
    input_grad: bool,
    seed: u64,
}

fn lift<T: Copy>(v: &[T], fill: T) -> [T; 3] {
    let mut out = [fill; 3];
    out[3 - v.len()..].copy_from_slice(v);
    out
}

fn unflatten(i: usize, dims: [usize; 3]) -> [usize; 3] {
    [i / (dims[1] * dims[2]), i / dims[2] % dims[1], i % dims[2]]
}

impl Case {
    /// Stride and dilation 1, no padding, with bias.
    fn new(batch: usize, groups: usize, group_in: usize, group_out: usize, input: &[usize], kernel: &[usize]) -> Case {
        let (spatial, input, kernel) = (input.len(), lift(input, 1), lift(kernel, 1));
        let (stride, dilation, padding) = ([1; 3], [1; 3], Pad::Int(0));
        let (bias, unbatched, input_grad, seed) = (true, false, true, 7);
        Case {
            spatial,
            batch,
            groups,
            group_in,
            group_out,
            input,
            kernel,
            stride,
            dilation,
            padding,
            bias,
            unbatched,
            input_grad,
            seed,
        }
    }
    fn in_channels(&self) -> usize {
        self.groups * self.group_in
    }
    fn out_channels(&self) -> usize {
        self.groups * self.group_out
    }
    /// The caller's per-dim values (the last `spatial` of the 3-d form).
    fn dims(&self, v: [usize; 3]) -> Vec<usize> {
        v[3 - self.spatial..].to_vec()
    }
    /// (before, after) per dim; 'same' pads dilation·(k − 1) in all, the smaller half before.
    fn pads(&self) -> [(usize, usize); 3] {
        match &self.padding {
            Pad::Int(p) => lift(&vec![(*p, *p); self.spatial], (0, 0)),
            Pad::PerDim(p) => lift(&p.iter().map(|&p| (p, p)).collect::<Vec<_>>(), (0, 0)),
            Pad::Valid => [(0, 0); 3],
            Pad::Same => std::array::from_fn(|a| {
                let total = self.dilation[a] * (self.kernel[a] - 1);
                (total / 2, total - total / 2)
            }),
            Pad::Pairs(p) => lift(p, (0, 0)),
        }
    }
    fn padding_arg(&self) -> PaddingArg {
        match &self.padding {
            Pad::Int(p) => (*p).into(),
            Pad::PerDim(p) => p.clone().into(),
            Pad::Valid => "valid".into(),
            Pad::Same => "same".into(),
            Pad::Pairs(_) => unreachable!("(before, after) pairs go to conv_nd"),
        }
    }
    fn input_shape(&self) -> Vec<usize> {
        let channels = [self.batch, self.in_channels()];
        [&channels[usize::from(self.unbatched)..], &self.dims(self.input)].concat()
    }
    fn weight_shape(&self) -> Vec<usize> {
        [&[self.out_channels(), self.group_in][..], &self.dims(self.kernel)].concat()
    }
    /// `floor((in + before + after − dilation·(k − 1) − 1) / stride) + 1` per dim.
    fn output(&self) -> [usize; 3] {
        let pads = self.pads();
        std::array::from_fn(|a| {
            let padded = self.input[a] + pads[a].0 + pads[a].1;
            (padded - self.dilation[a] * (self.kernel[a] - 1) - 1) / self.stride[a] + 1
        })
    }
    fn output_shape(&self) -> Vec<usize> {
        let channels = [self.batch, self.out_channels()];
        [&channels[usize::from(self.unbatched)..], &self.dims(self.output())].concat()
    }
    /// The input position that output position `out` reads through kernel tap `k`, `None`
    /// in the padding: `in = out·stride + k·dilation − before` per dim.
    fn input_position(&self, pads: [(usize, usize); 3], out: [usize; 3], k: [usize; 3]) -> Option<[usize; 3]> {
        let mut at = [0; 3];
        for a in 0..3 {
            let i = (out[a] * self.stride[a] + k[a] * self.dilation[a]) as isize - pads[a].0 as isize;
            if i < 0 || i >= self.input[a] as isize {
                return None;
            }
            at[a] = i as usize;
        }
        Some(at)
    }
    /// Calls `visit(out_index, input_index, weight_index)` for every product of the
    /// definition `out[n,o,p] = bias[o] + Σ_c Σ_k input[n, g·Cg + c, p·s + k·d − pad]·weight[o,c,k]`.
    fn for_each_tap(&self, mut visit: impl FnMut(usize, usize, usize)) {
        let (cg, og, output, pads) = (self.group_in, self.group_out, self.output(), self.pads());
        let (out_len, k_len): (usize, usize) = (output.iter().product(), self.kernel.iter().product());
        for n in 0..self.batch {
            for o in 0..self.out_channels() {
                for p in 0..out_len {
                    for c in 0..cg {
                        for k in 0..k_len {
                            let Some([i, j, l]) =
                                self.input_position(pads, unflatten(p, output), unflatten(k, self.kernel))
                            else {
                                continue;
                            };
                            let channel = n * self.in_channels() + o / og * cg + c;
                            let x = ((channel * self.input[0] + i) * self.input[1] + j) * self.input[2] + l;
                            visit((n * self.out_channels() + o) * out_len + p, x, (o * cg + c) * k_len + k);
                        }
                    }
                }
            }
        }
    }
}

/// The reference's `[output, grad_input, grad_weight, grad_bias]` for `data.grad_out`:
/// every product `x·w` of the forward contributes `grad_out·w` to `grad_input[x]` and
/// `grad_out·x` to `grad_weight[w]`; `grad_bias[o] = Σ grad_out[·, o, ·]`.
fn reference(case: &Case, data: &Data) -> [Vec<f64>; 4] {
    let (x, w, grad_out) = (&data.input, &data.weight, &data.grad_out);
    let sizes = [grad_out.len(), x.len(), w.len(), case.out_channels()];
    let [mut out, mut grad_input, mut grad_weight, mut grad_bias] = sizes.map(|n| vec![0.0f64; n]);
    case.for_each_tap(|o, i, k| {
        out[o] += x[i] as f64 * w[k] as f64;
        grad_input[i] += grad_out[o] as f64 * w[k] as f64;
        grad_weight[k] += grad_out[o] as f64 * x[i] as f64;
    });
    let out_len: usize = case.output().iter().product();
    for (index, &g) in grad_out.iter().enumerate() {
        let channel = index / out_len % case.out_channels();
        out[index] += data.bias.as_ref().map_or(0.0, |b| b[channel] as f64);
        grad_bias[channel] += g as f64;
    }
    [out, grad_input, grad_weight, grad_bias]
}

/// The reference through an explicit pad by `mode` (reflect, replicate or circular):
/// convolve the padded input without padding, then send each padded element's gradient
/// back to the input element it copies. Zeros is the plain reference.
fn reference_padded(case: &Case, mode: &str, data: &Data) -> [Vec<f64>; 4] {
    if mode == "zeros" {
        return reference(case, data);
    }
    let pads = case.pads();
    let padded_dims: [usize; 3] = std::array::from_fn(|a| case.input[a] + pads[a].0 + pads[a].1);
    let source = |p: usize, a: usize| -> usize {
        let (i, n) = (p as isize - pads[a].0 as isize, case.input[a] as isize);
        let s = match mode {
            "reflect" if i < 0 => -i,               // [a b c] → c b [a b c]
            "reflect" if i >= n => 2 * (n - 1) - i, // [a b c] → [a b c] b a
            "replicate" => i.clamp(0, n - 1),
            "circular" => i.rem_euclid(n),
            _ => i,
        };
        assert!((0..n).contains(&s), "{mode} pad larger than the input");
        s as usize
    };
    let (padded_len, in_len): (usize, usize) = (padded_dims.iter().product(), case.input.iter().product());
    let mut sources = Vec::new();
    for plane in 0..case.batch * case.in_channels() {
        for p in 0..padded_len {
            let [i, j, l] = unflatten(p, padded_dims);
            let [i, j, l] = [source(i, 0), source(j, 1), source(l, 2)];
            sources.push(plane * in_len + (i * case.input[1] + j) * case.input[2] + l);
        }
    }
    let padded = Data { input: sources.iter().map(|&s| data.input[s]).collect(), ..data.clone() };
    let padded_case = Case { input: padded_dims, padding: Pad::Valid, ..case.clone() };
    let [out, grad_padded, grad_weight, grad_bias] = reference(&padded_case, &padded);
    let mut grad_input = vec![0.0; data.input.len()];
    for (&source, g) in sources.iter().zip(grad_padded) {
        grad_input[source] += g;
    }
    [out, grad_input, grad_weight, grad_bias]
}

/// The reference's values, and the same sums over absolute values: Σ|terms|, the scale of
/// each sum's f32 rounding error.
fn expected(case: &Case, mode: &str, data: &Data) -> [[Vec<f64>; 4]; 2] {
    let abs = |v: &Vec<f32>| v.iter().map(|x| x.abs()).collect();
    let magnitudes = Data {
        input: abs(&data.input),
        weight: abs(&data.weight),
        bias: data.bias.as_ref().map(abs),
        grad_out: abs(&data.grad_out),
    };
    [reference_padded(case, mode, data), reference_padded(case, mode, &magnitudes)]
}

/// `got` (f32, from the crate) against `want` (the f64 reference), with `scale` = Σ|terms|.
/// An f32 sum of m terms is off by at most m·2⁻²⁴·Σ|terms|, and in practice by about
/// √m·2⁻²⁴·Σ|terms|; the sums here have m ≤ 10⁴ terms, so √m·2⁻²⁴ < 10⁻⁵.
fn assert_close(what: &str, got: &[f32], want: &[f64], scale: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: number of elements");
    for (i, ((&got, &want), &scale)) in got.iter().zip(want).zip(scale).enumerate() {
        let tolerance = 1e-5 * scale + 1e-6;
        assert!(
            (got as f64 - want).abs() <= tolerance,
            "{what}[{i}]: got {got}, want {want} (tolerance {tolerance:e})"
        );
    }
}

/// One spatial dim's draw: kernel, stride, dilation, pad before, pad after, extra input size.
type DimDraw = (usize, usize, usize, usize, usize, usize);

/// Random convolutions. `pointwise` forces a 1×1 kernel, stride 1 and no padding (the
/// path that uses the input as its column matrix); `pad_kinds` limits the padding to the
/// first kinds of `Int, PerDim, Valid, Same, Pairs`.
fn cases(pointwise: bool, pad_kinds: u8) -> impl Strategy<Value = Case> {
    (1usize..=3)
        .prop_flat_map(move |spatial| {
            let dim = (1usize..=4, 1usize..=3, 1usize..=3, 0usize..=2, 0usize..=2, 0usize..=6);
            let sizes = (1usize..=3, 1usize..=3, 1usize..=2, 1usize..=2);
            (prop::collection::vec(dim, spatial), sizes, 0..pad_kinds, any::<[bool; 3]>(), any::<u64>())
        })
        .prop_map(move |(dims, (batch, groups, group_in, group_out), pad_kind, [bias, unbatched, input_grad], seed)| {
            let pick = |f: fn(&DimDraw) -> usize| lift(&dims.iter().map(f).collect::<Vec<_>>(), 1);
            let pairs: Vec<_> = dims.iter().map(|d| if pointwise { (0, 0) } else { (d.3, d.4) }).collect();
            let padding = match pad_kind {
                0 => Pad::Int(pairs[0].0),
                1 => Pad::PerDim(pairs.iter().map(|p| p.0).collect()),
                2 => Pad::Valid,
                3 => Pad::Same,
                _ => Pad::Pairs(pairs),
            };
            let unit = pointwise || matches!(padding, Pad::Same);
            let mut case = Case {
                kernel: if pointwise { [1; 3] } else { pick(|d| d.0) },
                stride: if unit { [1; 3] } else { pick(|d| d.1) },
                dilation: pick(|d| d.2),
                padding,
                bias,
                unbatched: unbatched && batch == 1 && pad_kind < 4,
                input_grad,
                seed,
                ..Case::new(batch, groups, group_in, group_out, &[1, 1, 1][..dims.len()], &[1])
            };
            // Big enough for the kernel's reach, and larger than each pad (for reflect).
            let (pads, extra) = (case.pads(), pick(|d| d.5 + 1));
            case.input = std::array::from_fn(|a| {
                let reach = case.dilation[a] * (case.kernel[a] - 1) + 1;
                let (before, after) = pads[a];
                reach.saturating_sub(before + after).max(before.max(after) + 1) + extra[a] - 1
            });
            case
        })
}

#[derive(Clone)]
struct Data {
    input: Vec<f32>,
    weight: Vec<f32>,
    bias: Option<Vec<f32>>,
    grad_out: Vec<f32>,
}

fn data(case: &Case) -> Data {
    let mut rng = Rng(case.seed);
    Data {
        input: rng.values(case.input_shape().iter().product()),
        weight: rng.values(case.weight_shape().iter().product()),
        bias: case.bias.then(|| rng.values(case.out_channels())),
        grad_out: rng.values(case.output_shape().iter().product()),
    }
}

fn leaf(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).unwrap().requires_grad_(true)
}

/// What the crate computed: `[output, grad_input, grad_weight, grad_bias]`.
type Computed = [Option<Vec<f32>>; 4];

/// Checks the output's shape, back-propagates `data.grad_out` and collects the gradients.
fn finish(case: &Case, out: Tensor, input: &Tensor, weight: &Tensor, bias: Option<&Tensor>, data: &Data) -> Computed {
    assert_eq!(out.shape(), case.output_shape(), "output shape of {case:?}");
    out.backward_with(&Tensor::from_vec(data.grad_out.clone(), out.shape()).unwrap());
    let grad = |t: &Tensor| t.requires_grad().then(|| t.grad().expect("a gradient").to_vec());
    [Some(out.to_vec()), grad(input), grad(weight), bias.and_then(grad)]
}

/// `F::conv1d/2d/3d`, or `conv_nd` for (before, after) pairs.
fn run_functional(case: &Case, data: &Data) -> Computed {
    let input = leaf(&data.input, &case.input_shape()).requires_grad_(case.input_grad);
    let weight = leaf(&data.weight, &case.weight_shape());
    let bias = data.bias.as_ref().map(|b| leaf(b, &[b.len()]));
    let (stride, dilation, groups) = (case.dims(case.stride), case.dims(case.dilation), case.groups as i64);
    let out = match (&case.padding, case.spatial) {
        (Pad::Pairs(pairs), _) => {
            let geometry = ConvGeometry::new(input.shape(), weight.shape(), case.groups, &stride, &dilation, pairs);
            conv_nd(&input, &weight, bias.as_ref(), geometry)
        }
        (_, 1) => F::conv1d(&input, &weight, bias.as_ref(), stride, case.padding_arg(), dilation, groups),
        (_, 2) => F::conv2d(&input, &weight, bias.as_ref(), stride, case.padding_arg(), dilation, groups),
        _ => F::conv3d(&input, &weight, bias.as_ref(), stride, case.padding_arg(), dilation, groups),
    };
    finish(case, out, &input, &weight, bias.as_ref(), data)
}

/// `Conv{N}d` built with `padding_mode(mode)`, its parameters replaced by the case's data.
fn run_module<const N: usize>(case: &Case, mode: &str, data: &Data) -> Computed {
    let builder = Conv::<N>::builder(case.in_channels(), case.out_channels(), case.dims(case.kernel))
        .stride(case.dims(case.stride))
        .padding(case.padding_arg())
        .dilation(case.dims(case.dilation));
    let builder = builder.groups(case.groups).bias(case.bias).padding_mode(mode);
    let mut conv = with_global_rng(|| builder.build().unwrap());
    conv.weight = Parameter::new(Tensor::from_vec(data.weight.clone(), &case.weight_shape()).unwrap());
    conv.bias = data.bias.as_ref().map(|b| Parameter::new(Tensor::from_vec(b.clone(), &[b.len()]).unwrap()));
    let input = leaf(&data.input, &case.input_shape()).requires_grad_(case.input_grad);
    let out = conv.forward(&input);
    finish(case, out, &input, &conv.weight, conv.bias.as_deref(), data)
}

fn check(case: &Case, computed: &Computed, expected: &[[Vec<f64>; 4]; 2]) {
    assert_eq!(computed[1].is_some(), case.input_grad, "grad_input exactly when the input requires grad");
    let [want, scale] = expected;
    for (i, name) in ["output", "grad_input", "grad_weight", "grad_bias"].into_iter().enumerate() {
        if let Some(got) = &computed[i] {
            assert_close(name, got, &want[i], &scale[i]);
        }
    }
}

fn check_functional(case: &Case) {
    let data = data(case);
    check(case, &run_functional(case, &data), &expected(case, "zeros", &data));
}

// ----- 1. the functional and module paths against the reference -------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn functional_conv_matches_the_reference(case in cases(false, 5)) {
        check_functional(&case);
    }

    #[test]
    fn pointwise_conv_matches_the_reference(case in cases(true, 5)) {
        check_functional(&case);
    }

    #[test]
    fn module_padding_modes_match_the_reference(case in cases(false, 4), mode in 0usize..4) {
        let mode = ["zeros", "reflect", "replicate", "circular"][mode];
        let data = data(&case);
        let expected = expected(&case, mode, &data);
        let computed = match case.spatial {
            1 => run_module::<1>(&case, mode, &data),
            2 => run_module::<2>(&case, mode, &data),
            _ => run_module::<3>(&case, mode, &data),
        };
        check(&case, &computed, &expected);
    }

    // ----- 2. im2col against its definition; col2im as its adjoint ----------------------------

    #[test]
    fn col2im_is_the_adjoint_of_im2col(case in cases(false, 5)) {
        // One group of one sample: the slice of the input that im2col sees.
        let case = Case { batch: 1, groups: 1, unbatched: false, ..case };
        let (stride, dilation) = (case.dims(case.stride), case.dims(case.dilation));
        let pads = &case.pads()[3 - case.spatial..];
        let g = ConvGeometry::new(&case.input_shape(), &case.weight_shape(), 1, &stride, &dilation, pads);
        let output = case.output();
        prop_assert_eq!(g.output, output);
        prop_assert_eq!(g.output_shape(), case.output_shape());
        let (rows, out_len): (usize, usize) = (output[0] * output[1], output.iter().product());
        let (k_len, in_len): (usize, usize) = (case.kernel.iter().product(), case.input.iter().product());
        let mut rng = Rng(case.seed);
        let x = rng.values(case.group_in * in_len);
        let y = rng.values(case.group_in * k_len * out_len);

        let mut cols = vec![f32::NAN; y.len()];
        im2col(&x, &g, 0..rows, &mut cols);
        for c in 0..case.group_in {
            for k in 0..k_len {
                for p in 0..out_len {
                    let want = case
                        .input_position(case.pads(), unflatten(p, output), unflatten(k, case.kernel))
                        .map_or(0.0, |[i, j, l]| x[c * in_len + (i * g.input[1] + j) * g.input[2] + l]);
                    prop_assert_eq!(cols[(c * k_len + k) * out_len + p], want, "cols[c={}, k={}, p={}]", c, k, p);
                }
            }
        }
        // A range of output rows gives those rows' columns of the full matrix (the tiling).
        let start = (rng.next() as usize) % rows;
        let end = start + 1 + (rng.next() as usize) % (rows - start);
        let width = (end - start) * output[2];
        let mut tile = vec![f32::NAN; case.group_in * k_len * width];
        im2col(&x, &g, start..end, &mut tile);
        for (r, tile_row) in tile.chunks(width).enumerate() {
            prop_assert_eq!(tile_row, &cols[r * out_len + start * output[2]..][..width]);
        }

        // ⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩; col2im adds into its output, so start from zeros.
        let mut x_grad = vec![0.0f32; x.len()];
        col2im(&y, &g, 0..rows, &mut x_grad);
        let terms_left = cols.iter().zip(&y).map(|(&a, &b)| a as f64 * b as f64);
        let terms_right = x.iter().zip(&x_grad).map(|(&a, &b)| a as f64 * b as f64);
        let (left, right): (f64, f64) = (terms_left.clone().sum(), terms_right.sum());
        let scale: f64 = terms_left.map(f64::abs).sum();
        prop_assert!((left - right).abs() <= 1e-5 * scale + 1e-6, "{} vs {}", left, right);
    }
}

// ----- tiling and thread counts ---------------------------------------------------------------

#[test]
fn forward_output_row_tiles_match_the_reference() {
    // With fewer (sample, group) pairs than 2 × threads, conv_forward splits each pair's
    // output into tiles of whole output rows (≥ 256 columns each). Several thread counts
    // move the tile boundaries: a short last tile, and (3-d) tiles that cross depth slices.
    // The last case tiles on any thread count: its column matrix (144 rows × 100·102
    // columns) is over the 2²⁰-element cap of one task.
    let cases = [
        Case { dilation: [1, 1, 2], padding: Pad::PerDim(vec![1, 0]), ..Case::new(1, 1, 3, 4, &[41, 43], &[3, 2]) },
        Case { stride: [1, 2, 1], padding: Pad::Int(1), ..Case::new(1, 2, 1, 2, &[6, 9, 40], &[2, 3, 3]) },
        Case { padding: Pad::Same, dilation: [1, 2, 1], ..Case::new(1, 1, 2, 3, &[40, 40], &[2, 3]) },
        Case { bias: false, ..Case::new(1, 1, 5, 3, &[40, 41], &[1, 1]) },
        Case { padding: Pad::Int(1), ..Case::new(4, 1, 16, 2, &[100, 102], &[3, 3]) },
    ];
    for case in &cases {
        let data = data(case);
        let expected = expected(case, "zeros", &data);
        for threads in [1, 2, 3, 5] {
            check(case, &in_pool(threads, || run_functional(case, &data)), &expected);
        }
    }
}

#[test]
fn grad_weight_is_bit_identical_on_any_thread_count() {
    // 9 samples: grad_weight sums fixed chunks of samples (4 + 4 + 1) in a fixed order.
    let case = Case { stride: [1, 2, 1], padding: Pad::Int(1), ..Case::new(9, 2, 2, 3, &[13, 11], &[3, 3]) };
    let data = data(&case);
    let runs: Vec<Computed> = [1, 2, 3, 4].into_iter().map(|t| in_pool(t, || run_functional(&case, &data))).collect();
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for (run, threads) in runs.iter().zip([1, 2, 3, 4]).skip(1) {
        for (name, i) in [("grad_weight", 2), ("grad_bias", 3)] {
            let (got, want) = (run[i].as_ref().unwrap(), runs[0][i].as_ref().unwrap());
            assert_eq!(bits(got), bits(want), "{name} on {threads} threads vs 1 thread");
        }
    }
    let expected = expected(&case, "zeros", &data);
    check(&case, &runs[0], &expected);
}

#[test]
fn one_sample_shares_its_groups_between_threads_with_identical_results() {
    // Batch 1 gives fewer tiles than tasks, so the forward shares the groups out as well;
    // a depthwise case (direct kernels) and a grouped one (GEMM), each on 1-4 threads.
    for (group_in, group_out) in [(1, 1), (2, 3)] {
        let case = Case { padding: Pad::Int(1), ..Case::new(1, 5, group_in, group_out, &[9, 7], &[3, 3]) };
        let data = data(&case);
        let runs: Vec<Computed> =
            [1, 2, 3, 4].into_iter().map(|t| in_pool(t, || run_functional(&case, &data))).collect();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for (run, threads) in runs.iter().zip([1, 2, 3, 4]).skip(1) {
            let (got, want) = (run[0].as_ref().unwrap(), runs[0][0].as_ref().unwrap());
            assert_eq!(bits(got), bits(want), "output on {threads} threads vs 1 thread");
        }
        check(&case, &runs[0], &expected(&case, "zeros", &data));
    }
}

#[test]
fn depthwise_kernels_match_the_reference_on_every_path() {
    // One input channel per group runs the direct kernels of conv_depthwise: over a whole
    // span of output rows (stride 1), or row by row (a stride, or a span that is mostly
    // gaps). 1 to 3 output channels per group (they add into one input gradient), 1-, 2-
    // and 3-d, asymmetric padding, dilation, and rows longer than the 16-output blocks.
    // (The random cases above reach these paths too, but 48 draws missed a broken input
    // gradient that this list catches.)
    let mut cases = Vec::new();
    for group_out in [1, 2, 3] {
        cases.extend([
            Case { padding: Pad::Int(1), ..Case::new(2, 3, 1, group_out, &[37], &[3]) },
            Case { padding: Pad::Int(1), ..Case::new(2, 3, 1, group_out, &[9, 21], &[3, 3]) },
            Case { padding: Pad::Pairs(vec![(2, 0), (0, 3)]), ..Case::new(1, 2, 1, group_out, &[7, 18], &[3, 2]) },
            Case { dilation: [1, 2, 3], padding: Pad::Same, ..Case::new(1, 2, 1, group_out, &[8, 19], &[3, 3]) },
            Case { padding: Pad::Valid, ..Case::new(2, 2, 1, group_out, &[6, 20], &[5, 5]) },
            Case { stride: [1, 1, 2], padding: Pad::Int(1), ..Case::new(2, 2, 1, group_out, &[9, 33], &[3, 3]) },
            Case { stride: [1, 3, 1], padding: Pad::Int(2), ..Case::new(1, 2, 1, group_out, &[11, 17], &[3, 3]) },
            Case { padding: Pad::Int(1), ..Case::new(1, 2, 1, group_out, &[4, 5, 18], &[3, 3, 3]) },
        ]);
    }
    for case in &cases {
        check_functional(case);
    }
}

#[test]
fn kernel_column_wholly_in_the_right_padding() {
    // W = 3, kernel width 3, dilation 3, padding 2: padded width 7 = the kernel's reach, so
    // one output column; kernel column 2 reads iw = 0 + 2·3 − 2 = 4, past the input's end.
    // PyTorch accepts this (a regression test: im2col/col2im once sliced the row at 4).
    let case = Case { dilation: [1, 1, 3], padding: Pad::Int(2), ..Case::new(1, 1, 1, 1, &[3, 3], &[1, 3]) };
    check_functional(&case);
}

#[test]
fn huge_padding_with_a_huge_stride_matches_the_reference() {
    // H: padding 2²⁰ and stride 2²⁰ leave 3 output rows, but the padded extent is 2²¹ rows:
    // im2col/col2im walk the input element by element instead of building it, and the
    // depthwise case (one input channel per group) leaves the direct kernels for GEMM.
    // (Found by fuzz_configs: with 2⁴⁰ the padded copy aborted on allocation.)
    for group_in in [1, 2] {
        let case = Case {
            stride: [1, 1 << 20, 3],
            padding: Pad::PerDim(vec![1 << 20, 1]),
            ..Case::new(2, 2, group_in, 2, &[3, 4], &[2, 2])
        };
        assert_eq!(case.output(), [1, 3, 2]);
        check_functional(&case);
        // A dilated 3×3 kernel whose taps straddle an 81×81 padded plane to read a 2×2
        // input: padding would copy far more than the 9 column entries, so im2col walks.
        let atrous =
            Case { dilation: [1, 40, 40], padding: Pad::Int(40), ..Case::new(2, 2, group_in, 2, &[2, 2], &[3, 3]) };
        assert_eq!(atrous.output(), [1, 2, 2]);
        check_functional(&atrous);
    }
}

// ----- 3. gradcheck ---------------------------------------------------------------------------

/// Convolution and padding are linear in each argument, so a central difference is exact
/// for any step but for f32 rounding; a large step keeps that rounding (≈ |out|·2⁻²⁴·(outputs
/// touched) / step) far below the tolerances.
const LINEAR: GradcheckOptions = GradcheckOptions { eps: 0.05, atol: 1e-3, rtol: 1e-3 };

fn random_leaf(seed: u64, shape: &[usize]) -> Tensor {
    leaf(&Rng(seed).values(shape.iter().product()), shape)
}

#[test]
fn gradcheck_padding_modes_through_f_pad_and_the_module() {
    // groups 2, stride (2, 1), dilation (1, 2), padding (1, 2); zeros is folded into im2col.
    let x = random_leaf(1, &[2, 4, 7, 8]);
    let (w, b) = (random_leaf(2, &[4, 2, 3, 2]), random_leaf(3, &[4]));
    for mode in ["zeros", "reflect", "replicate", "circular"] {
        let f = |t: &[Tensor]| {
            if mode == "zeros" {
                F::conv2d(&t[0], &t[1], Some(&t[2]), [2, 1], [1, 2], [1, 2], 2)
            } else {
                let padded = F::pad(&t[0], &[2, 2, 1, 1], mode, None);
                F::conv2d(&padded, &t[1], Some(&t[2]), [2, 1], 0, [1, 2], 2)
            }
        };
        gradcheck_with(f, &[x.clone(), w.clone(), b.clone()], LINEAR).unwrap_or_else(|e| panic!("F {mode}: {e}"));

        // The module, with explicit padding and with 'same' (asymmetric for an even kernel).
        // `Parameter::new` detaches, so the module's weights cannot be gradcheck's inputs:
        // this checks grad_input; the proptest above checks the module's weight gradients.
        let explicit = Conv2d::builder(4, 4, [3, 2]).stride([2, 1]).padding([1, 2]).dilation([1, 2]).groups(2);
        let same = Conv2d::builder(4, 2, [2, 4]).padding("same").dilation([2, 1]);
        for (name, builder) in [("explicit", explicit), ("same", same)] {
            let mut conv = with_global_rng(|| builder.padding_mode(mode).build().unwrap());
            conv.weight = Parameter::new(random_leaf(4, conv.weight.shape())).requires_grad_(false);
            gradcheck_with(|t| conv.forward(&t[0]), std::slice::from_ref(&x), LINEAR)
                .unwrap_or_else(|e| panic!("Conv2d {name} {mode}: {e}"));
        }
    }
}

#[test]
fn gradcheck_groups_dilation_stride_same_1d_3d() {
    type Check = (&'static str, Vec<usize>, Vec<usize>, fn(&[Tensor]) -> Tensor);
    let checks: [Check; 5] = [
        ("groups 3, stride 2, dilation 2", vec![1, 6, 9, 8], vec![3, 2, 3, 3], |t| {
            F::conv2d(&t[0], &t[1], Some(&t[2]), 2, 1, 2, 3)
        }),
        ("'same', even kernel", vec![2, 2, 6, 7], vec![3, 2, 2, 4], |t| {
            F::conv2d(&t[0], &t[1], Some(&t[2]), 1, "same", [2, 1], 1)
        }),
        ("unbatched conv2d", vec![3, 5, 6], vec![2, 3, 2, 3], |t| {
            F::conv2d(&t[0], &t[1], Some(&t[2]), [1, 2], 1, 1, 1)
        }),
        ("conv1d", vec![2, 4, 11], vec![6, 2, 3], |t| F::conv1d(&t[0], &t[1], Some(&t[2]), 2, 2, 2, 2)),
        ("conv3d", vec![1, 2, 4, 5, 4], vec![2, 2, 2, 3, 2], |t| {
            F::conv3d(&t[0], &t[1], Some(&t[2]), [1, 2, 1], [1, 0, 1], [2, 1, 1], 1)
        }),
    ];
    for (i, (name, input, weight, f)) in checks.into_iter().enumerate() {
        let seed = 10 * i as u64;
        let inputs = [random_leaf(seed, &input), random_leaf(seed + 1, &weight), random_leaf(seed + 2, &[weight[0]])];
        gradcheck_with(f, &inputs, LINEAR).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

// ----- 5. default initialisation --------------------------------------------------------------

/// Checks that `values` look like independent draws of U(−bound, bound), whose standard
/// deviation is σ = bound/√3. With n draws:
/// * the mean has standard error σ/√n;
/// * the sample std has standard error ≈ σ/√(5n) (delta method: Var(s²) ≈ (μ₄ − σ⁴)/n with
///   μ₄ = bound⁴/5 for the uniform, so SE(s) ≈ √(μ₄ − σ⁴)/(2σ√n) = σ/√(5n));
/// * P(max|v| < bound·(1 − 20/n)) = (1 − 20/n)ⁿ ≈ e⁻²⁰ (a too-narrow range fails).
///
/// The tolerances are 5 standard errors: a correct initialiser fails with probability
/// < 10⁻⁶, while a wrong bound (e.g. fan_in counting all in_channels, or gain √2) is off
/// by many.
fn assert_uniform(what: &str, values: &[f32], bound: f64) {
    let n = values.len() as f64;
    let sigma = bound / 3f64.sqrt();
    let max = values.iter().map(|v| v.abs() as f64).fold(0.0, f64::max);
    // A draw in [−bound, bound) rounded to f32 may land one f32 ulp outside.
    assert!(max <= bound * (1.0 + 2f64.powi(-23)), "{what}: |value| {max} > bound {bound}");
    assert!(max >= bound * (1.0 - 20.0 / n), "{what}: max |value| {max} far below bound {bound}");
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
    let std = (values.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    assert!(mean.abs() <= 5.0 * sigma / n.sqrt(), "{what}: mean {mean} (σ {sigma}, n {n})");
    assert!((std - sigma).abs() <= 5.0 * sigma / (5.0 * n).sqrt(), "{what}: std {std}, want {sigma} (n {n})");
}

#[test]
fn default_initialisation_is_uniform_within_one_over_sqrt_fan_in() {
    type Build = fn() -> (Vec<usize>, Vec<f32>, Vec<f32>);
    fn parts<const N: usize>(conv: Conv<N>) -> (Vec<usize>, Vec<f32>, Vec<f32>) {
        (conv.weight.shape().to_vec(), conv.weight.to_vec(), conv.bias.expect("bias").to_vec())
    }
    // (name, fan_in = in_channels / groups · ∏kernel, weight shape, build)
    let configs: [(&str, usize, &[usize], Build); 5] = [
        ("Conv2d(16, 32, 3)", 16 * 9, &[32, 16, 3, 3], || parts(Conv2d::new(16, 32, 3).unwrap())),
        ("Conv2d(16, 32, 3, groups=4)", 4 * 9, &[32, 4, 3, 3], || {
            parts(Conv2d::builder(16, 32, 3).groups(4).build().unwrap())
        }),
        ("Conv2d(6, 10, (2, 5))", 6 * 10, &[10, 6, 2, 5], || parts(Conv2d::new(6, 10, [2, 5]).unwrap())),
        ("Conv1d(8, 16, 5)", 8 * 5, &[16, 8, 5], || parts(Conv1d::new(8, 16, 5).unwrap())),
        ("Conv3d(4, 8, (2, 3, 3))", 4 * 18, &[8, 4, 2, 3, 3], || parts(Conv3d::new(4, 8, [2, 3, 3]).unwrap())),
    ];
    // Biases are few per module: pool 30 modules so both samples have hundreds of values.
    const MODULES: usize = 30;
    for (i, (name, fan_in, shape, build)) in configs.into_iter().enumerate() {
        let (modules, again) = with_global_rng(|| {
            manual_seed(1000 + i as u64);
            let modules: Vec<_> = (0..MODULES).map(|_| build()).collect();
            manual_seed(1000 + i as u64);
            (modules, build())
        });
        assert_eq!(again, modules[0], "{name}: manual_seed must reproduce the parameters");
        assert!(modules.iter().all(|m| m.0 == shape), "{name}: weight shape");
        let weights: Vec<f32> = modules.iter().flat_map(|m| m.1.clone()).collect();
        let biases: Vec<f32> = modules.iter().flat_map(|m| m.2.clone()).collect();
        let bound = 1.0 / (fan_in as f64).sqrt();
        assert_uniform(&format!("{name} weight"), &weights, bound);
        assert_uniform(&format!("{name} bias"), &biases, bound);
    }
}

#[test]
fn zero_input_channels_give_the_bias_and_empty_gradients() {
    // PyTorch accepts in_channels = 0: every output is the bias (no term in the sum), and
    // the gradients of the empty input and weight are empty tensors. Several samples per
    // tile exercise the side-by-side column matrix with no rows.
    let x = Tensor::ones(&[3, 0, 5, 5]).requires_grad_(true);
    let w = Tensor::ones(&[2, 0, 3, 3]).requires_grad_(true);
    let b = Tensor::from_vec(vec![1.5, -2.0], &[2]).unwrap().requires_grad_(true);
    let y = F::conv2d(&x, &w, Some(&b), 1, 1, 1, 1);
    assert_eq!(y.shape(), &[3, 2, 5, 5]);
    let expected: Vec<f32> = (0..3).flat_map(|_| [vec![1.5; 25], vec![-2.0; 25]].concat()).collect();
    assert_eq!(y.to_vec(), expected);
    y.sum().backward();
    assert_eq!(x.grad().unwrap().shape(), &[3, 0, 5, 5]);
    assert_eq!(w.grad().unwrap().shape(), &[2, 0, 3, 3]);
    assert_eq!(b.grad().unwrap().to_vec(), vec![75.0, 75.0]); // 3 samples × 25 positions
}
