//! conv1d.json, conv2d.json, conv3d.json (the modules), pad.json (F.pad) and
//! conv2d_errors.json (every configuration PyTorch rejects, at the stage it rejects it).

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::Value;
use tapegrad::Tensor;
use tapegrad::nn::functional as F;
use tapegrad::nn::{Conv, IntOrTuple, Module, PaddingArg, Parameter};

use super::{Case, Outcome, Tolerance, check_grads, compare, leaves, panic_message, param_f64, param_ints, param_str};

fn int_or_tuple(v: &Value) -> IntOrTuple {
    match v {
        Value::Array(items) => IntOrTuple(items.iter().map(|x| x.as_i64().expect("int")).collect()),
        other => IntOrTuple(vec![other.as_i64().expect("int")]),
    }
}

fn padding_arg(v: &Value) -> PaddingArg {
    match v {
        Value::String(s) => PaddingArg::Str(s.clone()),
        other => PaddingArg::Ints(int_or_tuple(other).0),
    }
}

/// `nn.ConvNd(**params)` built the way a user would, from the case's params.
fn build<const N: usize>(params: &std::collections::BTreeMap<String, Value>) -> tapegrad::Result<Conv<N>> {
    let int = |k: &str, default: i64| params.get(k).map_or(default, |v| v.as_i64().expect("int"));
    let mut builder = Conv::<N>::builder(
        int("in_channels", 1) as usize,
        int("out_channels", 1) as usize,
        int_or_tuple(params.get("kernel_size").expect("kernel_size")),
    );
    if let Some(v) = params.get("stride") {
        builder = builder.stride(int_or_tuple(v));
    }
    if let Some(v) = params.get("padding") {
        builder = builder.padding(padding_arg(v));
    }
    if let Some(v) = params.get("dilation") {
        builder = builder.dilation(int_or_tuple(v));
    }
    if let Some(v) = params.get("groups") {
        builder = builder.groups(v.as_i64().expect("int").max(0) as usize);
    }
    if let Some(v) = params.get("bias") {
        builder = builder.bias(v.as_bool().expect("bool"));
    }
    if let Some(v) = params.get("padding_mode") {
        builder = builder.padding_mode(v.as_str().expect("string"));
    }
    builder.build()
}

/// A Conv1d/2d/3d case: the module with the case's weight and bias, forward and backward.
pub fn run_module<const N: usize>(case: &Case, forward: Tolerance, grad: Tolerance) -> Outcome {
    let inputs = leaves(case);
    let mut conv = match build::<N>(&case.params) {
        Ok(conv) => conv,
        Err(e) => return Outcome::Fail(format!("construction failed: {e}")),
    };
    conv.weight = Parameter::new(inputs["weight"].clone());
    conv.bias = inputs.get("bias").map(|b| Parameter::new(b.clone()));
    // The module's parameters are the leaves whose gradients the case lists.
    let mut leaves = inputs.clone();
    leaves.insert("weight".into(), conv.weight.tensor().clone());
    if let Some(b) = &conv.bias {
        leaves.insert("bias".into(), b.tensor().clone());
    }
    let output = conv.forward(&inputs["input"]);
    let result = (|| {
        compare("output", &output, &case.output("output").ok_or("no output")?, forward)?;
        check_grads(case, &leaves, &output, grad)
    })();
    result.map_or_else(Outcome::Fail, |()| Outcome::Pass)
}

/// A pad.json case: `F.pad(input, pad, mode, value)`.
pub fn run_pad(case: &Case, forward: Tolerance, grad: Tolerance) -> Outcome {
    let inputs = leaves(case);
    let pad = param_ints(case, "pad").expect("pad");
    let output = F::pad(
        &inputs["input"],
        &pad,
        param_str(case, "mode").unwrap_or("constant"),
        param_f64(case, "value").map(|v| v as f32),
    );
    let result = (|| {
        compare("output", &output, &case.output("output").ok_or("no output")?, forward)?;
        check_grads(case, &inputs, &output, grad)
    })();
    result.map_or_else(Outcome::Fail, |()| Outcome::Pass)
}

/// Python prints sets in hash order; compare `{...}` groups as sets.
fn normalise_sets(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else { break };
        let mut items: Vec<&str> = rest[start + 1..start + len].split(", ").collect();
        items.sort_unstable();
        out.push_str(&rest[..start]);
        out.push_str(&format!("{{{}}}", items.join(", ")));
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

fn zeros(case: &Case, key: &str) -> Option<Tensor> {
    let shape: Vec<usize> =
        case.inputs.get(key)?.as_array()?.iter().map(|v| v.as_u64().expect("dim") as usize).collect();
    Some(Tensor::zeros(&shape))
}

/// A conv2d_errors.json case: the error must come at the same stage with PyTorch's text.
pub fn run_error(case: &Case) -> Outcome {
    let expected = &case.expect_error.as_ref().expect("error cases have expect_error");
    let stage = expected["stage"].as_str().expect("stage");
    let message = expected["message"].as_str().expect("message");
    let unstable = expected.get("message_set_order_unstable").and_then(Value::as_bool).unwrap_or(false);
    let matches = |actual: &str| {
        if unstable { normalise_sets(actual).contains(&normalise_sets(message)) } else { actual.contains(message) }
    };
    let input = zeros(case, "input_shape").expect("input_shape");
    let panicked = |f: &dyn Fn()| catch_unwind(AssertUnwindSafe(f)).err().map(|p| panic_message(&p));

    let outcome = match case.op.as_str() {
        "nn.Conv2d" => match (build::<2>(&case.params), stage) {
            (Err(e), "construct") if matches(e.message()) => Ok(()),
            (Err(e), _) => {
                Err(format!("construction failed with '{}', expected stage {stage}: {message}", e.message()))
            }
            (Ok(_), "construct") => Err(format!("construction succeeded, expected: {message}")),
            (Ok(conv), _) => match panicked(&|| {
                conv.forward(&input);
            }) {
                Some(m) if matches(&m) => Ok(()),
                Some(m) => Err(format!("forward panicked with '{m}', expected '{message}'")),
                None => Err(format!("forward succeeded, expected: {message}")),
            },
        },
        "F.conv2d" => {
            let weight = zeros(case, "weight_shape").expect("weight_shape");
            let bias = zeros(case, "bias_shape");
            let p = &case.params;
            let stride = p.get("stride").map_or(IntOrTuple(vec![1]), int_or_tuple);
            let padding = p.get("padding").map_or(PaddingArg::Ints(vec![0]), padding_arg);
            let dilation = p.get("dilation").map_or(IntOrTuple(vec![1]), int_or_tuple);
            let groups = p.get("groups").and_then(Value::as_i64).unwrap_or(1);
            match panicked(&|| {
                F::conv2d(&input, &weight, bias.as_ref(), stride.clone(), padding.clone(), dilation.clone(), groups);
            }) {
                Some(m) if matches(&m) => Ok(()),
                Some(m) => Err(format!("panicked with '{m}', expected '{message}'")),
                None => Err(format!("succeeded, expected: {message}")),
            }
        }
        "F.pad" => {
            let pad = param_ints(case, "pad").expect("pad");
            let mode = param_str(case, "mode").unwrap_or("constant").to_string();
            match panicked(&|| {
                F::pad(&input, &pad, &mode, None);
            }) {
                Some(m) if matches(&m) => Ok(()),
                Some(m) => Err(format!("panicked with '{m}', expected '{message}'")),
                None => Err(format!("succeeded, expected: {message}")),
            }
        }
        _ => return Outcome::Unsupported,
    };
    outcome.map_or_else(Outcome::Fail, |()| Outcome::Pass)
}
