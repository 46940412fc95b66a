//! Grad mode: whether ops record themselves on the tape. Thread-local, like PyTorch's.

use std::cell::Cell;

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops on this thread record a graph. PyTorch: `torch.is_grad_enabled()`.
///
/// ```
/// assert!(tapegrad::is_grad_enabled()); // on by default
/// let _guard = tapegrad::no_grad();
/// assert!(!tapegrad::is_grad_enabled());
/// ```
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(Cell::get)
}

/// An RAII guard that restores the previous grad mode when dropped. PyTorch: the context
/// manager object `torch.no_grad()` / `torch.set_grad_enabled(mode)` (leaving the `with`
/// block is dropping the guard).
///
/// Returned by [`no_grad`] and [`set_grad_enabled`]; guards nest.
///
/// ```
/// use tapegrad::{is_grad_enabled, no_grad, set_grad_enabled};
/// let outer = no_grad();
/// {
///     let _inner = set_grad_enabled(true);
///     assert!(is_grad_enabled());
/// } // _inner dropped: back to the outer guard's mode
/// assert!(!is_grad_enabled());
/// drop(outer);
/// assert!(is_grad_enabled());
/// ```
#[must_use = "grad mode is restored as soon as the guard is dropped; bind it with `let _guard = ...`"]
#[derive(Debug)]
pub struct NoGradGuard {
    previous: bool,
    /// Grad mode is per thread: the guard must be dropped on the thread that made it.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.previous));
    }
}

/// Turns gradient recording off on this thread until the guard is dropped.
/// PyTorch: `with torch.no_grad():`.
///
/// ```
/// use tapegrad::Tensor;
/// let w = Tensor::ones(&[2]).requires_grad_(true);
/// {
///     let _guard = tapegrad::no_grad();
///     let y = &w * 2.0;
///     assert!(!y.requires_grad());
/// }
/// assert!((&w * 2.0).requires_grad());
/// ```
pub fn no_grad() -> NoGradGuard {
    set_grad_enabled(false)
}

/// Sets grad mode on this thread until the guard is dropped.
/// PyTorch: `torch.set_grad_enabled(mode)` used as a context manager.
///
/// ```
/// use tapegrad::Tensor;
/// let w = Tensor::ones(&[2]).requires_grad_(true);
/// let training = false;
/// let _guard = tapegrad::set_grad_enabled(training);
/// assert!(!(&w * 2.0).requires_grad()); // nothing recorded
/// ```
pub fn set_grad_enabled(enabled: bool) -> NoGradGuard {
    let previous = GRAD_ENABLED.with(|g| g.replace(enabled));
    NoGradGuard { previous, _not_send: std::marker::PhantomData }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_nest_and_restore() {
        assert!(is_grad_enabled());
        {
            let _a = no_grad();
            assert!(!is_grad_enabled());
            {
                let _b = set_grad_enabled(true);
                assert!(is_grad_enabled());
            }
            assert!(!is_grad_enabled());
        }
        assert!(is_grad_enabled());
    }

    #[test]
    fn grad_mode_is_per_thread() {
        let _guard = no_grad();
        let other = std::thread::spawn(is_grad_enabled).join().unwrap();
        assert!(other, "a new thread starts with grad mode on");
        assert!(!is_grad_enabled());
    }
}
