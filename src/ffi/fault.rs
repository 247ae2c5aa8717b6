//! Fault injection for tests: makes the next C ABI entry point or uniffi
//! method called on this thread panic *inside* its body, to prove that no
//! panic crosses the boundary (the C functions return
//! `AURORA_STATUS_PANIC` / NULL, uniffi raises its panic exception).
//!
//! Compiled only in this crate's unit tests or with the opt-in feature
//! `fault-injection`; in every other build [`point`] is an empty inline
//! function and there is no way to arm it.

#[cfg(any(test, feature = "fault-injection"))]
mod armed {
    use std::cell::Cell;

    thread_local! {
        static INJECT: Cell<bool> = const { Cell::new(false) };
    }

    /// Arms the hook: the next fault point reached on this thread panics.
    pub fn inject_panic() {
        INJECT.with(|p| p.set(true));
    }

    /// Disarms the hook without panicking (returns whether it was armed).
    pub fn disarm() -> bool {
        INJECT.with(|p| p.replace(false))
    }

    /// A fault point: panics when the hook is armed on this thread.
    #[inline]
    pub fn point() {
        if INJECT.try_with(|p| p.replace(false)).unwrap_or(false) {
            panic!("injected test panic");
        }
    }
}

#[cfg(any(test, feature = "fault-injection"))]
pub use armed::{disarm, inject_panic, point};

/// A fault point (a no-op: fault injection is not compiled in).
#[cfg(not(any(test, feature = "fault-injection")))]
#[inline(always)]
pub fn point() {}
