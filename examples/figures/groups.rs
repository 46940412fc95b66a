//! groups.svg: which input channels each output channel reads, for groups = 1, 2 and
//! C_in (depthwise), with C_in = C_out = 4.

use tapegrad::Tensor;
use tapegrad::nn::functional as F;

use crate::svg::{INPUT, LABEL, NOTE, OUTPUT, Svg};

const C: usize = 4;
/// One colour per group (Okabe–Ito blue, vermillion, green, purple).
const GROUP_COLORS: [&str; C] = ["#0072b2", "#d55e00", "#009e73", "#b0508f"];

/// `connected[i][o]`: does output channel `o` depend on input channel `i`? Found with
/// tapegrad: a 1×1 convolution with all-ones weights of an input that is 1 in channel `i`
/// only, and 0 elsewhere.
fn connections(groups: usize) -> [[bool; C]; C] {
    let weight = Tensor::ones(&[C, C / groups, 1, 1]);
    let mut connected = [[false; C]; C];
    for (i, row) in connected.iter_mut().enumerate() {
        let mut one_hot = vec![0.0; C];
        one_hot[i] = 1.0;
        let x = Tensor::from_vec(one_hot, &[1, C, 1, 1]).expect("C channels of 1×1");
        let y = F::conv2d(&x, &weight, None, 1, 0, 1, groups as i64).to_vec();
        for (o, value) in y.into_iter().enumerate() {
            row[o] = value != 0.0;
        }
    }
    connected
}

pub fn figure() -> Svg {
    let mut svg = Svg::new(790.0, 420.0);
    svg.title("Groups: which input channels each output channel reads (C_in = C_out = 4)");
    svg.text(20.0, 54.0, NOTE, "weight shape (C_out, C_in / groups, k, k); every line is one k × k kernel slice.");

    let panels = [(1, "groups = 1"), (2, "groups = 2"), (C, "groups = C_in (depthwise)")];
    for (p, (groups, name)) in panels.into_iter().enumerate() {
        let left = 30.0 + p as f32 * 255.0;
        let (x_in, x_out) = (left + 50.0, left + 180.0);
        let y = |i: usize| 140.0 + i as f32 * 52.0;
        svg.text(left + 115.0, 84.0, LABEL.bold(), name);
        svg.text(x_in, 106.0, LABEL, "C_in");
        svg.text(x_out, 106.0, LABEL, "C_out");

        let connected = connections(groups);
        for (i, row) in connected.iter().enumerate() {
            for (o, &linked) in row.iter().enumerate() {
                if linked {
                    let group = o / (C / groups);
                    let color = if groups == 1 { "#555555" } else { GROUP_COLORS[group] };
                    svg.line(x_in + 16.0, y(i), x_out - 16.0, y(o), color, 2.0);
                }
            }
        }
        if groups == 2 {
            // Each group is a block: its inputs feed its outputs only.
            for (g, color) in GROUP_COLORS.into_iter().enumerate().take(groups) {
                let (first, last) = (y(g * C / groups), y((g + 1) * C / groups - 1));
                svg.dashed_outline(x_in - 24.0, first - 22.0, x_out - x_in + 48.0, last - first + 44.0, color);
            }
        }
        for i in 0..C {
            svg.circle(x_in, y(i), 15.0, INPUT);
            svg.text(x_in, y(i) + 5.0, LABEL, &i.to_string());
            svg.circle(x_out, y(i), 15.0, OUTPUT);
            svg.text(x_out, y(i) + 5.0, LABEL, &i.to_string());
        }
        let lines = connected.iter().flatten().filter(|&&l| l).count();
        svg.text(left + 115.0, y(C - 1) + 50.0, LABEL, &format!("weight ({C}, {}, k, k)", C / groups));
        svg.text(left + 115.0, y(C - 1) + 72.0, LABEL, &format!("{lines} kernel slices"));
        if p < 2 {
            svg.line(left + 245.0, 80.0, left + 245.0, 400.0, "#cccccc", 1.0);
        }
    }
    svg
}
