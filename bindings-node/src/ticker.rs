//! The process clock as JS reads it on the hot path.
//!
//! A read is a crossing into [`read_clock`] (~40 ns: the crossing and
//! `Instant::now`), unless calls are dense: from [`ENGAGE_READS`] reads within a
//! millisecond, a native thread writes the time into a shared `Float64Array` every
//! millisecond and a read is an array load (~1 ns). The thread costs about 13 µs of
//! CPU per tick on this project's machine (1.3 % of a core), so it only runs while
//! it saves more than that: below half that rate for [`IDLE_TICKS`] ticks it parks,
//! and reads cross again. An idle or quiet process has no thread waking up.
//!
//! Each JS environment has its own array (`shared().ticker`, see `hot.rs`):
//! `[nowMs, ticking, reads]`. The thread writes `nowMs` (never backwards) while
//! `ticking` is 1; JS adds 1 to `reads` on every read from the array and the thread
//! sums and clears them on every tick. While ticking, instants and durations have a
//! resolution of about 1 ms (opossum's `Date.now()` has the same).
//!
//! Breakers with a `clock` option never read this one.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::{self, Thread};
use std::time::Duration;

use napi::sys;

use crate::hot::finish;
use crate::{millis, now_nanos};

const TICK: Duration = Duration::from_millis(1);
/// Clock reads within one millisecond (about half as many calls) from which the
/// thread ticks: there it starts saving more CPU than it costs.
const ENGAGE_READS: u32 = 256;
/// Ticks with fewer than half [`ENGAGE_READS`] reads before the thread parks.
const IDLE_TICKS: u32 = 100;
const NANOS_PER_TICK: u64 = 1_000_000;

use crate::protocol::{TICKER_NOW as NOW, TICKER_READS as READS, TICKER_TICKING as TICKING};

/// A bound array's data: three f64 kept alive by a reference until its environment's
/// cleanup hook removes it from [`CELLS`].
#[derive(Clone, Copy, PartialEq, Eq)]
struct CellPtr(*mut f64);

// SAFETY: the pointer is only dereferenced with `CELLS` locked, and it is removed from
// `CELLS` (by the environment's cleanup hook) before the array can be freed.
unsafe impl Send for CellPtr {}

impl CellPtr {
    fn slot(self, index: usize) -> &'static AtomicU64 {
        // SAFETY: `hot::shared` made the array of TICKER_LEN f64 (8-aligned), alive
        // while the pointer is in `CELLS`. JS reads and writes the same words
        // without atomics; aligned 8-byte accesses do not tear.
        unsafe { AtomicU64::from_ptr(self.0.add(index).cast()) }
    }

    fn get(self, index: usize) -> f64 {
        f64::from_bits(self.slot(index).load(Ordering::Relaxed))
    }

    fn set(self, index: usize, value: f64) {
        self.slot(index).store(value.to_bits(), Ordering::Relaxed);
    }

    /// Writes `now`, unless the array already holds a later instant.
    fn advance(self, now: f64) {
        // Non-negative f64 order like their bits.
        self.slot(NOW).fetch_max(now.to_bits(), Ordering::Relaxed);
    }
}

static CELLS: Mutex<Vec<CellPtr>> = Mutex::new(Vec::new());
static THREAD: OnceLock<Option<Thread>> = OnceLock::new();

fn cells() -> std::sync::MutexGuard<'static, Vec<CellPtr>> {
    // A panic while holding the lock cannot leave the list inconsistent.
    CELLS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The ticking thread, started when reads first get dense; `None` if it could not be spawned
/// (every read then crosses into `readClock`, which is correct, only slower).
fn thread() -> Option<&'static Thread> {
    THREAD
        .get_or_init(|| {
            thread::Builder::new()
                .name("tripwire-clock".into())
                .spawn(tick)
                .ok()
                .map(|handle| handle.thread().clone())
        })
        .as_ref()
}

fn tick() {
    let mut idle = 0;
    loop {
        thread::sleep(TICK);
        let now = millis(now_nanos());
        let cells = cells();
        let mut reads = 0.0;
        for &cell in cells.iter() {
            cell.advance(now);
            reads += cell.get(READS);
            cell.set(READS, 0.0);
        }
        idle = if reads >= f64::from(ENGAGE_READS / 2) {
            0
        } else {
            idle + 1
        };
        if idle >= IDLE_TICKS {
            cells.iter().for_each(|cell| cell.set(TICKING, 0.0));
            drop(cells);
            // An unpark between the unlock and here leaves a token: park returns at once.
            thread::park();
            idle = 0;
        }
    }
}

thread_local! {
    /// This environment's array, for `readClock`.
    static MINE: Cell<Option<CellPtr>> = const { Cell::new(None) };
    /// Reads that crossed in the current millisecond: (its start, reads).
    static DENSITY: Cell<(u64, u32)> = const { Cell::new((0, 0)) };
}

unsafe extern "C" fn forget(data: *mut std::ffi::c_void) {
    let gone = CellPtr(data.cast());
    cells().retain(|&cell| cell != gone);
}

/// Registers this environment's array of [`crate::protocol::TICKER_LEN`] numbers (see the module docs),
/// kept alive by the caller for the life of the environment.
///
/// # Safety
/// `env` must be the running callback's; `data` must hold `TICKER_LEN` f64.
pub(crate) unsafe fn bind(env: sys::napi_env, data: *mut f64) {
    let cell = CellPtr(data);
    cell.set(NOW, millis(now_nanos()));
    cells().push(cell);
    MINE.set(Some(cell));
    // SAFETY: `forget` removes the pointer before the environment frees the array.
    unsafe { sys::napi_add_env_cleanup_hook(env, Some(forget), data.cast()) };
}

/// `readClock()`: the process clock (ms), read here. Once reads are dense
/// ([`ENGAGE_READS`] in a millisecond), also writes it to this environment's array
/// and makes the thread tick, so that the next reads are array loads.
pub(crate) unsafe extern "C" fn read_clock(
    env: sys::napi_env,
    _info: sys::napi_callback_info,
) -> sys::napi_value {
    let nanos = now_nanos();
    let now = millis(nanos);
    let (start, reads) = DENSITY.get();
    let (start, reads) = if nanos.saturating_sub(start) >= NANOS_PER_TICK {
        (nanos, 1)
    } else {
        (start, reads + 1)
    };
    DENSITY.set((start, reads));
    if reads == ENGAGE_READS {
        if let (Some(cell), Some(thread)) = (MINE.get(), thread()) {
            let _cells = cells();
            cell.advance(now);
            cell.set(READS, 0.0);
            cell.set(TICKING, 1.0);
            thread.unpark();
        }
    }
    // SAFETY: `env` is the running callback's.
    unsafe { finish(env, Ok(now)) }
}
