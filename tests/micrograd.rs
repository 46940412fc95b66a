//! micrograd's README expression, whose values micrograd's own test checks against PyTorch:
//! g = 24.7041, dg/da = 138.8338, dg/db = 645.5773.

use tapegrad::Tensor;

#[test]
fn micrograd_readme_expression() {
    let a = Tensor::scalar(-4.0).requires_grad_(true);
    let b = Tensor::scalar(2.0).requires_grad_(true);
    let c = &a + &b;
    let d = &a * &b + b.pow(3.0);
    let c = &c + (&c + 1.0);
    let c = &c + (1.0 + &c + (-&a));
    let d = &d + (&d * 2.0 + (&b + &a).relu());
    let d = &d + (3.0 * &d + (&b - &a).relu());
    let e = &c - &d;
    let f = e.pow(2.0);
    let g = &f / 2.0;
    let g = &g + 10.0 / &f;
    assert!((g.item() - 24.7041).abs() < 1e-3, "g = {}", g.item());
    g.backward();
    let (grad_a, grad_b) = (a.grad().unwrap().item(), b.grad().unwrap().item());
    assert!((grad_a - 138.8338).abs() < 1e-2, "dg/da = {grad_a}");
    assert!((grad_b - 645.5773).abs() < 1e-2, "dg/db = {grad_b}");
}
