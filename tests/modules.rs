//! Module behaviour: Dropout's modes and gradient, train/eval through containers, Linear's
//! default initialisation, Sequential's names, and the activation modules.

use std::sync::Mutex;

use tapegrad::Tensor;
use tapegrad::autograd::gradcheck;
use tapegrad::nn::{Dropout, Flatten, Identity, LeakyRelu, Linear, Module, Relu, Sequential, Sigmoid, Softmax, Tanh};

/// The tests of this binary share the global generator; the lock keeps each test's draws
/// together.
static RNG_LOCK: Mutex<()> = Mutex::new(());

#[test]
fn dropout_zeroes_and_rescales_in_training_and_is_the_identity_in_eval() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    tapegrad::manual_seed(5);
    let dropout = Dropout::new(0.25).unwrap();
    let x = Tensor::ones(&[20_000]);
    let y = dropout.forward(&x).to_vec();
    let kept = y.iter().filter(|&&v| v != 0.0).count() as f64 / y.len() as f64;
    // Each element is kept with probability 0.75; the standard error of the fraction is
    // sqrt(0.75·0.25/20000) ≈ 0.0031, so 5 of them is 0.015.
    assert!((kept - 0.75).abs() < 0.015, "kept fraction {kept}");
    assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6), "kept values are scaled by 1/(1-p)");
    dropout.eval();
    assert!(!dropout.is_training());
    assert_eq!(dropout.forward(&x).to_vec(), x.to_vec());
    assert_eq!(Dropout::new(1.5).unwrap_err().message(), "dropout probability has to be between 0 and 1, but got 1.5");
}

#[test]
fn dropout_gradient_is_the_scaled_mask() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let x = Tensor::from_vec((0..12).map(|i| i as f32 * 0.3 - 1.0).collect(), &[3, 4]).unwrap().requires_grad_(true);
    // The same seed inside f draws the same mask on every evaluation, so f is a fixed
    // linear map that gradcheck can differentiate numerically.
    gradcheck(
        |t| {
            tapegrad::manual_seed(9);
            t[0].dropout(0.5, true) * 1.5
        },
        std::slice::from_ref(&x),
    )
    .unwrap();
}

#[test]
fn train_and_eval_reach_every_child() {
    let model = Sequential::new()
        .add(Linear::new(4, 4))
        .add(Dropout::new(0.5).unwrap())
        .add(Sequential::new().add(Relu::new()).add(Dropout::new(0.5).unwrap()));
    assert!(model.is_training());
    model.eval();
    assert!(!model.is_training());
    let inner = model.get(2).unwrap();
    assert!(!inner.is_training() && !model.get(1).unwrap().is_training());
    let x = Tensor::ones(&[2, 4]);
    assert_eq!(model.forward(&x).to_vec(), model.forward(&x).to_vec(), "eval is deterministic");
    model.train(true);
    assert!(model.get(1).unwrap().is_training() && inner.is_training());
}

#[test]
fn sequential_names_children_by_position() {
    let model = Sequential::new().add(Linear::new(3, 5)).add(Tanh::new()).add(Linear::with_bias(5, 2, false));
    let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["0.weight", "0.bias", "2.weight"]);
    let state: Vec<String> = model.state_dict().into_iter().map(|(n, _)| n).collect();
    assert_eq!(state, names);
}

#[test]
fn linear_default_initialisation_is_uniform_within_one_over_sqrt_fan_in() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    tapegrad::manual_seed(21);
    let (fan_in, fan_out) = (50usize, 400usize);
    let layer = Linear::new(fan_in, fan_out);
    let bound = 1.0 / (fan_in as f64).sqrt();
    for (name, values) in [("weight", layer.weight.to_vec()), ("bias", layer.bias.as_ref().unwrap().to_vec())] {
        let n = values.len() as f64;
        assert!(values.iter().all(|&v| (v as f64).abs() <= bound), "{name} outside ±{bound}");
        let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
        let std = (values.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        // U(−b, b) has std σ = b/√3. Standard errors: of the mean σ/√n; of the variance
        // √((μ₄ − σ⁴)/n) = σ²·√(0.8/n) (a uniform has μ₄ = 1.8σ⁴), so of the std
        // σ·√(0.8/n)/2 = σ/√(5n). Allow 5 of each.
        let sigma = bound / 3f64.sqrt();
        assert!(mean.abs() < 5.0 * sigma / n.sqrt(), "{name} mean {mean}");
        assert!((std - sigma).abs() < 5.0 * sigma / (5.0 * n).sqrt() + 1e-9, "{name} std {std} vs {sigma}");
    }
}

#[test]
fn activation_and_shape_modules_match_their_ops() {
    let x = Tensor::from_vec(vec![-2.0, -0.5, 0.5, 2.0, 1.0, -1.0], &[2, 3]).unwrap();
    assert_eq!(Relu::new().forward(&x).to_vec(), x.relu().to_vec());
    assert_eq!(LeakyRelu::default().forward(&x).to_vec(), x.leaky_relu(0.01).to_vec());
    assert_eq!(Sigmoid::new().forward(&x).to_vec(), x.sigmoid().to_vec());
    assert_eq!(Softmax::new(1).forward(&x).to_vec(), x.softmax(1).to_vec());
    assert_eq!(Identity::new().forward(&x).to_vec(), x.to_vec());
    assert_eq!(Flatten::with_dims(0, -1).forward(&x).shape(), &[6]);
    assert!(Relu::new().named_parameters().is_empty());
}
