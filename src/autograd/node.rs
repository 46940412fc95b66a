//! What the tape holds: a [`Node`] per recorded op, with the op's [`Backward`] and one edge
//! per input.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::tensor::{SharedArray, Tensor};

/// The backward half of an op: given the gradient of the loss with respect to the op's
/// output, return the gradient with respect to each input.
///
/// PyTorch: the `backward` of a `torch.autograd.Function` (and the generated
/// `XxxBackward0` nodes). The struct implementing it holds what the op saved in its forward
/// pass, as named fields; saved arrays are [`SharedArray`]s, so saving is a reference-count
/// increment, never a copy.
///
/// `needs_input_grad[i]` says whether input `i` wants a gradient (tinygrad's
/// `needs_input_grad`): skip the work for the others and return `None` there. A returned
/// gradient may have the op's (broadcast) output shape; the engine sums it back to the
/// input's shape.
///
/// For `y = f(x₁, …, xₙ)` and a loss `L`, `backward` receives `∂L/∂y` and returns
/// `∂L/∂xᵢ = ∂L/∂y · ∂y/∂xᵢ` (the vector–Jacobian product) for each input. A full example
/// is on [`record`]; here, the product `y = a·b`:
///
/// ```
/// use tapegrad::autograd::{record, Backward};
/// use tapegrad::{SharedArray, Tensor};
///
/// struct MyMulBackward { a: SharedArray, b: SharedArray } // saved: each operand
/// impl Backward for MyMulBackward {
///     fn name(&self) -> &'static str { "MyMulBackward" }
///     fn backward(&self, g: &SharedArray, needs: &[bool]) -> Vec<Option<SharedArray>> {
///         vec![needs[0].then(|| (g * &self.b).into_shared()), // ∂y/∂a = b
///              needs[1].then(|| (g * &self.a).into_shared())] // ∂y/∂b = a
///     }
/// }
/// let a = Tensor::scalar(3.0).requires_grad_(true);
/// let b = Tensor::scalar(5.0); // needs no gradient: needs[1] is false
/// let y = record(&a.data() * &b.data(), &[&a, &b], MyMulBackward { a: a.data(), b: b.data() });
/// y.backward();
/// assert_eq!((y.grad_fn(), a.grad().unwrap().item()), (Some("MyMulBackward"), 5.0));
/// ```
pub trait Backward: Send + Sync {
    /// The name PyTorch shows as `grad_fn`, e.g. `"AddBackward0"` (PyTorch:
    /// `tensor.grad_fn.name()`). What [`Tensor::grad_fn`](crate::Tensor::grad_fn) returns;
    /// example on [`Backward`].
    fn name(&self) -> &'static str;

    /// The input gradients `∂L/∂xᵢ = ∂L/∂y · ∂y/∂xᵢ` given `grad_output = ∂L/∂y`: one entry
    /// per input of the op, in the order the op was recorded with, `None` where
    /// `needs_input_grad[i]` is false. PyTorch: `torch.autograd.Function.backward(ctx,
    /// grad_output)`. Example on [`Backward`].
    fn backward(&self, grad_output: &SharedArray, needs_input_grad: &[bool]) -> Vec<Option<SharedArray>>;
}

/// A tensor's autograd state, shared between the tensor and the edges that point at it.
pub(crate) struct AutogradMeta {
    /// `requires_grad` of a leaf; always true for a tensor that has a `grad_fn`.
    pub requires_grad: AtomicBool,
    /// Set by `retain_grad()`: a non-leaf keeps its gradient in `grad` too.
    pub retains_grad: AtomicBool,
    /// The accumulated gradient (`.grad`), a tensor of its own like PyTorch's.
    pub grad: Mutex<Option<Tensor>>,
    /// The node that produced this tensor; `None` for a leaf.
    pub grad_fn: Option<Arc<Node>>,
}

impl AutogradMeta {
    pub fn leaf(requires_grad: bool) -> Self {
        AutogradMeta {
            requires_grad: AtomicBool::new(requires_grad),
            retains_grad: AtomicBool::new(false),
            grad: Mutex::new(None),
            grad_fn: None,
        }
    }

    pub fn requires_grad(&self) -> bool {
        self.grad_fn.is_some() || self.requires_grad.load(Ordering::Relaxed)
    }

    /// `.grad += grad`, creating `.grad` on the first contribution.
    pub fn accumulate_grad(&self, grad: &SharedArray) {
        let mut slot = self.grad.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_ref() {
            None => *slot = Some(Tensor::from_shared(grad.clone())),
            Some(existing) => existing.with_data_mut(|d| *d += grad),
        }
    }
}

/// Where a gradient goes: the input's autograd state and the input's shape (so the engine
/// can sum a broadcast gradient back to it).
pub(crate) struct Edge {
    pub meta: Arc<AutogradMeta>,
    pub shape: Vec<usize>,
}

/// One recorded op on the tape.
pub struct Node {
    /// Position on the tape: larger means recorded later. Backward replays in decreasing order.
    pub(crate) sequence_nr: u64,
    pub(crate) op: Box<dyn Backward>,
    /// One entry per input; `None` for an input that does not require grad.
    pub(crate) inputs: Vec<Option<Edge>>,
}

impl Node {
    /// The op's PyTorch-style name, e.g. `"MulBackward0"`.
    pub fn name(&self) -> &'static str {
        self.op.name()
    }
}

static NEXT_SEQUENCE_NR: AtomicU64 = AtomicU64::new(0);

/// Wraps `output` in a tensor and, when grad mode is on and any input requires grad,
/// records the op on the tape so that `backward()` can call `op` later.
///
/// This is how every differentiable op in the crate is built, and how a user writes one of
/// their own (PyTorch: a custom `torch.autograd.Function`).
///
/// ```
/// use tapegrad::autograd::{record, Backward};
/// use tapegrad::{SharedArray, Tensor};
///
/// /// y = 3x, so dy/dx = 3.
/// struct TripleBackward;
/// impl Backward for TripleBackward {
///     fn name(&self) -> &'static str { "TripleBackward" }
///     fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
///         vec![Some(grad.mapv(|g| 3.0 * g).into_shared())]
///     }
/// }
///
/// let x = Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap().requires_grad_(true);
/// let y = record(x.data().mapv(|v| 3.0 * v), &[&x], TripleBackward);
/// y.sum().backward();
/// assert_eq!(x.grad().unwrap().to_vec(), vec![3.0, 3.0]);
/// ```
pub fn record(output: impl Into<SharedArray>, inputs: &[&Tensor], op: impl Backward + 'static) -> Tensor {
    let output = output.into();
    if !super::is_grad_enabled() || !inputs.iter().any(|t| t.requires_grad()) {
        return Tensor::from_shared(output);
    }
    let edges = inputs
        .iter()
        .map(|t| t.requires_grad().then(|| Edge { meta: t.meta().clone(), shape: t.shape().to_vec() }))
        .collect();
    let node = Node { sequence_nr: NEXT_SEQUENCE_NR.fetch_add(1, Ordering::Relaxed), op: Box::new(op), inputs: edges };
    Tensor::from_node(output, Arc::new(node))
}

/// Dropping a long chain recursively (node → edge → meta → node → ...) would overflow the
/// stack; unlink it iteratively instead, keeping only nodes nobody else still holds.
impl Drop for Node {
    fn drop(&mut self) {
        let mut orphans: Vec<Arc<Node>> = Vec::new();
        take_unshared_parents(&mut self.inputs, &mut orphans);
        while let Some(node) = orphans.pop() {
            if let Ok(mut node) = Arc::try_unwrap(node) {
                take_unshared_parents(&mut node.inputs, &mut orphans);
                // `node` drops here with no inputs left, so its own Drop does no recursion.
            }
        }
    }
}

fn take_unshared_parents(inputs: &mut Vec<Option<Edge>>, orphans: &mut Vec<Arc<Node>>) {
    for edge in inputs.drain(..).flatten() {
        if let Ok(meta) = Arc::try_unwrap(edge.meta)
            && let Some(grad_fn) = meta.grad_fn
        {
            orphans.push(grad_fn);
        }
    }
}
