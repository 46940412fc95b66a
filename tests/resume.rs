//! Training resumes exactly: a model and optimizer saved mid-training and loaded into fresh
//! ones continue bit for bit like the run that never stopped.

use tapegrad::Tensor;
use tapegrad::nn::functional as F;
use tapegrad::nn::{Linear, Module};
use tapegrad::optim::{Adam, Optimizer, Sgd};

/// The same batch for a step in every run: drawn from a generator of its own, not the
/// global one (tests run in parallel threads).
fn batch(step: usize) -> (Tensor, Tensor) {
    let mut g = tapegrad::random::Generator::from_seed(100 + step as u64);
    let x = Tensor::from_vec((0..40).map(|_| g.normal()).collect(), &[8, 5]).unwrap();
    let y = Tensor::from_vec((0..8).map(|i| ((i + step) % 3) as f32).collect(), &[8]).unwrap();
    (x, y)
}

fn train(model: &Linear, optimizer: &mut dyn Optimizer, steps: std::ops::Range<usize>) {
    for step in steps {
        let (x, y) = batch(step);
        optimizer.zero_grad();
        F::cross_entropy(&model.forward(&x), &y).backward();
        optimizer.step();
    }
}

fn resume_matches(name: &str, make: impl Fn(&Linear) -> Box<dyn Optimizer>) {
    let dir = std::env::temp_dir().join(format!("tapegrad_resume_{name}_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    tapegrad::manual_seed(1);
    let model = Linear::new(5, 3);
    let mut optimizer = make(&model);
    train(&model, optimizer.as_mut(), 0..4);
    tapegrad::save(&model.state_dict(), dir.join("model.safetensors")).unwrap();
    tapegrad::serialize::save_optimizer(&optimizer.state_dict(), dir.join("optim.safetensors")).unwrap();
    train(&model, optimizer.as_mut(), 4..8);

    tapegrad::manual_seed(2); // different initial weights, overwritten by the checkpoint
    let resumed = Linear::new(5, 3);
    resumed.load_state_dict(&tapegrad::load(dir.join("model.safetensors")).unwrap(), true).unwrap();
    let mut resumed_optimizer = make(&resumed);
    resumed_optimizer
        .load_state_dict(&tapegrad::serialize::load_optimizer(dir.join("optim.safetensors")).unwrap())
        .unwrap();
    train(&resumed, resumed_optimizer.as_mut(), 4..8);
    assert_eq!(resumed.weight.to_vec(), model.weight.to_vec());
    assert_eq!(resumed.bias.as_ref().unwrap().to_vec(), model.bias.as_ref().unwrap().to_vec());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sgd_with_momentum_resumes_bit_for_bit() {
    resume_matches("sgd", |m| Box::new(Sgd::builder(m.parameters(), 0.1).momentum(0.9).build().unwrap()));
}

#[test]
fn adam_resumes_bit_for_bit() {
    resume_matches("adam", |m| Box::new(Adam::builder(m.parameters()).lr(0.01).build().unwrap()));
}

#[test]
fn a_model_checkpoint_is_not_an_optimizer_state() {
    let path = std::env::temp_dir().join(format!("tapegrad_not_optim_{}.safetensors", std::process::id()));
    tapegrad::save(&Linear::new(2, 2).state_dict(), &path).unwrap();
    let err = tapegrad::serialize::load_optimizer(&path).unwrap_err().to_string();
    assert!(err.contains("no optimizer state"), "{err}");
    std::fs::remove_file(&path).unwrap();
}
