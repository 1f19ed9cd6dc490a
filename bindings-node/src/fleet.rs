//! Fleet-wide breakers (issue 13): the `RedisStore` class and shared breakers in the
//! slab beside the local ones.
//!
//! The store, its threads and the protocol are `tripwire-store`'s and the core's; this
//! file converts options, resolves a half-open lease's Promise and hands background
//! events to JS. A shared breaker is an [`Entry`](crate::breaker) whose engine is a
//! [`BreakerHandle`]: the call path locks it without I/O; only a trial lease waits.
//!
//! Events reach JS through one weak threadsafe function per environment (bound by
//! `bindFleet`): a message carries the breaker's token, which the facade maps to a
//! `WeakRef`, so nothing native keeps a breaker alive.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{Function, JsObjectValue, Object, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Error, JsValue, Result, Status, Task, ValueType};
use napi_derive::napi;
use tripwire_core::fleet::{FleetError, FleetOptions, Link, LinkEvent};
use tripwire_core::{Config, ConfigError, ErrorKind, Transition, Unit};
use tripwire_store::{
    BreakerEvents, BreakerHandle, LeaseResult, RedisStore, StoreEvents, StoreFault, StoreOptions,
};

use crate::breaker::FleetGate;
use crate::options::throw;

/// Event kinds crossing to JS: `(token, kind, code, message)`.
const EVENT_TRANSITION: u32 = 0;
const EVENT_STORE_DOWN: u32 = 1;
const EVENT_STORE_UP: u32 = 2;
const EVENT_FLEET_ERROR: u32 = 3;

/// The store options as JS spells them, with the store crate's field names.
const STORE_OPTIONS: [(&str, &str); 7] = [
    ("url", "url"),
    ("prefix", "prefix"),
    ("flushInterval", "flush_interval"),
    ("timeout", "timeout"),
    ("leaseTtl", "lease_ttl"),
    ("pollInterval", "poll_interval"),
    ("checkRules", "check_rules"),
];

type Dispatch =
    ThreadsafeFunction<(f64, u32, f64, String), (), (f64, u32, f64, String), Status, false, true>;

fn send(dispatch: &Dispatch, token: f64, kind: u32, code: f64, message: String) {
    dispatch.call(
        (token, kind, code, message),
        ThreadsafeFunctionCallMode::NonBlocking,
    );
}

/// JS's name for a store field, for error messages.
fn js_field(error: ConfigError) -> ConfigError {
    let field = STORE_OPTIONS
        .iter()
        .find(|(_, rust)| *rust == error.field)
        .map_or(error.field.clone(), |(js, _)| (*js).into());
    ConfigError { field, ..error }
}

fn type_error(field: &str, reason: String) -> ConfigError {
    ConfigError {
        field: field.to_string().into(),
        reason: reason.into(),
        kind: ErrorKind::Type,
    }
}

fn kind_of(value: &Unknown) -> Result<&'static str> {
    Ok(match value.get_type()? {
        ValueType::String => "a string",
        ValueType::Number => "a number",
        ValueType::Boolean => "a boolean",
        ValueType::Function => "a function",
        ValueType::Null => "null",
        _ => "an object",
    })
}

/// Reads `new RedisStore(options)`: strict, the error naming the option as spelled.
fn store_options(options: &Object) -> std::result::Result<StoreOptions, ConfigError> {
    let mut out = StoreOptions::new(String::new());
    let mut url = None;
    let names: Vec<&str> = STORE_OPTIONS.iter().map(|(js, _)| *js).collect();
    for name in Object::keys(options).map_err(|e| type_error("options", e.reason))? {
        let Some(&(js, _)) = STORE_OPTIONS.iter().find(|(js, _)| *js == name) else {
            let hint = tripwire_core::suggest_name(&name, &names)
                .map_or(String::new(), |s| format!(" (did you mean `{s}`?)"));
            return Err(type_error(&name, format!("unknown option{hint}")));
        };
        let value: Unknown = options
            .get_named_property(js)
            .map_err(|e| type_error(js, e.reason))?;
        let ty = value.get_type().map_err(|e| type_error(js, e.reason))?;
        if matches!(ty, ValueType::Undefined) {
            continue;
        }
        if js == "url" || js == "prefix" {
            if ty != ValueType::String {
                let got = kind_of(&value).unwrap_or("a value");
                return Err(type_error(js, format!("must be a string, not {got}")));
            }
            // SAFETY: the type was just checked.
            let text: String = unsafe { value.cast() }.map_err(|e| type_error(js, e.reason))?;
            if js == "url" {
                url = Some(text);
            } else {
                out.prefix = text;
            }
            continue;
        }
        if js == "checkRules" {
            if ty != ValueType::Boolean {
                let got = kind_of(&value).unwrap_or("a value");
                return Err(type_error(js, format!("must be a boolean, not {got}")));
            }
            // SAFETY: the type was just checked.
            out.check_rules = unsafe { value.cast() }.map_err(|e| type_error(js, e.reason))?;
            continue;
        }
        if ty != ValueType::Number {
            let got = kind_of(&value).unwrap_or("a value");
            return Err(type_error(
                js,
                format!("must be a number of milliseconds, not {got}"),
            ));
        }
        // SAFETY: the type was just checked.
        let ms: f64 = unsafe { value.cast() }.map_err(|e| type_error(js, e.reason))?;
        if !ms.is_finite() || ms < 0.0 {
            return Err(ConfigError {
                field: js.to_string().into(),
                reason: "must be a finite, non-negative number of milliseconds".into(),
                kind: ErrorKind::Range,
            });
        }
        let d = Duration::from_secs_f64(ms / 1000.0);
        match js {
            "flushInterval" => out.flush_interval = d,
            "timeout" => out.timeout = d,
            "leaseTtl" => out.lease_ttl = Some(d),
            _ => out.poll_interval = d,
        }
    }
    out.url = url.ok_or_else(|| type_error("url", "is required (redis://host:port)".into()))?;
    out.validate().map_err(js_field)?;
    Ok(out)
}

/// The events of a store: `storeDown` / `storeUp`, once per outage episode.
struct StoreSink {
    dispatch: Arc<Dispatch>,
    token: f64,
}

impl StoreEvents for StoreSink {
    fn store_down(&self, fault: &StoreFault) {
        send(
            &self.dispatch,
            self.token,
            EVENT_STORE_DOWN,
            0.0,
            fault.message.clone(),
        );
    }
    fn store_up(&self) {
        send(
            &self.dispatch,
            self.token,
            EVENT_STORE_UP,
            0.0,
            String::new(),
        );
    }
}

/// A breaker's background events, by token (the facade holds the breaker weakly).
struct BreakerSink {
    dispatch: Arc<Dispatch>,
    token: f64,
    gate: Arc<FleetGate>,
}

impl BreakerEvents for BreakerSink {
    fn transition(&self, t: Transition) {
        let code = crate::breaker::transition_code(Some(t));
        send(
            &self.dispatch,
            self.token,
            EVENT_TRANSITION,
            f64::from(code),
            String::new(),
        );
    }
    fn link(&self, event: LinkEvent) {
        let kind = match event {
            LinkEvent::StoreDown => EVENT_STORE_DOWN,
            LinkEvent::StoreUp => EVENT_STORE_UP,
        };
        send(&self.dispatch, self.token, kind, 0.0, String::new());
    }
    fn fleet_error(&self, error: &FleetError) {
        // The option (for the error's `option`), then the core's message.
        let message = format!(
            "{}\u{0}{}",
            error.option(Unit::Millis),
            error.message(Unit::Millis)
        );
        send(&self.dispatch, self.token, EVENT_FLEET_ERROR, 0.0, message);
    }
    fn changing(&self) {
        self.gate.close();
    }
}

thread_local! {
    /// This environment's event function (see the module docs).
    static DISPATCH: RefCell<Option<Arc<Dispatch>>> = const { RefCell::new(None) };
}

/// Binds the function background events are handed to:
/// `dispatch([token, kind, code, message])`. Weak: it never keeps the process alive.
#[napi]
pub fn bind_fleet(dispatch: Function<(f64, u32, f64, String), ()>) -> Result<()> {
    let tsfn: Dispatch = dispatch
        .build_threadsafe_function()
        .weak::<true>()
        .callee_handled::<false>()
        .build()?;
    DISPATCH.set(Some(Arc::new(tsfn)));
    Ok(())
}

fn dispatch() -> Result<Arc<Dispatch>> {
    DISPATCH
        .with_borrow(|d| d.clone())
        .ok_or_else(|| Error::new(Status::GenericFailure, "bindFleet() was not called"))
}

/// A process's connection to Redis or Valkey, shared by the breakers made with it.
#[napi]
pub struct NativeStore {
    store: RedisStore,
}

/// `store.close()`'s work, on libuv's thread pool (it waits up to ~2 timeouts).
pub struct Close(RedisStore);

impl Task for Close {
    type Output = ();
    type JsValue = ();
    fn compute(&mut self) -> Result<()> {
        self.0.close();
        Ok(())
    }
    fn resolve(&mut self, _env: Env, _output: ()) -> Result<()> {
        Ok(())
    }
}

#[napi]
impl NativeStore {
    /// A store from JS options (`url`, `prefix`, `flushInterval`, `timeout`, `leaseTtl`,
    /// `pollInterval`; ms). `token` names it in events. Nothing connects yet.
    #[napi(constructor)]
    pub fn new(env: Env, options: Object, token: f64) -> Result<NativeStore> {
        let options = store_options(&options).map_err(|e| throw(&env, &e))?;
        Self::make(&env, options, token)
    }

    fn make(env: &Env, options: StoreOptions, token: f64) -> Result<NativeStore> {
        let sink = StoreSink {
            dispatch: dispatch()?,
            token,
        };
        let store =
            RedisStore::new(options, Some(Arc::new(sink))).map_err(|e| throw(env, &js_field(e)))?;
        Ok(NativeStore { store })
    }

    pub(crate) fn store(&self) -> &RedisStore {
        &self.store
    }

    /// Flushes what is pending and stops the I/O threads, off the event loop.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close(&self) -> napi::bindgen_prelude::AsyncTask<Close> {
        napi::bindgen_prelude::AsyncTask::new(Close(self.store.clone()))
    }

    /// Breakers registered (dropped ones leave at the next flush round).
    #[napi]
    pub fn size(&self) -> u32 {
        self.store.len() as u32
    }
}

/// The store of `TRIPWIRE_STORE_URL` (defaults otherwise), or null when it is unset;
/// a bad URL throws naming the variable.
#[napi]
pub fn store_from_env(env: Env, token: f64) -> Result<Option<NativeStore>> {
    match StoreOptions::from_env() {
        None => Ok(None),
        Some(Err(e)) => Err(throw(&env, &e)),
        Some(Ok(options)) => NativeStore::make(&env, options, token).map(Some),
    }
}

/// A breaker shared through `store`; returns its id in the slab. `token` names it in
/// background events.
#[napi]
pub fn create_shared(env: Env, options: Object, store: &NativeStore, token: f64) -> Result<u32> {
    let config = crate::options::config_from_js(&env, &options)?;
    let name: Option<String> = options.get("name")?;
    let name = name.unwrap_or_else(|| "default".into());
    let gate = FleetGate::new();
    let handle = join(&store.store, config, name, Arc::clone(&gate), token, |e| {
        throw(&env, e)
    })?;
    crate::breaker::external(&env, true);
    Ok(crate::breaker::insert_shared(
        handle,
        gate,
        token,
        store.store.clone(),
    ))
}

/// Registers breaker `name` with `store`, its background events named by `token`;
/// `error` maps the store's refusal.
pub(crate) fn join(
    store: &RedisStore,
    config: Config,
    name: String,
    gate: Arc<FleetGate>,
    token: f64,
    error: impl FnOnce(&ConfigError) -> Error,
) -> Result<BreakerHandle> {
    let sink = BreakerSink {
        dispatch: dispatch()?,
        token,
        gate,
    };
    store
        .register(config, FleetOptions::new(name), Some(Arc::new(sink)))
        .map_err(|e| error(&e))
}

/// A shared breaker's link: `mode` and the last sync's age (ms, or null).
#[napi(object)]
pub struct NativeFleet {
    /// `shared` or `local`.
    pub mode: String,
    /// Milliseconds since the last reply from the store, or null (never).
    pub last_sync_age: Option<f64>,
    /// Whether the fleet's state was adopted yet.
    pub joined: bool,
    /// The fleet's lifetime totals at the last reply: successes, failures (timeouts
    /// included), timeouts, slow calls, rejected, ignored.
    pub fleet_totals: Vec<f64>,
}

/// The fleet view of breaker `id`, or null for a local breaker.
#[napi]
pub fn fleet_view(id: u32) -> Result<Option<NativeFleet>> {
    crate::breaker::with_handle(id, |h| {
        let v = h.fleet_view();
        let t = v.fleet_totals;
        NativeFleet {
            mode: match v.link {
                Link::Shared => "shared".into(),
                Link::Local => "local".into(),
            },
            last_sync_age: v.last_sync_age.map(|d| d.as_secs_f64() * 1000.0),
            joined: v.joined,
            fleet_totals: [
                t.successes,
                t.failures,
                t.timeouts,
                t.slow,
                t.rejected,
                t.ignored,
            ]
            .map(|n| n as f64)
            .to_vec(),
        }
    })
}

/// Sends `lease` and returns the Promise of its permit code (see `acquireAt`).
pub(crate) fn lease_promise(
    env: napi::sys::napi_env,
    (id, token, lease, handle): (u32, f64, tripwire_store::Lease, BreakerHandle),
) -> Result<napi::sys::napi_value> {
    // `env` is the running callback's.
    let env = Env::from_raw(env);
    let (deferred, promise) = env.create_deferred::<f64, _>()?;
    lease.send(move |result: LeaseResult| {
        deferred.resolve(move |_env| Ok(crate::breaker::place(id, token, &handle, result)));
    });
    Ok(promise.raw())
}
