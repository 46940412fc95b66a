//! The lesson's exercise: can 'same' padding be used with a stride other than 1?
//!
//! ```text
//! cargo run --release --example same_padding_with_stride
//! ```
//!
//! No, and PyTorch refuses it, so tapegrad does too, with the same message:
//!
//! * 'same' promises an output as large as the input. With stride s the output has about
//!   in/s positions whatever the padding, so the promise cannot be kept.
//! * One could redefine 'same' as "output = ceil(in / s)" (TensorFlow does), but then the
//!   padding needed depends on the input size, not only on the kernel, so a layer could
//!   not know its padding until it sees an input, and the split before/after changes with
//!   the input size. PyTorch chose to reject it: `nn.Conv2d` raises a ValueError at
//!   construction, `F.conv2d` a RuntimeError at call time.
//!
//! What works instead: an explicit padding (`padding=1` for a 3×3 kernel with stride 2
//! gives ceil(in / 2) outputs for even inputs), or 'same' with stride 1 followed by
//! pooling.

use tapegrad::nn::functional as F;
use tapegrad::nn::{Conv2d, Module};
use tapegrad::{Error, Tensor};

fn main() {
    // The module: the configuration is checked when it is built, and rejected with an Err.
    let attempt = Conv2d::builder(3, 4, 3).stride(2).padding("same").build();
    match &attempt {
        Err(Error::Value(message)) => println!("nn.Conv2d(3, 4, 3, stride=2, padding='same') → ValueError: {message}"),
        other => println!("unexpected: {:?}", other.as_ref().map(|_| "a module")),
    }

    // The functional form checks at call time and panics (a programming error, like a shape
    // mismatch), with PyTorch's RuntimeError text.
    let x = Tensor::zeros(&[1, 3, 6, 6]);
    let w = Tensor::zeros(&[4, 3, 3, 3]);
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| F::conv2d(&x, &w, None, 2, "same", 1, 1)));
    std::panic::set_hook(previous_hook);
    if let Err(panic) = result {
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        println!("F.conv2d(x, w, stride=2, padding='same') → RuntimeError: {message}");
    }

    // What to do instead: explicit padding 1 with stride 2 halves a 6×6 input to 3×3.
    let conv = Conv2d::builder(3, 4, 3).stride(2).padding(1).build().expect("a valid configuration");
    let y = conv.forward(&x);
    println!("nn.Conv2d(3, 4, 3, stride=2, padding=1) on {:?} → {:?}", x.shape(), y.shape());
    println!("  H_out = floor((6 + 1 + 1 − 1·(3 − 1) − 1) / 2) + 1 = {}", (6 + 2 - 2 - 1) / 2 + 1);
}
