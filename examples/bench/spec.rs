//! The case file (`benches/cases.json`, shared with every other engine) and the
//! deterministic data its `definitions.init` prescribes.

use serde::Deserialize;

/// The parts of `cases.json` this engine reads; other keys (`about`, `definitions`, ...)
/// are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct CaseFile {
    /// The timing rule.
    pub timing: Timing,
    /// Convolution cases: forward and forward + backward.
    #[serde(default)]
    pub conv: Vec<ConvCase>,
    /// Training-step cases.
    #[serde(default)]
    pub train: Vec<TrainCase>,
    /// Matrix-multiplication cases.
    #[serde(default)]
    pub sgemm: Vec<SgemmCase>,
}

/// Warm up (≥ `warmup_iters` calls and ≥ `warmup_s` seconds), then time calls one by one
/// until ≥ `min_iters` calls and ≥ `target_s` seconds, at most `max_iters`; the median counts.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Timing {
    pub warmup_iters: usize,
    pub warmup_s: f64,
    pub min_iters: usize,
    pub target_s: f64,
    pub max_iters: usize,
}

impl Timing {
    /// The `--quick` budget of the contract: 1 warm-up call, 2 timed calls.
    pub fn quick(self) -> Timing {
        Timing { warmup_iters: 1, warmup_s: 0.0, min_iters: 2, target_s: 0.0, ..self }
    }
}

/// One conv case: `y = conv2d(x, w, b)` with `x` (n, c_in, h, w) and `w`
/// (c_out, c_in/groups, kh, kw), NCHW/OIHW, `f32`.
#[derive(Debug, Clone, Deserialize)]
pub struct ConvCase {
    pub name: String,
    pub n: usize,
    pub c_in: usize,
    pub c_out: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub padding: PaddingSpec,
    pub dilation: usize,
    pub groups: usize,
}

/// `"padding"`: an integer (the same on every side) or a string (`"same"`, `"valid"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PaddingSpec {
    Int(usize),
    Text(String),
}

/// One training-step case (only the LeNet-5 shape exists).
#[derive(Debug, Clone, Deserialize)]
pub struct TrainCase {
    pub name: String,
    pub batch: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub classes: usize,
    pub layers: String,
    pub lr: f64,
    pub momentum: f64,
}

/// `C (m × n) = A (m × k) · B (k × n)`, row-major, `C` overwritten.
#[derive(Debug, Clone, Deserialize)]
pub struct SgemmCase {
    pub name: String,
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

/// Which of the three `definitions.init` formulas fills a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// `x[i] = ((i·37 + 11) mod 101) / 101 − 0.5`
    X,
    /// `w[i] = (((i·53 + 7) mod 97) / 97 − 0.5) · 0.2`
    W,
    /// `b[i] = (((i·13 + 3) mod 17) / 17 − 0.5) · 0.1`
    B,
}

/// `len` values of formula `init` over the flat index `i`, times `scale`: computed in `f64`
/// and cast to `f32` last, exactly as `pytorch_bench.py`'s `init_values` (numpy) does.
pub fn init_values(init: Init, len: usize, scale: f64) -> Vec<f32> {
    (0..len as u64)
        .map(|i| {
            let v = match init {
                Init::X => ((i * 37 + 11) % 101) as f64 / 101.0 - 0.5,
                Init::W => (((i * 53 + 7) % 97) as f64 / 97.0 - 0.5) * 0.2,
                Init::B => (((i * 13 + 3) % 17) as f64 / 17.0 - 0.5) * 0.1,
            };
            (v * scale) as f32
        })
        .collect()
}

/// `Σ v` and `Σ |v|` of `f32` values, accumulated in `f64` (the contract's check sums).
pub fn sums<'a>(values: impl IntoIterator<Item = &'a f32>) -> (f64, f64) {
    values.into_iter().fold((0.0, 0.0), |(sum, abs), &v| (sum + v as f64, abs + (v as f64).abs()))
}
