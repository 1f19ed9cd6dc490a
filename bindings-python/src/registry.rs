//! The process-wide registry of breakers by name (the core's `Registry`).

use std::sync::{Arc, LazyLock};

use pyo3::prelude::*;
use pyo3::types::PyList;
use tripwire_core::Registry;

use crate::breaker::Breaker;

static REGISTRY: LazyLock<Registry<Py<Breaker>>> = LazyLock::new(Registry::new);

/// Registers `breaker` under its name, replacing any earlier one.
#[pyfunction]
pub(crate) fn _register(breaker: &Bound<'_, Breaker>) -> PyResult<()> {
    let name: String = breaker.getattr("name")?.extract()?;
    let previous = REGISTRY.insert(&name, Arc::new(breaker.clone().unbind()));
    drop(previous);
    Ok(())
}

/// The breaker registered under `name`, or None.
#[pyfunction]
pub(crate) fn _registry_get(py: Python<'_>, name: &str) -> Option<Py<Breaker>> {
    REGISTRY.get(name).map(|b| b.clone_ref(py))
}

/// Every registered breaker, sorted by name.
#[pyfunction]
pub(crate) fn _registry_all<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
    PyList::new(
        py,
        REGISTRY
            .entries_sorted()
            .iter()
            .map(|(_, b)| b.clone_ref(py)),
    )
}

/// Removes the breaker under `name`; returns it, or None.
#[pyfunction]
pub(crate) fn _registry_remove(py: Python<'_>, name: &str) -> Option<Py<Breaker>> {
    REGISTRY.remove(name).map(|b| b.clone_ref(py))
}

/// Removes every breaker.
#[pyfunction]
pub(crate) fn _registry_clear() {
    // Remove one by one so that no breaker is dropped while the registry is locked.
    for (name, _) in REGISTRY.entries_sorted() {
        drop(REGISTRY.remove(&name));
    }
}

/// Removes the entry under `name` if it is `breaker` (a breaker the service evicted;
/// a later breaker registered under the same name stays).
pub(crate) fn remove_if(py: Python<'_>, name: &str, breaker: &Py<Breaker>) {
    if REGISTRY
        .get(name)
        .is_some_and(|b| b.bind(py).is(breaker.bind(py)))
    {
        drop(REGISTRY.remove(name));
    }
}
