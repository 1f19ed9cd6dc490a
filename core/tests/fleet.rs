//! The fleet protocol's edges, on the in-memory store: joining adopts and never
//! resets, a differing configuration is named, leases expire, and local mode keeps
//! every outcome for the recovery.

use tripwire_core::fleet::{
    Acquire, FleetBreaker, FleetError, FleetOptions, Link, LinkEvent, MemoryStore, StoreError,
};
use tripwire_core::{Config, Outcome, State, Threshold, WindowKind, NANOS_PER_MILLI};

const MS: u64 = NANOS_PER_MILLI;

fn options(id: u64) -> FleetOptions {
    let mut o = FleetOptions::new("edge");
    o.inject_now = true;
    o.process_id = id;
    o.store_failures = 2;
    o.store_retry = 100 * MS;
    o.lease_ttl = Some(50 * MS);
    o
}

fn config() -> Config {
    Config {
        failure_threshold: Threshold::Count(3),
        window: WindowKind::Count { size: 10 },
        open_duration: 200 * MS,
        ..Config::default()
    }
}

fn sync(b: &mut FleetBreaker, s: &mut MemoryStore, now: u64) {
    while let Some(call) = b.flush_request(now) {
        let reply = s.call(&call).unwrap();
        b.complete(Ok(&reply), now).unwrap();
    }
}

fn call(b: &mut FleetBreaker, s: &mut MemoryStore, outcome: Outcome, now: u64) -> bool {
    let permit = match b.try_acquire(now) {
        Acquire::Permit(p) => p,
        Acquire::Rejected(_) => return false,
        Acquire::Lease(l) => {
            let reply = s.call(&l.call).unwrap();
            match b.lease_reply(l.ticket, Ok(&reply), now) {
                Ok(p) => p,
                Err(_) => return false,
            }
        }
    };
    b.record(permit, outcome, now);
    true
}

#[test]
fn joining_adopts_and_never_resets() {
    let mut s = MemoryStore::new();
    let mut a = FleetBreaker::new(config(), options(1)).unwrap();
    sync(&mut a, &mut s, 0);
    for t in 1..=2 {
        call(&mut a, &mut s, Outcome::Failure, t * MS);
        sync(&mut a, &mut s, t * MS);
    }
    let mut b = FleetBreaker::new(config(), options(2)).unwrap();
    sync(&mut b, &mut s, 3 * MS);
    assert_eq!(
        b.stats(3 * MS).consecutive_failures,
        2,
        "b sees a's failures"
    );
    // One more failure in b trips the fleet (3 consecutive), and a refuses after its sync.
    call(&mut b, &mut s, Outcome::Failure, 4 * MS);
    assert_eq!(b.state(4 * MS), State::Open);
    sync(&mut b, &mut s, 4 * MS);
    a.request_sync();
    sync(&mut a, &mut s, 5 * MS);
    assert_eq!(a.state(5 * MS), State::Open);
    assert!(matches!(a.try_acquire(5 * MS), Acquire::Rejected(_)));
    assert_eq!(a.fleet_totals().failures, 3);
    // A late joiner sees the open fleet too.
    let mut c = FleetBreaker::new(config(), options(3)).unwrap();
    sync(&mut c, &mut s, 6 * MS);
    assert_eq!(c.state(6 * MS), State::Open);
}

#[test]
fn a_different_configuration_is_named() {
    let mut s = MemoryStore::new();
    let mut a = FleetBreaker::new(config(), options(1)).unwrap();
    sync(&mut a, &mut s, 0);
    let other = Config {
        failure_threshold: Threshold::Count(4),
        ..config()
    };
    let mut b = FleetBreaker::new(other, options(2)).unwrap();
    let join = b.flush_request(0).unwrap();
    let reply = s.call(&join).unwrap();
    let err = b.complete(Ok(&reply), 0).unwrap_err();
    let FleetError::ConfigMismatch {
        option,
        ours,
        fleet,
    } = &err;
    assert_eq!(
        (option.as_str(), ours.as_str(), fleet.as_str()),
        ("failure_threshold", "count:4", "count:3")
    );
    assert!(err.to_string().contains("failure_threshold"));
    assert_eq!(b.link(), Link::Local, "a refused process decides alone");
    assert!(b.flush_request(1).is_none());
    // Opting out joins anyway.
    let mut o = options(3);
    o.check_fingerprint = false;
    let mut c = FleetBreaker::new(other, o).unwrap();
    sync(&mut c, &mut s, 0);
    assert!(c.joined());
}

#[test]
fn exactly_n_trials_and_a_crashed_holder_frees_its_slot_after_the_ttl() {
    let mut s = MemoryStore::new();
    let cfg = Config {
        half_open_max_calls: 1,
        ..config()
    };
    let mut a = FleetBreaker::new(cfg, options(1)).unwrap();
    let mut b = FleetBreaker::new(cfg, options(2)).unwrap();
    sync(&mut a, &mut s, 0);
    sync(&mut b, &mut s, 0);
    for t in 1..=3 {
        call(&mut a, &mut s, Outcome::Failure, t * MS);
    }
    sync(&mut a, &mut s, 3 * MS);
    b.request_sync();
    sync(&mut b, &mut s, 3 * MS);
    let after = 3 * MS + 200 * MS;
    // a takes the one trial and "crashes" (never records); b is refused.
    let Acquire::Lease(l) = a.try_acquire(after) else {
        panic!("a lease is needed")
    };
    let reply = s.call(&l.call).unwrap();
    let trial = a.lease_reply(l.ticket, Ok(&reply), after).unwrap();
    assert!(trial.is_trial());
    assert!(!call(&mut b, &mut s, Outcome::Success, after + MS));
    assert!(!call(&mut b, &mut s, Outcome::Success, after + 49 * MS));
    // After the lease's TTL the slot is free again.
    b.request_sync();
    sync(&mut b, &mut s, after + 50 * MS);
    assert!(call(&mut b, &mut s, Outcome::Success, after + 50 * MS));
}

#[test]
fn local_mode_keeps_outcomes_and_a_local_trip_for_the_recovery() {
    let mut s = MemoryStore::new();
    let mut a = FleetBreaker::new(config(), options(1)).unwrap();
    sync(&mut a, &mut s, 0);
    call(&mut a, &mut s, Outcome::Success, MS);
    // Two failed store calls: local mode.
    let mut events = Vec::new();
    for t in 2..=3 {
        call(&mut a, &mut s, Outcome::Failure, t * MS);
        if a.flush_request(t * MS).is_some() {
            events.extend(a.complete(Err(StoreError::Timeout), t * MS).unwrap().link);
        }
    }
    assert_eq!(events, [LinkEvent::StoreDown]);
    assert_eq!(a.link(), Link::Local);
    assert!(
        a.flush_request(4 * MS).is_none(),
        "no store call until the probe"
    );
    // A third failure trips the process alone.
    assert!(call(&mut a, &mut s, Outcome::Failure, 5 * MS));
    assert_eq!(a.state(5 * MS), State::Open);
    // The store is back: the probe flushes everything kept, and the process stays open
    // until its own open_until even though the fleet never tripped...
    let probe = 3 * MS + 100 * MS;
    let call_ = a.flush_request(probe).expect("the probe");
    let reply = s.call(&call_).unwrap();
    let done = a.complete(Ok(&reply), probe).unwrap();
    assert_eq!(done.link, Some(LinkEvent::StoreUp));
    assert_eq!(a.link(), Link::Shared);
    sync(&mut a, &mut s, probe);
    assert_eq!(a.fleet_totals().failures, 3, "nothing lost");
    assert_eq!(a.fleet_totals().successes, 1);
    assert_eq!(a.state(probe), State::Open);
    // ...and the fleet trips from the totals (3 consecutive failures in the window).
    let mut b = FleetBreaker::new(config(), options(2)).unwrap();
    sync(&mut b, &mut s, probe);
    assert_eq!(b.state(probe), State::Open);
}

#[test]
fn outcomes_before_the_first_reply_reach_the_fleet() {
    // "Nothing inside the window is lost": outcomes a process records before its join's
    // reply (before the join is sent, and while it is out) count in the fleet's totals
    // and window once it has joined, as if it had joined first.
    let mut s = MemoryStore::new();
    let mut a = FleetBreaker::new(config(), options(1)).unwrap();
    sync(&mut a, &mut s, 0);
    call(&mut a, &mut s, Outcome::Failure, MS);
    sync(&mut a, &mut s, MS);
    let mut b = FleetBreaker::new(config(), options(2)).unwrap();
    assert!(call(&mut b, &mut s, Outcome::Success, 2 * MS));
    assert!(call(&mut b, &mut s, Outcome::Failure, 2 * MS));
    let join = b.flush_request(3 * MS).unwrap();
    assert!(call(&mut b, &mut s, Outcome::Failure, 3 * MS));
    let reply = s.call(&join).unwrap();
    b.complete(Ok(&reply), 4 * MS).unwrap();
    assert!(b.joined());
    sync(&mut b, &mut s, 4 * MS);
    let t = b.fleet_totals();
    assert_eq!(
        (t.successes, t.failures),
        (1, 3),
        "every outcome in the totals"
    );
    // The window: a's failure, then b's success and two failures (b's outcomes came
    // after a's): two consecutive failures, four calls.
    let stats = b.stats(4 * MS);
    assert_eq!(stats.window_calls, 4, "every outcome in the window");
    assert_eq!(stats.consecutive_failures, 2);
    a.request_sync();
    sync(&mut a, &mut s, 5 * MS);
    assert_eq!(a.stats(5 * MS).window_calls, 4);
    // One more failure anywhere makes three in a row: the fleet trips.
    call(&mut a, &mut s, Outcome::Failure, 6 * MS);
    assert_eq!(a.state(6 * MS), State::Open);
}
