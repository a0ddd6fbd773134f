import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Waits `ms`, or rejects with Canceled as soon as `signal` aborts. Hand-written because
 * cockatiel's retry sleeps on a bare timer that ignores cancellation.
 */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(canceled(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(canceled(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function canceled(signal: AbortSignal): ConnectError {
  return ConnectError.from(signal.reason ?? "the call was cancelled", Code.Canceled);
}
