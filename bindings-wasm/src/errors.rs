//! The errors JS callers see: `TypeError`/`RangeError` for bad options, and `Error`s
//! whose `name` tells what happened, with the Node package's fields:
//! `CircuitBreakerOpenError` (`code` `'EOPENBREAKER'`, `state`, `breakerName`,
//! `retryAfter`) and `CircuitBreakerTimeoutError` (`code` `'ETIMEDOUT'`, `timeout`,
//! `breakerName`).

use js_sys::{Error, RangeError, Reflect, TypeError};
use tripwire_core::Rejected;
use wasm_bindgen::prelude::*;

use crate::breaker::state_name;
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

/// The breaker refused the call (OPEN, or HALF_OPEN with every trial slot taken).
/// `retryAfter`: ms until a call may pass, `null` while forced open.
pub(crate) fn open_error(breaker: &str, rejected: Rejected) -> JsValue {
    let state = state_name(rejected.state);
    let error: JsValue = Error::new(&format!(
        "Circuit breaker '{breaker}' is {}",
        rejected.state.as_str()
    ))
    .into();
    set(
        &error,
        "name",
        &JsValue::from_str("CircuitBreakerOpenError"),
    );
    set(&error, "code", &JsValue::from_str("EOPENBREAKER"));
    set(&error, "state", &state);
    set(&error, "breakerName", &JsValue::from_str(breaker));
    set(
        &error,
        "retryAfter",
        &rejected
            .retry_after
            .map_or(JsValue::NULL, |ns| JsValue::from_f64(to_millis(ns))),
    );
    error
}

/// The call ran out of time: `Timeout after <ms>ms`. Not a refusal.
pub(crate) fn timeout_error(breaker: &str, timeout_ns: u64) -> JsValue {
    let error: JsValue = Error::new(&format!("Timeout after {}ms", fmt_millis(timeout_ns))).into();
    set(
        &error,
        "name",
        &JsValue::from_str("CircuitBreakerTimeoutError"),
    );
    set(&error, "code", &JsValue::from_str("ETIMEDOUT"));
    set(&error, "timeout", &JsValue::from_f64(to_millis(timeout_ns)));
    set(&error, "breakerName", &JsValue::from_str(breaker));
    error
}
