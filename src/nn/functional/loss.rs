//! The loss functions of `torch.nn.functional`, differentiable, and the [`Reduction`] they
//! share. The conventions (class indices as `f32`, options structs, shapes, what is
//! differentiated) are described once, in [`crate::nn::loss`].
//!
//! Each loss is one recorded op whose forward computes the per-element losses and reduces
//! them, and whose backward undoes the reduction ([`grad_per_element`]) and multiplies by the
//! local derivative. The files:
//!
//! * `classification.rs`: `cross_entropy` and `nll_loss` (class indices or probabilities);
//! * `regression.rs`: `mse_loss`, `l1_loss`, `smooth_l1_loss`, `huber_loss`;
//! * `binary.rs`: `binary_cross_entropy` and `binary_cross_entropy_with_logits`.

mod binary;
mod classification;
mod regression;

use std::fmt;
use std::str::FromStr;

use ndarray::{ArrayD, IxDyn};

use crate::error::Error;
use crate::tensor::SharedArray;

pub use binary::{
    BceOptions, BceWithLogitsOptions, binary_cross_entropy, binary_cross_entropy_with,
    binary_cross_entropy_with_logits, binary_cross_entropy_with_logits_with,
};
pub use classification::{CrossEntropyOptions, NllOptions, cross_entropy, cross_entropy_with, nll_loss, nll_loss_with};
pub use regression::{
    HuberOptions, SmoothL1Options, huber_loss, huber_loss_with, l1_loss, l1_loss_with, mse_loss, mse_loss_with,
    smooth_l1_loss, smooth_l1_loss_with,
};

/// How a loss combines its per-element values. PyTorch: the `reduction` argument of every
/// loss (`'none' | 'mean' | 'sum'`, default `'mean'`).
///
/// * `None`: no reduction; the output has one loss per element (per sample for
///   `cross_entropy`/`nll_loss`).
/// * `Mean`: the sum divided by the number of elements, except for `cross_entropy` and
///   `nll_loss` with class indices, which divide by the total weight of the targets that
///   are not ignored (see [`cross_entropy_with`]).
/// * `Sum`: the sum.
///
/// Parsed from PyTorch's strings; anything else is PyTorch's `ValueError`:
///
/// ```
/// use tapegrad::nn::functional::Reduction;
/// assert_eq!("sum".parse::<Reduction>().unwrap(), Reduction::Sum);
/// assert_eq!(Reduction::default(), Reduction::Mean);
/// let err = "avg".parse::<Reduction>().unwrap_err();
/// assert_eq!(err.message(), "avg is not a valid value for reduction");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Reduction {
    /// `'none'`: keep every element's loss.
    None,
    /// `'mean'` (the default): average.
    #[default]
    Mean,
    /// `'sum'`: add up.
    Sum,
}

impl Reduction {
    /// PyTorch's spelling: `"none"`, `"mean"` or `"sum"` (also what `Display` prints).
    ///
    /// ```
    /// use tapegrad::nn::functional::Reduction;
    /// assert_eq!(Reduction::Sum.as_str(), "sum");
    /// assert_eq!(Reduction::None.to_string(), "none");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Reduction::None => "none",
            Reduction::Mean => "mean",
            Reduction::Sum => "sum",
        }
    }
}

impl fmt::Display for Reduction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Reduction {
    type Err = Error;
    /// `"none"`, `"mean"` or `"sum"`; anything else is [`Error::Value`] with PyTorch's text
    /// (`torch.nn._reduction.get_enum`).
    fn from_str(s: &str) -> Result<Reduction, Error> {
        match s {
            "none" => Ok(Reduction::None),
            "mean" => Ok(Reduction::Mean),
            "sum" => Ok(Reduction::Sum),
            other => Err(Error::Value(format!("{other} is not a valid value for reduction"))),
        }
    }
}

/// Reduces per-element losses: `None` keeps them, `Sum` adds them, `Mean` divides the sum by
/// `divisor` (the element count, or the total target weight for `nll_loss`). Sums are
/// accumulated in `f64`, so a mean over millions of elements stays accurate.
fn reduce(losses: ArrayD<f32>, reduction: Reduction, divisor: f64) -> SharedArray {
    let total = || losses.iter().map(|&v| v as f64).sum::<f64>();
    let reduced = match reduction {
        Reduction::None => return losses.into_shared(),
        Reduction::Sum => total(),
        Reduction::Mean => total() / divisor,
    };
    ndarray::arr0(reduced as f32).into_dyn().into_shared()
}

/// The backward of [`reduce`]: the gradient reaching each per-element loss of `shape`.
/// `None` passes `grad` through (it already has `shape`); `Sum` broadcasts the scalar
/// gradient; `Mean` broadcasts it divided by `divisor`.
fn grad_per_element(grad: &SharedArray, shape: &[usize], reduction: Reduction, divisor: f64) -> ArrayD<f32> {
    let scalar = || grad.iter().copied().next().expect("a reduced loss has one element");
    match reduction {
        Reduction::None => grad.to_owned(),
        Reduction::Sum => ArrayD::from_elem(IxDyn(shape), scalar()),
        Reduction::Mean => ArrayD::from_elem(IxDyn(shape), (scalar() as f64 / divisor) as f32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduce_and_its_backward_agree() {
        let losses = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(reduce(losses.clone(), Reduction::Sum, 4.0).iter().copied().collect::<Vec<_>>(), [10.0]);
        assert_eq!(reduce(losses.clone(), Reduction::Mean, 5.0).iter().copied().collect::<Vec<_>>(), [2.0]);
        assert_eq!(reduce(losses, Reduction::None, 4.0).shape(), &[2, 2]);
        let one = ndarray::arr0(3.0f32).into_dyn().into_shared();
        assert!(grad_per_element(&one, &[2, 2], Reduction::Mean, 4.0).iter().all(|&g| g == 0.75));
        assert!(grad_per_element(&one, &[2, 2], Reduction::Sum, 4.0).iter().all(|&g| g == 3.0));
    }

    #[test]
    fn reduction_round_trips_through_its_name() {
        for r in [Reduction::None, Reduction::Mean, Reduction::Sum] {
            assert_eq!(r.as_str().parse::<Reduction>().unwrap(), r);
            assert_eq!(r.to_string(), r.as_str());
        }
        assert!(matches!("Mean".parse::<Reduction>(), Err(Error::Value(_))));
    }
}
