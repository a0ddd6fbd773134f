import { bulkhead, type BulkheadPolicy as CockatielBulkhead } from "cockatiel";
import type { BulkheadPolicy } from "./call-policy.js";

/** A cockatiel bulkhead for one target; share it by every call to the target. */
export function createBulkheadPolicy(policy: BulkheadPolicy): CockatielBulkhead {
  return bulkhead(policy.maxConcurrent, policy.maxQueue);
}
