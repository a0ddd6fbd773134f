import { connect } from "node:http2";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, encodeBinaryHeader } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "../../src/index.js";
import { LeanHandlerContext } from "../../src/server/lean-engine/lean-handler-context.js";
import { rejection } from "../support/rejection.js";
import { type EchoRecord, echoClient, echoService } from "./support/echo-service.js";

let server: Server;
let url: string;
const record: EchoRecord = { contexts: [], aborted: [] };
beforeAll(async () => {
  server = createServer({ services: [echoService(record)], logger: false });
  ({ url } = await server.listen());
});
afterAll(() => server.close());

const client = (binary = false) =>
  echoClient(createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: binary }));

/** A raw Connect unary POST over HTTP/2: status, headers and body as sent. */
function post(path: string, body: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const session = connect(url);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/json",
      ...headers,
    });
    let status = 0;
    let text = "";
    stream.on("response", (h) => (status = Number(h[":status"])));
    stream.on("data", (c: Buffer) => (text += c.toString()));
    stream.on("close", () => {
      session.close();
      resolve({ status, body: text });
    });
    stream.end(body);
  });
}

describe("Connect unary on the lean engine (HTTP/2)", () => {
  it("serves JSON and binary, through the lean engine", async () => {
    record.contexts.length = 0;
    expect((await client().say({ value: "json" })).value).toBe("json");
    expect((await client(true).say({ value: "bin" })).value).toBe("bin");
    await client().say({ value: "sleep:1" });
    expect(record.contexts[0]).toBeInstanceOf(LeanHandlerContext);
    expect(record.contexts[0]?.protocolName).toBe("connect");
  });

  it("sends errors as Connect JSON with the mapped HTTP status, details and metadata", async () => {
    const error = await rejection(client().say({ value: "fail:5:gone 100%" }));
    expect(error.code).toBe(Code.NotFound);
    expect(error.rawMessage).toBe("gone 100%");
    const detailed = await rejection(client(true).say({ value: "details" }));
    expect(detailed.code).toBe(Code.FailedPrecondition);
    expect(detailed.findDetails(StringValueSchema).map((d) => d.value)).toEqual(["why"]);
    const raw = await post("/test.echo.v1.EchoService/Say", '"fail:8:slow down"');
    expect(raw.status).toBe(429);
    expect(JSON.parse(raw.body)).toEqual({ code: "resource_exhausted", message: "slow down" });
  });

  it("carries headers and trailers (as trailer- headers), -bin included", async () => {
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const binary = encodeBinaryHeader(new Uint8Array([1, 2, 3]));
    await client().say(
      { value: "meta" },
      {
        headers: { "x-custom": "c1", "x-custom-bin": binary, "x-request-id": "cu-1" },
        onHeader: (h) => (header = h),
        onTrailer: (t) => (trailer = t),
      },
    );
    expect(header?.get("x-echo")).toBe("c1");
    expect(header?.get("x-echo-bin")).toBe(binary);
    expect(header?.get("x-request-id")).toBe("cu-1");
    expect(trailer?.get("x-trailer")).toBe("t1");
  });

  it("honours connect-timeout-ms with DEADLINE_EXCEEDED", async () => {
    const raw = await post("/test.echo.v1.EchoService/Say", '"sleep:10000"', {
      "connect-timeout-ms": "50",
    });
    expect(raw.status).toBe(504);
    expect(JSON.parse(raw.body).code).toBe("deadline_exceeded");
  });

  it("refuses invalid JSON with INVALID_ARGUMENT and oversized bodies with RESOURCE_EXHAUSTED", async () => {
    const invalid = await post("/test.echo.v1.EchoService/Say", "{not json");
    expect(invalid.status).toBe(400);
    expect(JSON.parse(invalid.body).code).toBe("invalid_argument");
    const big = await post("/test.echo.v1.EchoService/Say", JSON.stringify("x".repeat(5 << 20)));
    expect(big.status).toBe(429);
    expect(JSON.parse(big.body).code).toBe("resource_exhausted");
    expect((await client().say({ value: "still here" })).value).toBe("still here");
  });
});
