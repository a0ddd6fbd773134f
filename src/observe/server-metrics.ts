import {
  Counter,
  Gauge,
  Histogram,
  type HistogramConfiguration,
  type MetricObjectWithValues,
  type MetricType,
  type MetricValueWithName,
  Registry,
} from "prom-client";

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
  const buckets = [...(options.buckets ?? defaultBuckets)].sort((a, b) => a - b);
  new MethodHistogram(
    {
      name: "grpc_server_handling_seconds",
      help: "Time from the start of a call to its status, by method.",
      labelNames,
      buckets,
      registers: [registry],
    },
    methods,
    buckets,
  );
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
        buckets: new Float64Array(buckets.length + 1),
        sum: 0,
        count: 0,
      };
      methods.push(counts);
      found = {
        started: () => {
          counts.inFlight++;
        },
        handled(code, seconds) {
          counts.inFlight--;
          counts.byCode.set(code, (counts.byCode.get(code) ?? 0) + 1);
          let bucket = 0;
          while (bucket < buckets.length && seconds > (buckets[bucket] as number)) bucket++;
          counts.buckets[bucket] = (counts.buckets[bucket] ?? 0) + 1;
          counts.sum += seconds;
          counts.count++;
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
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

type MethodLabel = "grpc_service" | "grpc_method";

/**
 * prom-client's Histogram, read from plain per-method bucket counts: its own `observe` builds
 * a label object, a hash string and a number-keyed lookup per call (≈ 1 µs); counting in a
 * Float64Array costs a few nanoseconds, and the exposition is built only when scraped.
 */
class MethodHistogram extends Histogram<MethodLabel> {
  readonly #methods: readonly MethodCounts[];
  readonly #bounds: readonly number[];
  readonly #configuration: HistogramConfiguration<MethodLabel>;

  constructor(
    configuration: HistogramConfiguration<MethodLabel>,
    methods: readonly MethodCounts[],
    bounds: readonly number[],
  ) {
    super(configuration);
    this.#configuration = configuration;
    this.#methods = methods;
    this.#bounds = bounds;
  }

  override get(): Promise<MetricObjectWithValues<MetricValueWithName<MethodLabel>>> {
    return this.getForPromString();
  }

  /** What prom-client's Registry reads to build the text exposition. */
  async getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<MethodLabel>>> {
    const base = {
      name: this.#configuration.name,
      help: this.#configuration.help,
      // MetricType is a declared-only enum in prom-client's typings: no runtime value to read.
      type: "histogram" as unknown as MetricType,
      aggregator: "sum" as const,
      collect: () => undefined,
    };
    const values: MetricValueWithName<MethodLabel | "le">[] = [];
    for (const m of this.#methods) {
      let cumulative = 0;
      this.#bounds.forEach((le, i) => {
        cumulative += m.buckets[i] ?? 0;
        values.push({
          labels: { ...m.labels, le },
          value: cumulative,
          metricName: `${base.name}_bucket`,
        });
      });
      cumulative += m.buckets[this.#bounds.length] ?? 0;
      values.push({
        labels: { ...m.labels, le: "+Inf" },
        value: cumulative,
        metricName: `${base.name}_bucket`,
      });
      values.push({ labels: m.labels, value: m.sum, metricName: `${base.name}_sum` });
      values.push({ labels: m.labels, value: m.count, metricName: `${base.name}_count` });
    }
    return { ...base, values: values as MetricValueWithName<MethodLabel>[] };
  }
}
