//! The closed path's cost in shared mode beside the local engine: `try_acquire` +
//! `record` (one success) per call, on the core's `Breaker`, through a `BreakerHandle`
//! with the store healthy, and with the store stopped (`kill -STOP`). Rounds are
//! interleaved and the median per variant is printed, so that the machine's load
//! affects every variant alike. `cargo bench -p tripwire-store` (make bench-store).

use std::hint::black_box;
use std::time::{Duration, Instant};

use std::sync::Mutex;

use tripwire_core::fleet::{Acquire, FleetBreaker, FleetOptions};
use tripwire_core::{Breaker, Clock, Config, MonotonicClock, Outcome};
use tripwire_store::{Admit, BreakerHandle, RedisStore, StoreOptions};
use tripwire_testkit::RedisServer;

const CALLS: u32 = 200_000;
const ROUNDS: usize = 15;

fn local(b: &mut Breaker, clock: &MonotonicClock) -> f64 {
    let start = Instant::now();
    for _ in 0..CALLS {
        // Two clock reads, as the handle does.
        let p = b.try_acquire(clock.now()).unwrap();
        black_box(b.record(p, Outcome::Success, clock.now()));
    }
    start.elapsed().as_nanos() as f64 / f64::from(CALLS)
}

fn locked(b: &Mutex<Breaker>, clock: &MonotonicClock) -> f64 {
    let start = Instant::now();
    for _ in 0..CALLS {
        let p = b.lock().unwrap().try_acquire(clock.now()).unwrap();
        black_box(b.lock().unwrap().record(p, Outcome::Success, clock.now()));
    }
    start.elapsed().as_nanos() as f64 / f64::from(CALLS)
}

fn fleet_alone(b: &mut FleetBreaker, clock: &MonotonicClock) -> f64 {
    let start = Instant::now();
    for _ in 0..CALLS {
        let Acquire::Permit(p) = b.try_acquire(clock.now()) else {
            panic!("closed")
        };
        black_box(b.record(p, Outcome::Success, clock.now()));
    }
    start.elapsed().as_nanos() as f64 / f64::from(CALLS)
}

fn shared(h: &BreakerHandle) -> f64 {
    let start = Instant::now();
    for _ in 0..CALLS {
        let Admit::Permit(p) = h.try_acquire() else {
            panic!("closed")
        };
        black_box(h.record(p, Outcome::Success));
    }
    start.elapsed().as_nanos() as f64 / f64::from(CALLS)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let store = RedisStore::new(StoreOptions::new(server.url()), None).unwrap();
    let handle = store
        .register(Config::default(), FleetOptions::new("bench"), None)
        .unwrap();
    while !handle.fleet_view().joined {
        std::thread::sleep(Duration::from_millis(5));
    }
    let clock = MonotonicClock::new();
    let mut engine = Breaker::new(Config::default()).unwrap();
    let in_mutex = Mutex::new(Breaker::new(Config::default()).unwrap());
    // Never flushed: its queue stays one merged run, its tally grows.
    let mut fleet = FleetBreaker::new(Config::default(), FleetOptions::new("alone")).unwrap();
    let (mut l, mut m, mut f) = (Vec::new(), Vec::new(), Vec::new());
    let (mut s, mut stopped) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        l.push(local(&mut engine, &clock));
        m.push(locked(&in_mutex, &clock));
        f.push(fleet_alone(&mut fleet, &clock));
        s.push(shared(&handle));
        server.signal("STOP");
        stopped.push(shared(&handle));
        server.signal("CONT");
    }
    let (l, m, f) = (median(l), median(m), median(f));
    let (s, stopped) = (median(s), median(stopped));
    println!("closed path, try_acquire + record, median of {ROUNDS} interleaved rounds of {CALLS} calls:");
    println!("  local engine (core Breaker)        {l:7.1} ns/call");
    let row = |name: &str, v: f64| println!("  {name:<34} {v:7.1} ns/call  (+{:.1} ns)", v - l);
    row("local engine in a Mutex", m);
    row("core FleetBreaker alone, no lock", f);
    row("shared, store healthy", s);
    row("shared, store stopped (SIGSTOP)", stopped);
    store.close();
}
