import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  type CircuitBreakerPolicy,
  type BulkheadPolicy as CockatielBulkhead,
  type RetryPolicy as CockatielRetry,
  type IDefaultPolicyContext,
  type IPolicy,
  wrap,
} from "cockatiel";
import { currentCallContext, effectiveDeadline } from "../context/index.js";
import { isIdempotent, readMethodContract } from "../contract/index.js";
import { correlationIdHeader } from "../observe/index.js";
import { type BackoffSteps, createBackoff } from "./backoff.js";
import { isOpen } from "./breaker-policy.js";
import type { CallPolicy, CallPolicyOverride } from "./call-policy.js";
import { callPolicyKey } from "./call-policy-key.js";
import { isNeverSent, neverRetryableCodes, pushbackOf, toConnectError } from "./error-classes.js";
import { createFallbackPolicy } from "./fallback-policy.js";
import { runHedged } from "./hedge.js";
import { attemptsHeader, mapError } from "./map-error.js";
import { createPolicyRegistry, type PolicyRegistry } from "./policy-registry.js";
import { emit, type ResilienceEvents } from "./resilience-events.js";
import { resolvePolicy } from "./resolve-policy.js";
import type { RetryBudget } from "./retry-budget.js";
import { createRetryPolicy, RetryableFailure } from "./retry-policy.js";
import { sleep } from "./sleep.js";

export interface ResilientTransportOptions {
  /** The transport each attempt is sent on (connect-node, grpc-js, …). */
  readonly transport: Transport;
  /** Names the backend: circuits, bulkheads and budgets are kept per target. */
  readonly target: string;
  /** Policy for every method, over the contract's (see `resolvePolicy` for precedence). */
  readonly policy?: CallPolicyOverride | undefined;
  /** Policy per method local name (e.g. `getOrder`), over `policy`. */
  readonly methodPolicies?: Readonly<Record<string, CallPolicyOverride>> | undefined;
  /** Shared policy state; default a fresh one for this transport. */
  readonly registry?: PolicyRegistry | undefined;
  readonly events?: ResilienceEvents | undefined;
  /**
   * Responses to return instead of failing when a method's backend is down (unavailable,
   * timing out, circuit open, bulkhead full), by method local name; unary methods only.
   */
  readonly fallbacks?: Readonly<Record<string, (() => unknown) | undefined>> | undefined;
  /** Resolve and validate every method's policy now, so bad values fail at creation. */
  readonly service?: DescService | undefined;
}

/** A method's resolved policy and the cockatiel policies that carry it out, built once. */
interface MethodPlan {
  readonly name: string;
  readonly policy: CallPolicy;
  readonly idempotent: boolean;
  readonly circuit: string;
  readonly breaker: CircuitBreakerPolicy | undefined;
  readonly budget: RetryBudget | undefined;
  readonly backoff: () => BackoffSteps;
  /** wrap(fallback, bulkhead, retry, breaker): the whole stack, for unary calls. */
  readonly stack: IPolicy<IDefaultPolicyContext, unknown>;
  /** wrap(fallback, bulkhead): hedged calls bring their own attempts. */
  readonly outer: IPolicy<IDefaultPolicyContext, unknown> | undefined;
}

/** One call in flight: what every attempt of it shares. */
interface Call {
  readonly plan: MethodPlan;
  /** Absolute deadline (epoch ms), computed once; attempts only ever get what is left. */
  readonly deadline: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly header: HeaderInit | undefined;
  attempts: number;
  /** Wait before the next attempt, decided when the previous one failed. */
  delayMs: number;
  backoff: BackoffSteps | undefined;
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

/** What Connect's Transport accepts as headers. */
type HeaderInit = ConstructorParameters<typeof Headers>[0];

type Send<R> = (signal: AbortSignal | undefined, timeoutMs: number | undefined) => Promise<R>;

/**
 * The one place the call policy is applied: a Connect `Transport` that runs each call through
 * bulkhead → retry (with backoff, budget, pushback) → circuit breaker, and sends each attempt
 * on the inner transport with its own `timeoutMs`.
 *
 * Why a transport and not an interceptor: Connect fixes a call's deadline (its timer, its
 * AbortController and the grpc-timeout header) before interceptors run, so an interceptor
 * cannot give an attempt its own deadline without building another AbortController per
 * attempt. Here each attempt hands the transport `min(per-attempt timeout, time left)`, the
 * transport enforces it and puts it on the wire, and the caller's signal is passed through:
 * no AbortController and no timeout policy per layer.
 */
export function createResilientTransport(options: ResilientTransportOptions): Transport {
  const { transport: inner, target, events } = options;
  const registry = options.registry ?? createPolicyRegistry();
  const plans = new Map<DescMethod, MethodPlan>();

  function buildPlan(method: DescMethod, call?: CallPolicyOverride): MethodPlan {
    const contract = readMethodContract(method);
    const policy = resolvePolicy({
      method,
      contract,
      client: options.policy,
      clientMethod: options.methodPolicies?.[method.localName],
      call,
    });
    const name = `${method.parent.typeName}/${method.name}`;
    const circuit = policy.breaker?.scope === "method" ? `${target}/${name}` : target;
    const breaker = policy.breaker ? registry.breaker(circuit, policy.breaker, events) : undefined;
    const bulkhead: CockatielBulkhead | undefined = policy.bulkhead
      ? registry.bulkhead(target, policy.bulkhead)
      : undefined;
    const budget = policy.retry.budget ? registry.budget(target, policy.retry.budget) : undefined;
    const retry: CockatielRetry = createRetryPolicy(policy.retry.maxAttempts);
    const fallbackValue = options.fallbacks?.[method.localName];
    const outer: IPolicy<IDefaultPolicyContext, unknown>[] = [];
    if (fallbackValue && method.methodKind === "unary") {
      outer.push(createFallbackPolicy(method, fallbackValue as () => never));
    }
    if (bulkhead) outer.push(bulkhead);
    const layers = [...outer, retry, ...(breaker ? [breaker] : [])];
    return {
      name,
      policy,
      idempotent: isIdempotent(contract),
      circuit,
      breaker,
      budget,
      backoff: createBackoff(policy.retry.backoff),
      stack: wrap(...layers),
      outer: outer.length > 0 ? wrap(...outer) : undefined,
    };
  }

  function planOf(method: DescMethod, override: CallPolicyOverride | undefined): MethodPlan {
    if (override) return buildPlan(method, override);
    let plan = plans.get(method);
    if (!plan) {
      plan = buildPlan(method);
      plans.set(method, plan);
    }
    return plan;
  }

  if (options.service) for (const method of options.service.methods) planOf(method, undefined);

  function startCall(
    plan: MethodPlan,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeaderInit | undefined,
  ): Call {
    const context = currentCallContext();
    // Connect's convention: a per-call timeoutMs ≤ 0 means "no deadline".
    const timeout =
      timeoutMs === undefined ? plan.policy.timeoutMs : timeoutMs > 0 ? timeoutMs : undefined;
    const deadline = effectiveDeadline(timeout === undefined ? undefined : Date.now() + timeout);
    let callSignal = signal;
    let callHeader = header;
    if (context) {
      // Inside a server handler: its cancellation and correlation id flow to this call.
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
      backoff: undefined,
    };
  }

  /** The timeout of the next attempt; throws DeadlineExceeded when the deadline is spent. */
  function attemptTimeout(call: Call): number | undefined {
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

  /** The wait before retrying after `error`, or undefined when the call must not retry. */
  function retryDelay(call: Call, error: ConnectError, timeoutMs: number | undefined) {
    const { plan } = call;
    const retry = plan.policy.retry;
    if (call.attempts >= retry.maxAttempts || call.signal?.aborted) return undefined;
    if (neverRetryableCodes.has(error.code)) return undefined;
    const neverSent = isNeverSent(error);
    if (!plan.idempotent && !retry.allowNonIdempotent && !neverSent) return undefined;
    // An attempt cut short by its own per-attempt timeout, with time left overall.
    const attemptTimedOut =
      error.code === Code.DeadlineExceeded &&
      timeoutMs !== undefined &&
      timeoutMs === plan.policy.perAttemptTimeoutMs;
    if (!neverSent && !attemptTimedOut && !retry.retryableCodes.includes(error.code)) {
      return undefined;
    }
    const pushback = pushbackOf(error);
    if (pushback !== undefined && pushback < 0) return undefined;
    call.backoff ??= plan.backoff();
    const delay = pushback ?? call.backoff.next();
    if (call.deadline !== undefined && Date.now() + delay >= call.deadline) return undefined;
    if (plan.budget && !plan.budget.tryRetry()) {
      emit(events, "onBudgetExhausted", { method: plan.name, target });
      return undefined;
    }
    return delay;
  }

  /** One attempt of a retried call: wait (cancellable), send, decide whether to retry. */
  async function attempt<R>(call: Call, send: Send<R>): Promise<R> {
    if (call.delayMs > 0) {
      await sleep(call.delayMs, call.signal);
      call.delayMs = 0;
      // The circuit may have opened while this call waited: fail fast, send nothing.
      if (call.plan.breaker && isOpen(call.plan.breaker)) throw new BrokenCircuitError();
    }
    call.attempts++;
    const timeoutMs = attemptTimeout(call);
    try {
      return await send(call.signal, timeoutMs);
    } catch (e) {
      const error = toConnectError(e);
      const delayMs = retryDelay(call, error, timeoutMs);
      if (delayMs === undefined) throw error;
      call.delayMs = delayMs;
      emit(events, "onRetry", {
        method: call.plan.name,
        target,
        attempt: call.attempts,
        delayMs,
        error,
      });
      throw new RetryableFailure(error);
    }
  }

  /** Hedged call: parallel attempts through the breaker, the first success wins. */
  function hedged<R>(call: Call, send: Send<R>): Promise<R> {
    const { plan } = call;
    const hedging = plan.policy.hedging as NonNullable<CallPolicy["hedging"]>;
    // async: a spent deadline must reject, not throw inside runHedged's timer.
    const sendOne = async (signal: AbortSignal) => {
      call.attempts++;
      const timeoutMs = attemptTimeout(call);
      return send(signal, timeoutMs);
    };
    return runHedged({
      maxAttempts: hedging.maxAttempts,
      delayMs: hedging.delayMs,
      signal: call.signal,
      send: (signal) =>
        plan.breaker ? plan.breaker.execute(() => sendOne(signal)) : sendOne(signal),
      isFatal: (error) => {
        if (!(error instanceof ConnectError)) return true;
        return !(plan.policy.retry.retryableCodes.includes(error.code) || isNeverSent(error));
      },
      mayHedge: (n) => {
        if (plan.budget && !plan.budget.tryRetry()) {
          emit(events, "onBudgetExhausted", { method: plan.name, target });
          return false;
        }
        emit(events, "onHedge", { method: plan.name, target, attempt: n });
        return true;
      },
    });
  }

  function fail(call: Call, error: unknown): never {
    const mapped = mapError(error, {
      method: call.plan.name,
      target,
      circuit: call.plan.circuit,
      attempts: call.attempts,
    });
    if (error instanceof BulkheadRejectedError) {
      emit(events, "onBulkheadReject", { method: call.plan.name, target });
    }
    throw mapped;
  }

  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      const plan = planOf(method, contextValues?.get(callPolicyKey));
      const call = startCall(plan, signal, timeoutMs, header);
      const send: Send<Awaited<ReturnType<typeof inner.unary<never, never>>>> = (s, t) =>
        inner.unary(method as never, s, t, call.header, input as never, contextValues);
      plan.budget?.recordRequest();
      try {
        const response = (
          plan.policy.hedging
            ? await (plan.outer
                ? plan.outer.execute(() => hedged(call, send), call.signal)
                : hedged(call, send))
            : await plan.stack.execute(() => attempt(call, send), call.signal)
        ) as Awaited<ReturnType<typeof send>>;
        response.trailer.set(attemptsHeader, String(call.attempts));
        return response as never;
      } catch (error) {
        return fail(call, error);
      }
    },

    async stream(method, signal, timeoutMs, header, input, contextValues) {
      // Streams get the deadline, cancellation, correlation id and the circuit; they are not
      // retried (messages may already have been consumed) and hold no bulkhead slot.
      const plan = planOf(method, contextValues?.get(callPolicyKey));
      const call = startCall(plan, signal, timeoutMs, header);
      const open = () => {
        call.attempts++;
        return inner.stream(
          method,
          call.signal,
          attemptTimeout(call),
          call.header,
          input,
          contextValues,
        );
      };
      try {
        return await (plan.breaker ? plan.breaker.execute(open, call.signal) : open());
      } catch (error) {
        return fail(call, error);
      }
    },
  };
}
