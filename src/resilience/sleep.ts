import { Code, ConnectError } from "@connectrpc/connect";
import { onAbort } from "../context/index.js";

/**
 * Waits `ms`, or rejects with Canceled as soon as `signal` aborts. Hand-written because
 * cockatiel's retry sleeps on a bare timer that ignores cancellation.
 */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(canceled(signal));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe?.();
      resolve();
    }, ms);
    const unsubscribe =
      signal &&
      onAbort(signal, () => {
        clearTimeout(timer);
        reject(canceled(signal));
      });
  });
}

function canceled(signal: AbortSignal): ConnectError {
  return ConnectError.from(signal.reason ?? "the call was cancelled", Code.Canceled);
}
