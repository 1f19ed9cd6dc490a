//! The refusal exceptions. Raising one is cheap: the fields are stored as they are
//! and the message is formatted only when someone reads it.
//!
//! `CircuitBreakerTimeoutError` (a `TimeoutError`) is defined in Python
//! (`tripwire/_types.py`): a PyO3 class cannot extend `OSError` subclasses safely,
//! as their instance layout is larger than `BaseException`'s.

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyString;
use pyo3::PyClassInitializer;

use crate::types;

fn describe(
    name: &Bound<'_, PyAny>,
    state: &Bound<'_, PyAny>,
    retry_after: Option<f64>,
) -> PyResult<String> {
    let state = state.str()?;
    Ok(match retry_after {
        Some(seconds) => format!(
            "circuit breaker '{}' is {state}: call refused (retry after {seconds:.3} s)",
            name.str()?
        ),
        None => format!("circuit breaker '{}' is {state}: call refused", name.str()?),
    })
}

/// The breaker refused the call: it did not run.
#[pyclass(extends = PyException, subclass, frozen, module = "tripwire")]
pub struct CircuitBreakerError {
    /// The breaker's name.
    #[pyo3(get)]
    name: Py<PyAny>,
    /// The state that refused the call: OPEN, or HALF_OPEN with every trial slot taken.
    #[pyo3(get)]
    state: Py<PyAny>,
    /// Seconds until a call may be admitted; `None` while forced open.
    #[pyo3(get)]
    retry_after: Option<f64>,
}

#[pymethods]
impl CircuitBreakerError {
    #[new]
    #[pyo3(signature = (name, state, retry_after = None))]
    fn new(name: Py<PyAny>, state: Py<PyAny>, retry_after: Option<f64>) -> Self {
        CircuitBreakerError {
            name,
            state,
            retry_after,
        }
    }

    fn __str__(&self, py: Python<'_>) -> PyResult<String> {
        describe(self.name.bind(py), self.state.bind(py), self.retry_after)
    }

    /// Pickles as `cls(name, state, retry_after)` (refusals cross process pools).
    #[allow(clippy::type_complexity)]
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> (
        Bound<'py, pyo3::types::PyType>,
        (Py<PyAny>, Py<PyAny>, Option<f64>),
    ) {
        let this = slf.get();
        let py = slf.py();
        (
            slf.get_type(),
            (
                this.name.clone_ref(py),
                this.state.clone_ref(py),
                this.retry_after,
            ),
        )
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let this = slf.get();
        let py = slf.py();
        Ok(format!(
            "{}({}, {}, {})",
            slf.get_type().name()?,
            this.name.bind(py).repr()?,
            this.state.bind(py).repr()?,
            this.retry_after
                .map_or_else(|| "None".to_string(), |s| s.to_string())
        ))
    }
}

/// The circuit is open (or half-open with no free trial): the call was not made.
#[pyclass(extends = CircuitBreakerError, subclass, frozen, module = "tripwire")]
pub struct CircuitBreakerOpenError;

#[pymethods]
impl CircuitBreakerOpenError {
    #[new]
    #[pyo3(signature = (name, state, retry_after = None))]
    fn new(
        name: Py<PyAny>,
        state: Py<PyAny>,
        retry_after: Option<f64>,
    ) -> PyClassInitializer<Self> {
        PyClassInitializer::from(CircuitBreakerError {
            name,
            state,
            retry_after,
        })
        .add_subclass(CircuitBreakerOpenError)
    }
}

/// A new `CircuitBreakerOpenError` (not raised).
pub(crate) fn open_error<'py>(
    py: Python<'py>,
    name: &Py<PyString>,
    rejected: tripwire_core::Rejected,
) -> PyResult<Bound<'py, CircuitBreakerOpenError>> {
    let init = PyClassInitializer::from(CircuitBreakerError {
        name: name.clone_ref(py).into_any(),
        state: types::state(py, rejected.state)?.unbind(),
        retry_after: rejected.retry_after.map(crate::clock::seconds),
    })
    .add_subclass(CircuitBreakerOpenError);
    Bound::new(py, init)
}
