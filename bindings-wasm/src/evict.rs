//! The core's eviction index (`tripwire_core::Eviction`) by id, as the Node addon
//! exports it: the facade keeps its registries' maps, this decides which idle entry
//! goes when one is full.

use alloc::vec;
use alloc::vec::Vec;

use js_sys::Function;
use tripwire_core::{Eviction, Probe};
use wasm_bindgen::prelude::*;

use crate::Global;

/// The indexes by id; a freed id (None) is reused by the next index made.
static INDEXES: Global<Vec<Option<Eviction>>> = Global::new(Vec::new());

fn with<T>(id: u32, f: impl FnOnce(&mut Eviction) -> T) -> Result<T, JsValue> {
    INDEXES.with_borrow_mut(|indexes| {
        indexes
            .get_mut(id as usize)
            .and_then(Option::as_mut)
            .map(f)
            .ok_or_else(|| JsValue::from(js_sys::Error::new("no such eviction index")))
    })
}

/// A new index keeping at most `capacity` entries; returns its id.
#[wasm_bindgen(js_name = evictionNew, skip_typescript)]
pub fn eviction_new(capacity: u32) -> u32 {
    INDEXES.with_borrow_mut(|indexes| {
        let index = Some(Eviction::new(capacity as usize));
        // A scan, not a free list: a page makes few guards (and the package is small).
        match indexes.iter().position(Option::is_none) {
            Some(id) => {
                indexes[id] = index;
                id as u32
            }
            None => {
                indexes.push(index);
                (indexes.len() - 1) as u32
            }
        }
    })
}

/// Frees an index (its id may be reused): a guardFetch that is collected.
#[wasm_bindgen(js_name = evictionRelease, skip_typescript)]
pub fn eviction_release(id: u32) {
    INDEXES.with_borrow_mut(|indexes| {
        if let Some(slot) = indexes.get_mut(id as usize) {
            *slot = None;
        }
    });
}

/// Changes the capacity (at least 1).
#[wasm_bindgen(js_name = evictionSetCapacity, skip_typescript)]
pub fn eviction_set_capacity(id: u32, capacity: u32) -> Result<(), JsValue> {
    with(id, |index| index.set_capacity(capacity as usize))
}

/// Admits an entry: its slot, then the slots evicted to make room. `probe(slot)`
/// answers the entry's activity (≥ 0) when idle, -1 when busy; a throw is busy.
#[wasm_bindgen(js_name = evictionAdmit, skip_typescript)]
pub fn eviction_admit(id: u32, probe: &Function) -> Result<Vec<u32>, JsValue> {
    with(id, |index| {
        let (slot, evicted) = index.admit(|candidate| {
            match probe
                .call1(&JsValue::UNDEFINED, &JsValue::from(candidate))
                .ok()
                .and_then(|v| v.as_f64())
            {
                Some(activity) if activity >= 0.0 => Probe::Idle {
                    activity: activity as u64,
                },
                _ => Probe::Busy,
            }
        });
        let mut out = Vec::with_capacity(1 + evicted.len());
        out.push(slot);
        out.extend(evicted);
        out
    })
}

/// Frees `slot` (its entry was removed).
#[wasm_bindgen(js_name = evictionRemove, skip_typescript)]
pub fn eviction_remove(id: u32, slot: u32) -> Result<(), JsValue> {
    with(id, |index| index.remove(slot))
}

/// Frees every slot.
#[wasm_bindgen(js_name = evictionClear, skip_typescript)]
pub fn eviction_clear(id: u32) -> Result<(), JsValue> {
    with(id, Eviction::clear)
}

/// `[entries, capacity, evictions]`.
#[wasm_bindgen(js_name = evictionStats, skip_typescript)]
pub fn eviction_stats(id: u32) -> Result<Vec<f64>, JsValue> {
    with(id, |index| {
        vec![
            index.len() as f64,
            index.capacity() as f64,
            index.evictions() as f64,
        ]
    })
}
