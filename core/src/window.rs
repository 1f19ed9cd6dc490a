//! The windows of recent outcomes: O(1) per call, subtract-on-evict, fixed memory.

use alloc::vec;
use alloc::vec::Vec;

use crate::config::WindowKind;

/// What a window holds: calls, and how many of them failed or were slow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Counts {
    /// Calls counted.
    pub calls: u32,
    /// Calls that failed (slow calls included: they count as failures for the rules).
    pub failures: u32,
    /// Calls that were slow.
    pub slow: u32,
}

// Wrapping: what is subtracted was added before, so the totals stay exact below
// 2^32 calls in a window, and arithmetic never panics, whatever a binding passes.
impl Counts {
    fn add(&mut self, other: Counts) {
        self.calls = self.calls.wrapping_add(other.calls);
        self.failures = self.failures.wrapping_add(other.failures);
        self.slow = self.slow.wrapping_add(other.slow);
    }

    fn sub(&mut self, other: Counts) {
        self.calls = self.calls.wrapping_sub(other.calls);
        self.failures = self.failures.wrapping_sub(other.failures);
        self.slow = self.slow.wrapping_sub(other.slow);
    }

    fn one(failed: bool, slow: bool) -> Counts {
        Self::of(1, failed, slow)
    }

    /// `calls` outcomes alike.
    fn of(calls: u32, failed: bool, slow: bool) -> Counts {
        Counts {
            calls,
            failures: if failed { calls } else { 0 },
            slow: if slow { calls } else { 0 },
        }
    }

    /// `part / calls`, 0 for an empty window.
    pub fn rate(&self, part: u32) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            f64::from(part) / f64::from(self.calls)
        }
    }
}

const FAILED: u8 = 1;
const SLOW: u8 = 2;

/// A window of the last outcomes, by count or by time. Its storage is allocated on
/// the first outcome, so that idle breakers stay small.
#[derive(Clone, Debug)]
pub(crate) enum Window {
    Count {
        size: u32,
        ring: Vec<u8>,
        next: usize,
        len: usize,
        totals: Counts,
    },
    Time {
        buckets: u32,
        width: u64,
        head: u64,
        slots: Vec<(u64, Counts)>,
        totals: Counts,
    },
}

impl Window {
    pub(crate) fn new(kind: WindowKind) -> Window {
        match kind {
            WindowKind::Count { size } => Window::Count {
                size,
                ring: Vec::new(),
                next: 0,
                len: 0,
                totals: Counts::default(),
            },
            WindowKind::Time { duration, buckets } => Window::Time {
                buckets,
                width: duration / u64::from(buckets),
                head: 0,
                slots: Vec::new(),
                totals: Counts::default(),
            },
        }
    }

    /// Gives the window its storage (once).
    fn allocate(&mut self) {
        match self {
            Window::Count { size, ring, .. } if ring.is_empty() => *ring = vec![0; *size as usize],
            Window::Time { buckets, slots, .. } if slots.is_empty() => {
                *slots = vec![(0, Counts::default()); *buckets as usize];
            }
            _ => {}
        }
    }

    /// Adds `n` outcomes alike at `now`, evicting what fell out of the window; the
    /// same as adding them one by one.
    pub(crate) fn record_n(&mut self, now: u64, failed: bool, slow: bool, n: u32) {
        self.allocate();
        match self {
            Window::Count {
                ring,
                next,
                len,
                totals,
                ..
            } => {
                // Once the ring is full each outcome pushes one out: at most a ring's
                // worth of them matter.
                for _ in 0..(n as usize).min(ring.len()) {
                    if *len == ring.len() {
                        let old = ring[*next];
                        totals.sub(Counts::one(old & FAILED != 0, old & SLOW != 0));
                    } else {
                        *len += 1;
                    }
                    ring[*next] = if failed { FAILED } else { 0 } | if slow { SLOW } else { 0 };
                    *next = if *next + 1 == ring.len() {
                        0
                    } else {
                        *next + 1
                    };
                    totals.add(Counts::one(failed, slow));
                }
            }
            Window::Time {
                width,
                head,
                slots,
                totals,
                ..
            } => {
                let epoch = now / *width;
                if epoch > *head {
                    let n = slots.len() as u64;
                    // Evict every bucket between the last one written and this one; at most n.
                    let first = if epoch - *head >= n {
                        epoch - n + 1
                    } else {
                        *head + 1
                    };
                    for e in first..=epoch {
                        let slot = &mut slots[(e % n) as usize];
                        totals.sub(slot.1);
                        *slot = (e, Counts::default());
                    }
                    *head = epoch;
                }
                // A `now` older than the head (never, with a monotonic clock) lands in the head bucket.
                let buckets = slots.len() as u64;
                let slot = &mut slots[(*head % buckets) as usize];
                slot.1.add(Counts::of(n, failed, slow));
                totals.add(Counts::of(n, failed, slow));
            }
        }
    }

    /// The counts inside the window as seen at `now`, without changing anything.
    pub(crate) fn counts(&self, now: u64) -> Counts {
        match self {
            Window::Count { totals, .. } => *totals,
            Window::Time {
                width,
                head,
                slots,
                totals,
                ..
            } => {
                let epoch = now / *width;
                if epoch <= *head {
                    return *totals;
                }
                let n = slots.len() as u64;
                let mut live = Counts::default();
                for (e, c) in slots {
                    if *e + n > epoch && *e <= *head {
                        live.add(*c);
                    }
                }
                live
            }
        }
    }

    /// Until when the window, as seen at `now`, loses no outcome: outcomes leave a
    /// time window only at bucket boundaries, so until the next one. `u64::MAX` for a
    /// count window (outcomes leave only when new ones push them out).
    pub(crate) fn stable_until(&self, now: u64) -> u64 {
        match self {
            Window::Count { .. } => u64::MAX,
            Window::Time { width, .. } => (now / *width).saturating_add(1).saturating_mul(*width),
        }
    }

    /// Refills the window with runs of outcomes alike, oldest first, as `(flags, count)`
    /// (flags: 1 failed, 2 slow), all recorded at `now`: a fleet store's count window.
    pub(crate) fn load_runs(&mut self, runs: &[(u8, u32)], now: u64) {
        self.clear();
        for &(flags, n) in runs {
            self.record_n(now, flags & FAILED != 0, flags & SLOW != 0, n);
        }
    }

    /// Refills a time window with buckets by age (0: the bucket of `now`): a fleet
    /// store's time window. Ages beyond the window are dropped; a count window is
    /// left empty.
    pub(crate) fn load_buckets(&mut self, buckets: &[(u32, Counts)], now: u64) {
        self.clear();
        self.allocate();
        if let Window::Time {
            width,
            head,
            slots,
            totals,
            ..
        } = self
        {
            let epoch = now / *width;
            let n = slots.len() as u64;
            *head = epoch;
            for (i, slot) in slots.iter_mut().enumerate() {
                let back = (epoch % n + n - i as u64) % n;
                *slot = (epoch.saturating_sub(back), Counts::default());
            }
            for (age, c) in buckets {
                if u64::from(*age) >= n || u64::from(*age) > epoch {
                    continue;
                }
                let e = epoch - u64::from(*age);
                slots[(e % n) as usize].1.add(*c);
                totals.add(*c);
            }
        }
    }

    pub(crate) fn clear(&mut self) {
        match self {
            Window::Count {
                ring,
                next,
                len,
                totals,
                ..
            } => {
                ring.iter_mut().for_each(|b| *b = 0);
                *next = 0;
                *len = 0;
                *totals = Counts::default();
            }
            Window::Time { slots, totals, .. } => {
                slots.iter_mut().for_each(|s| s.1 = Counts::default());
                *totals = Counts::default();
            }
        }
    }

    /// The outcomes in the window, oldest first, for snapshots: (failed, slow) per call
    /// for a count window, (age in buckets, counts) for a time window.
    #[cfg(feature = "serde")]
    pub(crate) fn export(&self, now: u64) -> crate::snapshot::WindowState {
        use crate::snapshot::WindowState;
        match self {
            Window::Count {
                ring, next, len, ..
            } => {
                let size = ring.len().max(1);
                let start = (*next + size - *len) % size;
                WindowState::Count((0..*len).map(|i| ring[(start + i) % size]).collect())
            }
            Window::Time {
                width, head, slots, ..
            } => {
                let epoch = (now / *width).max(*head);
                let n = slots.len() as u64;
                let mut buckets: Vec<(u32, Counts)> = slots
                    .iter()
                    .filter(|(e, c)| c.calls > 0 && *e + n > epoch && *e <= *head)
                    .map(|(e, c)| ((epoch - e) as u32, *c))
                    .collect();
                buckets.sort_unstable_by_key(|b| core::cmp::Reverse(b.0));
                WindowState::Time(buckets)
            }
        }
    }

    /// Refills an empty window from `export`'s value, ages relative to `now`.
    #[cfg(feature = "serde")]
    pub(crate) fn import(
        &mut self,
        state: &crate::snapshot::WindowState,
        now: u64,
    ) -> Result<(), &'static str> {
        use crate::snapshot::WindowState;
        self.clear();
        self.allocate();
        match (&mut *self, state) {
            (Window::Count { size, .. }, WindowState::Count(calls))
                if calls.len() <= *size as usize =>
            {
                if calls.iter().any(|c| *c > (FAILED | SLOW)) {
                    return Err("window: bad outcome flags");
                }
                Ok(())
            }
            (Window::Time { slots, .. }, WindowState::Time(buckets)) => {
                let n = slots.len() as u32;
                if buckets
                    .iter()
                    .any(|(age, c)| *age >= n || c.failures > c.calls || c.slow > c.calls)
                {
                    return Err("window: bucket out of range");
                }
                Ok(())
            }
            _ => Err("window: kind or size differs from the configuration"),
        }?;
        match (self, state) {
            (w @ Window::Count { .. }, WindowState::Count(calls)) => {
                for c in calls {
                    w.record_n(now, c & FAILED != 0, c & SLOW != 0, 1);
                }
            }
            (
                Window::Time {
                    width,
                    head,
                    slots,
                    totals,
                    ..
                },
                WindowState::Time(buckets),
            ) => {
                let epoch = now / *width;
                let n = slots.len() as u64;
                *head = epoch;
                for (i, slot) in slots.iter_mut().enumerate() {
                    // Give every slot an epoch in (epoch - n, epoch] so that none is stale.
                    let back = (epoch % n + n - i as u64) % n;
                    *slot = (epoch.saturating_sub(back), Counts::default());
                }
                for (age, c) in buckets {
                    let e = epoch.saturating_sub(u64::from(*age));
                    slots[(e % n) as usize].1.add(*c);
                    totals.add(*c);
                }
            }
            _ => unreachable!("checked above"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_window_evicts_oldest() {
        let mut w = Window::new(WindowKind::Count { size: 3 });
        w.record_n(0, true, false, 1);
        w.record_n(0, false, true, 1);
        w.record_n(0, false, false, 1);
        assert_eq!(
            w.counts(0),
            Counts {
                calls: 3,
                failures: 1,
                slow: 1
            }
        );
        w.record_n(0, false, false, 1);
        assert_eq!(
            w.counts(0),
            Counts {
                calls: 3,
                failures: 0,
                slow: 1
            }
        );
        w.record_n(0, false, false, 1);
        assert_eq!(
            w.counts(0),
            Counts {
                calls: 3,
                failures: 0,
                slow: 0
            }
        );
    }

    #[test]
    fn storage_comes_with_the_first_outcome() {
        let storage = |w: &Window| match w {
            Window::Count { ring, .. } => ring.capacity(),
            Window::Time { slots, .. } => slots.capacity(),
        };
        for kind in [
            WindowKind::Count { size: 50 },
            WindowKind::Time {
                duration: 1000,
                buckets: 10,
            },
        ] {
            let mut w = Window::new(kind);
            assert_eq!((storage(&w), w.counts(5)), (0, Counts::default()));
            w.clear();
            w.record_n(5, true, false, 1);
            assert!(storage(&w) > 0);
            assert_eq!(
                w.counts(5),
                Counts {
                    calls: 1,
                    failures: 1,
                    slow: 0
                }
            );
        }
    }

    #[test]
    fn time_window_rolls_buckets() {
        // 10 buckets of 100 ns.
        let mut w = Window::new(WindowKind::Time {
            duration: 1000,
            buckets: 10,
        });
        w.record_n(5, true, false, 1);
        w.record_n(150, false, false, 1);
        assert_eq!(
            w.counts(999),
            Counts {
                calls: 2,
                failures: 1,
                slow: 0
            }
        );
        // At 1000 the first bucket [0,100) leaves the window.
        assert_eq!(
            w.counts(1000),
            Counts {
                calls: 1,
                failures: 0,
                slow: 0
            }
        );
        w.record_n(1000, false, false, 1);
        assert_eq!(
            w.counts(1000),
            Counts {
                calls: 2,
                failures: 0,
                slow: 0
            }
        );
        // Long idle: everything leaves.
        assert_eq!(w.counts(10_000), Counts::default());
        w.record_n(10_000, true, true, 1);
        assert_eq!(
            w.counts(10_000),
            Counts {
                calls: 1,
                failures: 1,
                slow: 1
            }
        );
    }
}
