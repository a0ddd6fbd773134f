import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues, type Transport } from "@connectrpc/connect";
import { BrokenCircuitError, BulkheadRejectedError } from "cockatiel";
import {
  activeTracer,
  endRpcSpan,
  startAttemptSpan,
  startCallSpan,
  type TracedSpan,
  withTraceHeaders,
} from "../observe/index.js";
import { failedBeforeSending, setResponseTrailer } from "../transport/index.js";
import { isClosed, isOpen, recordClosedFailure, recordClosedSuccess } from "./breaker-policy.js";
import { leaveBulkhead, tryEnterBulkhead } from "./bulkhead-policy.js";
import type { CallPolicy, CallPolicyOverride } from "./call-policy.js";
import { callPolicyKey } from "./call-policy-key.js";
import { attemptTimeout, type CallState, type HeaderInit, startCall } from "./call-state.js";
import { toConnectError } from "./error-classes.js";
import { runHedged } from "./hedge.js";
import { withIdempotencyKey } from "./idempotency-key.js";
import { attemptsHeader, mapError } from "./map-error.js";
import { buildMethodPlan, type MethodPlan } from "./method-plan.js";
import { createPolicyRegistry, internalsOf, type PolicyRegistry } from "./policy-registry.js";
import { emit, type ResilienceEvents } from "./resilience-events.js";
import { retryDelay } from "./retry-decision.js";
import { RetryableFailure } from "./retry-policy.js";
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

/** Sends one attempt of a call on the inner transport, with that attempt's timeout. */
interface AttemptSender<R> {
  send(signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<R>;
}

type UnaryResult = Awaited<ReturnType<Transport["unary"]>>;

/** A unary call's attempts; a class rather than a closure per call (the hot path). */
class UnaryAttemptSender implements AttemptSender<UnaryResult> {
  constructor(
    private readonly inner: Transport,
    private readonly method: Parameters<Transport["unary"]>[0],
    private readonly header: HeaderInit | undefined,
    private readonly input: Parameters<Transport["unary"]>[4],
    private readonly contextValues: ContextValues | undefined,
  ) {}

  send(signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<UnaryResult> {
    return this.inner.unary(
      this.method,
      signal,
      timeoutMs,
      this.header,
      this.input,
      this.contextValues,
    );
  }

  protected get headerInit(): HeaderInit | undefined {
    return this.header;
  }

  protected sendWith(
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeaderInit,
  ): Promise<UnaryResult> {
    return this.inner.unary(this.method, signal, timeoutMs, header, this.input, this.contextValues);
  }
}

/**
 * A unary call's attempts when a tracer provider is registered: each attempt is a CLIENT span
 * under the call's span, and carries its own `traceparent` (W3C; `tracestate`, baggage).
 */
class TracedUnaryAttemptSender extends UnaryAttemptSender {
  #attempts = 0;

  constructor(
    private readonly tracer: NonNullable<ReturnType<typeof activeTracer>>,
    private readonly call: TracedSpan,
    private readonly methodDesc: DescMethod,
    ...rest: ConstructorParameters<typeof UnaryAttemptSender>
  ) {
    super(...rest);
  }

  override async send(
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
  ): Promise<UnaryResult> {
    const { parent, name } = this.methodDesc;
    const attempt = startAttemptSpan(
      this.tracer,
      this.call,
      parent.typeName,
      name,
      ++this.#attempts,
    );
    try {
      const result = await this.sendWith(
        signal,
        timeoutMs,
        withTraceHeaders(this.headerInit, attempt.context),
      );
      endRpcSpan(attempt.span, 0, "client");
      return result;
    } catch (error) {
      endRpcSpan(attempt.span, ConnectError.from(error).code, "client");
      throw error;
    }
  }
}

/**
 * The one place the call policy is applied: a Connect `Transport` that runs each call through
 * fallback → bulkhead → retry (backoff, budget, pushback) or hedging → circuit breaker, and
 * sends each attempt on the inner transport with its own `timeoutMs`. Streams get the deadline,
 * cancellation, correlation id and the circuit only.
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
  const registry = internalsOf(options.registry ?? createPolicyRegistry());
  const plans = new Map<DescMethod, MethodPlan>();

  const sources = {
    target,
    registry,
    events,
    policy: options.policy,
    methodPolicies: options.methodPolicies,
    fallbacks: options.fallbacks,
  };

  function planOf(method: DescMethod, override: CallPolicyOverride | undefined): MethodPlan {
    if (override) return buildMethodPlan(method, sources, override);
    let plan = plans.get(method);
    if (!plan) {
      plan = buildMethodPlan(method, sources);
      plans.set(method, plan);
    }
    return plan;
  }

  if (options.service) for (const method of options.service.methods) planOf(method, undefined);

  /** One attempt of a retried call: wait (cancellable), send, decide whether to retry. */
  async function attempt<R>(call: CallState, sender: AttemptSender<R>): Promise<R> {
    if (call.delayMs > 0) {
      await sleep(call.delayMs, call.signal);
      call.delayMs = 0;
      // The circuit may have opened while this call waited: fail fast, send nothing.
      if (call.plan.breaker && isOpen(call.plan.breaker)) throw new BrokenCircuitError();
    }
    call.attempts++;
    const timeoutMs = attemptTimeout(call);
    try {
      return await sender.send(call.signal, timeoutMs);
    } catch (e) {
      throw afterFailure(call, e, timeoutMs);
    }
  }

  /**
   * What a failed attempt throws: a `RetryableFailure` (its wait decided and announced) when
   * the call may retry it, else the attempt's error.
   */
  function afterFailure(
    call: CallState,
    e: unknown,
    timeoutMs: number | undefined,
  ): ConnectError | RetryableFailure {
    const error = toConnectError(e);
    const delayMs = retryDelay(call, error, timeoutMs, () =>
      emit(events, "onBudgetExhausted", { method: call.plan.name, target }),
    );
    if (delayMs === undefined) return error;
    call.delayMs = delayMs;
    emit(events, "onRetry", {
      method: call.plan.name,
      target,
      attempt: call.attempts,
      delayMs,
      error,
    });
    return new RetryableFailure(error);
  }

  /**
   * The attempts of a call that is not hedged: retry (backoff, budget, pushback) around the
   * circuit breaker. While the circuit is closed (nearly always), the first attempt is sent
   * from here and its outcome handed to cockatiel's breaker afterwards (`recordClosed…`): no
   * cockatiel promise, closure or result object per call while no policy has to act. Retries
   * go through cockatiel's retry and, for each attempt, its breaker; so does every attempt of
   * a call that starts while the circuit is open or half-open.
   */
  async function attempts<R>(call: CallState, sender: AttemptSender<R>): Promise<R> {
    const { plan } = call;
    const breaker = plan.breaker;
    const signal = call.signal;
    if (breaker !== undefined && !isClosed(breaker)) {
      return plan.retry.execute(
        () => breaker.execute(() => attempt(call, sender), signal),
        signal,
      ) as Promise<R>;
    }
    try {
      const response = await sendFirst(call, sender);
      if (breaker !== undefined) recordClosedSuccess(breaker);
      return response;
    } catch (e) {
      return afterFirstAttempt(call, sender, e);
    }
  }

  /**
   * The first attempt of a call whose circuit is closed, as `attempt` sends it (it has no wait
   * before it), outside cockatiel; what it was sent with is kept on the call for
   * `afterFirstAttempt`. A deadline spent already rejects, sending nothing.
   */
  function sendFirst<R>(call: CallState, sender: AttemptSender<R>): Promise<R> {
    call.attempts++;
    let timeoutMs: number | undefined;
    try {
      timeoutMs = attemptTimeout(call);
    } catch (error) {
      return Promise.reject(error);
    }
    call.firstTimeoutMs = timeoutMs;
    call.firstSent = true;
    return sender.send(call.signal, timeoutMs);
  }

  /**
   * After a first attempt sent outside cockatiel (the circuit was closed) failed: its failure
   * handed to the breaker, then the attempts left through cockatiel's retry and breaker when
   * the failure may be retried.
   */
  async function afterFirstAttempt<R>(
    call: CallState,
    sender: AttemptSender<R>,
    e: unknown,
  ): Promise<R> {
    const { plan, signal } = call;
    const breaker = plan.breaker;
    const error = call.firstSent ? afterFailure(call, e, call.firstTimeoutMs) : e;
    if (breaker !== undefined) await recordClosedFailure(breaker, error);
    const rest = plan.retryRest;
    if (!(error instanceof RetryableFailure) || rest === undefined || signal?.aborted) {
      throw error;
    }
    return rest.execute(
      () =>
        breaker === undefined
          ? attempt(call, sender)
          : breaker.execute(() => attempt(call, sender), signal),
      signal,
    ) as Promise<R>;
  }

  /**
   * A unary call inside its fallback and bulkhead (cockatiel's, outermost first), each only
   * when the method has one; `run` is its attempts (retried or hedged).
   */
  function guarded<R>(
    call: CallState,
    sender: AttemptSender<R>,
    run: (call: CallState, sender: AttemptSender<R>) => Promise<R>,
  ): Promise<R> {
    const { plan } = call;
    const bulkhead = plan.bulkhead;
    if (plan.fallback === undefined) {
      return bulkhead === undefined
        ? run(call, sender)
        : bulkhead.execute(() => run(call, sender), call.signal);
    }
    return plan.fallback.execute(
      () =>
        bulkhead === undefined
          ? run(call, sender)
          : bulkhead.execute(() => run(call, sender), call.signal),
      call.signal,
    ) as Promise<R>;
  }

  /** Hedged call: parallel attempts through the breaker, the first success wins. */
  function hedged<R>(call: CallState, sender: AttemptSender<R>): Promise<R> {
    const { plan } = call;
    const hedging = plan.policy.hedging as NonNullable<CallPolicy["hedging"]>;
    // async: a spent deadline must reject, not throw inside runHedged's timer.
    const sendOne = async (signal: AbortSignal) => {
      call.attempts++;
      const timeoutMs = attemptTimeout(call);
      return sender.send(signal, timeoutMs);
    };
    return runHedged({
      maxAttempts: hedging.maxAttempts,
      delayMs: hedging.delayMs,
      signal: call.signal,
      send: (signal) =>
        plan.breaker ? plan.breaker.execute(() => sendOne(signal)) : sendOne(signal),
      isFatal: (error) => {
        if (!(error instanceof ConnectError)) return true;
        // One attempt cut by its own timeout while the call still has time: let others run.
        const attemptTimedOut =
          error.code === Code.DeadlineExceeded &&
          plan.policy.perAttemptTimeoutMs !== undefined &&
          (call.deadline === undefined || Date.now() < call.deadline);
        return !(
          attemptTimedOut ||
          plan.policy.retry.retryableCodes.includes(error.code) ||
          failedBeforeSending(error)
        );
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

  /**
   * A unary call from its first attempt to its outcome. The fast path is for a method whose
   * policies have nothing to decide while the bulkhead has a free slot and the circuit is
   * closed (`plan.direct`): the slot is counted in cockatiel's bulkhead (`tryEnterBulkhead`)
   * and the first attempt is sent from here, so a call costs this one async function in this
   * layer instead of four (this, cockatiel's bulkhead, the attempts, and a closure between
   * them). Everything else — a full or queued bulkhead, an open or half-open circuit, a retry,
   * hedging, a fallback — goes through cockatiel as before. Kept small: an async function's
   * suspended state holds all its registers, so its size is paid per call.
   */
  async function runUnary(
    call: CallState,
    sender: UnaryAttemptSender,
    traced: TracedSpan | undefined,
  ): Promise<UnaryResult> {
    const { plan } = call;
    const held =
      plan.direct &&
      (plan.bulkhead === undefined ||
        (call.signal?.aborted !== true && tryEnterBulkhead(plan.bulkhead)));
    try {
      let response: UnaryResult;
      if (!held) {
        response = await guarded(call, sender, plan.policy.hedging ? hedged : attempts);
      } else if (plan.breaker !== undefined && !isClosed(plan.breaker)) {
        response = await attempts(call, sender);
      } else {
        try {
          response = await sendFirst(call, sender);
          if (plan.breaker !== undefined) recordClosedSuccess(plan.breaker);
        } catch (e) {
          response = await afterFirstAttempt(call, sender, e);
        }
      }
      setResponseTrailer(response, attemptsHeader, String(call.attempts));
      if (traced) endCallSpan(traced, call, undefined);
      return response;
    } catch (error) {
      if (traced) endCallSpan(traced, call, error);
      return fail(call, error);
    } finally {
      if (held && plan.bulkhead !== undefined) leaveBulkhead(plan.bulkhead);
    }
  }

  function fail(call: CallState, error: unknown): never {
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
    unary(method, signal, timeoutMs, header, input, contextValues) {
      let call: CallState;
      let sender: UnaryAttemptSender;
      let traced: TracedSpan | undefined;
      try {
        const plan = planOf(method, contextValues?.get(callPolicyKey));
        call = startCall(plan, signal, timeoutMs, header);
        // Tracing costs nothing while no tracer provider is registered: one check per call.
        const tracer = activeTracer();
        traced = tracer && startCallSpan(tracer, method.parent.typeName, method.name, target);
        const keyedHeader = withIdempotencyKey(plan, call.header);
        sender =
          tracer && traced
            ? new TracedUnaryAttemptSender(
                tracer,
                traced,
                method,
                inner,
                method,
                keyedHeader,
                input,
                contextValues,
              )
            : new UnaryAttemptSender(inner, method, keyedHeader, input, contextValues);
        plan.budget?.recordRequest();
      } catch (error) {
        return Promise.reject(error);
      }
      return runUnary(call, sender, traced) as never;
    },

    async stream(method, signal, timeoutMs, header, input, contextValues) {
      // Streams get the deadline, cancellation, correlation id and the circuit; they are not
      // retried (messages may already have been consumed) and hold no bulkhead slot.
      const plan = planOf(method, contextValues?.get(callPolicyKey));
      const call = startCall(plan, signal, timeoutMs, header);
      const tracer = activeTracer();
      const traced = tracer && startCallSpan(tracer, method.parent.typeName, method.name, target);
      const attempt =
        tracer && traced
          ? startAttemptSpan(tracer, traced, method.parent.typeName, method.name, 1)
          : undefined;
      const open = () => {
        call.attempts++;
        return inner.stream(
          method,
          call.signal,
          attemptTimeout(call),
          attempt ? withTraceHeaders(call.header, attempt.context) : call.header,
          input,
          contextValues,
        );
      };
      try {
        const response = await (plan.breaker ? plan.breaker.execute(open, call.signal) : open());
        if (!traced || !attempt) return response;
        return { ...response, message: tracedStream(response.message, traced, attempt) };
      } catch (error) {
        if (traced && attempt) {
          endRpcSpan(attempt.span, ConnectError.from(error).code, "client");
          endCallSpan(traced, call, error);
        }
        return fail(call, error);
      }
    },
  };
}

/** Ends the logical call's span with its outcome and the number of attempts it took. */
function endCallSpan(traced: TracedSpan, call: CallState, error: unknown): void {
  traced.span.setAttribute("protomesh.attempts", call.attempts);
  endRpcSpan(traced.span, error === undefined ? 0 : ConnectError.from(error).code, "client");
}

/** A traced stream's spans end when its response stream does. */
async function* tracedStream<T>(
  source: AsyncIterable<T>,
  call: TracedSpan,
  attempt: TracedSpan,
): AsyncGenerator<T> {
  let code: Code | 0 = Code.Canceled;
  try {
    yield* source;
    code = 0;
  } catch (error) {
    code = ConnectError.from(error).code;
    throw error;
  } finally {
    endRpcSpan(attempt.span, code, "client");
    call.span.setAttribute("protomesh.attempts", 1);
    endRpcSpan(call.span, code, "client");
  }
}
