//! `tripwire._core`: the compiled half of the Python package `tripwire`.
//!
//! Conversion, error mapping and the hot paths only; every rule (thresholds,
//! windows, transitions, option checks) lives in `tripwire-core`. The pure-Python
//! facade (`tripwire/__init__.py`) adds what is Python's idiom: the decorator,
//! `async`, `with`, listeners.

use pyo3::prelude::*;

mod breaker;
mod clock;
mod errors;
mod metrics;
mod name;
mod options;
mod registry;
mod resilience;
mod service;
mod store;
mod types;

/// The compiled module. It holds no global interpreter state of its own beyond
/// the registry (behind a mutex), so it declares free-threading support.
#[pymodule(gil_used = false)]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(_http_status_is_failure, m)?)?;
    m.add_class::<breaker::Breaker>()?;
    m.add_class::<breaker::Permit>()?;
    m.add_class::<breaker::Guarded>()?;
    m.add_class::<clock::ManualClock>()?;
    m.add_class::<store::PyRedisStore>()?;
    m.add_function(wrap_pyfunction!(registry::_register, m)?)?;
    m.add_function(wrap_pyfunction!(registry::_registry_get, m)?)?;
    m.add_function(wrap_pyfunction!(registry::_registry_all, m)?)?;
    m.add_function(wrap_pyfunction!(registry::_registry_remove, m)?)?;
    m.add_function(wrap_pyfunction!(registry::_registry_clear, m)?)?;
    m.add_function(wrap_pyfunction!(registry::_registry_info, m)?)?;
    m.add_function(wrap_pyfunction!(registry::_registry_set_capacity, m)?)?;
    resilience::register(m)?;
    service::register(m)?;
    metrics::register(m)?;
    Ok(())
}

/// Whether an HTTP status counts as a failure: the core's one rule (≥ 500 or 429),
/// shared with Node and the browser. `tripwire.http_failure` reads the status.
#[pyfunction]
fn _http_status_is_failure(status: f64) -> bool {
    tripwire_core::http_status_is_failure(status)
}
