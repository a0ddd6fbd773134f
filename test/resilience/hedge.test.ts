import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runHedged } from "../../src/resilience/hedge.js";

afterEach(() => vi.useRealTimers());

/** An attempt that settles only when the test says so. */
function controllable() {
  const attempts: { signal: AbortSignal; resolve(v: string): void; reject(e: unknown): void }[] =
    [];
  const send = (signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => attempts.push({ signal, resolve, reject }));
  return { attempts, send };
}

describe("runHedged", () => {
  it("sends the next attempt only after the delay; the first success wins, losers are aborted", async () => {
    vi.useFakeTimers();
    const { attempts, send } = controllable();
    const result = runHedged({
      maxAttempts: 3,
      delayMs: 100,
      signal: undefined,
      send,
      isFatal: () => false,
      mayHedge: () => true,
    });
    expect(attempts).toHaveLength(1);
    vi.advanceTimersByTime(99);
    expect(attempts).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(attempts).toHaveLength(2);
    attempts[1]?.resolve("second");
    await expect(result).resolves.toBe("second");
    expect(attempts[0]?.signal.aborted).toBe(true);
    vi.advanceTimersByTime(1_000);
    expect(attempts).toHaveLength(2);
  });

  it("starts the next attempt at once after a non-fatal failure, fails at once on a fatal one", async () => {
    vi.useFakeTimers();
    const { attempts, send } = controllable();
    const fatal = new ConnectError("no", Code.InvalidArgument);
    const result = runHedged({
      maxAttempts: 3,
      delayMs: 100,
      signal: undefined,
      send,
      isFatal: (e) => e === fatal,
      mayHedge: () => true,
    });
    attempts[0]?.reject(new ConnectError("down", Code.Unavailable));
    await vi.advanceTimersByTimeAsync(0);
    expect(attempts).toHaveLength(2);
    attempts[1]?.reject(fatal);
    await expect(result).rejects.toBe(fatal);
  });

  it("stops hedging when the budget says no", async () => {
    vi.useFakeTimers();
    const { attempts, send } = controllable();
    const result = runHedged({
      maxAttempts: 3,
      delayMs: 10,
      signal: undefined,
      send,
      isFatal: () => false,
      mayHedge: () => false,
    });
    vi.advanceTimersByTime(100);
    expect(attempts).toHaveLength(1);
    attempts[0]?.resolve("only");
    await expect(result).resolves.toBe("only");
  });

  it("aborts every attempt when the caller aborts", async () => {
    const { attempts, send } = controllable();
    const caller = new AbortController();
    const result = runHedged({
      maxAttempts: 2,
      delayMs: 10_000,
      signal: caller.signal,
      send,
      isFatal: () => false,
      mayHedge: () => true,
    });
    caller.abort();
    await expect(result).rejects.toMatchObject({ code: Code.Canceled });
    expect(attempts[0]?.signal.aborted).toBe(true);
  });
});
