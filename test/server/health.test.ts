import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from "../../gen/grpc/health/v1/health_pb.js";
import { createServer, type Server, ServingStatus } from "../../src/server/index.js";
import { echoService } from "./support/echo-service.js";

let server: Server | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const echo = "test.echo.v1.EchoService";

async function serve() {
  server = createServer({ services: [echoService()], logger: false });
  const { url } = await server.listen();
  return {
    grpc: createClient(Health, createGrpcTransport({ baseUrl: url })),
    connect: createClient(Health, createConnectTransport({ baseUrl: url, httpVersion: "1.1" })),
  };
}

describe("grpc.health.v1.Health", () => {
  it("reports the server and every registered service SERVING, on every protocol", async () => {
    const clients = await serve();
    for (const client of [clients.grpc, clients.connect]) {
      expect((await client.check({ service: "" })).status).toBe(Status.SERVING);
      expect((await client.check({ service: echo })).status).toBe(Status.SERVING);
      expect((await client.check({ service: "grpc.health.v1.Health" })).status).toBe(
        Status.SERVING,
      );
    }
  });

  it("answers NOT_FOUND for an unknown service on Check", async () => {
    const { grpc } = await serve();
    const error = await grpc.check({ service: "no.such.Service" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.NotFound);
  });

  it("lets code set a status, which Check then reports", async () => {
    const { grpc } = await serve();
    server?.health.setStatus(echo, ServingStatus.NOT_SERVING);
    expect((await grpc.check({ service: echo })).status).toBe(Status.NOT_SERVING);
    expect(server?.health.getStatus(echo)).toBe(ServingStatus.NOT_SERVING);
  });

  it("streams the status and each change on Watch, SERVICE_UNKNOWN for unknown services", async () => {
    const { grpc } = await serve();
    const controller = new AbortController();
    const seen: Status[] = [];
    const watching = (async () => {
      for await (const r of grpc.watch(
        { service: "later.Service" },
        { signal: controller.signal },
      )) {
        seen.push(r.status);
        if (seen.length === 1) server?.health.setStatus("later.Service", ServingStatus.SERVING);
        if (seen.length === 2) server?.health.setStatus("later.Service", ServingStatus.NOT_SERVING);
        if (seen.length === 3) controller.abort();
      }
    })().catch((e: unknown) => e);
    const ended = await watching;
    expect(seen).toEqual([Status.SERVICE_UNKNOWN, Status.SERVING, Status.NOT_SERVING]);
    expect(ConnectError.from(ended).code).toBe(Code.Canceled);
  });
});
