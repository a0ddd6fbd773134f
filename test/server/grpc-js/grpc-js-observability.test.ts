// The grpc-js binding runs the same server concerns as createServer: access log, RED metrics,
// correlation id and health.
import { Writable } from "node:stream";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  HealthCheckResponse_ServingStatus,
  Health as HealthService,
} from "../../../gen/grpc/health/v1/health_pb.js";
import { createGrpcJsServer, type GrpcJsServer } from "../../../src/server/grpc-js/index.js";
import { echoClient, echoService } from "../support/echo-service.js";

interface LogLine {
  method: string;
  protocol: string;
  code: string;
  correlationId: string;
  peer: string;
}

const lines: LogLine[] = [];
let server: GrpcJsServer;
let url: string;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) {
        lines.push(JSON.parse(line) as LogLine);
      }
      done();
    },
  });
  server = createGrpcJsServer({ services: [echoService()], logger: pino(sink) });
  ({ url } = await server.listen());
});
afterAll(() => server.close());

describe("createGrpcJsServer observes every call like createServer", () => {
  it("logs one line per call and counts it by code, with the echoed correlation id", async () => {
    const client = echoClient(createGrpcTransport({ baseUrl: url }));
    let echoed: string | null = null;
    await client.say({ value: "a" }, { onHeader: (h) => (echoed = h.get("x-request-id")) });
    await client
      .say({ value: "fail:7:nope" }, { headers: { "x-request-id": "gj-2" } })
      .catch(() => undefined);
    for await (const _ of client.repeat(
      { value: "r:2" },
      { headers: { "x-request-id": "gj-3" } },
    )) {
      // drain
    }
    await expect.poll(() => lines.length).toBe(3);
    expect(lines.map((l) => [l.method, l.protocol, l.code, l.correlationId])).toEqual([
      ["/test.echo.v1.EchoService/Say", "grpc", "OK", echoed],
      ["/test.echo.v1.EchoService/Say", "grpc", "PERMISSION_DENIED", "gj-2"],
      ["/test.echo.v1.EchoService/Repeat", "grpc", "OK", "gj-3"],
    ]);
    expect(echoed).toMatch(/^[\da-f]{32}$/);
    expect(lines[0]?.peer).toMatch(/127\.0\.0\.1:\d+$/);

    const text = await server.metrics.getSingleMetricAsString("grpc_server_handled_total");
    const labels = 'grpc_service="test.echo.v1.EchoService",grpc_method="Say"';
    expect(text).toContain(`grpc_server_handled_total{${labels},grpc_code="OK"} 1`);
    expect(text).toContain(`grpc_server_handled_total{${labels},grpc_code="PERMISSION_DENIED"} 1`);
  });

  it("serves grpc.health.v1 with statuses settable from code", async () => {
    const health = createClient(HealthService, createGrpcTransport({ baseUrl: url }));
    const serving = await health.check({ service: "test.echo.v1.EchoService" });
    expect(serving.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    server.health.setStatus(
      "test.echo.v1.EchoService",
      HealthCheckResponse_ServingStatus.NOT_SERVING,
    );
    const after = await health.check({ service: "test.echo.v1.EchoService" });
    expect(after.status).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
  });
});
