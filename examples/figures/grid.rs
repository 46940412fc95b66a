//! Grids of numbers (an input, a kernel, an output map) and the convolution that fills them:
//! every number a figure shows comes out of tapegrad's `F::conv2d`.

use tapegrad::Tensor;
use tapegrad::nn::functional::{self as F, PaddingArg};

use crate::svg::{LABEL, Paint, Svg};

/// A `rows × cols` matrix of square cells placed with its top-left corner at (x, y).
pub struct Grid<'a> {
    pub x: f32,
    pub y: f32,
    /// The side of a cell in px.
    pub cell: f32,
    pub rows: usize,
    pub cols: usize,
    /// Row-major, `rows · cols` numbers written in the cells; empty for blank cells.
    pub values: &'a [f32],
    pub paint: Paint,
}

impl Grid<'_> {
    pub fn draw(&self, svg: &mut Svg) {
        for r in 0..self.rows {
            for c in 0..self.cols {
                let (x, y) = (self.x + c as f32 * self.cell, self.y + r as f32 * self.cell);
                svg.rect(x, y, self.cell, self.cell, self.paint);
                if let Some(&v) = self.values.get(r * self.cols + c) {
                    // +5 px puts the digits' middle (not their baseline) at the cell's centre.
                    svg.text(x + self.cell / 2.0, y + self.cell / 2.0 + 5.0, LABEL, &number(v));
                }
            }
        }
    }

    /// Outlines the `h × w` block of cells whose top-left cell is `(row, col)`, `inset` px
    /// inside the cell borders (so that two overlapping windows both show; negative: outside).
    pub fn window(&self, svg: &mut Svg, (row, col): (usize, usize), (h, w): (usize, usize), color: &str, inset: f32) {
        let x = self.x + col as f32 * self.cell + inset;
        let y = self.y + row as f32 * self.cell + inset;
        let (width, height) = (w as f32 * self.cell - 2.0 * inset, h as f32 * self.cell - 2.0 * inset);
        svg.outline(x, y, width, height, color, 3.0);
    }

    /// Highlights one cell (call after `draw`): filled with `paint`, its number in bold.
    pub fn mark(&self, svg: &mut Svg, (row, col): (usize, usize), paint: Paint) {
        let (x, y) = (self.x + col as f32 * self.cell, self.y + row as f32 * self.cell);
        svg.rect(x, y, self.cell, self.cell, paint);
        svg.outline(x + 1.5, y + 1.5, self.cell - 3.0, self.cell - 3.0, paint.stroke, 3.0);
        if let Some(&v) = self.values.get(row * self.cols + col) {
            svg.text(x + self.cell / 2.0, y + self.cell / 2.0 + 5.0, LABEL.bold(), &number(v));
        }
    }

    pub fn right(&self) -> f32 {
        self.x + self.cols as f32 * self.cell
    }

    pub fn bottom(&self) -> f32 {
        self.y + self.rows as f32 * self.cell
    }

    pub fn center_x(&self) -> f32 {
        self.x + self.cols as f32 * self.cell / 2.0
    }

    pub fn center_y(&self) -> f32 {
        self.y + self.rows as f32 * self.cell / 2.0
    }
}

/// `4`, `−1`, `0.5`: integers without a decimal point, a typographic minus sign.
pub fn number(v: f32) -> String {
    let text = if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.1}") };
    text.replace('-', "−")
}

/// A single-channel 2-d convolution with tapegrad: `input` is `h × w`, `kernel` is `k × k`.
/// Returns the output map and its `(H_out, W_out)`.
pub fn conv(
    input: &[f32],
    (h, w): (usize, usize),
    kernel: &[f32],
    k: usize,
    stride: usize,
    padding: impl Into<PaddingArg>,
) -> (Vec<f32>, (usize, usize)) {
    let x = Tensor::from_vec(input.to_vec(), &[1, 1, h, w]).expect("input is h × w");
    let weight = Tensor::from_vec(kernel.to_vec(), &[1, 1, k, k]).expect("kernel is k × k");
    let y = F::conv2d(&x, &weight, None, stride, padding, 1, 1);
    let size = (y.shape()[2], y.shape()[3]);
    (y.to_vec(), size)
}
