#![cfg_attr(not(feature = "window-stats"), allow(dead_code))]
//! Windowed statistics ([`Config::window_stats`](crate::Config::window_stats)): per
//! bucket of the time window, the calls' successes, failures, rejections, timeouts and
//! fallbacks, and a latency histogram, for dashboards (opossum's `status`, `stats` and
//! `snapshot` events). Statistics only: no rule reads them, and transitions leave
//! them alone (`reset` clears them). Buckets rotate as the rule window's do; memory is
//! bounded by the bucket count (a histogram of about 2.7 KB per bucket that saw a call).

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::histogram::Histogram;

/// The latency percentiles [`WindowStats::percentiles`] reports, as fractions:
/// 0, 25, 50, 75, 90, 95, 99, 99.5 and 100 %.
pub const PERCENTILES: [f64; 9] = [0.0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 1.0];

/// What one bucket (or the whole window) counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BucketCounts {
    /// Calls that succeeded.
    pub successes: u64,
    /// Calls that failed (timeouts included).
    pub failures: u64,
    /// Calls refused.
    pub rejects: u64,
    /// Calls that timed out.
    pub timeouts: u64,
    /// Fallbacks the binding ran ([`Breaker::record_fallback`](crate::Breaker::record_fallback)).
    pub fallbacks: u64,
}

impl BucketCounts {
    fn add(&mut self, other: &BucketCounts) {
        self.successes += other.successes;
        self.failures += other.failures;
        self.rejects += other.rejects;
        self.timeouts += other.timeouts;
        self.fallbacks += other.fallbacks;
    }
}

/// The windowed statistics at an instant ([`Breaker::window_stats`](crate::Breaker::window_stats)).
#[derive(Clone, Debug, PartialEq)]
pub struct WindowStats {
    /// Width of a bucket, nanoseconds.
    pub bucket_width: u64,
    /// The window's buckets, oldest first (empty ones included): as many as the window has.
    pub buckets: Vec<BucketCounts>,
    /// Their sum.
    pub total: BucketCounts,
    /// Mean duration of the calls in the window (ns), 0 if none.
    pub latency_mean: f64,
    /// Call durations (ns) at [`PERCENTILES`] over the window (bucket upper bounds,
    /// within 12.5 %), `None` without calls.
    pub percentiles: [Option<u64>; 9],
}

#[derive(Clone, Debug, Default)]
struct Bucket {
    epoch: u64,
    counts: BucketCounts,
    latency_sum: u128,
    latencies: Option<Histogram>,
}

/// The buckets, by epoch (instant / width) modulo their number.
#[derive(Clone, Debug)]
pub(crate) struct Rolling {
    width: u64,
    head: u64,
    slots: Box<[Bucket]>,
}

/// What to count in the bucket of `now`.
pub(crate) enum Event {
    Success(u64),
    Failure { duration: u64, timeout: bool },
    Reject,
    Fallback,
}

impl Rolling {
    pub(crate) fn new(duration: u64, buckets: u32) -> Rolling {
        Rolling {
            width: duration / u64::from(buckets),
            head: 0,
            slots: (0..buckets).map(|_| Bucket::default()).collect(),
        }
    }

    /// The bucket of `now`, evicting those that left the window.
    fn bucket(&mut self, now: u64) -> &mut Bucket {
        let epoch = now / self.width;
        let n = self.slots.len() as u64;
        if epoch > self.head {
            let first = if epoch - self.head >= n {
                epoch - n + 1
            } else {
                self.head + 1
            };
            for e in first..=epoch {
                self.slots[(e % n) as usize] = Bucket {
                    epoch: e,
                    ..Bucket::default()
                };
            }
            self.head = epoch;
        }
        // An instant before the head (never, with a monotonic clock) counts in the head.
        &mut self.slots[(self.head % n) as usize]
    }

    /// Counts `n` events alike at `now`.
    pub(crate) fn record(&mut self, now: u64, event: Event, n: u32) {
        let bucket = self.bucket(now);
        let n64 = u64::from(n);
        let duration = match event {
            Event::Success(duration) => {
                bucket.counts.successes += n64;
                duration
            }
            Event::Failure { duration, timeout } => {
                bucket.counts.failures += n64;
                if timeout {
                    bucket.counts.timeouts += n64;
                }
                duration
            }
            Event::Reject => {
                bucket.counts.rejects += n64;
                return;
            }
            Event::Fallback => {
                bucket.counts.fallbacks += n64;
                return;
            }
        };
        bucket.latency_sum += u128::from(duration) * u128::from(n);
        bucket
            .latencies
            .get_or_insert_with(Histogram::new)
            .record_n(duration, n);
    }

    /// The statistics as seen at `now`, without changing anything.
    pub(crate) fn stats(&self, now: u64) -> WindowStats {
        let n = self.slots.len() as u64;
        let epoch = (now / self.width).max(self.head);
        let mut buckets = Vec::with_capacity(self.slots.len());
        let mut total = BucketCounts::default();
        let mut merged: Option<Histogram> = None;
        let mut latency_sum = 0u128;
        for e in (epoch + 1).saturating_sub(n)..=epoch {
            let slot = &self.slots[(e % n) as usize];
            if slot.epoch != e || e > self.head {
                buckets.push(BucketCounts::default());
                continue;
            }
            buckets.push(slot.counts);
            total.add(&slot.counts);
            latency_sum += slot.latency_sum;
            if let Some(h) = &slot.latencies {
                merged.get_or_insert_with(Histogram::new).add(h);
            }
        }
        // Leading buckets before the clock's first epoch do not exist: pad to the window.
        while buckets.len() < self.slots.len() {
            buckets.insert(0, BucketCounts::default());
        }
        let timed = total.successes + total.failures;
        WindowStats {
            bucket_width: self.width,
            buckets,
            total,
            latency_mean: if timed == 0 {
                0.0
            } else {
                latency_sum as f64 / timed as f64
            },
            percentiles: PERCENTILES.map(|q| merged.as_ref().and_then(|h| h.quantile(q))),
        }
    }
}
