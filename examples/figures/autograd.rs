//! autograd-graph.dot: the autograd graph of a small CNN's loss, the network of
//! `examples/autograd_graph.rs`, for Graphviz to lay out (`dot -Tsvg`).

use tapegrad::Tensor;
use tapegrad::nn::functional as F;
use tapegrad::nn::{Conv2d, Linear, Module};

/// The DOT text of `loss.to_dot()`, made reproducible and given a title.
pub fn small_cnn_dot() -> String {
    // The same network, data and seed as examples/autograd_graph.rs.
    tapegrad::manual_seed(0);
    let conv = Conv2d::new(1, 4, 3).expect("a valid configuration");
    let fc = Linear::new(4 * 3 * 3, 10);
    let images = Tensor::randn(&[2, 1, 8, 8]);
    let labels = Tensor::from_vec(vec![3.0, 7.0], &[2]).expect("two labels");
    let x = F::max_pool2d(&conv.forward(&images).relu(), 2, None, 0, 1, false);
    let logits = fc.forward(&x.flatten(1, -1));
    let loss = F::cross_entropy(&logits, &labels);

    let mut dot = String::new();
    let mut leaves: Vec<String> = Vec::new();
    for (n, line) in loss.to_dot().lines().enumerate() {
        dot.push_str(&renumber_leaves(line, &mut leaves));
        dot.push('\n');
        if n == 0 {
            // After `digraph autograd {`: a title as in the other figures, and edge labels
            // (the shapes) in the same font as the title.
            dot.push_str("  label=\"Autograd graph of a CNN's loss\\nblue: parameters, green: the loss\";\n");
            dot.push_str("  labelloc=t; fontname=\"sans-serif\"; fontsize=16;\n");
            dot.push_str("  edge [fontname=\"sans-serif\", fontsize=12];\n");
        }
    }
    dot
}

/// Leaves are named `l<address in memory>`, which changes from run to run; renames them
/// `l0`, `l1`, ... in order of appearance so that the file only changes when the graph does.
/// A leaf's name is always the first word of its line: `l<id> [...]` or `l<id> -> n<k>;`.
fn renumber_leaves(line: &str, leaves: &mut Vec<String>) -> String {
    let trimmed = line.trim_start();
    let Some(name) = trimmed.split(' ').next().filter(|w| w.starts_with('l') && w[1..].parse::<u64>().is_ok()) else {
        return line.to_string();
    };
    let index = leaves.iter().position(|l| l == name).unwrap_or_else(|| {
        leaves.push(name.to_string());
        leaves.len() - 1
    });
    format!("  l{index}{}", &trimmed[name.len()..])
}
