//! The thread-safe wrapper under contention: exact counts, exact half-open admission.

use std::sync::{Arc, Barrier};
use std::thread;

use tripwire_core::{
    Config, ManualClock, MonotonicClock, Outcome, State, SyncBreaker, Threshold, WindowKind,
};

const THREADS: u64 = 8;

#[test]
fn eight_threads_a_million_calls_exact_counts() {
    const CALLS: u64 = 125_000; // per thread: 1,000,000 in all
    let config = Config {
        failure_threshold: Threshold::Count(u32::MAX),
        window: WindowKind::Count { size: 1000 },
        ..Config::default()
    };
    let breaker = Arc::new(SyncBreaker::new(config, MonotonicClock::new()).unwrap());
    let start = Arc::new(Barrier::new(THREADS as usize));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (breaker, start) = (breaker.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                for i in 0..CALLS {
                    let permit = breaker.try_acquire().expect("never trips");
                    // Thread t: one call in (t + 2) fails, one in 7 is ignored.
                    let outcome = if i % 7 == 0 {
                        Outcome::Ignored
                    } else if i % (t + 2) == 0 {
                        Outcome::Failure
                    } else {
                        Outcome::Success
                    };
                    breaker.record(permit, outcome);
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());

    let (mut failures, mut ignored) = (0, 0);
    for t in 0..THREADS {
        for i in 0..CALLS {
            if i % 7 == 0 {
                ignored += 1;
            } else if i % (t + 2) == 0 {
                failures += 1;
            }
        }
    }
    let stats = breaker.stats();
    assert_eq!(stats.ignored, ignored);
    assert_eq!(stats.failures, failures);
    assert_eq!(stats.successes, THREADS * CALLS - ignored - failures);
    assert_eq!(stats.requests + stats.ignored, THREADS * CALLS);
    assert_eq!(stats.window_calls, 1000);
}

#[test]
fn half_open_admits_exactly_max_calls_under_contention() {
    for max in [1u32, 3, 5] {
        for _round in 0..50 {
            let clock = Arc::new(ManualClock::new(0));
            let config = Config {
                failure_threshold: Threshold::Count(1),
                open_duration: 1_000,
                half_open_max_calls: max,
                ..Config::default()
            };
            let breaker = Arc::new(SyncBreaker::new(config, clock.clone()).unwrap());
            let permit = breaker.try_acquire().unwrap();
            breaker.record(permit, Outcome::Failure);
            clock.advance(1_000);
            let start = Arc::new(Barrier::new(THREADS as usize));
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    let (breaker, start) = (breaker.clone(), start.clone());
                    thread::spawn(move || {
                        start.wait();
                        (0..100).filter_map(|_| breaker.try_acquire().ok()).count()
                    })
                })
                .collect();
            let admitted: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
            assert_eq!(admitted, max as usize);
            assert_eq!(breaker.state(), State::HalfOpen);
            assert_eq!(breaker.stats().rejected, THREADS * 100 - u64::from(max));
        }
    }
}
