import type { DescMethod } from "@bufbuild/protobuf";
import {
  type CircuitBreakerPolicy,
  type IDefaultPolicyContext,
  type IPolicy,
  wrap,
} from "cockatiel";
import { isIdempotent, readMethodContract } from "../contract/index.js";
import { type BackoffSteps, createBackoff } from "./backoff.js";
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
  /** wrap(fallback, bulkhead, retry, breaker): the whole stack, for unary calls. */
  readonly stack: IPolicy<IDefaultPolicyContext, unknown>;
  /** wrap(fallback, bulkhead): hedged calls bring their own attempts. */
  readonly outer: IPolicy<IDefaultPolicyContext, unknown> | undefined;
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
 * Resolves a method's policy (throwing on bad values) and composes its cockatiel policies with
 * `wrap`, outermost first: fallback, bulkhead (one per target), retry, circuit breaker (one per
 * circuit). Shared state comes from the registry; nothing here is per call.
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
  const outer: IPolicy<IDefaultPolicyContext, unknown>[] = [];
  const fallbackValue = sources.fallbacks?.[method.localName];
  if (fallbackValue && method.methodKind === "unary") {
    outer.push(createFallbackPolicy(method, fallbackValue as () => never));
  }
  if (policy.bulkhead) outer.push(registry.bulkhead(target, policy.bulkhead));
  const layers = [...outer, createRetryPolicy(policy.retry.maxAttempts)];
  if (breaker) layers.push(breaker);
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
