//! Keeps the benchmark program (`examples/bench`) honest without timing anything: its
//! deterministic data and check sums, for the cheap cases of `benches/cases.json`, must
//! equal what PyTorch computes for the same cases.
//!
//! The expected values were printed by the reference engine, PyTorch 2.15.0 (CPU):
//!
//! ```text
//! python3 ../shared/bench/pytorch_bench.py --threads 1 --only seed,seed_valid,lenet_train --quick
//! ```
//!
//! (identical at 1 and 2 threads and in every run; see `docs/performance.md`). The engine
//! contract asks for agreement to about 1e-4 relative.

// The bench's own modules, so that this test checks the code the bench runs.
#[path = "../examples/bench/conv.rs"]
#[allow(dead_code)]
mod conv;
#[path = "../examples/bench/spec.rs"]
#[allow(dead_code)]
mod spec;
#[path = "../examples/bench/train.rs"]
#[allow(dead_code)]
mod train;

use conv::{ConvCheck, ConvInputs};
use spec::{CaseFile, Init, init_values};
use train::TrainStep;

const TOLERANCE: f64 = 1e-4;

fn cases() -> CaseFile {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/cases.json");
    let text = std::fs::read_to_string(path).expect("benches/cases.json is readable");
    serde_json::from_str(&text).expect("benches/cases.json parses")
}

#[track_caller]
fn assert_close(what: &str, actual: f64, expected: f64) {
    let relative = (actual - expected).abs() / expected.abs().max(1e-12);
    assert!(
        relative <= TOLERANCE,
        "{what}: tapegrad {actual}, PyTorch {expected} (relative difference {relative:.2e})"
    );
}

fn conv_check(name: &str) -> ConvCheck {
    let file = cases();
    let case = file.conv.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no conv case {name}"));
    ConvInputs::new(case).expect("a supported case").check()
}

#[track_caller]
fn assert_check(actual: &ConvCheck, expected: &ConvCheck) {
    assert_eq!(actual.y_shape, expected.y_shape, "y_shape");
    assert_close("y_sum", actual.y_sum, expected.y_sum);
    assert_close("y_abs", actual.y_abs, expected.y_abs);
    assert_close("gx_abs", actual.gx_abs, expected.gx_abs);
    assert_close("gw_abs", actual.gw_abs, expected.gw_abs);
    assert_close("gb_abs", actual.gb_abs, expected.gb_abs);
}

#[test]
fn init_formulas_match_numpy() {
    // numpy: ((i*37+11)%101)/101.0 - 0.5, etc., cast to float32, for i = 0, 1, 2.
    assert_eq!(
        init_values(Init::X, 3, 1.0),
        [11.0 / 101.0 - 0.5, 48.0 / 101.0 - 0.5, 85.0 / 101.0 - 0.5].map(|v| v as f32)
    );
    assert_eq!(init_values(Init::W, 2, 1.0), [(7.0 / 97.0 - 0.5) * 0.2, (60.0 / 97.0 - 0.5) * 0.2].map(|v| v as f32));
    assert_eq!(init_values(Init::B, 2, 1.0), [(3.0 / 17.0 - 0.5) * 0.1, (16.0 / 17.0 - 0.5) * 0.1].map(|v| v as f32));
}

#[test]
fn seed_case_matches_pytorch() {
    // 'same' padding with an even (2x2) kernel: one extra zero row and column after.
    let expected = ConvCheck {
        y_sum: -0.46656510967295617,
        y_abs: 0.5352548043010756,
        gx_abs: 1.508247509598732,
        gw_abs: 1.2920790612697601,
        gb_abs: 16.0,
        y_shape: vec![1, 1, 4, 4],
    };
    assert_check(&conv_check("seed"), &expected);
}

#[test]
fn seed_valid_case_matches_pytorch() {
    let expected = ConvCheck {
        y_sum: -0.27323221031110734,
        y_abs: 0.3419219049392268,
        gx_abs: 1.1752577628940344,
        gw_abs: 0.9009899795055389,
        gb_abs: 9.0,
        y_shape: vec![1, 1, 3, 3],
    };
    assert_check(&conv_check("seed_valid"), &expected);
}

#[test]
fn lenet_train_losses_match_pytorch() {
    let file = cases();
    let case = file.train.iter().find(|c| c.name == "lenet_train").expect("the lenet_train case");
    let mut step = TrainStep::new(case).expect("LeNet5 runs the case");
    let losses: Vec<f32> = (0..5).map(|_| step.step()).collect();
    assert_close("first_loss", losses[0] as f64, 2.303230047225952);
    assert_close("loss5", losses[4] as f64, 2.3031561374664307);
}

#[test]
fn every_case_of_the_file_is_understood() {
    let file = cases();
    assert!(file.conv.len() >= 9 && !file.train.is_empty() && file.sgemm.len() >= 4);
    for case in &file.conv {
        // Builds the inputs only; running the big cases is the bench's job.
        assert!(ConvInputs::new(case).is_ok(), "{}", case.name);
    }
}
