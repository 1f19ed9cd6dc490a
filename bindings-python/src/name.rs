//! Names of breakers, services and operations as the engine keys them: UTF-8, with
//! each lone surrogate read as U+FFFD, as Node reads its strings, so that `"a\ud800"`
//! and `"a\ufffd"` name one breaker in both runtimes.

use std::borrow::Cow;
use std::ops::Deref;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

/// The text of a name.
pub(crate) fn text<'a>(name: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, str>> {
    if let Ok(text) = name.to_cow() {
        return Ok(text);
    }
    // Only a lone surrogate keeps a str from being UTF-8. UTF-32 gives each code point
    // alone: one U+FFFD per surrogate (`to_string_lossy` gives three). `str.encode`,
    // not the name's own: a subclass may override it.
    let py = name.py();
    let encoded = py.get_type::<PyString>().call_method1(
        intern!(py, "encode"),
        (name, intern!(py, "utf-32-le"), intern!(py, "surrogatepass")),
    )?;
    let units = encoded.cast::<PyBytes>()?.as_bytes();
    Ok(Cow::Owned(
        units
            .chunks_exact(4)
            .map(|u| {
                char::from_u32(u32::from_le_bytes([u[0], u[1], u[2], u[3]]))
                    .unwrap_or(char::REPLACEMENT_CHARACTER)
            })
            .collect(),
    ))
}

/// A name argument (a `&str` one would refuse a lone surrogate).
pub(crate) struct Name(String);

impl FromPyObject<'_, '_> for Name {
    type Error = PyErr;

    fn extract(obj: Borrowed<'_, '_, PyAny>) -> PyResult<Self> {
        let name = obj.cast::<PyString>()?;
        Ok(Name(text(&name)?.into_owned()))
    }
}

impl Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}
