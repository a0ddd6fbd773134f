/**
 * One 'abort' listener per signal, however many calls wait on it: a caller may share one
 * signal across thousands of concurrent calls, and a listener per call would trip Node's
 * MaxListenersExceededWarning where AbortSignal keeps the default limit of 10. Hand-written:
 * neither Node nor cockatiel multiplexes listeners.
 */
const waiters = new WeakMap<AbortSignal, Set<() => void>>();

/** Runs `callback` once when `signal` aborts; returns a function that unsubscribes. */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  let set = waiters.get(signal);
  if (!set) {
    const callbacks = new Set<() => void>();
    set = callbacks;
    waiters.set(signal, callbacks);
    signal.addEventListener(
      "abort",
      () => {
        waiters.delete(signal);
        for (const fn of callbacks) fn();
      },
      { once: true },
    );
  }
  const callbacks = set;
  callbacks.add(callback);
  return () => {
    callbacks.delete(callback);
  };
}
