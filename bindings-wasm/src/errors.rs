//! The errors JS callers see: `TypeError`/`RangeError` for bad options, and plain
//! `Error`s whose `name` tells what happened (`CircuitBreakerOpenError`,
//! `CircuitBreakerTimeoutError`), with the data as properties.

use js_sys::{Error, RangeError, Reflect, TypeError};
use tripwire_core::Rejected;
use wasm_bindgen::prelude::*;

use crate::clock::{fmt_millis, to_millis};

pub(crate) fn type_error(message: &str) -> JsValue {
    TypeError::new(message).into()
}

pub(crate) fn range_error(message: &str) -> JsValue {
    RangeError::new(message).into()
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// The breaker refused the call: `name` is `CircuitBreakerOpenError`, with `code`,
/// `state`, `breaker` and `retryAfter` (ms, `null` while forced open).
pub(crate) fn open_error(breaker: &str, rejected: Rejected) -> JsValue {
    let state = rejected.state.as_str();
    let message = match rejected.retry_after {
        Some(ns) => format!(
            "circuit breaker '{breaker}' is {state}: call refused (retry after {} ms)",
            fmt_millis(ns)
        ),
        None => format!("circuit breaker '{breaker}' is {state} (forced): call refused"),
    };
    let error: JsValue = Error::new(&message).into();
    set(
        &error,
        "name",
        &JsValue::from_str("CircuitBreakerOpenError"),
    );
    set(&error, "code", &JsValue::from_str("CIRCUIT_OPEN"));
    set(&error, "state", &JsValue::from_str(state));
    set(&error, "breaker", &JsValue::from_str(breaker));
    set(
        &error,
        "retryAfter",
        &rejected
            .retry_after
            .map_or(JsValue::NULL, |ns| JsValue::from_f64(to_millis(ns))),
    );
    error
}

/// The call ran out of time: `name` is `CircuitBreakerTimeoutError`, with `timeout` (ms).
pub(crate) fn timeout_error(breaker: &str, timeout_ns: u64) -> JsValue {
    let ms = fmt_millis(timeout_ns);
    let error: JsValue = Error::new(&format!(
        "circuit breaker '{breaker}': call timed out after {ms} ms"
    ))
    .into();
    set(
        &error,
        "name",
        &JsValue::from_str("CircuitBreakerTimeoutError"),
    );
    set(&error, "code", &JsValue::from_str("CIRCUIT_TIMEOUT"));
    set(&error, "breaker", &JsValue::from_str(breaker));
    set(&error, "timeout", &JsValue::from_f64(to_millis(timeout_ns)));
    error
}
