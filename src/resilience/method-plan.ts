import type { DescMethod } from "@bufbuild/protobuf";
import type { BulkheadPolicy, CircuitBreakerPolicy, FallbackPolicy, RetryPolicy } from "cockatiel";
import { isIdempotent, readMethodContract } from "../contract/index.js";
import { type BackoffSteps, createBackoff } from "./backoff.js";
import { supportsFastEntry } from "./bulkhead-policy.js";
import type { CallPolicy, CallPolicyOverride } from "./call-policy.js";
import { createFallbackPolicy } from "./fallback-policy.js";
import type { RegistryInternals } from "./policy-registry.js";
import type { ResilienceEvents } from "./resilience-events.js";
import { resolvePolicy } from "./resolve-policy.js";
import type { RetryBudget } from "./retry-budget.js";
import { createRetryPolicy } from "./retry-policy.js";

/** A method's resolved policy and the cockatiel policies that carry it out, built once. */
export interface MethodPlan {
  /** `package.Service/Method`. */
  readonly name: string;
  readonly policy: CallPolicy;
  readonly idempotent: boolean;
  /** The circuit's name: the target, or target/method for per-method circuits. */
  readonly circuit: string;
  readonly breaker: CircuitBreakerPolicy | undefined;
  readonly budget: RetryBudget | undefined;
  /** Makes the backoff of one call. */
  readonly backoff: () => BackoffSteps;
  /** The response standing in for an outage (unary methods with a fallback only). */
  readonly fallback: FallbackPolicy<unknown> | undefined;
  /** The target's bulkhead, shared by every method that has one. */
  readonly bulkhead: BulkheadPolicy | undefined;
  /**
   * Unary calls may skip cockatiel's executors while no policy has anything to decide: no
   * hedging, no fallback, and no bulkhead or one whose free slots can be taken directly
   * (`tryEnterBulkhead`). Such calls then take the slow path only when the bulkhead is full
   * or queued, or the circuit is not closed.
   */
  readonly direct: boolean;
  /** Every attempt of a call, for calls that start while the circuit is not closed. */
  readonly retry: RetryPolicy;
  /**
   * The attempts after the first, for calls whose first attempt ran outside cockatiel (the
   * circuit was closed); undefined when the policy allows a single attempt.
   */
  readonly retryRest: RetryPolicy | undefined;
}

/** What a plan is built from, besides the method's contract. */
export interface PlanSources {
  readonly target: string;
  readonly registry: RegistryInternals;
  readonly events: ResilienceEvents | undefined;
  readonly policy: CallPolicyOverride | undefined;
  readonly methodPolicies: Readonly<Record<string, CallPolicyOverride>> | undefined;
  readonly fallbacks: Readonly<Record<string, (() => unknown) | undefined>> | undefined;
}

/**
 * Resolves a method's policy (throwing on bad values) and builds its cockatiel policies, which
 * the resilient transport applies outermost first: fallback, bulkhead (one per target), retry,
 * circuit breaker (one per circuit). Shared state comes from the registry; nothing here is per
 * call.
 */
export function buildMethodPlan(
  method: DescMethod,
  sources: PlanSources,
  call?: CallPolicyOverride,
): MethodPlan {
  const { target, registry } = sources;
  const contract = readMethodContract(method);
  const policy = resolvePolicy({
    method,
    contract,
    client: sources.policy,
    clientMethod: sources.methodPolicies?.[method.localName],
    call,
  });
  const name = `${method.parent.typeName}/${method.name}`;
  const circuit = policy.breaker?.scope === "method" ? `${target}/${name}` : target;
  const breaker = policy.breaker
    ? registry.breaker(circuit, policy.breaker, sources.events)
    : undefined;
  const budget = policy.retry.budget ? registry.budget(target, policy.retry.budget) : undefined;
  const fallbackValue = sources.fallbacks?.[method.localName];
  const maxAttempts = policy.retry.maxAttempts;
  const fallback =
    fallbackValue && method.methodKind === "unary"
      ? (createFallbackPolicy(method, fallbackValue as () => never) as FallbackPolicy<unknown>)
      : undefined;
  const bulkhead = policy.bulkhead ? registry.bulkhead(target, policy.bulkhead) : undefined;
  return {
    name,
    policy,
    idempotent: isIdempotent(contract),
    circuit,
    breaker,
    budget,
    backoff: createBackoff(policy.retry.backoff),
    fallback,
    bulkhead,
    direct:
      policy.hedging === undefined &&
      fallback === undefined &&
      (bulkhead === undefined || supportsFastEntry(bulkhead)),
    retry: createRetryPolicy(maxAttempts),
    retryRest: maxAttempts > 1 ? createRetryPolicy(maxAttempts - 1) : undefined,
  };
}
