//! init.json: fans, gains, standard deviations and bounds of `nn.init`, the default
//! initialisation of modules, and the errors. Random samples cannot match PyTorch's
//! generator, so the formulas are compared exactly (1e-12 relative) and the samples are
//! checked against the distribution's support.

use serde_json::Value;
use tapegrad::Tensor;
use tapegrad::nn::init::{self, FanMode};
use tapegrad::nn::{BatchNorm2d, Conv1d, Conv2d, Conv3d, Embedding, IntOrTuple, Linear, Module};

use super::{Case, Outcome, param_f64, param_str};

fn close(what: &str, actual: f64, expected: &Value) -> Result<(), String> {
    let expected = expected.as_f64().ok_or_else(|| format!("{what}: expected value is not a number"))?;
    if (actual - expected).abs() <= 1e-12 * expected.abs().max(1.0) {
        Ok(())
    } else {
        Err(format!("{what}: {actual}, expected {expected}"))
    }
}

fn shape(case: &Case) -> Vec<usize> {
    case.inputs["tensor_shape"]
        .as_array()
        .expect("tensor_shape")
        .iter()
        .map(|v| v.as_u64().expect("dim") as usize)
        .collect()
}

pub fn run(case: &Case) -> Outcome {
    let result = match case.op.as_str() {
        "calculate_gain" => calculate_gain(case),
        "kaiming_uniform_" | "kaiming_normal_" | "xavier_uniform_" | "xavier_normal_" => distribution(case),
        "reset_parameters" => match reset_parameters(case) {
            Some(result) => result,
            None => return Outcome::Unsupported,
        },
        _ => return Outcome::Unsupported,
    };
    result.map_or_else(Outcome::Fail, |()| Outcome::Pass)
}

fn expect_error(case: &Case, result: tapegrad::Result<()>) -> Result<(), String> {
    let expected = case.expect_error.as_ref().expect("error case");
    let message = expected["message"].as_str().expect("message");
    match result {
        Err(e) if e.message() == message => Ok(()),
        Err(e) => Err(format!("error '{}', expected '{message}'", e.message())),
        Ok(()) => Err(format!("succeeded, expected: {message}")),
    }
}

fn calculate_gain(case: &Case) -> Result<(), String> {
    let nonlinearity = param_str(case, "nonlinearity").expect("nonlinearity");
    let gain = init::calculate_gain(nonlinearity, param_f64(case, "param"));
    if case.expect_error.is_some() {
        return expect_error(case, gain.map(|_| ()));
    }
    close("gain", gain.map_err(|e| e.to_string())?, &case.outputs["gain"])
}

fn distribution(case: &Case) -> Result<(), String> {
    let shape = shape(case);
    let a = param_f64(case, "a").unwrap_or(0.0);
    let nonlinearity = param_str(case, "nonlinearity").unwrap_or("leaky_relu");
    let mode = param_str(case, "mode").unwrap_or("fan_in");
    let gain_param = param_f64(case, "gain").unwrap_or(1.0);
    let tensor = Tensor::zeros(&shape);
    let kaiming = case.op.starts_with("kaiming");
    let uniform = case.op.contains("uniform");

    // The fill itself: errors must be PyTorch's, and uniform samples must stay in bounds.
    let filled = (|| -> tapegrad::Result<()> {
        match case.op.as_str() {
            "kaiming_uniform_" => init::kaiming_uniform_(&tensor, a, mode.parse()?, nonlinearity),
            "kaiming_normal_" => init::kaiming_normal_(&tensor, a, mode.parse()?, nonlinearity),
            "xavier_uniform_" => init::xavier_uniform_(&tensor, gain_param),
            _ => init::xavier_normal_(&tensor, gain_param),
        }
    })();
    if case.expect_error.is_some() {
        return expect_error(case, filled);
    }
    filled.map_err(|e| e.to_string())?;

    let out = &case.outputs;
    let (fan_in, fan_out) = init::calculate_fan_in_and_fan_out(&shape).map_err(|e| e.to_string())?;
    close("fan_in", fan_in as f64, &out["fan_in"])?;
    close("fan_out", fan_out as f64, &out["fan_out"])?;
    let std = if kaiming {
        let mode: FanMode = mode.parse().map_err(|e: tapegrad::Error| e.to_string())?;
        close("fan", if mode == FanMode::FanIn { fan_in } else { fan_out } as f64, &out["fan"])?;
        close("gain", init::calculate_gain(nonlinearity, Some(a)).map_err(|e| e.to_string())?, &out["gain"])?;
        init::kaiming_std(&shape, a, mode, nonlinearity).map_err(|e| e.to_string())?
    } else {
        close("gain", gain_param, &out["gain"])?;
        init::xavier_std(&shape, gain_param).map_err(|e| e.to_string())?
    };
    close("std", std, &out["std"])?;
    if uniform {
        let bound = 3f64.sqrt() * std;
        close("bound", bound, &out["bound"])?;
        if let Some(v) = tensor.to_vec().iter().find(|v| v.abs() as f64 > bound) {
            return Err(format!("sample {v} outside ±{bound}"));
        }
    }
    Ok(())
}

fn kwarg_usize(kwargs: &Value, key: &str) -> usize {
    kwargs[key].as_u64().unwrap_or_else(|| panic!("{key}")) as usize
}

fn kernel(kwargs: &Value) -> IntOrTuple {
    match &kwargs["kernel_size"] {
        Value::Array(items) => IntOrTuple(items.iter().map(|v| v.as_i64().expect("int")).collect()),
        v => IntOrTuple(vec![v.as_i64().expect("int")]),
    }
}

/// `None` for modules tapegrad does not have yet.
fn reset_parameters(case: &Case) -> Option<Result<(), String>> {
    let module = case.params["module"].as_str().expect("module");
    let kwargs = &case.params["kwargs"];
    let model: Box<dyn Module> = match module {
        "Linear" => Box::new(Linear::with_bias(
            kwarg_usize(kwargs, "in_features"),
            kwarg_usize(kwargs, "out_features"),
            kwargs.get("bias").and_then(Value::as_bool).unwrap_or(true),
        )),
        "Conv1d" | "Conv2d" | "Conv3d" => {
            let (i, o, k) = (kwarg_usize(kwargs, "in_channels"), kwarg_usize(kwargs, "out_channels"), kernel(kwargs));
            let groups = kwargs.get("groups").and_then(Value::as_u64).unwrap_or(1) as usize;
            match module {
                "Conv1d" => Box::new(Conv1d::builder(i, o, k).groups(groups).build().ok()?),
                "Conv2d" => Box::new(Conv2d::builder(i, o, k).groups(groups).build().ok()?),
                _ => Box::new(Conv3d::builder(i, o, k).groups(groups).build().ok()?),
            }
        }
        "BatchNorm2d" => return Some(check_batch_norm(kwarg_usize(kwargs, "num_features"), &case.outputs)),
        "Embedding" => return Some(check_embedding(kwargs, &case.outputs)),
        _ => return None,
    };
    Some(check_uniform_parameters(model.as_ref(), &case.outputs))
}

/// BatchNorm2d: weight 1, bias 0, running_mean 0, running_var 1, no batches, eps, momentum.
fn check_batch_norm(num_features: usize, outputs: &std::collections::BTreeMap<String, Value>) -> Result<(), String> {
    let bn = BatchNorm2d::new(num_features);
    let tensors: Vec<(String, Tensor)> =
        bn.named_parameters().into_iter().map(|(n, p)| (n, p.tensor().clone())).chain(bn.named_buffers()).collect();
    for name in ["weight", "bias", "running_mean", "running_var"] {
        let expected = &outputs[name];
        let tensor = tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t).ok_or(format!("no {name}"))?;
        let value = expected["value"].as_f64().expect("constant value") as f32;
        if tensor.shape() != [num_features] || tensor.to_vec().iter().any(|&v| v != value) {
            return Err(format!(
                "{name}: {:?} {:?}, expected {num_features} × {value}",
                tensor.shape(),
                tensor.to_vec()
            ));
        }
    }
    close("eps", bn.eps(), &outputs["eps"])?;
    close("momentum", bn.momentum().unwrap_or(f64::NAN), &outputs["momentum"])?;
    let tracked = tensors.iter().find(|(n, _)| n == "num_batches_tracked").ok_or("no num_batches_tracked")?;
    close("num_batches_tracked", tracked.1.item() as f64, &outputs["num_batches_tracked"])
}

/// Embedding: N(0, 1) samples of the given shape, with the padding_idx row zero.
fn check_embedding(kwargs: &Value, outputs: &std::collections::BTreeMap<String, Value>) -> Result<(), String> {
    let (num, dim) = (kwarg_usize(kwargs, "num_embeddings"), kwarg_usize(kwargs, "embedding_dim"));
    let embedding = Embedding::new(num, dim, kwargs["padding_idx"].as_i64()).map_err(|e| e.to_string())?;
    let weight = &outputs["weight"];
    let values = embedding.weight.to_vec();
    if embedding.weight.shape() != [num, dim] {
        return Err(format!("weight shape {:?}, expected [{num}, {dim}]", embedding.weight.shape()));
    }
    let zero_row = weight["zero_row"].as_u64().expect("zero_row") as usize;
    for (row, chunk) in values.chunks(dim).enumerate() {
        let zeros = chunk.iter().all(|&v| v == 0.0);
        if zeros != (row == zero_row) {
            return Err(format!("row {row} is {:?}; only row {zero_row} should be zero", chunk));
        }
    }
    Ok(())
}

/// Every uniform parameter has the expected shape and stays inside `[low, high]`; and the
/// expected bounds are `±1/√fan_in`, with fan_in computed by `nn::init`.
fn check_uniform_parameters(
    model: &dyn Module,
    outputs: &std::collections::BTreeMap<String, Value>,
) -> Result<(), String> {
    let params = model.named_parameters();
    for (name, expected) in outputs {
        let param = params.iter().find(|(n, _)| n == name).map(|(_, p)| p);
        if expected.is_null() {
            if param.is_some() {
                return Err(format!("{name} exists, expected none"));
            }
            continue;
        }
        let param = param.ok_or_else(|| format!("no parameter {name}"))?;
        let shape: Vec<usize> =
            expected["shape"].as_array().expect("shape").iter().map(|v| v.as_u64().unwrap() as usize).collect();
        if param.shape() != shape.as_slice() {
            return Err(format!("{name}: shape {:?}, expected {shape:?}", param.shape()));
        }
        let (fan_in, _) = init::calculate_fan_in_and_fan_out(params[0].1.shape()).map_err(|e| e.to_string())?;
        close(&format!("{name}.fan_in"), fan_in as f64, &expected["fan_in"])?;
        let bound = 1.0 / (fan_in as f64).sqrt();
        // PyTorch's weight bound is gain·√(3/fan_in) with gain = √(1/3): 1/√fan_in up to the
        // last bits, well inside the 1e-12 relative tolerance.
        close(&format!("{name}.high"), bound, &expected["high"])?;
        close(&format!("{name}.low"), -bound, &expected["low"])?;
        let low = expected["low"].as_f64().expect("low");
        let high = expected["high"].as_f64().expect("high");
        if let Some(v) = param.to_vec().iter().find(|&&v| (v as f64) < low - 1e-7 || (v as f64) > high + 1e-7) {
            return Err(format!("{name}: sample {v} outside [{low}, {high}]"));
        }
    }
    Ok(())
}
