//! The clock a breaker reads: `performance.now()` unless the caller gives one.

use std::cell::Cell;

use js_sys::Function;
use tripwire_core::NANOS_PER_MILLI;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen(module = "/src/settle.js")]
extern "C" {
    /// `performance.now()`, with `performance` looked up once (see settle.js).
    #[wasm_bindgen(js_name = now)]
    fn performance_now() -> f64;
}

#[wasm_bindgen]
extern "C" {

    #[wasm_bindgen(thread_local_v2, js_namespace = performance, js_name = timeOrigin)]
    static TIME_ORIGIN: JsValue;
}

/// Milliseconds from JS, monotonic nanoseconds for the core.
pub(crate) struct Clock {
    source: Source,
    last: Cell<u64>,
}

enum Source {
    Performance,
    /// A function returning milliseconds.
    Function(Function),
    /// An object whose `now()` returns milliseconds.
    Object(JsValue, Function),
}

impl Clock {
    /// `clock` is `undefined`, a function, or an object with a `now` method.
    pub(crate) fn from_js(clock: &JsValue) -> Result<Clock, &'static str> {
        let source = if clock.is_undefined() || clock.is_null() {
            Source::Performance
        } else if let Some(f) = clock.dyn_ref::<Function>() {
            Source::Function(f.clone())
        } else {
            let now = js_sys::Reflect::get(clock, &JsValue::from_str("now"))
                .unwrap_or(JsValue::UNDEFINED);
            match now.dyn_into::<Function>() {
                Ok(f) => Source::Object(clock.clone(), f),
                Err(_) => {
                    return Err("must be a function returning milliseconds or an object with now()")
                }
            }
        };
        Ok(Clock {
            source,
            last: Cell::new(0),
        })
    }

    /// An instant of this clock as epoch milliseconds for `performance.now()` (the
    /// Node package's stats report epoch ms), or the clock's own ms for a given clock.
    pub(crate) fn epoch_ms(&self, ns: u64) -> f64 {
        let origin = match self.source {
            Source::Performance => TIME_ORIGIN.with(|t| t.as_f64()).unwrap_or(0.0),
            _ => 0.0,
        };
        origin + to_millis(ns)
    }

    /// Whether this is `performance.now()`, which settle.js reads itself and passes in.
    pub(crate) fn is_performance(&self) -> bool {
        matches!(self.source, Source::Performance)
    }

    /// The instant `ms` (`performance.now()` read by settle.js), or, when `ms` is NaN,
    /// the current instant; in nanoseconds, never going back.
    pub(crate) fn at(&self, ms: f64) -> Result<u64, JsValue> {
        if ms.is_nan() {
            return self.now();
        }
        Ok(self.monotonic(to_nanos(ms)))
    }

    /// The current instant in nanoseconds; never goes back, even if the source does.
    /// A given clock that throws passes its error on; one that reads anything but a
    /// finite number is a `TypeError` naming the `clock` option.
    pub(crate) fn now(&self) -> Result<u64, JsValue> {
        let reading = match &self.source {
            Source::Performance => return Ok(self.monotonic(to_nanos(performance_now()))),
            Source::Function(f) => f.call0(&JsValue::UNDEFINED)?,
            Source::Object(this, f) => f.call0(this)?,
        };
        match reading.as_f64().filter(|ms| ms.is_finite()) {
            Some(ms) => Ok(self.monotonic(to_nanos(ms))),
            None => Err(crate::errors::type_error(&format!(
                "invalid option `clock`: it must return a finite number of milliseconds, not {}",
                describe(&reading)
            ))),
        }
    }

    /// The last instant read (for handing a permit back when the clock fails).
    pub(crate) fn last(&self) -> u64 {
        self.last.get()
    }

    fn monotonic(&self, ns: u64) -> u64 {
        let now = ns.max(self.last.get());
        self.last.set(now);
        now
    }
}

/// A bad clock reading as the error message shows it.
fn describe(value: &JsValue) -> String {
    match value.as_f64() {
        Some(n) if n.is_nan() => "NaN".into(),
        Some(n) if n > 0.0 => "Infinity".into(),
        Some(_) => "-Infinity".into(),
        None => format!(
            "a value of type {}",
            value.js_typeof().as_string().unwrap_or_default()
        ),
    }
}

/// Milliseconds (possibly fractional, possibly garbage) to nanoseconds, saturating.
pub(crate) fn to_nanos(ms: f64) -> u64 {
    if ms.is_nan() || ms <= 0.0 {
        0
    } else {
        // `as` saturates at u64::MAX.
        (ms * NANOS_PER_MILLI as f64) as u64
    }
}

/// Nanoseconds to milliseconds for JS.
pub(crate) fn to_millis(ns: u64) -> f64 {
    ns as f64 / NANOS_PER_MILLI as f64
}
