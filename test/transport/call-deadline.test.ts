import { ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it, vi } from "vitest";
import { deadlineFromHeader, requestHeader } from "../../src/transport/call-deadline.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("call deadline in grpc-timeout", () => {
  it("writes the timeout in milliseconds, or whole seconds past gRPC's 8 digits", () => {
    expect(requestHeader(undefined, 150).get("grpc-timeout")).toBe("150m");
    expect(requestHeader(undefined, 100_000_500).get("grpc-timeout")).toBe("100001S");
    expect(requestHeader({ "x-a": "1" }, undefined).get("grpc-timeout")).toBeNull();
    expect(requestHeader({ "x-a": "1" }, undefined).get("x-a")).toBe("1");
  });

  it("turns the header left by interceptors into an absolute deadline when the call is sent", () => {
    vi.useFakeTimers({ now: 1_000_000 });
    expect(deadlineFromHeader(new Headers({ "grpc-timeout": "250m" }))).toBe(1_000_250);
    expect(deadlineFromHeader(new Headers({ "grpc-timeout": "2S" }))).toBe(1_002_000);
    expect(deadlineFromHeader(new Headers())).toBe(Number.POSITIVE_INFINITY);
  });

  it("refuses a malformed grpc-timeout", () => {
    expect(() => deadlineFromHeader(new Headers({ "grpc-timeout": "soon" }))).toThrow(ConnectError);
  });
});
