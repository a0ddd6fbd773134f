import { Code, ConnectError } from "@connectrpc/connect";
import { onAbort } from "../context/index.js";

/** What `runHedged` needs from the call it hedges. */
export interface HedgeOptions<R> {
  /** Attempts including the first. */
  readonly maxAttempts: number;
  /** Wait before each further attempt while none has answered. */
  readonly delayMs: number;
  /** The caller's signal: aborting it aborts every attempt. */
  readonly signal: AbortSignal | undefined;
  /** Sends attempt `n` (from 1) with its own signal. */
  send(signal: AbortSignal, n: number): Promise<R>;
  /** A failure that ends the call at once (any other lets the next attempt start now). */
  isFatal(error: unknown): boolean;
  /** Asked before each further attempt (retry budget); false stops hedging. */
  mayHedge(n: number): boolean;
}

/**
 * Hedging as gRPC specifies it (A6): send an attempt, and another every `delayMs` while none
 * has answered, up to `maxAttempts`; the first success wins and the others are cancelled; a
 * non-fatal failure starts the next attempt at once. Hand-written: cockatiel has no hedging.
 * Each attempt needs its own AbortController, as a loser must be cancelled alone.
 */
export function runHedged<R>(options: HedgeOptions<R>): Promise<R> {
  const { maxAttempts, delayMs, signal } = options;
  return new Promise<R>((resolve, reject) => {
    const controllers: AbortController[] = [];
    let launched = 0;
    let inFlight = 0;
    let settled = false;
    let unsubscribe: (() => void) | undefined;
    let lastError: unknown;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const finish = (outcome: () => void) => {
      settled = true;
      clearTimeout(timer);
      unsubscribe?.();
      for (const controller of controllers) {
        if (!controller.signal.aborted) {
          controller.abort(
            new ConnectError("another hedged attempt answered first", Code.Canceled),
          );
        }
      }
      outcome();
    };
    function onCallerAbort() {
      if (!settled) {
        const reason = ConnectError.from(signal?.reason ?? "the call was cancelled", Code.Canceled);
        finish(() => reject(reason));
      }
    }

    const launch = () => {
      clearTimeout(timer);
      if (settled || launched >= maxAttempts) return;
      if (launched > 0 && !options.mayHedge(launched + 1)) {
        if (inFlight === 0) finish(() => reject(lastError));
        return;
      }
      launched++;
      inFlight++;
      const controller = new AbortController();
      controllers.push(controller);
      let sent: Promise<R>;
      try {
        sent = options.send(controller.signal, launched);
      } catch (error) {
        sent = Promise.reject(error);
      }
      sent.then(
        (result) => {
          inFlight--;
          if (!settled) finish(() => resolve(result));
        },
        (error: unknown) => {
          inFlight--;
          if (settled) return;
          lastError = error;
          if (options.isFatal(error)) finish(() => reject(error));
          else if (launched < maxAttempts) launch();
          else if (inFlight === 0) finish(() => reject(error));
        },
      );
      if (launched < maxAttempts) timer = setTimeout(launch, delayMs);
    };

    if (signal?.aborted) return onCallerAbort();
    if (signal) unsubscribe = onAbort(signal, onCallerAbort);
    launch();
  });
}
