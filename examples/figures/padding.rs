//! padding-valid-same.svg: 'valid' and 'same' padding, and how 'same' splits an odd total.

use crate::grid::{Grid, conv};
use crate::sliding::KERNEL_3X3;
use crate::svg::{FIRST, INPUT, KERNEL, LABEL, NOTE, OUTPUT, PADDING, SYMBOL, Svg};

/// The 4×4 input and the even 2×2 kernel of the `lesson_same_padding` example.
#[rustfmt::skip]
const INPUT_4X4: [f32; 16] = [
    4., 1., 7., 5.,
    4., 4., 2., 5.,
    7., 7., 2., 4.,
    1., 0., 2., 4.,
];
const KERNEL_2X2: [f32; 4] = [1., 0., 2., 1.];

/// One row of the figure: which padding, the kernel, and the zeros (before, after) per dim.
struct Case {
    heading: &'static str,
    padding: &'static str,
    kernel: &'static [f32],
    k: usize,
    pad: (usize, usize),
    input_label: &'static str,
}

pub fn figure() -> Svg {
    let cases = [
        Case {
            heading: "(a) padding='valid': no padding, the output shrinks to H − k + 1",
            padding: "valid",
            kernel: &KERNEL_3X3,
            k: 3,
            pad: (0, 0),
            input_label: "input 4 × 4",
        },
        Case {
            heading: "(b) padding='same', k = 3: p = (k − 1) / 2 = 1 ring of zeros, output size = input size",
            padding: "same",
            kernel: &KERNEL_3X3,
            k: 3,
            pad: (1, 1),
            input_label: "padded, p = 1: 6 × 6",
        },
        Case {
            heading: "(c) padding='same', k = 2: k − 1 = 1 zero per dim; PyTorch pads 0 before, 1 after",
            padding: "same",
            kernel: &KERNEL_2X2,
            k: 2,
            pad: (0, 1),
            input_label: "padded bottom and right: 5 × 5",
        },
    ];

    let mut svg = Svg::new(640.0, 760.0);
    svg.title("Padding: 'valid' vs 'same'");
    svg.text(20.0, 54.0, NOTE, "Grey cells are the zeros that padding adds around the 4 × 4 input.");
    let cell = 30.0;
    let mut y = 90.0;
    for case in cases {
        let (before, after) = case.pad;
        let n = 4 + before + after;
        let padded = pad_zeros(&INPUT_4X4, 4, case.pad);
        let (out, (h_out, w_out)) = conv(&INPUT_4X4, (4, 4), case.kernel, case.k, 1, case.padding);
        // Convolving the zero-padded grid without padding gives the same numbers: the grey
        // cells drawn are exactly the padding F::conv2d used.
        assert_eq!(conv(&padded, (n, n), case.kernel, case.k, 1, 0).0, out);

        svg.text(20.0, y, NOTE.color(LABEL.color).bold(), case.heading);
        let top = y + 14.0;
        let height = n.max(h_out) as f32 * cell;
        let mid = top + height / 2.0;
        let zeros =
            Grid { x: 40.0, y: mid - n as f32 * cell / 2.0, cell, rows: n, cols: n, values: &padded, paint: PADDING };
        let (ix, iy) = (zeros.x + before as f32 * cell, zeros.y + before as f32 * cell);
        let input = Grid { x: ix, y: iy, cell, rows: 4, cols: 4, values: &INPUT_4X4, paint: INPUT };
        let kernel = Grid {
            x: 300.0,
            y: mid - case.k as f32 * cell / 2.0,
            cell,
            rows: case.k,
            cols: case.k,
            values: case.kernel,
            paint: KERNEL,
        };
        let output = Grid {
            x: 470.0,
            y: mid - h_out as f32 * cell / 2.0,
            cell,
            rows: h_out,
            cols: w_out,
            values: &out,
            paint: OUTPUT,
        };
        zeros.draw(&mut svg);
        input.draw(&mut svg);
        kernel.draw(&mut svg);
        output.draw(&mut svg);
        zeros.window(&mut svg, (0, 0), (case.k, case.k), FIRST.stroke, 0.0);
        output.mark(&mut svg, (0, 0), FIRST);

        svg.star(270.0, mid);
        svg.text(435.0, mid + 8.0, SYMBOL, "=");
        svg.text(zeros.center_x(), zeros.bottom() + 22.0, LABEL, case.input_label);
        svg.text(kernel.center_x(), kernel.bottom() + 22.0, LABEL, &format!("k = {}", case.k));
        svg.text(output.center_x(), output.bottom() + 22.0, LABEL, &format!("output {h_out} × {w_out}"));
        y = top + height + 68.0;
    }
    svg
}

/// `input` (`h × h`) with `before` zero rows/columns at the top/left and `after` at the
/// bottom/right.
fn pad_zeros(input: &[f32], h: usize, (before, after): (usize, usize)) -> Vec<f32> {
    let n = h + before + after;
    let mut padded = vec![0.0; n * n];
    for r in 0..h {
        for c in 0..h {
            padded[(r + before) * n + c + before] = input[r * h + c];
        }
    }
    padded
}
