//! Optimizers and learning-rate schedulers: update rules against independent f64
//! references and hand-computed values, convergence, PyTorch's validation messages,
//! state_dict round trips, schedules against their closed forms.

use tapegrad::nn::{Linear, Module, Parameter};
use tapegrad::optim::{
    Adagrad, AdagradOptions, Adam, AdamOptions, AdamW, AdamWOptions, CosineAnnealingLr, ExponentialLr, Hyperparameters,
    LrScheduler, MultiStepLr, Optimizer, OptimizerState, RmsProp, RmsPropOptions, SchedulerState, Sgd, SgdOptions,
    StepLr,
};
use tapegrad::{Error, Tensor};

fn param(values: &[f32]) -> Parameter {
    Parameter::new(Tensor::from_vec(values.to_vec(), &[values.len()]).unwrap())
}

/// Replaces `.grad` of `p` with `values` (back-propagating from the leaf itself).
fn set_grad(p: &Parameter, values: &[f32]) {
    p.zero_grad();
    p.backward_with(&Tensor::from_vec(values.to_vec(), p.shape()).unwrap());
}

fn assert_close(actual: &[f32], expected: &[f64], rtol: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        assert!((a as f64 - e).abs() <= 1e-7 + rtol * e.abs(), "{what}[{i}]: {a}, expected {e}");
    }
}

// ----- independent f64 references, written from PyTorch's documented algorithms ----------

/// Fixed gradients per step (a different one per element and step), for 3 steps.
const GRADS: [[f64; 3]; 3] = [[0.5, -1.5, 2.0], [0.25, -1.0, -3.0], [-0.75, 0.5, 1.0]];
const START: [f64; 3] = [1.0, -2.0, 0.5];

/// Runs `update(p, g, state, t)` for each element over the 3 steps of GRADS; returns p after each step.
fn reference<S: Default + Clone>(mut update: impl FnMut(&mut f64, f64, &mut S, u32)) -> Vec<Vec<f64>> {
    let mut p = START;
    let mut states = vec![S::default(); 3];
    (0..3)
        .map(|t| {
            for i in 0..3 {
                update(&mut p[i], GRADS[t][i], &mut states[i], t as u32 + 1);
            }
            p.to_vec()
        })
        .collect()
}

/// Runs `optimizer` on a parameter starting at START over the same gradients.
fn trajectory(make: impl FnOnce(Vec<Parameter>) -> Box<dyn Optimizer>) -> Vec<Vec<f32>> {
    let p = param(&START.map(|v| v as f32));
    let mut optimizer = make(vec![p.clone()]);
    (0..3)
        .map(|t| {
            set_grad(&p, &GRADS[t].map(|g| g as f32));
            optimizer.step();
            p.to_vec()
        })
        .collect()
}

fn check_against_reference(what: &str, actual: Vec<Vec<f32>>, expected: Vec<Vec<f64>>) {
    for (t, (a, e)) in actual.iter().zip(&expected).enumerate() {
        assert_close(a, e, 1e-5, &format!("{what} step {}", t + 1));
    }
}

#[test]
fn sgd_matches_reference() {
    for (momentum, dampening, nesterov, weight_decay, maximize) in [
        (0.0, 0.0, false, 0.0, false),
        (0.9, 0.5, false, 0.1, false),
        (0.9, 0.0, true, 0.05, false),
        (0.5, 0.0, false, 0.0, true),
    ] {
        let lr = 0.1;
        let expected = reference(|p, g, buf: &mut Option<f64>, _| {
            let mut g = if maximize { -g } else { g };
            g += weight_decay * *p;
            if momentum != 0.0 {
                let b = match *buf {
                    None => g,
                    Some(b) => momentum * b + (1.0 - dampening) * g,
                };
                *buf = Some(b);
                g = if nesterov { g + momentum * b } else { b };
            }
            *p -= lr * g;
        });
        let actual = trajectory(|params| {
            let options = SgdOptions { lr, momentum, dampening, weight_decay, nesterov, maximize };
            Box::new(Sgd::with_options(params, options).unwrap())
        });
        check_against_reference(&format!("SGD μ={momentum} τ={dampening} nesterov={nesterov}"), actual, expected);
    }
}

#[test]
fn adam_and_adamw_match_reference() {
    for (amsgrad, weight_decay, decoupled, maximize) in
        [(false, 0.0, false, false), (true, 0.1, false, false), (false, 0.1, true, true), (true, 0.2, true, false)]
    {
        let (lr, beta1, beta2, eps) = (0.05, 0.8, 0.9, 1e-6);
        #[derive(Default, Clone)]
        struct Moments(f64, f64, f64);
        let expected = reference(|p, g, s: &mut Moments, t| {
            let mut g = if maximize { -g } else { g };
            if decoupled {
                *p *= 1.0 - lr * weight_decay;
            } else {
                g += weight_decay * *p;
            }
            s.0 = beta1 * s.0 + (1.0 - beta1) * g;
            s.1 = beta2 * s.1 + (1.0 - beta2) * g * g;
            s.2 = s.2.max(s.1);
            let v = if amsgrad { s.2 } else { s.1 };
            let (bc1, bc2) = (1.0 - beta1.powi(t as i32), 1.0 - beta2.powi(t as i32));
            *p -= lr / bc1 * s.0 / (v.sqrt() / bc2.sqrt() + eps);
        });
        let options = AdamOptions {
            lr,
            betas: (beta1, beta2),
            eps,
            weight_decay,
            amsgrad,
            maximize,
            decoupled_weight_decay: decoupled,
        };
        let actual = trajectory(|params| Box::new(Adam::new(params, options).unwrap()));
        check_against_reference(&format!("Adam amsgrad={amsgrad} decoupled={decoupled}"), actual, expected.clone());
        if decoupled {
            let options = AdamWOptions { lr, betas: (beta1, beta2), eps, weight_decay, amsgrad, maximize };
            let actual = trajectory(|params| Box::new(AdamW::new(params, options).unwrap()));
            check_against_reference("AdamW", actual, expected);
        }
    }
}

#[test]
fn rmsprop_matches_reference() {
    for (momentum, centered, weight_decay, alpha) in
        [(0.0, false, 0.0, 0.99), (0.5, true, 0.1, 0.9), (0.9, false, 0.0, 0.3)]
    {
        let (lr, eps) = (0.01, 1e-8);
        #[derive(Default, Clone)]
        struct Averages(f64, f64, f64);
        let expected = reference(|p, g, s: &mut Averages, _| {
            let g = g + weight_decay * *p;
            s.0 = alpha * s.0 + (1.0 - alpha) * g * g;
            s.1 = alpha * s.1 + (1.0 - alpha) * g;
            let avg = if centered { (s.0 - s.1 * s.1).sqrt() } else { s.0.sqrt() } + eps;
            if momentum > 0.0 {
                s.2 = momentum * s.2 + g / avg;
                *p -= lr * s.2;
            } else {
                *p -= lr * g / avg;
            }
        });
        let options = RmsPropOptions { lr, alpha, eps, weight_decay, momentum, centered, maximize: false };
        let actual = trajectory(|params| Box::new(RmsProp::new(params, options).unwrap()));
        check_against_reference(&format!("RMSprop μ={momentum} centered={centered}"), actual, expected);
    }
}

#[test]
fn adagrad_matches_reference() {
    for (lr_decay, weight_decay, initial, maximize) in
        [(0.0, 0.0, 0.0, false), (0.1, 0.1, 0.1, false), (0.5, 0.0, 0.0, true)]
    {
        let (lr, eps) = (0.1, 1e-10);
        let expected = reference(|p, g, sum: &mut Option<f64>, t| {
            let g = if maximize { -g } else { g } + weight_decay * *p;
            let s = sum.unwrap_or(initial) + g * g;
            *sum = Some(s);
            *p -= lr / (1.0 + (t - 1) as f64 * lr_decay) * g / (s.sqrt() + eps);
        });
        let options = AdagradOptions { lr, lr_decay, weight_decay, initial_accumulator_value: initial, eps, maximize };
        let actual = trajectory(|params| Box::new(Adagrad::new(params, options).unwrap()));
        check_against_reference(&format!("Adagrad lr_decay={lr_decay}"), actual, expected);
    }
}

// ----- values worked out by hand --------------------------------------------------------

/// The values after steps with the constant gradient `g` from p = `p0`.
fn steps(p0: f32, g: f32, count: usize, make: impl FnOnce(Vec<Parameter>) -> Box<dyn Optimizer>) -> Vec<f32> {
    let p = param(&[p0]);
    let mut optimizer = make(vec![p.clone()]);
    (0..count)
        .map(|_| {
            set_grad(&p, &[g]);
            optimizer.step();
            p.item()
        })
        .collect()
}

#[test]
fn hand_computed_steps() {
    // SGD, μ = 0.9, τ = 0.5, γ = 0.1: b = 1, 0.9 + 0.5 = 1.4, 1.26 + 0.5 = 1.76.
    let sgd = steps(1.0, 1.0, 3, |p| Box::new(Sgd::builder(p, 0.1).momentum(0.9).dampening(0.5).build().unwrap()));
    assert_close(&sgd, &[0.9, 0.76, 0.584], 1e-6, "SGD dampening");

    // Nesterov, μ = 0.9: b = 1 → step 1 + 0.9 = 1.9; b = 1.9 → step 1 + 1.71 = 2.71; b = 2.71 → 3.439.
    let nesterov = steps(1.0, 1.0, 3, |p| Box::new(Sgd::builder(p, 0.1).momentum(0.9).nesterov(true).build().unwrap()));
    assert_close(&nesterov, &[0.81, 0.539, 0.1951], 1e-6, "SGD nesterov");

    // Adam with a constant gradient: m̂ = v̂ = 1 at every step, so each step moves by γ/(1 + ε).
    let adam = steps(1.0, 1.0, 3, |p| Box::new(Adam::builder(p).lr(0.1).build().unwrap()));
    assert_close(&adam, &[0.9, 0.8, 0.7], 1e-6, "Adam");

    // ε is added after the bias-corrected √: g = 2, γ = 1, ε = 1 gives 2/(√4 + 1), not 2/√(4 + 1).
    let adam_eps = steps(0.0, 2.0, 1, |p| Box::new(Adam::builder(p).lr(1.0).eps(1.0).build().unwrap()));
    assert_close(&adam_eps, &[-2.0 / 3.0], 1e-6, "Adam eps");

    // AdamW decays the parameter: 2·(1 − 0.1·0.5) − 0.1 = 1.8. Adam's L2 term makes g = 1 + 0.5·2 = 2,
    // and its first step still moves by γ: 1.9.
    let adamw = steps(2.0, 1.0, 1, |p| Box::new(AdamW::builder(p).lr(0.1).weight_decay(0.5).build().unwrap()));
    let adam_l2 = steps(2.0, 1.0, 1, |p| Box::new(Adam::builder(p).lr(0.1).weight_decay(0.5).build().unwrap()));
    assert_close(&[adamw[0], adam_l2[0]], &[1.8, 1.9], 1e-6, "weight decay");

    // Adagrad, γ = 0.1, lr_decay 0.5: γ_t = 0.1, 0.1/1.5, 0.1/2 and S = 1, 2, 3.
    let adagrad = steps(1.0, 1.0, 3, |p| Box::new(Adagrad::builder(p).lr(0.1).lr_decay(0.5).build().unwrap()));
    let second = 0.9 - 0.1 / 1.5 / 2f64.sqrt();
    assert_close(&adagrad, &[0.9, second, second - 0.05 / 3f64.sqrt()], 1e-6, "Adagrad");

    // RMSprop centered, α = 0.99: s = a = 0.01, d = √(0.01 − 0.0001) = √0.0099.
    let rmsprop = steps(1.0, 1.0, 1, |p| Box::new(RmsProp::builder(p).centered(true).build().unwrap()));
    assert_close(&rmsprop, &[1.0 - 0.01 / 0.0099f64.sqrt()], 1e-6, "RMSprop centered");
}

// ----- convergence ----------------------------------------------------------------------

/// Minimises Σ 0.5·c·(p − target)² with c = [1, 3] and checks that p reaches target.
fn converges(name: &str, steps: usize, tol: f32, make: impl FnOnce(Vec<Parameter>) -> Box<dyn Optimizer>) {
    let target = Tensor::from_vec(vec![2.0, -1.0], &[2]).unwrap();
    let curvature = Tensor::from_vec(vec![1.0, 3.0], &[2]).unwrap();
    let p = param(&[-1.0, 1.5]);
    let mut optimizer = make(vec![p.clone()]);
    for _ in 0..steps {
        optimizer.zero_grad();
        let loss = (&curvature * (p.tensor() - &target).pow(2.0)).sum() * 0.5;
        loss.backward();
        optimizer.step();
    }
    let values = p.to_vec();
    assert!((values[0] - 2.0).abs() < tol && (values[1] + 1.0).abs() < tol, "{name} ended at {values:?}");
}

#[test]
fn every_optimizer_converges_on_a_quadratic() {
    converges("SGD", 200, 1e-4, |p| Box::new(Sgd::new(p, 0.1).unwrap()));
    converges("SGD nesterov", 200, 1e-4, |p| {
        Box::new(Sgd::builder(p, 0.05).momentum(0.9).nesterov(true).build().unwrap())
    });
    converges("Adam", 2000, 1e-3, |p| Box::new(Adam::builder(p).lr(0.01).build().unwrap()));
    converges("AdamW", 2000, 1e-3, |p| Box::new(AdamW::builder(p).lr(0.01).weight_decay(0.0).build().unwrap()));
    converges("RMSprop", 2000, 1e-2, |p| Box::new(RmsProp::builder(p).lr(0.01).build().unwrap()));
    converges("Adagrad", 500, 1e-3, |p| Box::new(Adagrad::builder(p).lr(0.5).build().unwrap()));
}

// ----- validation, with PyTorch's messages -----------------------------------------------

fn message<T: std::fmt::Debug>(result: tapegrad::Result<T>) -> String {
    match result {
        Err(Error::Value(message)) => message,
        other => panic!("expected Error::Value, got {other:?}"),
    }
}

#[test]
fn invalid_hyperparameters_give_pytorchs_messages() {
    let ps = || vec![param(&[1.0])];
    assert_eq!(message(Sgd::new(ps(), -0.1)), "Invalid learning rate: -0.1");
    assert_eq!(message(Sgd::builder(ps(), 0.1).momentum(-0.5).build()), "Invalid momentum value: -0.5");
    assert_eq!(message(Sgd::builder(ps(), 0.1).weight_decay(-1.0).build()), "Invalid weight_decay value: -1");
    let nesterov = "Nesterov momentum requires a momentum and zero dampening";
    assert_eq!(message(Sgd::builder(ps(), 0.1).nesterov(true).build()), nesterov);
    assert_eq!(message(Sgd::builder(ps(), 0.1).momentum(0.9).dampening(0.1).nesterov(true).build()), nesterov);

    assert_eq!(message(Adam::builder(ps()).lr(-0.001).build()), "Invalid learning rate: -0.001");
    assert_eq!(message(Adam::builder(ps()).lr(f64::NAN).build()), "Invalid learning rate: nan");
    assert_eq!(message(Adam::builder(ps()).eps(-1e-8).build()), "Invalid epsilon value: -1e-08");
    assert_eq!(message(Adam::builder(ps()).betas((1.0, 0.999)).build()), "Invalid beta parameter at index 0: 1.0");
    assert_eq!(message(Adam::builder(ps()).betas((0.9, -0.1)).build()), "Invalid beta parameter at index 1: -0.1");
    assert_eq!(message(Adam::builder(ps()).weight_decay(-1.0).build()), "Invalid weight_decay value: -1");
    // PyTorch checks lr before eps.
    assert_eq!(message(Adam::builder(ps()).lr(-1.0).eps(-1.0).build()), "Invalid learning rate: -1.0");
    assert_eq!(message(AdamW::builder(ps()).weight_decay(-0.01).build()), "Invalid weight_decay value: -0.01");
    assert_eq!(message(AdamW::builder(ps()).betas((0.9, 1.0)).build()), "Invalid beta parameter at index 1: 1.0");

    assert_eq!(message(RmsProp::builder(ps()).alpha(-0.5).build()), "Invalid alpha value: -0.5");
    assert_eq!(message(RmsProp::builder(ps()).momentum(-1.0).build()), "Invalid momentum value: -1");
    assert_eq!(message(RmsProp::builder(ps()).eps(-1e-8).build()), "Invalid epsilon value: -1e-08");

    assert_eq!(message(Adagrad::builder(ps()).lr_decay(-1.0).build()), "Invalid lr_decay value: -1");
    assert_eq!(
        message(Adagrad::builder(ps()).initial_accumulator_value(-0.1).build()),
        "Invalid initial_accumulator_value value: -0.1"
    );
    assert_eq!(message(Adagrad::builder(ps()).eps(-1e-10).build()), "Invalid epsilon value: -1e-10");

    assert_eq!(message(Adam::builder(Vec::new()).build()), "optimizer got an empty parameter list");
    assert!(StepLr::new(&Sgd::new(ps(), 0.1).unwrap(), 0).is_err());
    assert!(CosineAnnealingLr::new(&Sgd::new(ps(), 0.1).unwrap(), 0).is_err());
}

#[test]
fn defaults_are_pytorchs() {
    // The values of PyTorch 2.x's signatures (SGD's lr has defaulted to 1e-3 since 2.2).
    let (f, t) = (false, true);
    let sgd = SgdOptions { lr: 1e-3, momentum: 0.0, dampening: 0.0, weight_decay: 0.0, nesterov: f, maximize: f };
    assert_eq!(SgdOptions::default(), sgd);
    let adam = AdamOptions {
        lr: 1e-3,
        betas: (0.9, 0.999),
        eps: 1e-8,
        weight_decay: 0.0,
        amsgrad: f,
        maximize: f,
        decoupled_weight_decay: f,
    };
    assert_eq!(AdamOptions::default(), adam);
    let adamw = AdamWOptions { lr: 1e-3, betas: (0.9, 0.999), eps: 1e-8, weight_decay: 1e-2, amsgrad: f, maximize: f };
    assert_eq!(AdamWOptions::default(), adamw);
    assert_eq!(AdamOptions::from(adamw), AdamOptions { weight_decay: 1e-2, decoupled_weight_decay: t, ..adam });
    let rmsprop =
        RmsPropOptions { lr: 1e-2, alpha: 0.99, eps: 1e-8, weight_decay: 0.0, momentum: 0.0, centered: f, maximize: f };
    assert_eq!(RmsPropOptions::default(), rmsprop);
    let adagrad = AdagradOptions {
        lr: 1e-2,
        lr_decay: 0.0,
        weight_decay: 0.0,
        initial_accumulator_value: 0.0,
        eps: 1e-10,
        maximize: f,
    };
    assert_eq!(AdagradOptions::default(), adagrad);
}

// ----- zero_grad, skipping, no graph ------------------------------------------------------

#[test]
fn zero_grad_clears_every_gradient_and_step_updates_the_model() {
    let model = Linear::new(3, 2);
    let weight_before = model.parameters()[0].to_vec();
    let mut optimizer = Sgd::new(model.parameters(), 0.5).unwrap();
    model.forward(&Tensor::ones(&[1, 3])).sum().backward();
    assert!(model.parameters().iter().all(|p| p.grad().is_some()));
    optimizer.step();
    // d(Σ xWᵀ + b)/dW = x = 1: the model's own weight (shared by the clone) moved by −0.5.
    let expected: Vec<f64> = weight_before.iter().map(|&w| w as f64 - 0.5).collect();
    assert_close(&model.parameters()[0].to_vec(), &expected, 1e-6, "weight");
    optimizer.zero_grad();
    assert!(model.parameters().iter().all(|p| p.grad().is_none()));
}

#[test]
fn step_skips_parameters_without_gradient_and_records_no_graph() {
    let (with_grad, without) = (param(&[1.0, 2.0]), param(&[3.0]));
    let mut optimizer =
        Adam::builder(vec![with_grad.clone(), without.clone()]).lr(0.1).weight_decay(0.1).build().unwrap();
    set_grad(&with_grad, &[1.0, -1.0]);
    optimizer.step();
    assert_eq!(without.to_vec(), vec![3.0]);
    let state = optimizer.state_dict();
    assert_eq!(state.state.keys().copied().collect::<Vec<_>>(), vec![0], "no state for a parameter never stepped");
    assert!(with_grad.is_leaf() && with_grad.grad_fn().is_none() && with_grad.requires_grad());
    // The gradient itself is left as it was (weight decay goes into a copy).
    assert_eq!(with_grad.grad().unwrap().to_vec(), vec![1.0, -1.0]);
}

// ----- state_dict ------------------------------------------------------------------------

fn all_optimizers(params: Vec<Parameter>) -> Vec<Box<dyn Optimizer>> {
    vec![
        Box::new(Sgd::builder(params.clone(), 0.05).momentum(0.9).nesterov(true).weight_decay(0.01).build().unwrap()),
        Box::new(Adam::builder(params.clone()).lr(0.05).amsgrad(true).weight_decay(0.01).build().unwrap()),
        Box::new(AdamW::builder(params.clone()).lr(0.05).amsgrad(true).build().unwrap()),
        Box::new(RmsProp::builder(params.clone()).centered(true).momentum(0.5).weight_decay(0.01).build().unwrap()),
        Box::new(Adagrad::builder(params).lr(0.1).lr_decay(0.1).initial_accumulator_value(0.1).build().unwrap()),
    ]
}

fn grads_at(step: usize) -> [Vec<f32>; 2] {
    let s = step as f32;
    [vec![0.5 - 0.1 * s, -1.0 + 0.3 * s, 0.25 * s], vec![1.5 - 0.2 * s]]
}

#[test]
fn state_dict_round_trip_resumes_bit_identically() {
    let start = [vec![1.0, -0.5, 2.0], vec![0.3]];
    let originals = [param(&start[0]), param(&start[1])];
    let copies = [param(&start[0]), param(&start[1])];
    let fresh_params = copies.to_vec();
    for (index, mut original) in all_optimizers(originals.to_vec()).into_iter().enumerate() {
        for (p, values) in originals.iter().zip(&start) {
            p.copy_(&Tensor::from_vec(values.clone(), p.shape()).unwrap());
        }
        for step in 0..3 {
            for (p, g) in originals.iter().zip(grads_at(step)) {
                set_grad(p, &g);
            }
            original.step();
        }
        // Save through JSON, and resume with a fresh optimizer (default-ish options) on copies of the weights.
        let json = serde_json::to_string(&original.state_dict()).unwrap();
        let saved: OptimizerState = serde_json::from_str(&json).unwrap();
        assert_eq!(saved, original.state_dict(), "JSON keeps every bit");
        for (copy, p) in copies.iter().zip(&originals) {
            copy.copy_(p);
        }
        let mut resumed = all_optimizers(fresh_params.clone()).remove(index);
        resumed.set_lr(123.0);
        resumed.load_state_dict(&saved).unwrap();
        assert_eq!(resumed.lr(), original.lr(), "the learning rate comes back");
        for step in 3..6 {
            for ((p, copy), g) in originals.iter().zip(&copies).zip(grads_at(step)) {
                set_grad(p, &g);
                set_grad(copy, &g);
            }
            original.step();
            resumed.step();
        }
        for (p, copy) in originals.iter().zip(&copies) {
            let (a, b): (Vec<u32>, Vec<u32>) =
                (p.to_vec().iter().map(|v| v.to_bits()).collect(), copy.to_vec().iter().map(|v| v.to_bits()).collect());
            assert_eq!(a, b, "optimizer {index}: resumed training differs");
        }
        assert_eq!(original.state_dict(), resumed.state_dict());
    }
}

#[test]
fn state_dict_uses_pytorchs_names() {
    let p = param(&[1.0, 2.0]);
    let names = |optimizer: &dyn Optimizer| -> (Option<u64>, Vec<String>) {
        let state = optimizer.state_dict();
        let entry = &state.state[&0];
        (entry.step, entry.buffers.keys().cloned().collect())
    };
    let mut optimizers = all_optimizers(vec![p.clone()]);
    let adagrad_before = names(optimizers[4].as_ref());
    assert_eq!(adagrad_before, (Some(0), vec!["sum".to_string()]), "Adagrad has state from the start");
    set_grad(&p, &[1.0, 1.0]);
    for optimizer in &mut optimizers {
        optimizer.step();
    }
    let expected: [(Option<u64>, &[&str]); 5] = [
        (None, &["momentum_buffer"]),
        (Some(1), &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]),
        (Some(1), &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]),
        (Some(1), &["grad_avg", "momentum_buffer", "square_avg"]),
        (Some(1), &["sum"]),
    ];
    for (optimizer, (step, buffers)) in optimizers.iter().zip(expected) {
        assert_eq!(names(optimizer.as_ref()), (step, buffers.iter().map(|s| s.to_string()).collect()));
    }
    let json = serde_json::to_value(optimizers[3].state_dict()).unwrap();
    assert_eq!(json["hyperparameters"]["optimizer"], "RMSprop");
    assert_eq!(json["hyperparameters"]["centered"], true);
    // Plain SGD keeps no state at all.
    let mut plain = Sgd::new(vec![p.clone()], 0.1).unwrap();
    plain.step();
    assert!(plain.state_dict().state.is_empty());
}

#[test]
fn load_state_dict_rejects_what_does_not_fit_and_changes_nothing() {
    let p = param(&[1.0, 2.0]);
    let mut adam = Adam::builder(vec![p.clone()]).lr(0.1).build().unwrap();
    set_grad(&p, &[1.0, 1.0]);
    adam.step();
    let (good, before) = (adam.state_dict(), adam.state_dict());

    let sgd_state = Sgd::new(vec![p.clone()], 0.1).unwrap().state_dict();
    assert_eq!(message(adam.load_state_dict(&sgd_state)), "loaded state dict is for SGD, but this optimizer is Adam");

    let two = Adam::new(vec![p.clone(), param(&[0.0])], AdamOptions::default()).unwrap().state_dict();
    assert!(
        message(adam.load_state_dict(&two)).starts_with(
            "loaded state dict contains a parameter group that doesn't match the size of optimizer's group"
        )
    );

    let mut wrong_shape = good.clone();
    wrong_shape.state.get_mut(&0).unwrap().buffers.get_mut("exp_avg").unwrap().shape = vec![1, 2];
    assert_eq!(
        message(adam.load_state_dict(&wrong_shape)),
        "loaded state of parameter 0: buffer \"exp_avg\" has shape [1, 2], but the parameter has shape [2]"
    );

    let mut missing = good.clone();
    missing.state.get_mut(&0).unwrap().buffers.remove("exp_avg_sq");
    assert_eq!(message(adam.load_state_dict(&missing)), "loaded state of parameter 0: missing buffer \"exp_avg_sq\"");

    let mut no_step = good.clone();
    no_step.state.get_mut(&0).unwrap().step = None;
    assert_eq!(message(adam.load_state_dict(&no_step)), "loaded state of parameter 0: missing \"step\"");

    let with_options = |change: fn(&mut AdamOptions)| {
        let mut state = good.clone();
        let Hyperparameters::Adam(options) = &mut state.hyperparameters else { unreachable!() };
        change(options);
        state
    };
    let amsgrad_without_buffer = with_options(|o| o.amsgrad = true);
    let expected = "loaded state of parameter 0: missing buffer \"max_exp_avg_sq\"";
    assert_eq!(message(adam.load_state_dict(&amsgrad_without_buffer)), expected);
    let negative_lr = with_options(|o| o.lr = -0.5);
    assert_eq!(message(adam.load_state_dict(&negative_lr)), "Invalid learning rate: -0.5");

    assert_eq!(adam.state_dict(), before, "a failed load changes nothing");
    adam.load_state_dict(&good).unwrap();
}

// ----- learning-rate schedulers --------------------------------------------------------

/// The learning rates after 0, 1, ..., `epochs` scheduler steps.
fn schedule(base_lr: f64, epochs: usize, make: impl FnOnce(&dyn Optimizer) -> Box<dyn LrScheduler>) -> Vec<f64> {
    let mut optimizer = Sgd::new(vec![param(&[0.0])], base_lr).unwrap();
    let mut scheduler = make(&optimizer);
    let mut lrs = vec![optimizer.lr()];
    for _ in 0..epochs {
        optimizer.step();
        scheduler.step(&mut optimizer);
        assert_eq!(scheduler.get_last_lr(), [optimizer.lr()], "the scheduler sets the optimizer's rate");
        lrs.push(optimizer.lr());
    }
    assert_eq!(scheduler.last_epoch(), epochs);
    lrs
}

fn assert_lrs(actual: &[f64], closed_form: impl Fn(usize) -> f64, what: &str) {
    for (e, &lr) in actual.iter().enumerate() {
        let expected = closed_form(e);
        assert!((lr - expected).abs() <= 1e-12 * expected.abs() + 1e-15, "{what} epoch {e}: {lr}, expected {expected}");
    }
}

#[test]
fn schedulers_follow_their_closed_forms() {
    let lrs = schedule(0.1, 20, |o| Box::new(StepLr::new(o, 3).unwrap().gamma(0.5)));
    assert_lrs(&lrs, |e| 0.1 * 0.5f64.powi((e / 3) as i32), "StepLR");
    let lrs = schedule(1.0, 6, |o| Box::new(StepLr::new(o, 2).unwrap()));
    assert_lrs(&lrs, |e| 0.1f64.powi((e / 2) as i32), "StepLR default gamma 0.1");

    // A milestone listed twice decays twice, as PyTorch's Counter does.
    let milestones = [2, 5, 5, 8];
    let lrs = schedule(0.5, 10, |o| Box::new(MultiStepLr::new(o, milestones.to_vec()).gamma(0.1)));
    assert_lrs(&lrs, |e| 0.5 * 0.1f64.powi(milestones.iter().filter(|&&m| m <= e).count() as i32), "MultiStepLR");

    let lrs = schedule(0.1, 15, |o| Box::new(ExponentialLr::new(o, 0.9)));
    assert_lrs(&lrs, |e| 0.1 * 0.9f64.powi(e as i32), "ExponentialLR");

    // Cosine: down to eta_min at T_max, back up to base_lr at 2·T_max (the schedule is periodic).
    let (base, eta_min, t_max) = (0.05, 0.001, 8);
    let lrs = schedule(base, 3 * t_max, |o| Box::new(CosineAnnealingLr::new(o, t_max).unwrap().eta_min(eta_min)));
    let closed =
        |e: usize| eta_min + (base - eta_min) * (1.0 + (std::f64::consts::PI * e as f64 / t_max as f64).cos()) / 2.0;
    assert_lrs(&lrs, closed, "CosineAnnealingLR");
    assert!((lrs[t_max] - eta_min).abs() < 1e-15 && (lrs[2 * t_max] - base).abs() < 1e-12);
}

#[test]
fn schedulers_chain_from_the_current_rate() {
    // PyTorch's schedulers are "chainable": a rate set by hand is carried on from.
    let mut optimizer = Sgd::new(vec![param(&[0.0])], 1.0).unwrap();
    let mut scheduler = ExponentialLr::new(&optimizer, 0.5);
    scheduler.step(&mut optimizer);
    optimizer.set_lr(10.0);
    scheduler.step(&mut optimizer);
    assert_eq!(optimizer.lr(), 5.0);
}

#[test]
fn scheduler_state_round_trip() {
    let mut optimizer = Sgd::new(vec![param(&[0.0])], 0.1).unwrap();
    let mut scheduler = CosineAnnealingLr::new(&optimizer, 5).unwrap().eta_min(0.01);
    for _ in 0..7 {
        scheduler.step(&mut optimizer);
    }
    let json = serde_json::to_string(&scheduler.state_dict()).unwrap();
    let saved: SchedulerState = serde_json::from_str(&json).unwrap();
    let optimizer_state = optimizer.state_dict();

    let mut resumed_optimizer = Sgd::new(vec![param(&[0.0])], 0.1).unwrap();
    let mut resumed = CosineAnnealingLr::new(&resumed_optimizer, 1).unwrap();
    resumed.load_state_dict(&saved).unwrap();
    resumed_optimizer.load_state_dict(&optimizer_state).unwrap();
    assert_eq!(resumed.last_epoch(), 7);
    for _ in 0..10 {
        scheduler.step(&mut optimizer);
        resumed.step(&mut resumed_optimizer);
        assert_eq!(resumed.get_last_lr(), scheduler.get_last_lr());
    }

    let mut step_lr = StepLr::new(&optimizer, 2).unwrap();
    assert_eq!(
        message(step_lr.load_state_dict(&saved)),
        "loaded scheduler state is for CosineAnnealingLR, but this scheduler is StepLR"
    );
}
