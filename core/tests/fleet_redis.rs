//! The fleet store's Lua scripts against a real redis-server: the same operation
//! sequences run on the scripts and on the in-memory reference store, and every reply
//! must be the same. The test starts its own redis-server on a free loopback port
//! (no persistence) and stops it by its pid; without `redis-server` on the PATH it
//! says so and passes (`make test` installs it: scripts/setup-redis.sh). The server
//! starter is shared with the store's tests: `tripwire-testkit`.

use std::time::Duration;

use tripwire_core::fleet::{
    Acquire, Control, FleetBreaker, FleetOptions, MemoryStore, Reply, Script, StoreCall, Value,
};
use tripwire_core::{
    Config, Outcome, Permit, Start, State, Threshold, WindowKind, NANOS_PER_MILLI,
};
use tripwire_testkit::RedisServer;

fn flat(v: redis::Value) -> Vec<Value> {
    match v {
        redis::Value::Array(items) => items
            .into_iter()
            .map(|i| match i {
                redis::Value::Int(n) => Value::Int(n),
                redis::Value::BulkString(b) => Value::Data(b),
                other => panic!("unexpected reply element {other:?}"),
            })
            .collect(),
        other => panic!("unexpected reply {other:?}"),
    }
}

/// Runs store calls the way a binding does: EVALSHA, and EVAL after NOSCRIPT.
struct Scripts {
    con: redis::Connection,
    fallbacks: usize,
}

impl Scripts {
    fn sha(script: Script) -> String {
        redis::Script::new(script.source()).get_hash().to_string()
    }

    fn call(&mut self, call: &StoreCall) -> Vec<Value> {
        let attempt = redis::cmd("EVALSHA")
            .arg(Self::sha(call.script))
            .arg(3)
            .arg(&call.keys[..])
            .arg(&call.args[..])
            .query::<redis::Value>(&mut self.con);
        match attempt {
            Ok(v) => flat(v),
            Err(e) if e.code() == Some("NOSCRIPT") => {
                self.fallbacks += 1;
                let v = redis::cmd("EVAL")
                    .arg(call.script.source())
                    .arg(3)
                    .arg(&call.keys[..])
                    .arg(&call.args[..])
                    .query::<redis::Value>(&mut self.con)
                    .unwrap_or_else(|e| panic!("{} failed: {e}", call.script.name()));
                flat(v)
            }
            Err(e) => panic!("{} failed: {e}", call.script.name()),
        }
    }
}

/// The scripts and the reference store, side by side: every reply compared.
struct Twin {
    redis: Scripts,
    memory: MemoryStore,
    calls: usize,
}

impl Twin {
    fn call(&mut self, call: &StoreCall) -> Vec<Value> {
        let real = self.redis.call(call);
        let reference = self.memory.call(call).unwrap();
        assert_eq!(
            real,
            reference,
            "call {} ({} {:?}): the script and the reference differ",
            self.calls,
            call.script.name(),
            call.args
        );
        self.calls += 1;
        real
    }

    fn sync(&mut self, b: &mut FleetBreaker, now: u64) {
        while let Some(call) = b.flush_request(now) {
            let reply = self.call(&call);
            b.complete(Ok(&reply), now).unwrap();
        }
    }

    fn acquire(&mut self, b: &mut FleetBreaker, now: u64) -> Option<Permit> {
        match b.try_acquire(now) {
            Acquire::Permit(p) => Some(p),
            Acquire::Rejected(_) => None,
            Acquire::Lease(lease) => {
                let reply = self.call(&lease.call);
                b.lease_reply(lease.ticket, Ok(&reply), now).ok()
            }
        }
    }
}

/// A small deterministic generator (no dependency, same sequence every run).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn configs() -> Vec<Config> {
    let ms = NANOS_PER_MILLI;
    vec![
        Config {
            failure_threshold: Threshold::Count(3),
            window: WindowKind::Count { size: 7 },
            open_duration: 50 * ms,
            half_open_max_calls: 2,
            success_threshold: 2,
            call_timeout: Some(30 * ms),
            ..Config::default()
        },
        Config {
            failure_threshold: Threshold::Rate(0.5),
            minimum_requests: Some(4),
            window: WindowKind::Time {
                duration: 100 * ms,
                buckets: 4,
            },
            open_duration: 40 * ms,
            half_open_max_calls: 1,
            success_threshold: 1,
            slow_call_duration: Some(5 * ms),
            slow_call_rate_threshold: Some(0.5),
            call_timeout: None,
            ..Config::default()
        },
    ]
}

/// Three processes, random operations, the store's clock injected: every reply of the
/// scripts equals the reference's, and the fleet behaves (trips propagate, leases cap).
#[test]
fn scripts_agree_with_the_reference_store() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let mut twin = Twin {
        redis: Scripts {
            con: server.connect().unwrap(),
            fallbacks: 0,
        },
        memory: MemoryStore::new(),
        calls: 0,
    };
    let ms = NANOS_PER_MILLI;
    for (ci, config) in configs().into_iter().enumerate() {
        let mut rng = Lcg(ci as u64 + 7);
        let mut now = 1_000 * ms;
        let mut fleet: Vec<FleetBreaker> = (0..3)
            .map(|p| {
                let mut o = FleetOptions::new(format!("agree-{ci}"));
                o.inject_now = true;
                o.process_id = p + 1;
                // The first member of every other fleet is made open: its join
                // makes the fleet's state (the read's start argument).
                let start = match (p, ci % 2) {
                    (0, 1) => Start::Open {
                        remaining: Some(30 * ms),
                    },
                    _ => Start::Closed,
                };
                FleetBreaker::new_at(Config { start, ..config }, o, now).unwrap()
            })
            .collect();
        let mut permits: Vec<(usize, Permit)> = Vec::new();
        for b in fleet.iter_mut() {
            twin.sync(b, now);
        }
        let mut trips = 0;
        for step in 0..1500 {
            let p = rng.next(3) as usize;
            match rng.next(10) {
                0..=3 => {
                    if let Some(permit) = twin.acquire(&mut fleet[p], now) {
                        permits.push((p, permit));
                    }
                }
                4..=7 if !permits.is_empty() => {
                    let (p, permit) = permits.swap_remove(rng.next(permits.len() as u64) as usize);
                    let outcome = [
                        Outcome::Success,
                        Outcome::Success,
                        Outcome::Failure,
                        Outcome::Timeout,
                        Outcome::Ignored,
                    ][rng.next(5) as usize];
                    let r = fleet[p].record(permit, outcome, now);
                    if r.transition.is_some_and(|t| t.to == State::Open) {
                        trips += 1;
                    }
                }
                8 => now += rng.next(20) * ms,
                _ => match rng.next(40) {
                    0 => drop(fleet[p].force_open(now)),
                    1 => drop(fleet[p].close(now)),
                    2 => drop(fleet[p].reset(now)),
                    3 => drop(fleet[p].trip(now)),
                    4 => drop(fleet[p].half_open(now)),
                    _ => fleet[p].request_sync(),
                },
            }
            twin.sync(&mut fleet[p], now);
            // A trip in one process is a refusal in the others after their next sync.
            // (Two rounds: a process may decide a trip from the totals others flushed.)
            if step % 50 == 0 {
                for i in [0, 1, 2, 0, 1, 2] {
                    fleet[i].request_sync();
                    twin.sync(&mut fleet[i], now);
                }
                let states: Vec<State> = fleet.iter().map(|b| b.state(now)).collect();
                assert!(
                    states.windows(2).all(|w| w[0] == w[1]),
                    "step {step}: after a sync every process agrees: {states:?}"
                );
            }
        }
        assert!(trips > 0, "config {ci}: the sequence never tripped");
    }
    assert!(twin.calls > 1000, "{} calls compared", twin.calls);
}

/// Real TIME (no injection): durations come back as durations, keys carry TTLs, a
/// transition is published, and EVALSHA falls back to EVAL after SCRIPT FLUSH.
#[test]
fn real_clock_ttls_publish_and_noscript() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let mut scripts = Scripts {
        con: server.connect().unwrap(),
        fallbacks: 0,
    };
    let mut sub = server.connect().unwrap();
    let ms = NANOS_PER_MILLI;
    let config = Config {
        failure_threshold: Threshold::Count(2),
        open_duration: 60_000 * ms,
        ..Config::default()
    };
    let mut a = FleetBreaker::new(config, FleetOptions::new("real")).unwrap();
    let mut b = FleetBreaker::new(config, FleetOptions::new("real")).unwrap();
    let mut pubsub = sub.as_pubsub();
    pubsub.subscribe(a.channel()).unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // First calls: the scripts are not loaded yet.
    let send = |s: &mut Scripts, b: &mut FleetBreaker, now| {
        while let Some(call) = b.flush_request(now) {
            let reply = s.call(&call);
            b.complete(Ok(&reply), now).unwrap();
        }
    };
    send(&mut scripts, &mut a, 0);
    send(&mut scripts, &mut b, 0);
    assert_eq!(scripts.fallbacks, 1, "EVAL after NOSCRIPT, once");
    for t in 1..=2 {
        let Acquire::Permit(p) = a.try_acquire(t) else {
            panic!("closed")
        };
        a.record(p, Outcome::Failure, t);
    }
    assert_eq!(a.state(3), State::Open);
    send(&mut scripts, &mut a, 3);
    assert_eq!(
        scripts.fallbacks, 2,
        "the flush script is loaded by its first EVAL"
    );
    let loaded = scripts.fallbacks;
    let msg = pubsub.get_message().expect("a transition is published");
    let payload: String = msg.get_payload().unwrap();
    assert_eq!(payload, "1 1 0", "generation 1, OPEN, normal");
    b.request_sync();
    send(&mut scripts, &mut b, 10);
    let stats = b.stats(10);
    assert_eq!(stats.state, State::Open, "adopted from the store");
    let wait = stats.next_attempt_at.unwrap() - 10;
    assert!(
        wait <= 60_000 * ms && wait > 50_000 * ms,
        "a duration mapped onto b's clock: {wait}"
    );
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&a.keys()[0])
        .query(&mut scripts.con)
        .unwrap();
    assert!(ttl > 0, "keys expire: PTTL {ttl}");
    // The script cache is gone (as after a restart): EVAL again, then EVALSHA.
    redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query::<()>(&mut scripts.con)
        .unwrap();
    b.request_sync();
    send(&mut scripts, &mut b, 20);
    assert_eq!(
        scripts.fallbacks,
        loaded + 1,
        "NOSCRIPT once after SCRIPT FLUSH"
    );
    b.request_sync();
    send(&mut scripts, &mut b, 30);
    assert_eq!(scripts.fallbacks, loaded + 1);
    // The reply decodes as the reference's shape.
    let call = StoreCall {
        script: Script::Read,
        keys: a.keys().clone(),
        args: vec![
            String::new(),
            "1000".into(),
            "t 6000000 10".into(),
            "other".into(),
        ],
    };
    let reply = Reply::decode(&scripts.call(&call), true).unwrap();
    assert_eq!((reply.state, reply.control), (State::Open, Control::Normal));
    assert_eq!(reply.result, 0, "a different fingerprint");
    assert!(reply
        .fingerprint
        .unwrap()
        .starts_with("failure_threshold=count:2"));
}
