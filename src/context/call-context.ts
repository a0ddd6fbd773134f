import { AsyncLocalStorage } from "node:async_hooks";
import { type Context as TraceContext, context as traceApi } from "@opentelemetry/api";
import type { Principal } from "./principal.js";

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
  /**
   * The verified client certificate's identity (URI SAN, else DNS SAN, else CN) on a TLS
   * server with client certificates; undefined otherwise.
   */
  readonly peerIdentity?: string | undefined;
  /**
   * Who the server authenticated before the handler ran (certificate identity, token claims);
   * undefined when the call is anonymous or the server enforces no auth.
   */
  readonly principal?: Principal | undefined;
  /**
   * The OpenTelemetry context of the inbound call (its server span, baggage): outbound calls
   * made while serving it are its children. Undefined when no tracer provider is registered.
   */
  readonly trace?: TraceContext | undefined;
}

/** The fields the server concerns fill in once the call context exists. */
type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Sets the principal of a call context the server made (every engine builds its own context
 * object, so this writes to the call's own object, never a shared one).
 */
export function setPrincipal(context: CallContext, principal: Principal | undefined): void {
  (context as Writable<CallContext>).principal = principal;
}

/** Sets the trace context of a call context the server made (its server span). */
export function setTrace(context: CallContext, trace: TraceContext | undefined): void {
  (context as Writable<CallContext>).trace = trace;
}

const storage = new AsyncLocalStorage<CallContext>();

/**
 * Runs `fn(...args)` with `context` as the current call context (and for everything it
 * awaits). Arguments are passed through so hot paths need no closure per call. A traced call's
 * trace context is made the active OpenTelemetry context too, so a handler's own spans
 * (`tracer.startActiveSpan`) are children of the server span when the SDK's context manager
 * is registered.
 */
export function runWithCallContext<A extends unknown[], T>(
  context: CallContext,
  fn: (...args: A) => T,
  ...args: A
): T {
  if (context.trace === undefined) return storage.run(context, fn, ...args);
  return storage.run(context, runTraced, context.trace, fn, args) as T;
}

function runTraced<A extends unknown[], T>(trace: TraceContext, fn: (...args: A) => T, args: A): T {
  return traceApi.with(trace, fn, undefined, ...args);
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
