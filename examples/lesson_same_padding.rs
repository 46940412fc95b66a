//! The convolution lesson's worked example: 'same' padding with an even (2×2) kernel.
//!
//! ```text
//! cargo run --release --example lesson_same_padding
//! ```
//!
//! A 4×4 input, the kernel [[1, 0], [2, 1]] set as a fixed (non-trainable) weight, and
//! `padding="same"`. The kernel's total padding per dim is dilation·(k − 1) = 1, which
//! cannot be split evenly: PyTorch (and tapegrad) put 0 rows/columns before and 1 after,
//! so the output keeps the 4×4 size. Expected output:
//!
//! ```text
//! [[16, 11, 16, 15],
//!  [25, 20, 10, 13],
//!  [ 9,  9, 10, 12],
//!  [ 1,  0,  2,  4]]
//! ```
//!
//! Then `padding="valid"` (no padding) for contrast: a 3×3 output.

use tapegrad::Tensor;
use tapegrad::nn::{Conv2d, Module, Parameter};

fn main() -> tapegrad::Result<()> {
    let input = Tensor::from_vec(
        vec![4., 1., 7., 5., 4., 4., 2., 5., 7., 7., 2., 4., 1., 0., 2., 4.],
        &[1, 1, 4, 4], // (N, C, H, W)
    )?;
    let kernel = Tensor::from_vec(vec![1., 0., 2., 1.], &[1, 1, 2, 2])?; // (out, in, kH, kW)
    println!("input (1×1×4×4):\n{input}\n");
    println!("kernel (1×1×2×2), fixed:\n{kernel}\n");

    for padding in ["same", "valid"] {
        // PyTorch: nn.Conv2d(1, 1, kernel_size=2, padding=padding, bias=False)
        let mut conv = Conv2d::builder(1, 1, 2).padding(padding).bias(false).build()?;
        conv.weight = Parameter::new(kernel.clone()).requires_grad_(false);
        let output = {
            let _guard = tapegrad::no_grad();
            conv.forward(&input)
        };

        let (before, after) = if padding == "same" { (0, 1) } else { (0, 0) };
        let out_size = (4 + before + after - (2 - 1) - 1) + 1;
        println!("padding=\"{padding}\": pad {before} before and {after} after each spatial dim");
        println!("  H_out = floor((4 + {before} + {after} − 1·(2 − 1) − 1) / 1) + 1 = {out_size}");
        println!("  (same for W_out)");
        println!("output {:?}:\n{output}\n", output.shape());
    }

    // The check a learner can do by hand: out[0][0] = 4·1 + 1·0 + 4·2 + 4·1 = 16.
    println!("by hand: out[0,0] = 4·1 + 1·0 + 4·2 + 4·1 = {}", 4 + 8 + 4);
    Ok(())
}
