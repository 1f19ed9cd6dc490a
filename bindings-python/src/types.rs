//! The Python-defined types the compiled module hands out (`tripwire._types`):
//! `CircuitState` members, `Transition` and `CircuitBreakerStats`, imported once.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use tripwire_core::{State, Transition};

const MODULE: &str = "tripwire._types";

/// The `CircuitState` member for `state`.
pub(crate) fn state(py: Python<'_>, state: State) -> PyResult<Bound<'_, PyAny>> {
    static MEMBERS: PyOnceLock<[Py<PyAny>; 3]> = PyOnceLock::new();
    let members = MEMBERS.get_or_try_init(py, || -> PyResult<_> {
        let class = py.import(MODULE)?.getattr("CircuitState")?;
        Ok([
            class.getattr("CLOSED")?.unbind(),
            class.getattr("OPEN")?.unbind(),
            class.getattr("HALF_OPEN")?.unbind(),
        ])
    })?;
    let index = match state {
        State::Closed => 0,
        State::Open => 1,
        State::HalfOpen => 2,
    };
    Ok(members[index].bind(py).clone())
}

/// `Transition(old, new)`.
pub(crate) fn transition(py: Python<'_>, transition: Transition) -> PyResult<Bound<'_, PyAny>> {
    static CLASS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let class = CLASS.get_or_try_init(py, || -> PyResult<_> {
        Ok(py.import(MODULE)?.getattr("Transition")?.unbind())
    })?;
    class
        .bind(py)
        .call1((state(py, transition.from)?, state(py, transition.to)?))
}

/// `CircuitBreakerStats(**fields)`.
pub(crate) fn stats<'py>(
    py: Python<'py>,
    fields: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyAny>> {
    static CLASS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let class = CLASS.get_or_try_init(py, || -> PyResult<_> {
        Ok(py.import(MODULE)?.getattr("CircuitBreakerStats")?.unbind())
    })?;
    class.bind(py).call((), Some(fields))
}
