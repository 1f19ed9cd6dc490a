//! `tripwire._core`: the compiled half of the Python package.
//!
//! Conversion and error mapping only; every rule lives in `tripwire-core`.

use pyo3::prelude::*;

/// The compiled module.
#[pymodule(gil_used = false)]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
