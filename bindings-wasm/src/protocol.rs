//! The JS↔wasm protocol, declared once: the codes the facade's numbers mean. Rust uses
//! these constants; the facade (`js/tripwire.js`) reads them at load from [`protocol`]
//! and fails to load if one it hard-codes differs. The values are the Node addon's
//! (`bindings-node/src/protocol.rs`): one facade serves both engines.

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

/// State codes: CLOSED, OPEN, HALF_OPEN.
pub(crate) const STATE_CLOSED: u32 = 0;
pub(crate) const STATE_OPEN: u32 = 1;
pub(crate) const STATE_HALF_OPEN: u32 = 2;
/// A transition's code is `TRANSITION_BASE + from * STATES + to`; 0 is no transition.
pub(crate) const TRANSITION_BASE: u32 = 1;
pub(crate) const STATES: u32 = 3;
/// Outcome codes of `recordAt`.
pub(crate) const OUTCOME_SUCCESS: u32 = 0;
pub(crate) const OUTCOME_FAILURE: u32 = 1;
pub(crate) const OUTCOME_TIMEOUT: u32 = 2;
pub(crate) const OUTCOME_IGNORED: u32 = 3;
pub(crate) const OUTCOME_CANCELLED: u32 = 4;
/// Permit codes of `acquireAt`: `slot * PERMIT_STRIDE + 1` when the acquire moved
/// OPEN → HALF_OPEN, `slot * PERMIT_STRIDE` otherwise; or a rejection code.
pub(crate) const PERMIT_STRIDE: u32 = 2;
/// Forced open (no retry-after).
pub(crate) const REJECTED_FORCED: f64 = -1.0;
/// Half-open with every trial slot taken.
pub(crate) const REJECTED_HALF_OPEN: f64 = -2.0;
/// Open: this minus the retry-after in whole milliseconds (rounded up).
pub(crate) const REJECTED_OPEN: f64 = -3.0;
/// Manual operations of `control`.
pub(crate) const OP_OPEN: u32 = 0;
pub(crate) const OP_CLOSE: u32 = 1;
pub(crate) const OP_RESET: u32 = 2;
pub(crate) const OP_DISABLE: u32 = 3;
pub(crate) const OP_ENABLE: u32 = 4;

/// Every constant above, by its JS name.
#[wasm_bindgen(skip_typescript)]
pub fn protocol() -> Object {
    let o = Object::new();
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
        ("PERMIT_STRIDE", f64::from(PERMIT_STRIDE)),
        ("REJECTED_FORCED", REJECTED_FORCED),
        ("REJECTED_HALF_OPEN", REJECTED_HALF_OPEN),
        ("REJECTED_OPEN", REJECTED_OPEN),
        ("OP_OPEN", f64::from(OP_OPEN)),
        ("OP_CLOSE", f64::from(OP_CLOSE)),
        ("OP_RESET", f64::from(OP_RESET)),
        ("OP_DISABLE", f64::from(OP_DISABLE)),
        ("OP_ENABLE", f64::from(OP_ENABLE)),
        // No quiet gates, success ring or ticker in the browser (Node's fast paths).
        ("GATE", 2.0),
    ];
    for (name, value) in numbers {
        let _ = Reflect::set(&o, &JsValue::from_str(name), &JsValue::from_f64(*value));
    }
    Object::freeze(&o)
}
