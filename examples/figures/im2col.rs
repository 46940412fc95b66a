//! im2col.svg: convolution as one matrix product. Each k×k patch of the input becomes a
//! column of `cols`; a row of `W` is one flattened kernel; `W · cols` holds every output.

use tapegrad::Tensor;
use tapegrad::nn::functional as F;

use crate::grid::Grid;
use crate::svg::{FIRST, INK, INPUT, KERNEL, LABEL, NOTE, OUTPUT, Paint, Svg};

const H: usize = 4;
const K: usize = 3;
const H_OUT: usize = H - K + 1;
/// Two kernels, flattened: a row of W each. The second one sums its patch.
#[rustfmt::skip]
const W: [f32; 2 * K * K] = [
    1., 0., 1.,  0., 1., 0.,  1., 0., 1.,
    1., 1., 1.,  1., 1., 1.,  1., 1., 1.,
];

/// The column matrix, `(C·k·k) × (H_out·W_out)` with C = 1: column `l` is the patch whose
/// top-left corner is `(l / H_out, l % H_out)`, read row by row.
fn im2col(input: &[f32]) -> Vec<f32> {
    let mut cols = vec![0.0; K * K * H_OUT * H_OUT];
    for l in 0..H_OUT * H_OUT {
        let (y, x) = (l / H_OUT, l % H_OUT);
        for r in 0..K * K {
            let (i, j) = (r / K, r % K);
            cols[r * H_OUT * H_OUT + l] = input[(y + i) * H + x + j];
        }
    }
    cols
}

pub fn figure() -> Svg {
    let input: Vec<f32> = (1..=H * H).map(|v| v as f32).collect();
    let cols = im2col(&input);
    let n = H_OUT * H_OUT;
    let w = Tensor::from_vec(W.to_vec(), &[2, K * K]).expect("W is 2 × 9");
    let product = w.matmul(&Tensor::from_vec(cols.clone(), &[K * K, n]).expect("cols is 9 × 4")).to_vec();
    // The same numbers as the convolution itself: im2col + GEMM is how Conv2d computes.
    let x = Tensor::from_vec(input.clone(), &[1, 1, H, H]).expect("a 4×4 input");
    let conv = F::conv2d(&x, &w.reshape(&[2, 1, K as isize, K as isize]), None, 1, 0, 1, 1);
    assert_eq!(conv.to_vec(), product);

    let mut svg = Svg::new(800.0, 680.0);
    svg.title("im2col: a convolution as one matrix product (C = 1, 4 × 4 input, k = 3)");
    svg.text(20.0, 54.0, NOTE, "Each k × k patch becomes one column of cols; each kernel becomes one row of W.");

    // Laid out so that a row of W and a column of cols meet at the output they make.
    let cell = 36.0;
    let cols_grid = Grid { x: 420.0, y: 130.0, cell, rows: K * K, cols: n, values: &cols, paint: INPUT };
    let w_grid = Grid { x: 40.0, y: cols_grid.bottom() + 36.0, cell, rows: 2, cols: K * K, values: &W, paint: KERNEL };
    let out = Grid { x: cols_grid.x, y: w_grid.y, cell, rows: 2, cols: n, values: &product, paint: OUTPUT };
    let input_grid = Grid { x: 130.0, y: 170.0, cell, rows: H, cols: H, values: &input, paint: INPUT };

    input_grid.draw(&mut svg);
    input_grid.window(&mut svg, (0, 0), (K, K), FIRST.stroke, 0.0);
    svg.text(input_grid.center_x(), input_grid.bottom() + 24.0, LABEL, "input 4 × 4");
    let y = input_grid.center_y();
    svg.arrow(input_grid.right() + 12.0, y, cols_grid.x - 12.0, y, INK);
    svg.text((input_grid.right() + cols_grid.x) / 2.0, y - 10.0, LABEL.bold(), "im2col");

    // Over each column, a thumbnail of the input with its patch filled in.
    for l in 0..n {
        let thumb = Grid {
            x: cols_grid.x + l as f32 * cell + 2.0,
            y: 90.0,
            cell: 8.0,
            rows: H,
            cols: H,
            values: &[],
            paint: INPUT,
        };
        thumb.draw(&mut svg);
        let fill = if l == 0 { FIRST } else { PATCH };
        for r in 0..K * K {
            let (row, col) = (l / H_OUT + r / K, l % H_OUT + r % K);
            svg.rect(
                thumb.x + col as f32 * thumb.cell,
                thumb.y + row as f32 * thumb.cell,
                thumb.cell,
                thumb.cell,
                fill,
            );
        }
    }
    svg.text(cols_grid.x - 10.0, 112.0, NOTE.color(INK).end(), "patch");
    cols_grid.draw(&mut svg);
    cols_grid.window(&mut svg, (0, 0), (K * K, 1), FIRST.stroke, 0.0);
    let note_x = cols_grid.right() + 16.0;
    svg.text(note_x, cols_grid.y + 14.0, LABEL.start().bold(), "cols");
    svg.text(note_x, cols_grid.y + 36.0, NOTE, "(C·k·k) × (H_out·W_out)");
    svg.text(note_x, cols_grid.y + 56.0, NOTE, "= 9 × 4");
    svg.text(note_x, cols_grid.y + 90.0, NOTE, "one column per");
    svg.text(note_x, cols_grid.y + 108.0, NOTE, "output position");

    w_grid.draw(&mut svg);
    w_grid.window(&mut svg, (0, 0), (1, K * K), FIRST.stroke, 0.0);
    svg.text(w_grid.center_x(), w_grid.bottom() + 24.0, LABEL, "W: O × (C·k·k) = 2 × 9");
    out.draw(&mut svg);
    out.mark(&mut svg, (0, 0), FIRST);
    svg.text(out.center_x(), out.bottom() + 24.0, LABEL, "out = W · cols: 2 × 4");

    // Reshape: each row of `out` is one output map.
    let maps_x = 660.0;
    svg.arrow(out.right() + 10.0, out.center_y(), maps_x - 10.0, out.center_y(), INK);
    svg.text((out.right() + maps_x) / 2.0, out.center_y() - 10.0, LABEL.bold(), "reshape");
    for o in 0..2 {
        let map = Grid {
            x: maps_x,
            y: out.center_y() - 2.0 * cell - 8.0 + o as f32 * (2.0 * cell + 16.0),
            cell,
            rows: H_OUT,
            cols: H_OUT,
            values: &product[o * n..(o + 1) * n],
            paint: OUTPUT,
        };
        map.draw(&mut svg);
        if o == 0 {
            map.mark(&mut svg, (0, 0), FIRST);
        }
        svg.text(map.right() + 8.0, map.center_y() + 5.0, NOTE.color(INK), &format!("o = {o}"));
    }
    svg.text(maps_x + cell, out.center_y() + 2.0 * cell + 34.0, LABEL, "O = 2 output maps");

    let y = out.bottom() + 70.0;
    svg.text(
        20.0,
        y,
        NOTE.color(FIRST.stroke).bold(),
        "out[o, ℓ] = Σ_r W[o, r] · cols[r, ℓ]: row o of W times column ℓ of cols.",
    );
    svg.text(20.0, y + 22.0, NOTE, "Highlighted: o = 0, ℓ = 0, the first kernel with the first patch.");
    svg
}

/// The patch cells in the thumbnails other than the first.
const PATCH: Paint = Paint { fill: "#7fb8dc", stroke: "#0072b2" };
