//! The training-step case: one SGD-momentum step of `tapegrad::models::LeNet5` on a fixed
//! batch, as `pytorch_bench.py`'s `run_train` does it.

use tapegrad::Tensor;
use tapegrad::models::LeNet5;
use tapegrad::nn::Module;
use tapegrad::nn::functional as F;
use tapegrad::optim::{Optimizer, Sgd};

use crate::spec::{Init, TrainCase, init_values};

/// The architecture `LeNet5` implements, as `cases.json` spells it.
const LENET5_LAYERS: &str = "conv(1->6,k5) relu maxpool2 conv(6->16,k5) relu maxpool2 flatten(256) linear(256->120) relu linear(120->84) relu linear(84->10)";

/// A LeNet-5, its optimizer and the fixed batch.
pub struct TrainStep {
    model: LeNet5,
    optimizer: Sgd,
    images: Tensor,
    labels: Tensor,
}

impl TrainStep {
    /// The model with the case's deterministic weights, `Sgd(lr, momentum)`, and the batch:
    /// `x` from the x formula, `labels[i] = i mod classes`.
    ///
    /// # Errors
    /// A note when the case asks for another network than `LeNet5` (1×28×28 in, 10 classes).
    pub fn new(case: &TrainCase) -> Result<TrainStep, String> {
        if case.layers != LENET5_LAYERS || (case.c_in, case.h, case.w, case.classes) != (1, 28, 28, 10) {
            return Err(format!(
                "tapegrad::models::LeNet5 is conv(1->6,k5)..linear(84->10) on 1x28x28 images; the case asks for {} on {}x{}x{} with {} classes",
                case.layers, case.c_in, case.h, case.w, case.classes
            ));
        }
        let model = LeNet5::new();
        deterministic_init(&model);
        let optimizer =
            Sgd::builder(model.parameters(), case.lr).momentum(case.momentum).build().map_err(|e| e.to_string())?;
        let shape = [case.batch, case.c_in, case.h, case.w];
        let images = Tensor::from_vec(init_values(Init::X, shape.iter().product(), 1.0), &shape).expect("shape");
        let labels: Vec<f32> = (0..case.batch).map(|i| (i % case.classes) as f32).collect();
        let labels = Tensor::from_vec(labels, &[case.batch]).expect("shape");
        Ok(TrainStep { model, optimizer, images, labels })
    }

    /// One step: zero grads, forward, cross-entropy, backward, update. Returns the loss
    /// (computed before the update).
    pub fn step(&mut self) -> f32 {
        self.optimizer.zero_grad();
        let loss = F::cross_entropy(&self.model.forward(&self.images), &self.labels);
        loss.backward();
        self.optimizer.step();
        loss.item()
    }
}

/// Every weight and bias, in layer order, from the w formula times `5 / √fan_in`, where
/// `fan_in` is the layer weight's `C_in·kh·kw` or `in_features` (the bias uses its
/// weight's scale, as `pytorch_bench.py` does).
fn deterministic_init(model: &LeNet5) {
    let mut scale = 1.0;
    for (name, p) in model.named_parameters() {
        if name.ends_with(".weight") {
            scale = 5.0 / (p.shape()[1..].iter().product::<usize>() as f64).sqrt();
        }
        let values = init_values(Init::W, p.numel(), scale);
        p.copy_(&Tensor::from_vec(values, p.shape()).expect("shape"));
    }
}
