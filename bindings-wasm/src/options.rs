//! JS option objects to a core `Config`, through the core's one table of spellings
//! (`tripwire_core::Options`); the facade's own options (callbacks, the clock, the
//! guard's bound) are skipped here and checked by the facade.

use alloc::format;
use alloc::string::{String, ToString};

use js_sys::{Object, Reflect};
use tripwire_core::{
    Config, ConfigError, ErrorKind, OptionValue, Options, Unit, JS_TIMER_LIMIT_MS,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The options the JS facade handles itself (the core ignores them); also offered as
/// suggestions for typos. The same list as the Node addon's.
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
    "maxOrigins",
];

pub(crate) fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

pub(crate) fn range_error(message: &str) -> JsValue {
    js_sys::RangeError::new(message).into()
}

fn value_of<'a>(value: &JsValue, kind: &'a mut String) -> OptionValue<'a> {
    if value.is_undefined() || value.is_null() {
        OptionValue::Missing
    } else if let Some(text) = value.as_string() {
        // The one option that takes a string (the start state) reads it.
        *kind = text;
        OptionValue::Text {
            value: kind,
            kind: "a string",
        }
    } else if let Some(n) = value.as_f64() {
        OptionValue::Number(n)
    } else if let Some(b) = value.as_bool() {
        OptionValue::Bool(b)
    } else {
        *kind = value.js_typeof().as_string().map_or_else(
            || "a value of another type".into(),
            |t| {
                let article = if t.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                };
                format!("{article} {t}")
            },
        );
        OptionValue::Other(kind)
    }
}

/// Reads `options` (`undefined`, or a plain object) into a core configuration. Every
/// key is checked: an unknown one is a `TypeError` naming it (with "did you mean" for
/// a typo, or the tripwire option for another library's name).
pub(crate) fn parse(options: &JsValue) -> Result<Config, JsValue> {
    let mut core = Options::new(Unit::Millis).timer_limit(JS_TIMER_LIMIT_MS);
    if !(options.is_undefined() || options.is_null()) {
        let Some(object) = options.dyn_ref::<Object>().filter(|_| options.is_object()) else {
            return Err(type_error("options must be an object"));
        };
        for key in Object::keys(object) {
            let Some(name) = key.as_string() else {
                continue;
            };
            if FACADE_OPTIONS.contains(&name.as_str()) {
                continue;
            }
            let value = Reflect::get(object, &key)?;
            let mut kind = String::new();
            if !core
                .set(&name, value_of(&value, &mut kind))
                .map_err(config_error)?
            {
                return Err(config_error(core.reject(&name, FACADE_OPTIONS)));
            }
        }
    }
    core.build().map_err(config_error)
}

/// A core validation error as a `TypeError` or `RangeError` naming the option
/// (`error.option` holds the name as spelled).
pub(crate) fn config_error(error: ConfigError) -> JsValue {
    let message = error.to_string();
    let js = if error.kind == ErrorKind::Type {
        type_error(&message)
    } else {
        range_error(&message)
    };
    let _ = Reflect::set(
        &js,
        &JsValue::from_str("option"),
        &JsValue::from_str(&error.field),
    );
    js
}
