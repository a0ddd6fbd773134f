import { Writable } from "node:stream";
import { create, type DescMessage, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { type LibraryUpstream, startLibraryUpstream } from "./support/library-upstream.js";
import { loadTestRegistry } from "./support/load-test-registry.js";

let upstream: LibraryUpstream;
let gateway: Gateway;
let base: string;
const logLines: { protocol?: string; method?: string; peer?: string }[] = [];
const allowedOrigin = "http://page.example";

beforeAll(async () => {
  upstream = await startLibraryUpstream();
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).trim().split("\n")) logLines.push(JSON.parse(line));
      done();
    },
  });
  gateway = createGateway({
    upstreams: [
      { services: [upstream.service], baseUrl: upstream.address.url, policy: { breaker: null } },
    ],
    typeRegistry: loadTestRegistry(),
    forwardHeaders: ["x-tenant"],
    maxTimeoutMs: 2_000,
    cors: { allowedOrigins: [allowedOrigin] },
    logger: pino({ level: "info" }, sink),
  });
  base = (await gateway.listen()).url;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.server.close();
});

// biome-ignore lint/suspicious/noExplicitAny: a client of a registry service, by local name
type AnyClient = Record<string, any>;

const protocols: [string, () => Transport][] = [
  ["Connect JSON", () => createConnectTransport({ baseUrl: base, httpVersion: "1.1" })],
  [
    "Connect binary",
    () => createConnectTransport({ baseUrl: base, httpVersion: "1.1", useBinaryFormat: true }),
  ],
  [
    "Connect GET",
    () => createConnectTransport({ baseUrl: base, httpVersion: "1.1", useHttpGet: true }),
  ],
  ["Connect over HTTP/2", () => createConnectTransport({ baseUrl: base, httpVersion: "2" })],
  ["gRPC-Web binary", () => createGrpcWebTransport({ baseUrl: base, httpVersion: "1.1" })],
  // HTTP/2 reaches the gateway's own server (src/transport/http2/wire/server-connection.ts).
  [
    "Connect binary over HTTP/2",
    () => createConnectTransport({ baseUrl: base, httpVersion: "2", useBinaryFormat: true }),
  ],
  ["gRPC-Web over HTTP/2", () => createGrpcWebTransport({ baseUrl: base, httpVersion: "2" })],
];

describe.each(protocols)("%s through the gateway", (_name, transport) => {
  const client = () => createClient(upstream.service, transport()) as AnyClient;

  it("unary", async () => {
    const book = await client().getBook({ name: "shelves/1/books/2" });
    expect(book.name).toBe("shelves/1/books/2");
    expect(book.pageCount).toBe(12n);
  });

  it("server streaming", async () => {
    const names: string[] = [];
    for await (const b of client().listBooks({ shelf: "s", count: 3 })) names.push(b.name);
    expect(names).toEqual(["s/0", "s/1", "s/2"]);
  });

  it("errors keep their code and details", async () => {
    const error = await client()
      .fail({ code: Code.FailedPrecondition })
      .catch((e: unknown) => ConnectError.from(e));
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.rawMessage).toBe("failed with 9");
    const detail = error.findDetails(upstream.message("DescribeResponse"))[0] as { text: string };
    expect(detail.text).toBe("a detail");
  });

  it("an internal method is unreachable", async () => {
    const error = await client()
      .secret({ topic: "x" })
      .catch((e: unknown) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    expect(upstream.log.calls.get("secret")).toBeUndefined();
  });
});

function grpcWebFrame(schema: DescMessage, init: Record<string, unknown>): Buffer {
  const bytes = toBinary(schema, create(schema, init));
  const frame = Buffer.alloc(5 + bytes.length);
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, 5);
  return frame;
}

function readFrames(body: Buffer): { data: Buffer[]; trailer: string } {
  const data: Buffer[] = [];
  let trailer = "";
  for (let i = 0; i < body.length; ) {
    const flag = body[i] as number;
    const len = body.readUInt32BE(i + 1);
    const payload = body.subarray(i + 5, i + 5 + len);
    if (flag & 0x80) trailer += payload.toString();
    else data.push(payload);
    i += 5 + len;
  }
  return { data, trailer };
}

describe("gRPC-Web text (application/grpc-web-text)", () => {
  async function post(method: string, schema: DescMessage, init: Record<string, unknown>) {
    const res = await fetch(`${base}/protomesh.resttest.v1.LibraryService/${method}`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web-text", "x-grpc-web": "1" },
      body: grpcWebFrame(schema, init).toString("base64"),
    });
    const text = await res.text();
    // Each response chunk is base64 on its own (padded): decode run by run.
    const runs = text.match(/[^=]+={0,2}/g) ?? [];
    return { res, ...readFrames(Buffer.concat(runs.map((r) => Buffer.from(r, "base64")))) };
  }

  it("unary", async () => {
    const { res, data, trailer } = await post("GetBook", upstream.message("GetBookRequest"), {
      name: "b/1",
    });
    expect(res.headers.get("content-type")).toMatch(/^application\/grpc-web-text/);
    const book = fromBinary(upstream.message("Book"), data[0] as Buffer) as unknown as {
      name: string;
    };
    expect(book.name).toBe("b/1");
    expect(trailer).toMatch(/grpc-status: ?0/);
  });

  it("server streaming and an error with details", async () => {
    const stream = await post("ListBooks", upstream.message("ListBooksRequest"), {
      shelf: "t",
      count: 2,
    });
    expect(stream.data).toHaveLength(2);
    const failed = await post("Fail", upstream.message("FailRequest"), { code: 7 });
    expect(failed.trailer).toMatch(/grpc-status: ?7/);
    expect(failed.trailer).toMatch(/grpc-status-details-bin/);
  });
});

describe("only what is public", () => {
  async function raw(path: string, init: RequestInit = {}) {
    const res = await fetch(base + path, init);
    return { status: res.status, body: await res.text(), type: res.headers.get("content-type") };
  }

  it("answers an internal method exactly like one that does not exist, on every protocol", async () => {
    const svc = "/protomesh.resttest.v1.LibraryService";
    const connect = { method: "POST", headers: { "content-type": "application/json" }, body: "{}" };
    expect(await raw(`${svc}/Secret`, connect)).toEqual(await raw(`${svc}/Nope`, connect));
    const get = `?encoding=json&message=${encodeURIComponent("{}")}`;
    expect(await raw(`${svc}/Secret${get}`)).toEqual(await raw(`${svc}/Nope${get}`));
    const web = {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto" },
      body: grpcWebFrame(upstream.message("DescribeRequest"), {}),
    };
    expect(await raw(`${svc}/Secret`, web)).toEqual(await raw(`${svc}/Nope`, web));
    expect(await raw("/v1/secret/x")).toEqual(await raw("/v1/nosuch/x"));
    expect((await raw("/v1/secret/x")).status).toBe(404);
    expect(upstream.log.calls.get("secret")).toBeUndefined();
  });
});

describe("edge safety", () => {
  it("forwards only allowed headers, never x-protomesh-*, and adds an x-request-id", async () => {
    const before = upstream.log.headers.length;
    const res = await fetch(`${base}/v1/describe/h`, {
      method: "SEARCH",
      headers: {
        authorization: "Bearer t0k",
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "x-tenant": "acme",
        "x-custom": "secret",
        cookie: "session=1",
        "x-protomesh-attempts": "9",
      },
    });
    expect(res.status).toBe(200);
    const seen = upstream.log.headers[before] as Headers;
    expect(seen.get("authorization")).toBe("Bearer t0k");
    expect(seen.get("traceparent")).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-/);
    expect(seen.get("x-tenant")).toBe("acme");
    expect(seen.get("x-custom")).toBeNull();
    expect(seen.get("cookie")).toBeNull();
    expect(seen.get("x-protomesh-attempts")).toBeNull();
    // No x-request-id sent: the trace id becomes the correlation id, echoed and forwarded.
    expect(res.headers.get("x-request-id")).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(seen.get("x-request-id")).toBe("0af7651916cd43dd8448eb211c80319c");

    const fresh = await fetch(`${base}/v1/books/z`);
    expect(fresh.headers.get("x-request-id")).toMatch(/^[0-9a-f]{32}$/);
    expect(upstream.log.headers.at(-1)?.get("x-request-id")).toBe(
      fresh.headers.get("x-request-id"),
    );
  });

  it("caps the deadline a caller asks for", async () => {
    await fetch(`${base}/v1/books/z`, { headers: { "connect-timeout-ms": "600000" } });
    const timeout = upstream.log.headers.at(-1)?.get("grpc-timeout") ?? "";
    const ms = Number(/^(\d+)m$/.exec(timeout)?.[1] ?? Number.NaN);
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThanOrEqual(2_000);
  });

  it("CORS: preflight for an allowed origin, refusal for others, exposed headers", async () => {
    const preflight = await fetch(`${base}/protomesh.resttest.v1.LibraryService/GetBook`, {
      method: "OPTIONS",
      headers: {
        origin: allowedOrigin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,connect-protocol-version",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(allowedOrigin);
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(
      /connect-protocol-version/,
    );
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/x-grpc-web/);
    const other = await fetch(`${base}/v1/books/x`, {
      method: "OPTIONS",
      headers: { origin: "http://evil.example", "access-control-request-method": "GET" },
    });
    expect(other.status).toBe(403);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const simple = await fetch(`${base}/v1/books/x`, { headers: { origin: allowedOrigin } });
    expect(simple.headers.get("access-control-allow-origin")).toBe(allowedOrigin);
    expect(simple.headers.get("access-control-expose-headers")).toMatch(
      /grpc-status.*grpc-message/,
    );
    expect(simple.headers.get("access-control-expose-headers")).toMatch(/connect-/);
  });

  it("a browser that goes away cancels the upstream call", async () => {
    const abort = new AbortController();
    const res = await fetch(`${base}/v1/shelves/s/books:stream?count=1000`, {
      signal: abort.signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const before = upstream.log.cancelled;
    abort.abort();
    await expect.poll(() => upstream.log.cancelled, { timeout: 10_000 }).toBeGreaterThan(before);
  });
});

describe("observability and health", () => {
  it("logs each call with its protocol and counts it at /metrics", async () => {
    await fetch(`${base}/v1/books/m`);
    await (
      createClient(
        upstream.service,
        createConnectTransport({ baseUrl: base, httpVersion: "1.1" }),
      ) as AnyClient
    ).getBook({ name: "m" });
    await (
      createClient(
        upstream.service,
        createGrpcWebTransport({ baseUrl: base, httpVersion: "1.1" }),
      ) as AnyClient
    ).getBook({ name: "m" });
    await expect
      .poll(
        () =>
          new Set(logLines.filter((l) => l.method?.endsWith("/GetBook")).map((l) => l.protocol)),
        {
          timeout: 5_000,
        },
      )
      .toEqual(new Set(["rest", "connect", "grpc-web"]));
    for (const line of logLines) expect(line.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(
      /grpc_server_handled_total\{[^}]*grpc_method="GetBook"[^}]*grpc_code="OK"[^}]*\} [1-9]/,
    );
  });

  it("is ready while an upstream is healthy, NOT_SERVING while none is", async () => {
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "SERVING" });
    const dead = await startLibraryUpstream();
    await dead.server.close();
    const g = createGateway({
      upstreams: [{ services: [dead.service], baseUrl: dead.address.url }],
      logger: false,
    });
    const url = (await g.listen()).url;
    try {
      const res = await fetch(`${url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: "NOT_SERVING" });
    } finally {
      await g.close();
    }
  });
});
