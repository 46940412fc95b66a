//! End to end: a small CNN trained on the bundled 8×8 digits must reach a test accuracy
//! that a broken gradient, loss, optimizer or data loader could not (≥ 0.9; chance is 0.1).

use tapegrad::data::{DataLoader, Dataset, Mnist};
use tapegrad::nn::functional as F;
use tapegrad::nn::{Conv2d, Flatten, Linear, MaxPool2d, Module, Relu, Sequential};
use tapegrad::optim::{Optimizer, Sgd};

#[test]
fn a_small_cnn_learns_the_digits() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/digits");
    // Pixels are 0..16 in this set: scale to about [0, 1] and centre.
    let train = Mnist::load(&dir, true).unwrap().normalize(0.3 * 16.0 / 255.0, 0.4 * 16.0 / 255.0);
    let test = Mnist::load(&dir, false).unwrap().normalize(0.3 * 16.0 / 255.0, 0.4 * 16.0 / 255.0);
    tapegrad::manual_seed(0);
    let model = Sequential::new()
        .add(Conv2d::builder(1, 8, 3).padding(1).build().unwrap())
        .add(Relu::new())
        .add(MaxPool2d::new(2))
        .add(Flatten::new())
        .add(Linear::new(8 * 4 * 4, 10));
    let mut optimizer = Sgd::builder(model.parameters(), 0.05).momentum(0.9).build().unwrap();
    let mut loader = DataLoader::builder(train).batch_size(32).shuffle(true).seed(0).build().unwrap();
    for _epoch in 0..6 {
        for (images, labels) in &mut loader {
            optimizer.zero_grad();
            F::cross_entropy(&model.forward(&images), &labels).backward();
            optimizer.step();
        }
    }
    let indices: Vec<usize> = (0..test.len()).collect();
    let (images, labels) = test.get_batch(&indices);
    let predicted = {
        let _guard = tapegrad::no_grad();
        model.forward(&images).argmax(Some(1), false)
    };
    let correct = predicted.iter().zip(labels.to_vec()).filter(|&(&p, l)| p as f32 == l).count();
    let accuracy = correct as f32 / test.len() as f32;
    println!("digits test accuracy {accuracy:.4}");
    assert!(accuracy >= 0.9, "test accuracy {accuracy} < 0.9");
}
