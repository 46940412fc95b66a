//! multichannel.svg: a standard convolution over C_in = 3 channels gives ONE output map per
//! kernel: each channel is convolved with its own slice of the kernel, and the partial maps
//! are summed (plus the bias).

use tapegrad::Tensor;
use tapegrad::nn::functional as F;

use crate::grid::{Grid, conv};
use crate::svg::{INK, INPUT, KERNEL, LABEL, NOTE, OPERATION, OUTPUT, Paint, SYMBOL, Svg};

#[rustfmt::skip]
const CHANNELS: [[f32; 16]; 3] = [
    [1., 0., 2., 1.,  0., 1., 3., 0.,  2., 1., 0., 1.,  1., 2., 1., 0.],
    [0., 2., 1., 0.,  1., 1., 0., 2.,  0., 3., 1., 1.,  2., 0., 1., 0.],
    [3., 1., 0., 1.,  0., 0., 2., 1.,  1., 2., 1., 0.,  0., 1., 0., 2.],
];
/// The kernel, shape (C_in, k, k) = (3, 3, 3): one 3×3 slice per input channel.
#[rustfmt::skip]
const SLICES: [[f32; 9]; 3] = [
    [1., 0., 0.,  0., 1., 0.,  0., 0., 1.],
    [0., 1., 0.,  1., 0., 1.,  0., 1., 0.],
    [1., 1., 0.,  0., 0., 0.,  0., 1., 1.],
];
const BIAS: f32 = 1.0;

pub fn figure() -> Svg {
    // The whole convolution at once: input (1, 3, 4, 4), weight (1, 3, 3, 3), bias (1,).
    let input = Tensor::from_vec(CHANNELS.concat(), &[1, 3, 4, 4]).expect("3 channels of 4×4");
    let weight = Tensor::from_vec(SLICES.concat(), &[1, 3, 3, 3]).expect("one kernel (3, 3, 3)");
    let bias = Tensor::from_vec(vec![BIAS], &[1]).expect("one bias");
    let output = F::conv2d(&input, &weight, Some(&bias), 1, 0, 1, 1).to_vec();
    // Channel by channel: the partial maps, which must add up to the output.
    let partials: Vec<Vec<f32>> = (0..3).map(|c| conv(&CHANNELS[c], (4, 4), &SLICES[c], 3, 1, 0).0).collect();
    for (i, &o) in output.iter().enumerate() {
        assert_eq!(o, partials.iter().map(|p| p[i]).sum::<f32>() + BIAS);
    }

    let mut svg = Svg::new(720.0, 620.0);
    svg.title("Standard convolution: C_in = 3 input channels → one output map");
    svg.text(
        20.0,
        54.0,
        NOTE,
        "One kernel holds a k × k slice for every input channel: shape (C_in, k, k) = (3, 3, 3).",
    );

    let cell = 28.0;
    let row_top = |c: usize| 86.0 + c as f32 * (4.0 * cell + 22.0);
    // The Σ node, level with the middle channel.
    let (sum_x, sum_y, radius) = (500.0, row_top(1) + 2.0 * cell, 22.0);
    for c in 0..3 {
        let top = row_top(c);
        let mid = top + 2.0 * cell;
        let channel = Grid { x: 90.0, y: top, cell, rows: 4, cols: 4, values: &CHANNELS[c], paint: INPUT };
        let slice = Grid { x: 250.0, y: mid - 1.5 * cell, cell, rows: 3, cols: 3, values: &SLICES[c], paint: KERNEL };
        let partial = Grid { x: 380.0, y: mid - cell, cell, rows: 2, cols: 2, values: &partials[c], paint: PARTIAL };
        channel.draw(&mut svg);
        slice.draw(&mut svg);
        partial.draw(&mut svg);
        svg.text(20.0, mid + 5.0, LABEL.start().bold(), &format!("c = {c}"));
        svg.star((channel.right() + slice.x) / 2.0, mid);
        svg.text((slice.right() + partial.x) / 2.0, mid + 8.0, SYMBOL, "=");
        // An arrow from the partial map to the edge of the Σ circle.
        let (x0, y0) = (partial.right() + 6.0, mid);
        let length = ((sum_x - x0).powi(2) + (sum_y - y0).powi(2)).sqrt();
        let stop = (radius + 4.0) / length;
        svg.arrow(x0, y0, sum_x - (sum_x - x0) * stop, sum_y - (sum_y - y0) * stop, INK);
    }
    svg.text(90.0 + 2.0 * cell, 80.0, LABEL, "input channel");
    svg.text(250.0 + 1.5 * cell, 80.0, LABEL, "kernel slice");
    svg.text(380.0 + cell, 80.0, LABEL, "partial map");

    svg.circle(sum_x, sum_y, radius, OPERATION);
    svg.text(sum_x, sum_y + 8.0, SYMBOL, "Σ");
    let out = Grid { x: 620.0, y: sum_y - cell, cell, rows: 2, cols: 2, values: &output, paint: OUTPUT };
    svg.arrow(sum_x + radius + 4.0, sum_y, out.x - 6.0, sum_y, INK);
    svg.text((sum_x + out.x) / 2.0, sum_y - 10.0, LABEL, &format!("+ b (b = {BIAS})"));
    out.draw(&mut svg);
    svg.outline(out.x, out.y, 2.0 * cell, 2.0 * cell, OUTPUT.stroke, 3.0);
    svg.text(out.center_x(), out.bottom() + 22.0, LABEL, "one output map");

    many_kernels(&mut svg, 520.0);
    svg
}

/// Partial maps: output-coloured, but only a step towards the output.
const PARTIAL: Paint = Paint { fill: "#e6f6f0", stroke: "#009e73" };

/// The bottom strip: n kernels (weight (n, C_in, k, k)) give n output maps.
fn many_kernels(svg: &mut Svg, y: f32) {
    svg.line(20.0, y - 20.0, 700.0, y - 20.0, "#cccccc", 1.0);
    svg.text(20.0, y, NOTE.color(INK).bold(), "n kernels → n output maps: weight (C_out, C_in, k, k) = (n, 3, 3, 3)");
    for (x, name) in [(40.0, "1"), (240.0, "2"), (510.0, "n")] {
        // A kernel of 3 slices, drawn as a stack.
        for s in (0..3).rev() {
            svg.rect(x + s as f32 * 6.0, y + 22.0 + s as f32 * 6.0, 30.0, 30.0, KERNEL);
        }
        svg.arrow(x + 50.0, y + 43.0, x + 100.0, y + 43.0, INK);
        svg.rect(x + 108.0, y + 28.0, 30.0, 30.0, OUTPUT);
        svg.text(x + 18.0, y + 82.0, LABEL, &format!("kernel {name}"));
        svg.text(x + 123.0, y + 82.0, LABEL, &format!("map {name}"));
    }
    svg.text(445.0, y + 48.0, SYMBOL, "⋯");
}
