/** Something that stops when a signal it watches is aborted. */
export interface AbortTarget {
  abort(reason: unknown): void;
}

/*
 * Written by hand (no library does this): one "abort" listener per signal, fanning out to every
 * call watching it. Many calls often share one signal (a server handler's signal, a batch's
 * signal); adding a listener per call would trip Node's MaxListenersExceededWarning at 11
 * concurrent calls and cost an add/remove pair per call.
 */
const watchers = new WeakMap<AbortSignal, Set<AbortTarget>>();

/** Calls `target.abort(signal.reason)` when `signal` aborts, until `unwatchAbort`. */
export function watchAbort(signal: AbortSignal, target: AbortTarget): void {
  let targets = watchers.get(signal);
  if (targets === undefined) {
    const created = new Set<AbortTarget>();
    targets = created;
    watchers.set(signal, created);
    signal.addEventListener(
      "abort",
      () => {
        watchers.delete(signal);
        for (const t of created) t.abort(signal.reason);
        created.clear();
      },
      { once: true },
    );
  }
  targets.add(target);
}

/** Stops watching; a call that finished must not be aborted later. */
export function unwatchAbort(signal: AbortSignal, target: AbortTarget): void {
  watchers.get(signal)?.delete(target);
}

/**
 * The `signal` of a call whose caller passed none. Connect's interceptor contract wants a signal
 * on every request; sharing one that never aborts spares an AbortController per call. Code that
 * listens on a request's signal must remove its listener when the call ends.
 */
export const neverAborted: AbortSignal = new AbortController().signal;

/** Runs `callback` once when `signal` aborts; returns a function that stops watching. */
export function onAbort(signal: AbortSignal, callback: (reason: unknown) => void): () => void {
  const target: AbortTarget = { abort: callback };
  watchAbort(signal, target);
  return () => unwatchAbort(signal, target);
}
