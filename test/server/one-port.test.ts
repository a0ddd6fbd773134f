import { request } from "node:http";
import { connect as connectTls } from "node:tls";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import { ConnectError, createClient } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { createServer, type Server } from "../../src/index.js";
import { type EchoRecord, echoClient, echoService } from "./support/echo-service.js";
import { createTestCertificates, type TestCertificates } from "./support/test-certificates.js";

let server: Server | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("one cleartext port", () => {
  it("serves gRPC, gRPC-Web and Connect (JSON and binary) over HTTP/2 and HTTP/1.1", async () => {
    const record: EchoRecord = { contexts: [], aborted: [] };
    server = createServer({ services: [echoService(record)], logger: false });
    const { url: baseUrl } = await server.listen();
    const transports = {
      grpc: createGrpcTransport({ baseUrl }),
      "grpc-web h2": createGrpcWebTransport({ baseUrl, httpVersion: "2" }),
      "grpc-web h1": createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
      "connect json h2": createConnectTransport({ baseUrl, httpVersion: "2" }),
      "connect json h1": createConnectTransport({ baseUrl, httpVersion: "1.1" }),
      "connect binary h1": createConnectTransport({
        baseUrl,
        httpVersion: "1.1",
        useBinaryFormat: true,
      }),
    };
    for (const [name, transport] of Object.entries(transports)) {
      const client = echoClient(transport);
      expect((await client.say({ value: name })).value, name).toBe(name);
      const streamed: string[] = [];
      for await (const r of client.repeat({ value: "s:2" })) streamed.push(r.value);
      expect(streamed, name).toEqual(["s-0", "s-1"]);
    }
    const seen: string[] = [];
    for (const name of ["grpc", "grpc-web", "connect"]) {
      const transport = Object.entries(transports).find(([n]) => n.startsWith(name))?.[1];
      if (!transport) throw new Error(name);
      await echoClient(transport).say({ value: "sleep:1" });
    }
    for (const context of record.contexts) seen.push(context.protocolName);
    expect(seen).toEqual(["grpc", "grpc-web", "connect"]);
  });

  it("serves gRPC over HTTP/1.1 too (status in chunked trailers), but not bidi streaming", async () => {
    server = createServer({ services: [echoService()], logger: false });
    const { port } = await server.listen();
    // A plain HTTP/1.1 client: gRPC frames in, frames and trailers out.
    const call = (method: string, value: string) =>
      new Promise<{ status: number; values: string[]; trailers: NodeJS.Dict<string> }>(
        (resolve, reject) => {
          const message = toBinary(StringValueSchema, create(StringValueSchema, { value }));
          const body = Buffer.alloc(5 + message.length);
          body.writeUInt32BE(message.length, 1);
          body.set(message, 5);
          const req = request(
            {
              host: "127.0.0.1",
              port,
              method: "POST",
              path: `/test.echo.v1.EchoService/${method}`,
              headers: { "content-type": "application/grpc", te: "trailers" },
            },
            (res) => {
              const chunks: Buffer[] = [];
              res.on("data", (chunk: Buffer) => chunks.push(chunk));
              res.on("end", () => {
                const all = Buffer.concat(chunks);
                const values: string[] = [];
                for (let at = 0; at + 5 <= all.length; at += 5 + all.readUInt32BE(at + 1)) {
                  const frame = all.subarray(at + 5, at + 5 + all.readUInt32BE(at + 1));
                  values.push(fromBinary(StringValueSchema, frame).value);
                }
                resolve({ status: res.statusCode ?? 0, values, trailers: res.trailers });
              });
            },
          );
          req.on("error", reject);
          req.end(body);
        },
      );
    expect(await call("Say", "h1")).toEqual({
      status: 200,
      values: ["h1"],
      trailers: { "grpc-status": "0" },
    });
    expect(await call("Repeat", "r:2")).toMatchObject({
      values: ["r-0", "r-1"],
      trailers: { "grpc-status": "0" },
    });
    // Full duplex cannot work over HTTP/1.1: refused plainly, not left hanging.
    expect((await call("Chat", "x")).status).toBe(505);
  });

  it("answers plain curl-style Connect JSON over HTTP/1.1 and echoes the correlation id", async () => {
    server = createServer({ services: [echoService()], logger: false });
    const { url } = await server.listen();
    const response = await fetch(`${url}/test.echo.v1.EchoService/Say`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "curl-1" },
      body: JSON.stringify("hello"),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toBe("hello");
    expect(response.headers.get("x-request-id")).toBe("curl-1");
  });
});

describe("TLS on the same port", () => {
  let certs: TestCertificates;
  beforeAll(() => {
    certs = createTestCertificates();
  });
  afterAll(() => undefined);

  it("negotiates h2 and http/1.1 by ALPN", async () => {
    server = createServer({
      services: [echoService()],
      logger: false,
      tls: { cert: certs.serverCert, key: certs.serverKey },
    });
    const { url: baseUrl } = await server.listen();
    expect(baseUrl).toMatch(/^https:/);
    const nodeOptions = { ca: certs.ca };
    const grpc = echoClient(createGrpcTransport({ baseUrl, nodeOptions }));
    expect((await grpc.say({ value: "tls" })).value).toBe("tls");
    const h1 = echoClient(createConnectTransport({ baseUrl, httpVersion: "1.1", nodeOptions }));
    expect((await h1.say({ value: "tls-h1" })).value).toBe("tls-h1");
    // What each leg negotiated, as the TLS socket reports it: h2 when offered (first), else
    // http/1.1.
    const { port } = new URL(baseUrl);
    const alpn = (protocols: string[]) =>
      new Promise<string | false | null>((resolve, reject) => {
        const socket = connectTls({
          host: "127.0.0.1",
          port: Number(port),
          ca: certs.ca,
          ALPNProtocols: protocols,
        });
        socket.once("error", reject);
        socket.once("secureConnect", () => {
          resolve(socket.alpnProtocol);
          socket.destroy();
        });
      });
    expect(await alpn(["h2", "http/1.1"])).toBe("h2");
    expect(await alpn(["http/1.1"])).toBe("http/1.1");
    expect(await alpn(["h2"])).toBe("h2");
  });

  it("requires a client certificate signed by the CA when asked to (mTLS)", async () => {
    server = createServer({
      services: [echoService()],
      logger: false,
      tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, requireClientCert: true },
    });
    const { url: baseUrl } = await server.listen();
    const withCert = createClient(
      Health,
      createGrpcTransport({
        baseUrl,
        nodeOptions: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey },
      }),
    );
    expect((await withCert.check({})).status).toBe(1);
    const without = createClient(
      Health,
      createGrpcTransport({ baseUrl, nodeOptions: { ca: certs.ca } }),
    );
    // Refused for want of a certificate (TLS 1.3's certificate_required alert), not any error.
    const refused = await without.check({}).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).cause).toMatchObject({
      code: "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED",
    });
  });
});
