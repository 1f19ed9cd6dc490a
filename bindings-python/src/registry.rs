//! The process-wide registry of breakers by name, bounded: past its capacity
//! (default 10,000 names) registering a new name evicts an idle entry, chosen by the
//! core's [`Eviction`] index (CLOSED, not forced or disabled, nothing in flight).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyList};
use tripwire_core::{Eviction, DEFAULT_REGISTRY_CAPACITY};

use crate::breaker::Breaker;
use crate::name::Name;

struct Bounded {
    /// Name → (slot in the index, breaker).
    entries: HashMap<String, (u32, Py<Breaker>)>,
    /// The name in each slot of the index.
    names: Vec<Option<String>>,
    index: Eviction,
}

static REGISTRY: LazyLock<Mutex<Bounded>> = LazyLock::new(|| {
    Mutex::new(Bounded {
        entries: HashMap::new(),
        names: Vec::new(),
        index: Eviction::new(DEFAULT_REGISTRY_CAPACITY),
    })
});

fn registry() -> MutexGuard<'static, Bounded> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Registers `breaker` under its name, replacing any earlier one; returns the
/// `(name, breaker)` entries evicted to keep the bound. No breaker is dropped while
/// the registry is locked (a drop may run Python code that uses it).
#[pyfunction]
pub(crate) fn _register<'py>(breaker: &Bound<'py, Breaker>) -> PyResult<Bound<'py, PyList>> {
    let py = breaker.py();
    // The engine's name, not a subclass's `name` (tripwire.pybreaker's may be None).
    let name = breaker.get().key(py)?;
    let mut dropped: Vec<Py<Breaker>> = Vec::new();
    let mut evicted: Vec<(String, Py<Breaker>)> = Vec::new();
    {
        let mut reg = registry();
        let reg = &mut *reg;
        if let Some((_, old)) = reg.entries.get_mut(&name) {
            dropped.push(std::mem::replace(old, breaker.clone().unbind()));
        } else {
            let entries = &reg.entries;
            let names = &reg.names;
            let (slot, gone) = reg.index.admit(|slot| {
                names
                    .get(slot as usize)
                    .and_then(Option::as_ref)
                    .and_then(|n| entries.get(n))
                    .map_or(tripwire_core::Probe::Busy, |(_, b)| b.get().probe())
            });
            for slot in gone {
                if let Some(gone_name) = reg.names.get_mut(slot as usize).and_then(Option::take) {
                    if let Some((_, b)) = reg.entries.remove(&gone_name) {
                        evicted.push((gone_name, b));
                    }
                }
            }
            if reg.names.len() <= slot as usize {
                reg.names.resize(slot as usize + 1, None);
            }
            reg.names[slot as usize] = Some(name.clone());
            reg.entries.insert(name, (slot, breaker.clone().unbind()));
        }
    }
    drop(dropped);
    PyList::new(py, evicted)
}

/// The breaker registered under `name`, or None.
#[pyfunction]
pub(crate) fn _registry_get(py: Python<'_>, name: Name) -> Option<Py<Breaker>> {
    registry().entries.get(&*name).map(|(_, b)| b.clone_ref(py))
}

/// Every registered breaker, sorted by name.
#[pyfunction]
pub(crate) fn _registry_all<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
    let mut all: Vec<(String, Py<Breaker>)> = registry()
        .entries
        .iter()
        .map(|(k, (_, b))| (k.clone(), b.clone_ref(py)))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    PyList::new(py, all.into_iter().map(|(_, b)| b))
}

/// Removes the breaker under `name`; returns it, or None.
#[pyfunction]
pub(crate) fn _registry_remove(py: Python<'_>, name: Name) -> Option<Py<Breaker>> {
    remove(py, &name)
}

fn remove(py: Python<'_>, name: &str) -> Option<Py<Breaker>> {
    let removed = {
        let mut reg = registry();
        let removed = reg.entries.remove(name);
        if let Some((slot, _)) = &removed {
            reg.index.remove(*slot);
            if let Some(n) = reg.names.get_mut(*slot as usize) {
                *n = None;
            }
        }
        removed
    };
    removed.map(|(_, b)| b.clone_ref(py))
}

/// Removes every breaker.
#[pyfunction]
pub(crate) fn _registry_clear() {
    let entries = {
        let mut reg = registry();
        reg.index.clear();
        reg.names.clear();
        std::mem::take(&mut reg.entries)
    };
    drop(entries);
}

/// `(entries, capacity, evictions)`.
#[pyfunction]
pub(crate) fn _registry_info() -> (usize, usize, u64) {
    let reg = registry();
    (reg.index.len(), reg.index.capacity(), reg.index.evictions())
}

/// Sets how many names the registry keeps before it evicts idle ones: any int ≥ 1,
/// held as at most `u32::MAX` (the index's slots are `u32`; no process holds that many).
#[pyfunction]
pub(crate) fn _registry_set_capacity(capacity: &Bound<'_, PyInt>) -> PyResult<()> {
    if capacity.lt(1)? {
        return Err(PyValueError::new_err(format!(
            "`capacity` must be a whole number ≥ 1, not {capacity}"
        )));
    }
    let capacity = capacity.extract::<u32>().unwrap_or(u32::MAX);
    registry().index.set_capacity(capacity as usize);
    Ok(())
}

/// Removes the entry under `name` if it is `breaker` (a breaker the service evicted;
/// a later breaker registered under the same name stays).
pub(crate) fn remove_if(py: Python<'_>, name: &str, breaker: &Py<Breaker>) {
    let found = registry()
        .entries
        .get(name)
        .is_some_and(|(_, b)| b.is(breaker));
    if found {
        drop(remove(py, name));
    }
}

/// Every registered breaker with its name (a copy: the registry is not locked after).
pub(crate) fn entries(py: Python<'_>) -> Vec<(String, Py<Breaker>)> {
    registry()
        .entries
        .iter()
        .map(|(k, (_, b))| (k.clone(), b.clone_ref(py)))
        .collect()
}
