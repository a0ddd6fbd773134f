import { type ServerHttp2Stream, sensitiveHeaders } from "node:http2";
import { describe, expect, it } from "vitest";
import { headerObject, respondRaw } from "../../src/server/lean-engine/respond-raw.js";

/** A stream whose respond() refuses arrays as Node 22.12 does, and records what it got. */
function olderNodeStream() {
  const got: unknown[] = [];
  const stream = {
    respond(headers: unknown) {
      if (Array.isArray(headers)) {
        throw Object.assign(new TypeError('The "headers" argument must be of type object.'), {
          code: "ERR_INVALID_ARG_TYPE",
        });
      }
      got.push(headers);
    },
  };
  return { stream: stream as unknown as ServerHttp2Stream, got };
}

describe("respondRaw", () => {
  it("turns raw pairs into the same headers as an object", () => {
    const raw = [":status", "200", "content-type", "application/grpc", "x-a", "1", "x-a", "2"];
    (raw as string[] & Record<symbol, unknown>)[sensitiveHeaders] = ["x-request-id"];
    const object = headerObject(raw);
    expect(Object.fromEntries(Object.entries(object))).toEqual({
      ":status": 200,
      "content-type": "application/grpc",
      "x-a": ["1", "2"],
    });
    expect((object as Record<symbol, unknown>)[sensitiveHeaders]).toEqual(["x-request-id"]);
  });

  it("falls back to an object where respond() refuses arrays, and remembers it", () => {
    const { stream, got } = olderNodeStream();
    respondRaw(stream, [":status", "200", "grpc-status", "0"]);
    expect(got).toEqual([{ ":status": 200, "grpc-status": "0" }]);
    let arrayTries = 0;
    const counting = {
      respond(headers: unknown) {
        if (Array.isArray(headers)) arrayTries += 1;
        got.push(headers);
      },
    } as unknown as ServerHttp2Stream;
    respondRaw(counting, [":status", "200"]);
    expect(arrayTries).toBe(0);
    expect(got).toHaveLength(2);
  });

  it("lets any other error of respond() through", () => {
    const failing = {
      respond() {
        throw Object.assign(new Error("closed"), { code: "ERR_HTTP2_INVALID_STREAM" });
      },
    } as unknown as ServerHttp2Stream;
    expect(() => respondRaw(failing, [":status", "200"])).toThrow("closed");
  });
});
