//! Replays every breaker vector in `tests/vectors/` in shared mode: one process's
//! `FleetBreaker` and the in-memory store (the scripts' reference semantics), with
//! the store's clock injected from the manual clock and every pending store call
//! sent after every operation (`flushInterval: 0`). The result must be the local one.
//!
//! A start state is the fleet's state when the store holds none (the first sync here);
//! the failure streak, forced half-open and timed open are the fleet's too.
//!
//! Not replayed: vectors of what a fleet breaker does not have (a half-open timer or
//! wait, windowed statistics), and the five `snapshot_restore` vectors (046–050). A snapshot is one
//! process's whole state, restored into a new breaker; in a fleet the state lives in
//! the store and a restarted process joins (adopts) it instead, so "restore" has no
//! meaning of its own there (the join is covered by `tests/fleet.rs`).

use std::collections::HashMap;
mod common;

use common::breaker_vectors::{config, ms, outcome, same, stat, Seen, NS_PER_MS};

use std::path::Path;

use serde_json::Value;
use tripwire_core::fleet::{Acquire, FleetBreaker, FleetOptions, MemoryStore};
use tripwire_core::Permit;

fn replay(path: &Path) {
    replay_json(&std::fs::read_to_string(path).unwrap());
}

fn replay_json(json: &str) {
    let vector: Value = serde_json::from_str(json).unwrap();
    let name = vector["name"].as_str().unwrap_or("?");
    let config = config(vector["config"].as_object().expect("config"));
    let steps = vector["steps"].as_array().unwrap();
    let unshared = steps
        .iter()
        .any(|s| s["op"].as_str() == Some("snapshot_restore"));
    let local = [
        "half_open_timer",
        "half_open_wait",
        "window_stats",
        "rejects_in_rate",
        "keep_window",
    ];
    if unshared || local.iter().any(|k| vector["config"].get(k).is_some()) {
        return;
    }
    let mut store = MemoryStore::new();
    let mut options = FleetOptions::new("vector");
    options.inject_now = true;
    let mut breaker = FleetBreaker::new(config, options).unwrap();
    sync(&mut breaker, &mut store, 0);
    let mut permits: HashMap<String, Permit> = HashMap::new();
    let mut clock = 0u64;
    for (i, step) in vector["steps"].as_array().unwrap().iter().enumerate() {
        let at = (step["at"].as_f64().expect("at") * NS_PER_MS) as u64;
        assert!(at >= clock, "{name}: step {i} goes back in time");
        clock = at;
        let op = step["op"].as_str().unwrap();
        let mut seen = Seen::default();
        let acquire = |breaker: &mut FleetBreaker,
                       store: &mut MemoryStore,
                       seen: &mut Seen,
                       now| match acquire(breaker, store, now) {
            Ok(permit) => {
                seen.permit = Some(true);
                seen.transition = Some(permit.transition());
                Some(permit)
            }
            Err(rejected) => {
                seen.permit = Some(false);
                seen.rejected = Some((rejected.state.as_str(), rejected.retry_after));
                seen.transition = Some(None);
                None
            }
        };
        match op {
            "acquire" => {
                if let Some(permit) = acquire(&mut breaker, &mut store, &mut seen, clock) {
                    if let Some(id) = step["id"].as_str() {
                        permits.insert(id.to_owned(), permit);
                    }
                }
            }
            "success" | "failure" | "timeout" | "ignore" | "cancel" => {
                let id = step["id"].as_str().expect("id");
                let permit = permits
                    .remove(id)
                    .unwrap_or_else(|| panic!("{name}: no permit {id}"));
                seen.transition = Some(breaker.record(permit, outcome(op), clock).transition);
            }
            "call" => {
                if let Some(permit) = acquire(&mut breaker, &mut store, &mut seen, clock) {
                    clock += (step["duration"].as_f64().unwrap_or(0.0) * NS_PER_MS) as u64;
                    let t = breaker
                        .record(permit, outcome(step["outcome"].as_str().unwrap()), clock)
                        .transition;
                    seen.transition = Some(t.or(seen.transition.flatten()));
                }
            }
            "force_open" => seen.transition = Some(Some(breaker.force_open(clock))),
            "trip" => seen.transition = Some(Some(breaker.trip(clock))),
            "half_open" => seen.transition = Some(Some(breaker.half_open(clock))),
            "close" => seen.transition = Some(Some(breaker.close(clock))),
            "reset" => seen.transition = Some(Some(breaker.reset(clock))),
            "disable" => seen.transition = Some(Some(breaker.disable(clock))),
            "enable" => seen.transition = Some(Some(breaker.enable(clock))),
            "check" => {}
            other => panic!("{name}: unknown op {other}"),
        }
        sync(&mut breaker, &mut store, clock);
        let ctx = format!("{name} (step {i}: {op} at {})", step["at"]);
        let Some(expect) = step.get("expect").and_then(Value::as_object) else {
            continue;
        };
        for (key, want) in expect {
            let got = match key.as_str() {
                "permit" => {
                    serde_json::json!(seen.permit.unwrap_or_else(|| panic!("{ctx}: no acquire")))
                }
                "rejected" => serde_json::json!(seen.rejected.map(|r| r.0)),
                "retry_after_ms" => ms(seen.rejected.and_then(|r| r.1)),
                "transition" => {
                    let t = seen
                        .transition
                        .unwrap_or_else(|| panic!("{ctx}: step reports no transition"));
                    t.map_or(Value::Null, |t| {
                        format!("{}->{}", t.from.as_str(), t.to.as_str()).into()
                    })
                }
                // Vectors with a half-open timer are not replayed here: none fires.
                "timer" => Value::Null,
                // Nor those with windowed statistics: a fleet breaker keeps none.
                "window_stats" => Value::Null,
                "state" => breaker.state(clock).as_str().into(),
                "stats" => {
                    let stats = breaker.stats(clock);
                    for (k, v) in want.as_object().unwrap() {
                        let got = stat(&stats, k);
                        assert!(same(v, &got), "{ctx}: stats.{k} expected {v}, got {got}");
                    }
                    continue;
                }
                other => panic!("{ctx}: unknown expectation {other}"),
            };
            assert!(same(want, &got), "{ctx}: {key} expected {want}, got {got}");
        }
    }
}

/// Sends every pending store call and hands the replies back.
fn sync(breaker: &mut FleetBreaker, store: &mut MemoryStore, now: u64) {
    while let Some(call) = breaker.flush_request(now) {
        let reply = store.call(&call).unwrap();
        breaker.complete(Ok(&reply), now).unwrap();
    }
}

/// `try_acquire`, with the lease round trip when one is needed.
fn acquire(
    breaker: &mut FleetBreaker,
    store: &mut MemoryStore,
    now: u64,
) -> Result<Permit, tripwire_core::Rejected> {
    match breaker.try_acquire(now) {
        Acquire::Permit(p) => Ok(p),
        Acquire::Rejected(r) => Err(r),
        Acquire::Lease(lease) => {
            let reply = store.call(&lease.call).unwrap();
            breaker.lease_reply(lease.ticket, Ok(&reply), now)
        }
    }
}

#[test]
fn every_vector_replays_in_shared_mode() {
    common::replay_all("", 40, replay);
}
