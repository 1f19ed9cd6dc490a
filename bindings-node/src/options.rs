//! JS option objects to a core [`Config`], and core errors to JS errors.
//!
//! Every name, alias, range and typo rule lives in [`tripwire_core::Options`]; this
//! file only reads JS values and maps a [`ConfigError`] to `TypeError` or `RangeError`.

use napi::bindgen_prelude::{JsObjectValue, Object, Unknown};
use napi::{Env, Error, Result, Status, ValueType};
use tripwire_core::{
    Config, ConfigError, ErrorKind, OptionValue, Options, Unit, JS_TIMER_LIMIT_MS,
};

/// Option names the JS facade handles itself: accepted here without a check,
/// and offered as suggestions for typos.
pub(crate) const FACADE_OPTIONS: &[&str] = &[
    "name",
    "fallback",
    "onStateChange",
    "onOpen",
    "onClose",
    "onHalfOpen",
    "errorFilter",
    "isFailureResult",
    "isFailureResponse",
    "clock",
    "logger",
    "tracing",
    "fetch",
    "store",
];

/// Builds the core configuration from a JS options object (camelCase, milliseconds).
pub(crate) fn config_from_js(env: &Env, options: &Object) -> Result<Config> {
    let core = options_from_js(env, options)?;
    core.build().map_err(|error| throw(env, &error))
}

/// Reads a JS options object into core options (each name and value checked; the
/// facade's own names skipped), not yet built.
pub(crate) fn options_from_js(env: &Env, options: &Object) -> Result<Options> {
    let mut core = Options::new(Unit::Millis).timer_limit(JS_TIMER_LIMIT_MS);
    for name in Object::keys(options)? {
        if FACADE_OPTIONS.contains(&name.as_str()) {
            continue;
        }
        let value: Unknown = options.get_named_property(&name)?;
        // Strings are read only here: the one option that takes one (the start state).
        let text = match value.get_type()? {
            ValueType::String => Some(options.get_named_property::<String>(&name)?),
            _ => None,
        };
        let value = match &text {
            Some(text) => OptionValue::Text {
                value: text,
                kind: "a string",
            },
            None => option_value(&value)?,
        };
        match core.set(&name, value) {
            Ok(true) => {}
            // Strict: any other key is a TypeError naming it (a typo gets "did you
            // mean", another library's name the tripwire option that does its job).
            Ok(false) => return Err(throw(env, &core.reject(&name, FACADE_OPTIONS))),
            Err(error) => return Err(throw(env, &error)),
        }
    }
    Ok(core)
}

/// Throws `error` as a JS `TypeError` or `RangeError` with `code` `ERR_INVALID_ARG_TYPE`
/// or `ERR_OUT_OF_RANGE`; the returned error tells napi the exception is pending.
pub(crate) fn throw(env: &Env, error: &ConfigError) -> Error {
    let message = error.to_string();
    let thrown = match error.kind {
        ErrorKind::Type => env.throw_type_error(&message, Some("ERR_INVALID_ARG_TYPE")),
        ErrorKind::Range => env.throw_range_error(&message, Some("ERR_OUT_OF_RANGE")),
    };
    match thrown {
        Ok(()) => Error::new(Status::PendingException, message),
        Err(e) => e,
    }
}

/// A JS value as the core's option rules see it.
pub(crate) fn option_value(value: &Unknown) -> Result<OptionValue<'static>> {
    Ok(match value.get_type()? {
        ValueType::Undefined | ValueType::Null => OptionValue::Missing,
        // SAFETY: the type was just checked.
        ValueType::Number => OptionValue::Number(unsafe { value.cast::<f64>() }?),
        ValueType::Boolean => OptionValue::Bool(unsafe { value.cast::<bool>() }?),
        ValueType::String => OptionValue::Other("a string"),
        ValueType::Function => OptionValue::Other("a function"),
        ValueType::Symbol => OptionValue::Other("a symbol"),
        ValueType::BigInt => OptionValue::Other("a bigint"),
        _ => OptionValue::Other("an object"),
    })
}
