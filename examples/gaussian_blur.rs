//! Gaussian blur with a fixed kernel: a depthwise convolution (groups = 3, one kernel per
//! colour channel) applied to a real photograph.
//!
//! ```text
//! cargo run --release --example gaussian_blur -- [--sigma 2.0] [--kernel-size 13]
//!     [--input data/images/china.jpg] [--output target/china_blurred.png]
//!     [--width 320] [--save-input target/china_before.png]
//! ```
//!
//! The kernel is `G(i, j) = exp(−(i² + j²) / (2σ²))`, normalised to sum to 1, for
//! `i, j ∈ [−k/2, k/2]`; a kernel size of about 6σ + 1 keeps almost all of the Gaussian's
//! mass. It is set as the weight of an `nn.Conv2d(3, 3, k, padding='same', groups=3,
//! bias=False, padding_mode='reflect')` with `requires_grad_(false)`: nothing is learned,
//! this is classical image processing written as a convolution layer. Reflect padding
//! keeps the borders from darkening (zeros padding would blend in black).
//!
//! `--width` resizes the photo first (keeping its aspect ratio; by default it keeps its
//! size), and `--save-input` also writes the image as it went in, for a before/after pair.

use std::time::Instant;

use tapegrad::Tensor;
use tapegrad::nn::{Conv2d, Module, Parameter};

struct Args {
    sigma: f32,
    kernel_size: usize,
    input: String,
    output: String,
    width: u32,
    save_input: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        sigma: 2.0,
        kernel_size: 0,
        input: "data/images/china.jpg".into(),
        output: "target/china_blurred.png".into(),
        width: 0,
        save_input: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--sigma" => args.sigma = value()?.parse().map_err(|e| format!("--sigma: {e}"))?,
            "--kernel-size" => args.kernel_size = value()?.parse().map_err(|e| format!("--kernel-size: {e}"))?,
            "--input" => args.input = value()?,
            "--output" => args.output = value()?,
            "--width" => args.width = value()?.parse().map_err(|e| format!("--width: {e}"))?,
            "--save-input" => args.save_input = Some(value()?),
            other => {
                return Err(format!(
                    "unknown argument {other}; expected --sigma, --kernel-size, --input, --output, --width, --save-input"
                ));
            }
        }
    }
    if args.sigma.is_nan() || args.sigma <= 0.0 {
        return Err(format!("--sigma must be positive, got {}", args.sigma));
    }
    if args.kernel_size == 0 {
        // Odd, about 6σ + 1: the Gaussian beyond ±3σ carries 0.3% of its mass.
        args.kernel_size = 2 * (3.0 * args.sigma).ceil() as usize + 1;
    }
    Ok(args)
}

/// The normalised 2-d Gaussian kernel, `(k, k)`.
fn gaussian_kernel(kernel_size: usize, sigma: f32) -> Vec<f32> {
    let center = (kernel_size as f32 - 1.0) / 2.0;
    let mut kernel: Vec<f32> = (0..kernel_size * kernel_size)
        .map(|idx| {
            let (i, j) = ((idx / kernel_size) as f32 - center, (idx % kernel_size) as f32 - center);
            (-(i * i + j * j) / (2.0 * sigma * sigma)).exp()
        })
        .collect();
    let total: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|v| *v /= total);
    kernel
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let mut photo = image::open(&args.input).map_err(|e| format!("cannot read {}: {e}", args.input))?;
    if args.width > 0 {
        photo = photo.resize(args.width, u32::MAX, image::imageops::FilterType::Lanczos3);
    }
    let image = photo.to_rgb8();
    if let Some(path) = &args.save_input {
        if let Some(dir) = std::path::Path::new(path).parent() {
            std::fs::create_dir_all(dir)?;
        }
        image.save(path).map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    let (width, height) = image.dimensions();
    let (w, h) = (width as usize, height as usize);

    // HWC bytes → a (1, 3, H, W) tensor in [0, 1].
    let mut chw = vec![0.0f32; 3 * h * w];
    for (x, y, pixel) in image.enumerate_pixels() {
        for c in 0..3 {
            chw[(c * h + y as usize) * w + x as usize] = pixel[c] as f32 / 255.0;
        }
    }
    let input = Tensor::from_vec(chw, &[1, 3, h, w])?;

    let k = args.kernel_size;
    let kernel = gaussian_kernel(k, args.sigma);
    // Depthwise: weight (3, 1, k, k), the same kernel for each channel.
    let weight = Tensor::from_vec(kernel.repeat(3), &[3, 1, k, k])?;
    let mut blur = Conv2d::builder(3, 3, k).padding("same").groups(3).bias(false).padding_mode("reflect").build()?;
    blur.weight = Parameter::new(weight).requires_grad_(false);

    let start = Instant::now();
    let output = {
        let _guard = tapegrad::no_grad();
        blur.forward(&input)
    };
    let elapsed = start.elapsed();

    let out = output.to_vec();
    let mut blurred = image::RgbImage::new(width, height);
    for (x, y, pixel) in blurred.enumerate_pixels_mut() {
        for c in 0..3 {
            pixel[c] = (out[(c * h + y as usize) * w + x as usize] * 255.0).round().clamp(0.0, 255.0) as u8;
        }
    }
    if let Some(dir) = std::path::Path::new(&args.output).parent() {
        std::fs::create_dir_all(dir)?;
    }
    blurred.save(&args.output).map_err(|e| format!("cannot write {}: {e}", args.output))?;

    let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
    println!("{blur:?}");
    println!("input  {} ({width}×{height}), output {}", args.input, args.output);
    println!(
        "sigma {}, kernel {k}×{k}, kernel sum {:.6} (a blur keeps the average brightness)",
        args.sigma,
        kernel.iter().sum::<f32>()
    );
    println!("mean intensity: before {:.4}, after {:.4}", mean(&input.to_vec()), mean(&out));
    println!("convolution took {:.1} ms", elapsed.as_secs_f64() * 1e3);
    Ok(())
}
