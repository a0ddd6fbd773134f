// What the http2 transport puts on the wire and reads from it, against bare node:http2 servers.
import { constants } from "node:http2";
import { createConnection, createServer as createNetServer, type Socket } from "node:net";
import { gzipSync } from "node:zlib";
import { toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { EchoResponseSchema } from "../../../gen/protomesh/bench/v1/echo_pb.js";
import {
  type Address,
  createHttp2Transport,
  type Http2Transport,
  type Http2TransportOptions,
} from "../../../src/transport/index.js";
import { rejection } from "../../support/rejection.js";
import {
  decode,
  echoClient,
  encode,
  eventually,
  type RawHandler,
  rawEcho,
  startNamedServer,
  startRawServer,
} from "./support.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
function transport(options: Http2TransportOptions): Http2Transport {
  const made = createHttp2Transport(options);
  cleanups.push(() => made.close());
  return made;
}
async function raw(handler: RawHandler) {
  const server = await startRawServer(handler);
  cleanups.push(server.close);
  return server;
}
const grpcHeaders = { ":status": 200, "content-type": "application/grpc" };

describe("request", () => {
  it("sends gRPC's headers, the deadline as grpc-timeout, and asks for gzip", async () => {
    const server = await raw(rawEcho);
    const echo = echoClient(transport({ target: server.url }));
    await echo.echo({}, { timeoutMs: 5_000, headers: { "x-caller": "me", connection: "close" } });
    const sent = server.requests[0] ?? {};
    expect(sent[":path"]).toBe("/protomesh.bench.v1.EchoService/Echo");
    expect(sent["content-type"]).toBe("application/grpc");
    expect(sent.te).toBe("trailers");
    expect(sent["grpc-accept-encoding"]).toContain("gzip");
    expect(sent["grpc-timeout"]).toMatch(/^\d+m$/);
    expect(Number(String(sent["grpc-timeout"]).slice(0, -1))).toBeLessThanOrEqual(5_000);
    expect(sent["x-caller"]).toBe("me");
    expect(sent.connection).toBeUndefined();
  });

  it("refuses a request over maxSendMessageBytes with ResourceExhausted, sending nothing", async () => {
    const server = await raw(rawEcho);
    const echo = echoClient(transport({ target: server.url, maxSendMessageBytes: 10 }));
    const error = await rejection(echo.echo({ payload: new Uint8Array(100) }));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(server.streams()).toBe(0);
  });
});

describe("response", () => {
  it("decodes gzip-compressed messages", async () => {
    const server = await raw((stream) => {
      const bytes = gzipSync(
        toBinary(EchoResponseSchema, {
          $typeName: EchoResponseSchema.typeName,
          payload: encode("zipped"),
        }),
      );
      const frame = Buffer.alloc(5 + bytes.length);
      frame[0] = 1;
      frame.writeUInt32BE(bytes.length, 1);
      frame.set(bytes, 5);
      stream.respond({ ...grpcHeaders, "grpc-encoding": "gzip" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(frame);
    });
    const reply = await echoClient(transport({ target: server.url })).echo({});
    expect(decode(reply.payload)).toBe("zipped");
  });

  it("refuses a gzip bomb over maxReceiveMessageBytes once inflated", async () => {
    const server = await raw((stream) => {
      const bytes = gzipSync(Buffer.alloc(1_000_000));
      const frame = Buffer.alloc(5 + bytes.length);
      frame[0] = 1;
      frame.writeUInt32BE(bytes.length, 1);
      frame.set(bytes, 5);
      stream.respond({ ...grpcHeaders, "grpc-encoding": "gzip" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(frame);
    });
    const echo = echoClient(transport({ target: server.url, maxReceiveMessageBytes: 10_000 }));
    expect((await rejection(echo.echo({}))).code).toBe(Code.ResourceExhausted);
  });

  it("reads a trailers-only error, grpc-message percent-decoded, malformed escapes kept", async () => {
    const server = await raw((stream) => {
      stream.respond(
        { ...grpcHeaders, "grpc-status": "9", "grpc-message": "caf%C3%A9 100%25 %zz" },
        { endStream: true },
      );
    });
    const error = await rejection(echoClient(transport({ target: server.url })).echo({}));
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.rawMessage).toBe("café 100% %zz");
  });

  it("ends a server stream answered trailers-only with OK with no message", async () => {
    const server = await raw((stream) => {
      stream.respond({ ...grpcHeaders, "grpc-status": "0" }, { endStream: true });
    });
    const echo = echoClient(transport({ target: server.url }));
    const seen: unknown[] = [];
    async function* one() {
      yield { payload: encode("x") };
    }
    for await (const m of echo.echoStream(one())) seen.push(m);
    expect(seen).toEqual([]);
  });

  it("delivers every message of a long stream to a slow reader, in order", async () => {
    const server = await raw((stream) => {
      stream.respond(grpcHeaders, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      for (let i = 0; i < 200; i++) {
        const bytes = toBinary(EchoResponseSchema, {
          $typeName: EchoResponseSchema.typeName,
          payload: encode(String(i).padStart(1_000, "-")),
        });
        const frame = Buffer.alloc(5 + bytes.length);
        frame.writeUInt32BE(bytes.length, 1);
        frame.set(bytes, 5);
        stream.write(frame);
      }
      stream.end();
    });
    const echo = echoClient(transport({ target: server.url }));
    async function* one() {
      yield { payload: encode("x") };
    }
    const seen: number[] = [];
    for await (const m of echo.echoStream(one())) {
      seen.push(Number(decode(m.payload).replace(/^-+/, "")));
      if (seen.length < 40) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it("a reader that stops early frees the stream (the idle session then closes)", async () => {
    const server = await raw((stream) => {
      stream.respond(grpcHeaders);
      const bytes = toBinary(EchoResponseSchema, {
        $typeName: EchoResponseSchema.typeName,
        payload: encode("y".repeat(1_000)),
      });
      const frame = Buffer.alloc(5 + bytes.length);
      frame.writeUInt32BE(bytes.length, 1);
      frame.set(bytes, 5);
      for (let i = 0; i < 200; i++) stream.write(frame);
    });
    const made = transport({ target: server.url, idleTimeoutMs: 100 });
    const echo = echoClient(made);
    async function* one() {
      yield { payload: encode("x") };
    }
    const controller = new AbortController();
    let read = 0;
    await rejection(
      (async () => {
        for await (const _ of echo.echoStream(one(), { signal: controller.signal })) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          if (++read === 5) controller.abort();
        }
      })(),
    );
    expect(read).toBe(5);
    await eventually(() => made.channel.sessionCount === 0, 3_000);
  });

  it("cancels with RST_STREAM(CANCEL) when the caller aborts", async () => {
    let rstCode: number | undefined;
    const server = await raw((stream) => {
      stream.on("close", () => {
        rstCode = stream.rstCode;
      });
    });
    const controller = new AbortController();
    const call = rejection(
      echoClient(transport({ target: server.url })).echo({}, { signal: controller.signal }),
    );
    await eventually(() => server.streams() === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    expect((await call).code).toBe(Code.Canceled);
    await eventually(() => rstCode !== undefined);
    expect(rstCode).toBe(constants.NGHTTP2_CANCEL);
  });
});

describe("re-resolution", () => {
  it("asks the resolver again when a connection is lost or drained", async () => {
    const server = await startNamedServer("a");
    let resolutions = 0;
    const address: Address = { host: "127.0.0.1", port: server.port };
    const made = transport({
      target: "dns:///orders.internal:1",
      resolver: {
        resolve: async () => {
          resolutions++;
          return [address];
        },
      },
      resolveIntervalMs: Number.POSITIVE_INFINITY,
      minResolveIntervalMs: 0,
    });
    await echoClient(made).echo({});
    expect(resolutions).toBe(1);
    await server.close();
    await eventually(() => resolutions >= 2);
  });

  it("rate-limits resolutions to minResolveIntervalMs", async () => {
    const server = await startNamedServer("a");
    cleanups.push(server.close);
    let resolutions = 0;
    const made = transport({
      target: "dns:///orders.internal:1",
      resolver: {
        resolve: async () => {
          resolutions++;
          return [{ host: "127.0.0.1", port: server.port }];
        },
      },
      resolveIntervalMs: 10,
      minResolveIntervalMs: 60_000,
    });
    await echoClient(made).echo({});
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(resolutions).toBe(1);
  });
});

describe("keepalive timeout", () => {
  it("closes a connection whose PING goes unanswered; the call in flight fails Unavailable", async () => {
    const server = await raw(() => {});
    // A proxy that stops forwarding on demand: the server then never sees the PING.
    let frozen = false;
    const sockets: Socket[] = [];
    const proxy = createNetServer((client) => {
      const upstream = createConnection({ host: "127.0.0.1", port: server.port });
      sockets.push(client, upstream);
      client.on("data", (chunk) => {
        if (!frozen) upstream.write(chunk);
      });
      upstream.on("data", (chunk) => {
        if (!frozen) client.write(chunk);
      });
      for (const s of [client, upstream]) s.on("error", () => {});
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    });
    const { port } = proxy.address() as { port: number };
    const made = transport({
      target: `127.0.0.1:${port}`,
      keepaliveTimeMs: 100,
      keepaliveTimeoutMs: 200,
    });
    const call = rejection(echoClient(made).echo({}));
    await eventually(() => server.streams() === 1);
    frozen = true;
    const error = await call;
    expect(error.code).toBe(Code.Unavailable);
    expect(error.message).toMatch(/keepalive/);
  });
});
