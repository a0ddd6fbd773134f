import { sensitiveHeaders } from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, encodeBinaryHeader } from "@connectrpc/connect";
import { compressionGzip, createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { createServer, type Server } from "../../src/index.js";
import { LeanHandlerContext } from "../../src/server/lean-engine/lean-handler-context.js";
import { rejection } from "../support/rejection.js";
import { type EchoRecord, echoClient, echoService } from "./support/echo-service.js";
import { frame, rawRequest } from "./support/raw-grpc.js";

let server: Server | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(record?: EchoRecord) {
  server = createServer({ services: [echoService(record)], logger: false });
  const { url } = await server.listen();
  return { url, client: echoClient(createGrpcTransport({ baseUrl: url })) };
}

async function* values(...items: string[]) {
  for (const value of items) yield { value };
}

describe("lean gRPC engine", () => {
  it("serves all four method kinds", async () => {
    const { client } = await serve();
    expect((await client.say({ value: "hi" })).value).toBe("hi");
    const repeated: string[] = [];
    for await (const r of client.repeat({ value: "ping:3" })) repeated.push(r.value);
    expect(repeated).toEqual(["ping-0", "ping-1", "ping-2"]);
    expect((await client.collect(values("a", "b", "c"))).value).toBe("a,b,c");
    const replies: string[] = [];
    for await (const r of client.chat(values("x", "y"))) replies.push(r.value);
    expect(replies).toEqual(["re:x", "re:y"]);
  });

  it("sends errors with code, percent-encoded message and details", async () => {
    const { client } = await serve();
    const error = await rejection(client.say({ value: "fail:5:no such thing – ünïcode 100%" }));
    expect(error.code).toBe(Code.NotFound);
    expect(error.rawMessage).toBe("no such thing – ünïcode 100%");
    const detailed = await rejection(client.say({ value: "details" }));
    expect(detailed.code).toBe(Code.FailedPrecondition);
    expect(detailed.findDetails(StringValueSchema).map((d) => d.value)).toEqual(["why"]);
  });

  it("ends a stream that fails midway with the error in the trailers", async () => {
    const { client } = await serve();
    const seen: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const r of client.repeat({ value: "fail:3" })) seen.push(r.value);
      })(),
    );
    expect(seen).toEqual(["fail-0"]);
    expect(error.code).toBe(Code.DataLoss);
    expect(error.rawMessage).toBe("stream broke");
  });

  it("carries text and -bin metadata both ways, headers and trailers", async () => {
    const { client } = await serve();
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const binary = encodeBinaryHeader(new Uint8Array([0, 1, 2, 250, 255]));
    const reply = await client.say(
      { value: "meta" },
      {
        headers: { "x-custom": "v1", "x-custom-bin": binary },
        onHeader: (h) => (header = h),
        onTrailer: (t) => (trailer = t),
      },
    );
    expect(reply.value).toBe("v1");
    expect(header?.get("x-echo")).toBe("v1");
    expect(header?.get("x-echo-bin")).toBe(binary);
    expect(header?.get("x-request-id")).toMatch(/^[\da-f]{32}$/);
    expect(trailer?.get("x-trailer")).toBe("t1");
  });

  it("fails with DEADLINE_EXCEEDED when the deadline passes and aborts the handler's signal", async () => {
    const record: EchoRecord = { contexts: [], aborted: [] };
    const { client } = await serve(record);
    const error = await rejection(client.say({ value: "sleep:10000" }, { timeoutMs: 100 }));
    expect(error.code).toBe(Code.DeadlineExceeded);
    await until(() => record.aborted.length > 0);
    // The client's own deadline timer usually fires first and cancels the stream, so the
    // handler sees CANCELLED or DEADLINE_EXCEEDED; either way it got the caller's deadline.
    expect([Code.Canceled, Code.DeadlineExceeded]).toContain(
      ConnectError.from(record.aborted[0]).code,
    );
    expect(record.contexts[0]?.timeoutMs()).toBeLessThanOrEqual(100);
  });

  it("enforces grpc-timeout itself when the client does not cancel", async () => {
    const record: EchoRecord = { contexts: [], aborted: [] };
    const { url } = await serve(record);
    const body = frame(
      toBinary(StringValueSchema, create(StringValueSchema, { value: "sleep:10000" })),
    );
    const response = await rawRequest(url, "/test.echo.v1.EchoService/Say", body, {
      "grpc-timeout": "50m",
    });
    expect(response.status).toBe(String(Code.DeadlineExceeded));
    await until(() => record.aborted.length > 0);
    expect(ConnectError.from(record.aborted[0]).code).toBe(Code.DeadlineExceeded);
  });

  it("aborts the handler's signal with CANCELLED when the client cancels (RST_STREAM)", async () => {
    const record: EchoRecord = { contexts: [], aborted: [] };
    const { client } = await serve(record);
    const controller = new AbortController();
    const call = client.say({ value: "sleep:10000" }, { signal: controller.signal });
    await until(() => record.contexts.length > 0);
    controller.abort();
    expect((await rejection(call)).code).toBe(Code.Canceled);
    await until(() => record.aborted.length > 0);
    expect(ConnectError.from(record.aborted[0]).code).toBe(Code.Canceled);
  });

  it("stops a server stream when the client cancels it", async () => {
    const record: EchoRecord = { contexts: [], aborted: [] };
    const { client } = await serve(record);
    const controller = new AbortController();
    const seen: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const r of client.repeat(
          { value: "tick:1000:20" },
          { signal: controller.signal },
        )) {
          seen.push(r.value);
          if (seen.length === 2) controller.abort();
        }
      })(),
    );
    expect(error.code).toBe(Code.Canceled);
    await until(() => record.aborted.length > 0);
    expect(seen).toEqual(["tick-0", "tick-1"]);
  });

  it("sends the correlation id never-indexed (HPACK), on gRPC and Connect unary alike", async () => {
    // A per-call value in the peer's dynamic table would only evict the headers that repeat.
    const { url } = await serve();
    const message = toBinary(StringValueSchema, create(StringValueSchema, { value: "x" }));
    const grpc = await rawRequest(url, "/test.echo.v1.EchoService/Say", frame(message));
    const connect = await rawRequest(url, "/test.echo.v1.EchoService/Say", Buffer.from('"x"'), {
      "content-type": "application/json",
    });
    for (const { headers } of [grpc, connect]) {
      expect(headers["x-request-id"]).toMatch(/^[\da-f]{32}$/);
      expect((headers as Record<symbol, unknown>)[sensitiveHeaders]).toEqual(["x-request-id"]);
    }
    expect(grpc.status).toBe("0");
  });

  it("accepts gzip-compressed requests", async () => {
    const { url } = await serve();
    const client = echoClient(
      createGrpcTransport({
        baseUrl: url,
        sendCompression: compressionGzip,
        acceptCompression: [compressionGzip],
        compressMinBytes: 0,
      }),
    );
    const long = "z".repeat(5000);
    expect((await client.say({ value: long })).value).toBe(long);
    expect((await client.collect(values("p", "q"))).value).toBe("p,q");
  });

  it("gives handlers a Connect HandlerContext", async () => {
    const record: EchoRecord = { contexts: [], aborted: [] };
    const { client } = await serve(record);
    await client.say({ value: "sleep:1" }, { timeoutMs: 5000, headers: { "x-a": "b" } });
    const context = record.contexts[0];
    expect(context?.protocolName).toBe("grpc");
    expect(context?.requestMethod).toBe("POST");
    expect(context?.method.name).toBe("Say");
    expect(context?.service.typeName).toBe("test.echo.v1.EchoService");
    expect(context?.requestHeader.get("x-a")).toBe("b");
    expect(context?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/test\.echo\.v1\.EchoService\/Say$/);
    expect(context?.timeoutMs()).toBeGreaterThan(0);
    expect(context?.timeoutMs()).toBeLessThanOrEqual(5000);
    // Served by the lean engine, not connect-node's gRPC handler.
    expect(context).toBeInstanceOf(LeanHandlerContext);
  });
});

/** Polls (no timed assertion): resolves once `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
