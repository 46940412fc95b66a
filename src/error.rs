//! The crate's error type, for everything whose input comes from outside the program.
//!
//! Misuse of tensor ops (incompatible shapes, bad dims) panics, as ndarray and PyTorch's
//! eager mode do; see the `# Panics` sections. Building from a configuration, parsing and
//! files return `Result<_, Error>` instead, so nothing read from a file can crash a program.

use std::fmt;

/// The error returned by fallible tapegrad APIs.
///
/// The message says what was wrong and what was expected; where PyTorch raises for the same
/// input, the text is PyTorch's. PyTorch: its exception classes (`ValueError`,
/// `RuntimeError`, `NotImplementedError`, `OSError`), one variant each.
///
/// ```
/// use tapegrad::{Error, Tensor, nn::Dropout};
/// let err = Tensor::from_vec(vec![1.0, 2.0], &[3]).unwrap_err();
/// assert!(matches!(err, Error::Shape(_)));
/// let err = Dropout::new(1.5).unwrap_err(); // PyTorch raises a ValueError
/// assert!(matches!(err, Error::Value(_)));
/// assert_eq!(err.to_string(), "value error: dropout probability has to be between 0 and 1, but got 1.5");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The data given does not fit the shape asked for (`Tensor::from_vec` with the wrong length).
    Shape(String),
    /// An argument or configuration PyTorch would reject with a `ValueError`.
    Value(String),
    /// A configuration PyTorch would reject with a `RuntimeError`.
    Runtime(String),
    /// A feature PyTorch itself does not implement (`NotImplementedError`).
    NotImplemented(String),
    /// A file or byte stream that could not be read or parsed.
    Io(String),
}

impl Error {
    /// The message without the kind, exactly as PyTorch would print `str(exception)`.
    ///
    /// ```
    /// let err = tapegrad::nn::Dropout::new(-0.5).unwrap_err();
    /// assert_eq!(err.message(), "dropout probability has to be between 0 and 1, but got -0.5");
    /// ```
    pub fn message(&self) -> &str {
        match self {
            Error::Shape(m) | Error::Value(m) | Error::Runtime(m) | Error::NotImplemented(m) | Error::Io(m) => m,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Error::Shape(_) => "shape error",
            Error::Value(_) => "value error",
            Error::Runtime(_) => "runtime error",
            Error::NotImplemented(_) => "not implemented",
            Error::Io(_) => "i/o error",
        };
        write!(f, "{kind}: {}", self.message())
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

/// `Result<T, tapegrad::Error>`. tapegrad-only, no PyTorch counterpart (Python raises
/// instead).
///
/// ```
/// fn build() -> tapegrad::Result<tapegrad::nn::Dropout> {
///     tapegrad::nn::Dropout::new(0.1)
/// }
/// assert!(build().is_ok());
/// ```
pub type Result<T> = std::result::Result<T, Error>;

/// Python's `repr(float)`: the shortest text that reads back as the same value, in
/// scientific notation when the exponent is below −4 or at least 16 (`1e-08`, `1e+16`).
pub(crate) fn py_float(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').expect("`{:e}` always writes an exponent");
    let exponent: i32 = exponent.parse().expect("the exponent is an integer");
    if (-4..16).contains(&exponent) {
        let plain = format!("{value}");
        if plain.contains('.') { plain } else { format!("{plain}.0") }
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    }
}
