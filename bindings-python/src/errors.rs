//! The refusal exception. Raising one is cheap: it runs no Python code, the fields
//! are stored as they are and the message is formatted only when someone reads it.
//!
//! The exception classes are defined in Python (`tripwire/_types.py`): the abi3
//! wheel targets Python 3.9's stable ABI, where a PyO3 class cannot extend
//! `Exception`.

use pyo3::intern;
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

/// A new `CircuitBreakerOpenError` (not raised), or one of `class` (a breaker of
/// `tripwire.pybreaker` raises that module's class, in pybreaker's shape).
pub(crate) fn open_error<'py>(
    py: Python<'py>,
    class: Option<&Py<PyType>>,
    name: &Py<PyString>,
    rejected: tripwire_core::Rejected,
) -> PyResult<Bound<'py, PyAny>> {
    static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static NEW: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    // `BaseException.__new__` stores the arguments as `args` in C; calling the class
    // would also run its Python `__init__`, a frame on every refusal.
    let new = NEW.get_or_try_init(py, || -> PyResult<_> {
        Ok(py
            .get_type::<pyo3::exceptions::PyBaseException>()
            .getattr("__new__")?
            .unbind())
    })?;
    let name = name.clone_ref(py);
    let state = types::state(py, rejected.state)?;
    let retry_after = rejected.retry_after.map(crate::clock::seconds);
    match class {
        // pybreaker's shape: `args` is the class's refusal message alone; the fields
        // are an attribute.
        Some(class) => {
            let class = class.bind(py);
            let error = new
                .bind(py)
                .call1((class, class.getattr(intern!(py, "_REFUSED"))?))?;
            error.setattr(intern!(py, "_fields"), (name, state, retry_after))?;
            Ok(error)
        }
        None => new.bind(py).call1((
            CLASS.import(py, MODULE, "CircuitBreakerOpenError")?,
            name,
            state,
            retry_after,
        )),
    }
}
