import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { HeaderInit } from "../../../src/transport/call-deadline.js";
import { createConnectionBackoff } from "../../../src/transport/http2/connection-backoff.js";
import { GrpcFrameDecoder } from "../../../src/transport/http2/grpc-frame-decoder.js";
import { parseTarget } from "../../../src/transport/http2/parse-target.js";
import { requestHeaders } from "../../../src/transport/http2/request-headers.js";

describe("parseTarget", () => {
  it.each([
    ["http://127.0.0.1:8080", [{ host: "127.0.0.1", port: 8080 }], "127.0.0.1:8080", false],
    ["https://[::1]:8443", [{ host: "::1", port: 8443 }], "[::1]:8443", true],
    ["dns:///127.0.0.1:50051", [{ host: "127.0.0.1", port: 50051 }], "127.0.0.1:50051", undefined],
    ["dns://8.8.8.8/127.0.0.1:7", [{ host: "127.0.0.1", port: 7 }], "127.0.0.1:7", undefined],
    [
      "ipv4:127.0.0.1:1,127.0.0.2:2",
      [
        { host: "127.0.0.1", port: 1 },
        { host: "127.0.0.2", port: 2 },
      ],
      "127.0.0.1:1",
      undefined,
    ],
    ["ipv6:[::1]:9", [{ host: "::1", port: 9 }], "[::1]:9", undefined],
    ["unix:/tmp/a.sock", [{ path: "/tmp/a.sock" }], "localhost", undefined],
    ["unix:///tmp/b.sock", [{ path: "/tmp/b.sock" }], "localhost", undefined],
    ["127.0.0.1:9000", [{ host: "127.0.0.1", port: 9000 }], "127.0.0.1:9000", undefined],
  ])("reads %s", async (target, addresses, authority, secure) => {
    const parsed = parseTarget(target);
    expect(await parsed.resolver.resolve()).toEqual(addresses);
    expect(parsed.authority).toBe(authority);
    expect(parsed.secure).toBe(secure);
  });

  it("resolves dns:/// names through the system resolver", async () => {
    const addresses = await parseTarget("dns:///localhost:1234").resolver.resolve();
    expect(addresses.length).toBeGreaterThan(0);
    for (const address of addresses) expect(address).toMatchObject({ port: 1234 });
  });

  it.each([
    ["http://127.0.0.1:8080/grpc/", "/grpc"],
    ["https://h:1/a/b", "/a/b"],
    ["http://127.0.0.1:8080/", ""],
    ["dns:///127.0.0.1:50051", ""],
  ])("takes %s's path as the prefix of every method path", (target, prefix) => {
    expect(parseTarget(target).pathPrefix).toBe(prefix);
  });

  it.each([
    "ftp://host:1",
    "unix:relative",
    "ipv4:",
    "host:99999",
    "dns://authority-only",
    "http://h:1/p?x=1",
    "http://h:1/#f",
  ])("refuses %s with InvalidArgument", (target) => {
    let code: Code | undefined;
    try {
      parseTarget(target);
    } catch (error) {
      code = (error as { code?: Code }).code;
    }
    expect(code).toBe(Code.InvalidArgument);
  });

  it("rejects an unknown name when resolved", async () => {
    await expect(parseTarget("dns:///no-such-host.invalid:1").resolver.resolve()).rejects.toThrow();
  });
});

describe("connection backoff (gRPC's connection-backoff document)", () => {
  it("waits 1 s, then ×1.6 with ±20 % jitter, capped at 120 s, connect timeout ≥ 20 s", () => {
    const noJitter = createConnectionBackoff({}, () => 0.5);
    const waits: number[] = [];
    let now = 0;
    for (let i = 0; i < 14; i++) {
      const { nextAttemptAt, connectTimeoutMs } = noJitter.attempt(now);
      expect(connectTimeoutMs).toBeGreaterThanOrEqual(20_000);
      waits.push(Math.round(nextAttemptAt - now));
      now = nextAttemptAt;
    }
    expect(waits.slice(0, 4)).toEqual([1_000, 1_600, 2_560, 4_096]);
    expect(waits.at(-1)).toBe(120_000);
    const low = createConnectionBackoff({}, () => 0);
    low.attempt(0);
    expect(low.attempt(0).nextAttemptAt).toBeCloseTo(1_600 * 0.8);
    const high = createConnectionBackoff({}, () => 0.999_999);
    high.attempt(0);
    expect(high.attempt(0).nextAttemptAt).toBeCloseTo(1_600 * 1.2, 0);
  });

  it("starts over after a success", () => {
    const backoff = createConnectionBackoff({}, () => 0.5);
    backoff.attempt(0);
    backoff.attempt(0);
    backoff.reset();
    expect(backoff.attempt(0).nextAttemptAt).toBe(1_000);
  });
});

describe("gRPC frame decoder", () => {
  const framed = (...messages: number[][]) =>
    Buffer.concat(
      messages.map((m) => {
        const f = Buffer.alloc(5 + m.length);
        f.writeUInt32BE(m.length, 1);
        f.set(m, 5);
        return f;
      }),
    );
  const collect = () => {
    const seen: Uint8Array[] = [];
    return { seen, sink: { frame: (_c: boolean, data: Uint8Array) => seen.push(data) } };
  };

  it("hands each message of a chunk as a plain view of the chunk's memory", () => {
    const { seen, sink } = collect();
    const chunk = framed([1, 2, 3], [4]);
    new GrpcFrameDecoder(100).push(chunk, sink);
    expect(seen.map((m) => [...m])).toEqual([[1, 2, 3], [4]]);
    expect(seen.every((m) => !Buffer.isBuffer(m) && m.buffer === chunk.buffer)).toBe(true);
  });

  it("joins a message split across chunks, and counts what is left unfinished", () => {
    const { seen, sink } = collect();
    const decoder = new GrpcFrameDecoder(100);
    const bytes = framed([9, 8, 7, 6]);
    for (const part of [bytes.subarray(0, 2), bytes.subarray(2, 6), bytes.subarray(6)]) {
      decoder.push(part, sink);
    }
    expect(seen.map((m) => [...m])).toEqual([[9, 8, 7, 6]]);
    expect(decoder.leftover).toBe(0);
    decoder.push(framed([1, 2]).subarray(0, 6), sink);
    expect(decoder.leftover).toBe(6);
  });

  it("refuses a message declared over the limit as soon as its header arrives", () => {
    const { sink } = collect();
    expect(() => new GrpcFrameDecoder(3).push(framed([1, 2, 3, 4]).subarray(0, 5), sink)).toThrow(
      expect.objectContaining({ code: Code.ResourceExhausted }),
    );
  });
});

describe("request headers", () => {
  /** The values sent for `name`, in order. */
  const valuesOf = (headers: string[], name: string) =>
    headers.flatMap((key, i) => (i % 2 === 0 && key === name ? [headers[i + 1]] : []));

  it("are raw pairs: gRPC's own, the deadline, then the caller's (repeats kept, reserved dropped)", () => {
    const caller = new Headers([
      ["x-a", "1"],
      ["te", "gzip"],
    ]);
    caller.append("x-a", "2");
    const headers = requestHeaders("/p.S/M", caller, 250);
    expect(headers.slice(0, 4)).toEqual([":method", "POST", ":path", "/p.S/M"]);
    expect(valuesOf(headers, "te")).toEqual(["trailers"]);
    expect(valuesOf(headers, "grpc-timeout")).toEqual(["250m"]);
    expect(valuesOf(headers, "x-a")).toEqual(["1, 2"]);
    const fromPairs = requestHeaders(
      "/p",
      [
        ["X-B", "1"],
        ["x-b", "2"],
      ],
      undefined,
    );
    expect(valuesOf(fromPairs, "x-b")).toEqual(["1", "2"]);
    expect(valuesOf(fromPairs, "grpc-timeout")).toEqual([]);
  });

  it("refuse a name that is not a token, or a value HTTP/2 cannot carry, sending nothing", () => {
    for (const init of [
      [["x a", "1"]],
      [["", "1"]],
      { "x-a": "line\r\nbreak" },
      { "x-a": "nul\0" },
      { "x-a": "beyond latin1 \u0100" },
    ] as HeaderInit[]) {
      expect(() => requestHeaders("/p", init, undefined)).toThrow(
        expect.objectContaining({ code: Code.InvalidArgument }),
      );
    }
    expect(valuesOf(requestHeaders("/p", { "x-a": "café" }, undefined), "x-a")).toEqual(["café"]);
  });
});
