//! One connection to the store: a socket this crate owns (so that a fork child can
//! close its copy), redis-rs for the protocol (command packing, the reply parser), and
//! a deadline on every operation.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::{ConnectionAddr, ConnectionInfo, Parser, Value};
use tripwire_core::fleet::StoreError;

/// Why the store did not answer: the core's [`StoreError`] and a line for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreFault {
    /// What the core is told.
    pub error: StoreError,
    /// What happened, for the log line (never contains the URL's password).
    pub message: String,
}

impl StoreFault {
    pub(crate) fn new(error: StoreError, message: impl Into<String>) -> StoreFault {
        StoreFault {
            error,
            message: message.into(),
        }
    }

    fn io(what: &str, e: &io::Error) -> StoreFault {
        let error = match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => StoreError::Timeout,
            _ => StoreError::Unavailable,
        };
        let message = match error {
            StoreError::Timeout => format!("{what}: timed out"),
            _ => format!("{what}: {e}"),
        };
        StoreFault { error, message }
    }
}

impl std::fmt::Display for StoreFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

enum Sock {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Sock {
    fn set_timeouts(&self, d: Duration) -> io::Result<()> {
        match self {
            Sock::Tcp(s) => {
                s.set_read_timeout(Some(d))?;
                s.set_write_timeout(Some(d))
            }
            Sock::Unix(s) => {
                s.set_read_timeout(Some(d))?;
                s.set_write_timeout(Some(d))
            }
        }
    }

    fn fd(&self) -> RawFd {
        match self {
            Sock::Tcp(s) => s.as_raw_fd(),
            Sock::Unix(s) => s.as_raw_fd(),
        }
    }
}

/// Reads and writes with the time left before a deadline as the socket's timeout.
struct Timed<'a> {
    sock: &'a mut Sock,
    deadline: Instant,
}

impl Timed<'_> {
    fn arm(&self) -> io::Result<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.sock.set_timeouts(left)
    }
}

impl Read for Timed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.arm()?;
        match self.sock {
            Sock::Tcp(s) => s.read(buf),
            Sock::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Timed<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.arm()?;
        match self.sock {
            Sock::Tcp(s) => s.write(buf),
            Sock::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Where a connection's fd is published for a fork child to close (-1: none). Set
/// after the socket opens and cleared before it closes, so that a child never closes
/// an fd number that is not this socket's.
pub(crate) type FdSlot = AtomicI32;

/// A connection. Any error leaves it unusable: the caller drops it and connects again
/// at the next round (no retry of the failed operation).
pub(crate) struct Conn {
    sock: Sock,
    parser: Parser,
    slot: Arc<FdSlot>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.slot.store(-1, Ordering::Release);
    }
}

impl Conn {
    /// Connects, authenticates and selects the database, all before `deadline`.
    pub(crate) fn open(
        info: &ConnectionInfo,
        deadline: Instant,
        slot: &Arc<FdSlot>,
    ) -> Result<Conn, StoreFault> {
        let left = || deadline.saturating_duration_since(Instant::now());
        let sock = match &info.addr {
            ConnectionAddr::Tcp(host, port) => {
                let addrs = (host.as_str(), *port)
                    .to_socket_addrs()
                    .map_err(|e| StoreFault::io("resolve", &e))?;
                let mut last = StoreFault::new(StoreError::Unavailable, "connect: no address");
                let mut found = None;
                for addr in addrs {
                    if left().is_zero() {
                        break;
                    }
                    match TcpStream::connect_timeout(&addr, left()) {
                        Ok(s) => {
                            found = Some(s);
                            break;
                        }
                        Err(e) => last = StoreFault::io(&format!("connect to {addr}"), &e),
                    }
                }
                let s = found.ok_or(last)?;
                let _ = s.set_nodelay(true);
                Sock::Tcp(s)
            }
            ConnectionAddr::Unix(path) => {
                Sock::Unix(UnixStream::connect(path).map_err(|e| StoreFault::io("connect", &e))?)
            }
            ConnectionAddr::TcpTls { .. } => {
                return Err(StoreFault::new(
                    StoreError::Unavailable,
                    "TLS is not supported",
                ))
            }
        };
        slot.store(sock.fd(), Ordering::Release);
        let mut conn = Conn {
            sock,
            parser: Parser::new(),
            slot: slot.clone(),
        };
        let mut hello = Vec::new();
        if let Some(password) = &info.redis.password {
            let mut auth = redis::cmd("AUTH");
            if let Some(user) = &info.redis.username {
                auth.arg(user);
            }
            hello.push(auth.arg(password).get_packed_command());
        }
        if info.redis.db != 0 {
            hello.push(redis::cmd("SELECT").arg(info.redis.db).get_packed_command());
        }
        for reply in conn.round(&hello, deadline)? {
            if let Value::ServerError(e) = reply {
                return Err(StoreFault::new(
                    StoreError::Unavailable,
                    format!("handshake refused: {}", e.code()),
                ));
            }
        }
        Ok(conn)
    }

    /// Sends `commands` (packed) in one write and reads one reply each, before
    /// `deadline`. Error replies are values (`Value::ServerError`), not errors.
    pub(crate) fn round(
        &mut self,
        commands: &[Vec<u8>],
        deadline: Instant,
    ) -> Result<Vec<Value>, StoreFault> {
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        self.send(commands, deadline)?;
        (0..commands.len()).map(|_| self.read(deadline)).collect()
    }

    /// Writes packed commands (replies are read with [`Conn::read`]).
    pub(crate) fn send(
        &mut self,
        commands: &[Vec<u8>],
        deadline: Instant,
    ) -> Result<(), StoreFault> {
        let bytes = commands.concat();
        let mut timed = Timed {
            sock: &mut self.sock,
            deadline,
        };
        timed
            .write_all(&bytes)
            .map_err(|e| StoreFault::io("send", &e))
    }

    /// Reads one reply (or pushed message) before `deadline`. A timeout keeps the
    /// parser's partial state: the next read resumes where this one stopped.
    pub(crate) fn read(&mut self, deadline: Instant) -> Result<Value, StoreFault> {
        let timed = Timed {
            sock: &mut self.sock,
            deadline,
        };
        self.parser.parse_value(timed).map_err(|e| {
            let error = if e.is_timeout() {
                StoreError::Timeout
            } else {
                StoreError::Unavailable
            };
            let message = match error {
                StoreError::Timeout => "reply: timed out".to_string(),
                _ => format!("reply: {e}"),
            };
            StoreFault::new(error, message)
        })
    }
}
