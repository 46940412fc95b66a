//! Trains LeNet-5 on handwritten digits: the README's first command.
//!
//! ```text
//! cargo run --release --example train_mnist                # bundled data/mnist-5k, 10 epochs
//! cargo run --release --example train_mnist -- --data ~/mnist --epochs 3 --threads 2
//! ```
//!
//! The same recipe as PyTorch's example: inputs `(x/255 − 0.1307)/0.3081`, cross-entropy,
//! SGD (lr 0.05, momentum 0.9), batch 64, shuffled every epoch. At the end it writes, in
//! `--out` (default `runs/`): the checkpoint `lenet5.safetensors` (PyTorch reads it with
//! `safetensors.torch.load_file`), `curves.svg` (loss and accuracy per epoch) and
//! `filters.svg` (the six learned 5×5 filters of the first layer). The last line is
//! `test_accuracy=... train_seconds=... images_per_second=...`.

mod plot;

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use tapegrad::data::{DataLoader, Dataset, MNIST_MEAN_STD, Mnist};
use tapegrad::models::LeNet5;
use tapegrad::nn::Module;
use tapegrad::nn::functional as F;
use tapegrad::optim::{Optimizer, Sgd};

/// Train LeNet-5 on MNIST-format digits.
#[derive(Parser)]
struct Args {
    /// Folder with train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz), t10k-...
    #[arg(long, default_value = "data/mnist-5k")]
    data: PathBuf,
    /// Passes over the training set.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Images per step.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// SGD learning rate.
    #[arg(long, default_value_t = 0.05)]
    lr: f64,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.9)]
    momentum: f64,
    /// Seed of the initialisation and the shuffling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Where to write the checkpoint and the pictures.
    #[arg(long, default_value = "runs")]
    out: PathBuf,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if let Some(threads) = args.threads {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build_global()?;
    }
    tapegrad::manual_seed(args.seed);
    let (mean, std) = MNIST_MEAN_STD;
    let train = Mnist::load(&args.data, true)?.normalize(mean, std);
    let test = Mnist::load(&args.data, false)?.normalize(mean, std);
    println!(
        "{}: {} training and {} test images of {:?}; {} threads",
        args.data.display(),
        train.len(),
        test.len(),
        train.image_size(),
        rayon::current_num_threads()
    );
    let mut train_loader =
        DataLoader::builder(train).batch_size(args.batch_size).shuffle(true).seed(args.seed).build()?;
    let mut test_loader = DataLoader::builder(test).batch_size(1000).build()?;

    let model = LeNet5::new();
    let mut optimizer = Sgd::builder(model.parameters(), args.lr).momentum(args.momentum).build()?;
    println!("LeNet-5, {} parameters; SGD lr {} momentum {}", count(&model), args.lr, args.momentum);

    let mut history = Vec::new();
    let mut train_seconds = 0.0;
    let mut images_seen = 0usize;
    for epoch in 1..=args.epochs {
        model.train(true);
        let bar = ProgressBar::new(train_loader.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("epoch {prefix:>2} [{bar:30}] {pos}/{len} {msg}")?.progress_chars("=> "),
        );
        bar.set_prefix(epoch.to_string());
        let start = Instant::now();
        let (mut loss_sum, mut samples) = (0.0f64, 0usize);
        for (images, labels) in &mut train_loader {
            optimizer.zero_grad();
            let loss = F::cross_entropy(&model.forward(&images), &labels);
            loss.backward();
            optimizer.step();
            let n = labels.numel();
            loss_sum += loss.item() as f64 * n as f64;
            samples += n;
            let rate = samples as f64 / start.elapsed().as_secs_f64();
            bar.set_message(format!("loss {:.4}  {rate:.0} images/s", loss_sum / samples as f64));
            bar.inc(1);
        }
        train_seconds += start.elapsed().as_secs_f64();
        images_seen += samples;
        bar.finish_and_clear();

        model.eval();
        let (test_loss, test_accuracy) = evaluate(&model, &mut test_loader);
        let train_loss = (loss_sum / samples as f64) as f32;
        println!(
            "epoch {epoch:2}  train loss {train_loss:.4}  test loss {test_loss:.4}  test accuracy {test_accuracy:.4}  ({:.2} s)",
            start.elapsed().as_secs_f64()
        );
        history.push(plot::EpochStats { train_loss, test_loss, test_accuracy });
    }

    std::fs::create_dir_all(&args.out)?;
    let checkpoint = args.out.join("lenet5.safetensors");
    tapegrad::save(&model.state_dict(), &checkpoint)?;
    std::fs::write(args.out.join("curves.svg"), plot::training_curves(&history))?;
    std::fs::write(args.out.join("filters.svg"), plot::filters(&model.conv1.weight.to_vec(), 6, 5))?;
    println!("wrote {}, curves.svg and filters.svg", checkpoint.display());

    let accuracy = history.last().map_or(0.0, |s| s.test_accuracy);
    let images_per_second = images_seen as f64 / train_seconds.max(1e-9);
    println!("test_accuracy={accuracy:.4} train_seconds={train_seconds:.2} images_per_second={images_per_second:.0}");
    Ok(())
}

fn count(model: &LeNet5) -> usize {
    model.parameters().iter().map(|p| p.numel()).sum()
}

/// Mean cross-entropy and accuracy over a whole split, without recording a graph.
fn evaluate(model: &LeNet5, loader: &mut DataLoader<Mnist>) -> (f32, f32) {
    let _guard = tapegrad::no_grad();
    let (mut loss_sum, mut correct, mut total) = (0.0f64, 0usize, 0usize);
    for (images, labels) in loader.iter() {
        let logits = model.forward(&images);
        let n = labels.numel();
        loss_sum += F::cross_entropy(&logits, &labels).item() as f64 * n as f64;
        let predicted = logits.argmax(Some(1), false);
        correct += predicted.iter().zip(labels.to_vec()).filter(|&(&p, l)| p as f32 == l).count();
        total += n;
    }
    ((loss_sum / total as f64) as f32, correct as f32 / total as f32)
}
