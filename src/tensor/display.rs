//! `Display`/`Debug` for [`Tensor`], reproducing PyTorch's `repr`:
//! `tensor([[1., 2.]], grad_fn=<AddBackward0>)`.
//!
//! The rules are those of `torch/_tensor_str.py` with the default print options (precision
//! 4, line width 80, summarise above 1000 elements showing 3 edge items):
//! * all finite values integral → `1.`; otherwise fixed `0.1235`; scientific `1.2346e+05`
//!   when the nonzero finite magnitudes span more than 1000×, exceed 1e8 or go below 1e-4
//!   (for integral values, only the first two conditions);
//! * every element is right-aligned to the widest one; rows wrap at 80 columns.

use std::fmt;

use ndarray::{ArrayViewD, Axis};

use super::Tensor;

const PRECISION: usize = 4;
const LINE_WIDTH: usize = 80;
const THRESHOLD: usize = 1000;
const EDGE_ITEMS: usize = 3;

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = self.data();
        let prefix = "tensor(";
        let indent = prefix.len();
        let mut suffixes = Vec::new();
        let body = if data.is_empty() {
            if self.shape() != [0] {
                let dims: Vec<String> = self.shape().iter().map(usize::to_string).collect();
                let comma = if dims.len() == 1 { "," } else { "" };
                suffixes.push(format!("size=({}{comma})", dims.join(", ")));
            }
            "[]".to_string()
        } else {
            let summarize = data.len() > THRESHOLD;
            let values = if summarize { summarized_values(data.view()) } else { data.iter().copied().collect() };
            let formatter = Formatter::new(&values);
            tensor_str(data.view(), indent, summarize, &formatter)
        };
        if let Some(name) = self.grad_fn() {
            suffixes.push(format!("grad_fn=<{name}>"));
        } else if self.requires_grad() {
            suffixes.push("requires_grad=True".to_string());
        }
        f.write_str(&add_suffixes(format!("{prefix}{body}"), &suffixes, indent))
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// How every element of one tensor is printed (PyTorch's `_Formatter`).
struct Formatter {
    int_mode: bool,
    sci_mode: bool,
    max_width: usize,
}

impl Formatter {
    fn new(values: &[f32]) -> Self {
        let mut fmt = Formatter { int_mode: true, sci_mode: false, max_width: 1 };
        let nonzero_finite: Vec<f64> =
            values.iter().filter(|v| v.is_finite() && **v != 0.0).map(|&v| v as f64).collect();
        if nonzero_finite.is_empty() {
            return fmt;
        }
        let abs_min = nonzero_finite.iter().fold(f64::INFINITY, |m, v| m.min(v.abs()));
        let abs_max = nonzero_finite.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        fmt.int_mode = nonzero_finite.iter().all(|v| *v == v.ceil());
        fmt.sci_mode = abs_max / abs_min > 1000.0 || abs_max > 1.0e8 || (!fmt.int_mode && abs_min < 1.0e-4);
        for &v in &nonzero_finite {
            let width = if fmt.sci_mode {
                python_sci(v).len()
            } else if fmt.int_mode {
                format!("{v:.0}").len() + 1
            } else {
                format!("{v:.PRECISION$}").len()
            };
            fmt.max_width = fmt.max_width.max(width);
        }
        fmt
    }

    fn format(&self, value: f32) -> String {
        let v = value as f64;
        let text = if v.is_nan() {
            "nan".to_string()
        } else if v.is_infinite() {
            if v > 0.0 { "inf".to_string() } else { "-inf".to_string() }
        } else if self.sci_mode {
            python_sci(v)
        } else if self.int_mode {
            format!("{v:.0}.")
        } else {
            format!("{v:.PRECISION$}")
        };
        format!("{text:>width$}", width = self.max_width)
    }
}

/// Python's `'{:.4e}'.format(v)`: `1.2346e+05` (Rust would print `1.2346e5`).
fn python_sci(v: f64) -> String {
    let rust = format!("{v:.PRECISION$e}");
    let (mantissa, exponent) = rust.split_once('e').expect("exponent present");
    let exponent: i32 = exponent.parse().expect("integer exponent");
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

/// The values that a summarised print shows (PyTorch's `get_summarized_data`).
fn summarized_values(data: ArrayViewD<f32>) -> Vec<f32> {
    if data.ndim() == 0 {
        return data.iter().copied().collect();
    }
    let len = data.len_of(Axis(0));
    let rows: Vec<usize> =
        if len > 2 * EDGE_ITEMS { (0..EDGE_ITEMS).chain(len - EDGE_ITEMS..len).collect() } else { (0..len).collect() };
    rows.into_iter()
        .flat_map(|i| {
            let row = data.index_axis(Axis(0), i);
            if row.ndim() == 0 { vec![row.iter().copied().next().unwrap_or(0.0)] } else { summarized_values(row) }
        })
        .collect()
}

fn tensor_str(data: ArrayViewD<f32>, indent: usize, summarize: bool, fmt: &Formatter) -> String {
    match data.ndim() {
        0 => fmt.format(data.iter().copied().next().unwrap_or(0.0)),
        1 => vector_str(data, indent, summarize, fmt),
        dim => {
            let len = data.len_of(Axis(0));
            let row = |i: usize| tensor_str(data.index_axis(Axis(0), i), indent + 1, summarize, fmt);
            let slices: Vec<String> = if summarize && len > 2 * EDGE_ITEMS {
                (0..EDGE_ITEMS)
                    .map(row)
                    .chain(std::iter::once("...".to_string()))
                    .chain((len - EDGE_ITEMS..len).map(row))
                    .collect()
            } else {
                (0..len).map(row).collect()
            };
            let separator = format!(",{}{}", "\n".repeat(dim - 1), " ".repeat(indent + 1));
            format!("[{}]", slices.join(&separator))
        }
    }
}

fn vector_str(data: ArrayViewD<f32>, indent: usize, summarize: bool, fmt: &Formatter) -> String {
    let element_length = fmt.max_width + 2;
    let per_line = (LINE_WIDTH.saturating_sub(indent) / element_length).max(1);
    let values: Vec<f32> = data.iter().copied().collect();
    let items: Vec<String> = if summarize && values.len() > 2 * EDGE_ITEMS {
        let n = values.len();
        values[..EDGE_ITEMS]
            .iter()
            .map(|v| fmt.format(*v))
            .chain(std::iter::once(" ...".to_string()))
            .chain(values[n - EDGE_ITEMS..].iter().map(|v| fmt.format(*v)))
            .collect()
    } else {
        values.iter().map(|v| fmt.format(*v)).collect()
    };
    let lines: Vec<String> = items.chunks(per_line).map(|line| line.join(", ")).collect();
    format!("[{}]", lines.join(&format!(",\n{}", " ".repeat(indent + 1))))
}

fn add_suffixes(tensor_str: String, suffixes: &[String], indent: usize) -> String {
    let mut out = tensor_str;
    let mut last_line_len = out.len() - out.rfind('\n').map_or(0, |i| i) + 1;
    for suffix in suffixes {
        if last_line_len + suffix.len() + 2 > LINE_WIDTH {
            out.push_str(&format!(",\n{}{suffix}", " ".repeat(indent)));
            last_line_len = indent + suffix.len();
        } else {
            out.push_str(&format!(", {suffix}"));
            last_line_len += suffix.len() + 2;
        }
    }
    out.push(')');
    out
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    // Expected strings are what PyTorch 2.x prints for the same tensors (repr()).
    #[test]
    fn integral_values() {
        let t = Tensor::from_vec(vec![1.0, 2.0], &[1, 2]).unwrap();
        assert_eq!(t.to_string(), "tensor([[1., 2.]])");
        let t = Tensor::from_vec(vec![1.0, -2.0, 10.0, 0.0], &[2, 2]).unwrap();
        assert_eq!(t.to_string(), "tensor([[ 1., -2.],\n        [10.,  0.]])");
    }

    #[test]
    fn fixed_and_scientific() {
        let t = Tensor::from_vec(vec![0.5, 1.25, -3.0], &[3]).unwrap();
        assert_eq!(t.to_string(), "tensor([ 0.5000,  1.2500, -3.0000])");
        let t = Tensor::from_vec(vec![1e-5, 1.0], &[2]).unwrap();
        assert_eq!(t.to_string(), "tensor([1.0000e-05, 1.0000e+00])");
        assert_eq!(Tensor::scalar(1.5).to_string(), "tensor(1.5000)");
        assert_eq!(Tensor::scalar(2.0).to_string(), "tensor(2.)");
    }

    #[test]
    fn zeros_empty_and_specials() {
        assert_eq!(Tensor::zeros(&[2]).to_string(), "tensor([0., 0.])");
        assert_eq!(Tensor::zeros(&[0]).to_string(), "tensor([])");
        assert_eq!(Tensor::zeros(&[0, 3]).to_string(), "tensor([], size=(0, 3))");
        let t = Tensor::from_vec(vec![f32::NAN, f32::INFINITY, 1.5], &[3]).unwrap();
        assert_eq!(t.to_string(), "tensor([   nan,    inf, 1.5000])");
    }

    #[test]
    fn autograd_suffixes() {
        let a = Tensor::from_vec(vec![1.0, 2.0], &[1, 2]).unwrap().requires_grad_(true);
        assert_eq!(a.to_string(), "tensor([[1., 2.]], requires_grad=True)");
        let b = &a + &a;
        assert_eq!(format!("{b:?}"), "tensor([[2., 4.]], grad_fn=<AddBackward0>)");
    }

    #[test]
    fn long_vectors_wrap_and_summarise() {
        let t = Tensor::arange(0.0, 30.0, 1.0);
        let expected = "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n        28., 29.])";
        assert_eq!(t.to_string(), expected);
        let t = Tensor::arange(1000.0, 3000.0, 1.0);
        assert_eq!(t.to_string(), "tensor([1000., 1001., 1002.,  ..., 2997., 2998., 2999.])");
        let t = Tensor::arange(0.0, 2000.0, 1.0);
        let expected =
            "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])";
        assert_eq!(t.to_string(), expected);
    }
}
