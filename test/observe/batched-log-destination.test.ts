import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createBatchedLogDestination } from "../../src/observe/index.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "protomesh-log-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lines = (file: string) =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { msg: string; i: number });
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("createBatchedLogDestination", () => {
  it("holds lines for at most maxDelayMs, then writes them together, in order", async () => {
    const file = join(dir, "delay.log");
    const log = pino({}, createBatchedLogDestination({ dest: file, maxDelayMs: 40 }));
    for (let i = 0; i < 5; i++) log.info({ i }, "call");
    await nextTurn();
    expect(readFileSync(file, "utf8")).toBe("");
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(lines(file).map((l) => l.i)).toEqual([0, 1, 2, 3, 4]);
  });

  it("writes at once when the buffer passes maxBufferBytes", () => {
    const file = join(dir, "full.log");
    const log = pino({}, createBatchedLogDestination({ dest: file, maxBufferBytes: 200 }));
    for (let i = 0; i < 4; i++) log.info({ i }, "x".repeat(100));
    // Each line is over 100 bytes: two of them pass 200, and are written in this turn.
    expect(lines(file).map((l) => l.i)).toEqual([0, 1, 2, 3]);
  });

  it("keeps multi-byte characters whole and lines longer than the buffer in order", () => {
    const file = join(dir, "utf8.log");
    const destination = createBatchedLogDestination({ dest: file, maxBufferBytes: 64 });
    const log = pino({}, destination);
    const messages = ["é€😀".repeat(5), "x".repeat(1000), "naïve ☃", "😀".repeat(40), "end"];
    messages.forEach((msg, i) => {
      log.info({ i }, msg);
    });
    destination.flushSync();
    const written = lines(file);
    expect(written.map((l) => l.i)).toEqual([0, 1, 2, 3, 4]);
    expect(written.map((l) => l.msg)).toEqual(messages);
  });

  it("writes on flushSync", () => {
    const file = join(dir, "flush.log");
    const destination = createBatchedLogDestination({ dest: file });
    pino({}, destination).info({ i: 7 }, "now");
    destination.flushSync();
    expect(lines(file).map((l) => l.i)).toEqual([7]);
  });

  it("writes what is buffered on pino's logger.flush()", async () => {
    const file = join(dir, "logger-flush.log");
    const log = pino({}, createBatchedLogDestination({ dest: file, maxDelayMs: 60_000 }));
    log.info({ i: 1 }, "before flush");
    await new Promise<void>((resolve, reject) =>
      log.flush((error) => (error ? reject(error) : resolve())),
    );
    expect(lines(file).map((l) => l.i)).toEqual([1]);
  });

  it("refuses options it cannot honour", () => {
    expect(() => createBatchedLogDestination({ maxBufferBytes: 0 })).toThrow(/maxBufferBytes/);
    expect(() => createBatchedLogDestination({ maxDelayMs: Number.NaN })).toThrow(/maxDelayMs/);
  });

  it.each(["exit", "throw"])(
    "loses nothing when the process leaves in the same turn (%s)",
    (how) => {
      const file = join(dir, `${how}.log`);
      const child = spawnSync(
        process.execPath,
        ["--import", "tsx", join(import.meta.dirname, "support", "log-then-exit.ts"), file, how],
        { stdio: "ignore" },
      );
      expect(child.status).toBe(how === "exit" ? 0 : 1);
      expect(lines(file).map((l) => l.i)).toEqual([0, 1, 2]);
    },
  );
});
