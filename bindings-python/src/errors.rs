//! The refusal exception. Raising one is cheap: it runs no Python code, the fields
//! are stored as they are and the message is formatted only when someone reads it.
//!
//! The exception classes are defined in Python (`tripwire/_types.py`): the abi3
//! wheel targets Python 3.9's stable ABI, where a PyO3 class cannot extend
//! `Exception`.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyType};

use crate::types;

const MODULE: &str = "tripwire._types";

/// `tripwire.CircuitBreakerError`, the base of every refusal.
pub(crate) fn refusal_class(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    CLASS.import(py, MODULE, "CircuitBreakerError")
}

/// A new `CircuitBreakerOpenError` (not raised).
pub(crate) fn open_error<'py>(
    py: Python<'py>,
    class: Option<&Py<PyType>>,
    name: &Py<PyString>,
    rejected: tripwire_core::Rejected,
) -> PyResult<Bound<'py, PyAny>> {
    static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static NEW: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    // A breaker of `tripwire.pybreaker` raises that module's class.
    let class = match class {
        Some(class) => class.bind(py),
        None => CLASS.import(py, MODULE, "CircuitBreakerOpenError")?,
    };
    // `BaseException.__new__` stores the arguments as `args` in C; calling the class
    // would also run its Python `__init__`, a frame on every refusal.
    let new = NEW.get_or_try_init(py, || -> PyResult<_> {
        Ok(py
            .get_type::<pyo3::exceptions::PyBaseException>()
            .getattr("__new__")?
            .unbind())
    })?;
    new.bind(py).call1((
        class,
        name.clone_ref(py),
        types::state(py, rejected.state)?,
        rejected.retry_after.map(crate::clock::seconds),
    ))
}
