//! Reproducibility: with the same seed, 50 training steps of LeNet-5 on MNIST give
//! bit-identical weights on 1 thread and on 2 (two rayon pools, each `install`ed around the
//! whole run: the crate's parallel loops run on the pool of the calling thread), and on two
//! runs on the same number of threads.

use std::path::PathBuf;
use std::sync::Mutex;

use tapegrad::data::{DataLoader, MNIST_MEAN_STD, Mnist};
use tapegrad::models::LeNet5;
use tapegrad::nn::Module;
use tapegrad::nn::functional as F;
use tapegrad::optim::{Optimizer, Sgd};

/// Runs draw from the global generator (the initial weights): one at a time.
static GLOBAL_RNG: Mutex<()> = Mutex::new(());

/// The weights (as bits, by name) after 50 steps of SGD with momentum, batch 16, shuffled
/// by the loader's own seeded generator, on `threads` rayon threads.
fn train(threads: usize) -> Vec<(String, Vec<u32>)> {
    let _rng = GLOBAL_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        assert_eq!(rayon::current_num_threads(), threads);
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let (mean, std) = MNIST_MEAN_STD;
        let data = Mnist::load(root.join("data/mnist-5k"), true).unwrap().normalize(mean, std);
        let mut loader = DataLoader::builder(data).batch_size(16).shuffle(true).seed(42).build().unwrap();
        tapegrad::manual_seed(2024);
        let model = LeNet5::new();
        let mut optimizer = Sgd::builder(model.parameters(), 0.05).momentum(0.9).build().unwrap();
        for (x, y) in loader.iter().take(50) {
            optimizer.zero_grad();
            let loss = F::cross_entropy(&model.forward(&x), &y);
            loss.backward();
            optimizer.step();
            assert!(loss.item().is_finite());
        }
        model
            .state_dict()
            .into_iter()
            .map(|(name, t)| (name, t.to_vec().iter().map(|v| v.to_bits()).collect()))
            .collect()
    })
}

fn first_difference(a: &[(String, Vec<u32>)], b: &[(String, Vec<u32>)]) -> Option<String> {
    a.iter().zip(b).find_map(|((name, x), (_, y))| {
        let i = x.iter().zip(y).position(|(p, q)| p != q)?;
        Some(format!("{name}[{i}]: {} vs {}", f32::from_bits(x[i]), f32::from_bits(y[i])))
    })
}

#[test]
fn lenet5_50_steps_are_bit_identical_on_1_and_2_threads_and_across_runs() {
    let one = train(1);
    let two = train(2);
    let again = train(2);
    assert_eq!(one.len(), 10, "LeNet-5 has 10 parameter tensors");
    // The runs did train: the weights moved from a fresh initialisation's.
    let initial: Vec<Vec<u32>> = {
        let _rng = GLOBAL_RNG.lock().unwrap_or_else(|e| e.into_inner());
        tapegrad::manual_seed(2024);
        LeNet5::new().state_dict().into_iter().map(|(_, t)| t.to_vec().iter().map(|v| v.to_bits()).collect()).collect()
    };
    assert!(one.iter().zip(&initial).all(|((_, w), w0)| w != w0), "every parameter changed during training");
    assert_eq!(first_difference(&one, &two), None, "1 thread vs 2 threads");
    assert_eq!(first_difference(&two, &again), None, "two runs on 2 threads");
}
