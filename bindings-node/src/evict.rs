//! The eviction index of the package's bounded registries (the core's
//! [`Eviction`]): `circuitBreakerRegistry` keeps one. The registry's map stays in JS;
//! this decides which idle entry goes when it is full, asking JS about each
//! candidate through a probe (only JS knows every call in flight).

use std::cell::RefCell;

use napi::bindgen_prelude::Function;
use napi::{Error, Result, Status};
use napi_derive::napi;
use tripwire_core::{Eviction, Probe};

use crate::slab::Slab;

thread_local! {
    static INDEXES: RefCell<Slab<Eviction>> = const { RefCell::new(Slab::new()) };
}

fn with<R>(id: u32, f: impl FnOnce(&mut Eviction) -> R) -> Result<R> {
    INDEXES.with(|indexes| {
        let mut indexes = indexes.try_borrow_mut().map_err(|_| {
            Error::new(
                Status::GenericFailure,
                "an eviction probe may not use the index",
            )
        })?;
        indexes
            .get_mut(id)
            .map(f)
            .ok_or_else(|| Error::new(Status::InvalidArg, format!("no eviction index {id}")))
    })
}

/// A new index keeping at most `capacity` entries; returns its id.
#[napi]
pub fn eviction_new(capacity: u32) -> u32 {
    INDEXES.with_borrow_mut(|indexes| indexes.insert(Eviction::new(capacity as usize)))
}

/// Frees an index (its id may be reused): a guardFetch that is collected.
#[napi]
pub fn eviction_release(id: u32) {
    INDEXES.with_borrow_mut(|indexes| drop(indexes.remove(id)));
}

/// Changes the capacity (at least 1); a smaller one applies from the next admission.
#[napi]
pub fn eviction_set_capacity(id: u32, capacity: u32) -> Result<()> {
    with(id, |index| index.set_capacity(capacity as usize))
}

/// Admits an entry: returns its slot followed by the slots evicted to make room.
/// `probe(slot)` answers for a candidate: its activity count (≥ 0) when idle, -1
/// when busy; a probe that throws counts as busy.
#[napi]
pub fn eviction_admit(id: u32, probe: Function<u32, f64>) -> Result<Vec<u32>> {
    with(id, |index| {
        let (slot, evicted) = index.admit(|candidate| match probe.call(candidate) {
            Ok(activity) if activity >= 0.0 => Probe::Idle {
                activity: activity as u64,
            },
            _ => Probe::Busy,
        });
        let mut out = Vec::with_capacity(1 + evicted.len());
        out.push(slot);
        out.extend(evicted);
        out
    })
}

/// Frees `slot` (its entry was removed).
#[napi]
pub fn eviction_remove(id: u32, slot: u32) -> Result<()> {
    with(id, |index| index.remove(slot))
}

/// Frees every slot.
#[napi]
pub fn eviction_clear(id: u32) -> Result<()> {
    with(id, Eviction::clear)
}

/// `[entries, capacity, evictions]`.
#[napi]
pub fn eviction_stats(id: u32) -> Result<Vec<f64>> {
    with(id, |index| {
        vec![
            index.len() as f64,
            index.capacity() as f64,
            index.evictions() as f64,
        ]
    })
}
