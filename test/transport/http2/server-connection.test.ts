/**
 * The hand-framed HTTP/2 server connection (src/transport/http2/wire/server-connection.ts), on
 * its own: against node:http2's client (nghttp2) for what a well-behaved client does, and
 * against a raw socket for what an attacker or a broken client sends.
 */
import { connect as connectHttp2, constants } from "node:http2";
import {
  type AddressInfo,
  connect,
  createServer as createNetServer,
  type Server,
  type Socket,
} from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { h2Error } from "../../../src/transport/http2/wire/frames.js";
import {
  encodeHeaderBlock,
  frameHeaderRoom,
} from "../../../src/transport/http2/wire/hpack-encoder.js";
import {
  defaultServerSettings,
  ServerConnection,
  type ServerConnectionSettings,
} from "../../../src/transport/http2/wire/server-connection.js";
import type { ServerStream } from "../../../src/transport/http2/wire/server-stream.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** What the test server saw. */
interface Seen {
  readonly streams: ServerStream[];
  closedConnections: number;
  readonly connections: ServerConnection[];
}

/**
 * A server whose streams answer by path: `/echo` sends the body back, `/big?n=N` sends N bytes,
 * `/hold` is never answered, anything else gets "ok".
 */
async function serve(
  settings: Partial<ServerConnectionSettings> = {},
): Promise<{ port: number; seen: Seen }> {
  const seen: Seen = { streams: [], closedConnections: 0, connections: [] };
  const server: Server = createNetServer((socket) => {
    const connection = new ServerConnection(
      socket,
      { ...defaultServerSettings, ...settings },
      {
        stream(stream) {
          seen.streams.push(stream);
          answer(stream);
        },
        closed() {
          seen.closedConnections++;
        },
      },
    );
    seen.connections.push(connection);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  cleanups.push(() => {
    for (const c of seen.connections) c.destroy();
  });
  return { port: (server.address() as AddressInfo).port, seen };
}

function answer(stream: ServerStream): void {
  const path = stream.headers[":path"] as string;
  if (path === "/echo") {
    const chunks: Buffer[] = [];
    stream.read({
      data: (chunk) => chunks.push(Buffer.from(chunk)),
      end: () => {
        stream.respond(200, ["content-type", "application/octet-stream"]);
        stream.end(Buffer.concat(chunks));
      },
    });
    return;
  }
  if (path.startsWith("/big?n=")) {
    stream.discard();
    const n = Number(path.slice(7));
    stream.respond(200, []);
    stream.end(Buffer.alloc(n, 7));
    return;
  }
  if (path === "/hold") return;
  stream.discard();
  stream.respond(200, [
    "content-type",
    "text/plain",
    "x-seen-method",
    stream.headers[":method"] as string,
  ]);
  stream.end("ok");
}

function h2Client(port: number) {
  const session = connectHttp2(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  cleanups.push(() => session.destroy());
  return session;
}

function request(
  session: ReturnType<typeof h2Client>,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer; rst: number }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let head: Record<string, unknown> = {};
    stream.on("response", (h) => {
      head = h;
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", () => {});
    stream.on("close", () =>
      resolve({
        status: Number(head[":status"] ?? 0),
        headers: head,
        body: Buffer.concat(chunks),
        rst: stream.rstCode,
      }),
    );
    stream.on("aborted", () => {});
    if (body !== undefined) stream.end(body);
    stream.once("error", reject);
  });
}

/** A client that writes frames by hand and reads what the server sends back. */
class RawClient {
  readonly socket: Socket;
  readonly frames: { type: number; flags: number; id: number; payload: Buffer }[] = [];
  closed = false;
  #inbox = Buffer.alloc(0);

  constructor(port: number, { preface = true } = {}) {
    this.socket = connect(port, "127.0.0.1");
    this.socket.on("error", () => {});
    this.socket.on("close", () => {
      this.closed = true;
    });
    this.socket.on("data", (chunk: Buffer) => this.#read(chunk));
    cleanups.push(() => this.socket.destroy());
    if (preface) {
      this.socket.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
      this.frame(4, 0, 0, Buffer.alloc(0));
    }
  }

  frame(type: number, flags: number, id: number, payload: Buffer): void {
    this.socket.write(rawFrame(type, flags, id, payload));
  }

  headers(id: number, fields: string[], flags = 0x5): void {
    const block = encodeHeaderBlock(fields, new Uint8Array()).subarray(frameHeaderRoom);
    this.frame(1, flags, id, Buffer.from(block));
  }

  #read(chunk: Buffer): void {
    let buffer = Buffer.concat([this.#inbox, chunk]);
    while (buffer.length >= 9) {
      const length = buffer.readUIntBE(0, 3);
      if (buffer.length < 9 + length) break;
      this.frames.push({
        type: buffer[3] as number,
        flags: buffer[4] as number,
        id: buffer.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(buffer.subarray(9, 9 + length)),
      });
      buffer = buffer.subarray(9 + length);
    }
    this.#inbox = buffer;
  }

  goaway(): { code: number; debug: string } | undefined {
    const f = this.frames.find((x) => x.type === 7);
    return f && { code: f.payload.readUInt32BE(4), debug: f.payload.subarray(8).toString() };
  }

  resets(id: number): number[] {
    return this.frames
      .filter((x) => x.type === 3 && x.id === id)
      .map((x) => x.payload.readUInt32BE(0));
  }
}

function rawFrame(type: number, flags: number, id: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(id, 5);
  payload.copy(out, 9);
  return out;
}

const get = (path: string) => [
  ":method",
  "GET",
  ":scheme",
  "http",
  ":path",
  path,
  ":authority",
  "x",
];

describe("the server connection serves a well-behaved client (node:http2)", () => {
  it("answers requests, with their headers and bodies", async () => {
    const { port } = await serve();
    const session = h2Client(port);
    const res = await request(session, { ":method": "PUT", ":path": "/" });
    expect(res.status).toBe(200);
    expect(res.headers["x-seen-method"]).toBe("PUT");
    expect(res.body.toString()).toBe("ok");
  });

  it("takes a body larger than its windows (credit goes back as it is read) and sends one larger than the client's", async () => {
    const { port } = await serve();
    const session = h2Client(port);
    const body = Buffer.alloc(3 * 1024 * 1024, 1);
    body.write("first", 0);
    body.write("last", body.length - 4);
    const echo = await request(session, { ":method": "POST", ":path": "/echo" }, body);
    expect(echo.status).toBe(200);
    expect(echo.body.equals(body)).toBe(true);
    const big = await request(session, { ":path": "/big?n=5000000" });
    expect(big.body.length).toBe(5_000_000);
  });

  it("serves many streams at once on one connection", async () => {
    const { port } = await serve();
    const session = h2Client(port);
    const all = await Promise.all(
      Array.from({ length: 300 }, () => request(session, { ":path": "/" })),
    );
    expect(all.every((r) => r.status === 200 && r.body.toString() === "ok")).toBe(true);
  });

  it("a client's reset aborts the stream, and the connection goes on", async () => {
    const { port, seen } = await serve();
    const session = h2Client(port);
    const held = session.request({ ":path": "/hold" });
    held.on("error", () => {});
    await expect.poll(() => seen.streams.length).toBe(1);
    const stream = seen.streams[0] as ServerStream;
    let closedAborted: boolean | undefined;
    stream.onClose = (s) => {
      closedAborted = s.aborted;
    };
    held.close(constants.NGHTTP2_CANCEL);
    await expect.poll(() => closedAborted).toBe(true);
    expect((await request(session, { ":path": "/" })).status).toBe(200);
  });

  it("close() sends GOAWAY: the open stream still gets its answer, then the connection ends", async () => {
    const { port, seen } = await serve();
    const session = h2Client(port);
    let goaway = -1;
    session.on("goaway", (code) => {
      goaway = code;
    });
    const held = request(session, { ":path": "/hold" });
    await expect.poll(() => seen.streams.length).toBe(1);
    seen.connections[0]?.close();
    await expect.poll(() => goaway).toBe(0);
    const stream = seen.streams[0] as ServerStream;
    stream.respond(200, []);
    stream.end("late");
    expect((await held).body.toString()).toBe("late");
    await expect.poll(() => seen.closedConnections).toBe(1);
  });

  it("answers 431 to a header list over its limit, and serves the next request", async () => {
    const { port } = await serve({ maxHeaderListBytes: 1024 });
    const session = h2Client(port);
    const res = await request(session, { ":path": "/", "x-big": "v".repeat(2000) });
    expect(res.status).toBe(431);
    expect((await request(session, { ":path": "/" })).status).toBe(200);
  });
});

describe("the server connection against a broken or hostile client (raw frames)", () => {
  it("resets a malformed request (upper-case or non-token name, CR/LF in a value, no :path, content-length disagreeing) and goes on", async () => {
    const { port, seen } = await serve();
    const raw = new RawClient(port);
    raw.headers(1, [...get("/"), "X-Upper", "1"]);
    raw.headers(3, [":method", "GET", ":scheme", "http", ":authority", "x"]);
    raw.headers(
      5,
      [":method", "POST", ":scheme", "http", ":path", "/echo", "content-length", "10"],
      0x4,
    );
    raw.frame(0, 0x1, 5, Buffer.from("short"));
    raw.headers(7, [...get("/"), "x-injected", "a\r\nx-evil: 1"]);
    raw.headers(9, [...get("/"), "x sp", "1"]);
    raw.headers(11, get("/"));
    await expect.poll(() => raw.frames.some((f) => f.type === 1 && f.id === 11)).toBe(true);
    expect(raw.resets(7)).toEqual([h2Error.protocol]);
    expect(raw.resets(9)).toEqual([h2Error.protocol]);
    expect(raw.resets(1)).toEqual([h2Error.protocol]);
    expect(raw.resets(3)).toEqual([h2Error.protocol]);
    expect(raw.resets(5)).toEqual([h2Error.protocol]);
    // Streams 1 and 3 never reached the owner; 5 did (its headers were well formed).
    expect(seen.streams.map((s) => s.id)).toEqual([5, 11]);
    expect(raw.goaway()).toBeUndefined();
  });

  it("ends the connection when the first frame is not SETTINGS, and when the preface is wrong", async () => {
    const { port, seen } = await serve();
    const raw = new RawClient(port, { preface: false });
    raw.socket.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    raw.frame(6, 0, 0, Buffer.alloc(8));
    await expect.poll(() => raw.closed).toBe(true);
    expect(raw.goaway()?.code).toBe(h2Error.protocol);
    const http1 = new RawClient(port, { preface: false });
    http1.socket.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
    await expect.poll(() => http1.closed).toBe(true);
    expect(seen.streams).toHaveLength(0);
  });

  it("refuses streams over MAX_CONCURRENT_STREAMS", async () => {
    const { port, seen } = await serve({ maxConcurrentStreams: 3 });
    const raw = new RawClient(port);
    for (let id = 1; id <= 9; id += 2) raw.headers(id, get("/hold"));
    await expect.poll(() => raw.resets(9)).toEqual([h2Error.refusedStream]);
    expect(raw.resets(7)).toEqual([h2Error.refusedStream]);
    expect(seen.streams.map((s) => s.id)).toEqual([1, 3, 5]);
  });

  it("ends a rapid-reset flood (HEADERS then RST_STREAM, over and over) with ENHANCE_YOUR_CALM", async () => {
    const { port, seen } = await serve({ abuseBudget: 50 });
    const raw = new RawClient(port);
    for (let i = 0; i < 200; i++) {
      const id = 2 * i + 1;
      raw.headers(id, get("/hold"), 0x4);
      raw.frame(3, 0, id, Buffer.from([0, 0, 0, 8]));
    }
    await expect.poll(() => raw.closed).toBe(true);
    expect(raw.goaway()).toEqual({
      code: h2Error.enhanceYourCalm,
      debug: "too many stream resets",
    });
    expect(seen.streams.length).toBeLessThanOrEqual(51);
    expect(seen.streams.every((s) => s.closed)).toBe(true);
  });

  it("ends an empty-frame flood with ENHANCE_YOUR_CALM", async () => {
    const { port } = await serve({ abuseBudget: 50 });
    const raw = new RawClient(port);
    raw.headers(1, [...get("/hold"), "content-type", "x"], 0x4);
    for (let i = 0; i < 100; i++) raw.frame(0, 0, 1, Buffer.alloc(0));
    await expect.poll(() => raw.closed).toBe(true);
    expect(raw.goaway()).toEqual({ code: h2Error.enhanceYourCalm, debug: "too many empty frames" });
  });

  it("ends a CONTINUATION flood before the block grows past twice the list limit", async () => {
    const { port, seen } = await serve({ maxHeaderListBytes: 1024 });
    const raw = new RawClient(port);
    const block = Buffer.from(
      encodeHeaderBlock(get("/"), new Uint8Array()).subarray(frameHeaderRoom),
    );
    raw.frame(1, 0, 1, block);
    for (let i = 0; i < 100; i++) raw.frame(9, 0, 1, Buffer.alloc(100, 0x40));
    await expect.poll(() => raw.closed).toBe(true);
    expect(raw.goaway()?.code).toBe(h2Error.enhanceYourCalm);
    expect(seen.streams).toHaveLength(0);
  });

  it("drops a client that floods PINGs and reads none of the answers", async () => {
    const { port, seen } = await serve({ controlBacklogBytes: 64 * 1024 });
    const raw = new RawClient(port);
    await expect.poll(() => raw.frames.some((f) => f.type === 4)).toBe(true);
    raw.socket.pause();
    const ping = rawFrame(6, 0, 0, Buffer.alloc(8));
    const burst = Buffer.concat(Array.from({ length: 4096 }, () => ping));
    // Up to 64 MiB of PINGs (bounded): the kernel's buffers fill, then the backlog passes 64 KiB.
    for (let i = 0; i < 1000 && seen.closedConnections === 0; i++) {
      if (!raw.socket.write(burst)) await new Promise((r) => setTimeout(r, 5));
      if (raw.socket.destroyed) break;
    }
    await expect.poll(() => seen.closedConnections, { timeout: 10_000 }).toBe(1);
  });

  it("ignores frames on a stream it already reset, and a PRIORITY or an unknown frame type", async () => {
    const { port, seen } = await serve();
    const raw = new RawClient(port);
    raw.headers(1, [...get("/"), "X-Bad", "1"], 0x4);
    raw.frame(0, 0, 1, Buffer.from("late"));
    raw.headers(1, ["x-trailer", "1"]);
    raw.frame(2, 0, 3, Buffer.alloc(5));
    raw.frame(0xfa, 0, 0, Buffer.from("unknown"));
    raw.headers(3, get("/"));
    await expect.poll(() => raw.frames.some((f) => f.type === 1 && f.id === 3)).toBe(true);
    expect(raw.goaway()).toBeUndefined();
    expect(raw.resets(1)).toEqual([h2Error.protocol]);
    expect(seen.streams.map((s) => s.id)).toEqual([3]);
  });
});
