//! Snapshot and restore (feature `snapshot`): the core's snapshot as postcard bytes.

use alloc::string::ToString;
use alloc::vec::Vec;

use tripwire_core::{Breaker, Snapshot};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::engine::{config_of, insert, nanos, with};
use crate::options::{range_error, type_error};

/// The whole state of breaker `id` at `now_ms` as compact bytes, for [`restore`].
#[wasm_bindgen(skip_typescript)]
pub fn snapshot(id: u32, now_ms: f64) -> Result<Vec<u8>, JsValue> {
    with(id, |e| {
        let snapshot = e.breaker.snapshot(nanos(now_ms));
        postcard::to_allocvec(&snapshot).map_err(|_| type_error("snapshot: cannot encode"))
    })
}

/// A breaker with `options` in the state `bytes` (from [`snapshot`]) describes; its id.
/// A `TypeError` on bytes that are not a snapshot, a `RangeError` on one that does not
/// fit the options.
#[wasm_bindgen(skip_typescript)]
pub fn restore(options: JsValue, bytes: JsValue, now_ms: f64) -> Result<u32, JsValue> {
    let config = config_of(&options)?;
    let bytes = bytes
        .dyn_into::<js_sys::Uint8Array>()
        .map_err(|_| type_error("restore: the snapshot must be a Uint8Array"))?
        .to_vec();
    let snapshot: Snapshot =
        postcard::from_bytes(&bytes).map_err(|_| type_error("restore: not a tripwire snapshot"))?;
    let breaker = Breaker::restore(config, &snapshot, nanos(now_ms))
        .map_err(|e| range_error(&e.to_string()))?;
    Ok(insert(breaker))
}
