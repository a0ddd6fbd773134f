import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttp2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, createClient as createConnectClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { EchoService } from "../../gen/protomesh/bench/v1/echo_pb.js";
import {
  createReflectionServices,
  createServer,
  defineService,
  type Server,
  ServingStatus,
} from "../../src/index.js";
import { createGrpcJsServer } from "../../src/server/grpc-js/index.js";
import { createTestCertificates } from "../server/support/test-certificates.js";
import {
  createScriptedOrderService,
  createServerLog,
} from "../transport/scripted-order-service.js";
import { runProtomesh } from "./support/memory-io.js";

const log = createServerLog();
const services = [
  defineService(OrderService, createScriptedOrderService(log)),
  defineService(EchoService, {
    async echoCollect(requests) {
      const payloads: Uint8Array[] = [];
      for await (const request of requests) payloads.push(request.payload);
      return { payloads };
    },
    async *echoStream(requests) {
      for await (const request of requests) yield { payload: request.payload };
    },
  }),
];
let server: Server;
let tlsServer: Server;
let url = "";
let tlsUrl = "";
let dir = "";
const certs = createTestCertificates();

beforeAll(async () => {
  server = createServer({ services, logger: false });
  url = (await server.listen({ host: "127.0.0.1", port: 0 })).url;
  tlsServer = createServer({
    services,
    logger: false,
    tls: { cert: certs.serverCert, key: certs.serverKey },
  });
  const tlsAddress = await tlsServer.listen({ host: "127.0.0.1", port: 0 });
  tlsUrl = `https://127.0.0.1:${tlsAddress.port}`;
  dir = mkdtempSync(join(tmpdir(), "protomesh-call-"));
  writeFileSync(join(dir, "ca.pem"), certs.ca);
});

afterAll(async () => {
  await Promise.all([server?.close(), tlsServer?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const getOrder = "acme.order.v1.OrderService/GetOrder";

describe("protomesh list and describe, by reflection", () => {
  it("lists the services, and a service's methods ready for call", async () => {
    const all = await runProtomesh(["list", url]);
    expect(all.code).toBe(0);
    expect(all.stdout.split("\n")).toEqual(
      expect.arrayContaining(["acme.order.v1.OrderService", "grpc.health.v1.Health"]),
    );
    const methods = await runProtomesh(["list", url, "acme.order.v1.OrderService"]);
    expect(methods.code).toBe(0);
    expect(methods.stdout).toContain(`${getOrder}\n`);
    expect(methods.stdout).toContain("acme.order.v1.OrderService/WatchOrder\n");
  });

  it("describes a service, a method and a message in .proto syntax", async () => {
    const service = await runProtomesh(["describe", url, "acme.order.v1.OrderService"]);
    expect(service.code).toBe(0);
    expect(service.stdout).toMatch(
      /rpc WatchOrder\(acme\.order\.v1\.WatchOrderRequest\) returns \(stream acme\.order\.v1\.WatchOrderResponse\)/,
    );
    const method = await runProtomesh(["describe", url, getOrder]);
    expect(method.stdout).toContain("option idempotency_level = NO_SIDE_EFFECTS;");
    const message = await runProtomesh(["describe", url, "acme.order.v1.GetOrderRequest"]);
    expect(message.stdout).toMatch(
      /message acme\.order\.v1\.GetOrderRequest \{\n {2}string order_id = 1;/,
    );
  });

  it("an unknown symbol is one line, exit 1", async () => {
    const run = await runProtomesh(["describe", url, "acme.order.v1.Nope"]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("protomesh call", () => {
  it.each(["grpc", "connect", "grpc-web"])("calls a unary method over %s", async (protocol) => {
    const run = await runProtomesh([
      "call",
      url,
      getOrder,
      "--protocol",
      protocol,
      "-d",
      '{"orderId":"ord_7"}',
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ order: { orderId: "ord_7" } });
  });

  it("sends -H headers, and reads -d @file and -d @-", async () => {
    const file = join(dir, "request.json");
    writeFileSync(file, '{"orderId":"echo"}');
    const run = await runProtomesh([
      "call",
      url,
      getOrder,
      "-H",
      "x-caller: cli-test",
      "-d",
      `@${file}`,
    ]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).order.customerId).toBe("cli-test");
    const stdin = await runProtomesh(
      ["call", url, "acme.order.v1.OrderService.GetOrder", "-d", "@-"],
      {
        stdin: '{"orderId":"from-stdin"}',
      },
    );
    expect(JSON.parse(stdin.stdout).order.orderId).toBe("from-stdin");
  });

  it("prints a server stream one JSON message a line", async () => {
    const run = await runProtomesh([
      "call",
      url,
      "acme.order.v1.OrderService/WatchOrder",
      "-d",
      '{"orderId":"stream:3"}',
    ]);
    expect(run.code).toBe(0);
    expect(
      run.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { order: { orderId: "update-0" } },
      { order: { orderId: "update-1" } },
      { order: { orderId: "update-2" } },
    ]);
  });

  it("sends a JSON array as a client stream and as a bidi stream", async () => {
    const messages = '[{"payload":"YQ=="},{"payload":"Yg=="}]';
    const collect = await runProtomesh([
      "call",
      url,
      "protomesh.bench.v1.EchoService/EchoCollect",
      "-d",
      messages,
    ]);
    expect(collect.stderr).toBe("");
    expect(JSON.parse(collect.stdout)).toEqual({ payloads: ["YQ==", "Yg=="] });
    const bidi = await runProtomesh([
      "call",
      url,
      "protomesh.bench.v1.EchoService/EchoStream",
      "-d",
      messages,
    ]);
    expect(bidi.stdout).toBe('{"payload":"YQ=="}\n{"payload":"Yg=="}\n');
  });

  it("a non-OK status prints code, message and details on stderr, exit 1", async () => {
    const run = await runProtomesh(["call", url, getOrder, "-d", '{"orderId":"fail"}']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("ERROR: NOT_FOUND (5): order fail is gone");
    expect(run.stderr).toContain("detail acme.inventory.v1.StockLevel");
  });

  it("malformed JSON names the position, exit 2, never a stack trace", async () => {
    const run = await runProtomesh(["call", url, getOrder, "-d", '{"orderId":}']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      "malformed JSON in -d at line 1 column 12 (position 11): Unexpected token '}'\n",
    );
    const field = await runProtomesh(["call", url, getOrder, "-d", '{"bogus":1}']);
    expect(field.code).toBe(2);
    expect(field.stderr).toContain('key "bogus" is unknown');
  });

  it("an unknown method or service says what exists, exit 1", async () => {
    const method = await runProtomesh(["call", url, "acme.order.v1.OrderService/Nope"]);
    expect(method.code).toBe(1);
    expect(method.stderr).toContain("has no method Nope; it has: CreateOrder, GetOrder");
    const service = await runProtomesh(["call", url, "acme.nope.v1.NopeService/Get"]);
    expect(service.code).toBe(1);
    expect(service.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("an unreachable host is one line, exit 1", async () => {
    const run = await runProtomesh(["call", "http://127.0.0.1:1", getOrder]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^cannot reach http:\/\/127\.0\.0\.1:1\/: .*ECONNREFUSED.*\n$/);
  });

  it("a TLS failure is one line, exit 1; --cacert makes the call work", async () => {
    const untrusted = await runProtomesh(["call", tlsUrl, getOrder, "-d", '{"orderId":"t"}']);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/^TLS failure with https:\/\/127\.0\.0\.1:\d+\/: .*--cacert/);
    expect(untrusted.stderr.trim().split("\n")).toHaveLength(1);
    const trusted = await runProtomesh([
      "call",
      tlsUrl,
      getOrder,
      "--cacert",
      join(dir, "ca.pem"),
      "-d",
      '{"orderId":"t"}',
    ]);
    expect(trusted.stderr).toBe("");
    expect(JSON.parse(trusted.stdout).order.orderId).toBe("t");
  });

  it("--timeout bounds a call that never answers, exit 1", async () => {
    const run = await runProtomesh([
      "call",
      url,
      getOrder,
      "--timeout",
      "300ms",
      "-d",
      '{"orderId":"hang"}',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/DEADLINE_EXCEEDED|within 300 ms/);
  });
});

describe("servers that differ", () => {
  it("falls back to v1alpha reflection for a server that serves only that", async () => {
    const v1alphaOnly = createGrpcJsServer({
      services: [
        ...services,
        ...createReflectionServices({ services }).filter((r) =>
          r.service.typeName.endsWith(".v1alpha.ServerReflection"),
        ),
      ],
      reflection: false,
      logger: false,
    });
    const address = await v1alphaOnly.listen({ host: "127.0.0.1", port: 0 });
    try {
      // The precondition: v1 is not served there.
      const v1 = createConnectClient(ReflectionV1, createGrpcTransport({ baseUrl: address.url }));
      const asked = v1.serverReflectionInfo(
        (async function* () {
          yield { messageRequest: { case: "listServices" as const, value: "" } };
        })(),
      );
      await expect(asked[Symbol.asyncIterator]().next()).rejects.toMatchObject({
        code: Code.Unimplemented,
      });
      const run = await runProtomesh(["call", address.url, getOrder, "-d", '{"orderId":"old"}']);
      expect(run.stderr).toBe("");
      expect(JSON.parse(run.stdout)).toEqual({ order: { orderId: "old" } });
    } finally {
      await v1alphaOnly.close();
    }
  });

  it("an HTTP/2 server that is not gRPC is one line, exit 1", async () => {
    const plain = createHttp2Server((_request, response) => {
      response.writeHead(404, { "content-type": "text/plain" });
      response.end("no such page");
    });
    await new Promise<void>((done) => plain.listen(0, "127.0.0.1", done));
    const { port } = plain.address() as AddressInfo;
    try {
      const run = await runProtomesh(["call", `http://127.0.0.1:${port}`, getOrder]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe("ERROR: UNIMPLEMENTED (12): HTTP status 404 without a gRPC status\n");
    } finally {
      await new Promise((done) => plain.close(done));
    }
  });
});

describe("protomesh health", () => {
  it("exit 0 only when SERVING", async () => {
    const serving = await runProtomesh(["health", url]);
    expect(serving).toMatchObject({ code: 0, stdout: "SERVING\n" });
    server.health.setStatus("acme.order.v1.OrderService", ServingStatus.NOT_SERVING);
    const notServing = await runProtomesh(["health", url, "acme.order.v1.OrderService"]);
    expect(notServing).toMatchObject({ code: 1, stderr: "NOT_SERVING\n" });
    server.health.setStatus("acme.order.v1.OrderService", ServingStatus.SERVING);
    expect((await runProtomesh(["health", url, "acme.order.v1.OrderService"])).code).toBe(0);
    expect((await runProtomesh(["health", url, "acme.nope.v1.NopeService"])).code).toBe(1);
    expect((await runProtomesh(["health", "127.0.0.1:1"])).code).toBe(1);
  });
});
