import { spawn } from "node:child_process";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from "../../gen/grpc/health/v1/health_pb.js";
import { createServer, createTransport, type Server } from "../../src/index.js";
import { rejection as failure } from "../support/rejection.js";
import { type EchoRecord, echoClient, echoService } from "./support/echo-service.js";
import { startHoldingProxy } from "./support/holding-proxy.js";

let server: Server | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe("graceful shutdown", () => {
  it.each([
    ["grpc-js channel", (baseUrl: string) => createTransport({ baseUrl })],
    ["connect-node", (baseUrl: string) => createGrpcTransport({ baseUrl })],
  ])("closes an idle %s connection without waiting for the drain timeout", async (_name, make) => {
    // A drain timeout far beyond the test's own: only a close that ends idle connections by
    // itself (final GOAWAY, then the session closes) can finish in time.
    server = createServer({ services: [echoService()], logger: false, drainTimeoutMs: 120_000 });
    const { url } = await server.listen();
    await echoClient(make(url)).say({ value: "hello" });
    const outcome = await Promise.race([
      server.close().then(() => "closed"),
      new Promise((resolve) => setTimeout(resolve, 15_000, "still draining")),
    ]);
    expect(outcome).toBe("closed");
  });

  it("turns health NOT_SERVING, finishes in-flight calls, fails new ones fast with UNAVAILABLE", async () => {
    const record: EchoRecord = { contexts: [], aborted: [] };
    server = createServer({ services: [echoService(record)], logger: false });
    const { url: baseUrl } = await server.listen();
    const transport = createGrpcTransport({ baseUrl });
    const client = echoClient(transport);
    const health = createClient(Health, transport);

    const watched: Status[] = [];
    const watching = (async () => {
      for await (const r of health.watch({ service: "" })) watched.push(r.status);
    })();
    await until(() => watched.length === 1);
    const inFlight = client.say({ value: "sleep:300" });
    await until(() => record.contexts.length === 1);

    const closed = server.close();
    // New calls, on the existing connection (GOAWAY) or a new one (listener closed), fail fast.
    // On the old connection: our draining check answers UNAVAILABLE when the request's headers
    // beat the first GOAWAY out; otherwise HTTP/2 refuses the stream (REFUSED_STREAM, which
    // connect-node's client reports as INTERNAL; the next test makes that case certain).
    const late = await failure(client.say({ value: "late" }));
    expect(
      late.code === Code.Unavailable || /REFUSED_STREAM/.test(String(late.cause)),
      String(late),
    ).toBe(true);
    const fresh = echoClient(createGrpcTransport({ baseUrl }));
    expect((await failure(fresh.say({ value: "late" }))).code).toBe(Code.Unavailable);

    expect((await inFlight).value).toBe("slept");
    await watching;
    expect(watched).toEqual([Status.SERVING, Status.NOT_SERVING]);
    await closed;
    // The in-flight call's signal aborted only once it had completed, not by the shutdown.
    expect(record.aborted.map((r) => ConnectError.from(r).rawMessage)).toEqual([
      "the call has completed",
    ]);
  });

  it("refuses, unrun, a call sent before the client heard the GOAWAY: UNAVAILABLE, no hang", async () => {
    const record: EchoRecord = { contexts: [], aborted: [] };
    server = createServer({
      services: [echoService(record)],
      logger: false,
      drainTimeoutMs: 120_000,
    });
    const { port } = await server.listen();
    // The proxy keeps the server's GOAWAY from the client, so the client still opens a stream
    // on the draining connection: the race a real network makes, made certain.
    const proxy = await startHoldingProxy(port);
    try {
      const client = echoClient(createTransport({ baseUrl: proxy.url }));
      // "sleep:" calls are recorded as they reach the handler.
      expect((await client.say({ value: "sleep:1" })).value).toBe("slept");
      proxy.hold();
      const closed = server.close();
      const late = failure(client.say({ value: "sleep:1" }));
      await until(() => proxy.sentWhileHolding > 0);
      proxy.release();
      // HTTP/2 ignores a stream opened after the server sent GOAWAY; the final GOAWAY, one ping
      // later, tells the client it was never processed (REFUSED_STREAM): UNAVAILABLE to gRPC,
      // and safe to retry, since the handler never ran.
      expect((await late).code).toBe(Code.Unavailable);
      expect(record.contexts.length).toBe(1);
      const outcome = await Promise.race([
        closed.then(() => "closed"),
        new Promise((resolve) => setTimeout(resolve, 15_000, "still draining")),
      ]);
      expect(outcome).toBe("closed");
    } finally {
      await proxy.close();
    }
  });

  it("cancels calls still running at the drain timeout, and close() resolves", async () => {
    const record: EchoRecord = { contexts: [], aborted: [] };
    server = createServer({ services: [echoService(record)], logger: false, drainTimeoutMs: 50 });
    const { url: baseUrl } = await server.listen();
    const client = echoClient(createGrpcTransport({ baseUrl }));
    const stuck = failure(client.say({ value: "sleep:600000" }));
    await until(() => record.contexts.length === 1);
    await server.close();
    expect([Code.Canceled, Code.Unavailable, Code.Internal]).toContain((await stuck).code);
    await until(() => record.aborted.length === 1);
    expect(ConnectError.from(record.aborted[0]).code).toBe(Code.Canceled);
  });

  it("drains on SIGTERM when handleSignals is set, and the process exits", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "support", "signal-server.ts")],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    await until(() => output.includes("\n") || child.exitCode !== null);
    const baseUrl = output.trim();
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const client = echoClient(createGrpcTransport({ baseUrl }));
    await client.say({ value: "warm" });
    const inFlight = client.say({ value: "sleep:300" });
    await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill("SIGTERM");
    expect((await inFlight).value).toBe("slept");
    expect(await exited).toBe(0);
    expect(output).toContain("closed");
  });
});
