//! The autograd engine: a tape of recorded ops, replayed backwards.
//!
//! PyTorch's model, made small enough to read in one sitting:
//!
//! * Every op that sees an input requiring a gradient (while grad mode is on) records a
//!   node: the op's [`Backward`] (the saved tensors and the derivative), one edge per
//!   input, and a sequence number from one global counter (PyTorch's `sequence_nr`).
//! * [`Tensor::backward`](crate::Tensor::backward) collects the nodes reachable from the
//!   root and replays them in decreasing sequence order: the tape, played backwards. The
//!   sweep is a loop, not a recursion, so a chain of 100,000 ops does not overflow the stack.
//! * Gradients flowing into a leaf that requires grad are accumulated (`+=`) into its
//!   `.grad()`; that `+=` is what makes a reused tensor (`b = a + a`) come out right.
//! * An op returns its input gradients in the shape of its output when it broadcast; the
//!   engine sums them back to each input's shape in exactly one place ([`sum_to_shape`]).
//!
//! [`sum_to_shape`]: crate::ops::broadcast::sum_to_shape

mod dot;
mod engine;
mod grad_mode;
mod gradcheck;
mod node;

pub use grad_mode::{NoGradGuard, is_grad_enabled, no_grad, set_grad_enabled};
pub use gradcheck::{GradcheckError, GradcheckOptions, gradcheck, gradcheck_with};
pub use node::{Backward, record};

pub(crate) use engine::run_backward;
pub(crate) use node::{AutogradMeta, Node};
