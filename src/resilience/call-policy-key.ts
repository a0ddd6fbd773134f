import { createContextKey } from "@connectrpc/connect";
import type { CallPolicyOverride } from "./call-policy.js";

/**
 * Per-call policy, the strongest level of the precedence. Pass it through Connect's
 * `contextValues`:
 *
 * ```ts
 * await client.getOrder(req, {
 *   contextValues: createContextValues().set(callPolicyKey, { retry: { maxAttempts: 1 } }),
 * });
 * ```
 */
export const callPolicyKey = createContextKey<CallPolicyOverride | undefined>(undefined, {
  description: "protomesh per-call policy",
});
