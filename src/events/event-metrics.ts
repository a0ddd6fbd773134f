import { Counter, Histogram, Registry } from "prom-client";

/** Per-queue handles, resolved once per subscription so a delivery does no label lookups. */
export interface QueueMetrics {
  /** Handled and acknowledged, after `seconds` in the handler. */
  consumed(seconds: number): void;
  /** The handler (or a middleware) threw. */
  failed(): void;
  /** Sent to a retry queue for another attempt. */
  retried(): void;
  /** Sent to the dead-letter queue; `reason` is "max_attempts" or "undecodable". */
  deadLettered(reason: "max_attempts" | "undecodable"): void;
  /** Time from publication (ce-time) to delivery. */
  lag(seconds: number): void;
}

export interface EventMetrics {
  /** Serve it with `registry.metrics()`. */
  readonly registry: Registry;
  forQueue(queue: string, type: string): QueueMetrics;
}

/**
 * Consumer metrics: `protomesh_events_consumed_total`, `…_failed_total`, `…_retried_total`,
 * `…_dead_lettered_total{reason}`, `protomesh_events_handling_seconds` and
 * `protomesh_events_lag_seconds`, each by `queue` and `type` (the event's full name).
 * Default registry: a new one, never prom-client's global one.
 */
export function createEventMetrics(registry: Registry = new Registry()): EventMetrics {
  const labelNames = ["queue", "type"] as const;
  const counter = (name: string, help: string, extra: string[] = []) =>
    new Counter({ name, help, labelNames: [...labelNames, ...extra], registers: [registry] });
  const consumed = counter("protomesh_events_consumed_total", "Events handled and acknowledged.");
  const failed = counter("protomesh_events_failed_total", "Handler failures, retried or not.");
  const retried = counter("protomesh_events_retried_total", "Events sent to a retry queue.");
  const dead = counter(
    "protomesh_events_dead_lettered_total",
    "Events sent to the dead-letter queue, by reason.",
    ["reason"],
  );
  const handling = new Histogram({
    name: "protomesh_events_handling_seconds",
    help: "Time in the handler, middleware included, of events handled.",
    labelNames,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  const lag = new Histogram({
    name: "protomesh_events_lag_seconds",
    help: "Time from publication (ce-time) to delivery to the handler.",
    labelNames,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300],
    registers: [registry],
  });
  return {
    registry,
    forQueue(queue, type) {
      const labels = { queue, type };
      const c = consumed.labels(labels);
      const f = failed.labels(labels);
      const r = retried.labels(labels);
      const h = handling.labels(labels);
      const l = lag.labels(labels);
      return {
        consumed: (seconds) => {
          c.inc();
          h.observe(seconds);
        },
        failed: () => f.inc(),
        retried: () => r.inc(),
        deadLettered: (reason) => dead.inc({ ...labels, reason }),
        lag: (seconds) => l.observe(Math.max(0, seconds)),
      };
    },
  };
}
