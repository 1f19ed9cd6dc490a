//! The wire: the scripts, the calls a binding sends, and the replies it hands back.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::breaker::State;
use crate::window::Counts;

/// One of the store's operations: a Lua script run with `EVALSHA` (`EVAL` after a
/// `NOSCRIPT` error), always with the three keys of [`StoreCall::keys`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Script {
    /// Join, resync or poll: read the state, store the configuration's fingerprint
    /// if the breaker has none, compare it otherwise.
    Read,
    /// Add a process's outcomes (window runs and totals), release trial leases, and
    /// optionally compare-and-set a transition on the generation.
    Flush,
    /// Take a half-open trial lease (moving an OPEN circuit whose open time has
    /// passed to HALF_OPEN first).
    Lease,
}

impl Script {
    /// Every script, for loading them all at once (`SCRIPT LOAD`).
    pub const ALL: [Script; 3] = [Script::Read, Script::Flush, Script::Lease];

    /// The script's full Lua text: the same bytes in every binding.
    pub fn source(self) -> &'static str {
        match self {
            Script::Read => concat!(
                include_str!("lua/prelude.lua"),
                include_str!("lua/read.lua")
            ),
            Script::Flush => concat!(
                include_str!("lua/prelude.lua"),
                include_str!("lua/flush.lua")
            ),
            Script::Lease => concat!(
                include_str!("lua/prelude.lua"),
                include_str!("lua/lease.lua")
            ),
        }
    }

    /// `"read"`, `"flush"` or `"lease"`.
    pub fn name(self) -> &'static str {
        match self {
            Script::Read => "read",
            Script::Flush => "flush",
            Script::Lease => "lease",
        }
    }
}

/// A request for the store: run `script` with `keys` and `args` (`EVALSHA sha 3
/// keys... args...`). Every argument is already text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreCall {
    /// Which operation.
    pub script: Script,
    /// `{prefix:name}`, `{prefix:name}:w`, `{prefix:name}:l`: one hash tag, one slot.
    pub keys: [String; 3],
    /// `ARGV`, in order.
    pub args: Vec<String>,
}

/// One element of a script's reply: scripts answer a flat array of integers, and the
/// read script appends the fleet's fingerprint (text) when it differs from the caller's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// An integer reply element.
    Int(i64),
    /// A bulk string reply element.
    Data(Vec<u8>),
}

/// Why a store call gave no reply. Either way the core counts it against the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The call did not finish in time (it may still have run).
    Timeout,
    /// No connection, a refused connection, or a reply that is an error (other than
    /// `NOSCRIPT`, which the binding handles with `EVAL`).
    Unavailable,
    /// The reply did not have the shape the scripts give (another store, or a bug).
    BadReply,
}

/// The totals a flush adds and a reply reports: lifetime counts, fleet-wide.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Calls that succeeded (slow ones included).
    pub successes: u64,
    /// Calls that failed (timeouts included).
    pub failures: u64,
    /// Calls that timed out.
    pub timeouts: u64,
    /// Calls slower than the slow-call duration.
    pub slow: u64,
    /// Calls refused.
    pub rejected: u64,
    /// Calls ignored or cancelled.
    pub ignored: u64,
}

impl Tally {
    pub(crate) fn add(&mut self, o: &Tally) {
        self.successes += o.successes;
        self.failures += o.failures;
        self.timeouts += o.timeouts;
        self.slow += o.slow;
        self.rejected += o.rejected;
        self.ignored += o.ignored;
    }

    pub(crate) fn is_empty(&self) -> bool {
        *self == Tally::default()
    }

    pub(crate) fn arg(&self) -> String {
        alloc::format!(
            "{} {} {} {} {} {}",
            self.successes,
            self.failures,
            self.timeouts,
            self.slow,
            self.rejected,
            self.ignored
        )
    }
}

/// The fleet's window in a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WindowImage {
    /// A count window: runs of outcomes alike, oldest first, as `(flags, count)` with
    /// flags 1 = failed (slow included), 2 = slow.
    Count(Vec<(u8, u32)>),
    /// A time window: how far (µs) the store's clock is into the current bucket, and
    /// the live buckets, oldest first, as `(age in buckets, counts)`.
    Time {
        /// Microseconds since the current bucket began, on the store's clock.
        phase: u64,
        /// `(age, counts)`: age 0 is the current bucket.
        buckets: Vec<(u32, Counts)>,
    },
}

impl WindowImage {
    /// The counts over the whole window.
    pub fn counts(&self) -> Counts {
        let mut all = Counts::default();
        match self {
            WindowImage::Count(runs) => {
                for &(flags, n) in runs {
                    all.calls += n;
                    all.failures += if flags & 1 != 0 { n } else { 0 };
                    all.slow += if flags & 2 != 0 { n } else { 0 };
                }
            }
            WindowImage::Time { buckets, .. } => {
                for (_, c) in buckets {
                    all.calls += c.calls;
                    all.failures += c.failures;
                    all.slow += c.slow;
                }
            }
        }
        all
    }
}

/// The manual mode of the fleet's breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// The rules apply.
    Normal,
    /// Forced open until closed or reset.
    ForcedOpen,
    /// Always permits, never trips.
    Disabled,
}

/// A decoded reply: the fleet's state after the operation. Durations only (µs on the
/// store's clock); the core maps them onto the process's own clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The fleet's generation: one more at every applied transition.
    pub generation: u64,
    /// The stored state (an OPEN state whose open time has passed is still OPEN here,
    /// with `open_remaining` 0: HALF_OPEN begins with the first lease).
    pub state: State,
    /// Forced open, disabled, or neither.
    pub control: Control,
    /// Microseconds until an OPEN (not forced) circuit admits a trial.
    pub open_remaining: u64,
    /// Consecutive trips without closing (drives backoff).
    pub trips: u32,
    /// Consecutive failures in this generation, in flush order.
    pub consecutive_failures: u32,
    /// Consecutive successes in this generation, in flush order.
    pub consecutive_successes: u32,
    /// Failures since the circuit last closed, in flush order: a trip keeps them, a
    /// counted success or a close ends them (pybreaker's `fail_counter`). Each
    /// transition sets it to the value the deciding process's core computed.
    pub failure_streak: u32,
    /// Live trial leases.
    pub leases: u32,
    /// The operation's answer: read 1 fingerprint matches (or was stored) / 0 differs;
    /// flush 0 no transition asked / 1 applied / 2 refused; lease 1 granted / 0 not.
    pub result: u8,
    /// When the stored breaker was made (µs on the store's clock): a different value
    /// means the state was lost (restart, eviction, TTL) and made again.
    pub born: u64,
    /// Fleet-wide lifetime totals.
    pub totals: Tally,
    /// The fleet's window.
    pub window: WindowImage,
    /// The fleet's fingerprint, when a read found it differs from the caller's.
    pub fingerprint: Option<String>,
}

/// A reply that does not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadReply;

impl fmt::Display for BadReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the fleet store's reply does not have the scripts' shape")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for BadReply {}

impl Reply {
    /// Decodes a script's reply. `time_window` says which window shape to expect.
    pub fn decode(items: &[Value], time_window: bool) -> Result<Reply, BadReply> {
        let mut ints = items.iter();
        let mut next = || match ints.next() {
            Some(Value::Int(i)) if *i >= 0 => Ok(*i as u64),
            _ => Err(BadReply),
        };
        let small = |v: u64| u32::try_from(v).map_err(|_| BadReply);
        let generation = next()?;
        let state = match next()? {
            0 => State::Closed,
            1 => State::Open,
            2 => State::HalfOpen,
            _ => return Err(BadReply),
        };
        let control = match next()? {
            0 => Control::Normal,
            1 => Control::ForcedOpen,
            2 => Control::Disabled,
            _ => return Err(BadReply),
        };
        let open_remaining = next()?;
        let trips = small(next()?)?;
        let consecutive_failures = small(next()?)?;
        let consecutive_successes = small(next()?)?;
        let failure_streak = small(next()?)?;
        let leases = small(next()?)?;
        let result = u8::try_from(next()?).map_err(|_| BadReply)?;
        let born = next()?;
        let totals = Tally {
            successes: next()?,
            failures: next()?,
            timeouts: next()?,
            slow: next()?,
            rejected: next()?,
            ignored: next()?,
        };
        let window = if time_window {
            let phase = next()?;
            let n = next()? as usize;
            let mut buckets = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                let age = small(next()?)?;
                let (calls, failures, slow) = (small(next()?)?, small(next()?)?, small(next()?)?);
                buckets.push((
                    age,
                    Counts {
                        calls,
                        failures,
                        slow,
                    },
                ));
            }
            WindowImage::Time { phase, buckets }
        } else {
            let n = next()? as usize;
            let mut runs = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                let flags = u8::try_from(next()?).map_err(|_| BadReply)?;
                runs.push((flags, small(next()?)?));
            }
            WindowImage::Count(runs)
        };
        let consumed = 17
            + match &window {
                WindowImage::Count(r) => 1 + 2 * r.len(),
                WindowImage::Time { buckets, .. } => 2 + 4 * buckets.len(),
            };
        let fingerprint = match &items[consumed.min(items.len())..] {
            [] => None,
            [Value::Data(d)] => Some(String::from_utf8_lossy(d).into_owned()),
            _ => return Err(BadReply),
        };
        Ok(Reply {
            generation,
            state,
            control,
            open_remaining,
            trips,
            consecutive_failures,
            consecutive_successes,
            failure_streak,
            leases,
            result,
            born,
            totals,
            window,
            fingerprint,
        })
    }
}
