//! A TCP proxy in front of a server, for the store's fault tests and the fleet bench:
//! it passes bytes, delays them by a fixed latency, swallows them, or cuts every
//! connection (and each new one).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the proxy does with the bytes it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Passes them on at once.
    Pass,
    /// Passes each chunk on this long after it arrived (a latency, not a rate limit:
    /// chunks in flight overlap, and their order is kept).
    Delay(Duration),
    /// Swallows them (the connections stay open; nothing answers).
    Blackhole,
    /// Cuts every connection, and each new one.
    Reset,
}

const PASS: u8 = 0;
const DELAY: u8 = 1;
const BLACKHOLE: u8 = 2;
const RESET: u8 = 3;

#[derive(Default)]
struct State {
    mode: AtomicU8,
    delay_ns: AtomicU64,
}

/// A proxy on a free loopback port in front of `127.0.0.1:upstream`, on threads of its
/// own (they end with the process, or as their connections close).
pub struct Proxy {
    port: u16,
    state: Arc<State>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    /// Starts passing bytes to `127.0.0.1:upstream`.
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let port = listener.local_addr().expect("its address").port();
        let state = Arc::new(State::default());
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (st, cs) = (state.clone(), conns.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if st.mode.load(Ordering::SeqCst) == RESET {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                let mut list = cs.lock().unwrap_or_else(|e| e.into_inner());
                list.extend([c2, s2]);
                drop(list);
                if let (Ok(c3), Ok(s3)) = (client.try_clone(), server.try_clone()) {
                    pump(c3, s3, st.clone());
                    pump(server, client, st.clone());
                }
            }
        });
        Proxy { port, state, conns }
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Changes what it does, from the next chunk on; `Reset` also cuts the open
    /// connections.
    pub fn set(&self, mode: Mode) {
        let code = match mode {
            Mode::Pass => PASS,
            Mode::Delay(d) => {
                self.state
                    .delay_ns
                    .store(d.as_nanos() as u64, Ordering::SeqCst);
                DELAY
            }
            Mode::Blackhole => BLACKHOLE,
            Mode::Reset => RESET,
        };
        self.state.mode.store(code, Ordering::SeqCst);
        if mode == Mode::Reset {
            for c in self
                .conns
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .drain(..)
            {
                let _ = c.shutdown(Shutdown::Both);
            }
        }
    }
}

/// Copies `from` to `to`: a reader thread stamps each chunk with when it is due, a
/// writer thread sends it then.
fn pump(mut from: TcpStream, mut to: TcpStream, state: Arc<State>) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let due = match state.mode.load(Ordering::SeqCst) {
                BLACKHOLE => continue,
                RESET => break,
                DELAY => {
                    Instant::now() + Duration::from_nanos(state.delay_ns.load(Ordering::SeqCst))
                }
                _ => Instant::now(),
            };
            if tx.send((due, buf[..n].to_vec())).is_err() {
                break;
            }
        }
    });
    std::thread::spawn(move || {
        for (due, chunk) in rx {
            let wait = due.saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}
