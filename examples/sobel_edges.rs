//! Sobel edge detection with fixed kernels: one `nn.Conv2d(1, 2, 3)` whose two output
//! channels are the horizontal and vertical Sobel filters, applied to a grayscale photograph.
//!
//! ```text
//! cargo run --release --example sobel_edges -- [--input data/images/china.jpg]
//!     [--output-dir target/sobel] [--width 320]
//! ```
//!
//! ```text
//! Sobel x          Sobel y
//! [[-1, 0, 1],     [[-1, -2, -1],
//!  [-2, 0, 2],      [ 0,  0,  0],
//!  [-1, 0, 1]]      [ 1,  2,  1]]
//! ```
//!
//! Sobel x responds where brightness changes from left to right (vertical edges), Sobel y
//! where it changes from top to bottom (horizontal edges). The kernels are the weight
//! `(2, 1, 3, 3)` of a convolution with `requires_grad_(false)`: nothing is learned. Writes
//! three grayscale PNGs to the output directory:
//!
//! * `sobel-x.png`, `sobel-y.png`: the signed responses gx, gy; mid-grey is 0, brighter is
//!   positive, darker negative.
//! * `sobel-magnitude.png`: the edge strength sqrt(gx² + gy²), black for none.
//!
//! All three share one scale: the 99th percentile of the magnitude maps to full white, so a
//! handful of extreme pixels do not leave everything else dim. `--width` first resizes the
//! photo (keeping its aspect ratio); 0 keeps its size.

use tapegrad::Tensor;
use tapegrad::nn::{Conv2d, Module, Parameter};

struct Args {
    input: String,
    output_dir: String,
    width: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { input: "data/images/china.jpg".into(), output_dir: "target/sobel".into(), width: 0 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--input" => args.input = value()?,
            "--output-dir" => args.output_dir = value()?,
            "--width" => args.width = value()?.parse().map_err(|e| format!("--width: {e}"))?,
            other => return Err(format!("unknown argument {other}; expected --input, --output-dir, --width")),
        }
    }
    Ok(args)
}

#[rustfmt::skip]
const SOBEL_X: [f32; 9] = [
    -1., 0., 1.,
    -2., 0., 2.,
    -1., 0., 1.,
];
#[rustfmt::skip]
const SOBEL_Y: [f32; 9] = [
    -1., -2., -1.,
     0.,  0.,  0.,
     1.,  2.,  1.,
];

/// Saves `values` (row-major, `width × height`) as an 8-bit grayscale PNG, each value
/// mapped to a byte by `to_byte`.
fn save_gray(values: &[f32], width: u32, height: u32, to_byte: impl Fn(f32) -> f32, path: &str) -> Result<(), String> {
    let bytes: Vec<u8> = values.iter().map(|&v| to_byte(v).round().clamp(0.0, 255.0) as u8).collect();
    let image = image::GrayImage::from_raw(width, height, bytes).ok_or("buffer size")?;
    image.save(path).map_err(|e| format!("cannot write {path}: {e}"))?;
    println!("wrote {path}");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let mut photo = image::open(&args.input).map_err(|e| format!("cannot read {}: {e}", args.input))?;
    if args.width > 0 {
        photo = photo.resize(args.width, u32::MAX, image::imageops::FilterType::Lanczos3);
    }
    let gray = photo.to_luma8();
    let (width, height) = gray.dimensions();
    let (w, h) = (width as usize, height as usize);

    // (1, 1, H, W) in [0, 1].
    let pixels: Vec<f32> = gray.as_raw().iter().map(|&p| p as f32 / 255.0).collect();
    let input = Tensor::from_vec(pixels, &[1, 1, h, w])?;

    // PyTorch: nn.Conv2d(1, 2, 3, padding=1, bias=False, padding_mode='reflect'), its weight
    // replaced by the two Sobel kernels. Reflect padding: no fake edges at the border.
    let mut sobel = Conv2d::builder(1, 2, 3).padding(1).bias(false).padding_mode("reflect").build()?;
    let weight = Tensor::from_vec([SOBEL_X, SOBEL_Y].concat(), &[2, 1, 3, 3])?;
    sobel.weight = Parameter::new(weight).requires_grad_(false);

    let (gx, gy, magnitude) = {
        let _guard = tapegrad::no_grad();
        let out = sobel.forward(&input); // (1, 2, H, W)
        let (gx, gy) = (out.narrow(1, 0, 1), out.narrow(1, 1, 1));
        let magnitude = (&gx * &gx + &gy * &gy).sqrt();
        (gx.to_vec(), gy.to_vec(), magnitude.to_vec())
    };

    let mut sorted = magnitude.clone();
    sorted.sort_by(f32::total_cmp);
    let scale = sorted[sorted.len() * 99 / 100].max(1e-6);

    std::fs::create_dir_all(&args.output_dir)?;
    let path = |name: &str| format!("{}/{name}", args.output_dir);
    let signed = |g: f32| 127.5 + 127.5 * g / scale;
    save_gray(&gx, width, height, signed, &path("sobel-x.png"))?;
    save_gray(&gy, width, height, signed, &path("sobel-y.png"))?;
    save_gray(&magnitude, width, height, |m| 255.0 * m / scale, &path("sobel-magnitude.png"))?;

    println!("{sobel:?}");
    println!("input {} ({width}×{height}, grayscale)", args.input);
    println!("magnitude: largest {:.3}, 99th percentile {scale:.3} (drawn as white)", sorted[sorted.len() - 1]);
    Ok(())
}
