export type {
  BackoffPolicy,
  BreakerPolicy,
  BreakerPolicyOverride,
  BreakerTrigger,
  BulkheadPolicy,
  CallPolicy,
  CallPolicyOverride,
  HedgingPolicy,
  Jitter,
  RetryBudgetPolicy,
  RetryPolicy,
  RetryPolicyOverride,
} from "./call-policy.js";
export { callPolicyKey } from "./call-policy-key.js";
export {
  defaultHedging,
  defaultPolicy,
  defaultSamplingTrigger,
  defaultStreamingPolicy,
} from "./default-policy.js";
export { idempotencyKeyHeader } from "./idempotency-key.js";
export { attemptsHeader, attemptsOf } from "./map-error.js";
export type { PolicyRegistry } from "./policy-registry.js";
export { createPolicyRegistry } from "./policy-registry.js";
export type { CircuitState, ResilienceEvents } from "./resilience-events.js";
export type { ResilientTransportOptions } from "./resilient-transport.js";
export { createResilientTransport } from "./resilient-transport.js";
export type { PolicySources } from "./resolve-policy.js";
export { resolvePolicy } from "./resolve-policy.js";
