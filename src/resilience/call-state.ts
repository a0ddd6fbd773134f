import { Code, ConnectError } from "@connectrpc/connect";
import { currentCallContext } from "../context/index.js";
import { correlationIdHeader } from "../observe/index.js";
import type { BackoffSteps } from "./backoff.js";
import type { MethodPlan } from "./method-plan.js";

/** What Connect's Transport accepts as headers. */
export type HeaderInit = ConstructorParameters<typeof Headers>[0];

/** One call in flight: what every attempt of it shares. */
export interface CallState {
  readonly plan: MethodPlan;
  /** Absolute deadline (epoch ms), fixed once; attempts only ever get what is left of it. */
  readonly deadline: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly header: HeaderInit | undefined;
  attempts: number;
  /** Wait before the next attempt, decided when the previous one failed. */
  delayMs: number;
  /**
   * The first attempt sent outside cockatiel (`sendFirst`): its timeout, and whether it went
   * out at all (false: the deadline was spent before it).
   */
  firstTimeoutMs: number | undefined;
  firstSent: boolean;
  backoff: BackoffSteps | undefined;
}

/**
 * Fixes a call's deadline — the per-call timeout, else the policy's, never later than the
 * inbound call's (`effectiveDeadline`'s rule) — and, inside a server handler, inherits its
 * cancellation and correlation id.
 */
export function startCall(
  plan: MethodPlan,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  header: HeaderInit | undefined,
): CallState {
  const context = currentCallContext();
  // Connect's convention: a per-call timeoutMs ≤ 0 means "no deadline".
  const timeout =
    timeoutMs === undefined ? plan.policy.timeoutMs : timeoutMs > 0 ? timeoutMs : undefined;
  // effectiveDeadline's rule, on the context already read (one AsyncLocalStorage read a call).
  const requested = timeout === undefined ? undefined : Date.now() + timeout;
  const inherited = context?.deadline;
  const deadline =
    inherited === undefined || (requested !== undefined && requested < inherited)
      ? requested
      : inherited;
  let callSignal = signal;
  let callHeader = header;
  if (context) {
    if (context.signal && context.signal !== signal) {
      callSignal = signal ? AbortSignal.any([signal, context.signal]) : context.signal;
    }
    callHeader = withCorrelationId(header, context.correlationId);
  }
  return {
    plan,
    deadline,
    signal: callSignal,
    header: callHeader,
    attempts: 0,
    delayMs: 0,
    firstTimeoutMs: undefined,
    firstSent: false,
    backoff: undefined,
  };
}

/**
 * The timeout of the next attempt: the per-attempt timeout or what is left of the deadline,
 * whichever is shorter, in whole ms (it goes on the wire). Throws DeadlineExceeded, sending
 * nothing, when the deadline is spent.
 */
export function attemptTimeout(call: CallState): number | undefined {
  const perAttempt = call.plan.policy.perAttemptTimeoutMs;
  if (call.deadline === undefined) return perAttempt;
  const left = Math.floor(call.deadline - Date.now());
  if (left < 1) {
    throw new ConnectError(
      `deadline exceeded before attempt ${call.attempts} of ${call.plan.name} was sent`,
      Code.DeadlineExceeded,
    );
  }
  return perAttempt !== undefined && perAttempt < left ? perAttempt : left;
}

/**
 * The call's headers with the inbound correlation id added unless the caller set one. A plain
 * object when there were none: Connect copies headers into its own `Headers` anyway.
 */
function withCorrelationId(header: HeaderInit | undefined, id: string): HeaderInit {
  if (header === undefined) return { [correlationIdHeader]: id };
  const headers = new Headers(header);
  if (!headers.has(correlationIdHeader)) headers.set(correlationIdHeader, id);
  return headers;
}
