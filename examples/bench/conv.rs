//! Conv cases: `F::conv2d` forward without a graph, and forward + backward of `y.sum()`.

use tapegrad::Tensor;
use tapegrad::nn::functional::{self as F, PaddingArg};

use crate::spec::{ConvCase, Init, PaddingSpec, init_values, sums};

/// The deterministic `x`, `w`, `b` of a case, as leaves that require grad.
pub struct ConvInputs {
    /// `(n, c_in, h, w)`.
    pub x: Tensor,
    /// `(c_out, c_in / groups, kh, kw)`.
    pub w: Tensor,
    /// `(c_out,)`.
    pub b: Tensor,
    case: ConvCase,
}

/// The contract's check sums (f64 accumulation of the f32 values).
#[derive(Debug, Clone, PartialEq)]
pub struct ConvCheck {
    pub y_sum: f64,
    pub y_abs: f64,
    pub gx_abs: f64,
    pub gw_abs: f64,
    pub gb_abs: f64,
    pub y_shape: Vec<usize>,
}

impl ConvInputs {
    /// The tensors of `case`, filled with the `x`, `w` and `b` formulas.
    ///
    /// # Errors
    /// A note for a case this engine cannot run as specified (an unknown padding string).
    pub fn new(case: &ConvCase) -> Result<ConvInputs, String> {
        if let PaddingSpec::Text(s) = &case.padding
            && s != "same"
            && s != "valid"
        {
            return Err(format!("padding {s:?} is neither an integer, 'same' nor 'valid'"));
        }
        let tensor = |init, shape: &[usize]| {
            let values = init_values(init, shape.iter().product(), 1.0);
            Tensor::from_vec(values, shape).expect("values match the shape").requires_grad_(true)
        };
        Ok(ConvInputs {
            x: tensor(Init::X, &[case.n, case.c_in, case.h, case.w]),
            w: tensor(Init::W, &[case.c_out, case.c_in / case.groups.max(1), case.kh, case.kw]),
            b: tensor(Init::B, &[case.c_out]),
            case: case.clone(),
        })
    }

    fn conv(&self) -> Tensor {
        let c = &self.case;
        let padding = match &c.padding {
            PaddingSpec::Int(p) => PaddingArg::from(*p),
            PaddingSpec::Text(s) => PaddingArg::from(s.as_str()),
        };
        F::conv2d(&self.x, &self.w, Some(&self.b), c.stride, padding, c.dilation, c.groups as i64)
    }

    /// `fwd`: the convolution with gradient tracking off (PyTorch: under `torch.no_grad()`).
    pub fn forward(&self) -> Tensor {
        let _guard = tapegrad::no_grad();
        self.conv()
    }

    /// `fwdbwd`: forward, then the gradients of `y.sum()` with respect to `x`, `w` and `b`,
    /// fresh each call (the old ones are cleared first). Returns `y` and `[gx, gw, gb]`.
    pub fn forward_backward(&self) -> (Tensor, [Tensor; 3]) {
        for leaf in [&self.x, &self.w, &self.b] {
            leaf.zero_grad();
        }
        let y = self.conv();
        y.sum().backward();
        let grad = |t: &Tensor| t.grad().expect("backward reached every leaf");
        let grads = [grad(&self.x), grad(&self.w), grad(&self.b)];
        (y, grads)
    }

    /// One `fwdbwd` call, summed up for the harness.
    pub fn check(&self) -> ConvCheck {
        let (y, [gx, gw, gb]) = self.forward_backward();
        let abs = |t: &Tensor| sums(t.data().iter()).1;
        let (y_sum, y_abs) = sums(y.data().iter());
        ConvCheck { y_sum, y_abs, gx_abs: abs(&gx), gw_abs: abs(&gw), gb_abs: abs(&gb), y_shape: y.shape().to_vec() }
    }

    /// Forward flops: `2 · N · C_out · H_out · W_out · (C_in / groups) · kh · kw` (bias not
    /// counted), given the output shape.
    pub fn flops(&self, y_shape: &[usize]) -> u64 {
        let c = &self.case;
        let out_positions: usize = y_shape[2..].iter().product();
        2 * (c.n * c.c_out * out_positions * (c.c_in / c.groups) * c.kh * c.kw) as u64
    }
}
