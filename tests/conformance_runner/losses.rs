//! losses.json: every loss of `torch.nn.functional`, its output and the gradients of
//! `input` (and of `target`, where PyTorch differentiates it).
//!
//! Class-index targets (`"dtype": "i64"`) become `f32` tensors holding the integers, the
//! crate's convention; they are not leaves. `weight` and `pos_weight` are leaves that do not
//! require grad.

use std::collections::BTreeMap;

use tapegrad::Tensor;
use tapegrad::nn::functional::{
    self as F, BceOptions, BceWithLogitsOptions, CrossEntropyOptions, HuberOptions, NllOptions, Reduction,
    SmoothL1Options,
};

use super::{Case, Outcome, Tolerance, check_grads, compare, leaves, param_f64, param_i64, param_str};

/// Runs one case of losses.json.
pub fn run(case: &Case, forward: Tolerance, grad: Tolerance) -> Outcome {
    let inputs = leaves(case);
    let output = match evaluate(case, &inputs) {
        Ok(Some(output)) => output,
        Ok(None) => return Outcome::Unsupported,
        Err(why) => return Outcome::Fail(why),
    };
    let result = (|| {
        let expected = case.output("output").ok_or("case has no outputs.output")?;
        compare("output", &output, &expected, forward)?;
        check_grads(case, &inputs, &output, grad)
    })();
    match result {
        Ok(()) => Outcome::Pass,
        Err(why) => Outcome::Fail(why),
    }
}

/// The loss; `Ok(None)` for an op tapegrad does not know.
fn evaluate(case: &Case, inputs: &BTreeMap<String, Tensor>) -> Result<Option<Tensor>, String> {
    let input = inputs.get("input").ok_or("case has no float input")?;
    // A float target is a leaf (it may require grad); class indices are not.
    let target = match inputs.get("target") {
        Some(t) => t.clone(),
        None => case.input("target").ok_or("case has no target")?.to_tensor(),
    };
    let weight = inputs.get("weight").cloned();
    let pos_weight = inputs.get("pos_weight").cloned();
    let reduction: Reduction = param_str(case, "reduction").unwrap_or("mean").parse().map_err(|e| format!("{e}"))?;
    let ignore_index = param_i64(case, "ignore_index").unwrap_or(-100);
    let float = |key: &str, default: f64| param_f64(case, key).unwrap_or(default) as f32;
    let output = match case.op.as_str() {
        "cross_entropy" => {
            let label_smoothing = float("label_smoothing", 0.0);
            let options = CrossEntropyOptions { weight, ignore_index, reduction, label_smoothing };
            F::cross_entropy_with(input, &target, &options)
        }
        "nll_loss" => F::nll_loss_with(input, &target, &NllOptions { weight, ignore_index, reduction }),
        "mse_loss" => F::mse_loss_with(input, &target, reduction),
        "l1_loss" => F::l1_loss_with(input, &target, reduction),
        "smooth_l1_loss" => {
            F::smooth_l1_loss_with(input, &target, SmoothL1Options { reduction, beta: float("beta", 1.0) })
        }
        "huber_loss" => F::huber_loss_with(input, &target, HuberOptions { reduction, delta: float("delta", 1.0) }),
        "binary_cross_entropy" => F::binary_cross_entropy_with(input, &target, &BceOptions { weight, reduction }),
        "binary_cross_entropy_with_logits" => {
            let options = BceWithLogitsOptions { weight, pos_weight, reduction };
            F::binary_cross_entropy_with_logits_with(input, &target, &options)
        }
        _ => return Ok(None),
    };
    Ok(Some(output))
}
