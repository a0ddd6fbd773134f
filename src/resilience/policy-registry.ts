import type { CircuitBreakerPolicy, BulkheadPolicy as CockatielBulkhead } from "cockatiel";
import { createBreakerPolicy } from "./breaker-policy.js";
import { createBulkheadPolicy } from "./bulkhead-policy.js";
import type { BreakerPolicy, BulkheadPolicy, RetryBudgetPolicy } from "./call-policy.js";
import { emit, type ResilienceEvents } from "./resilience-events.js";
import { createRetryBudget, type RetryBudget } from "./retry-budget.js";

/**
 * The shared state of the policies — circuits, bulkheads, retry budgets — keyed by target
 * (and method, for per-method circuits). A client keeps one, so every call to a target meets
 * the same circuit; hand one registry to several clients to make them share it. Opaque: its
 * contents are cockatiel's, which stay inside src/resilience.
 */
export interface PolicyRegistry {
  readonly kind: "protomesh.PolicyRegistry";
}

/** What the registry holds, for src/resilience only. */
export interface RegistryInternals {
  /** The circuit named `circuit`, created on first use. */
  breaker(circuit: string, policy: BreakerPolicy, events?: ResilienceEvents): CircuitBreakerPolicy;
  /** The bulkhead of `target`, created on first use. */
  bulkhead(target: string, policy: BulkheadPolicy): CockatielBulkhead;
  /** The retry budget of `target`, created on first use. */
  budget(target: string, policy: RetryBudgetPolicy): RetryBudget;
}

/** The internals of a registry made by `createPolicyRegistry`. */
export function internalsOf(registry: PolicyRegistry): RegistryInternals {
  return registry as PolicyRegistry & RegistryInternals;
}

/** A fresh registry; `createClient` makes one per client unless given one. */
export function createPolicyRegistry(): PolicyRegistry {
  const breakers = new Map<string, CircuitBreakerPolicy>();
  const bulkheads = new Map<string, CockatielBulkhead>();
  const budgets = new Map<string, RetryBudget>();
  const registry: PolicyRegistry & RegistryInternals = {
    kind: "protomesh.PolicyRegistry",
    breaker(circuit, policy, events) {
      // Calls with different breaker settings cannot share one circuit's counters.
      const key = `${circuit}\n${JSON.stringify(policy)}`;
      let breaker = breakers.get(key);
      if (!breaker) {
        breaker = createBreakerPolicy(policy, (state) =>
          emit(events, "onBreakerStateChange", { circuit, state }),
        );
        breakers.set(key, breaker);
      }
      return breaker;
    },
    bulkhead(target, policy) {
      const key = `${target}\n${policy.maxConcurrent}/${policy.maxQueue}`;
      let bulkhead = bulkheads.get(key);
      if (!bulkhead) {
        bulkhead = createBulkheadPolicy(policy);
        bulkheads.set(key, bulkhead);
      }
      return bulkhead;
    },
    budget(target, policy) {
      const key = `${target}\n${policy.ratio}/${policy.minRetriesPerSecond}`;
      let budget = budgets.get(key);
      if (!budget) {
        budget = createRetryBudget(policy);
        budgets.set(key, budget);
      }
      return budget;
    },
  };
  return registry;
}
