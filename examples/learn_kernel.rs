//! Learning a known kernel by gradient descent.
//!
//! ```text
//! cargo run --release --example learn_kernel
//! ```
//!
//! Targets are made by convolving random images with a fixed 3×3 kernel, the Sobel filter
//! that responds to vertical edges. A 1→1 `Conv2d` starts from PyTorch's default
//! initialisation and learns the kernel with plain SGD on the mean squared error. Since
//! the model can represent the target exactly, the loss goes to zero and the learned
//! weights converge to the Sobel kernel (and the bias to 0).
//!
//! The same program in PyTorch:
//!
//! ```python
//! conv = nn.Conv2d(1, 1, 3); opt = torch.optim.SGD(conv.parameters(), lr=0.1)
//! for step in range(100):
//!     opt.zero_grad(); loss = F.mse_loss(conv(images), targets); loss.backward(); opt.step()
//! ```

use std::time::Instant;

use tapegrad::Tensor;
use tapegrad::nn::functional as F;
use tapegrad::nn::{Conv2d, Module};
use tapegrad::optim::{Optimizer, Sgd};

fn main() -> tapegrad::Result<()> {
    tapegrad::manual_seed(0);
    let sobel = Tensor::from_vec(vec![-1., 0., 1., -2., 0., 2., -1., 0., 1.], &[1, 1, 3, 3])?;
    let images = Tensor::randn(&[16, 1, 16, 16]);
    let targets = {
        let _guard = tapegrad::no_grad();
        F::conv2d(&images, &sobel, None, 1, 0, 1, 1)
    };

    let conv = Conv2d::new(1, 1, 3)?;
    let mut optimizer = Sgd::new(conv.parameters(), 0.1)?;
    let start = Instant::now();
    let steps = 100;
    for step in 0..=steps {
        optimizer.zero_grad();
        let loss = F::mse_loss(&conv.forward(&images), &targets);
        if step % 10 == 0 {
            println!("step {step:3}  loss {:.3e}", loss.item());
        }
        if step < steps {
            loss.backward();
            optimizer.step();
        }
    }
    let elapsed = start.elapsed();

    let learned = conv.weight.to_vec();
    let truth = sobel.to_vec();
    println!("\n   learned kernel           true kernel");
    for r in 0..3 {
        let row = |k: &[f32]| k[3 * r..3 * r + 3].iter().map(|v| format!("{v:8.4}")).collect::<String>();
        println!("{}      {}", row(&learned), row(&truth));
    }
    let bias = conv.bias.as_ref().map_or(0.0, |b| b.item());
    let max_error = learned.iter().zip(&truth).map(|(a, b)| (a - b).abs()).fold(bias.abs(), f32::max);
    println!("bias {bias:.2e}; largest difference from the true kernel {max_error:.2e}");
    println!("{steps} steps in {:.1} ms", elapsed.as_secs_f64() * 1e3);
    assert!(max_error < 1e-3, "the kernel was not learned to 1e-3");
    Ok(())
}
