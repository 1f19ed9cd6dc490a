//! Several `RedisStore`s (standing for processes) against a real redis-server: a trip
//! in one is a refusal in the others; exactly N trial leases fleet-wide; a vanished
//! holder's lease frees after its TTL; the fleet's totals are the exact sum.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{wait_until, Recorder};
use tripwire_core::fleet::{FleetOptions, Link};
use tripwire_core::{Config, Outcome, State, Threshold, WindowKind, NANOS_PER_MILLI};
use tripwire_store::{Admit, BreakerHandle, RedisStore, StoreOptions};
use tripwire_testkit::RedisServer;

const MS: u64 = NANOS_PER_MILLI;

fn store(server: &RedisServer) -> RedisStore {
    let mut o = StoreOptions::new(server.url());
    o.flush_interval = Duration::from_millis(20);
    o.poll_interval = Duration::from_millis(200);
    RedisStore::new(o, None).unwrap()
}

fn joined(b: &BreakerHandle) -> bool {
    b.fleet_view().joined
}

#[test]
fn a_trip_in_one_process_is_a_refusal_in_the_other() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let config = Config {
        failure_threshold: Threshold::Count(3),
        open_duration: 60_000 * MS,
        ..Config::default()
    };
    let (a, b) = (store(&server), store(&server));
    let events = Recorder::new();
    let ba = a.register(config, FleetOptions::new("trip"), None).unwrap();
    let bb = b
        .register(config, FleetOptions::new("trip"), Some(events.clone()))
        .unwrap();
    wait_until("both joined", || joined(&ba) && joined(&bb));
    for _ in 0..3 {
        let Admit::Permit(p) = ba.try_acquire() else {
            panic!("closed")
        };
        let _ = ba.record(p, Outcome::Failure);
    }
    assert_eq!(ba.state(), State::Open, "tripped in A");
    // Propagated by pub/sub (or the poll) and a read.
    wait_until("B adopts the trip", || bb.state() == State::Open);
    assert!(matches!(bb.try_acquire(), Admit::Rejected(r) if r.state == State::Open));
    let seen = events.transitions.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|t| t.from == State::Closed && t.to == State::Open),
        "B's transition is delivered as an event: {seen:?}"
    );
    let view = bb.fleet_view();
    assert_eq!(view.link, Link::Shared);
    assert!(view.last_sync_age.is_some());
    assert_eq!(view.fleet_totals.failures, 3);
    a.close();
    b.close();
}

#[test]
fn the_fleet_totals_are_the_exact_sum() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    const P: usize = 4;
    const M: usize = 500;
    // A rate threshold that alternating outcomes never reach: no trip, every call runs.
    let config = Config {
        failure_threshold: Threshold::Rate(1.0),
        minimum_requests: Some(10),
        window: WindowKind::Count { size: 100 },
        ..Config::default()
    };
    let stores: Vec<RedisStore> = (0..P).map(|_| store(&server)).collect();
    let handles: Vec<BreakerHandle> = stores
        .iter()
        .map(|s| s.register(config, FleetOptions::new("sum"), None).unwrap())
        .collect();
    let barrier = Arc::new(Barrier::new(P));
    let threads: Vec<_> = handles
        .iter()
        .cloned()
        .map(|h| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..M {
                    let Admit::Permit(p) = h.try_acquire() else {
                        panic!("never trips")
                    };
                    let outcome = if i % 2 == 0 {
                        Outcome::Success
                    } else {
                        Outcome::Failure
                    };
                    assert!(h.record(p, outcome).is_none());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let want = (P * M / 2) as u64;
    for h in &handles {
        wait_until("every outcome is in every process's view", || {
            let t = h.fleet_view().fleet_totals;
            t.successes >= want && t.failures >= want
        });
    }
    for h in &handles {
        let t = h.fleet_view().fleet_totals;
        assert_eq!((t.successes, t.failures), (want, want), "exact, never more");
    }
    for s in &stores {
        s.close();
    }
}

#[test]
fn exactly_n_trials_fleet_wide_and_a_vanished_holder_frees_after_the_ttl() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    const N: usize = 2;
    const P: usize = 4;
    const THREADS: usize = 8;
    let config = Config {
        failure_threshold: Threshold::Count(1),
        open_duration: 100 * MS,
        half_open_max_calls: N as u32,
        success_threshold: 100,
        ..Config::default()
    };
    let mut options = FleetOptions::new("lease");
    // Longer than the test: holders keep their leases throughout.
    options.lease_ttl = Some(600_000 * MS);
    let stores: Vec<RedisStore> = (0..P).map(|_| store(&server)).collect();
    let handles: Vec<BreakerHandle> = stores
        .iter()
        .map(|s| s.register(config, options.clone(), None).unwrap())
        .collect();
    wait_until("all joined", || handles.iter().all(joined));
    let Admit::Permit(p) = handles[0].try_acquire() else {
        panic!("closed")
    };
    let _ = handles[0].record(p, Outcome::Failure);
    for h in &handles {
        wait_until("every process sees the trip, then half-open", || {
            h.state() == State::HalfOpen
        });
    }
    // Everyone asks at once, and keeps asking: never more than N permits.
    let granted = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(P * THREADS));
    let mut threads = Vec::new();
    for h in &handles {
        for _ in 0..THREADS {
            let (h, granted, barrier) = (h.clone(), granted.clone(), barrier.clone());
            threads.push(std::thread::spawn(move || {
                barrier.wait();
                let mut held = Vec::new();
                for _ in 0..40 {
                    let permit = match h.try_acquire() {
                        Admit::Permit(p) => Some(p),
                        Admit::Rejected(_) => None,
                        Admit::Lease(l) => l.wait().ok(),
                    };
                    if let Some(p) = permit {
                        granted.fetch_add(1, Ordering::SeqCst);
                        held.push(p);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                // Holders never record: their leases stay live.
                std::mem::forget(held);
            }));
        }
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        granted.load(Ordering::SeqCst),
        N,
        "exactly N trials fleet-wide"
    );

    // A holder that vanishes: its lease frees after the TTL, for a new process.
    let mut short = FleetOptions::new("lease-ttl");
    short.lease_ttl = Some(300 * MS);
    let config = Config {
        half_open_max_calls: 1,
        ..config
    };
    let holder_store = store(&server);
    let holder = holder_store.register(config, short.clone(), None).unwrap();
    wait_until("joined", || joined(&holder));
    let Admit::Permit(p) = holder.try_acquire() else {
        panic!("closed")
    };
    let _ = holder.record(p, Outcome::Failure);
    wait_until("half-open", || holder.state() == State::HalfOpen);
    let lease = loop {
        if let Admit::Lease(l) = holder.try_acquire() {
            if let Ok(p) = l.wait() {
                break p;
            }
        }
    };
    // The process dies holding the trial: its permit is never recorded, nothing is
    // released.
    let _ = lease;
    holder_store.close();
    drop(holder);
    let other_store = store(&server);
    let other = other_store.register(config, short, None).unwrap();
    wait_until("the new process sees half-open", || {
        other.state() == State::HalfOpen
    });
    wait_until("the slot returns after the lease TTL", || {
        match other.try_acquire() {
            Admit::Lease(l) => l.wait().is_ok(),
            Admit::Permit(_) => panic!("a trial needs a lease"),
            Admit::Rejected(_) => false,
        }
    });
    other_store.close();
    for s in &stores {
        s.close();
    }
}

#[test]
fn dropped_breakers_leave_the_store() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let s = store(&server);
    for i in 0..2000 {
        let h = s
            .register(Config::default(), FleetOptions::new(format!("n{i}")), None)
            .unwrap();
        if let Admit::Permit(p) = h.try_acquire() {
            let _ = h.record(p, Outcome::Success);
        }
    }
    // Each is flushed (its join, its outcome), then dropped.
    wait_until("every dropped breaker has left", || s.is_empty());
    s.close();
}
