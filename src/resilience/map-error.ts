/**
 * The one place where failures of the policies become what callers see: a `ConnectError`
 * with a gRPC code, the original error as `cause`, and the number of attempts made in its
 * metadata (`x-protomesh-attempts`, read with `attemptsOf`). cockatiel's error types end here.
 */

import { Code, ConnectError } from "@connectrpc/connect";
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  IsolatedCircuitError,
  TaskCancelledError,
} from "cockatiel";
import { RetryableFailure } from "./retry-policy.js";

/** Metadata key (error) and trailer (success) holding the number of attempts a call made. */
export const attemptsHeader = "x-protomesh-attempts";

/** What the mapping needs to name the failure. */
export interface FailureSubject {
  readonly method: string;
  readonly target: string;
  readonly circuit: string;
  readonly attempts: number;
}

/** Maps anything a policy-wrapped call threw to the ConnectError the caller receives. */
export function mapError(error: unknown, subject: FailureSubject): ConnectError {
  const mapped = mapOne(error, subject);
  mapped.metadata.set(attemptsHeader, String(subject.attempts));
  return mapped;
}

function mapOne(error: unknown, subject: FailureSubject): ConnectError {
  // An attempt marked retryable that cockatiel stopped retrying: the transport's error.
  if (error instanceof RetryableFailure) return error.error;
  if (error instanceof ConnectError) return error;
  // Open (or manually isolated) circuit: the call failed fast, nothing was sent.
  if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
    return new ConnectError(
      `circuit ${subject.circuit} is open: failing fast without calling ${subject.target}`,
      Code.Unavailable,
      undefined,
      undefined,
      error,
    );
  }
  // Bulkhead and its queue full: refused at once rather than piling up.
  if (error instanceof BulkheadRejectedError) {
    return new ConnectError(
      `bulkhead for ${subject.target} is full: ${subject.method} refused`,
      Code.ResourceExhausted,
      undefined,
      undefined,
      error,
    );
  }
  // A queued call whose caller gave up before it got a slot.
  if (error instanceof TaskCancelledError) {
    return new ConnectError("the call was cancelled", Code.Canceled, undefined, undefined, error);
  }
  return ConnectError.from(error);
}

/**
 * How many attempts the call behind `error` made (1 = no retry), or undefined when the
 * error did not come through protomesh's policies.
 */
export function attemptsOf(error: unknown): number | undefined {
  if (!(error instanceof ConnectError)) return undefined;
  const value = error.metadata.get(attemptsHeader);
  return value === null ? undefined : Number(value);
}
