/** Something that stops when a signal it watches is aborted. */
export interface AbortTarget {
  abort(reason: unknown): void;
}

/*
 * Written by hand (no library does this): one "abort" listener per signal, fanning out to every
 * call watching it. Many calls often share one signal (a server handler's signal, a batch's
 * signal); adding a listener per call would trip Node's MaxListenersExceededWarning at 11
 * concurrent calls and cost an add/remove pair per call.
 *
 * The fan-out lives in a symbol slot on the signal, not in a WeakMap: the gateway makes a fresh
 * signal per inbound call, and a WeakMap entry per call showed up in heap profiles as a third of
 * the gateway's bytes per call (ephemerons are costly to collect). The fan-out object is its
 * own listener (`handleEvent`), and a lone watcher needs no Set.
 */
const fanoutSlot = Symbol("protomesh.abortFanout");

interface WatchedSignal extends AbortSignal {
  [fanoutSlot]?: AbortFanout | undefined;
}

class AbortFanout {
  first: AbortTarget | undefined;
  rest: Set<AbortTarget> | undefined;

  constructor(private readonly signal: WatchedSignal) {}

  add(target: AbortTarget): void {
    if (this.first === target) return;
    if (this.first === undefined) {
      this.first = target;
      return;
    }
    this.rest ??= new Set();
    this.rest.add(target);
  }

  delete(target: AbortTarget): void {
    if (this.first === target) this.first = undefined;
    else this.rest?.delete(target);
  }

  handleEvent(): void {
    const { signal, first, rest } = this;
    signal[fanoutSlot] = undefined;
    this.first = undefined;
    this.rest = undefined;
    first?.abort(signal.reason);
    if (rest !== undefined) for (const t of rest) t.abort(signal.reason);
  }
}

/** Calls `target.abort(signal.reason)` when `signal` aborts, until `unwatchAbort`. */
export function watchAbort(signal: AbortSignal, target: AbortTarget): void {
  const watched = signal as WatchedSignal;
  let fanout = watched[fanoutSlot];
  if (fanout === undefined) {
    fanout = new AbortFanout(watched);
    watched[fanoutSlot] = fanout;
    signal.addEventListener("abort", fanout, { once: true });
  }
  fanout.add(target);
}

/** Stops watching; a call that finished must not be aborted later. */
export function unwatchAbort(signal: AbortSignal, target: AbortTarget): void {
  (signal as WatchedSignal)[fanoutSlot]?.delete(target);
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
