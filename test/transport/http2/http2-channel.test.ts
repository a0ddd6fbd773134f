import { readFileSync } from "node:fs";
import { constants } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";
import { Code, createContextValues } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { createServer } from "../../../src/server/index.js";
import {
  createHttp2Transport,
  failedBeforeSending,
  type Http2Transport,
  type Http2TransportOptions,
  waitForReady,
} from "../../../src/transport/index.js";
import { rejection } from "../../support/rejection.js";
import { closedPort } from "../free-port.js";
import {
  decode,
  echoClient,
  encode,
  eventually,
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
async function named(name: string, options?: Parameters<typeof startNamedServer>[1]) {
  const server = await startNamedServer(name, options);
  cleanups.push(server.close);
  return server;
}
async function raw(...args: Parameters<typeof startRawServer>) {
  const server = await startRawServer(...args);
  cleanups.push(server.close);
  return server;
}
const quickBackoff = { initialMs: 50, maxMs: 200, minConnectTimeoutMs: 1_000 };

describe("targets", () => {
  it("dns:/// resolves localhost to every address and calls the one that listens", async () => {
    const server = await named("a");
    const echo = echoClient(transport({ target: `dns:///localhost:${server.port}` }));
    expect(decode((await echo.echo({})).payload)).toBe("a");
  });

  it("unix: reaches a server on a Unix socket", async () => {
    const path = join(tmpdir(), `protomesh-${process.pid}-${Date.now()}.sock`);
    await raw(rawEcho, { path });
    const echo = echoClient(transport({ target: `unix:${path}` }));
    expect(decode((await echo.echo({ payload: encode("over unix") })).payload)).toBe("over unix");
  });

  it("a name that does not resolve fails fast with Unavailable, known never sent", async () => {
    const echo = echoClient(transport({ target: "dns:///no-such-host.invalid:1" }));
    const error = await rejection(echo.echo({}));
    expect(error.code).toBe(Code.Unavailable);
    expect(error.message).toMatch(/name resolution failed/);
    expect(failedBeforeSending(error)).toBe(true);
  });

  it("a bare host:port and ipv4: work like dns:///", async () => {
    const server = await named("b");
    for (const target of [`127.0.0.1:${server.port}`, `ipv4:127.0.0.1:${server.port}`]) {
      expect(decode((await echoClient(transport({ target })).echo({})).payload)).toBe("b");
    }
  });
});

describe("load balancing", () => {
  it("round_robin spreads calls over every ready address", async () => {
    const servers = [await named("a"), await named("b"), await named("c")];
    const target = `ipv4:${servers.map((s) => `127.0.0.1:${s.port}`).join(",")}`;
    const made = transport({ target });
    const echo = echoClient(made);
    await echo.echo({});
    await eventually(() => made.channel.subchannels.every((s) => s.state === "ready"));
    const seen = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const name = decode((await echo.echo({})).payload);
      seen.set(name, (seen.get(name) ?? 0) + 1);
    }
    expect([...seen.entries()].sort()).toEqual([
      ["a", 10],
      ["b", 10],
      ["c", 10],
    ]);
  });

  it("pick_first sends every call to the first address that connects", async () => {
    const dead = await closedPort();
    const servers = [await named("a"), await named("b")];
    const target = `ipv4:127.0.0.1:${dead},127.0.0.1:${servers[0]?.port},127.0.0.1:${servers[1]?.port}`;
    const echo = echoClient(
      transport({ target, loadBalancing: "pick_first", backoff: quickBackoff, waitForReady: true }),
    );
    const names = new Set<string>();
    for (let i = 0; i < 10; i++)
      names.add(decode((await echo.echo({}, { timeoutMs: 5_000 })).payload));
    expect([...names]).toEqual(["a"]);
    expect(servers[1]?.calls()).toBe(0);
  });
});

describe("no ready connection", () => {
  it("fails fast with Unavailable, known never sent", async () => {
    const echo = echoClient(transport({ target: `http://127.0.0.1:${await closedPort()}` }));
    const error = await rejection(echo.echo({}));
    expect(error.code).toBe(Code.Unavailable);
    expect(failedBeforeSending(error)).toBe(true);
    // Still in backoff: the next call fails at once too, without a new connection attempt.
    const again = await rejection(echo.echo({}));
    expect(failedBeforeSending(again)).toBe(true);
  });

  it("waits for a connection with wait-for-ready, within the deadline", async () => {
    const port = await closedPort();
    const made = transport({ target: `http://127.0.0.1:${port}`, backoff: quickBackoff });
    const echo = echoClient(made);
    const contextValues = createContextValues().set(waitForReady, true);
    const timedOut = await rejection(echo.echo({}, { contextValues, timeoutMs: 300 }));
    expect(timedOut.code).toBe(Code.DeadlineExceeded);
    const call = echo.echo({}, { contextValues, timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await named("late", { port });
    expect(decode((await call).payload)).toBe("late");
  });
});

describe("connections", () => {
  it("opens another session when the server's MAX_CONCURRENT_STREAMS is reached", async () => {
    const server = await named("a", { maxConcurrentStreams: 2 });
    const made = transport({ target: server.url });
    const echo = echoClient(made);
    await echo.echo({});
    const calls = Array.from({ length: 6 }, () => echo.echo({ payload: encode("200") }));
    await eventually(() => made.channel.sessionCount >= 3);
    const names = await Promise.all(calls);
    expect(names.map((r) => decode(r.payload))).toEqual(Array(6).fill("a"));
  });

  it("GOAWAY: the call in flight finishes, the next goes on a new session", async () => {
    let goaway = true;
    const server = await raw((stream, body) => {
      if (goaway) {
        goaway = false;
        stream.session?.goaway(constants.NGHTTP2_NO_ERROR, stream.id ?? 0);
        setTimeout(() => rawEcho(stream, body), 100);
        return;
      }
      rawEcho(stream, body);
    });
    const echo = echoClient(transport({ target: server.url }));
    const first = echo.echo({ payload: encode("first") });
    await eventually(() => server.streams() === 1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const second = await echo.echo({ payload: encode("second") });
    expect(decode(second.payload)).toBe("second");
    expect(decode((await first).payload)).toBe("first");
    expect(server.connections()).toBe(2);
  });

  it("a call above GOAWAY's last stream id is Unavailable and known never sent", async () => {
    let first: { id: number; answer: () => void } | undefined;
    const server = await raw((stream, body) => {
      if (first === undefined) {
        first = { id: stream.id ?? 0, answer: () => rawEcho(stream, body) };
        return;
      }
      // The second call: GOAWAY naming the first as the last processed, then answer the first.
      stream.session?.goaway(constants.NGHTTP2_NO_ERROR, first.id);
      setTimeout(() => first?.answer(), 50);
    });
    const echo = echoClient(transport({ target: server.url }));
    const one = echo.echo({ payload: encode("one") });
    await eventually(() => first !== undefined);
    const two = await rejection(echo.echo({ payload: encode("two") }));
    expect(two.code).toBe(Code.Unavailable);
    expect(failedBeforeSending(two)).toBe(true);
    expect(decode((await one).payload)).toBe("one");
  });

  it("does not ping without calls unless permitted", async () => {
    let pings = 0;
    const server = await raw();
    const made = transport({ target: server.url, keepaliveTimeMs: 30 });
    await echoClient(made).echo({});
    for (const session of server.sessions) session.on("ping", () => pings++);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pings).toBe(0);
    expect(made.channel.sessionCount).toBe(1);
  });

  it("a stream the server refused (REFUSED_STREAM) is Unavailable and known never sent", async () => {
    const server = await raw((stream) => stream.close(constants.NGHTTP2_REFUSED_STREAM));
    const error = await rejection(echoClient(transport({ target: server.url })).echo({}));
    expect(error.code).toBe(Code.Unavailable);
    expect(failedBeforeSending(error)).toBe(true);
  });

  it("close() drains: the call in flight finishes, later calls fail Unavailable", async () => {
    const server = await named("a");
    const made = createHttp2Transport({ target: server.url });
    const echo = echoClient(made);
    const inFlight = echo.echo({ payload: encode("200") });
    await eventually(() => server.calls() === 1);
    const closed = made.close();
    const late = await rejection(echo.echo({}));
    expect(late.code).toBe(Code.Unavailable);
    expect(failedBeforeSending(late)).toBe(true);
    expect(decode((await inFlight).payload)).toBe("a");
    await closed;
    expect(made.channel.sessionCount).toBe(0);
  });

  it("closes a session idle for idleTimeoutMs, and reconnects for the next call", async () => {
    const server = await named("a");
    const made = transport({ target: server.url, idleTimeoutMs: 150 });
    const echo = echoClient(made);
    await echo.echo({});
    expect(made.channel.sessionCount).toBe(1);
    await eventually(() => made.channel.sessionCount === 0);
    expect(decode((await echo.echo({})).payload)).toBe("a");
  });
});

describe("keepalive", () => {
  it("pings every keepaliveTimeMs, even with no call when permitted", async () => {
    let pings = 0;
    const server = await raw();
    const made = transport({
      target: server.url,
      keepaliveTimeMs: 50,
      keepalivePermitWithoutCalls: true,
    });
    await echoClient(made).echo({});
    for (const session of server.sessions) session.on("ping", () => pings++);
    await eventually(() => pings >= 3);
  });

  it("doubles the interval on GOAWAY ENHANCE_YOUR_CALM too_many_pings", async () => {
    const server = await raw();
    const made = transport({
      target: server.url,
      keepaliveTimeMs: 50,
      keepalivePermitWithoutCalls: true,
    });
    await echoClient(made).echo({});
    for (const session of server.sessions) {
      session.once("ping", () =>
        session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from("too_many_pings")),
      );
    }
    await eventually(() => made.channel.keepaliveTimeMs === 100);
    // The channel stays usable on a new connection.
    expect((await echoClient(made).echo({ payload: encode("x") })).payload).toEqual(encode("x"));
  });
});

describe("TLS", () => {
  const fixture = (name: string) => readFileSync(`test/fixtures/tls/${name}`);

  it("checks the certificate against a server-name override, with the given CA roots", async () => {
    const server = createServer({
      logger: false,
      services: [],
      tls: { cert: fixture("server.pem"), key: fixture("server.key") },
    });
    const { port } = await server.listen();
    cleanups.push(() => server.close());
    const ok = transport({
      target: `https://127.0.0.1:${port}`,
      tls: { rootCerts: fixture("ca.pem"), serverName: "foo.test.google.fr" },
    });
    // No service is registered: the server answers Unimplemented, so the handshake passed.
    expect((await rejection(echoClient(ok).echo({}))).code).toBe(Code.Unimplemented);
    const wrong = transport({
      target: `https://127.0.0.1:${port}`,
      tls: { rootCerts: fixture("ca.pem"), serverName: "wrong.example.com" },
    });
    expect((await rejection(echoClient(wrong).echo({}))).code).toBe(Code.Unavailable);
  });

  it("refuses a server that does not agree to h2 over ALPN", async () => {
    const server = createTlsServer(
      { cert: fixture("server.pem"), key: fixture("server.key"), ALPNProtocols: ["http/1.1"] },
      (socket) => socket.end(),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const { port } = server.address() as { port: number };
    const made = transport({
      target: `https://127.0.0.1:${port}`,
      tls: { rootCerts: fixture("ca.pem") },
    });
    const error = await rejection(echoClient(made).echo({}));
    expect(error.code).toBe(Code.Unavailable);
    expect(failedBeforeSending(error)).toBe(true);
  });
});
