import { Writable } from "node:stream";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { register as globalRegistry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { createServer, type Server } from "../../src/server/index.js";
import { type EchoRecord, echoClient, echoService } from "../server/support/echo-service.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

interface LogLine {
  msg: string;
  method: string;
  protocol: string;
  code: string;
  durationUs: number;
  correlationId: string;
  peer: string;
}

async function serve(record?: EchoRecord) {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) {
        lines.push(JSON.parse(line) as LogLine);
      }
      done();
    },
  });
  const server = createServer({ services: [echoService(record)], logger: pino(sink) });
  servers.push(server);
  const { url } = await server.listen();
  return { server, url, lines };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe("access log", () => {
  it("writes one line per call with method, code, duration, correlation id and peer, on both engines", async () => {
    const { url, lines } = await serve();
    const grpc = echoClient(createGrpcTransport({ baseUrl: url }));
    const connect = echoClient(createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
    await grpc.say({ value: "a" }, { headers: { "x-request-id": "log-1" } });
    await connect
      .say({ value: "fail:7:nope" }, { headers: { "x-request-id": "log-2" } })
      .catch(() => undefined);
    for await (const _ of grpc.repeat({ value: "r:2" }, { headers: { "x-request-id": "log-3" } })) {
      // drain
    }
    await until(() => lines.length === 3);
    expect(lines.map((l) => [l.msg, l.method, l.protocol, l.code, l.correlationId])).toEqual([
      ["call", "/test.echo.v1.EchoService/Say", "grpc", "OK", "log-1"],
      ["call", "/test.echo.v1.EchoService/Say", "connect", "PERMISSION_DENIED", "log-2"],
      ["call", "/test.echo.v1.EchoService/Repeat", "grpc", "OK", "log-3"],
    ]);
    for (const line of lines) {
      expect(Number.isInteger(line.durationUs) && line.durationUs >= 0).toBe(true);
      expect(line.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    }
  });
});

describe("RED metrics", () => {
  it("counts calls by method and code, observes latency, tracks in-flight, served at /metrics", async () => {
    const record: EchoRecord = { contexts: [], aborted: [] };
    const { url } = await serve(record);
    const grpc = echoClient(createGrpcTransport({ baseUrl: url }));
    const connect = echoClient(createConnectTransport({ baseUrl: url, httpVersion: "2" }));
    await grpc.say({ value: "a" });
    await grpc.say({ value: "b" });
    await grpc.say({ value: "fail:5:missing" }).catch(() => undefined);
    await connect.say({ value: "c" });
    const controller = new AbortController();
    const pending = grpc.say({ value: "sleep:60000" }, { signal: controller.signal });
    await until(() => record.contexts.length === 1);

    const metrics = async () => (await fetch(`${url}/metrics`)).text();
    const labels = 'grpc_service="test.echo.v1.EchoService",grpc_method="Say"';
    const during = await metrics();
    expect(during).toContain(`grpc_server_handled_total{${labels},grpc_code="OK"} 3`);
    expect(during).toContain(`grpc_server_handled_total{${labels},grpc_code="NOT_FOUND"} 1`);
    expect(during).toContain(`grpc_server_handling_seconds_count{${labels}} 4`);
    expect(during).toContain(`grpc_server_in_flight{${labels}} 1`);

    controller.abort();
    await pending.catch(() => undefined);
    await until(() => record.aborted.length === 1);
    const after = await metrics();
    expect(after).toContain(`grpc_server_handled_total{${labels},grpc_code="CANCELLED"} 1`);
    expect(after).toContain(`grpc_server_in_flight{${labels}} 0`);
  });

  it("keeps each server's metrics in its own registry, not prom-client's global one", async () => {
    const a = await serve();
    const b = await serve();
    await echoClient(createGrpcTransport({ baseUrl: a.url })).say({ value: "only a" });
    const fromA = await a.server.metrics.getSingleMetricAsString("grpc_server_handled_total");
    const fromB = await b.server.metrics.getSingleMetricAsString("grpc_server_handled_total");
    expect(fromA).toContain('grpc_code="OK"} 1');
    expect(fromB).not.toContain('grpc_code="OK"');
    expect(globalRegistry.getSingleMetric("grpc_server_handled_total")).toBeUndefined();
  });
});
