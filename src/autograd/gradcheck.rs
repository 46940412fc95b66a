//! Numerical gradient checking by central differences. PyTorch: `torch.autograd.gradcheck`.

use std::fmt;

use crate::random::Generator;
use crate::tensor::Tensor;

/// Step and tolerances of [`gradcheck_with`]. PyTorch: the `eps`, `atol` and `rtol`
/// arguments of `torch.autograd.gradcheck` (whose defaults, `1e-6`, `1e-5`, `1e-3`, suit
/// `float64`; these suit `f32`).
///
/// An element passes when `|analytical − numerical| ≤ atol + rtol·|numerical|`. The defaults
/// (`eps = 1e-3`, `atol = 1e-3`, `rtol = 1e-2`) suit `f32`: a central difference with step
/// `eps = 1e-3` has a rounding error around `|f|·6·10⁻⁸ / eps ≈ 6·10⁻⁵·|f|`, well inside
/// that bound.
///
/// ```
/// use tapegrad::autograd::{GradcheckOptions, gradcheck_with};
/// use tapegrad::Tensor;
/// let options = GradcheckOptions { eps: 1e-2, ..Default::default() };
/// assert_eq!(options.atol, 1e-3);
/// let x = Tensor::from_vec(vec![0.5, 1.5], &[2]).unwrap().requires_grad_(true);
/// gradcheck_with(|t| t[0].exp(), &[x], options).unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradcheckOptions {
    /// The perturbation added to and subtracted from each element.
    pub eps: f32,
    /// Absolute tolerance.
    pub atol: f32,
    /// Relative tolerance, times the numerical derivative's magnitude.
    pub rtol: f32,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions { eps: 1e-3, atol: 1e-3, rtol: 1e-2 }
    }
}

/// Where the analytical and numerical gradients disagreed. PyTorch: the
/// `GradcheckError` that `torch.autograd.gradcheck` raises ("Jacobian mismatch for output 0
/// with respect to input 0").
///
/// ```
/// use tapegrad::autograd::{gradcheck, record, Backward};
/// use tapegrad::{SharedArray, Tensor};
/// struct WrongBackward; // claims d(2x)/dx = 1
/// impl Backward for WrongBackward {
///     fn name(&self) -> &'static str { "WrongBackward" }
///     fn backward(&self, g: &SharedArray, _: &[bool]) -> Vec<Option<SharedArray>> { vec![Some(g.clone())] }
/// }
/// let x = Tensor::ones(&[3]).requires_grad_(true);
/// let err = gradcheck(|t| record(t[0].data().mapv(|v| 2.0 * v), &[&t[0]], WrongBackward), &[x]).unwrap_err();
/// assert_eq!(err.input, 0);
/// assert!((err.numerical / err.analytical - 2.0).abs() < 1e-2); // the true derivative is twice
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GradcheckError {
    /// Which input (position in the `inputs` slice).
    pub input: usize,
    /// Which element of it (row-major index).
    pub index: usize,
    /// The gradient computed by `backward()`.
    pub analytical: f64,
    /// The central-difference estimate.
    pub numerical: f64,
}

impl fmt::Display for GradcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Jacobian mismatch for input {} at element {}: analytical {} vs numerical {}",
            self.input, self.index, self.analytical, self.numerical
        )
    }
}

impl std::error::Error for GradcheckError {}

/// PyTorch's `GradcheckError` is a `RuntimeError`: so is this one once converted, which lets
/// a function returning [`crate::Result`] use `?` on [`gradcheck`].
///
/// ```
/// use tapegrad::Tensor;
/// use tapegrad::autograd::gradcheck;
/// fn check() -> tapegrad::Result<()> {
///     let x = Tensor::from_vec(vec![0.5, -1.0], &[2])?.requires_grad_(true);
///     gradcheck(|t| t[0].pow(3.0).sum(), &[x])?; // d/dx x³ = 3x², checked numerically
///     Ok(())
/// }
/// check().unwrap();
/// ```
impl From<GradcheckError> for crate::Error {
    fn from(e: GradcheckError) -> Self {
        crate::Error::Runtime(e.to_string())
    }
}

/// Checks the gradients that `backward()` computes for `f` against central differences,
/// with the default [`GradcheckOptions`]. Only inputs with `requires_grad` are checked.
/// PyTorch: `torch.autograd.gradcheck(f, inputs)`.
///
/// The numerical derivative of element `i` is `(F(x + eps·eᵢ) − F(x − eps·eᵢ)) / (2·eps)`.
///
/// A non-scalar output is reduced to `Σ out ⊙ v` with fixed pseudo-random weights `v`, so
/// every output element takes part. The inputs and their `.grad()` are left untouched.
///
/// ```
/// use tapegrad::{Tensor, autograd::gradcheck};
/// let x = Tensor::randn(&[3, 2]).requires_grad_(true);
/// gradcheck(|t| t[0].tanh() * &t[0], &[x]).unwrap();
/// ```
///
/// # Errors
/// The first element whose gradients disagree.
pub fn gradcheck(f: impl Fn(&[Tensor]) -> Tensor, inputs: &[Tensor]) -> Result<(), GradcheckError> {
    gradcheck_with(f, inputs, GradcheckOptions::default())
}

/// [`gradcheck`] with explicit step and tolerances. PyTorch: `torch.autograd.gradcheck(f,
/// inputs, eps=..., atol=..., rtol=...)`. The numerical derivative of element `i` is
/// `(F(x + eps·eᵢ) − F(x − eps·eᵢ)) / (2·eps)`.
///
/// ```
/// use tapegrad::autograd::{GradcheckOptions, gradcheck_with};
/// use tapegrad::Tensor;
/// let (a, b) = (Tensor::randn(&[2, 3]).requires_grad_(true), Tensor::randn(&[3, 2]).requires_grad_(true));
/// let options = GradcheckOptions { atol: 1e-2, ..Default::default() }; // a looser atol
/// gradcheck_with(|t| t[0].matmul(&t[1]), &[a, b], options).unwrap();
/// ```
///
/// # Errors
/// The first element whose gradients disagree.
pub fn gradcheck_with(
    f: impl Fn(&[Tensor]) -> Tensor,
    inputs: &[Tensor],
    options: GradcheckOptions,
) -> Result<(), GradcheckError> {
    // Fresh leaves, so the caller's tensors and gradients stay as they were.
    let leaves: Vec<Tensor> = inputs.iter().map(|t| t.detach().requires_grad_(t.requires_grad())).collect();
    let output = f(&leaves);
    let mut generator = Generator::from_seed(0x6AAD);
    let weights: Vec<f32> = (0..output.numel()).map(|_| 2.0 * generator.uniform() - 1.0).collect();
    let weights_tensor = Tensor::from_vec(weights.clone(), output.shape()).expect("shape of the output");
    if output.requires_grad() {
        output.backward_with(&weights_tensor);
    }

    // Σ f(x) ⊙ v in f64, with no graph recorded.
    let objective = |args: &[Tensor]| -> f64 {
        let _guard = super::no_grad();
        let out = f(args).to_vec();
        out.iter().zip(&weights).map(|(&o, &w)| o as f64 * w as f64).sum()
    };

    for (input_index, leaf) in leaves.iter().enumerate() {
        if !leaf.requires_grad() {
            continue;
        }
        let analytical = leaf.grad().map(|g| g.to_vec()).unwrap_or_else(|| vec![0.0; leaf.numel()]);
        let values = leaf.to_vec();
        for index in 0..values.len() {
            let shifted = |delta: f32| {
                let mut v = values.clone();
                v[index] += delta;
                let mut args = leaves.clone();
                args[input_index] = Tensor::from_vec(v, leaf.shape()).expect("same shape");
                objective(&args)
            };
            let numerical = (shifted(options.eps) - shifted(-options.eps)) / (2.0 * options.eps as f64);
            let analytic = analytical[index] as f64;
            if (analytic - numerical).abs() > options.atol as f64 + options.rtol as f64 * numerical.abs() {
                return Err(GradcheckError { input: input_index, index, analytical: analytic, numerical });
            }
        }
    }
    Ok(())
}
