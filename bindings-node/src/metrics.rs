//! Metrics at scrape time: one core snapshot ([`tripwire_core::metrics::Snapshot`]) of
//! the breakers JS names (the registry's) and of every service engine of this thread,
//! rendered by the core. Nothing here runs per call.

use std::collections::HashSet;

use napi::{Error, Result, Status};
use napi_derive::napi;
use tripwire_core::metrics::{render, BreakerSample, Format, Labels, Snapshot};

use crate::{breaker, nanos, now_nanos, service};

/// The instant of a reading: the caller's clock (ms), or the process clock for NaN.
pub(crate) fn instant(ms: f64, process: u64) -> u64 {
    if ms.is_nan() {
        process
    } else {
        nanos(ms)
    }
}

/// Builds one snapshot and hands it to `f`: first the services (`services[i]` read at
/// `service_nows[i]`; unused engines skipped), then the registry's breakers (`ids[i]`
/// named `names[i]`, read at `nows[i]`) that no service holds, as standalone breakers.
/// Clock readings are milliseconds; NaN means the process clock, read once here.
#[allow(clippy::too_many_arguments)]
pub(crate) fn with_snapshot<R>(
    ids: &[u32],
    names: &[String],
    nows: &[f64],
    services: &[u32],
    service_nows: &[f64],
    version: &str,
    f: impl FnOnce(&Snapshot<'_>, u64) -> R,
) -> Result<R> {
    if ids.len() != names.len() || ids.len() != nows.len() || services.len() != service_nows.len() {
        return Err(Error::new(
            Status::InvalidArg,
            "metrics: the lists differ in length",
        ));
    }
    let process = now_nanos();
    Ok(service::with_engines(|engines| {
        let mut snapshot = Snapshot {
            version,
            runtime: "node",
            ..Snapshot::default()
        };
        let mut held = HashSet::new();
        let mut names_of: Vec<Vec<String>> = Vec::new();
        names_of.resize_with(engines.len(), Vec::new);
        for (engine, names) in engines.iter().zip(names_of.iter_mut()) {
            let Some(position) = services.iter().position(|&id| id == engine.0) else {
                continue;
            };
            let svc = engine.1;
            if svc.is_pristine() {
                continue;
            }
            svc.metrics(
                instant(service_nows[position], process),
                names,
                &mut snapshot,
            );
            held.extend(svc.circuits().map(|(_, _, handle)| handle.0));
        }
        for ((&id, name), &now) in ids.iter().zip(names).zip(nows) {
            if held.contains(&id) {
                continue;
            }
            let Some((stats, lifetime, durations)) = breaker::sample(id, instant(now, process))
            else {
                continue;
            };
            snapshot.breakers.push(BreakerSample {
                labels: Labels {
                    name,
                    service: "",
                    operation: "",
                },
                stats,
                lifetime,
                durations,
            });
        }
        f(&snapshot, process)
    }))
}

/// Renders the metrics of the registry's breakers (`ids`, `names`, clock readings
/// `nows` in ms, NaN for the process clock) and of the services `services` (read at
/// `serviceNows`): `openMetrics` picks OpenMetrics 1.0 over Prometheus text 0.0.4.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn metrics_text(
    open_metrics: bool,
    ids: Vec<u32>,
    names: Vec<String>,
    nows: Vec<f64>,
    services: Vec<u32>,
    service_nows: Vec<f64>,
    version: String,
) -> Result<String> {
    let format = if open_metrics {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    };
    with_snapshot(
        &ids,
        &names,
        &nows,
        &services,
        &service_nows,
        &version,
        |snapshot, _| render(snapshot, format),
    )
}

/// The `Content-Type` of each format: `[prometheus, openmetrics]`.
#[napi]
pub fn metrics_content_types() -> Vec<String> {
    vec![
        Format::Prometheus.content_type().to_string(),
        Format::OpenMetrics.content_type().to_string(),
    ]
}
