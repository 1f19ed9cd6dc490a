//! `make demo`: a flaky HTTP upstream on 127.0.0.1, calls guarded by a breaker.
//! The upstream answers 200, then fails for 1.5 s, then recovers; the breaker opens,
//! fails fast instead of hammering it, probes it and closes again.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tripwire_core::{
    Clock, Config, MonotonicClock, Outcome, State, SyncBreaker, Threshold, NANOS_PER_MILLI,
};

/// Serves 200 except between 0.6 s and 2.1 s after start, when it serves 503 slowly.
fn start_upstream() -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let born = Instant::now();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let down = (600..2100).contains(&born.elapsed().as_millis());
            thread::spawn(move || serve(stream, down));
        }
    });
    Ok(port)
}

fn serve(mut stream: TcpStream, down: bool) {
    let mut request = [0u8; 1024];
    let _ = stream.read(&mut request);
    if down {
        thread::sleep(Duration::from_millis(30));
    }
    let status = if down {
        "503 Service Unavailable"
    } else {
        "200 OK"
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
}

/// One GET; a 5xx answer or a network error is a failure.
fn get(port: u16) -> Result<(), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .map_err(|e| e.to_string())?;
    write!(stream, "GET / HTTP/1.1\r\nhost: upstream\r\n\r\n").map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    match response.split(' ').nth(1) {
        Some(code) if code.starts_with('5') => Err(format!("HTTP {code}")),
        Some(_) => Ok(()),
        None => Err("no status line".into()),
    }
}

fn main() -> std::io::Result<()> {
    let port = start_upstream()?;
    let config = Config {
        failure_threshold: Threshold::Count(3),
        open_duration: 400 * NANOS_PER_MILLI,
        success_threshold: 2,
        ..Config::default()
    };
    let clock = Arc::new(MonotonicClock::new());
    let breaker = SyncBreaker::new(config, clock.clone()).expect("valid config");
    println!("tripwire demo: 60 calls to a flaky upstream on 127.0.0.1:{port}, 50 ms apart\n");
    let (mut ok, mut failed, mut fast) = (0, 0, 0);
    for call in 1..=60 {
        let at = clock.now() / NANOS_PER_MILLI;
        match breaker.try_acquire() {
            Err(rejected) => {
                fast += 1;
                let wait = rejected.retry_after.map_or(0, |ns| ns / NANOS_PER_MILLI);
                println!(
                    "{at:>5} ms  call {call:>2}  failed fast ({}; retry in {wait} ms)",
                    rejected.state.as_str()
                );
            }
            Ok(permit) => {
                if let Some(t) = permit.transition() {
                    println!(
                        "{at:>5} ms  ── {} → {} (probing the upstream)",
                        t.from.as_str(),
                        t.to.as_str()
                    );
                }
                let result = get(port);
                let outcome = if result.is_ok() {
                    Outcome::Success
                } else {
                    Outcome::Failure
                };
                let transition = breaker.record(permit, outcome);
                match &result {
                    Ok(()) => ok += 1,
                    Err(_) => failed += 1,
                }
                println!(
                    "{at:>5} ms  call {call:>2}  {}",
                    result.err().unwrap_or_else(|| "ok".into())
                );
                if let Some(t) = transition {
                    println!(
                        "{at:>5} ms  ── {} → {} ({:?})",
                        t.from.as_str(),
                        t.to.as_str(),
                        t.cause
                    );
                }
            }
        }
        thread::sleep(Duration::from_millis(50));
    }
    let stats = breaker.stats();
    println!(
        "\n{ok} succeeded, {failed} failed at the upstream, {fast} failed fast without touching it"
    );
    println!(
        "state {}, mean latency {:.1} ms, p99 {:.1} ms",
        stats.state.as_str(),
        stats.mean_latency / 1e6,
        stats.latency_p99.unwrap_or(0) as f64 / 1e6
    );
    assert_eq!(
        stats.state,
        State::Closed,
        "the upstream recovered, so the breaker closes"
    );
    Ok(())
}
