//! A thread-safe breaker for Rust callers and the Python binding: a short lock around
//! the state machine, never held while the protected call runs.

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::breaker::{Breaker, Outcome, Permit, Rejected, State, Stats, Transition};
use crate::clock::Clock;
use crate::config::{Config, ConfigError};

/// Why [`SyncBreaker::call`] did not return the call's value.
#[derive(Debug, PartialEq, Eq)]
pub enum CallError<E> {
    /// The breaker refused the call; it did not run.
    Rejected(Rejected),
    /// The call ran and failed with this error.
    Failed(E),
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Rejected(rejected) => rejected.fmt(f),
            CallError::Failed(error) => error.fmt(f),
        }
    }
}

/// `?` works in functions returning `Box<dyn Error>`; the call's own error is the
/// `source()` of [`CallError::Failed`].
impl<E: std::error::Error + 'static> std::error::Error for CallError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CallError::Rejected(rejected) => Some(rejected),
            CallError::Failed(error) => Some(error),
        }
    }
}

/// A [`Breaker`] behind a mutex, with its own clock.
#[derive(Debug)]
pub struct SyncBreaker<C> {
    inner: Mutex<Breaker>,
    clock: C,
}

impl<C: Clock> SyncBreaker<C> {
    /// A closed breaker reading `clock`.
    pub fn new(config: Config, clock: C) -> Result<Self, ConfigError> {
        Ok(SyncBreaker {
            inner: Mutex::new(Breaker::new(config)?),
            clock,
        })
    }

    /// Wraps an existing breaker (for example one restored from a snapshot).
    pub fn from_breaker(breaker: Breaker, clock: C) -> Self {
        SyncBreaker {
            inner: Mutex::new(breaker),
            clock,
        }
    }

    /// The clock this breaker reads.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    fn lock(&self) -> MutexGuard<'_, Breaker> {
        // The core never panics while locked; a poisoned lock still holds a valid breaker.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// [`Breaker::try_acquire`] at the clock's now.
    pub fn try_acquire(&self) -> Result<Permit, Rejected> {
        let now = self.clock.now();
        self.lock().try_acquire(now)
    }

    /// [`Breaker::record`] at the clock's now.
    pub fn record(&self, permit: Permit, outcome: Outcome) -> Option<Transition> {
        let now = self.clock.now();
        self.lock().record(permit, outcome, now)
    }

    /// Runs `f` under the breaker: `Ok` is a success, `Err` a failure. The lock is
    /// released while `f` runs; if `f` panics the permit is handed back as cancelled.
    pub fn call<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, CallError<E>> {
        struct Guard<'a, C: Clock> {
            breaker: &'a SyncBreaker<C>,
            permit: Option<Permit>,
        }
        impl<C: Clock> Drop for Guard<'_, C> {
            fn drop(&mut self) {
                if let Some(permit) = self.permit.take() {
                    self.breaker.record(permit, Outcome::Cancelled);
                }
            }
        }
        let permit = self.try_acquire().map_err(CallError::Rejected)?;
        let mut guard = Guard {
            breaker: self,
            permit: Some(permit),
        };
        let result = f();
        let permit = guard.permit.take().expect("taken once");
        match result {
            Ok(value) => {
                self.record(permit, Outcome::Success);
                Ok(value)
            }
            Err(error) => {
                self.record(permit, Outcome::Failure);
                Err(CallError::Failed(error))
            }
        }
    }

    /// Runs `f` with the locked breaker and the clock's now: for stats and manual control.
    pub fn with<R>(&self, f: impl FnOnce(&mut Breaker, u64) -> R) -> R {
        let now = self.clock.now();
        f(&mut self.lock(), now)
    }

    /// The effective state now.
    pub fn state(&self) -> State {
        self.with(|b, now| b.state(now))
    }

    /// The stats now.
    pub fn stats(&self) -> Stats {
        self.with(|b, now| b.stats(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::config::Threshold;

    #[test]
    fn call_counts_and_rejects() {
        let clock = ManualClock::new(0);
        let breaker = SyncBreaker::new(
            Config {
                failure_threshold: Threshold::Count(1),
                ..Config::default()
            },
            &clock,
        )
        .unwrap();
        assert_eq!(breaker.call(|| Ok::<_, ()>(1)), Ok(1));
        assert_eq!(
            breaker.call(|| Err::<(), _>("boom")),
            Err(CallError::Failed("boom"))
        );
        assert!(
            matches!(breaker.call(|| Ok::<_, ()>(1)), Err(CallError::Rejected(r)) if r.state == State::Open)
        );
        let stats = breaker.stats();
        assert_eq!((stats.successes, stats.failures, stats.rejected), (1, 1, 1));
    }

    #[test]
    fn call_errors_display_and_chain() {
        let clock = ManualClock::new(0);
        let config = Config {
            failure_threshold: Threshold::Count(1),
            ..Config::default()
        };
        let breaker = SyncBreaker::new(config, &clock).unwrap();
        let failed = breaker
            .call(|| Err::<(), _>(std::io::Error::other("upstream down")))
            .unwrap_err();
        assert_eq!(failed.to_string(), "upstream down");
        let boxed: Box<dyn std::error::Error> = Box::new(failed);
        assert_eq!(boxed.source().unwrap().to_string(), "upstream down");
        let refused = breaker.call(|| Ok::<_, std::io::Error>(1)).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "the circuit is OPEN: retry after 60000 ms"
        );
    }

    #[test]
    fn a_panicking_call_hands_its_trial_back() {
        let clock = ManualClock::new(0);
        let config = Config {
            failure_threshold: Threshold::Count(1),
            open_duration: 10,
            ..Config::default()
        };
        let breaker = SyncBreaker::new(config, &clock).unwrap();
        let _ = breaker.call(|| Err::<(), _>(()));
        clock.advance(10);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = breaker.call(|| -> Result<(), ()> { panic!("user code") });
        }));
        assert!(panicked.is_err());
        assert_eq!(breaker.state(), State::HalfOpen);
        assert!(
            breaker.try_acquire().is_ok(),
            "the trial slot was handed back"
        );
    }
}
