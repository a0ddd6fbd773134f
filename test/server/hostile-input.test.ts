import { connect as connectHttp2 } from "node:http2";
import { connect as connectTcp } from "node:net";
import { gunzipSync, gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "../../src/index.js";
import { echoClient, echoService } from "./support/echo-service.js";
import { frame, rawRequest } from "./support/raw-grpc.js";

let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer({
    services: [echoService()],
    logger: false,
    maxTimeoutMs: 60_000,
    handshakeTimeoutMs: 200,
    idleTimeoutMs: 300,
    maxConcurrentStreams: 50,
  });
  ({ url } = await server.listen());
});
afterAll(() => server.close());

const say = "/test.echo.v1.EchoService/Say";
const hello = toBinary(StringValueSchema, create(StringValueSchema, { value: "hello" }));
const status = (code: Code) => String(code);

/** grpc_server_handled_total of one method and code, read from the server's registry. */
async function handled(method: string, code: string): Promise<number> {
  const metric = await server.metrics.getSingleMetric("grpc_server_handled_total")?.get();
  const value = metric?.values.find(
    (v) => v.labels.grpc_method === method && v.labels.grpc_code === code,
  );
  return value?.value ?? 0;
}

/** After every hostile request: the server still answers a well-formed call. */
async function stillServes(): Promise<void> {
  const client = echoClient(createGrpcTransport({ baseUrl: url }));
  expect((await client.say({ value: "ok?" })).value).toBe("ok?");
}

describe("hostile gRPC input (raw HTTP/2 client)", () => {
  it("answers a well-formed raw request (the control case)", async () => {
    const response = await rawRequest(url, say, frame(hello));
    expect(response.status).toBe("0");
    expect(response.body.subarray(5)).toEqual(Buffer.from(hello));
  });

  it("refuses a length prefix beyond the message size limit: RESOURCE_EXHAUSTED", async () => {
    const response = await rawRequest(url, say, frame(hello, { length: 0xfffffff0 }));
    expect(response.status).toBe(status(Code.ResourceExhausted));
    await stillServes();
  });

  it("refuses reserved frame flags: INTERNAL", async () => {
    const bad = frame(hello);
    bad[0] = 0x80;
    expect((await rawRequest(url, say, bad)).status).toBe(status(Code.Internal));
    await stillServes();
  });

  it("refuses a truncated message: INTERNAL", async () => {
    const truncated = frame(hello, { length: 100 });
    const response = await rawRequest(url, say, truncated);
    expect(response.status).toBe(status(Code.Internal));
    expect(response.message).toMatch(/ended inside a message/);
    await stillServes();
  });

  it("refuses a request with no message, or two, for a unary method: INTERNAL", async () => {
    expect((await rawRequest(url, say, undefined)).status).toBe(status(Code.Internal));
    const two = Buffer.concat([frame(hello), frame(hello)]);
    expect((await rawRequest(url, say, two)).status).toBe(status(Code.Internal));
    await stillServes();
  });

  it("refuses the compressed flag without a negotiated encoding: INTERNAL", async () => {
    const response = await rawRequest(url, say, frame(gzipSync(hello), { compressed: true }));
    expect(response.status).toBe(status(Code.Internal));
    // …and accepts the same frame once grpc-encoding says gzip.
    const ok = await rawRequest(url, say, frame(gzipSync(hello), { compressed: true }), {
      "grpc-encoding": "gzip",
    });
    expect(ok.status).toBe("0");
  });

  it("compresses large responses with gzip for clients that accept it, small ones not", async () => {
    const long = toBinary(
      StringValueSchema,
      create(StringValueSchema, { value: "y".repeat(4000) }),
    );
    const response = await rawRequest(url, say, frame(long), { "grpc-accept-encoding": "gzip" });
    expect(response.status).toBe("0");
    expect(response.headers["grpc-encoding"]).toBe("gzip");
    expect(response.headers["grpc-accept-encoding"]).toBe("gzip,identity");
    expect(response.body[0]).toBe(1);
    expect(gunzipSync(response.body.subarray(5))).toEqual(Buffer.from(long));
    const short = await rawRequest(url, say, frame(hello), { "grpc-accept-encoding": "gzip" });
    expect(short.body[0]).toBe(0);
    // Its one message went out plain: no grpc-encoding to encode and parse, still our codecs.
    expect(short.headers["grpc-encoding"]).toBeUndefined();
    expect(short.headers["grpc-accept-encoding"]).toBe("gzip,identity");
    const plain = await rawRequest(url, say, frame(long));
    expect(plain.headers["grpc-encoding"]).toBeUndefined();
    // A client that names no encoding is not told ours: it does not compress.
    expect(plain.headers["grpc-accept-encoding"]).toBeUndefined();
    expect(plain.body[0]).toBe(0);
  });

  it("refuses an unknown grpc-encoding with UNIMPLEMENTED and says what it accepts", async () => {
    const counted = () => handled("Say", "UNIMPLEMENTED");
    const before = await counted();
    const response = await rawRequest(url, say, frame(hello), { "grpc-encoding": "snappy" });
    expect(response.status).toBe(status(Code.Unimplemented));
    expect(response.headers["grpc-accept-encoding"]).toContain("gzip");
    // Refused before the handler, yet counted like any call of the method.
    expect(await counted()).toBe(before + 1);
  });

  it("refuses a gzip bomb beyond the size limit: RESOURCE_EXHAUSTED", async () => {
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024));
    const response = await rawRequest(url, say, frame(bomb, { compressed: true }), {
      "grpc-encoding": "gzip",
    });
    expect(response.status).toBe(status(Code.ResourceExhausted));
    await stillServes();
  });

  it("answers an error before any message trailers-only, grpc-message encoded per gRPC's spec", async () => {
    const body = frame(
      toBinary(
        StringValueSchema,
        create(StringValueSchema, { value: "fail:9:bad: ü/, 100%\u0007" }),
      ),
    );
    const response = await rawRequest(url, say, body);
    expect(response.headers["grpc-status"]).toBe(status(Code.FailedPrecondition));
    // Printable ASCII but '%' as it is (not encodeURIComponent's "bad%3A%20"), the rest as %XX.
    expect(response.headers["grpc-message"]).toBe("bad: %C3%BC/, 100%25%07");
    expect(response.trailers).toEqual({});
    expect(response.body.length).toBe(0);
  });

  it("refuses an oversized message in the middle of a client stream: RESOURCE_EXHAUSTED", async () => {
    const small = frame(hello);
    const huge = frame(Buffer.alloc(16), { length: 64 * 1024 * 1024 });
    const response = await rawRequest(
      url,
      "/test.echo.v1.EchoService/Collect",
      Buffer.concat([small, huge]),
    );
    expect(response.status).toBe(status(Code.ResourceExhausted));
    await stillServes();
  });

  it("refuses bytes that are not the request message: INVALID_ARGUMENT", async () => {
    const response = await rawRequest(url, say, frame(Buffer.from([0xff, 0xff, 0xff, 0xff])));
    expect(response.status).toBe(status(Code.InvalidArgument));
    await stillServes();
  });

  it("answers UNIMPLEMENTED for an unknown method or service", async () => {
    const method = await rawRequest(url, "/test.echo.v1.EchoService/Nope", frame(hello));
    expect(method.status).toBe(status(Code.Unimplemented));
    const service = await rawRequest(url, "/no.Such/Say", frame(hello));
    expect(service.status).toBe(status(Code.Unimplemented));
  });

  it("refuses a malformed grpc-timeout and one beyond maxTimeoutMs: INVALID_ARGUMENT", async () => {
    const malformed = await rawRequest(url, say, frame(hello), { "grpc-timeout": "soon" });
    expect(malformed.status).toBe(status(Code.InvalidArgument));
    const tooLong = await rawRequest(url, say, frame(hello), { "grpc-timeout": "2H" });
    expect(tooLong.status).toBe(status(Code.InvalidArgument));
    const fine = await rawRequest(url, say, frame(hello), { "grpc-timeout": "10S" });
    expect(fine.status).toBe("0");
  });

  it("refuses an oversized message (5 MiB > 4 MiB) on gRPC and on Connect: RESOURCE_EXHAUSTED", async () => {
    const data = new Uint8Array(5 * 1024 * 1024);
    for (const transport of [
      createGrpcTransport({ baseUrl: url }),
      createConnectTransport({ baseUrl: url, httpVersion: "1.1", useBinaryFormat: true }),
    ]) {
      const error = await echoClient(transport)
        .size({ data })
        .catch((e: unknown) => e);
      expect(ConnectError.from(error).code).toBe(Code.ResourceExhausted);
    }
    const small = await echoClient(createGrpcTransport({ baseUrl: url })).size({
      data: new Uint8Array(1024),
    });
    expect(small.value).toBe("1024");
  });

  it("refuses headers beyond the header list limit (16 KiB), and serves others", async () => {
    const response = await rawRequest(url, say, frame(hello), { "x-big": "a".repeat(20_000) });
    expect(response.status).toBe(status(Code.ResourceExhausted));
    const connect = await fetch(`${url}${say}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-big": "a".repeat(20_000) },
      body: '"hi"',
    });
    expect(connect.status).toBe(431);
    await stillServes();
  });

  it("advertises the concurrent stream limit in SETTINGS", async () => {
    const session = connectHttp2(url);
    const settings = await new Promise<number | undefined>((resolve) =>
      session.once("remoteSettings", (s) => resolve(s.maxConcurrentStreams)),
    );
    session.close();
    expect(settings).toBe(50);
  });
});

describe("hostile HTTP input", () => {
  it("answers invalid Connect JSON with INVALID_ARGUMENT", async () => {
    const response = await fetch(`${url}${say}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe("invalid_argument");
  });

  it("answers a wrong content-type with 415 and an unknown path with 404", async () => {
    const wrongType = await fetch(`${url}${say}`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "hello",
    });
    expect(wrongType.status).toBe(415);
    const unknown = await fetch(`${url}/no.Such/Method`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(unknown.status).toBe(404);
    await stillServes();
  });

  it("drops a client that connects and sends nothing (slow client) after the handshake timeout", async () => {
    // Its own server, whose idle timeout (60 s) could not be what closes the socket in time.
    const slow = createServer({
      services: [echoService()],
      logger: false,
      handshakeTimeoutMs: 300,
      idleTimeoutMs: 60_000,
    });
    const { port } = await slow.listen();
    try {
      const started = performance.now();
      const socket = connectTcp(port, "127.0.0.1");
      await new Promise<void>((resolve) => socket.once("close", () => resolve()));
      const elapsed = performance.now() - started;
      expect(socket.destroyed).toBe(true);
      // Not at once (the server waited for bytes), and long before any idle sweep (60–120 s);
      // generous above, as the machine may be loaded.
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(10_000);
    } finally {
      await slow.close();
    }
  });

  it("closes an idle HTTP/2 connection with GOAWAY", async () => {
    const session = connectHttp2(url);
    const goaway = await new Promise<number>((resolve) =>
      session.once("goaway", (code: number) => resolve(code)),
    );
    session.destroy();
    expect(goaway).toBe(0);
  });
});
