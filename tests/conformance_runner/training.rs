//! training.json: short training runs from fixed initial weights, compared step by step
//! with PyTorch's trajectory (losses before each update, parameters after it).

use tapegrad::Tensor;
use tapegrad::nn::functional as F;
use tapegrad::nn::{Conv2d, Flatten, Linear, MaxPool2d, Module, PaddingArg, Parameter, Relu, Sequential};
use tapegrad::optim::{Optimizer, Sgd};

use super::{Case, JsonTensor, Outcome, Tolerance, compare};

fn input(case: &Case, name: &str) -> Tensor {
    case.input(name).unwrap_or_else(|| panic!("case has no input {name}")).to_tensor()
}

fn output(case: &Case, name: &str) -> Result<JsonTensor, String> {
    case.output(name).ok_or_else(|| format!("case has no output {name}"))
}

/// Row `step` of a `[steps, ...]` tensor.
fn row(t: &JsonTensor, step: usize) -> JsonTensor {
    let len: usize = t.shape[1..].iter().product();
    JsonTensor { shape: t.shape[1..].to_vec(), data: t.data[step * len..(step + 1) * len].to_vec(), dtype: None }
}

fn losses(case: &Case) -> Result<Vec<f64>, String> {
    Ok(output(case, "loss_per_step")?.data)
}

fn final_loss(case: &Case) -> Result<f64, String> {
    Ok(output(case, "final_loss")?.data[0])
}

fn check_loss(step: usize, actual: &Tensor, expected: f64, tol: Tolerance) -> Result<(), String> {
    let a = actual.item() as f64;
    let within = (a - expected).abs() <= tol.atol + tol.rtol * expected.abs();
    if within { Ok(()) } else { Err(format!("loss at step {step}: {a}, expected {expected}")) }
}

pub fn run(case: &Case, tol: Tolerance) -> Outcome {
    let result =
        if case.name.starts_with("learn_known_kernel") { learn_known_kernel(case, tol) } else { tiny_cnn(case, tol) };
    result.map_or_else(Outcome::Fail, |()| Outcome::Pass)
}

fn learn_known_kernel(case: &Case, tol: Tolerance) -> Result<(), String> {
    let model = &case.params["model"];
    let padding: PaddingArg = match model["padding"].as_str() {
        Some(s) => s.into(),
        None => model["padding"].as_i64().unwrap_or(0).into(),
    };
    let has_bias = model["bias"].as_bool().unwrap_or(true);
    let mut conv = Conv2d::builder(1, 1, 3).padding(padding).bias(has_bias).build().map_err(|e| e.to_string())?;
    conv.weight = Parameter::new(input(case, "initial_weight"));
    if has_bias {
        conv.bias = Some(Parameter::new(input(case, "initial_bias")));
    }
    let lr = case.params["optimizer_kwargs"]["lr"].as_f64().ok_or("no lr")?;
    let mut optimizer = Sgd::new(conv.parameters(), lr).map_err(|e| e.to_string())?;
    let (x, target) = (input(case, "input"), input(case, "target"));
    let expected_losses = losses(case)?;
    let weights = output(case, "weight_per_step")?;
    let biases = case.output("bias_per_step");
    for (step, &expected_loss) in expected_losses.iter().enumerate() {
        optimizer.zero_grad();
        let loss = F::mse_loss(&conv.forward(&x), &target);
        check_loss(step, &loss, expected_loss, tol)?;
        loss.backward();
        optimizer.step();
        compare(&format!("weight after step {step}"), &conv.weight, &row(&weights, step), tol)?;
        if let (Some(bias), Some(expected)) = (&conv.bias, &biases) {
            compare(&format!("bias after step {step}"), bias, &row(expected, step), tol)?;
        }
    }
    compare("final_weight", &conv.weight, &output(case, "final_weight")?, tol)?;
    let last = F::mse_loss(&conv.forward(&x), &target);
    check_loss(expected_losses.len(), &last, final_loss(case)?, tol)
}

fn tiny_cnn(case: &Case, tol: Tolerance) -> Result<(), String> {
    let architecture = case.params["architecture"].as_array().ok_or("no architecture")?;
    let in_features = architecture[4]["in_features"].as_u64().ok_or("in_features")? as usize;
    let mut conv = Conv2d::new(1, 4, 3).map_err(|e| e.to_string())?;
    let mut fc = Linear::new(in_features, 3);
    conv.weight = Parameter::new(input(case, "initial.conv.weight"));
    conv.bias = Some(Parameter::new(input(case, "initial.conv.bias")));
    fc.weight = Parameter::new(input(case, "initial.fc.weight"));
    fc.bias = Some(Parameter::new(input(case, "initial.fc.bias")));
    // PyTorch's Sequential(Conv2d, ReLU, MaxPool2d(2), Flatten, Linear); the case names the
    // parameters conv.* and fc.*, which are positions 0 and 4 here.
    let model = Sequential::new().add(conv).add(Relu::new()).add(MaxPool2d::new(2)).add(Flatten::new()).add(fc);
    let names = ["conv.weight", "conv.bias", "fc.weight", "fc.bias"];
    let params = model.parameters();
    let kwargs = &case.params["optimizer_kwargs"];
    let mut optimizer = Sgd::builder(params.clone(), kwargs["lr"].as_f64().ok_or("lr")?)
        .momentum(kwargs["momentum"].as_f64().unwrap_or(0.0))
        .build()
        .map_err(|e| e.to_string())?;
    let (x, target) = (input(case, "input"), input(case, "target"));
    compare("initial_logits", &model.forward(&x), &output(case, "initial_logits")?, tol)?;
    for (step, &expected_loss) in losses(case)?.iter().enumerate() {
        optimizer.zero_grad();
        let loss = F::cross_entropy(&model.forward(&x), &target);
        check_loss(step, &loss, expected_loss, tol)?;
        loss.backward();
        if step == 0 {
            for (name, p) in names.iter().zip(&params) {
                let grad = p.grad().ok_or_else(|| format!("no grad for {name}"))?;
                compare(&format!("grads_step0.{name}"), &grad, &output(case, &format!("grads_step0.{name}"))?, tol)?;
            }
        }
        optimizer.step();
        for (name, p) in names.iter().zip(&params) {
            let expected = row(&output(case, &format!("params_per_step.{name}"))?, step);
            compare(&format!("{name} after step {step}"), p, &expected, tol)?;
        }
    }
    for (name, p) in names.iter().zip(&params) {
        compare(&format!("final.{name}"), p, &output(case, &format!("final.{name}"))?, tol)?;
    }
    let last = F::cross_entropy(&model.forward(&x), &target);
    check_loss(5, &last, final_loss(case)?, tol)
}
