import type { ConnectError } from "@connectrpc/connect";
import { handleType, type RetryPolicy, retry } from "cockatiel";

/**
 * Thrown by an attempt that is worth retrying; the decision (idempotency, codes, deadline,
 * pushback, budget) is made by the attempt itself, which knows the call. Marking the error
 * keeps cockatiel's classifier a bare `instanceof`, which cannot throw.
 */
export class RetryableFailure extends Error {
  constructor(readonly error: ConnectError) {
    super(error.message);
  }
}

/**
 * cockatiel's retry loop, retrying exactly the attempts that threw a `RetryableFailure`. The
 * wait happens at the start of the next attempt (so the caller's signal and the deadline can
 * cut it short), not in cockatiel's uncancellable sleep.
 */
export function createRetryPolicy(maxAttempts: number): RetryPolicy {
  return retry(handleType(RetryableFailure), { maxAttempts: maxAttempts - 1 });
}
