// What the seeds' snippets use besides tripwire: their own services, SDK clients
// and test tools, declared loosely so that only tripwire's types are under test.
declare const stripe: { paymentIntents: { create(data: unknown): Promise<{ id: string }> } };
declare const weatherApi: { getCurrentWeather(location: unknown): Promise<{ temperature: number }> };
declare const myService: { call(data: unknown): Promise<string> };
declare function getCachedData(): Promise<string>;
declare function getBackupData(): Promise<string>;
declare function queuePaymentForManualProcessing(data: unknown): Promise<void>;
declare const db: { query(sql: string): Promise<unknown> };
declare const logger: {
  debug(message: string, meta?: unknown): void;
  info(message: string, meta?: unknown): void;
  warn(message: string, meta?: unknown): void;
  error(message: string, meta?: unknown): void;
};
type PaymentData = { amount: number };

// vitest, as seed 002's tests use it.
declare function describe(name: string, fn: () => void): void;
declare function it(name: string, fn: () => Promise<void> | void): void;
declare function expect(value: unknown): {
  toBe(expected: unknown): void;
  toHaveBeenCalledTimes(n: number): void;
  rejects: { toThrow(message?: string): Promise<void> };
};
declare const vi: {
  fn(): { mockRejectedValue(error: unknown): () => Promise<never>; mockResolvedValue<T>(value: T): () => Promise<T> };
};
declare function createMockLogger(): {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
};

// seed 003's AWS clients and context.
declare const ddbDocClient: { send(command: unknown): Promise<unknown> };
declare class PutCommand {
  constructor(input: unknown);
}
declare class DeleteCommand {
  constructor(input: unknown);
}
declare class PostToConnectionCommand {
  constructor(input: unknown);
}
declare const client: { send(command: unknown): Promise<unknown> };

declare module '@aws-sdk/client-cloudwatch' {
  export class CloudWatchClient {
    constructor(config: object);
    send(command: PutMetricDataCommand): Promise<unknown>;
  }
  export class PutMetricDataCommand {
    constructor(input: { Namespace: string; MetricData: unknown[] });
  }
}
