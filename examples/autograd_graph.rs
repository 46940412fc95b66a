//! Prints the autograd graph of a small CNN's loss as Graphviz DOT (like torchviz).
//!
//! ```text
//! cargo run --release --example autograd_graph > graph.dot && dot -Tsvg graph.dot -o graph.svg
//! ```
//!
//! Each box is an op that backward() replays, named like PyTorch's `grad_fn`; blue boxes
//! are the parameters (leaves that require grad), green the loss.

use tapegrad::Tensor;
use tapegrad::nn::functional as F;
use tapegrad::nn::{Conv2d, Linear, Module};

fn main() {
    tapegrad::manual_seed(0);
    let conv = Conv2d::new(1, 4, 3).expect("a valid configuration");
    let fc = Linear::new(4 * 3 * 3, 10);
    let images = Tensor::randn(&[2, 1, 8, 8]);
    let labels = Tensor::from_vec(vec![3.0, 7.0], &[2]).expect("two labels");
    let x = F::max_pool2d(&conv.forward(&images).relu(), 2, None, 0, 1, false);
    let logits = fc.forward(&x.flatten(1, -1));
    let loss = F::cross_entropy(&logits, &labels);
    print!("{}", loss.to_dot());
}
