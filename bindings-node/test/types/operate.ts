// Issue 12 (seed 004's operations): metrics, prom-client, OpenTelemetry, the control API;
// issue 16: tripwire's own logger.
import http from 'node:http';
import client from 'prom-client';
import { metrics } from '@opentelemetry/api';
import { EventEmitter } from 'node:events';
import {
  CircuitBreaker, CircuitBreakerService, metricsText, metricsContentType,
  StructuredLogger, createLogger, setLogger, getLogger, logger, logStoreEvents, type Logger,
} from 'tripwire';
import { createControlHandler, createControlFetchHandler, serve, type ControlEvent } from 'tripwire/control';
import { registerTripwireMetrics } from 'tripwire/prometheus';
import { instrumentTripwire } from 'tripwire/otel';

const service = new CircuitBreakerService();
const text: string = metricsText({ format: 'openmetrics' });
const type: string = metricsContentType('prometheus');

const registry = new client.Registry();
const families: string[] = registerTripwireMetrics(registry);
const { stop } = instrumentTripwire(metrics.getMeter('app'));
stop();

const traced = new CircuitBreaker({ name: 'traced', tracing: 'spans' });

const handler = createControlHandler({ service, token: process.env.OPS_TOKEN, basePath: '/api/circuit-breaker' });
handler.on('control', (e: ControlEvent) => console.log(e.action, e.service, e.status));
// Express: app.use('/ops', handler). node:http:
const server = http.createServer((req, res) => handler(req, res, () => { res.statusCode = 404; res.end(); }));

const fetchHandler = createControlFetchHandler({ service, token: 'secret' });
async function route(request: Request): Promise<Response> {
  return fetchHandler(request);
}

async function main() {
  const ops = await serve({ service, port: 0, token: 'secret' });
  ops.on('control', (e) => console.log(e.ok));
  console.log(`${ops.url}/dashboard#token=secret`, ops.port);
  await ops.close();
}
void [text, type, families, traced, route, main, server];

// tripwire's own logger: the JSON logger, setLogger(), a service's and a control API's `logger`.
const json: StructuredLogger = createLogger({ service: 'orders', level: 'warn', destination: process.stderr });
const previous: Logger | null = setLogger(json);
setLogger(previous);
const current: Logger | null = getLogger();
logger.info('ready', { port: 8080 });
const logged = new CircuitBreakerService({ logger: json });
const controlled = createControlHandler({ service: logged, logger: json.child({ component: 'control' }) });
const stopStore: () => void = logStoreEvents(new EventEmitter(), json);
void [current, controlled, stopStore];
