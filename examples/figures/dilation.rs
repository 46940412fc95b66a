//! dilation.svg: the same 3×3 kernel with dilation 1 and 2. Dilation spreads the taps
//! `d` cells apart, so the kernel covers `d·(k − 1) + 1` cells per side with 9 weights.

use tapegrad::Tensor;
use tapegrad::nn::functional as F;

use crate::grid::Grid;
use crate::svg::{INK, INPUT, KERNEL, LABEL, NOTE, SYMBOL, Svg};

const K: usize = 3;
const NAMES: [&str; K * K] = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
/// The input grid drawn under each kernel, 7×7.
const SIDE: usize = 7;

/// Which kernel weight reads input cell (r, c) when the output at (0, 0) is computed, found
/// with tapegrad: a one-hot input at (r, c), convolved with weights 1..=9, gives the number
/// of the weight that touches it (0: no weight does).
fn taps(dilation: usize) -> Vec<Option<usize>> {
    let extent = dilation * (K - 1) + 1;
    let weights: Vec<f32> = (1..=K * K).map(|v| v as f32).collect();
    let weight = Tensor::from_vec(weights, &[1, 1, K, K]).expect("a 3×3 kernel");
    (0..extent * extent)
        .map(|cell| {
            let mut one_hot = vec![0.0; extent * extent];
            one_hot[cell] = 1.0;
            let x = Tensor::from_vec(one_hot, &[1, 1, extent, extent]).expect("extent × extent");
            let y = F::conv2d(&x, &weight, None, 1, 0, dilation, 1).to_vec();
            (y[0] > 0.0).then(|| y[0] as usize - 1)
        })
        .collect()
}

pub fn figure() -> Svg {
    let mut svg = Svg::new(760.0, 390.0);
    svg.title("Dilation: the same 3 × 3 kernel, taps spread d cells apart");
    svg.text(20.0, 54.0, NOTE, "Effective size d·(k − 1) + 1: 3 × 3 for d = 1, 5 × 5 for d = 2, still 9 weights.");

    let cell = 30.0;
    let top = 100.0;
    let kernel = Grid { x: 40.0, y: top + 2.0 * cell, cell, rows: K, cols: K, values: &[], paint: KERNEL };
    kernel.draw(&mut svg);
    letters(&mut svg, &kernel, &(0..K * K).map(Some).collect::<Vec<_>>(), K);
    svg.text(kernel.center_x(), kernel.bottom() + 24.0, LABEL, "kernel, k = 3");

    for (panel, dilation) in [1, 2].into_iter().enumerate() {
        let extent = dilation * (K - 1) + 1;
        let offset = (SIDE - extent) / 2;
        let grid =
            Grid { x: 230.0 + panel as f32 * 280.0, y: top, cell, rows: SIDE, cols: SIDE, values: &[], paint: INPUT };
        grid.draw(&mut svg);
        let taps = taps(dilation);
        let at = |r: usize, c: usize| (offset + r, offset + c);
        for (idx, tap) in taps.iter().enumerate() {
            if tap.is_some() {
                let cell_xy = at(idx / extent, idx % extent);
                grid.mark(&mut svg, cell_xy, KERNEL);
            }
        }
        let area = Grid { x: grid.x + offset as f32 * cell, y: grid.y + offset as f32 * cell, ..grid };
        letters(&mut svg, &area, &taps, extent);
        area.window(&mut svg, (0, 0), (extent, extent), KERNEL.stroke, -4.0);
        svg.text(grid.center_x(), grid.bottom() + 26.0, LABEL.bold(), &format!("d = {dilation}"));
        svg.text(grid.center_x(), grid.bottom() + 48.0, LABEL, &format!("effective size {extent} × {extent}"));
    }
    svg.text(185.0, top + 3.5 * cell + 8.0, SYMBOL, "→");
    svg.text(185.0, top + 3.5 * cell + 30.0, NOTE.color(INK).middle(), "on the input");
    svg
}

/// Writes the weight names a..i in the cells of `grid` (`side × side`) that hold a tap.
fn letters(svg: &mut Svg, grid: &Grid, taps: &[Option<usize>], side: usize) {
    for (idx, tap) in taps.iter().enumerate() {
        if let Some(t) = tap {
            let (r, c) = (idx / side, idx % side);
            let (x, y) = (grid.x + (c as f32 + 0.5) * grid.cell, grid.y + (r as f32 + 0.5) * grid.cell + 5.0);
            svg.text(x, y, LABEL.bold(), NAMES[*t]);
        }
    }
}
