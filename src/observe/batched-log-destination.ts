import { pino } from "pino";

/** A pino destination stream (pino calls `write` with one serialised line). */
export interface BatchedLogDestination {
  write(line: string): boolean;
  /** Writes every buffered line now, synchronously. */
  flushSync(): void;
  /** What pino's `logger.flush(cb)` calls: writes every buffered line, then calls back. */
  flush(callback?: (error?: Error) => void): void;
}

export interface BatchedLogDestinationOptions {
  /** A file descriptor or a file path. Default 1 (stdout). */
  readonly dest?: number | string | undefined;
  /** Write as soon as this many bytes are buffered. Default 16 KiB. */
  readonly maxBufferBytes?: number | undefined;
  /**
   * The longest a line waits for company before it is written. Default 10 ms: a log reader
   * sees nothing late, and a busy server still writes hundreds of lines per write(2).
   */
  readonly maxDelayMs?: number | undefined;
}

const defaultMaxBufferBytes = 16 * 1024;
const defaultMaxDelayMs = 10;
// A UTF-16 code unit takes at most 3 bytes in UTF-8.
const maxBytesPerChar = 3;

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
 * byte length again on every line, and encodes each string twice when it writes it (≈ 1 µs
 * per line in bench/suites/server.ts's setting). This encodes each line once, into a buffer,
 * and hands sonic-boom one chunk per `maxBufferBytes` or `maxDelayMs`, whichever comes first:
 * sonic-boom still does the writing (partial writes, EAGAIN). `flushSync` runs on process
 * exit, so a crash that still exits (uncaught exception, `process.exit`) loses nothing.
 */
export function createBatchedLogDestination(
  options: BatchedLogDestinationOptions = {},
): BatchedLogDestination {
  // In contentMode "buffer" sonic-boom writes Buffers; its typings only know strings.
  const target = pino.destination({
    dest: options.dest ?? 1,
    sync: true,
    contentMode: "buffer",
  }) as unknown as { write(chunk: Buffer): boolean };
  const maxBufferBytes = options.maxBufferBytes ?? defaultMaxBufferBytes;
  const maxDelayMs = options.maxDelayMs ?? defaultMaxDelayMs;
  if (!Number.isSafeInteger(maxBufferBytes) || maxBufferBytes < 1) {
    throw new RangeError(`maxBufferBytes must be a positive integer, got ${maxBufferBytes}`);
  }
  if (!Number.isFinite(maxDelayMs) || maxDelayMs < 0) {
    throw new RangeError(`maxDelayMs must be a finite number ≥ 0, got ${maxDelayMs}`);
  }
  // Room for a full buffer plus the longest line that still goes through it.
  const buffer = Buffer.allocUnsafeSlow(2 * maxBufferBytes);
  let used = 0;
  let timerArmed = false;

  const write = () => {
    if (used === 0) return;
    const chunk = buffer.subarray(0, used);
    used = 0;
    // A sync sonic-boom has written all of it (retrying partial writes and EAGAIN) when this
    // returns, or thrown: the buffer is free again either way.
    target.write(chunk);
  };
  // The timer is armed by the first line after a write and not cancelled by a write the
  // buffer's size forced: at most one timer per maxDelayMs, however busy the server.
  const onTimer = () => {
    timerArmed = false;
    write();
  };
  const destination: BatchedLogDestination = {
    write(line) {
      const worstCase = line.length * maxBytesPerChar;
      if (used + worstCase > buffer.length) {
        write();
        if (worstCase > buffer.length) {
          target.write(Buffer.from(line, "utf8"));
          return true;
        }
      }
      used += buffer.write(line, used, "utf8");
      if (used >= maxBufferBytes) write();
      else if (!timerArmed) {
        timerArmed = true;
        setTimeout(onTimer, maxDelayMs).unref();
      }
      return true;
    },
    flushSync: write,
    flush(callback) {
      try {
        write();
      } catch (error) {
        callback?.(error as Error);
        return;
      }
      callback?.();
    },
  };
  flushAllOnExit(destination);
  return destination;
}
