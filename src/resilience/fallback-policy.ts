import { create, type DescMethod, type MessageInitShape } from "@bufbuild/protobuf";
import { ConnectError, type UnaryResponse } from "@connectrpc/connect";
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  type FallbackPolicy,
  fallback,
  handleWhen,
} from "cockatiel";
import { unhealthyCodes } from "./error-classes.js";
import { RetryableFailure } from "./retry-policy.js";

/** Trailer set on a response that came from a fallback rather than from the server. */
export const fallbackHeader = "x-protomesh-fallback";

/**
 * True for failures a fallback may stand in for: an unhealthy or unreachable backend, an open
 * circuit, a full bulkhead — never an answer such as NotFound or InvalidArgument. It runs
 * unguarded inside cockatiel, so it only reads fields and cannot throw.
 */
function isOutage(error: unknown): boolean {
  if (error instanceof BrokenCircuitError || error instanceof BulkheadRejectedError) return true;
  const cause = error instanceof RetryableFailure ? error.error : error;
  return cause instanceof ConnectError && unhealthyCodes.has(cause.code);
}

/**
 * cockatiel's fallback for one unary method: when the call fails with an outage, the caller
 * receives `value()` as the response, marked with the `x-protomesh-fallback` trailer.
 */
export function createFallbackPolicy(
  method: DescMethod,
  value: () => MessageInitShape<DescMethod["output"]>,
): FallbackPolicy<UnaryResponse> {
  return fallback(handleWhen(isOutage), () => {
    const response: UnaryResponse = {
      stream: false,
      service: method.parent,
      method: method as UnaryResponse["method"],
      header: new Headers(),
      message: create(method.output, value()),
      trailer: new Headers({ [fallbackHeader]: "true" }),
    };
    return response;
  });
}
