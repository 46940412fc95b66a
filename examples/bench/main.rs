//! The benchmark program of the shared engine contract (`benches/cases.json`): convolution
//! forward and forward + backward, a LeNet-5 training step, and sgemm, timed the same way
//! as the PyTorch reference `pytorch_bench.py`.
//!
//! ```text
//! cargo run --release --example bench -- --threads 2 --cases benches/cases.json
//! cargo run --release --example bench -- --threads 1 --only resnet_c,lenet_train --quick
//! ```
//!
//! stdout holds one JSON object per line: first an `"_info"` line (as the reference
//! prints), then one per case, e.g.
//! `{"engine":"tapegrad","threads":2,"case":"cifar_c","kind":"conv","status":"ok","fwd_ms":...,
//! "fwdbwd_ms":...,"gflops":...,"fwdbwd_gflops":...,"check":{"y_sum":...,...}}`. A case that
//! cannot run as specified is `"status":"unsupported"` with a `"note"`. Everything else goes
//! to stderr. `docs/performance.md` has the numbers and how they compare with PyTorch's.

mod conv;
mod sgemm;
mod spec;
mod timing;
mod train;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use clap::Parser;
use serde_json::{Value, json};

use conv::ConvInputs;
use sgemm::SgemmInputs;
use spec::{CaseFile, ConvCase, SgemmCase, Timing, TrainCase, sums};
use timing::measure;
use train::TrainStep;

const ENGINE: &str = "tapegrad";

/// Run the shared benchmark cases and print one JSON line per case.
#[derive(Parser)]
struct Args {
    /// Threads of rayon's global pool (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// The case file.
    #[arg(long, default_value = "benches/cases.json")]
    cases: PathBuf,
    /// Comma-separated case names to run (default: all).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// 1 warm-up call and 2 timed calls per measurement (smoke tests only).
    #[arg(long)]
    quick: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if let Some(threads) = args.threads {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build_global()?;
    }
    let threads = rayon::current_num_threads();
    let text = std::fs::read_to_string(&args.cases).map_err(|e| format!("{}: {e}", args.cases.display()))?;
    let file: CaseFile = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", args.cases.display()))?;
    let timing = if args.quick { file.timing.quick() } else { file.timing };
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run with --release for meaningful times");
    }

    let known: Vec<&str> = file
        .conv
        .iter()
        .map(|c| c.name.as_str())
        .chain(file.train.iter().map(|c| c.name.as_str()))
        .chain(file.sgemm.iter().map(|c| c.name.as_str()))
        .collect();
    for name in args.only.iter().filter(|n| !known.contains(&n.as_str())) {
        eprintln!("warning: --only names an unknown case {name:?}");
    }
    let wanted = |name: &str| args.only.is_empty() || args.only.iter().any(|n| n == name);

    let bench = Bench { threads, timing };
    bench.emit(json!({
        "engine": ENGINE, "threads": threads, "case": "_info", "kind": "info",
        "version": env!("CARGO_PKG_VERSION"), "release": !cfg!(debug_assertions),
        "rayon_threads": threads, "simd": simd_level(),
        "gemm": tapegrad::ops::gemm::BACKEND,
    }));
    for case in file.conv.iter().filter(|c| wanted(&c.name)) {
        bench.run(&case.name, "conv", || bench.conv(case));
    }
    for case in file.train.iter().filter(|c| wanted(&c.name)) {
        bench.run(&case.name, "train", || bench.train(case));
    }
    for case in file.sgemm.iter().filter(|c| wanted(&c.name)) {
        bench.run(&case.name, "sgemm", || bench.sgemm(case));
    }
    Ok(())
}

/// The widest SIMD the CPU offers that matrixmultiply's kernels use (it picks one at run time).
fn simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            return "avx512f";
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return "avx2+fma";
        }
    }
    "baseline"
}

/// The settings every case shares.
struct Bench {
    threads: usize,
    timing: Timing,
}

impl Bench {
    fn emit(&self, record: Value) {
        println!("{record}");
    }

    /// Runs one case and prints its line: the fields `body` returns, or `"unsupported"`
    /// with a note when it returns one or panics (the panic message is the note).
    fn run(&self, name: &str, kind: &str, body: impl FnOnce() -> Result<Value, String>) {
        eprintln!("{name}...");
        let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("tapegrad panicked: {message}"))
        });
        let mut record = serde_json::Map::new();
        record.insert("engine".into(), ENGINE.into());
        record.insert("threads".into(), self.threads.into());
        record.insert("case".into(), name.into());
        record.insert("kind".into(), kind.into());
        match outcome {
            Ok(Value::Object(fields)) => {
                record.insert("status".into(), "ok".into());
                record.extend(fields);
            }
            Ok(other) => unreachable!("a case returns an object, not {other}"),
            Err(note) => {
                eprintln!("{name}: unsupported: {note}");
                record.insert("status".into(), "unsupported".into());
                record.insert("note".into(), note.into());
            }
        }
        self.emit(Value::Object(record));
    }

    fn conv(&self, case: &ConvCase) -> Result<Value, String> {
        let inputs = ConvInputs::new(case)?;
        let check = inputs.check();
        let fwd = measure(&self.timing, || inputs.forward());
        let fwdbwd = measure(&self.timing, || inputs.forward_backward());
        let flops = inputs.flops(&check.y_shape);
        Ok(json!({
            "fwd_ms": fwd.median_ms, "fwdbwd_ms": fwdbwd.median_ms,
            "gflops": flops as f64 / (fwd.median_ms * 1e6),
            "fwdbwd_gflops": 3.0 * flops as f64 / (fwdbwd.median_ms * 1e6),
            "fwd_min_ms": fwd.min_ms, "fwdbwd_min_ms": fwdbwd.min_ms,
            "fwd_iters": fwd.iters, "fwdbwd_iters": fwdbwd.iters, "flops": flops,
            "check": {
                "y_sum": check.y_sum, "y_abs": check.y_abs, "gx_abs": check.gx_abs,
                "gw_abs": check.gw_abs, "gb_abs": check.gb_abs, "y_shape": check.y_shape,
            },
        }))
    }

    fn train(&self, case: &TrainCase) -> Result<Value, String> {
        let mut step = TrainStep::new(case)?;
        // Same init and the same SGD rule give the same losses in every engine.
        let losses: Vec<f32> = (0..5).map(|_| step.step()).collect();
        let timed = measure(&self.timing, || step.step());
        Ok(json!({
            "step_ms": timed.median_ms, "step_min_ms": timed.min_ms, "step_iters": timed.iters,
            "images_per_s": case.batch as f64 / (timed.median_ms / 1e3),
            "check": {"first_loss": losses[0], "loss5": losses[4]},
        }))
    }

    fn sgemm(&self, case: &SgemmCase) -> Result<Value, String> {
        let mut inputs = SgemmInputs::new(case);
        inputs.multiply();
        let (c_sum, _) = sums(inputs.c.iter());
        let timed = measure(&self.timing, || inputs.multiply());
        let flops = 2 * (case.m * case.n * case.k) as u64;
        Ok(json!({
            "ms": timed.median_ms, "min_ms": timed.min_ms, "iters": timed.iters,
            "gflops": flops as f64 / (timed.median_ms * 1e6), "flops": flops, "check": {"c_sum": c_sum},
        }))
    }
}
