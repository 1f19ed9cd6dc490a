//! `fork()` (Python's `os.fork()`, gunicorn with `--preload`): a child uses the store
//! made before the fork — its I/O threads start again in the child, its breakers join
//! anew — while the parent keeps flushing; children forked while the parent's I/O
//! thread is busy never deadlock; the fleet's totals are the exact sum (a child never
//! flushes the parent's pending outcomes).

mod common;

use std::os::raw::c_int;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::wait_until;
use tripwire_core::fleet::FleetOptions;
use tripwire_core::{Config, Outcome, Threshold, WindowKind};
use tripwire_store::{Admit, BreakerHandle, RedisStore, StoreOptions};
use tripwire_testkit::RedisServer;

extern "C" {
    fn fork() -> c_int;
    fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
    fn _exit(code: c_int) -> !;
    fn kill(pid: c_int, sig: c_int) -> c_int;
}

const WNOHANG: c_int = 1;
const SIGKILL: c_int = 9;
const CHILD_CALLS: u64 = 50;

fn calls(b: &BreakerHandle, n: u64, outcome: Outcome) -> bool {
    (0..n).all(|_| match b.try_acquire() {
        Admit::Permit(p) => {
            let _ = b.record(p, outcome);
            true
        }
        _ => false,
    })
}

/// (the parent's calls, the children's) in the fleet's totals.
fn totals(b: &BreakerHandle) -> (u64, u64) {
    let t = b.fleet_view().fleet_totals;
    (t.successes + t.failures, t.ignored)
}

/// The child's whole life: use the inherited store, see its outcomes reach the fleet
/// (ignored calls, which only children make: `ignored` is the children's so far, its
/// own included), exit without returning to the test harness.
fn child(b: &BreakerHandle, ignored: u64) -> ! {
    let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if !calls(b, CHILD_CALLS, Outcome::Ignored) {
            return false;
        }
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            let v = b.fleet_view();
            if v.joined && v.fleet_totals.ignored >= ignored {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }));
    // SAFETY: ends the child at once, as after fork in any test.
    unsafe { _exit(if matches!(ok, Ok(true)) { 0 } else { 1 }) }
}

/// Waits for the child (bounded: a deadlocked child is killed and reported).
fn reap(pid: c_int) -> c_int {
    let end = Instant::now() + Duration::from_secs(30);
    let mut status: c_int = 0;
    loop {
        // SAFETY: waits for our own child.
        let r = unsafe { waitpid(pid, &mut status, WNOHANG) };
        if r == pid {
            return status;
        }
        if Instant::now() > end {
            // SAFETY: kills our own child, by pid.
            unsafe { kill(pid, SIGKILL) };
            panic!("child {pid} hung (a lock held across the fork?)");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn children_restart_the_store_and_the_totals_stay_exact() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let mut o = StoreOptions::new(server.url());
    o.flush_interval = Duration::from_millis(5);
    o.poll_interval = Duration::from_millis(50);
    let store = RedisStore::new(o, None).unwrap();
    let config = Config {
        failure_threshold: Threshold::Count(1_000_000),
        ..Config::default()
    };
    let b = store
        .register(config, FleetOptions::new("forked"), None)
        .unwrap();
    wait_until("joined", || b.fleet_view().joined);

    // Forks land while the parent's I/O thread is busy: every fork follows failures
    // (each wakes it to flush at once). Only the forking thread makes calls, as in
    // Python, where the forking thread holds the GIL.
    const CHILDREN: u64 = 12;
    let mut parent_calls = 0;
    for i in 1..=CHILDREN {
        assert!(calls(&b, 20, Outcome::Failure));
        parent_calls += 20;
        // SAFETY: the child only runs `child`, which ends in `_exit`.
        let pid = unsafe { fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            child(&b, i * CHILD_CALLS);
        }
        assert_eq!(reap(pid), 0, "the child's outcomes reached the fleet");
    }
    let want = (parent_calls, CHILDREN * CHILD_CALLS);
    wait_until("every outcome flushed", || {
        let t = totals(&b);
        t.0 >= want.0 && t.1 >= want.1
    });
    assert_eq!(
        totals(&b),
        want,
        "exact: no child flushed the parent's outcomes"
    );
    store.close();
}

/// Another thread keeps calling the breaker (and waking the I/O thread) while the
/// forks happen: the fork handler holds every lock across the fork, so no child
/// inherits one held by a thread it does not have (a free-threaded Python, or a
/// native thread).
#[test]
fn children_forked_while_another_thread_calls_never_hang() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let mut o = StoreOptions::new(server.url());
    o.flush_interval = Duration::from_millis(5);
    let store = RedisStore::new(o, None).unwrap();
    // Alternating outcomes never reach a 100 % rate: no trip, however many calls.
    let config = Config {
        failure_threshold: Threshold::Rate(1.0),
        minimum_requests: Some(10),
        window: WindowKind::Count { size: 100 },
        ..Config::default()
    };
    let b = store
        .register(config, FleetOptions::new("busy"), None)
        .unwrap();
    wait_until("joined", || b.fleet_view().joined);
    let stop = Arc::new(AtomicBool::new(false));
    let busy = {
        let (b, stop) = (b.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                assert!(calls(&b, 1, Outcome::Success));
                assert!(calls(&b, 1, Outcome::Failure));
                n += 2;
            }
            n
        })
    };
    const CHILDREN: u64 = 12;
    for i in 1..=CHILDREN {
        // SAFETY: the child only runs `child`, which ends in `_exit`.
        let pid = unsafe { fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            child(&b, i * CHILD_CALLS);
        }
        assert_eq!(reap(pid), 0, "the child's outcomes reached the fleet");
    }
    stop.store(true, Ordering::SeqCst);
    let want = (busy.join().unwrap(), CHILDREN * CHILD_CALLS);
    wait_until("every outcome flushed", || {
        let t = totals(&b);
        t.0 >= want.0 && t.1 >= want.1
    });
    assert_eq!(
        totals(&b),
        want,
        "exact: no child flushed the parent's outcomes"
    );
    store.close();
}
