//! The errors JS callers see: `TypeError`/`RangeError` for bad options, and `Error`s
//! whose `name` tells what happened, with the Node package's fields:
//! `CircuitBreakerOpenError` (`code` `'EOPENBREAKER'`, `state`, `breakerName`,
//! `retryAfter`) and `CircuitBreakerTimeoutError` (`code` `'ETIMEDOUT'`, `timeout`,
//! `breakerName`).

use js_sys::{RangeError, TypeError};
use tripwire_core::Rejected;
use wasm_bindgen::prelude::*;

use crate::breaker::state_name;
use crate::clock::to_millis;

pub(crate) fn type_error(message: &str) -> JsValue {
    TypeError::new(message).into()
}

pub(crate) fn range_error(message: &str) -> JsValue {
    RangeError::new(message).into()
}

#[wasm_bindgen(module = "/src/settle.js")]
extern "C" {
    #[wasm_bindgen(js_name = openError)]
    fn make_open_error(breaker_name: &JsValue, state: &JsValue, retry_after: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = timeoutError)]
    fn make_timeout_error(timeout: f64, breaker_name: &JsValue) -> JsValue;
}

/// The breaker refused the call (OPEN, or HALF_OPEN with every trial slot taken).
/// `retryAfter`: ms until a call may pass, `null` while forced open.
pub(crate) fn open_error(breaker: &JsValue, rejected: Rejected) -> JsValue {
    let retry_after = rejected
        .retry_after
        .map_or(JsValue::NULL, |ns| JsValue::from_f64(to_millis(ns)));
    make_open_error(breaker, &state_name(rejected.state), &retry_after)
}

/// The call ran out of time: `Timeout after <ms>ms`. Not a refusal.
pub(crate) fn timeout_error(breaker: &JsValue, timeout_ns: u64) -> JsValue {
    make_timeout_error(to_millis(timeout_ns), breaker)
}
