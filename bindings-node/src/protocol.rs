//! The JS↔Rust protocol, declared once: the codes and strides the facade's numbers
//! mean. Rust uses these constants; JS reads them at load from [`protocol`] (and fails
//! to load if a value it must hard-code, such as the permit-code arithmetic, differs).

use napi::bindgen_prelude::{JsObjectValue, Object};
use napi::{Env, Result};
use napi_derive::napi;

/// State codes: CLOSED, OPEN, HALF_OPEN.
pub(crate) const STATE_CLOSED: u32 = 0;
pub(crate) const STATE_OPEN: u32 = 1;
pub(crate) const STATE_HALF_OPEN: u32 = 2;
/// A transition's code is `TRANSITION_BASE + from * STATES + to`; 0 is no transition.
pub(crate) const TRANSITION_BASE: u32 = 1;
pub(crate) const STATES: u32 = 3;

/// Outcome codes of `recordAt` / `recordQuietAt` and the service's `serviceEnd`.
pub(crate) const OUTCOME_SUCCESS: u32 = 0;
pub(crate) const OUTCOME_FAILURE: u32 = 1;
pub(crate) const OUTCOME_TIMEOUT: u32 = 2;
pub(crate) const OUTCOME_IGNORED: u32 = 3;
pub(crate) const OUTCOME_CANCELLED: u32 = 4;
/// The service only: the breaker refused the attempt (nothing to record).
pub(crate) const OUTCOME_REFUSED: u32 = 5;

/// Permit codes of `acquireAt`: `slot * PERMIT_STRIDE + 1` when the acquire moved
/// OPEN → HALF_OPEN, `slot * PERMIT_STRIDE` otherwise; or a rejection code.
pub(crate) const PERMIT_STRIDE: u32 = 2;
/// Forced open (no retry-after).
pub const REJECTED_FORCED: f64 = -1.0;
/// Half-open with every trial slot taken.
pub const REJECTED_HALF_OPEN: f64 = -2.0;
/// Open: this minus the retry-after in milliseconds.
pub const REJECTED_OPEN: f64 = -3.0;

/// Manual operations of `control`.
pub(crate) const OP_OPEN: u32 = 0;
pub(crate) const OP_CLOSE: u32 = 1;
pub(crate) const OP_RESET: u32 = 2;
pub(crate) const OP_DISABLE: u32 = 3;
pub(crate) const OP_ENABLE: u32 = 4;

/// Numbers per breaker in the gates array: `[quietUntilMs, generation]`.
pub(crate) const GATE: usize = 2;
/// Runs of successes the ring holds, and numbers per run:
/// `[runs, (id, generation, startMs, endMs, calls) × RING_CAPACITY]`.
pub(crate) const RING_CAPACITY: usize = 256;
pub(crate) const RING_ENTRY: usize = 5;
/// The ticker array: `[nowMs, ticking, reads]`.
pub(crate) const TICKER_NOW: usize = 0;
pub(crate) const TICKER_TICKING: usize = 1;
pub(crate) const TICKER_READS: usize = 2;
pub(crate) const TICKER_LEN: usize = 3;

/// The service cell (`shared().service`): what a service call's native step answers
/// besides its return value.
pub(crate) const CELL_BEGIN: usize = 0;
pub(crate) const CELL_CALL: usize = 1;
pub(crate) const CELL_WAIT: usize = 2;
pub(crate) const CELL_AFTER: usize = 3;
pub(crate) const CELL_VALUE: usize = 4;
pub(crate) const CELL_LETTER: usize = 5;
pub(crate) const CELL_DROPPED: usize = 6;
pub(crate) const CELL_ADMIT: usize = 7;
pub(crate) const CELL_ALERTS: usize = 8;
pub(crate) const CELL_LEN: usize = 9;

/// `CELL_BEGIN`: run now (`CELL_CALL` is the call), wait (`CELL_WAIT` ms at most, -1
/// none), or refused (`CELL_CALL` is the refusal).
pub(crate) const BEGIN_RUN: f64 = 0.0;
pub(crate) const BEGIN_QUEUED: f64 = 1.0;
pub(crate) const BEGIN_REFUSED: f64 = 2.0;
/// Refusals: every slot and queue place taken; waited too long.
pub(crate) const REFUSED_FULL: f64 = 0.0;
pub(crate) const REFUSED_QUEUE_TIMEOUT: f64 = 1.0;

/// `CELL_AFTER`: nothing ended; retry after `CELL_VALUE` ms; done; failed after
/// `CELL_VALUE` attempts (dead letter `CELL_LETTER`, dropped `CELL_DROPPED`, -1 none);
/// cancelled.
pub(crate) const AFTER_NONE: f64 = -1.0;
pub(crate) const AFTER_RETRY: f64 = 0.0;
pub(crate) const AFTER_DONE: f64 = 1.0;
pub(crate) const AFTER_FAILED: f64 = 2.0;
pub(crate) const AFTER_CANCELLED: f64 = 3.0;

/// `serviceBegin`'s retry argument: the service's policy, or seed 003's single attempt.
pub(crate) const RETRY_SERVICE: f64 = -1.0;
pub(crate) const RETRY_NONE: f64 = -2.0;
/// `serviceWaitOver`: admitted meanwhile; refused (queue timeout); else ms more to wait.
pub(crate) const WAIT_ADMITTED: f64 = -1.0;
pub(crate) const WAIT_REFUSED: f64 = -2.0;

/// Every constant above, by its JS name: `protocol()`.
#[napi]
pub fn protocol(env: Env) -> Result<Object<'static>> {
    let mut o = Object::new(&env)?;
    let numbers: &[(&str, f64)] = &[
        ("STATE_CLOSED", f64::from(STATE_CLOSED)),
        ("STATE_OPEN", f64::from(STATE_OPEN)),
        ("STATE_HALF_OPEN", f64::from(STATE_HALF_OPEN)),
        ("TRANSITION_BASE", f64::from(TRANSITION_BASE)),
        ("STATES", f64::from(STATES)),
        ("OUTCOME_SUCCESS", f64::from(OUTCOME_SUCCESS)),
        ("OUTCOME_FAILURE", f64::from(OUTCOME_FAILURE)),
        ("OUTCOME_TIMEOUT", f64::from(OUTCOME_TIMEOUT)),
        ("OUTCOME_IGNORED", f64::from(OUTCOME_IGNORED)),
        ("OUTCOME_CANCELLED", f64::from(OUTCOME_CANCELLED)),
        ("OUTCOME_REFUSED", f64::from(OUTCOME_REFUSED)),
        ("PERMIT_STRIDE", f64::from(PERMIT_STRIDE)),
        ("REJECTED_FORCED", REJECTED_FORCED),
        ("REJECTED_HALF_OPEN", REJECTED_HALF_OPEN),
        ("REJECTED_OPEN", REJECTED_OPEN),
        ("OP_OPEN", f64::from(OP_OPEN)),
        ("OP_CLOSE", f64::from(OP_CLOSE)),
        ("OP_RESET", f64::from(OP_RESET)),
        ("OP_DISABLE", f64::from(OP_DISABLE)),
        ("OP_ENABLE", f64::from(OP_ENABLE)),
        ("GATE", GATE as f64),
        ("RING_CAPACITY", RING_CAPACITY as f64),
        ("RING_ENTRY", RING_ENTRY as f64),
        ("TICKER_NOW", TICKER_NOW as f64),
        ("TICKER_TICKING", TICKER_TICKING as f64),
        ("TICKER_READS", TICKER_READS as f64),
        ("TICKER_LEN", TICKER_LEN as f64),
        ("CELL_BEGIN", CELL_BEGIN as f64),
        ("CELL_CALL", CELL_CALL as f64),
        ("CELL_WAIT", CELL_WAIT as f64),
        ("CELL_AFTER", CELL_AFTER as f64),
        ("CELL_VALUE", CELL_VALUE as f64),
        ("CELL_LETTER", CELL_LETTER as f64),
        ("CELL_DROPPED", CELL_DROPPED as f64),
        ("CELL_ADMIT", CELL_ADMIT as f64),
        ("CELL_ALERTS", CELL_ALERTS as f64),
        ("CELL_LEN", CELL_LEN as f64),
        ("BEGIN_RUN", BEGIN_RUN),
        ("BEGIN_QUEUED", BEGIN_QUEUED),
        ("BEGIN_REFUSED", BEGIN_REFUSED),
        ("REFUSED_FULL", REFUSED_FULL),
        ("REFUSED_QUEUE_TIMEOUT", REFUSED_QUEUE_TIMEOUT),
        ("AFTER_NONE", AFTER_NONE),
        ("AFTER_RETRY", AFTER_RETRY),
        ("AFTER_DONE", AFTER_DONE),
        ("AFTER_FAILED", AFTER_FAILED),
        ("AFTER_CANCELLED", AFTER_CANCELLED),
        ("RETRY_SERVICE", RETRY_SERVICE),
        ("RETRY_NONE", RETRY_NONE),
        ("WAIT_ADMITTED", WAIT_ADMITTED),
        ("WAIT_REFUSED", WAIT_REFUSED),
    ];
    for (name, value) in numbers {
        o.set_named_property(name, *value)?;
    }
    o.freeze()?;
    Ok(o)
}
