//! The process clock as JS reads it on the hot path: a `Float64Array` that a native
//! thread writes the time into every millisecond, so reading the clock costs an array
//! load instead of a crossing (~20 ns) or `performance.now()` (~27 ns).
//!
//! Each JS environment has its own array (`shared().ticker`, see `hot.rs`):
//! `[nowMs, ticking, used]`. The thread writes `nowMs` (never backwards) while
//! `ticking` is 1; JS sets `used` to 1 on every read and the thread clears it. After
//! a second without a read the thread clears `ticking` and parks; JS then calls
//! `wakeClock()`, which reads the clock itself, writes it, and unparks the thread.
//! An idle process therefore has no thread waking up, and a busy one reads a clock
//! at most one tick (about 1 ms) old: the resolution opossum's `Date.now()` has.
//!
//! Breakers with a `clock` option never read this one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::{self, Thread};
use std::time::Duration;

use napi::sys;

use crate::hot::finish;
use crate::{millis, now_nanos};

const TICK: Duration = Duration::from_millis(1);
/// Ticks without a read before the thread parks (about one second).
const IDLE_TICKS: u32 = 1000;

/// Numbers in the array.
pub(crate) const LEN: usize = 3;
const NOW: usize = 0;
const TICKING: usize = 1;
const USED: usize = 2;

/// A bound array's data: three f64 kept alive by a reference until its environment's
/// cleanup hook removes it from [`CELLS`].
#[derive(Clone, Copy, PartialEq, Eq)]
struct CellPtr(*mut f64);

// SAFETY: the pointer is only dereferenced with `CELLS` locked, and it is removed from
// `CELLS` (by the environment's cleanup hook) before the array can be freed.
unsafe impl Send for CellPtr {}

impl CellPtr {
    fn slot(self, index: usize) -> &'static AtomicU64 {
        // SAFETY: `hot::shared` made the array of LEN f64 (8-aligned), alive
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

/// The ticking thread, started on the first wake; `None` if it could not be spawned
/// (every read then crosses into `wakeClock`, which is correct, only slower).
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
        let mut used = false;
        for &cell in cells.iter() {
            cell.advance(now);
            if cell.get(USED) != 0.0 {
                cell.set(USED, 0.0);
                used = true;
            }
        }
        idle = if used { 0 } else { idle + 1 };
        if idle >= IDLE_TICKS {
            cells.iter().for_each(|cell| cell.set(TICKING, 0.0));
            drop(cells);
            // A wake between the unlock and here leaves a token: park returns at once.
            thread::park();
            idle = 0;
        }
    }
}

thread_local! {
    /// This environment's array, for `wakeClock`.
    static MINE: std::cell::Cell<Option<CellPtr>> = const { std::cell::Cell::new(None) };
}

unsafe extern "C" fn forget(data: *mut std::ffi::c_void) {
    let gone = CellPtr(data.cast());
    cells().retain(|&cell| cell != gone);
}

/// Registers this environment's array of [`LEN`] numbers (see the module docs),
/// kept alive by the caller for the life of the environment.
///
/// # Safety
/// `env` must be the running callback's; `data` must hold `LEN` f64.
pub(crate) unsafe fn bind(env: sys::napi_env, data: *mut f64) {
    let cell = CellPtr(data);
    cell.set(NOW, millis(now_nanos()));
    cells().push(cell);
    MINE.set(Some(cell));
    // SAFETY: `forget` removes the pointer before the environment frees the array.
    unsafe { sys::napi_add_env_cleanup_hook(env, Some(forget), data.cast()) };
}

/// `wakeClock()`: the process clock (ms), read here; also writes it to this
/// environment's array and makes the thread tick again.
pub(crate) unsafe extern "C" fn wake_clock(
    env: sys::napi_env,
    _info: sys::napi_callback_info,
) -> sys::napi_value {
    let now = millis(now_nanos());
    if let (Some(cell), Some(thread)) = (MINE.get(), thread()) {
        let _cells = cells();
        cell.advance(now);
        cell.set(USED, 1.0);
        cell.set(TICKING, 1.0);
        thread.unpark();
    }
    // SAFETY: `env` is the running callback's.
    unsafe { finish(env, Ok(now)) }
}
