//! `tripwire-proxy UPSTREAM_PORT DELAY_MS`: a TCP proxy on a free loopback port in front
//! of `127.0.0.1:UPSTREAM_PORT` that delays every chunk by `DELAY_MS` (a latency, not a
//! rate limit). Prints its port on one line, then runs until its stdin closes (or it is
//! killed by pid). Started by the fleet bench (`make bench-fleet`) to put Redis "5 ms
//! away".
use std::io::{Read, Write};
use std::time::Duration;

use tripwire_testkit::{Mode, Proxy};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: tripwire-proxy UPSTREAM_PORT DELAY_MS";
    let (Some(upstream), Some(delay)) = (
        args.get(1).and_then(|a| a.parse::<u16>().ok()),
        args.get(2).and_then(|a| a.parse::<f64>().ok()),
    ) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let proxy = Proxy::start(upstream);
    proxy.set(Mode::Delay(Duration::from_secs_f64(delay / 1000.0)));
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", proxy.port());
    let _ = out.flush();
    // Until the parent closes our stdin (or kills us).
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}
