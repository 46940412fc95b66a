//! The timing rule of `cases.json`, as `pytorch_bench.py`'s `bench` applies it.

use std::hint::black_box;
use std::time::Instant;

use crate::spec::Timing;

/// The timed calls of one measurement.
#[derive(Debug, Clone, Copy)]
pub struct Measurement {
    /// Median call time (the mean of the two middle ones for an even count), ms.
    pub median_ms: f64,
    /// Fastest call, ms.
    pub min_ms: f64,
    /// Number of timed calls.
    pub iters: usize,
}

/// Warms up with `call`, then times calls one by one. Each call's result is dropped inside
/// its timed interval (freeing a graph is part of the work, as in Python).
pub fn measure<R>(timing: &Timing, mut call: impl FnMut() -> R) -> Measurement {
    let start = Instant::now();
    let mut calls = 0;
    while calls < timing.warmup_iters || start.elapsed().as_secs_f64() < timing.warmup_s {
        black_box(call());
        calls += 1;
        if calls >= timing.max_iters {
            break;
        }
    }
    let mut times_ms = Vec::new();
    let start = Instant::now();
    while times_ms.len() < timing.min_iters
        || (start.elapsed().as_secs_f64() < timing.target_s && times_ms.len() < timing.max_iters)
    {
        let t = Instant::now();
        black_box(call());
        times_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Measurement {
        median_ms: median(&mut times_ms),
        min_ms: times_ms.iter().copied().fold(f64::INFINITY, f64::min),
        iters: times_ms.len(),
    }
}

/// Python's `statistics.median`.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2.0 }
}
