//! Argument types for convolution: PyTorch's `int | tuple` and `int | tuple | str`
//! arguments, and the padding modes. Strings are kept as given and checked where PyTorch
//! checks them (the module's constructor or the functional call), with PyTorch's message.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::ops::pad::PadMode;

/// An int or a tuple of ints, as PyTorch's `kernel_size`, `stride` and `dilation`:
/// `3.into()`, `[2, 3].into()`, `vec![1, 2].into()`. A one-element tuple means the same as
/// the int. Values are `i64` because PyTorch accepts (and later rejects) zero and negative
/// ones; the check happens where PyTorch's does.
///
/// ```
/// use tapegrad::nn::IntOrTuple;
/// let stride: IntOrTuple = 2.into();
/// assert_eq!(stride.expand("stride", 2).unwrap(), vec![2, 2]); // int → (2, 2)
/// assert_eq!(IntOrTuple::from([1, 3]).ntuple(2), vec![1, 3]);
/// let err = IntOrTuple::from([1, 1, 1]).expand("stride", 2).unwrap_err();
/// assert!(err.starts_with("expected stride to be a single integer value or a list of 2 values"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntOrTuple(pub Vec<i64>);

impl IntOrTuple {
    /// The values for `dims` spatial dims: an int is repeated, a tuple must have `dims`
    /// values. PyTorch: ATen's `expand_param_if_needed`. Example on [`IntOrTuple`].
    ///
    /// # Errors
    /// PyTorch's text: "expected stride to be a single integer value or a list of 2 values
    /// to match the convolution dimensions, but got stride=[1, 1, 1]".
    pub fn expand(&self, name: &str, dims: usize) -> Result<Vec<i64>, String> {
        match self.0.len() {
            1 => Ok(vec![self.0[0]; dims]),
            n if n == dims => Ok(self.0.clone()),
            _ => Err(format!(
                "expected {name} to be a single integer value or a list of {dims} values to match the convolution dimensions, but got {name}={:?}",
                self.0
            )),
        }
    }

    /// PyTorch's `_single`/`_pair`/`_triple` as used by the module constructors: an int is
    /// repeated `dims` times, a tuple is kept as it is (its length is checked at forward).
    /// Example on [`IntOrTuple`].
    pub fn ntuple(&self, dims: usize) -> Vec<i64> {
        if self.0.len() == 1 && dims != 1 { vec![self.0[0]; dims] } else { self.0.clone() }
    }
}

macro_rules! int_or_tuple_from {
    ($($t:ty),*) => {$(
        impl From<$t> for IntOrTuple {
            fn from(v: $t) -> Self { IntOrTuple(vec![v as i64]) }
        }
        impl<const N: usize> From<[$t; N]> for IntOrTuple {
            fn from(v: [$t; N]) -> Self { IntOrTuple(v.iter().map(|&x| x as i64).collect()) }
        }
        impl From<&[$t]> for IntOrTuple {
            fn from(v: &[$t]) -> Self { IntOrTuple(v.iter().map(|&x| x as i64).collect()) }
        }
        impl From<Vec<$t>> for IntOrTuple {
            fn from(v: Vec<$t>) -> Self { IntOrTuple(v.into_iter().map(|x| x as i64).collect()) }
        }
    )*};
}
// Conversions only: several integer types so that literals and `usize` shapes both work.
int_or_tuple_from!(i32, i64, usize);

/// The resolved padding of a convolution. PyTorch: `padding=int | tuple | 'valid' | 'same'`.
/// Parses from `"same"` and `"valid"` (with `nn.ConvNd`'s `ValueError` text otherwise).
///
/// ```
/// use tapegrad::nn::Padding;
/// assert_eq!("same".parse::<Padding>().unwrap(), Padding::Same);
/// let err = "full".parse::<Padding>().unwrap_err();
/// assert_eq!(err.message(), "Invalid padding string 'full', should be one of {'same', 'valid'}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Padding {
    /// The same number of elements before and after each spatial dim (an int or one per dim).
    Explicit(Vec<i64>),
    /// No padding: `padding='valid'`.
    Valid,
    /// Enough padding for the output to have the input's size (stride 1 only):
    /// `dilation·(k − 1)` in total per dim, the smaller half before (PyTorch puts the odd
    /// element at the end).
    Same,
}

/// A padding argument as the caller wrote it: ints, or a string still to be checked.
/// Built with `.into()` from an int, an array or `Vec` of ints, `"same"`/`"valid"`, or a
/// [`Padding`]. PyTorch: the `padding` argument itself, before it is checked.
///
/// ```
/// use tapegrad::nn::{Padding, PaddingArg};
/// assert_eq!(PaddingArg::from([1, 2]).for_module().unwrap(), Padding::Explicit(vec![1, 2]));
/// assert_eq!(PaddingArg::from("valid").for_functional().unwrap(), Padding::Valid);
/// // The two callers word an unknown string differently, as PyTorch does:
/// assert!(PaddingArg::from("full").for_module().is_err());
/// assert_eq!(PaddingArg::from("full").for_functional().unwrap_err(), "Invalid padding string: 'full'");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaddingArg {
    /// An int or a tuple.
    Ints(Vec<i64>),
    /// A string: PyTorch accepts `'same'` and `'valid'`.
    Str(String),
}

impl PaddingArg {
    /// Resolves the argument as `nn.ConvNd`'s constructor does (PyTorch:
    /// `_ConvNd.__init__`). Example on [`PaddingArg`].
    ///
    /// # Errors
    /// [`Error::Value`] with PyTorch's text for an unknown string.
    pub fn for_module(&self) -> Result<Padding, Error> {
        match self {
            PaddingArg::Ints(v) => Ok(Padding::Explicit(v.clone())),
            PaddingArg::Str(s) => s.parse(),
        }
    }

    /// Resolves the argument as `F.convNd` does (PyTorch: `at::_convolution_mode`); an
    /// unknown string is PyTorch's `RuntimeError` text, returned as the `Err` message.
    /// Example on [`PaddingArg`].
    pub fn for_functional(&self) -> Result<Padding, String> {
        match self {
            PaddingArg::Ints(v) => Ok(Padding::Explicit(v.clone())),
            PaddingArg::Str(s) => match s.as_str() {
                "same" => Ok(Padding::Same),
                "valid" => Ok(Padding::Valid),
                other => Err(format!("Invalid padding string: '{other}'")),
            },
        }
    }
}

impl FromStr for Padding {
    type Err = Error;
    /// `"same"` or `"valid"`; anything else is the `ValueError` of `nn.ConvNd`.
    fn from_str(s: &str) -> Result<Padding, Error> {
        match s {
            "same" => Ok(Padding::Same),
            "valid" => Ok(Padding::Valid),
            other => {
                Err(Error::Value(format!("Invalid padding string '{other}', should be one of {{'same', 'valid'}}")))
            }
        }
    }
}

impl From<Padding> for PaddingArg {
    fn from(p: Padding) -> Self {
        match p {
            Padding::Explicit(v) => PaddingArg::Ints(v),
            Padding::Valid => PaddingArg::Str("valid".into()),
            Padding::Same => PaddingArg::Str("same".into()),
        }
    }
}

impl From<&str> for PaddingArg {
    fn from(s: &str) -> Self {
        PaddingArg::Str(s.to_string())
    }
}

impl From<String> for PaddingArg {
    fn from(s: String) -> Self {
        PaddingArg::Str(s)
    }
}

impl<T: Into<IntOrTuple>> From<T> for PaddingArg {
    fn from(v: T) -> Self {
        PaddingArg::Ints(v.into().0)
    }
}

/// How a convolution pads its input. PyTorch: `padding_mode` of `nn.ConvNd`. Parses from
/// PyTorch's names and prints as them.
///
/// ```
/// use tapegrad::{nn::PaddingMode, ops::pad::PadMode};
/// let mode: PaddingMode = "reflect".parse().unwrap();
/// assert_eq!((mode.to_string(), mode.pad_mode()), ("reflect".to_string(), Some(PadMode::Reflect)));
/// assert_eq!(PaddingMode::Zeros.pad_mode(), None); // folded into im2col, no F.pad
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaddingMode {
    /// Zeros, folded into im2col (the default).
    #[default]
    Zeros,
    /// Mirror without repeating the edge (`F.pad(mode='reflect')`).
    Reflect,
    /// Repeat the edge (`F.pad(mode='replicate')`).
    Replicate,
    /// Wrap around (`F.pad(mode='circular')`).
    Circular,
}

impl PaddingMode {
    /// The `F.pad` mode that applies it, `None` for zeros (folded into the convolution).
    /// PyTorch: the `mode` that `_ConvNd._conv_forward` passes to `F.pad`. Example on
    /// [`PaddingMode`].
    pub fn pad_mode(self) -> Option<PadMode> {
        match self {
            PaddingMode::Zeros => None,
            PaddingMode::Reflect => Some(PadMode::Reflect),
            PaddingMode::Replicate => Some(PadMode::Replicate),
            PaddingMode::Circular => Some(PadMode::Circular),
        }
    }
}

impl AsRef<str> for PaddingMode {
    fn as_ref(&self) -> &str {
        match self {
            PaddingMode::Zeros => "zeros",
            PaddingMode::Reflect => "reflect",
            PaddingMode::Replicate => "replicate",
            PaddingMode::Circular => "circular",
        }
    }
}

impl fmt::Display for PaddingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_ref())
    }
}

impl FromStr for PaddingMode {
    type Err = Error;
    /// PyTorch's names; anything else is the `ValueError` of `nn.ConvNd`.
    fn from_str(s: &str) -> Result<PaddingMode, Error> {
        match s {
            "zeros" => Ok(PaddingMode::Zeros),
            "reflect" => Ok(PaddingMode::Reflect),
            "replicate" => Ok(PaddingMode::Replicate),
            "circular" => Ok(PaddingMode::Circular),
            other => Err(Error::Value(format!(
                "padding_mode must be one of {{'replicate', 'reflect', 'zeros', 'circular'}}, but got padding_mode='{other}'"
            ))),
        }
    }
}
