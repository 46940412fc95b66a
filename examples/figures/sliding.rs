//! sliding-stride1.svg and sliding-stride2.svg: a 3×3 kernel sliding over a 5×5 input.

use crate::grid::{Grid, conv, number};
use crate::svg::{FIRST, INK, INPUT, KERNEL, LABEL, NOTE, OUTPUT, SECOND, SYMBOL, Svg};

/// The 5×5 input and 3×3 kernel of the figures (the classic UFLDL example).
#[rustfmt::skip]
pub const INPUT_5X5: [f32; 25] = [
    1., 1., 1., 0., 0.,
    0., 1., 1., 1., 0.,
    0., 0., 1., 1., 1.,
    0., 0., 1., 1., 0.,
    0., 1., 1., 0., 0.,
];
#[rustfmt::skip]
pub const KERNEL_3X3: [f32; 9] = [
    1., 0., 1.,
    0., 1., 0.,
    1., 0., 1.,
];

/// The input, the kernel and the output, with the window at its first two positions.
pub fn sliding(stride: usize) -> Svg {
    let (h, k) = (5, 3);
    let (out, (h_out, w_out)) = conv(&INPUT_5X5, (h, h), &KERNEL_3X3, k, stride, 0);

    let mut svg = Svg::new(660.0, 410.0);
    svg.title(&format!("Stride s = {stride}: a {k}×{k} kernel slides over a {h}×{h} input"));
    svg.text(20.0, 54.0, NOTE, &format!("H_out = ⌊(H − k) / s⌋ + 1 = ⌊({h} − {k}) / {stride}⌋ + 1 = {h_out}"));

    let cell = 40.0;
    let input = Grid { x: 40.0, y: 110.0, cell, rows: h, cols: h, values: &INPUT_5X5, paint: INPUT };
    let mid = input.center_y();
    let kernel = Grid { x: 330.0, y: mid - 60.0, cell, rows: k, cols: k, values: &KERNEL_3X3, paint: KERNEL };
    let output = Grid {
        x: 520.0,
        y: mid - h_out as f32 * cell / 2.0,
        cell,
        rows: h_out,
        cols: w_out,
        values: &out,
        paint: OUTPUT,
    };
    input.draw(&mut svg);
    kernel.draw(&mut svg);
    output.draw(&mut svg);
    svg.star((input.right() + kernel.x) / 2.0, mid);
    svg.text((kernel.right() + output.x) / 2.0, mid + 8.0, SYMBOL, "=");
    svg.text(input.center_x(), input.bottom() + 24.0, LABEL, &format!("input  H × W = {h} × {h}"));
    svg.text(kernel.center_x(), kernel.bottom() + 24.0, LABEL, &format!("kernel  k × k = {k} × {k}"));
    svg.text(output.center_x(), output.bottom() + 24.0, LABEL, &format!("output  {h_out} × {w_out}"));

    // The window at (0, 0), then one step of `stride` columns to the right.
    input.window(&mut svg, (0, 0), (k, k), FIRST.stroke, 0.0);
    input.window(&mut svg, (0, stride), (k, k), SECOND.stroke, 5.0);
    output.mark(&mut svg, (0, 0), FIRST);
    output.mark(&mut svg, (0, 1), SECOND);
    let (x0, x1) = (input.x + 1.5 * cell, input.x + (1.5 + stride as f32) * cell);
    svg.curved_arrow((x0, input.y - 6.0), ((x0 + x1) / 2.0, input.y - 40.0), (x1, input.y - 8.0), INK);
    svg.text((x0 + x1) / 2.0, input.y - 32.0, LABEL.bold(), &format!("s = {stride}"));

    // The sums behind the two highlighted outputs, written out.
    let y = input.bottom() + 60.0;
    for (i, (col, paint, name)) in [(0, FIRST, "first"), (stride, SECOND, "second")].into_iter().enumerate() {
        let terms: Vec<String> = (0..k * k)
            .map(|t| format!("{}·{}", number(INPUT_5X5[(t / k) * h + col + t % k]), number(KERNEL_3X3[t])))
            .collect();
        let sum: f32 = (0..k * k).map(|t| INPUT_5X5[(t / k) * h + col + t % k] * KERNEL_3X3[t]).sum();
        assert_eq!(sum, out[i], "the written-out sum is what F::conv2d computed");
        let line = format!("{name} window → out[0, {i}] = {} = {}", terms.join(" + "), number(out[i]));
        svg.text(20.0, y + 24.0 * i as f32, NOTE.color(paint.stroke).bold(), &line);
    }
    svg
}
