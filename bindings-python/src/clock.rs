//! Clocks: the process's monotonic clock (reported as epoch seconds) or a
//! `ManualClock` that tests move by hand. Seconds in, nanoseconds to the core.

use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use tripwire_core::{Clock, Unit, NANOS_PER_SEC};
use tripwire_store::StoreClock;

/// The process's monotonic clock (the fleet store's kind: quanta's), counted from its
/// first use.
struct Monotonic {
    clock: StoreClock,
    /// Epoch seconds at the clock's origin, so instants can be reported as epoch seconds.
    epoch: f64,
}

fn monotonic() -> &'static Monotonic {
    static CLOCK: OnceLock<Monotonic> = OnceLock::new();
    CLOCK.get_or_init(|| {
        let clock = StoreClock::new();
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        Monotonic { clock, epoch }
    })
}

/// The clock of one breaker.
#[derive(Clone, Debug)]
pub(crate) enum AnyClock {
    Monotonic,
    Manual(Arc<tripwire_core::ManualClock>),
}

impl Clock for AnyClock {
    #[inline]
    fn now(&self) -> u64 {
        match self {
            AnyClock::Monotonic => monotonic().clock.now(),
            AnyClock::Manual(clock) => clock.now(),
        }
    }
}

impl AnyClock {
    /// An instant as Python reports it: epoch seconds, or the manual clock's reading.
    pub(crate) fn seconds(&self, nanos: u64) -> f64 {
        match self {
            AnyClock::Monotonic => monotonic().epoch + seconds(nanos),
            AnyClock::Manual(_) => seconds(nanos),
        }
    }
}

/// Nanoseconds as seconds.
pub(crate) fn seconds(nanos: u64) -> f64 {
    Unit::Seconds.from_nanos(nanos)
}

/// The last instant a ManualClock reaches: 2^62 ns, about 146 years, as in the core's
/// option checks.
const LAST_INSTANT: u64 = 1 << 62;

/// Seconds as nanoseconds (rounded); `what` names the argument in the error.
pub(crate) fn nanos(what: &str, seconds: f64) -> PyResult<u64> {
    if !seconds.is_finite() || seconds < 0.0 || seconds * NANOS_PER_SEC as f64 > LAST_INSTANT as f64
    {
        return Err(PyValueError::new_err(format!(
            "`{what}` must be a finite number of seconds in [0, 2^62 ns]"
        )));
    }
    Ok(Unit::Seconds.to_nanos(seconds))
}

/// A clock that moves only when told to: pass it as `clock=` to test without sleeping.
/// Instants read from it are its reading in seconds.
#[pyclass(frozen, module = "tripwire")]
pub struct ManualClock {
    pub(crate) inner: Arc<tripwire_core::ManualClock>,
    /// Callbacks fired once the clock reaches their instant (`_call_later`).
    timers: Timers,
}

/// The last timer id, and the pending timers: `(instant, id) -> callback`.
type TimerTable = (u64, std::collections::BTreeMap<(u64, u64), Py<PyAny>>);

/// The manual clock's timers.
#[derive(Default)]
struct Timers {
    inner: std::sync::Mutex<TimerTable>,
}

impl Timers {
    fn lock(&self) -> std::sync::MutexGuard<'_, TimerTable> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl ManualClock {
    /// Calls, in order, the callbacks whose instant the clock has reached (outside the
    /// lock: a callback may add timers or move the clock). A callback that raises is
    /// reported as unraisable.
    fn fire_due(&self, py: Python<'_>) {
        loop {
            let now = self.inner.now();
            let due = {
                let mut timers = self.timers.lock();
                match timers.1.first_key_value() {
                    Some((&(at, _), _)) if at <= now => timers.1.pop_first(),
                    _ => None,
                }
            };
            let Some((_, callback)) = due else { return };
            if let Err(e) = callback.bind(py).call0() {
                e.write_unraisable(py, None);
            }
        }
    }
}

#[pymethods]
impl ManualClock {
    #[new]
    #[pyo3(signature = (start = 0.0))]
    fn new(start: f64) -> PyResult<Self> {
        Ok(ManualClock {
            inner: Arc::new(tripwire_core::ManualClock::new(nanos("start", start)?)),
            timers: Timers::default(),
        })
    }

    /// Moves the clock forward by `seconds`.
    fn advance(&self, py: Python<'_>, seconds: f64) -> PyResult<()> {
        let step = nanos("seconds", seconds)?;
        if self
            .inner
            .now()
            .checked_add(step)
            .is_none_or(|t| t > LAST_INSTANT)
        {
            return Err(PyValueError::new_err("the clock cannot move past 2^62 ns"));
        }
        self.inner.advance(step);
        self.fire_due(py);
        Ok(())
    }

    /// Sets the clock to `seconds`; a time earlier than the current reading is a
    /// `ValueError` (a clock never goes back).
    fn set(&self, py: Python<'_>, seconds: f64) -> PyResult<()> {
        self.inner
            .try_set(nanos("seconds", seconds)?)
            .map_err(|now| {
                PyValueError::new_err(format!(
                    "set({seconds}) would move the clock back from {}: a clock only goes forward",
                    self::seconds(now)
                ))
            })?;
        self.fire_due(py);
        Ok(())
    }

    /// The current reading in seconds.
    fn now(&self) -> f64 {
        seconds(self.inner.now())
    }

    fn __repr__(&self) -> String {
        format!("ManualClock({})", seconds(self.inner.now()))
    }

    /// Calls `callback()` once the clock has moved `delay` seconds from now (fired by
    /// `advance` / `set`, in order of their instants); returns an id for `_cancel_timer`.
    /// The service's waits use it, so that they run on this clock.
    /// A timer past [`LAST_INSTANT`] is a `ValueError`: it could never fire.
    fn _call_later(&self, delay: f64, callback: Py<PyAny>) -> PyResult<u64> {
        let at = self
            .inner
            .now()
            .checked_add(nanos("delay", delay)?)
            .filter(|&t| t <= LAST_INSTANT)
            .ok_or_else(|| PyValueError::new_err("the clock cannot move past 2^62 ns"))?;
        let mut timers = self.timers.lock();
        timers.0 += 1;
        let id = timers.0;
        timers.1.insert((at, id), callback);
        Ok(id)
    }

    /// Cancels a timer of `_call_later`; whether it was pending.
    fn _cancel_timer(&self, id: u64) -> bool {
        let callback = {
            let mut timers = self.timers.lock();
            let key = timers.1.keys().find(|(_, i)| *i == id).copied();
            key.and_then(|k| timers.1.remove(&k))
        };
        callback.is_some()
    }

    /// Seconds until the next pending timer (0 if due), or None.
    fn _next_timer(&self) -> Option<f64> {
        let timers = self.timers.lock();
        let &(at, _) = timers.1.keys().next()?;
        Some(seconds(at.saturating_sub(self.inner.now())))
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        if let Ok(timers) = self.timers.inner.try_lock() {
            for callback in timers.1.values() {
                visit.call(callback)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        let old = std::mem::take(&mut self.timers.lock().1);
        drop(old);
    }
}
