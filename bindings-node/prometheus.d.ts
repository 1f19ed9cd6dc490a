// tripwire/prometheus: tripwire's families in a prom-client registry.

/** The part of a prom-client `Registry` this uses. */
export interface PromClientRegistry {
  registerMetric(metric: any): void;
}

/**
 * Registers every tripwire family in `registry` (never the global one unless passed;
 * no default metrics). One core render per scrape feeds them all. Returns the family
 * names; a second call with the same registry adds nothing.
 */
export declare function registerTripwireMetrics(registry: PromClientRegistry): string[];
