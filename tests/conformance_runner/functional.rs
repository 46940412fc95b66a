//! functional.json: single tensor ops, their outputs and input gradients.

use std::collections::BTreeMap;

use tapegrad::Tensor;
use tapegrad::nn::IntOrTuple;
use tapegrad::nn::functional::{self as F, Approximate, PoolStride};

use super::{
    Case, Outcome, Tolerance, check_grads, compare, compare_indices, leaves, param_bool, param_f64, param_i64,
    param_ints, param_str,
};

/// Runs one case of functional.json.
pub fn run(case: &Case, forward: Tolerance, grad: Tolerance) -> Outcome {
    let inputs = leaves(case);
    let Some((output, indices)) = evaluate(case, &inputs) else {
        return Outcome::Unsupported;
    };
    let result = (|| {
        let expected = case.output("output").ok_or("case has no outputs.output")?;
        compare("output", &output, &expected, forward)?;
        if let Some(expected) = case.output("indices") {
            let indices = indices.as_ref().ok_or("op returned no indices")?;
            compare_indices("indices", indices, &expected)?;
        }
        // batch_norm: the running statistics after the call (updated in place in training).
        for name in ["running_mean", "running_var"] {
            if let Some(expected) = case.output(name) {
                let actual = inputs.get(name).ok_or_else(|| format!("case has outputs.{name} but no input"))?;
                compare(&format!("outputs.{name}"), actual, &expected, forward)?;
            }
        }
        check_grads(case, &inputs, &output, grad)
    })();
    match result {
        Ok(()) => Outcome::Pass,
        Err(why) => Outcome::Fail(why),
    }
}

/// The op's primary output (and indices, for max with a dim and max_pool2d); `None` when
/// tapegrad does not know the op yet.
fn evaluate(case: &Case, inputs: &BTreeMap<String, Tensor>) -> Option<(Tensor, Option<ndarray::ArrayD<i64>>)> {
    let input = || inputs.get("input").expect("case has an input");
    let other = || inputs.get("other").expect("case has an other");
    let dim = || param_i64(case, "dim").expect("case has a dim") as isize;
    let keepdim = param_bool(case, "keepdim").unwrap_or(false);
    let dims = || param_ints(case, "dim");
    let listed = || -> Vec<Tensor> { (0..).map_while(|i| inputs.get(&format!("input{i}")).cloned()).collect() };
    let output = match case.op.as_str() {
        "linear" => F::linear(input(), &inputs["weight"], inputs.get("bias")),
        "matmul" => input().matmul(other()),
        "add" => input() + other(),
        "sub" => input() - other(),
        "mul" => input() * other(),
        "div" => input() / other(),
        "relu" => F::relu(input()),
        "leaky_relu" => F::leaky_relu(input(), param_f64(case, "negative_slope").unwrap_or(0.01) as f32),
        "sigmoid" => input().sigmoid(),
        "tanh" => input().tanh(),
        "gelu" => {
            let approximate: Approximate = param_str(case, "approximate").unwrap_or("none").parse().ok()?;
            F::gelu(input(), approximate)
        }
        "exp" => input().exp(),
        "log" => input().log(),
        "sqrt" => input().sqrt(),
        "pow" => match inputs.get("exponent") {
            Some(exponent) => input().pow_tensor(exponent),
            None => input().pow(param_f64(case, "exponent").expect("scalar exponent") as f32),
        },
        "softmax" => F::softmax(input(), dim()),
        "log_softmax" => F::log_softmax(input(), dim()),
        "sum" => match dims() {
            Some(d) => input().sum_dim(d, keepdim),
            None => input().sum(),
        },
        "mean" => match dims() {
            Some(d) => input().mean_dim(d, keepdim),
            None => input().mean(),
        },
        "max" => match param_i64(case, "dim") {
            Some(d) => {
                let (values, indices) = input().max_dim(d as isize, keepdim);
                return Some((values, Some(indices)));
            }
            None => input().max(),
        },
        "amax" => input().amax(dims().unwrap_or_default(), keepdim),
        "reshape" => {
            let shape: Vec<isize> = param_ints(case, "shape")?.into_iter().map(|d| d as isize).collect();
            input().reshape(&shape)
        }
        "permute" => {
            let order: Vec<isize> = param_ints(case, "dims")?.into_iter().map(|d| d as isize).collect();
            input().permute(&order)
        }
        "transpose" => input().transpose(param_i64(case, "dim0")? as isize, param_i64(case, "dim1")? as isize),
        "flatten" => input().flatten(
            param_i64(case, "start_dim").unwrap_or(0) as isize,
            param_i64(case, "end_dim").unwrap_or(-1) as isize,
        ),
        "unsqueeze" => input().unsqueeze(dim()),
        "max_pool2d" => {
            let kernel = param_ints(case, "kernel_size")?;
            let stride = PoolStride(param_ints(case, "stride").map(IntOrTuple));
            let padding = param_ints(case, "padding").unwrap_or(vec![0]);
            let dilation = param_ints(case, "dilation").unwrap_or(vec![1]);
            let ceil_mode = param_bool(case, "ceil_mode").unwrap_or(false);
            if param_bool(case, "return_indices").unwrap_or(false) {
                let (output, indices) =
                    F::max_pool2d_with_indices(input(), kernel, stride, padding, dilation, ceil_mode);
                return Some((output, Some(indices)));
            }
            F::max_pool2d(input(), kernel, stride, padding, dilation, ceil_mode)
        }
        "avg_pool2d" => F::avg_pool2d(
            input(),
            param_ints(case, "kernel_size")?,
            PoolStride(param_ints(case, "stride").map(IntOrTuple)),
            param_ints(case, "padding").unwrap_or(vec![0]),
            param_bool(case, "ceil_mode").unwrap_or(false),
            param_bool(case, "count_include_pad").unwrap_or(true),
            param_i64(case, "divisor_override"),
        ),
        "adaptive_avg_pool2d" => F::adaptive_avg_pool2d(input(), param_ints(case, "output_size")?),
        "batch_norm" => F::batch_norm(
            input(),
            inputs.get("running_mean"),
            inputs.get("running_var"),
            inputs.get("weight"),
            inputs.get("bias"),
            param_bool(case, "training").unwrap_or(false),
            param_f64(case, "momentum").unwrap_or(0.1),
            param_f64(case, "eps").unwrap_or(1e-5),
        ),
        // The indices are i64 in the file; tapegrad's index tensors are f32 holding integers.
        "embedding" => {
            let indices = case.input("input")?.to_tensor();
            F::embedding(&indices, &inputs["weight"], param_i64(case, "padding_idx"))
        }
        "cat" => Tensor::cat(&listed(), param_i64(case, "dim").unwrap_or(0) as isize),
        "stack" => Tensor::stack(&listed(), param_i64(case, "dim").unwrap_or(0) as isize),
        _ => return None,
    };
    Some((output, None))
}
