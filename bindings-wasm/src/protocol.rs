//! The JS↔wasm protocol: the codes the facade's numbers mean, declared once in the core
//! (`tripwire_core::bindings::codes`, shared with the Node addon: one facade serves both
//! engines). The facade (`js/tripwire.js`) reads them at load from [`protocol`] and
//! fails to load if one it hard-codes differs.

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

/// The codes the shared facade and both engines use: declared once, in the core.
pub(crate) use tripwire_core::bindings::codes::*;

/// Every code, by its JS name: the shared ones and this engine's.
#[wasm_bindgen(skip_typescript)]
pub fn protocol() -> Object {
    let o = Object::new();
    let numbers: &[(&str, f64)] = &[
        // No quiet gates, success ring or ticker in the browser (Node's fast paths).
        ("GATE", 4.0),
    ];
    for (name, value) in ENGINE_CODES.iter().chain(numbers) {
        let _ = Reflect::set(&o, &JsValue::from_str(name), &JsValue::from_f64(*value));
    }
    let causes: js_sys::Array = CAUSE_NAMES.iter().map(|n| JsValue::from_str(n)).collect();
    let _ = Reflect::set(&o, &JsValue::from_str("CAUSE_NAMES"), &causes);
    Object::freeze(&o)
}
