//! The PyTorch conformance runner, shared by `cargo test --test conformance` and
//! `cargo run --release --example conformance -- <DIR>`.
//!
//! It reads the JSON files that PyTorch 2.15 produced (format: tests/data/conformance/README.md),
//! runs every case whose op tapegrad knows, and compares outputs and gradients with the
//! tolerances written in each file's header: `|actual − expected| ≤ atol + rtol·|expected|`.
//! Integer outputs (indices) must match exactly. A case whose op the crate does not know
//! yet is reported as unsupported, by name.

#![allow(dead_code)] // each consumer (test, example) uses a different part

mod conv;
mod functional;
mod init;
mod losses;
mod optim;
mod training;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use tapegrad::Tensor;

/// One conformance file.
#[derive(Deserialize)]
pub struct Family {
    pub family: String,
    pub tolerance: BTreeMap<String, Tolerance>,
    pub cases: Vec<Case>,
}

#[derive(Deserialize, Clone, Copy, Debug)]
pub struct Tolerance {
    pub rtol: f64,
    pub atol: f64,
}

/// One case: a PyTorch call with its inputs and expected results.
#[derive(Deserialize)]
pub struct Case {
    pub name: String,
    pub op: String,
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    #[serde(default)]
    pub inputs: BTreeMap<String, Value>,
    #[serde(default)]
    pub outputs: BTreeMap<String, Value>,
    #[serde(default)]
    pub grads: BTreeMap<String, Value>,
    #[serde(default)]
    pub expect_error: Option<Value>,
}

impl Case {
    /// The tensors of one section (`inputs`, `outputs`, `grads`); entries that are not
    /// tensors (numbers, shapes, formulas in init.json) are skipped.
    pub fn tensors(section: &BTreeMap<String, Value>) -> BTreeMap<String, JsonTensor> {
        section
            .iter()
            .filter_map(|(name, v)| serde_json::from_value::<JsonTensor>(v.clone()).ok().map(|t| (name.clone(), t)))
            .collect()
    }

    pub fn input(&self, name: &str) -> Option<JsonTensor> {
        self.inputs.get(name).and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    pub fn output(&self, name: &str) -> Option<JsonTensor> {
        self.outputs.get(name).and_then(|v| serde_json::from_value(v.clone()).ok())
    }
}

/// A tensor as stored in the files: shape, row-major data, optional integer dtype.
#[derive(Deserialize, Clone)]
pub struct JsonTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
    #[serde(default)]
    pub dtype: Option<String>,
}

impl JsonTensor {
    /// The values as an `f32` tensor (exact: every input is an f32 value written in f64).
    pub fn to_tensor(&self) -> Tensor {
        Tensor::from_vec(self.data.iter().map(|&v| v as f32).collect(), &self.shape)
            .expect("conformance tensor data matches its shape")
    }
}

/// What happened to one case.
#[derive(Debug)]
pub enum Outcome {
    Pass,
    Fail(String),
    Unsupported,
}

/// The result of running one family.
#[derive(Debug, Default)]
pub struct Report {
    pub family: String,
    pub passed: Vec<String>,
    pub failed: Vec<(String, String)>,
    pub unsupported: Vec<(String, String)>,
}

impl Report {
    /// `functional: 80 passed, 0 failed, 6 unsupported`
    pub fn summary(&self) -> String {
        format!(
            "{}: {} passed, {} failed, {} unsupported",
            self.family,
            self.passed.len(),
            self.failed.len(),
            self.unsupported.len()
        )
    }
}

/// Reads and runs one conformance file.
pub fn run_file(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let family: Family = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(run_family(&family))
}

/// Runs every case of a family; a panic inside a case is caught and reported as a failure.
pub fn run_family(family: &Family) -> Report {
    let mut report = Report { family: family.family.clone(), ..Report::default() };
    for case in &family.cases {
        let outcome = catch_unwind(AssertUnwindSafe(|| run_case(&family.family, case, &family.tolerance)))
            .unwrap_or_else(|panic| Outcome::Fail(format!("panicked: {}", panic_message(&panic))));
        match outcome {
            Outcome::Pass => report.passed.push(case.name.clone()),
            Outcome::Fail(why) => report.failed.push((case.name.clone(), why)),
            Outcome::Unsupported => report.unsupported.push((case.name.clone(), case.op.clone())),
        }
    }
    report
}

fn run_case(family: &str, case: &Case, tolerance: &BTreeMap<String, Tolerance>) -> Outcome {
    let tol = |kind: &str| tolerance.get(kind).copied().unwrap_or(Tolerance { rtol: 1e-4, atol: 1e-5 });
    match family {
        "functional" => functional::run(case, tol("forward"), tol("grad")),
        "conv1d" => conv::run_module::<1>(case, tol("forward"), tol("grad")),
        "conv2d" => conv::run_module::<2>(case, tol("forward"), tol("grad")),
        "conv3d" => conv::run_module::<3>(case, tol("forward"), tol("grad")),
        "pad" => conv::run_pad(case, tol("forward"), tol("grad")),
        "conv2d_errors" => conv::run_error(case),
        "init" => init::run(case),
        "losses" => losses::run(case, tol("forward"), tol("grad")),
        "optim" => optim::run(case, tol("trajectory")),
        "training" => training::run(case, tol("trajectory")),
        _ => Outcome::Unsupported,
    }
}

pub fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else {
        "non-string panic".to_string()
    }
}

/// Compares a float tensor with the expected values; `Err` names the first mismatch.
pub fn compare(what: &str, actual: &Tensor, expected: &JsonTensor, tol: Tolerance) -> Result<(), String> {
    if actual.shape() != expected.shape.as_slice() {
        return Err(format!("{what}: shape {:?}, expected {:?}", actual.shape(), expected.shape));
    }
    for (i, (&a, &e)) in actual.to_vec().iter().zip(&expected.data).enumerate() {
        let a = a as f64;
        // Written so that a NaN on either side fails.
        let within = (a - e).abs() <= tol.atol + tol.rtol * e.abs();
        if !within {
            return Err(format!("{what}[{i}]: {a}, expected {e} (rtol {}, atol {})", tol.rtol, tol.atol));
        }
    }
    Ok(())
}

/// Compares integer results (indices) exactly.
pub fn compare_indices(what: &str, actual: &ndarray::ArrayD<i64>, expected: &JsonTensor) -> Result<(), String> {
    if actual.shape() != expected.shape.as_slice() {
        return Err(format!("{what}: shape {:?}, expected {:?}", actual.shape(), expected.shape));
    }
    for (i, (&a, &e)) in actual.iter().zip(&expected.data).enumerate() {
        if a as f64 != e {
            return Err(format!("{what}[{i}]: {a}, expected {e}"));
        }
    }
    Ok(())
}

/// Back-propagates `grad_output` from `output` and compares every gradient the case lists.
pub fn check_grads(
    case: &Case,
    leaves: &BTreeMap<String, Tensor>,
    output: &Tensor,
    tol: Tolerance,
) -> Result<(), String> {
    if case.grads.is_empty() {
        return Ok(());
    }
    let grad_output = case.input("grad_output").ok_or("case has grads but no grad_output")?.to_tensor();
    output.backward_with(&grad_output);
    for (name, expected) in Case::tensors(&case.grads) {
        let leaf = leaves.get(&name).ok_or_else(|| format!("no input named {name}"))?;
        let grad = leaf.grad().ok_or_else(|| format!("grad of {name} is None"))?;
        compare(&format!("grads.{name}"), &grad, &expected, tol)?;
    }
    Ok(())
}

/// The case's float inputs as leaves; those that have an expected gradient require grad.
pub fn leaves(case: &Case) -> BTreeMap<String, Tensor> {
    Case::tensors(&case.inputs)
        .into_iter()
        .filter(|(name, t)| name.as_str() != "grad_output" && t.dtype.is_none())
        .map(|(name, t)| {
            let requires_grad = case.grads.contains_key(&name);
            (name, t.to_tensor().requires_grad_(requires_grad))
        })
        .collect()
}

// ----- reading params ---------------------------------------------------------------------

pub fn param_i64(case: &Case, key: &str) -> Option<i64> {
    case.params.get(key).and_then(Value::as_i64)
}

pub fn param_f64(case: &Case, key: &str) -> Option<f64> {
    case.params.get(key).and_then(Value::as_f64)
}

pub fn param_bool(case: &Case, key: &str) -> Option<bool> {
    case.params.get(key).and_then(Value::as_bool)
}

pub fn param_str<'a>(case: &'a Case, key: &str) -> Option<&'a str> {
    case.params.get(key).and_then(Value::as_str)
}

/// An int or a list of ints, as a list.
pub fn param_ints(case: &Case, key: &str) -> Option<Vec<i64>> {
    match case.params.get(key)? {
        Value::Number(n) => n.as_i64().map(|v| vec![v]),
        Value::Array(items) => items.iter().map(Value::as_i64).collect(),
        _ => None,
    }
}
