//! Snapshot and restore (feature `snapshot`): the core's snapshot as postcard bytes.

use tripwire_core::{Breaker, Snapshot};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::breaker::{check_name, CircuitBreaker, Inner};
use crate::errors;
use crate::options::BreakerOptions;

#[wasm_bindgen]
impl CircuitBreaker {
    /// The whole state now as compact bytes, to restore later with
    /// `CircuitBreaker.restore` (warm starts); calls in flight are not carried.
    pub fn snapshot(&self) -> Result<Vec<u8>, JsValue> {
        let now = self.inner.clock.now()?;
        let snapshot = self.inner.core.borrow().snapshot(now);
        postcard::to_allocvec(&snapshot).map_err(|_| errors::type_error("snapshot: cannot encode"))
    }

    /// A breaker with `options` in the state `snapshot` (from `snapshot()`) describes.
    /// Throws a `TypeError` on bytes that are not a snapshot, a `RangeError` on one
    /// that does not fit the options.
    pub fn restore(
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        options: Option<BreakerOptions>,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] snapshot: JsValue,
    ) -> Result<CircuitBreaker, JsValue> {
        let options: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
        let inner = Inner::new(check_name(&name)?, &options)?;
        let bytes = snapshot
            .dyn_into::<js_sys::Uint8Array>()
            .map_err(|_| errors::type_error("restore: the snapshot must be a Uint8Array"))?
            .to_vec();
        let snapshot: Snapshot = postcard::from_bytes(&bytes)
            .map_err(|_| errors::type_error("restore: not a tripwire snapshot"))?;
        let config = *inner.core.borrow().config();
        let now = inner.clock.now()?;
        let restored = Breaker::restore(config, &snapshot, now)
            .map_err(|e| errors::range_error(&e.to_string()))?;
        *inner.core.borrow_mut() = restored;
        Ok(CircuitBreaker { inner })
    }
}
