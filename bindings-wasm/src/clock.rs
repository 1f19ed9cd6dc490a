//! The clock a breaker reads: `performance.now()` unless the caller gives one.

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use js_sys::Function;
use tripwire_core::NANOS_PER_MILLI;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
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

    /// The current instant in nanoseconds; never goes back, even if the source does.
    pub(crate) fn now(&self) -> u64 {
        let ms = match &self.source {
            Source::Performance => performance_now(),
            Source::Function(f) => f
                .call0(&JsValue::UNDEFINED)
                .ok()
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0),
            Source::Object(this, f) => f.call0(this).ok().and_then(|v| v.as_f64()).unwrap_or(0.0),
        };
        let ns = to_nanos(ms);
        let now = ns.max(self.last.get());
        self.last.set(now);
        now
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

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

#[derive(Default)]
struct TimerState {
    fired: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

/// A call timeout: a `setTimeout` that wakes the task awaiting the call. Dropping
/// the timer clears the timeout and frees its callback (no leak per call).
pub(crate) struct Timer {
    state: Rc<TimerState>,
    handle: JsValue,
    _callback: Closure<dyn FnMut()>,
}

impl Timer {
    pub(crate) fn start(ns: u64) -> Timer {
        let state = Rc::new(TimerState::default());
        let shared = state.clone();
        let callback = Closure::<dyn FnMut()>::new(move || {
            shared.fired.set(true);
            if let Some(waker) = shared.waker.take() {
                waker.wake();
            }
        });
        let handle = set_timeout(callback.as_ref().unchecked_ref(), to_millis(ns));
        Timer {
            state,
            handle,
            _callback: callback,
        }
    }

    /// Whether the timeout has passed; if not, `cx`'s task is woken when it does.
    fn poll_fired(&self, cx: &mut Context<'_>) -> bool {
        if self.state.fired.get() {
            return true;
        }
        self.state.waker.set(Some(cx.waker().clone()));
        false
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        clear_timeout(&self.handle);
    }
}

/// Awaits `call`, or gives up when `timer` fires first (`None`).
pub(crate) async fn race<F: Future + Unpin>(
    mut call: F,
    timer: Option<&Timer>,
) -> Option<F::Output> {
    poll_fn(|cx| {
        if let Poll::Ready(value) = Pin::new(&mut call).poll(cx) {
            return Poll::Ready(Some(value));
        }
        match timer {
            Some(timer) if timer.poll_fired(cx) => Poll::Ready(None),
            _ => Poll::Pending,
        }
    })
    .await
}
