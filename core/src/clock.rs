//! Clocks: the core never reads one; bindings and Rust callers pick one and pass `now`.

use core::sync::atomic::{AtomicU64, Ordering};

/// A source of monotonic instants in nanoseconds.
pub trait Clock {
    /// The current instant, in nanoseconds from an arbitrary origin; never decreases.
    fn now(&self) -> u64;
}

/// A clock that moves only when told to: tests run without sleeping.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicU64,
}

impl ManualClock {
    /// A clock reading `start` nanoseconds.
    pub fn new(start: u64) -> ManualClock {
        ManualClock {
            now: AtomicU64::new(start),
        }
    }

    /// Moves the clock forward by `nanos`.
    pub fn advance(&self, nanos: u64) {
        self.now.fetch_add(nanos, Ordering::AcqRel);
    }

    /// Sets the clock to `nanos`, which must not be earlier than the current reading
    /// (an earlier one is ignored; [`ManualClock::try_set`] reports it).
    pub fn set(&self, nanos: u64) {
        self.now.fetch_max(nanos, Ordering::AcqRel);
    }

    /// Sets the clock to `nanos`, or, if that is earlier than the current reading,
    /// leaves it and returns that reading: a clock never goes back.
    pub fn try_set(&self, nanos: u64) -> Result<(), u64> {
        let previous = self.now.fetch_max(nanos, Ordering::AcqRel);
        if nanos < previous {
            Err(previous)
        } else {
            Ok(())
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.now.load(Ordering::Acquire)
    }
}

/// The operating system's monotonic clock, counted from the clock's creation.
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug)]
pub struct MonotonicClock {
    origin: std::time::Instant,
}

#[cfg(feature = "std")]
impl MonotonicClock {
    /// A clock reading 0 now.
    pub fn new() -> MonotonicClock {
        MonotonicClock {
            origin: std::time::Instant::now(),
        }
    }
}

#[cfg(feature = "std")]
impl Default for MonotonicClock {
    fn default() -> Self {
        MonotonicClock::new()
    }
}

#[cfg(feature = "std")]
impl Clock for MonotonicClock {
    fn now(&self) -> u64 {
        // u64 nanoseconds last 584 years from the origin.
        self.origin.elapsed().as_nanos() as u64
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> u64 {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for alloc::sync::Arc<C> {
    fn now(&self) -> u64 {
        (**self).now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_forward() {
        let clock = ManualClock::new(10);
        clock.advance(5);
        assert_eq!(clock.now(), 15);
        clock.set(12);
        assert_eq!(clock.now(), 15);
        clock.set(100);
        assert_eq!(clock.now(), 100);
        assert_eq!(clock.try_set(99), Err(100));
        assert_eq!(clock.try_set(100), Ok(()));
        assert_eq!(clock.try_set(101), Ok(()));
        assert_eq!(clock.now(), 101);
    }

    #[cfg(feature = "std")]
    #[test]
    fn monotonic_clock_does_not_go_back() {
        let clock = MonotonicClock::new();
        let a = clock.now();
        assert!(clock.now() >= a);
    }
}
