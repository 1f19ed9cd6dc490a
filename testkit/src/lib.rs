//! Test support for the workspace: a real `redis-server` started on a free loopback
//! port with no persistence, controlled and stopped by its pid (never by name).
//! Used by `core/tests/fleet_redis.rs` and `store/tests/`. Also a TCP [`Proxy`] that
//! delays, blackholes or cuts connections (the store's fault tests; the fleet bench
//! runs it as the `tripwire-proxy` binary).
#![deny(missing_docs)]

mod proxy;

pub use proxy::{Mode, Proxy};

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A redis-server this test started. Dropping it kills it (by pid).
pub struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts a redis-server on a free loopback port, or says why not and returns
    /// `None` when `redis-server` is not installed (scripts/setup-redis.sh installs it).
    pub fn start() -> Option<RedisServer> {
        if Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            eprintln!(
                "SKIPPED: redis-server is not installed (scripts/setup-redis.sh installs it)"
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("a free loopback port")
            .local_addr()
            .expect("its address")
            .port();
        Some(RedisServer::spawn(port))
    }

    fn spawn(port: u16) -> RedisServer {
        let server = RedisServer {
            child: RedisServer::spawn_child(port),
            port,
        };
        server.wait_ready();
        server
    }

    fn spawn_child(port: u16) -> Child {
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            // DEBUG SLEEP for the fault tests (refused by default since Redis 7).
            .args(["--enable-debug-command", "local"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts")
    }

    /// Waits until the server answers PING (a bound on the wait, not a timing assertion).
    fn wait_ready(&self) {
        for _ in 0..1000 {
            if let Ok(mut c) = self.connect() {
                if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server on port {} did not answer", self.port);
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A plain connection with 5 s timeouts, for the test's own commands.
    pub fn connect(&self) -> redis::RedisResult<redis::Connection> {
        let client = redis::Client::open(self.url())?;
        let c = client.get_connection_with_timeout(Duration::from_secs(5))?;
        c.set_read_timeout(Some(Duration::from_secs(5)))?;
        c.set_write_timeout(Some(Duration::from_secs(5)))?;
        Ok(c)
    }

    /// Sends `signal` (e.g. `"STOP"`, `"CONT"`) to the server's pid.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {}", self.pid());
    }

    /// `kill -9` (its state and script cache are gone), then a new server on the
    /// same port.
    pub fn kill_and_restart(&mut self) {
        self.kill();
        self.restart();
    }

    /// `kill -9`, without a restart: the port refuses connections until [`RedisServer::restart`].
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A new server on the same port, after [`RedisServer::kill`].
    pub fn restart(&mut self) {
        // The killed child is reaped already.
        self.child = RedisServer::spawn_child(self.port);
        self.wait_ready();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // By pid: the child we started, nothing else. CONT first, in case a test
        // failed while it was stopped.
        let _ = Command::new("kill")
            .arg("-CONT")
            .arg(self.child.id().to_string())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
