//! Fits a line `y = w·x + b` to noisy points by gradient descent: the smallest complete
//! training loop (forward, loss, `backward()`, update, `zero_grad()`).
//!
//! ```text
//! cargo run --release --example fit_line
//! ```
//!
//! The same loop in PyTorch:
//!
//! ```python
//! w = torch.zeros(1, requires_grad=True); b = torch.zeros(1, requires_grad=True)
//! for step in range(200):
//!     loss = ((x * w + b - y) ** 2).mean()
//!     loss.backward()
//!     with torch.no_grad():
//!         w -= lr * w.grad; b -= lr * b.grad
//!     w.grad = None; b.grad = None
//! ```

use tapegrad::Tensor;

fn main() {
    tapegrad::manual_seed(0);
    let (true_w, true_b) = (2.0f32, -1.0f32);
    let n = 100;
    // x uniform in [-1, 1), y = 2x − 1 plus a little Gaussian noise.
    let x = Tensor::rand(&[n]) * 2.0 - 1.0;
    let y = &x * true_w + true_b + Tensor::randn(&[n]) * 0.1;

    let w = Tensor::zeros(&[1]).requires_grad_(true);
    let b = Tensor::zeros(&[1]).requires_grad_(true);
    let lr = 0.1;

    for step in 0..=200 {
        let prediction = &x * &w + &b;
        let loss = (&prediction - &y).pow(2.0).mean();
        loss.backward();
        {
            // The update is not part of the model: record nothing while doing it.
            let _guard = tapegrad::no_grad();
            for p in [&w, &b] {
                let grad = p.grad().expect("backward reached the parameter").data();
                p.with_data_mut(|d| d.scaled_add(-lr, &grad));
                p.zero_grad();
            }
        }
        if step % 40 == 0 {
            println!("step {step:3}  loss {:.5}  w {:.4}  b {:.4}", loss.item(), w.item(), b.item());
        }
    }
    println!("learned y = {:.3}·x {:+.3}   (true: y = {true_w}·x {true_b:+})", w.item(), b.item());
    assert!((w.item() - true_w).abs() < 0.1 && (b.item() - true_b).abs() < 0.1, "did not converge");
}
