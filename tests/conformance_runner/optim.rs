//! optim.json: optimizer trajectories (10 steps on a quadratic or on fixed gradients) and
//! learning-rate scheduler sequences.

use serde_json::Value;
use tapegrad::Tensor;
use tapegrad::nn::Parameter;
use tapegrad::optim::{
    Adagrad, AdagradOptions, Adam, AdamOptions, AdamW, AdamWOptions, CosineAnnealingLr, ExponentialLr, LrScheduler,
    MultiStepLr, Optimizer, RmsProp, RmsPropOptions, Sgd, SgdOptions, StepLr,
};

use super::{Case, JsonTensor, Outcome, Tolerance, compare};

/// Runs one case of optim.json.
pub fn run(case: &Case, trajectory: Tolerance) -> Outcome {
    let result = match case.op.as_str() {
        "SGD" | "Adam" | "AdamW" | "RMSprop" | "Adagrad" => run_trajectory(case, trajectory),
        "StepLR" | "MultiStepLR" | "ExponentialLR" | "CosineAnnealingLR" => run_schedule(case, trajectory),
        _ => return Outcome::Unsupported,
    };
    match result {
        Ok(()) => Outcome::Pass,
        Err(why) => Outcome::Fail(why),
    }
}

/// A `params` entry as an object (`kwargs`, `scheduler`).
fn object<'a>(value: Option<&'a Value>, what: &str) -> Result<&'a serde_json::Map<String, Value>, String> {
    value.and_then(Value::as_object).ok_or_else(|| format!("params.{what} is missing or not an object"))
}

fn float(kwargs: &serde_json::Map<String, Value>, key: &str) -> Option<f64> {
    kwargs.get(key).and_then(Value::as_f64)
}

fn flag(kwargs: &serde_json::Map<String, Value>, key: &str) -> Option<bool> {
    kwargs.get(key).and_then(Value::as_bool)
}

fn pair(kwargs: &serde_json::Map<String, Value>, key: &str) -> Option<(f64, f64)> {
    match kwargs.get(key)?.as_array()?.as_slice() {
        [a, b] => Some((a.as_f64()?, b.as_f64()?)),
        _ => None,
    }
}

/// The optimizer of the case, from the constructor kwargs exactly as PyTorch took them
/// (missing ones take the options' defaults, which are PyTorch's).
fn make_optimizer(case: &Case, params: Vec<Parameter>) -> Result<Box<dyn Optimizer>, String> {
    let kwargs = object(case.params.get("kwargs"), "kwargs")?;
    let f = |key: &str, default: f64| float(kwargs, key).unwrap_or(default);
    let b = |key: &str, default: bool| flag(kwargs, key).unwrap_or(default);
    let error = |e: tapegrad::Error| e.to_string();
    Ok(match case.op.as_str() {
        "SGD" => {
            let d = SgdOptions::default();
            let options = SgdOptions {
                lr: f("lr", d.lr),
                momentum: f("momentum", d.momentum),
                dampening: f("dampening", d.dampening),
                weight_decay: f("weight_decay", d.weight_decay),
                nesterov: b("nesterov", d.nesterov),
                maximize: b("maximize", d.maximize),
            };
            Box::new(Sgd::with_options(params, options).map_err(error)?)
        }
        "Adam" => {
            let d = AdamOptions::default();
            let options = AdamOptions {
                lr: f("lr", d.lr),
                betas: pair(kwargs, "betas").unwrap_or(d.betas),
                eps: f("eps", d.eps),
                weight_decay: f("weight_decay", d.weight_decay),
                amsgrad: b("amsgrad", d.amsgrad),
                maximize: b("maximize", d.maximize),
                decoupled_weight_decay: b("decoupled_weight_decay", d.decoupled_weight_decay),
            };
            Box::new(Adam::new(params, options).map_err(error)?)
        }
        "AdamW" => {
            let d = AdamWOptions::default();
            let options = AdamWOptions {
                lr: f("lr", d.lr),
                betas: pair(kwargs, "betas").unwrap_or(d.betas),
                eps: f("eps", d.eps),
                weight_decay: f("weight_decay", d.weight_decay),
                amsgrad: b("amsgrad", d.amsgrad),
                maximize: b("maximize", d.maximize),
            };
            Box::new(AdamW::new(params, options).map_err(error)?)
        }
        "RMSprop" => {
            let d = RmsPropOptions::default();
            let options = RmsPropOptions {
                lr: f("lr", d.lr),
                alpha: f("alpha", d.alpha),
                eps: f("eps", d.eps),
                weight_decay: f("weight_decay", d.weight_decay),
                momentum: f("momentum", d.momentum),
                centered: b("centered", d.centered),
                maximize: b("maximize", d.maximize),
            };
            Box::new(RmsProp::new(params, options).map_err(error)?)
        }
        "Adagrad" => {
            let d = AdagradOptions::default();
            let options = AdagradOptions {
                lr: f("lr", d.lr),
                lr_decay: f("lr_decay", d.lr_decay),
                weight_decay: f("weight_decay", d.weight_decay),
                initial_accumulator_value: f("initial_accumulator_value", d.initial_accumulator_value),
                eps: f("eps", d.eps),
                maximize: b("maximize", d.maximize),
            };
            Box::new(Adagrad::new(params, options).map_err(error)?)
        }
        op => return Err(format!("unknown optimizer {op}")),
    })
}

/// A scheduler from its PyTorch name and kwargs.
fn make_scheduler(
    name: &str,
    kwargs: &serde_json::Map<String, Value>,
    optimizer: &dyn Optimizer,
) -> Result<Box<dyn LrScheduler>, String> {
    let int = |key: &str| kwargs.get(key).and_then(Value::as_u64).map(|v| v as usize);
    let gamma = float(kwargs, "gamma");
    let error = |e: tapegrad::Error| e.to_string();
    Ok(match name {
        "StepLR" => {
            let scheduler = StepLr::new(optimizer, int("step_size").ok_or("StepLR needs step_size")?).map_err(error)?;
            Box::new(match gamma {
                Some(gamma) => scheduler.gamma(gamma),
                None => scheduler,
            })
        }
        "MultiStepLR" => {
            let milestones: Vec<usize> = kwargs
                .get("milestones")
                .and_then(Value::as_array)
                .ok_or("MultiStepLR needs milestones")?
                .iter()
                .map(|m| m.as_u64().map(|m| m as usize).ok_or("milestones must be integers"))
                .collect::<Result<_, _>>()?;
            let scheduler = MultiStepLr::new(optimizer, milestones);
            Box::new(match gamma {
                Some(gamma) => scheduler.gamma(gamma),
                None => scheduler,
            })
        }
        "ExponentialLR" => Box::new(ExponentialLr::new(optimizer, gamma.ok_or("ExponentialLR needs gamma")?)),
        "CosineAnnealingLR" => {
            let scheduler = CosineAnnealingLr::new(optimizer, int("T_max").ok_or("CosineAnnealingLR needs T_max")?)
                .map_err(error)?;
            Box::new(scheduler.eta_min(float(kwargs, "eta_min").unwrap_or(0.0)))
        }
        _ => return Err(format!("unknown scheduler {name}")),
    })
}

/// Where each step's gradients come from.
enum GradSource {
    /// `grad = curvature·(p − target)`, the gradient of `Σ 0.5·curvature·(p − target)²`,
    /// computed by autograd at the current parameters.
    Quadratic { targets: Vec<Tensor>, curvatures: Vec<Tensor> },
    /// Row t of each `grad_sequence.<name>`.
    Sequence(Vec<JsonTensor>),
}

fn input(case: &Case, name: &str) -> Result<JsonTensor, String> {
    case.input(name).ok_or_else(|| format!("case has no inputs.{name}"))
}

/// Runs the optimizer for `params.steps` steps and compares the parameters after each step,
/// the gradients fed in, the losses (quadratic) and the learning rates.
fn run_trajectory(case: &Case, tol: Tolerance) -> Result<(), String> {
    let names: Vec<String> = case
        .params
        .get("param_names")
        .and_then(Value::as_array)
        .ok_or("params.param_names is missing")?
        .iter()
        .map(|n| n.as_str().map(str::to_string).ok_or("param names are strings"))
        .collect::<Result<_, _>>()?;
    let steps = case.params.get("steps").and_then(Value::as_u64).ok_or("params.steps is missing")? as usize;
    let params: Vec<Parameter> =
        names.iter().map(|n| input(case, n).map(|t| Parameter::new(t.to_tensor()))).collect::<Result<_, _>>()?;
    let source = match case.params.get("grad_source").and_then(Value::as_str) {
        Some("quadratic") => GradSource::Quadratic {
            targets: names
                .iter()
                .map(|n| input(case, &format!("target.{n}")).map(|t| t.to_tensor()))
                .collect::<Result<_, _>>()?,
            curvatures: names
                .iter()
                .map(|n| input(case, &format!("curvature.{n}")).map(|t| t.to_tensor()))
                .collect::<Result<_, _>>()?,
        },
        Some("sequence") => GradSource::Sequence(
            names.iter().map(|n| input(case, &format!("grad_sequence.{n}"))).collect::<Result<_, _>>()?,
        ),
        other => return Err(format!("unknown grad_source {other:?}")),
    };

    let mut optimizer = make_optimizer(case, params.clone())?;
    let mut scheduler = match case.params.get("scheduler") {
        Some(spec) => {
            let name = spec.get("name").and_then(Value::as_str).ok_or("scheduler has no name")?;
            Some(make_scheduler(name, object(spec.get("kwargs"), "scheduler.kwargs")?, optimizer.as_ref())?)
        }
        None => None,
    };

    // Per step: the values of each parameter after it, the gradients fed in, the loss before it.
    let mut params_per_step: Vec<Vec<f32>> = vec![Vec::new(); params.len()];
    let mut grads_per_step: Vec<Vec<f32>> = vec![Vec::new(); params.len()];
    let mut losses = Vec::new();
    let mut lrs = Vec::new();
    for step in 0..steps {
        optimizer.zero_grad();
        match &source {
            GradSource::Quadratic { targets, curvatures } => {
                let loss = params
                    .iter()
                    .zip(targets.iter().zip(curvatures))
                    .map(|(p, (target, curvature))| (curvature * (p.tensor() - target).pow(2.0)).sum() * 0.5)
                    .reduce(|a, b| a + b)
                    .ok_or("no parameters")?;
                losses.push(loss.item());
                loss.backward();
            }
            GradSource::Sequence(sequences) => {
                for (p, sequence) in params.iter().zip(sequences) {
                    let numel = p.numel();
                    let row = sequence.data[step * numel..(step + 1) * numel].iter().map(|&v| v as f32).collect();
                    // Back-propagating from the leaf itself puts exactly this gradient in .grad.
                    p.backward_with(&Tensor::from_vec(row, p.shape()).map_err(|e| e.to_string())?);
                }
            }
        }
        for (i, p) in params.iter().enumerate() {
            grads_per_step[i].extend(p.grad().ok_or("a parameter has no gradient")?.to_vec());
        }
        lrs.push(optimizer.lr());
        optimizer.step();
        if let Some(scheduler) = &mut scheduler {
            scheduler.step(optimizer.as_mut());
        }
        for (i, p) in params.iter().enumerate() {
            params_per_step[i].extend(p.to_vec());
        }
    }

    for (i, (name, p)) in names.iter().zip(&params).enumerate() {
        let shape: Vec<usize> = [steps].into_iter().chain(p.shape().iter().copied()).collect();
        for (what, values) in [("params_per_step", &params_per_step[i]), ("grads_per_step", &grads_per_step[i])] {
            let key = format!("{what}.{name}");
            let expected = case.output(&key).ok_or_else(|| format!("case has no outputs.{key}"))?;
            let actual = Tensor::from_vec(values.clone(), &shape).map_err(|e| e.to_string())?;
            compare(&key, &actual, &expected, tol)?;
        }
    }
    if let Some(expected) = case.output("loss_per_step") {
        compare("loss_per_step", &Tensor::from_vec(losses, &[steps]).map_err(|e| e.to_string())?, &expected, tol)?;
    }
    let expected_lrs = floats(case.outputs.get("lr_per_step")).ok_or("case has no outputs.lr_per_step")?;
    compare_lrs("lr_per_step", &lrs, &expected_lrs)
}

/// Steps a scheduler on an SGD optimizer for `params.epochs` epochs and compares the
/// learning rates (`lrs[e]` after e steps).
fn run_schedule(case: &Case, _tol: Tolerance) -> Result<(), String> {
    let base_lr = case.params.get("base_lr").and_then(Value::as_f64).ok_or("params.base_lr is missing")?;
    let epochs = case.params.get("epochs").and_then(Value::as_u64).ok_or("params.epochs is missing")? as usize;
    let kwargs = object(case.params.get("kwargs"), "kwargs")?;
    let mut optimizer = Sgd::new(vec![Parameter::new(Tensor::zeros(&[1]))], base_lr).map_err(|e| e.to_string())?;
    let mut scheduler = make_scheduler(&case.op, kwargs, &optimizer)?;
    let mut lrs = vec![scheduler.get_last_lr()[0]];
    for _ in 0..epochs {
        optimizer.step();
        scheduler.step(&mut optimizer);
        lrs.push(scheduler.get_last_lr()[0]);
    }
    let expected = floats(case.outputs.get("lrs")).ok_or("case has no outputs.lrs")?;
    compare_lrs("lrs", &lrs, &expected)
}

fn floats(value: Option<&Value>) -> Option<Vec<f64>> {
    value?.as_array()?.iter().map(Value::as_f64).collect()
}

/// Learning rates are computed in f64 as PyTorch's Python floats are: they must agree to
/// ~1e-12 relative (README).
fn compare_lrs(what: &str, actual: &[f64], expected: &[f64]) -> Result<(), String> {
    if actual.len() != expected.len() {
        return Err(format!("{what}: {} values, expected {}", actual.len(), expected.len()));
    }
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        // Written so that a NaN on either side fails.
        let within = (a - e).abs() <= 1e-12 * e.abs() + 1e-15;
        if !within {
            return Err(format!("{what}[{i}]: {a}, expected {e} (relative tolerance 1e-12)"));
        }
    }
    Ok(())
}
