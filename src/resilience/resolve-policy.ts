import type { DescMethod } from "@bufbuild/protobuf";
import { isIdempotent, type MethodContract, readMethodContract } from "../contract/index.js";
import type { CallPolicy, CallPolicyOverride } from "./call-policy.js";
import { defaultPolicy, defaultStreamingPolicy } from "./default-policy.js";
import { mergePolicy } from "./merge-policy.js";
import { policyFromProto } from "./policy-from-proto.js";
import { validatePolicy } from "./validate-policy.js";

/** Where a method's policy comes from, weakest first after the library defaults. */
export interface PolicySources {
  readonly method: DescMethod;
  /** Read from the method's descriptors when not given. */
  readonly contract?: MethodContract;
  /** Client options in code, for every method of the client. */
  readonly client?: CallPolicyOverride | undefined;
  /** Client options in code for this method (by local name), over `client`. */
  readonly clientMethod?: CallPolicyOverride | undefined;
  /** Per-call options, strongest. */
  readonly call?: CallPolicyOverride | undefined;
}

/**
 * Resolves a method's policy. Precedence, weakest first: library defaults (`defaultPolicy`)
 * < the service's `default_policy` < the method's `policy` < client options in code (all
 * methods, then per method) < per-call options. The result is validated: a bad value throws
 * a ConnectError (InvalidArgument) naming the method.
 */
export function resolvePolicy(sources: PolicySources): CallPolicy {
  const { method } = sources;
  const contract = sources.contract ?? readMethodContract(method);
  const streaming = method.methodKind !== "unary";
  let policy = streaming ? defaultStreamingPolicy : defaultPolicy;
  if (contract.servicePolicy) policy = mergePolicy(policy, policyFromProto(contract.servicePolicy));
  if (contract.methodPolicy) policy = mergePolicy(policy, policyFromProto(contract.methodPolicy));
  policy = mergePolicy(policy, sources.client);
  policy = mergePolicy(policy, sources.clientMethod);
  policy = mergePolicy(policy, sources.call);
  return validatePolicy(policy, {
    name: `${method.parent.typeName}/${method.name}`,
    idempotent: isIdempotent(contract),
  });
}
