//! Helpers shared by the robustness tests (fuzz_loaders, fuzz_configs, fuzz_ops): running a
//! closure that may panic without the default hook's noise, and reading the panic message.
//!
//! Each test binary compiles this module separately and uses part of it.
#![allow(dead_code)]

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Set while this thread runs a closure whose panics are expected and classified.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Installs (once per process) a panic hook that stays silent on a thread running
/// [`catch_quietly`] and defers to the previous hook everywhere else, so a failing test
/// still prints its message. The hook is never removed: the previous one is restored in
/// effect for every thread outside `catch_quietly`.
fn install_quiet_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Runs `f`, returning its value or the panic's message. The default panic output is
/// suppressed on this thread while `f` runs (a panic on a rayon worker is re-raised here and
/// classified the same way; its worker may still print it).
pub fn catch_quietly<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    install_quiet_hook();
    let was_quiet = QUIET.with(|q| q.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was_quiet));
    result.map_err(|payload| panic_message(payload.as_ref()))
}

/// The text of a panic payload (`&str` or `String`; anything else is described as such).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<a panic payload that is not a string>".to_string()
    }
}

/// SplitMix64: the tests' own generator, independent of the crate's.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// `n` values uniform in `[-1, 1)`.
    pub fn values(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| (self.next_u64() >> 40) as f32 / (1u32 << 23) as f32 - 1.0).collect()
    }
}
