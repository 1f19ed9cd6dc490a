//! Model test of the fleet: k processes' `FleetBreaker`s and the in-memory store (the
//! scripts' reference semantics), random interleavings of calls, outcomes, flushes
//! whose replies arrive late, store failures (calls that never reached the store) and
//! clock advances. Checked:
//!
//! * never more than `half_open_max_calls` trials hold a lease in one half-open period;
//! * after every process syncs, all of them agree with the store, and an open fleet
//!   refuses calls in every process (a trip in one is a refusal in the others);
//! * at the end, the fleet's totals equal the sum of every process's outcomes and
//!   refusals exactly.
//!
//! CI: 128 cases × 300 steps. Long mode (`make proptest-long`): `PROPTEST_CASES` and
//! `TRIPWIRE_MODEL_STEPS`.

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, FileFailurePersistence};
use tripwire_core::fleet::{
    Acquire, Control, FleetBreaker, FleetOptions, Link, MemoryStore, Reply, StoreError, Tally,
    Value,
};
use tripwire_core::{Config, Outcome, Permit, State, Threshold, WindowKind, NANOS_PER_MILLI};

const MS: u64 = NANOS_PER_MILLI;

#[derive(Clone, Debug)]
enum Op {
    Acquire(usize),
    Record(usize, usize, u8, u64),
    Send(usize),
    Deliver(usize),
    Fail(usize),
    Advance(u64),
    Sync,
}

fn op(k: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => (0..k).prop_map(Op::Acquire),
        30 => (0..k, any::<usize>(), 0u8..5, 0u64..8).prop_map(|(p, i, o, d)| Op::Record(p, i, o, d * MS)),
        12 => (0..k).prop_map(Op::Send),
        12 => (0..k).prop_map(Op::Deliver),
        2 => (0..k).prop_map(Op::Fail),
        8 => (0u64..40).prop_map(|d| Op::Advance(d * MS)),
        2 => Just(Op::Sync),
    ]
}

fn config() -> impl Strategy<Value = Config> {
    let threshold = prop_oneof![
        (1u32..4).prop_map(Threshold::Count),
        prop_oneof![Just(0.3), Just(0.5)].prop_map(Threshold::Rate)
    ];
    let window = prop_oneof![
        (5u32..12).prop_map(|size| WindowKind::Count { size }),
        (1u32..5).prop_map(|buckets| WindowKind::Time {
            duration: 100 * MS,
            buckets
        }),
    ];
    (
        threshold,
        prop::option::of(1u32..5),
        window,
        1u32..4,
        1u32..3,
    )
        .prop_map(
            |(
                failure_threshold,
                minimum_requests,
                window,
                half_open_max_calls,
                success_threshold,
            )| {
                Config {
                    failure_threshold,
                    minimum_requests,
                    window,
                    open_duration: 30 * MS,
                    half_open_max_calls,
                    success_threshold,
                    slow_call_duration: Some(5 * MS),
                    call_timeout: Some(20 * MS),
                    ..Config::default()
                }
            },
        )
}

fn steps() -> usize {
    std::env::var("TRIPWIRE_MODEL_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

struct Proc {
    b: FleetBreaker,
    // A reply the store gave that has not reached the process yet.
    inbox: Option<Vec<Value>>,
}

struct World {
    store: MemoryStore,
    procs: Vec<Proc>,
    time_window: bool,
    now: u64,
    // What the test saw: the sum every process's outcomes must add up to.
    sent: Tally,
    // (process, permit, the store generation its lease was granted in, issued at).
    permits: Vec<(usize, Permit, Option<u64>, u64)>,
}

impl World {
    fn send(&mut self, p: usize) {
        let proc = &mut self.procs[p];
        if proc.inbox.is_some() {
            return;
        }
        if let Some(call) = proc.b.flush_request(self.now) {
            proc.inbox = Some(self.store.call(&call).unwrap());
        }
    }

    fn deliver(&mut self, p: usize) {
        if let Some(reply) = self.procs[p].inbox.take() {
            self.procs[p].b.complete(Ok(&reply), self.now).unwrap();
        }
    }

    fn sync(&mut self, p: usize) {
        self.deliver(p);
        for _ in 0..8 {
            self.send(p);
            if self.procs[p].inbox.is_none() {
                break;
            }
            self.deliver(p);
        }
    }

    fn acquire(&mut self, p: usize) -> Result<(), TestCaseError> {
        let now = self.now;
        let b = &mut self.procs[p].b;
        match b.try_acquire(now) {
            Acquire::Permit(permit) => self.permits.push((p, permit, None, now)),
            Acquire::Rejected(_) => self.sent.rejected += 1,
            Acquire::Lease(lease) => {
                let reply = self.store.call(&lease.call).unwrap();
                let generation = Reply::decode(&reply, self.time_window).unwrap().generation;
                match b.lease_reply(lease.ticket, Ok(&reply), now) {
                    Ok(permit) => {
                        prop_assert!(permit.is_trial());
                        self.permits.push((p, permit, Some(generation), now));
                    }
                    Err(_) => self.sent.rejected += 1,
                }
            }
        }
        Ok(())
    }

    fn check_trials(&self, max: u32) -> Result<(), TestCaseError> {
        let mut per_generation: HashMap<u64, u32> = HashMap::new();
        for (_, _, g, _) in &self.permits {
            if let Some(g) = g {
                *per_generation.entry(*g).or_default() += 1;
            }
        }
        for (g, n) in per_generation {
            prop_assert!(n <= max, "{} trials hold a lease in generation {}", n, g);
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(RunnerConfig {
        cases: 128,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..RunnerConfig::default()
    })]

    #[test]
    fn fleet_matches_its_promises(
        cfg in config().prop_filter("valid", |c| c.validate().is_ok()),
        k in 2usize..5,
        ops in prop::collection::vec(op(4), steps()),
    ) {
        let time_window = matches!(cfg.window, WindowKind::Time { .. });
        let procs = (0..k)
            .map(|p| {
                let mut o = FleetOptions::new("model");
                o.inject_now = true;
                o.process_id = p as u64;
                o.store_failures = 2;
                o.store_retry = 50 * MS;
                o.lease_ttl = Some(10_000 * MS);
                Proc { b: FleetBreaker::new(cfg, o).unwrap(), inbox: None }
            })
            .collect();
        let mut w = World {
            store: MemoryStore::new(),
            procs,
            time_window,
            now: 1_000 * MS,
            sent: Tally::default(),
            permits: Vec::new(),
        };
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                Op::Acquire(p) => w.acquire(p % k)?,
                Op::Record(p, pick, o, d) => {
                    let mine: Vec<usize> = (0..w.permits.len()).filter(|&j| w.permits[j].0 == p % k).collect();
                    if !mine.is_empty() {
                        let (p, permit, _, issued) = w.permits.swap_remove(mine[pick % mine.len()]);
                        let outcome = [Outcome::Success, Outcome::Success, Outcome::Failure, Outcome::Timeout, Outcome::Ignored][o as usize];
                        w.now += d;
                        w.procs[p].b.record(permit, outcome, w.now);
                        // What the totals must show: the same classification as the core's.
                        let took = w.now - issued;
                        match outcome {
                            Outcome::Ignored | Outcome::Cancelled => w.sent.ignored += 1,
                            Outcome::Success if took <= 20 * MS => w.sent.successes += 1,
                            Outcome::Success | Outcome::Timeout => { w.sent.failures += 1; w.sent.timeouts += 1; }
                            Outcome::Failure => w.sent.failures += 1,
                        }
                        if outcome != Outcome::Ignored && took > 5 * MS { w.sent.slow += 1; }
                    }
                }
                Op::Send(p) => w.send(p % k),
                Op::Deliver(p) => w.deliver(p % k),
                Op::Fail(p) => {
                    // A call that never reached the store.
                    let p = p % k;
                    if w.procs[p].inbox.is_none() && w.procs[p].b.flush_request(w.now).is_some() {
                        w.procs[p].b.complete(Err(StoreError::Unavailable), w.now).unwrap();
                    }
                }
                Op::Advance(d) => w.now += d,
                Op::Sync => {
                    for p in (0..k).chain(0..k) {
                        w.procs[p].b.request_sync();
                        w.sync(p);
                    }
                    let probe = { let mut b = FleetBreaker::new(cfg, { let mut o = FleetOptions::new("model"); o.inject_now = true; o }).unwrap(); let c = b.flush_request(w.now).unwrap(); Reply::decode(&w.store.call(&c).unwrap(), time_window).unwrap() };
                    for p in 0..k {
                        let b = &mut w.procs[p].b;
                        if b.link() != Link::Shared || !b.joined() || b.in_flight() {
                            continue;
                        }
                        if probe.state == State::Open && probe.control == Control::Normal && probe.open_remaining > 0 {
                            prop_assert_eq!(b.state(w.now), State::Open, "step {}: process {} after its sync: {:?} {:?} store {:?} now {}", i, p, b.generation(), b.stats(w.now).next_attempt_at, probe, w.now);
                            let refused = matches!(b.try_acquire(w.now), Acquire::Rejected(_));
                            prop_assert!(refused, "step {}: process {} admits a call while the fleet is open", i, p);
                            w.sent.rejected += 1;
                        }
                    }
                }
            }
            w.check_trials(cfg.half_open_max_calls)?;
        }
        // The end: every call ends, every process gets back to the store and flushes.
        let now = w.now;
        for (p, permit, _, _) in std::mem::take(&mut w.permits) {
            w.procs[p].b.record(permit, Outcome::Ignored, now);
            w.sent.ignored += 1;
        }
        w.now += 1_000 * MS;
        for p in 0..k {
            w.deliver(p);
            for _ in 0..20 {
                w.sync(p);
            }
            prop_assert_eq!(w.procs[p].b.link(), Link::Shared);
        }
        let totals = w.procs[0].b.fleet_totals();
        let mut all = Tally::default();
        for p in 0..k {
            w.procs[p].b.request_sync();
            w.sync(p);
            all = w.procs[p].b.fleet_totals();
        }
        let _ = totals;
        prop_assert_eq!(all, w.sent, "the fleet's totals are the sum of every process's");
    }
}
