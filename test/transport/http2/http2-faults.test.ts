// Faults on 127.0.0.1, each bounded in time: killed and restarted servers, a drain under load,
// an address change, leaks over 10,000 calls, and hostile servers.
import { createServer as createNetServer } from "node:net";
import { Code, createContextValues } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { OrderService } from "../../../gen/acme/order/v1/order_service_pb.js";
import { createClient } from "../../../src/client/index.js";
import type { CallPolicyOverride } from "../../../src/resilience/index.js";
import {
  type Address,
  createHttp2Transport,
  failedBeforeSending,
  type Http2Transport,
  type Http2TransportOptions,
  waitForReady,
} from "../../../src/transport/index.js";
import { startFaultServer } from "../../resilience/fault-server.js";
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
const quickBackoff = { initialMs: 20, maxMs: 100, minConnectTimeoutMs: 1_000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Accepts TCP connections and drops them at once, counting them: a dead gRPC server. */
async function startDropper(port: number) {
  let accepted = 0;
  const server = createNetServer((socket) => {
    accepted++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    accepted: () => accepted,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("server killed", () => {
  it("fails the call in flight with Unavailable; reconnects stay within the backoff schedule", async () => {
    const hang: RawHandler = () => {};
    const server = await startRawServer(hang);
    const made = transport({ target: server.url });
    const echo = echoClient(made);
    const call = rejection(echo.echo({}));
    await eventually(() => server.streams() === 1);
    await server.close();
    const error = await call;
    expect(error.code).toBe(Code.Unavailable);
    expect(failedBeforeSending(error)).toBe(false);
    // The port now accepts and drops: every reconnect is counted. Calls keep coming every
    // 20 ms for 5 s; gRPC's schedule (1 s, ×1.6, ±20 %) allows attempts at 0, 1, 2.3–2.9
    // and 4.3–6.0 s: 3 or 4, never a busy loop.
    const dropper = await startDropper(server.port);
    cleanups.push(dropper.close);
    const start = performance.now();
    while (performance.now() - start < 5_000) {
      const failed = await rejection(echo.echo({}));
      expect(failed.code).toBe(Code.Unavailable);
      await sleep(20);
    }
    expect(dropper.accepted()).toBeGreaterThanOrEqual(3);
    expect(dropper.accepted()).toBeLessThanOrEqual(4);
  }, 15_000);

  it("resumes traffic once the server is back, with no code change", async () => {
    const first = await startNamedServer("first");
    const made = transport({ target: first.url, backoff: quickBackoff });
    const echo = echoClient(made);
    expect(decode((await echo.echo({})).payload)).toBe("first");
    await first.close();
    expect((await rejection(echo.echo({}))).code).toBe(Code.Unavailable);
    const second = await startNamedServer("second", { port: first.port });
    cleanups.push(second.close);
    const start = performance.now();
    let answer = "";
    while (answer === "" && performance.now() - start < 5_000) {
      answer = await echo.echo({}).then(
        (r) => decode(r.payload),
        () => "",
      );
      if (answer === "") await sleep(20);
    }
    expect(answer).toBe("second");
  });
});

describe("GOAWAY under load", () => {
  it("loses no idempotent call while one of two backends drains", async () => {
    const a = await startFaultServer(() => ({ kind: "delay", ms: 5 }));
    const b = await startFaultServer(() => ({ kind: "delay", ms: 5 }));
    cleanups.push(b.close);
    const port = (url: string) => new URL(url).port;
    const made = transport({
      target: `ipv4:127.0.0.1:${port(a.url)},127.0.0.1:${port(b.url)}`,
      backoff: quickBackoff,
    });
    const policy: CallPolicyOverride = {
      retry: { maxAttempts: 5, backoff: { initialMs: 5, maxMs: 20, jitter: "none" }, budget: null },
      breaker: null,
    };
    const orders = createClient(OrderService, { transport: made, target: "orders", policy });
    let failures = 0;
    let done = 0;
    const worker = async () => {
      for (let i = 0; i < 60; i++) {
        await orders.getOrder({ orderId: "o" }).then(
          () => done++,
          () => failures++,
        );
      }
    };
    const load = Promise.all(Array.from({ length: 10 }, worker));
    await eventually(() => done >= 100);
    await a.close();
    await load;
    expect(failures).toBe(0);
    expect(done).toBe(600);
    expect(a.count("getOrder")).toBeGreaterThan(0);
    expect(b.count("getOrder")).toBeGreaterThan(0);
  });
});

describe("address change", () => {
  it("moves traffic to the addresses a resolver answers now", async () => {
    const a = await startNamedServer("a");
    const b = await startNamedServer("b");
    cleanups.push(a.close, b.close);
    let answer: Address[] = [{ host: "127.0.0.1", port: a.port }];
    const made = transport({
      target: "dns:///orders.internal:1",
      resolver: { resolve: async () => answer },
      resolveIntervalMs: 50,
      minResolveIntervalMs: 10,
    });
    const echo = echoClient(made);
    expect(decode((await echo.echo({})).payload)).toBe("a");
    answer = [{ host: "127.0.0.1", port: b.port }];
    const start = performance.now();
    let name = "a";
    while (name === "a" && performance.now() - start < 5_000) {
      name = decode((await echo.echo({})).payload);
      await sleep(10);
    }
    expect(name).toBe("b");
    expect(made.channel.subchannels.map((s) => s.key)).toEqual([`127.0.0.1:${b.port}`]);
    await eventually(() => made.channel.sessionCount === 1);
  });
});

describe("leaks", () => {
  it("10,000 calls with two server restarts return sessions, sockets and listeners to baseline", async () => {
    let server = await startNamedServer("a");
    const port = server.port;
    const made = createHttp2Transport({ target: server.url, backoff: quickBackoff });
    const echo = echoClient(made);
    await echo.echo({});
    const sockets = () =>
      process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;
    const baseline = {
      sessions: made.channel.sessionCount,
      sockets: sockets(),
      listeners: process.listenerCount("warning") + process.listenerCount("exit"),
    };
    const contextValues = createContextValues().set(waitForReady, true);
    let settled = 0;
    let ok = 0;
    const worker = async () => {
      while (settled < 10_000) {
        settled++;
        await echo.echo({}, { contextValues, timeoutMs: 5_000 }).then(
          () => ok++,
          () => {},
        );
      }
    };
    const load = Promise.all(Array.from({ length: 50 }, worker));
    for (const at of [3_000, 6_000]) {
      await eventually(() => settled >= at, 20_000);
      await server.close();
      server = await startNamedServer("a", { port });
    }
    await load;
    expect(settled).toBeGreaterThanOrEqual(10_000);
    expect(ok).toBeGreaterThan(9_000);
    await eventually(() => made.channel.sessionCount === baseline.sessions, 5_000);
    await eventually(() => sockets() === baseline.sockets, 5_000);
    expect(process.listenerCount("warning") + process.listenerCount("exit")).toBe(
      baseline.listeners,
    );
    await made.close();
    expect(made.channel.sessionCount).toBe(0);
    await server.close();
  }, 60_000);
});

describe("hostile servers", () => {
  /** A server whose first call gets `hostile`, later ones a plain echo. */
  async function hostileThenEcho(hostile: RawHandler) {
    let first = true;
    const server = await startRawServer((stream, body) => {
      if (!first) return rawEcho(stream, body);
      first = false;
      hostile(stream, body);
    });
    cleanups.push(server.close);
    return echoClient(transport({ target: server.url, backoff: quickBackoff }));
  }
  const grpcHeaders = { ":status": 200, "content-type": "application/grpc" };

  it.each<[string, RawHandler, Code]>([
    [
      "a frame with bad flags",
      (stream) => {
        stream.respond(grpcHeaders, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(Buffer.from([7, 0, 0, 0, 1, 0]));
      },
      Code.Internal,
    ],
    [
      "a status without trailers",
      (stream, body) => {
        stream.respond(grpcHeaders);
        stream.end(body);
      },
      Code.Internal,
    ],
    [
      "a message cut short",
      (stream) => {
        stream.respond(grpcHeaders, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(Buffer.from([0, 0, 0, 0, 9, 1]));
      },
      Code.Internal,
    ],
    [
      "a huge header",
      (stream, body) => {
        stream.respond(
          { ...grpcHeaders, "x-huge": "h".repeat(200_000) },
          { waitForTrailers: true },
        );
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(body);
      },
      Code.Internal,
    ],
    [
      "an oversized message",
      (stream) => {
        const size = 5 * 1024 * 1024;
        const frame = Buffer.alloc(5 + size);
        frame.writeUInt32BE(size, 1);
        stream.respond(grpcHeaders, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(frame);
      },
      Code.ResourceExhausted,
    ],
    [
      "an HTTP error status",
      (stream) => {
        stream.respond({ ":status": 503 });
        stream.end();
      },
      Code.Unavailable,
    ],
  ])(
    "%s: a clear ConnectError on that call, and the channel stays usable",
    async (_, hostile, code) => {
      const echo = await hostileThenEcho(hostile);
      const error = await rejection(echo.echo({ payload: encode("x") }));
      expect([code, Code.Unavailable]).toContain(error.code);
      if (code !== Code.Unavailable) expect(error.code).toBe(code);
      expect(error.message.length).toBeGreaterThan(0);
      const start = performance.now();
      let answer = "";
      while (answer === "" && performance.now() - start < 5_000) {
        answer = await echo.echo({ payload: encode("fine") }).then(
          (r) => decode(r.payload),
          () => "",
        );
        if (answer === "") await sleep(20);
      }
      expect(answer).toBe("fine");
    },
  );

  it("a peer that speaks garbage instead of HTTP/2: Unavailable, never sent", async () => {
    const server = createNetServer((socket) => {
      socket.on("error", () => {});
      socket.resume();
      socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const { port } = server.address() as { port: number };
    const error = await rejection(echoClient(transport({ target: `127.0.0.1:${port}` })).echo({}));
    expect(error.code).toBe(Code.Unavailable);
    expect(failedBeforeSending(error)).toBe(true);
  });
});
