//! The fleet protocol's edges, on the in-memory store: joining adopts and never
//! resets (a start state makes the fleet's state only when there is none), a
//! differing configuration is named, leases expire, a forced half-open and the failure
//! streak are the fleet's, and local mode keeps every outcome for the recovery.

use tripwire_core::fleet::{
    Acquire, FleetBreaker, FleetError, FleetOptions, Link, LinkEvent, MemoryStore, StoreError,
};
use tripwire_core::{
    option_name, Config, Options, Outcome, Start, State, Threshold, Unit, WindowKind,
    NANOS_PER_MILLI,
};

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
fn a_start_state_makes_the_fleet_state_only_when_there_is_none() {
    let mut s = MemoryStore::new();
    let open = Config {
        start: Start::Open {
            remaining: Some(50 * MS),
        },
        ..config()
    };
    // The first member, made open with 50 ms left, makes the fleet open...
    let mut a = FleetBreaker::new_at(open, options(1), 10 * MS).unwrap();
    assert_eq!(a.state(10 * MS), State::Open, "open before the join too");
    sync(&mut a, &mut s, 20 * MS);
    let mut b = FleetBreaker::new(config(), options(2)).unwrap();
    sync(&mut b, &mut s, 20 * MS);
    assert_eq!(b.state(20 * MS), State::Open, "a closed joiner adopts it");
    assert_eq!(b.stats(20 * MS).next_attempt_at, Some(60 * MS));
    // ...and it half-opens for everyone 50 ms after it was made: trials close it.
    assert!(!call(&mut b, &mut s, Outcome::Success, 59 * MS));
    for t in 60..62 {
        assert!(call(&mut b, &mut s, Outcome::Success, t * MS));
        sync(&mut b, &mut s, t * MS);
    }
    a.request_sync();
    sync(&mut a, &mut s, 61 * MS);
    assert_eq!(a.state(61 * MS), State::Closed);
    // A member made half-open joins the closed fleet as it is: joining resets nothing.
    let half = Config {
        start: Start::HalfOpen,
        ..config()
    };
    let mut c = FleetBreaker::new_at(half, options(3), 62 * MS).unwrap();
    assert_eq!(c.state(62 * MS), State::HalfOpen);
    sync(&mut c, &mut s, 62 * MS);
    assert_eq!(c.state(62 * MS), State::Closed);
    // Nor does one made open (no hold of its own: a start state is not a trip).
    let mut d = FleetBreaker::new_at(open, options(4), 63 * MS).unwrap();
    sync(&mut d, &mut s, 63 * MS);
    assert_eq!(d.state(63 * MS), State::Closed);
    assert!(call(&mut d, &mut s, Outcome::Success, 64 * MS));
}

#[test]
fn a_forced_half_open_and_the_failure_streak_are_the_fleets() {
    let mut s = MemoryStore::new();
    let mut a = FleetBreaker::new(config(), options(1)).unwrap();
    let mut b = FleetBreaker::new(config(), options(2)).unwrap();
    sync(&mut a, &mut s, 0);
    sync(&mut b, &mut s, 0);
    // a and b fail in turn: the streak is the fleet's, and a trip keeps it.
    for t in 1..=3 {
        let p = if t % 2 == 1 { &mut a } else { &mut b };
        p.request_sync();
        sync(p, &mut s, t * MS);
        call(p, &mut s, Outcome::Failure, t * MS);
        sync(p, &mut s, t * MS);
    }
    a.request_sync();
    sync(&mut a, &mut s, 4 * MS);
    b.request_sync();
    sync(&mut b, &mut s, 4 * MS);
    assert_eq!(a.state(4 * MS), State::Open);
    assert_eq!(
        (
            a.stats(4 * MS).failure_streak,
            b.stats(4 * MS).failure_streak
        ),
        (3, 3)
    );
    // b half-opens the fleet: a sees it, and exactly one of them gets the trial.
    let t = b.half_open(5 * MS);
    assert_eq!((t.from, t.to), (State::Open, State::HalfOpen));
    sync(&mut b, &mut s, 5 * MS);
    a.request_sync();
    sync(&mut a, &mut s, 5 * MS);
    assert_eq!(
        a.state(5 * MS),
        State::HalfOpen,
        "well before the open time ends"
    );
    let Acquire::Lease(l) = a.try_acquire(6 * MS) else {
        panic!("a trial needs a lease")
    };
    let reply = s.call(&l.call).unwrap();
    let trial = a.lease_reply(l.ticket, Ok(&reply), 6 * MS).unwrap();
    assert!(
        !call(&mut b, &mut s, Outcome::Success, 6 * MS),
        "one trial fleet-wide"
    );
    // The failed trial reopens it: the threshold plus one, in both.
    a.record(trial, Outcome::Failure, 7 * MS);
    sync(&mut a, &mut s, 7 * MS);
    b.request_sync();
    sync(&mut b, &mut s, 7 * MS);
    assert_eq!(b.state(7 * MS), State::Open);
    assert_eq!(b.stats(7 * MS).failure_streak, 4);
    // A close ends the streak fleet-wide.
    a.close(8 * MS);
    sync(&mut a, &mut s, 8 * MS);
    b.request_sync();
    sync(&mut b, &mut s, 8 * MS);
    assert_eq!(
        (b.state(8 * MS), b.stats(8 * MS).failure_streak),
        (State::Closed, 0)
    );
}

#[test]
fn a_different_duration_is_written_in_the_runtimes_unit() {
    let mut s = MemoryStore::new();
    let mut a = FleetBreaker::new(config(), options(1)).unwrap();
    sync(&mut a, &mut s, 0);
    let other = Config {
        open_duration: 1500 * MS,
        ..config()
    };
    let mut b = FleetBreaker::new(other, options(2)).unwrap();
    let join = b.flush_request(0).unwrap();
    let reply = s.call(&join).unwrap();
    let err = b.complete(Ok(&reply), 0).unwrap_err();
    assert_eq!(
        err.message(Unit::Millis),
        "option `recoveryTimeout` differs from the fleet's: this process has 1500 ms, the fleet 200 ms; the breaker decides locally"
    );
    assert_eq!(
        err.message(Unit::Seconds),
        "option `recovery_timeout` differs from the fleet's: this process has 1.5 s, the fleet 0.2 s; the breaker decides locally"
    );
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
    // The bindings' message, with the option as each runtime spells it.
    assert_eq!(err.option(Unit::Millis), "failureThreshold");
    assert_eq!(
        err.message(Unit::Seconds),
        "option `failure_threshold` differs from the fleet's: this process has 4, the fleet 3; the breaker decides locally"
    );
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
fn every_fingerprint_field_names_its_options_in_each_runtime() {
    let config = Config {
        strict_rate_threshold: true,
        ignored_as_success: true,
        ..config()
    };
    let print = tripwire_core::fleet::fingerprint(&config);
    for field in print.split(';').map(|kv| kv.split('=').next().unwrap()) {
        let (js, py) = (
            option_name(field, Unit::Millis),
            option_name(field, Unit::Seconds),
        );
        assert!(
            Options::is_known(js.split('/').next().unwrap()),
            "{field}: {js}"
        );
        assert!(
            Options::is_known(py.split('/').next().unwrap()),
            "{field}: {py}"
        );
        assert!(!js.contains('_') && !py.bytes().any(|c| c.is_ascii_uppercase()));
    }
    assert_eq!(
        option_name("window", Unit::Millis),
        "monitoringWindow/countWindow"
    );
    assert_eq!(
        option_name("open_duration", Unit::Seconds),
        "recovery_timeout"
    );
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
