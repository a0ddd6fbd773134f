import { pino } from "pino";

/** A pino destination stream (pino calls `write` with one serialised line). */
export interface BatchedLogDestination {
  write(line: string): boolean;
  /** Writes every buffered line now, synchronously. */
  flushSync(): void;
}

export interface BatchedLogDestinationOptions {
  /** A file descriptor or a file path. Default 1 (stdout). */
  readonly dest?: number | string | undefined;
  /** Write as soon as this many characters are buffered, without waiting for the turn's end. */
  readonly maxBufferChars?: number | undefined;
}

const defaultMaxBufferChars = 16 * 1024;

// One exit hook for every destination, holding them weakly so a dropped one can be collected.
const live = new Set<WeakRef<BatchedLogDestination>>();
let exitHooked = false;

function flushAllOnExit(destination: BatchedLogDestination): void {
  if (live.size >= 64) for (const ref of live) if (!ref.deref()) live.delete(ref);
  live.add(new WeakRef(destination));
  if (exitHooked) return;
  exitHooked = true;
  process.once("exit", () => {
    for (const ref of live) ref.deref()?.flushSync();
  });
}

/**
 * An access log writes one line per call, so how lines reach the file descriptor is on the
 * hot path. Hand-written because pino's own destination (sonic-boom) either issues one
 * write(2) per line (`minLength` 0) or, when it buffers, measures the whole buffered string's
 * byte length again on every line (≈ 1 µs per line at 4 KiB; both measured in
 * bench/suites/server.ts's setting). This keeps the lines of one event-loop turn in an array
 * and hands them to a synchronous pino destination as one string: one write(2) per turn (or
 * per `maxBufferChars`), with sonic-boom still doing the writing (partial writes, EAGAIN).
 * Lines wait at most until the end of the current turn; `flushSync` runs on process exit, so a
 * crash that still exits (uncaught exception, `process.exit`) loses nothing.
 */
export function createBatchedLogDestination(
  options: BatchedLogDestinationOptions = {},
): BatchedLogDestination {
  const target = pino.destination({ dest: options.dest ?? 1, sync: true });
  const maxBufferChars = options.maxBufferChars ?? defaultMaxBufferChars;
  let lines: string[] = [];
  let buffered = 0;
  let scheduled: NodeJS.Immediate | undefined;

  const flushSync = () => {
    if (scheduled) {
      clearImmediate(scheduled);
      scheduled = undefined;
    }
    if (lines.length === 0) return;
    const text = lines.length === 1 ? (lines[0] as string) : lines.join("");
    lines = [];
    buffered = 0;
    target.write(text);
  };
  const destination: BatchedLogDestination = {
    write(line) {
      lines.push(line);
      buffered += line.length;
      if (buffered >= maxBufferChars) flushSync();
      else scheduled ??= setImmediate(flushSync);
      return true;
    },
    flushSync,
  };
  flushAllOnExit(destination);
  return destination;
}
