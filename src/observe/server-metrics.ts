import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Per-method handles, resolved once per method so the hot path does no label lookups. */
export interface MethodMetrics {
  /** Call began: in-flight +1. */
  started(): void;
  /** Call ended with a gRPC code name (e.g. "OK"), after `seconds`: counts it, observes it. */
  handled(code: string, seconds: number): void;
}

export interface ServerMetrics {
  /** The registry the metrics live in; serve it with `registry.metrics()`. */
  readonly registry: Registry;
  /** The handles for one method, cached. */
  forMethod(service: string, method: string): MethodMetrics;
}

export interface ServerMetricsOptions {
  /**
   * Where to register the metrics. Default: a new Registry per server, never prom-client's
   * global one, so two servers in one process (tests, sidecars) do not collide.
   */
  readonly registry?: Registry;
  /**
   * Latency histogram buckets in seconds. Default: 0.5 ms … 10 s, fine enough for fast unary
   * calls and coarse enough for streams.
   */
  readonly buckets?: readonly number[];
}

const defaultBuckets = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
];

/**
 * RED metrics per method (rate and errors by code, duration), named as go-grpc-prometheus
 * names them so existing dashboards work: `grpc_server_handled_total{grpc_service,grpc_method,
 * grpc_code}`, `grpc_server_handling_seconds`, and `grpc_server_in_flight`.
 */
export function createServerMetrics(options: ServerMetricsOptions = {}): ServerMetrics {
  const registry = options.registry ?? new Registry();
  const labelNames = ["grpc_service", "grpc_method"] as const;
  // The hot path only bumps plain numbers; prom-client reads them at scrape time (collect).
  // Only the histogram is fed per call, through a pre-bound child.
  const methods: MethodCounts[] = [];
  new Counter({
    name: "grpc_server_handled_total",
    help: "Calls completed, by method and gRPC status code.",
    labelNames: [...labelNames, "grpc_code"],
    registers: [registry],
    collect() {
      this.reset();
      for (const m of methods) {
        for (const [code, count] of m.byCode) this.inc({ ...m.labels, grpc_code: code }, count);
      }
    },
  });
  const handlingSeconds = new Histogram({
    name: "grpc_server_handling_seconds",
    help: "Time from the start of a call to its status, by method.",
    labelNames,
    buckets: [...(options.buckets ?? defaultBuckets)],
    registers: [registry],
  });
  new Gauge({
    name: "grpc_server_in_flight",
    help: "Calls started and not yet completed, by method.",
    labelNames,
    registers: [registry],
    collect() {
      for (const m of methods) this.set(m.labels, m.inFlight);
    },
  });
  const cache = new Map<string, MethodMetrics>();

  return {
    registry,
    forMethod(service, method) {
      const key = `${service}/${method}`;
      let found = cache.get(key);
      if (found) return found;
      const counts: MethodCounts = {
        labels: { grpc_service: service, grpc_method: method },
        inFlight: 0,
        byCode: new Map(),
      };
      methods.push(counts);
      const histogram = handlingSeconds.labels(counts.labels);
      found = {
        started: () => {
          counts.inFlight++;
        },
        handled(code, seconds) {
          counts.inFlight--;
          counts.byCode.set(code, (counts.byCode.get(code) ?? 0) + 1);
          histogram.observe(seconds);
        },
      };
      cache.set(key, found);
      return found;
    },
  };
}

interface MethodCounts {
  readonly labels: { grpc_service: string; grpc_method: string };
  inFlight: number;
  readonly byCode: Map<string, number>;
}
