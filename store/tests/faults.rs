//! Store faults against a real redis-server: stopped (`kill -STOP`), killed and
//! restarted (state and script cache gone), `CLIENT PAUSE`, `DEBUG SLEEP`, and a TCP
//! proxy that delays, blackholes or cuts connections. In every case the call path
//! (`try_acquire` + `record`) returns while the store does not answer (checked
//! structurally: the calls finish before the fault is healed), the store reports one
//! outage episode (one `store_down`, one `store_up`), and after recovery the fleet's
//! totals hold every outcome.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use common::{wait_until, Recorder};
use tripwire_core::fleet::{FleetOptions, Link};
use tripwire_core::{Config, Outcome, Threshold, WindowKind};
use tripwire_store::{Admit, BreakerHandle, RedisStore, StoreOptions};
use tripwire_testkit::{Mode, Proxy, RedisServer};

/// `n` calls, one failure in ten (a flush at once); the breaker never trips.
fn calls(b: &BreakerHandle, n: u64) {
    for i in 0..n {
        let Admit::Permit(p) = b.try_acquire() else {
            panic!("never trips")
        };
        let outcome = if i % 10 == 0 {
            Outcome::Failure
        } else {
            Outcome::Success
        };
        assert!(b.record(p, outcome).is_none());
    }
}

/// Runs `n` calls on another thread; if they do not finish while the fault lasts,
/// the call path waited on the store: heal (so that nothing hangs) and fail.
fn calls_during_fault(b: &BreakerHandle, n: u64, heal: &mut dyn FnMut()) {
    let (tx, rx) = mpsc::channel();
    let h = b.clone();
    std::thread::spawn(move || {
        calls(&h, n);
        let _ = tx.send(());
    });
    if rx.recv_timeout(Duration::from_secs(30)).is_err() {
        heal();
        panic!("the call path waited on the store during the fault");
    }
}

fn total(b: &BreakerHandle) -> u64 {
    let t = b.fleet_view().fleet_totals;
    t.successes + t.failures
}

/// One outage episode: outcomes before, during (until the store is declared down),
/// in local mode, then recovery. `lost`: the fault loses the store's state.
fn episode(url: String, fault: &mut dyn FnMut(), heal: &mut dyn FnMut(), lost: bool) {
    let events = Recorder::new();
    let mut o = StoreOptions::new(url);
    o.flush_interval = Duration::from_millis(20);
    o.poll_interval = Duration::from_millis(100);
    let store = RedisStore::new(o, Some(events.clone())).unwrap();
    let config = Config {
        failure_threshold: Threshold::Count(100_000),
        window: WindowKind::Count { size: 10_000 },
        ..Config::default()
    };
    let b = store
        .register(config, FleetOptions::new("fault"), Some(events.clone()))
        .unwrap();
    // A second breaker: its outage is the same episode.
    let other = store
        .register(config, FleetOptions::new("fault-2"), None)
        .unwrap();
    wait_until("joined", || {
        b.fleet_view().joined && other.fleet_view().joined
    });
    calls(&b, 100);
    wait_until("flushed", || total(&b) == 100);

    fault();
    calls_during_fault(&b, 200, heal);
    calls_during_fault(&other, 10, heal);
    // The flushes of those outcomes fail until the breakers around the store open.
    wait_until("both breakers local", || {
        b.fleet_view().link == Link::Local && other.fleet_view().link == Link::Local
    });
    // The event comes from the store's thread just after the links went local.
    wait_until("store down", || events.downs() >= 1);
    assert_eq!(events.downs(), 1, "one store_down for the episode");
    calls_during_fault(&b, 100, heal);
    heal();
    wait_until("store up", || events.ups() == 1);
    assert_eq!(b.fleet_view().link, Link::Shared);
    assert_eq!(other.fleet_view().link, Link::Shared);

    if lost {
        // Everything since the state was lost, exactly: the store adopted its totals
        // from this process's queued outcomes.
        wait_until("the outage's outcomes flushed", || total(&b) >= 300);
        assert_eq!(total(&b), 300);
    } else {
        // At least every outcome: a flush that timed out after the server ran it is
        // counted twice (FLEET.md), never lost.
        wait_until("every outcome flushed", || total(&b) >= 400);
        assert!(b.stats().window_calls >= 400, "the window holds them all");
    }
    assert_eq!(
        (events.downs(), events.ups()),
        (1, 1),
        "one episode: {:?}",
        events.faults.lock().unwrap()
    );
    eprintln!(
        "the episode's log line: {}",
        events.faults.lock().unwrap()[0]
    );
    store.close();
}

fn redis_cmd(server: &RedisServer, args: &[&str]) {
    let mut c = server.connect().unwrap();
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query::<()>(&mut c).unwrap();
}

#[test]
fn sigstop_then_sigcont() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let server = &server;
    episode(
        server.url(),
        &mut || server.signal("STOP"),
        &mut || server.signal("CONT"),
        false,
    );
}

#[test]
fn kill_9_and_restart() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let url = server.url();
    let server = Mutex::new(server);
    episode(
        url,
        &mut || server.lock().unwrap().kill(),
        &mut || server.lock().unwrap().restart(),
        true,
    );
}

#[test]
fn client_pause() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let server = &server;
    // WRITE: the scripts wait, UNPAUSE still runs (with ALL it would wait too).
    episode(
        server.url(),
        &mut || redis_cmd(server, &["CLIENT", "PAUSE", "600000", "WRITE"]),
        &mut || redis_cmd(server, &["CLIENT", "UNPAUSE"]),
        false,
    );
}

#[test]
fn debug_sleep() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let server = &server;
    let sleeper = Mutex::new(None);
    let port = server.port();
    episode(
        server.url(),
        &mut || {
            // The server answers nothing for 5 s (the heal waits for it).
            *sleeper.lock().unwrap() = Some(std::thread::spawn(move || {
                let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
                c.write_all(b"DEBUG SLEEP 5\r\n").unwrap();
                let mut reply = [0u8; 5];
                c.read_exact(&mut reply).unwrap();
            }));
        },
        &mut || {
            if let Some(s) = sleeper.lock().unwrap().take() {
                s.join().unwrap();
            }
        },
        false,
    );
}

fn through_proxy(mode: Mode) {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let proxy = Proxy::start(server.port());
    let proxy = &proxy;
    episode(
        format!("redis://127.0.0.1:{}/", proxy.port()),
        &mut || proxy.set(mode),
        &mut || proxy.set(Mode::Pass),
        false,
    );
}

#[test]
fn proxy_delay() {
    // Every chunk 500 ms late: five timeouts.
    through_proxy(Mode::Delay(Duration::from_millis(500)));
}

#[test]
fn proxy_blackhole() {
    through_proxy(Mode::Blackhole);
}

#[test]
fn proxy_reset() {
    through_proxy(Mode::Reset);
}
