//! Conformance with PyTorch: one test per family of tests/data/conformance/.
//!
//! The same runner prints a report with `cargo run --release --example conformance --
//! tests/data/conformance`.

mod conformance_runner;

use std::path::PathBuf;

use conformance_runner::{Report, run_file};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/conformance")
}

fn run(family: &str) -> Report {
    run_file(&data_dir().join(format!("{family}.json"))).unwrap_or_else(|e| panic!("cannot read {family}: {e}"))
}

/// Fails on any failed case, and on unsupported cases other than the ops listed (which
/// later work adds): so a supported op can never silently stop being checked.
fn assert_family(family: &str, not_yet_supported_ops: &[&str]) {
    let report = run(family);
    println!("{}", report.summary());
    let failures: Vec<String> = report.failed.iter().map(|(name, why)| format!("{name}: {why}")).collect();
    assert!(failures.is_empty(), "{family}: failed cases:\n{}", failures.join("\n"));
    let unexpected: Vec<&(String, String)> =
        report.unsupported.iter().filter(|(_, op)| !not_yet_supported_ops.contains(&op.as_str())).collect();
    assert!(unexpected.is_empty(), "{family}: cases unsupported although their op should be: {unexpected:?}");
    assert!(!report.passed.is_empty() || !not_yet_supported_ops.is_empty(), "{family}: no case ran");
}

#[test]
fn functional() {
    assert_family("functional", &[]);
}

#[test]
fn conv1d() {
    assert_family("conv1d", &[]);
}

#[test]
fn conv2d() {
    assert_family("conv2d", &[]);
}

#[test]
fn conv3d() {
    assert_family("conv3d", &[]);
}

#[test]
fn pad() {
    assert_family("pad", &[]);
}

#[test]
fn conv2d_errors() {
    assert_family("conv2d_errors", &[]);
}

#[test]
fn init() {
    assert_family("init", &[]);
}

#[test]
fn losses() {
    assert_family("losses", &[]);
}

#[test]
fn optim() {
    assert_family("optim", &[]);
}

#[test]
fn training() {
    assert_family("training", &[]);
}

#[test]
fn every_file_parses_and_no_case_fails() {
    for entry in std::fs::read_dir(data_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let report = run_file(&path).unwrap();
            assert!(report.failed.is_empty(), "{}: {:?}", report.family, report.failed);
        }
    }
}
