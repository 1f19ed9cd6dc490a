// tripwire/otel: tripwire's metrics as OpenTelemetry observable instruments.
import type { Meter, ObservableCounter, ObservableGauge } from '@opentelemetry/api';

export interface TripwireInstruments {
  /** By name: counters without `_total`; the duration histogram as `_bucket`, `_count`, `_sum` counters. */
  instruments: Record<string, ObservableCounter | ObservableGauge>;
  /** Removes the batch callback. */
  stop(): void;
}

/**
 * Observable instruments on `meter` for every tripwire family, fed by one core render
 * per collection. (`@opentelemetry/api` has no observable histogram: the call-duration
 * histogram is reported as cumulative `_bucket` (attribute `le`), `_count` and `_sum` counters.)
 */
export declare function instrumentTripwire(meter: Meter): TripwireInstruments;
