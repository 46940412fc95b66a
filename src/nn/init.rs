//! Parameter initialisation. PyTorch: `torch.nn.init`.
//!
//! Each function fills a tensor in place, without recording a graph, drawing from the
//! global generator ([`manual_seed`](crate::manual_seed)). Invalid arguments return `Err`
//! with PyTorch's message.

use crate::error::{Error, Result};
use crate::random::with_generator;
use crate::tensor::Tensor;

/// Which fan a Kaiming initialisation preserves the variance of.
/// PyTorch: the `mode` argument (`'fan_in'` or `'fan_out'`); parses from those strings.
///
/// ```
/// use tapegrad::nn::init::{kaiming_std, FanMode};
/// assert_eq!("fan_out".parse::<FanMode>().unwrap(), FanMode::FanOut);
/// // weight (out 8, in 2): fan_in = 2, fan_out = 8; relu gain √2
/// assert_eq!(kaiming_std(&[8, 2], 0.0, FanMode::FanIn, "relu").unwrap(), 1.0); // √2/√2
/// assert_eq!(kaiming_std(&[8, 2], 0.0, FanMode::FanOut, "relu").unwrap(), 0.5); // √2/√8
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FanMode {
    /// Preserve the variance of activations in the forward pass (the default).
    #[default]
    FanIn,
    /// Preserve the variance of gradients in the backward pass.
    FanOut,
}

impl std::str::FromStr for FanMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<FanMode> {
        match s {
            "fan_in" => Ok(FanMode::FanIn),
            "fan_out" => Ok(FanMode::FanOut),
            other => Err(Error::Value(format!("Mode {other} not supported, please use one of ['fan_in', 'fan_out']"))),
        }
    }
}

/// `(fan_in, fan_out)` of a weight of shape `(out, in, *kernel)`:
/// `fan_in = in · ∏kernel`, `fan_out = out · ∏kernel`. For a grouped convolution weight
/// `(O, C/groups, *k)` this makes `fan_in` use `C/groups` and `fan_out` all of `O`, as in
/// PyTorch. PyTorch: `nn.init._calculate_fan_in_and_fan_out`.
///
/// # Errors
/// [`Error::Value`] for fewer than 2 dims.
///
/// ```
/// use tapegrad::nn::init::calculate_fan_in_and_fan_out;
/// assert_eq!(calculate_fan_in_and_fan_out(&[6, 2, 3, 3]).unwrap(), (18, 54));
/// ```
pub fn calculate_fan_in_and_fan_out(shape: &[usize]) -> Result<(usize, usize)> {
    if shape.len() < 2 {
        return Err(Error::Value(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions".into(),
        ));
    }
    let receptive_field: usize = shape[2..].iter().product();
    Ok((shape[1] * receptive_field, shape[0] * receptive_field))
}

/// The recommended gain for a nonlinearity. PyTorch: `nn.init.calculate_gain(nonlinearity,
/// param=None)`:
///
/// | nonlinearity | gain |
/// |---|---|
/// | linear, conv1d/2d/3d, conv_transpose1d/2d/3d, sigmoid | 1 |
/// | tanh | 5/3 |
/// | relu | √2 |
/// | leaky_relu | √(2 / (1 + slope²)), slope = `param` or 0.01 |
/// | selu | 3/4 |
///
/// # Errors
/// [`Error::Value`] for an unknown nonlinearity.
///
/// ```
/// use tapegrad::nn::init::calculate_gain;
/// assert_eq!(calculate_gain("relu", None).unwrap(), 2f64.sqrt());
/// assert_eq!(calculate_gain("tanh", None).unwrap(), 5.0 / 3.0);
/// assert_eq!(calculate_gain("leaky_relu", Some(1.0)).unwrap(), 1.0); // √(2 / (1 + 1))
/// assert!(calculate_gain("swish", None).is_err());
/// ```
pub fn calculate_gain(nonlinearity: &str, param: Option<f64>) -> Result<f64> {
    match nonlinearity {
        "linear" | "conv1d" | "conv2d" | "conv3d" | "conv_transpose1d" | "conv_transpose2d" | "conv_transpose3d"
        | "sigmoid" => Ok(1.0),
        "tanh" => Ok(5.0 / 3.0),
        "relu" => Ok(2f64.sqrt()),
        "leaky_relu" => {
            let slope = param.unwrap_or(0.01);
            Ok((2.0 / (1.0 + slope * slope)).sqrt())
        }
        "selu" => Ok(0.75),
        other => Err(Error::Value(format!("Unsupported nonlinearity {other}"))),
    }
}

/// Fills with samples of `U(low, high)`: `low + (high − low)·u`, `u ∈ [0, 1)`.
/// PyTorch: `nn.init.uniform_(tensor, a=0.0, b=1.0)`.
///
/// ```
/// use tapegrad::{Tensor, nn::init::uniform_};
/// let w = Tensor::zeros(&[1000]);
/// uniform_(&w, -0.5, 0.5);
/// assert!(w.to_vec().iter().all(|v| (-0.5..0.5).contains(v)));
/// ```
pub fn uniform_(tensor: &Tensor, low: f64, high: f64) {
    let values: Vec<f32> =
        with_generator(|g| (0..tensor.numel()).map(|_| (low + (high - low) * g.uniform_f64()) as f32).collect());
    fill(tensor, values);
}

/// Fills with samples of `N(mean, std²)`. PyTorch: `nn.init.normal_(tensor, mean=0.0, std=1.0)`.
///
/// ```
/// use tapegrad::{Tensor, nn::init::normal_};
/// let w = Tensor::zeros(&[10_000]);
/// normal_(&w, 3.0, 0.5);
/// assert!((w.mean().item() - 3.0).abs() < 0.05); // standard error 0.5/√10000 = 0.005
/// ```
pub fn normal_(tensor: &Tensor, mean: f64, std: f64) {
    let values: Vec<f32> =
        with_generator(|g| (0..tensor.numel()).map(|_| (mean + std * g.normal() as f64) as f32).collect());
    fill(tensor, values);
}

/// Fills with `value`: `tᵢ ← value`. PyTorch: `nn.init.constant_(tensor, val)`.
///
/// ```
/// use tapegrad::{Tensor, nn::init::constant_};
/// let b = Tensor::zeros(&[3]);
/// constant_(&b, 0.1);
/// assert_eq!(b.to_vec(), vec![0.1; 3]);
/// ```
pub fn constant_(tensor: &Tensor, value: f64) {
    tensor.with_data_mut(|d| d.fill(value as f32));
}

/// Fills with 0: `tᵢ ← 0`. PyTorch: `nn.init.zeros_(tensor)`.
///
/// ```
/// use tapegrad::{Tensor, nn::init::zeros_};
/// let b = Tensor::ones(&[2]);
/// zeros_(&b);
/// assert_eq!(b.to_vec(), vec![0.0, 0.0]);
/// ```
pub fn zeros_(tensor: &Tensor) {
    constant_(tensor, 0.0);
}

/// Fills with 1: `tᵢ ← 1`. PyTorch: `nn.init.ones_(tensor)`.
///
/// ```
/// use tapegrad::{Tensor, nn::init::ones_};
/// let g = Tensor::zeros(&[2]);
/// ones_(&g);
/// assert_eq!(g.to_vec(), vec![1.0, 1.0]);
/// ```
pub fn ones_(tensor: &Tensor) {
    constant_(tensor, 1.0);
}

/// Fills a 2-D tensor with the identity: `tᵢⱼ ← 1` if `i = j`, else 0 (ones on the main
/// diagonal, also for a non-square tensor).
/// PyTorch: `nn.init.eye_(tensor)`.
///
/// # Errors
/// [`Error::Value`] unless the tensor is 2-D.
///
/// ```
/// use tapegrad::{Tensor, nn::init::eye_};
/// let w = Tensor::full(&[2, 3], 5.0);
/// eye_(&w).unwrap();
/// assert_eq!(w.to_vec(), vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
/// assert!(eye_(&Tensor::zeros(&[2])).is_err());
/// ```
pub fn eye_(tensor: &Tensor) -> Result<()> {
    if tensor.dim() != 2 {
        return Err(Error::Value("Only tensors with 2 dimensions are supported".into()));
    }
    tensor.with_data_mut(|d| d.indexed_iter_mut().for_each(|(i, v)| *v = if i[0] == i[1] { 1.0 } else { 0.0 }));
    Ok(())
}

/// The standard deviation Xavier initialisation aims for: `gain·√(2 / (fan_in + fan_out))`.
/// tapegrad-only, no PyTorch counterpart (PyTorch computes it inside `xavier_normal_`).
///
/// # Errors
/// [`Error::Value`] for fewer than 2 dims.
///
/// ```
/// use tapegrad::nn::init::xavier_std;
/// assert_eq!(xavier_std(&[3, 5], 2.0).unwrap(), 1.0); // 2·√(2 / (5 + 3))
/// ```
pub fn xavier_std(shape: &[usize], gain: f64) -> Result<f64> {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(shape)?;
    Ok(gain * (2.0 / (fan_in + fan_out) as f64).sqrt())
}

/// Glorot/Xavier uniform: `U(−b, b)` with `b = gain·√(6 / (fan_in + fan_out))`.
/// PyTorch: `nn.init.xavier_uniform_(tensor, gain=1.0)`.
///
/// # Errors
/// [`Error::Value`] for fewer than 2 dims.
///
/// ```
/// use tapegrad::{Tensor, nn::init::xavier_uniform_};
/// let w = Tensor::zeros(&[10, 14]);
/// xavier_uniform_(&w, 1.0).unwrap();
/// assert!(w.to_vec().iter().all(|v| v.abs() <= 0.5)); // b = √(6 / (14 + 10)) = ½
/// ```
pub fn xavier_uniform_(tensor: &Tensor, gain: f64) -> Result<()> {
    let bound = 3f64.sqrt() * xavier_std(tensor.shape(), gain)?;
    uniform_(tensor, -bound, bound);
    Ok(())
}

/// Glorot/Xavier normal: `N(0, std²)` with `std = gain·√(2 / (fan_in + fan_out))`.
/// PyTorch: `nn.init.xavier_normal_(tensor, gain=1.0)`.
///
/// # Errors
/// [`Error::Value`] for fewer than 2 dims.
///
/// ```
/// use tapegrad::{Tensor, nn::init::xavier_normal_};
/// let w = Tensor::zeros(&[200, 300]);
/// xavier_normal_(&w, 1.0).unwrap();
/// let std = w.pow(2.0).mean().item().sqrt(); // the sample std (mean ≈ 0)
/// assert!((std / (2.0f32 / 500.0).sqrt() - 1.0).abs() < 0.02);
/// ```
pub fn xavier_normal_(tensor: &Tensor, gain: f64) -> Result<()> {
    normal_(tensor, 0.0, xavier_std(tensor.shape(), gain)?);
    Ok(())
}

/// The standard deviation Kaiming initialisation aims for: `gain / √fan`, with
/// `gain = calculate_gain(nonlinearity, a)` and `fan` chosen by `mode`. tapegrad-only, no
/// PyTorch counterpart (PyTorch computes it inside `kaiming_normal_`). Example on
/// [`FanMode`].
///
/// # Errors
/// As [`calculate_fan_in_and_fan_out`] and [`calculate_gain`].
pub fn kaiming_std(shape: &[usize], a: f64, mode: FanMode, nonlinearity: &str) -> Result<f64> {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(shape)?;
    let fan = match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    };
    let gain = calculate_gain(nonlinearity, Some(a))?;
    Ok(gain / (fan as f64).sqrt())
}

/// He/Kaiming uniform: `U(−b, b)` with `b = √3 · gain / √fan`. PyTorch:
/// `nn.init.kaiming_uniform_(tensor, a=0, mode='fan_in', nonlinearity='leaky_relu')`
/// (whose defaults give gain √2, as for relu). With `a = √5` this is
/// `U(±1/√fan_in)`, the default initialisation of `nn.Linear` and `nn.Conv*d` weights.
///
/// A tensor with no elements is left as it is (PyTorch warns and does nothing).
///
/// # Errors
/// As [`kaiming_std`].
///
/// ```
/// use tapegrad::{Tensor, nn::init::{kaiming_uniform_, FanMode}};
/// let w = Tensor::zeros(&[16, 3, 3, 3]);
/// kaiming_uniform_(&w, 5f64.sqrt(), FanMode::FanIn, "leaky_relu").unwrap();
/// let bound = 1.0 / 27f32.sqrt();
/// assert!(w.to_vec().iter().all(|v| v.abs() <= bound));
/// ```
pub fn kaiming_uniform_(tensor: &Tensor, a: f64, mode: FanMode, nonlinearity: &str) -> Result<()> {
    if tensor.numel() == 0 {
        return Ok(());
    }
    let bound = 3f64.sqrt() * kaiming_std(tensor.shape(), a, mode, nonlinearity)?;
    uniform_(tensor, -bound, bound);
    Ok(())
}

/// He/Kaiming normal: `N(0, std²)` with `std = gain / √fan`. PyTorch:
/// `nn.init.kaiming_normal_(tensor, a=0, mode='fan_in', nonlinearity='leaky_relu')`.
///
/// # Errors
/// As [`kaiming_std`].
///
/// ```
/// use tapegrad::{Tensor, nn::init::{kaiming_normal_, FanMode}};
/// let w = Tensor::zeros(&[256, 512]);
/// kaiming_normal_(&w, 0.0, FanMode::FanIn, "relu").unwrap();
/// let std = w.pow(2.0).mean().item().sqrt();
/// assert!((std / (2.0f32 / 512.0).sqrt() - 1.0).abs() < 0.02); // std = √2 / √fan_in
/// ```
pub fn kaiming_normal_(tensor: &Tensor, a: f64, mode: FanMode, nonlinearity: &str) -> Result<()> {
    if tensor.numel() == 0 {
        return Ok(());
    }
    let std = kaiming_std(tensor.shape(), a, mode, nonlinearity)?;
    normal_(tensor, 0.0, std);
    Ok(())
}

fn fill(tensor: &Tensor, values: Vec<f32>) {
    let _guard = crate::no_grad();
    tensor.with_data_mut(|d| d.iter_mut().zip(values).for_each(|(v, x)| *v = x));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gains_match_pytorch_formulas() {
        assert_eq!(calculate_gain("tanh", None).unwrap(), 5.0 / 3.0);
        assert_eq!(calculate_gain("leaky_relu", None).unwrap(), (2.0 / (1.0 + 0.01f64 * 0.01)).sqrt());
        assert_eq!(calculate_gain("relu", Some(0.5)).unwrap(), 2f64.sqrt());
        assert_eq!(calculate_gain("softmax", None).unwrap_err().message(), "Unsupported nonlinearity softmax");
        assert_eq!(
            "fan_avg".parse::<FanMode>().unwrap_err().message(),
            "Mode fan_avg not supported, please use one of ['fan_in', 'fan_out']"
        );
    }

    #[test]
    fn kaiming_uniform_with_sqrt5_is_one_over_sqrt_fan_in() {
        let std = kaiming_std(&[6, 2, 3, 3], 5f64.sqrt(), FanMode::FanIn, "leaky_relu").unwrap();
        assert!((3f64.sqrt() * std - 1.0 / 18f64.sqrt()).abs() < 1e-12);
    }
}
