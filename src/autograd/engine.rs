//! The backward sweep: collect the graph, then replay the tape in decreasing sequence order.

use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::node::{AutogradMeta, Node};
use crate::ops::broadcast::sum_to_shape;
use crate::tensor::SharedArray;

/// Back-propagates `grad` (the gradient of the loss with respect to the tensor whose
/// autograd state is `root`) to every leaf that requires grad.
///
/// 1. Collect the nodes reachable from the root (an explicit stack, no recursion).
/// 2. Sort them by sequence number, latest first: an op recorded later can only consume
///    tensors made earlier, so every node sees its complete output gradient before it runs.
/// 3. For each node: call its `Backward`, sum each input gradient back to the input's
///    shape, and `+=` it into the input's pending gradient (a non-leaf) or `.grad` (a leaf).
pub(crate) fn run_backward(root: &AutogradMeta, grad: SharedArray) {
    let Some(root_fn) = &root.grad_fn else {
        // A leaf: backward of a leaf just accumulates the seed into its own .grad.
        root.accumulate_grad(&grad);
        return;
    };
    if root.retains_grad.load(Ordering::Relaxed) {
        root.accumulate_grad(&grad);
    }

    let tape = collect_nodes(root_fn);
    let mut pending: HashMap<u64, SharedArray> = HashMap::new();
    pending.insert(root_fn.sequence_nr, grad);

    for node in tape {
        // A node none of whose consumers produced a gradient contributes nothing.
        let Some(grad_output) = pending.remove(&node.sequence_nr) else {
            continue;
        };
        let needs_input_grad: Vec<bool> = node.inputs.iter().map(Option::is_some).collect();
        let input_grads = node.op.backward(&grad_output, &needs_input_grad);
        assert_eq!(
            input_grads.len(),
            node.inputs.len(),
            "{}: backward returned {} gradients for {} inputs",
            node.name(),
            input_grads.len(),
            node.inputs.len()
        );
        crate::tensor::reuse::recycle(grad_output);
        for (edge, input_grad) in node.inputs.iter().zip(input_grads) {
            let (Some(edge), Some(input_grad)) = (edge, input_grad) else {
                continue;
            };
            // The one place where a broadcast gradient is reduced to its input's shape.
            let input_grad = sum_to_shape(input_grad, &edge.shape);
            let meta = &edge.meta;
            match &meta.grad_fn {
                None => meta.accumulate_grad(&input_grad),
                Some(producer) => {
                    if meta.retains_grad.load(Ordering::Relaxed) {
                        meta.accumulate_grad(&input_grad);
                    }
                    match pending.get_mut(&producer.sequence_nr) {
                        Some(sum) => {
                            *sum += &input_grad;
                            crate::tensor::reuse::recycle(input_grad);
                        }
                        None => {
                            pending.insert(producer.sequence_nr, input_grad);
                        }
                    }
                }
            }
        }
    }
}

/// Every node reachable from `root`, latest first (decreasing sequence number).
fn collect_nodes(root: &Arc<Node>) -> Vec<Arc<Node>> {
    let mut seen: HashSet<u64> = HashSet::new();
    let mut stack = vec![root.clone()];
    let mut nodes = Vec::new();
    seen.insert(root.sequence_nr);
    while let Some(node) = stack.pop() {
        for edge in node.inputs.iter().flatten() {
            if let Some(producer) = &edge.meta.grad_fn
                && seen.insert(producer.sequence_nr)
            {
                stack.push(producer.clone());
            }
        }
        nodes.push(node);
    }
    nodes.sort_unstable_by_key(|n| std::cmp::Reverse(n.sequence_nr));
    nodes
}
