//! The autograd graph as Graphviz DOT, like `torchviz.make_dot`: one box per recorded op
//! (its `grad_fn` name), one per leaf that requires grad (with its shape), and an arrow
//! for every edge the backward pass follows, labelled with the shape of what flows on it.

use std::collections::HashSet;
use std::fmt::Write;
use std::sync::Arc;

use super::node::{AutogradMeta, Node};
use crate::tensor::Tensor;

impl Tensor {
    /// The graph that `backward()` would walk from this tensor, as Graphviz DOT
    /// (render it with `dot -Tsvg`). PyTorch: `torchviz.make_dot(tensor)`.
    ///
    /// Ops are drawn as boxes named like PyTorch's `grad_fn` (`MulBackward0`), leaves that
    /// require grad as blue boxes with their shape; arrows point from an op to the op that
    /// consumed its output, as the forward pass ran. A tensor without a graph gives a
    /// single box.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let w = Tensor::ones(&[2, 3]).requires_grad_(true);
    /// let loss = (&w * 2.0).relu().sum();
    /// let dot = loss.to_dot();
    /// assert!(dot.starts_with("digraph"));
    /// assert!(dot.contains("MulBackward0") && dot.contains("ReluBackward0") && dot.contains("SumBackward0"));
    /// assert!(dot.contains("[2, 3]"));
    /// ```
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph autograd {\n  node [shape=box, fontname=\"monospace\"];\n");
        let meta = self.meta();
        let Some(root) = &meta.grad_fn else {
            let _ = writeln!(out, "  t [label=\"tensor {:?}\", style=filled, fillcolor=lightblue];\n}}", self.shape());
            return out;
        };
        let _ = writeln!(
            out,
            "  n{} [label=\"{}\\n{:?}\", style=filled, fillcolor=darkolivegreen1];",
            root.sequence_nr,
            root.name(),
            self.shape()
        );
        let mut seen: HashSet<u64> = HashSet::from([root.sequence_nr]);
        let mut leaves: HashSet<usize> = HashSet::new();
        let mut stack: Vec<Arc<Node>> = vec![root.clone()];
        while let Some(node) = stack.pop() {
            for edge in node.inputs.iter().flatten() {
                let target = format!("n{}", node.sequence_nr);
                match &edge.meta.grad_fn {
                    Some(producer) => {
                        if seen.insert(producer.sequence_nr) {
                            let _ = writeln!(out, "  n{} [label=\"{}\"];", producer.sequence_nr, producer.name());
                            stack.push(producer.clone());
                        }
                        let _ = writeln!(out, "  n{} -> {target} [label=\"{:?}\"];", producer.sequence_nr, edge.shape);
                    }
                    None => {
                        let id = leaf_id(&edge.meta);
                        if leaves.insert(id) {
                            let _ = writeln!(
                                out,
                                "  l{id} [label=\"leaf {:?}\", style=filled, fillcolor=lightblue];",
                                edge.shape
                            );
                        }
                        let _ = writeln!(out, "  l{id} -> {target};");
                    }
                }
            }
        }
        out.push_str("}\n");
        out
    }
}

/// A stable name for a leaf within one drawing: the address of its autograd state.
fn leaf_id(meta: &Arc<AutogradMeta>) -> usize {
    Arc::as_ptr(meta) as usize
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn every_op_and_leaf_appears_once_and_edges_follow_the_graph() {
        let a = Tensor::ones(&[3]).requires_grad_(true);
        let b = Tensor::ones(&[3]).requires_grad_(true);
        let c = &a * &b; // MulBackward0
        let d = &c + &a; // AddBackward0 (a used twice)
        let dot = d.sum().to_dot();
        assert_eq!(dot.matches("MulBackward0").count(), 1);
        assert_eq!(dot.matches("AddBackward0").count(), 1);
        assert_eq!(dot.matches("label=\"leaf [3]\"").count(), 2, "two distinct leaves");
        // a feeds both Mul and Add; b feeds Mul; Mul feeds Add; Add feeds Sum: 5 arrows.
        assert_eq!(dot.matches("->").count(), 5);
    }

    #[test]
    fn a_tensor_without_a_graph_is_a_single_box() {
        let dot = Tensor::zeros(&[2]).to_dot();
        assert_eq!(dot.matches("->").count(), 0);
        assert!(dot.contains("tensor [2]"));
    }
}
