//! Checkpoints: PyTorch-written weights reproduce PyTorch's logits, and tapegrad's own
//! checkpoints round-trip exactly.

use std::path::PathBuf;

use serde::Deserialize;
use tapegrad::Tensor;
use tapegrad::models::LeNet5;
use tapegrad::nn::Module;

fn interop(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/interop").join(file)
}

#[derive(Deserialize)]
struct JsonTensor {
    shape: Vec<usize>,
    data: Vec<f64>,
}

impl JsonTensor {
    fn tensor(&self) -> Tensor {
        Tensor::from_vec(self.data.iter().map(|&v| v as f32).collect(), &self.shape).unwrap()
    }
}

#[derive(Deserialize)]
struct Expected {
    keys: std::collections::BTreeMap<String, Vec<usize>>,
    input: JsonTensor,
    logits: JsonTensor,
}

fn expected() -> Expected {
    serde_json::from_str(&std::fs::read_to_string(interop("lenet5_expected.json")).unwrap()).unwrap()
}

#[test]
fn pytorch_lenet5_weights_reproduce_pytorchs_logits() {
    let expected = expected();
    let state = tapegrad::load(interop("lenet5_pytorch.safetensors")).unwrap();
    let keys: std::collections::BTreeMap<String, Vec<usize>> =
        state.iter().map(|(k, t)| (k.clone(), t.shape().to_vec())).collect();
    assert_eq!(keys, expected.keys, "the file holds PyTorch's key names and shapes");

    let model = LeNet5::new();
    model.load_state_dict(&state, true).unwrap();
    model.eval();
    let logits = {
        let _guard = tapegrad::no_grad();
        model.forward(&expected.input.tensor())
    };
    assert_eq!(logits.shape(), expected.logits.shape.as_slice());
    // The interop README's tolerance: rtol 1e-4, atol 1e-4 against the float64 logits.
    for (i, (&a, &e)) in logits.to_vec().iter().zip(&expected.logits.data).enumerate() {
        assert!((a as f64 - e).abs() <= 1e-4 + 1e-4 * e.abs(), "logit {i}: {a} vs {e}");
    }
}

#[test]
fn save_then_load_restores_outputs_bit_for_bit() {
    tapegrad::manual_seed(11);
    let model = LeNet5::new();
    let x = Tensor::randn(&[3, 1, 28, 28]);
    let before = model.forward(&x).to_vec();
    let path = std::env::temp_dir().join(format!("tapegrad_lenet_{}.safetensors", std::process::id()));
    tapegrad::save(&model.state_dict(), &path).unwrap();

    tapegrad::manual_seed(12); // a different initialisation
    let restored = LeNet5::new();
    assert_ne!(restored.forward(&x).to_vec(), before);
    restored.load_state_dict(&tapegrad::load(&path).unwrap(), true).unwrap();
    assert_eq!(restored.forward(&x).to_vec(), before, "bit-for-bit");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn load_state_dict_names_missing_unexpected_and_misshapen_keys() {
    let model = LeNet5::new();
    let mut state = model.state_dict();
    state.retain(|(k, _)| k != "fc3.bias");
    state.push(("fc4.weight".into(), Tensor::zeros(&[1])));
    for (k, t) in state.iter_mut() {
        if k == "conv1.bias" {
            *t = Tensor::zeros(&[7]);
        }
    }
    let before = model.conv1.weight.to_vec();
    let message = model.load_state_dict(&state, true).unwrap_err().to_string();
    assert!(message.contains("Missing key(s) in state_dict: \"fc3.bias\""), "{message}");
    assert!(message.contains("Unexpected key(s) in state_dict: \"fc4.weight\""), "{message}");
    assert!(message.contains("size mismatch for conv1.bias"), "{message}");
    assert_eq!(model.conv1.weight.to_vec(), before, "nothing changes when loading fails");
}

#[test]
fn a_corrupted_checkpoint_is_an_error_not_a_panic() {
    let bytes = std::fs::read(interop("lenet5_pytorch.safetensors")).unwrap();
    let path = std::env::temp_dir().join(format!("tapegrad_bad_{}.safetensors", std::process::id()));
    for cut in [0, 7, 8, 100, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let err = tapegrad::load(&path).unwrap_err().to_string();
        assert!(err.contains("tapegrad_bad"), "the error names the file: {err}");
    }
    std::fs::remove_file(&path).unwrap();
}
