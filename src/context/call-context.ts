import { AsyncLocalStorage } from "node:async_hooks";

/**
 * What an inbound call hands to every outbound call made while serving it. Servers set it
 * around a handler; client interceptors read it, so a handler's calls inherit the caller's
 * deadline and correlation id with no plumbing in service code.
 */
export interface CallContext {
  /** Correlation id of the inbound call (from x-request-id / traceparent, or generated). */
  readonly correlationId: string;
  /**
   * Absolute deadline in epoch milliseconds (`Date.now()` scale); undefined when the caller
   * set none. Outbound calls may only shorten it.
   */
  readonly deadline?: number | undefined;
  /** Aborted when the inbound call is cancelled or its deadline passes. */
  readonly signal?: AbortSignal | undefined;
}

const storage = new AsyncLocalStorage<CallContext>();

/**
 * Runs `fn(...args)` with `context` as the current call context (and for everything it
 * awaits). Arguments are passed through so hot paths need no closure per call.
 */
export function runWithCallContext<A extends unknown[], T>(
  context: CallContext,
  fn: (...args: A) => T,
  ...args: A
): T {
  return storage.run(context, fn, ...args);
}

/** The context of the inbound call being served, if any. */
export function currentCallContext(): CallContext | undefined {
  return storage.getStore();
}

/**
 * The deadline an outbound call may use: the earlier of the inherited deadline and the one
 * asked for. A deadline only ever shrinks as it travels.
 */
export function effectiveDeadline(requested: number | undefined): number | undefined {
  const inherited = storage.getStore()?.deadline;
  if (inherited === undefined) return requested;
  if (requested === undefined) return inherited;
  return Math.min(inherited, requested);
}
