//! `CircuitBreaker(name, **options)`: Python values to the core's option table,
//! core errors to `TypeError` / `ValueError` naming the option as it was spelled.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString, PyTuple, PyType};
use tripwire_core::{Config, ConfigError, ErrorKind, OptionValue, Options, Unit};

use crate::clock::{AnyClock, ManualClock};
use crate::store::StoreChoice;

/// Options the binding handles itself (the rest go to the core).
pub(crate) const BINDING_OPTIONS: &[&str] = &[
    "exclude",
    "fallback",
    "is_failure_result",
    "logger",
    "on_state_change",
    "listeners",
    "clock",
    "tracing",
    "store",
];

/// Every spelling of the call timeout: Python's default is no timeout, the core's 30 s.
const TIMEOUT_SPELLINGS: &[&str] = &["request_timeout", "requestTimeout", "timeout"];

/// What `exclude=` holds: exception types (checked with one `isinstance`) and predicates.
pub(crate) struct Exclude {
    pub(crate) types: Option<Py<PyTuple>>,
    pub(crate) predicates: Vec<Py<PyAny>>,
}

/// The parsed constructor options.
pub(crate) struct Parsed {
    pub(crate) config: Config,
    pub(crate) exclude: Exclude,
    pub(crate) fallback: Option<Py<PyAny>>,
    /// `is_failure_result(result)`: a returned value that counts as a failure.
    pub(crate) is_failure_result: Option<Py<PyAny>>,
    pub(crate) clock: AnyClock,
    pub(crate) store: StoreChoice,
    /// A service's breaker: it joins its fleet once the service configured it.
    pub(crate) join_later: bool,
}

/// A core configuration error as the Python exception it stands for.
pub(crate) fn config_error(error: ConfigError) -> PyErr {
    if error.kind == ErrorKind::Type {
        PyTypeError::new_err(error.to_string())
    } else {
        PyValueError::new_err(error.to_string())
    }
}

pub(crate) fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map_or_else(|_| "an object".to_string(), |n| n.to_string())
}

/// Sets one core option; `Ok(false)` if the core does not know `name`.
fn set(options: &mut Options, name: &str, value: &Bound<'_, PyAny>) -> PyResult<bool> {
    if !Options::is_known(name) {
        return Ok(false);
    }
    if value.is_none() && TIMEOUT_SPELLINGS.contains(&name) {
        // `request_timeout=None` means no timeout (the core's default is 30 s).
        return options
            .set(name, OptionValue::Bool(false))
            .map_err(config_error);
    }
    set_option(name, value, |n, v| options.set(n, v))
}

/// Converts one Python value for the core's option rules and hands it to `set`
/// (an `Options`, `RetryPolicy` or `BulkheadConfig` setter).
pub(crate) fn set_option(
    name: &str,
    value: &Bound<'_, PyAny>,
    set: impl FnOnce(&str, OptionValue<'_>) -> Result<bool, ConfigError>,
) -> PyResult<bool> {
    let kind;
    let value = if value.is_none() {
        OptionValue::Missing
    } else if let Ok(b) = value.cast::<PyBool>() {
        OptionValue::Bool(b.is_true())
    } else if let Ok(f) = value.cast::<PyFloat>() {
        OptionValue::Number(f.value())
    } else if let Ok(text) = value.cast::<PyString>() {
        // Read only for the one option that takes a string (the start state).
        kind = text.to_cow()?.into_owned();
        OptionValue::Text {
            value: &kind,
            kind: "str",
        }
    } else if value.is_instance_of::<PyInt>() {
        match value.extract::<f64>() {
            Ok(n) => OptionValue::Number(n),
            Err(_) => {
                return Err(PyValueError::new_err(format!(
                    "invalid option `{name}`: is too large"
                )))
            }
        }
    } else {
        kind = type_name(value);
        OptionValue::Other(&kind)
    };
    set(name, value).map_err(config_error)
}

fn exclude(value: &Bound<'_, PyAny>) -> PyResult<Exclude> {
    let py = value.py();
    let mut types = Vec::new();
    let mut predicates = Vec::new();
    let items: Vec<Bound<'_, PyAny>> = if value.is_none() {
        Vec::new()
    } else if value.is_instance_of::<PyType>() {
        vec![value.clone()]
    } else {
        let iter = value.try_iter().map_err(|_| {
            PyTypeError::new_err(format!(
                "invalid option `exclude`: expected an iterable of exception types or predicates, got {}",
                type_name(value)
            ))
        })?;
        iter.collect::<PyResult<_>>()?
    };
    for item in items {
        if let Ok(t) = item.cast::<PyType>() {
            if t.is_subclass_of::<pyo3::exceptions::PyBaseException>()? {
                types.push(item);
                continue;
            }
        } else if item.is_callable() {
            predicates.push(item.unbind());
            continue;
        }
        return Err(PyTypeError::new_err(format!(
            "invalid option `exclude`: expected exception types or predicates (exc) -> bool, got {}",
            type_name(&item)
        )));
    }
    Ok(Exclude {
        types: if types.is_empty() {
            None
        } else {
            Some(PyTuple::new(py, types)?.unbind())
        },
        predicates,
    })
}

/// The error for an unknown option: a near miss gets the Python spelling suggested.
fn unknown(options: &Options, name: &str) -> PyErr {
    match options.unknown(name, BINDING_OPTIONS) {
        Some(error) => config_error(error),
        None => PyTypeError::new_err(format!(
            "CircuitBreaker() got an unexpected keyword argument '{name}'"
        )),
    }
}

/// A function option (`fallback`, `is_failure_result`): None, or a callable.
pub(crate) fn callable(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Option<Py<PyAny>>> {
    if value.is_none() {
        return Ok(None);
    }
    if !value.is_callable() {
        return Err(PyTypeError::new_err(format!(
            "invalid option `{name}`: must be callable, not {}",
            type_name(value)
        )));
    }
    Ok(Some(value.clone().unbind()))
}

/// Parses the keyword options of `CircuitBreaker(name, **options)`.
pub(crate) fn parse(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Parsed> {
    let mut options = Options::new(Unit::Seconds);
    let mut parsed_exclude = Exclude {
        types: None,
        predicates: Vec::new(),
    };
    let mut fallback = None;
    let mut is_failure_result = None;
    let mut clock = AnyClock::Monotonic;
    let mut store = StoreChoice::Default;
    let mut join_later = false;
    let mut timeout_given = false;
    if let Some(kwargs) = kwargs {
        for (key, value) in kwargs.iter() {
            let key = key.cast_into::<PyString>()?;
            let name = key.to_cow()?;
            let name: &str = &name;
            match name {
                "exclude" => parsed_exclude = exclude(&value)?,
                "fallback" => fallback = callable(name, &value)?,
                "is_failure_result" => is_failure_result = callable(name, &value)?,
                "clock" => {
                    if !value.is_none() {
                        let manual = value.cast::<ManualClock>().map_err(|_| {
                            PyTypeError::new_err(format!(
                                "invalid option `clock`: must be a ManualClock or None, not {}",
                                type_name(&value)
                            ))
                        })?;
                        clock = AnyClock::Manual(manual.get().inner.clone());
                    }
                }
                "store" => store = StoreChoice::parse(&value)?,
                // Private: the service's breaker factory (tripwire/service.py).
                "_join_later" => join_later = value.is_truthy()?,
                // Checked by the Python facade, which calls them.
                "on_state_change" | "listeners" | "tracing" | "logger" => {}
                _ => {
                    timeout_given |= TIMEOUT_SPELLINGS.contains(&name);
                    if !set(&mut options, name, &value)? {
                        return Err(unknown(&options, name));
                    }
                }
            }
        }
    }
    if !timeout_given {
        options
            .set("request_timeout", OptionValue::Bool(false))
            .map_err(config_error)?;
    }
    let config = options.build().map_err(config_error)?;
    Ok(Parsed {
        config,
        exclude: parsed_exclude,
        fallback,
        is_failure_result,
        clock,
        store,
        join_later,
    })
}
