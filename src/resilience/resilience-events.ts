import type { ConnectError } from "@connectrpc/connect";

/** A circuit's state as callers see it. */
export type CircuitState = "closed" | "open" | "half-open";

/**
 * Callbacks for what the policies do, the seam for metrics and logs. Each is optional and
 * called synchronously; an exception thrown by one is ignored (telemetry must not fail calls).
 */
export interface ResilienceEvents {
  /** A failed attempt will be tried again after `delayMs`. `attempt` is the one that failed. */
  onRetry?(event: {
    readonly method: string;
    readonly target: string;
    readonly attempt: number;
    readonly delayMs: number;
    readonly error: ConnectError;
  }): void;
  /** A circuit opened, half-opened (let one probe through) or closed. */
  onBreakerStateChange?(event: { readonly circuit: string; readonly state: CircuitState }): void;
  /** A call was refused because the target's bulkhead and its queue were full. */
  onBulkheadReject?(event: { readonly method: string; readonly target: string }): void;
  /** A hedged attempt was sent; `attempt` counts from 2. */
  onHedge?(event: {
    readonly method: string;
    readonly target: string;
    readonly attempt: number;
  }): void;
  /** A retry or hedge was not sent because the target's retry budget was spent. */
  onBudgetExhausted?(event: { readonly method: string; readonly target: string }): void;
}

/** Calls one event callback, ignoring what it throws. */
export function emit<K extends keyof ResilienceEvents>(
  events: ResilienceEvents | undefined,
  name: K,
  event: Parameters<NonNullable<ResilienceEvents[K]>>[0],
): void {
  const callback = events?.[name] as ((e: typeof event) => void) | undefined;
  if (!callback) return;
  try {
    callback.call(events, event);
  } catch {
    // Telemetry must never change the outcome of a call.
  }
}
