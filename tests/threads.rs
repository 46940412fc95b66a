//! Thread safety: a model shared between threads gives, under `no_grad`, the same outputs
//! from two concurrent threads as serially; training works in a spawned thread; and the
//! DataLoader's background thread ends (releasing the dataset) when the loader and its
//! iterator are dropped mid-epoch.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};

use tapegrad::Tensor;
use tapegrad::data::{DataLoader, Dataset, TensorDataset};
use tapegrad::models::LeNet5;
use tapegrad::nn::functional as F;
use tapegrad::nn::{Linear, Module};
use tapegrad::optim::{Optimizer, Sgd};

/// Model construction and `randn` draw from the global generator: one test at a time.
static GLOBAL_RNG: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    GLOBAL_RNG.lock().unwrap_or_else(|e| e.into_inner())
}

fn bits(t: &Tensor) -> Vec<u32> {
    t.to_vec().iter().map(|v| v.to_bits()).collect()
}

#[test]
fn concurrent_no_grad_forwards_match_serial_ones_bit_for_bit() {
    let (model, inputs) = {
        let _rng = lock();
        tapegrad::manual_seed(5);
        let inputs: Vec<Tensor> = (0..8).map(|_| Tensor::randn(&[4, 1, 28, 28])).collect();
        (Arc::new(LeNet5::new()), inputs)
    };
    model.eval();
    let serial: Vec<Vec<u32>> = {
        let _guard = tapegrad::no_grad();
        inputs.iter().map(|x| bits(&model.forward(x))).collect()
    };
    // Two threads, started together, each running every input several times in its own
    // order; `no_grad` is per thread, as in PyTorch, so each sets its own guard.
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let (model, inputs, barrier) = (Arc::clone(&model), inputs.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let _guard = tapegrad::no_grad();
                barrier.wait();
                let mut outputs = vec![Vec::new(); inputs.len()];
                for round in 0..5 {
                    for k in 0..inputs.len() {
                        let i = if (t + round) % 2 == 0 { k } else { inputs.len() - 1 - k };
                        let out = model.forward(&inputs[i]);
                        assert!(!out.requires_grad(), "no_grad holds on this thread");
                        outputs[i] = bits(&out);
                    }
                }
                outputs
            })
        })
        .collect();
    for handle in handles {
        let outputs = handle.join().expect("a forward pass panicked");
        assert_eq!(outputs, serial, "a concurrent forward pass differs from the serial one");
    }
    // The model was only read: its parameters have no gradient.
    assert!(model.parameters().iter().all(|p| p.grad().is_none()));
}

#[test]
fn training_in_a_spawned_thread_reduces_the_loss() {
    let (model, x, y) = {
        let _rng = lock();
        tapegrad::manual_seed(9);
        let x = Tensor::randn(&[32, 4]);
        // A separable problem: the class is the sign of the first feature.
        let y = Tensor::from_vec(x.to_vec().chunks(4).map(|r| (r[0] > 0.0) as u8 as f32).collect(), &[32]).unwrap();
        (Linear::new(4, 2), x, y)
    };
    let handle = std::thread::spawn(move || {
        let mut optimizer = Sgd::new(model.parameters(), 0.5).unwrap();
        let mut losses = Vec::new();
        for _ in 0..50 {
            optimizer.zero_grad();
            let loss = F::cross_entropy(&model.forward(&x), &y);
            loss.backward();
            optimizer.step();
            losses.push(loss.item());
        }
        (model, losses)
    });
    let (model, losses) = handle.join().expect("training in a thread panicked");
    assert!(losses.iter().all(|l| l.is_finite()));
    assert!(losses[49] < 0.5 * losses[0], "the loss went from {} to {}", losses[0], losses[49]);
    assert!(model.weight.grad().is_some(), "the trained parameters came back with their gradients");
}

/// A dataset that records when it is dropped and how many batches were built.
struct Watched {
    inner: TensorDataset,
    dropped: Arc<AtomicBool>,
    built: Arc<AtomicUsize>,
}

impl Dataset for Watched {
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn get(&self, index: usize) -> (Tensor, Tensor) {
        self.inner.get(index)
    }
    fn get_batch(&self, indices: &[usize]) -> (Tensor, Tensor) {
        self.built.fetch_add(1, Ordering::SeqCst);
        self.inner.get_batch(indices)
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

/// The number of this process's threads named `name` (Linux: /proc/self/task/*/comm).
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .filter(|comm| comm.trim() == name)
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn dropping_the_loader_mid_epoch_ends_its_thread_and_releases_the_dataset() {
    let dropped = Arc::new(AtomicBool::new(false));
    let built = Arc::new(AtomicUsize::new(0));
    let n = 1000;
    let inputs = Tensor::arange(0.0, n as f32, 1.0).reshape(&[n as isize, 1]);
    let dataset = Watched {
        inner: TensorDataset::new(inputs, Tensor::zeros(&[n])).unwrap(),
        dropped: Arc::clone(&dropped),
        built: Arc::clone(&built),
    };
    let mut loader = DataLoader::builder(dataset).batch_size(2).build().unwrap();
    let mut epoch = loader.iter();
    let first: Vec<(Tensor, Tensor)> = epoch.by_ref().take(3).collect();
    assert_eq!(first[2].0.to_vec(), vec![4.0, 5.0]);
    // The worker builds ahead (one batch waits in the channel) but not the whole epoch.
    assert!(built.load(Ordering::SeqCst) < 10, "{} batches built", built.load(Ordering::SeqCst));
    // The thread's name is per process: the other tests of this binary start no loader.
    assert_eq!(threads_named("tapegrad-datalo"), 1, "the worker is running");

    drop(loader); // the loader first: the epoch's iterator still owns the worker
    assert!(!dropped.load(Ordering::SeqCst), "the worker still holds the dataset");
    drop(epoch);
    assert_eq!(threads_named("tapegrad-datalo"), 0, "the worker thread has ended");
    assert!(dropped.load(Ordering::SeqCst), "the dataset was released with the last thread using it");
    assert!(built.load(Ordering::SeqCst) < 10, "the worker stopped instead of finishing the epoch");
}
