//! acquire + record pairs, tripwire side by side with the `failsafe` crate.
//!
//! `make bench-core` (cargo bench -p tripwire-core --bench acquire_record).
//! Each group runs the same workload through both; criterion prints the time per pair.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use failsafe::{backoff, failure_policy, CircuitBreaker as _};
use tripwire_core::{Breaker, Config, MonotonicClock, Outcome, SyncBreaker, Threshold, WindowKind};

const NEVER: u32 = u32::MAX;

fn count_config() -> Config {
    Config {
        failure_threshold: Threshold::Count(NEVER),
        window: WindowKind::Count { size: 100 },
        ..Config::default()
    }
}

fn time_config() -> Config {
    Config {
        failure_threshold: Threshold::Rate(1.0),
        minimum_requests: Some(NEVER - 1),
        ..Config::default()
    }
}

/// Every fourth call fails; the thresholds are out of reach so the breaker stays closed.
fn outcome(i: u64) -> Outcome {
    if i % 4 == 3 {
        Outcome::Failure
    } else {
        Outcome::Success
    }
}

/// The same workload as tripwire's, through failsafe's `call`.
fn bench_failsafe(
    group: &mut BenchmarkGroup<'_, WallTime>,
    label: &str,
    breaker: &impl failsafe::CircuitBreaker,
) {
    let mut i = 0u64;
    group.bench_function(label, |b| {
        b.iter(|| {
            i += 1;
            let failed = outcome(i) == Outcome::Failure;
            black_box(
                breaker
                    .call(|| if failed { Err(()) } else { Ok(()) })
                    .is_ok(),
            )
        })
    });
}

fn core_pairs(c: &mut Criterion) {
    for (name, config) in [
        ("count window", count_config()),
        ("time window", time_config()),
    ] {
        let mut group = c.benchmark_group(format!("single-threaded, {name}"));
        let mut breaker = Breaker::new(config).unwrap();
        let mut now = 0u64;
        group.bench_function("tripwire Breaker (caller's clock)", |b| {
            b.iter(|| {
                now += 1_000;
                let permit = breaker.try_acquire(black_box(now)).unwrap();
                black_box(breaker.record(permit, outcome(now / 1_000), now))
            })
        });
        let sync = SyncBreaker::new(config, MonotonicClock::new()).unwrap();
        let mut i = 0u64;
        group.bench_function("tripwire SyncBreaker (mutex + monotonic clock)", |b| {
            b.iter(|| {
                i += 1;
                let permit = sync.try_acquire().unwrap();
                black_box(sync.record(permit, outcome(i)))
            })
        });
        // failsafe is always thread-safe and reads its own clock when its policy needs it.
        if name == "count window" {
            let consecutive = failsafe::Config::new()
                .failure_policy(failure_policy::consecutive_failures(
                    NEVER,
                    backoff::constant(Duration::from_secs(60)),
                ))
                .build();
            bench_failsafe(&mut group, "failsafe consecutive_failures", &consecutive);
        } else {
            let default_policy = failsafe::Config::new().build();
            bench_failsafe(
                &mut group,
                "failsafe default (success rate over time window)",
                &default_policy,
            );
        }
        group.finish();
    }
}

fn rejections(c: &mut Criterion) {
    let mut group = c.benchmark_group("open circuit rejection");
    let mut breaker = Breaker::new(Config::default()).unwrap();
    breaker.force_open(0);
    group.bench_function("tripwire Breaker", |b| {
        b.iter(|| black_box(breaker.try_acquire(black_box(1)).is_err()))
    });
    let failsafe = failsafe::Config::new()
        .failure_policy(failure_policy::consecutive_failures(
            1,
            backoff::constant(Duration::from_secs(3600)),
        ))
        .build();
    let _ = failsafe.call(|| Err::<(), ()>(()));
    group.bench_function("failsafe", |b| {
        b.iter(|| black_box(failsafe.call(|| Ok::<(), ()>(())).is_err()))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = core_pairs, rejections
}
criterion_main!(benches);
