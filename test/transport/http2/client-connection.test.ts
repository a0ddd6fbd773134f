/**
 * The hand-framed HTTP/2 client connection (src/transport/http2/wire/client-connection.ts), on
 * its own, against node:http2's server (nghttp2) and against a raw socket that sends frames a
 * well-behaved server would not.
 */
import { createServer, type Http2Server, type ServerHttp2Stream } from "node:http2";
import {
  type AddressInfo,
  connect,
  createServer as createNetServer,
  type Server,
  type Socket,
} from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  ClientConnection,
  type ConnectionListener,
  defaultConnectionSettings,
} from "../../../src/transport/http2/wire/client-connection.js";
import type { ClientStream, StreamSink } from "../../../src/transport/http2/wire/client-stream.js";
import {
  encodeHeaderBlock,
  frameHeaderRoom,
} from "../../../src/transport/http2/wire/hpack-encoder.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** What a stream saw. */
class Recorder implements StreamSink {
  headers: Record<string, unknown> | undefined;
  trailers: Record<string, unknown> | undefined;
  received = 0;
  chunks: Buffer[] = [];
  drains = 0;
  readonly done: Promise<void>;
  #resolve!: () => void;
  constructor() {
    this.done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }
  responseArrived(headers: Record<string, unknown>) {
    this.headers = { ...headers };
  }
  dataArrived(chunk: Buffer) {
    this.received += chunk.length;
    this.chunks.push(Buffer.from(chunk));
  }
  trailersArrived(headers: Record<string, unknown>) {
    this.trailers = { ...headers };
  }
  drained() {
    this.drains++;
  }
  closed() {
    this.#resolve();
  }
  get body() {
    return Buffer.concat(this.chunks);
  }
}

/** A connection's listener that remembers what it was told. */
function listener() {
  let ready!: () => void;
  let closed!: () => void;
  const seen = {
    ready: new Promise<void>((resolve) => {
      ready = resolve;
    }),
    closed: new Promise<void>((resolve) => {
      closed = resolve;
    }),
    errors: [] as Error[],
    goaways: [] as number[],
  };
  const events: ConnectionListener = {
    settingsArrived: () => ready(),
    goawayArrived: (code) => seen.goaways.push(code),
    failed: (error) => seen.errors.push(error),
    closed: () => closed(),
  };
  return { seen, events };
}

async function connectTo(port: number) {
  const { seen, events } = listener();
  const socket = connect(port, "127.0.0.1");
  const connection = new ClientConnection(
    socket,
    "http",
    `127.0.0.1:${port}`,
    defaultConnectionSettings,
    events,
  );
  cleanups.push(() => connection.destroy());
  await seen.ready;
  return { connection, seen, socket };
}

async function nodeServer(
  handler: (stream: ServerHttp2Stream, headers: Record<string, unknown>) => void,
  settings: Record<string, number> = {},
) {
  const server: Http2Server = createServer({ settings });
  server.on("stream", (stream, headers) => handler(stream, headers));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as AddressInfo).port;
}

const post = (path: string, extra: string[] = []) => [":method", "POST", ":path", path, ...extra];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("flow control against node:http2", () => {
  it("sends a body far larger than the server's windows and frame size, intact and in order", async () => {
    let received: Buffer | undefined;
    const port = await nodeServer(
      (stream) => {
        const parts: Buffer[] = [];
        stream.on("data", (chunk: Buffer) => parts.push(chunk));
        stream.on("end", () => {
          received = Buffer.concat(parts);
          stream.respond({ ":status": 200 });
          stream.end();
        });
      },
      // A 16 KiB stream window: the client must wait for WINDOW_UPDATE 64 times.
      { initialWindowSize: 16_384 },
    );
    const { connection } = await connectTo(port);
    const body = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) % 251;
    const sink = new Recorder();
    const stream = connection.request(post("/upload"), sink);
    let writes = 0;
    for (let at = 0; at < body.length; at += 100_000) {
      if (!stream.write(body.subarray(at, at + 100_000))) writes++;
    }
    stream.end();
    await sink.done;
    expect(writes).toBeGreaterThan(0); // the 64 KiB high-water mark said wait
    expect(sink.drains).toBeGreaterThan(0);
    expect(sink.headers?.[":status"]).toBe("200");
    expect(received?.equals(body)).toBe(true);
  });

  it("a paused stream gets no credit: the server stops at the window, and resumes", async () => {
    const size = 4 * 1024 * 1024;
    const port = await nodeServer((stream) => {
      stream.respond({ ":status": 200 });
      stream.end(Buffer.alloc(size, 1));
    });
    const { connection } = await connectTo(port);
    const sink = new Recorder();
    const stream: ClientStream = connection.request(post("/download"), sink);
    stream.end();
    stream.pause();
    await sleep(300);
    // At most the 1 MiB stream window arrived while paused.
    expect(sink.received).toBeGreaterThan(0);
    expect(sink.received).toBeLessThanOrEqual(defaultConnectionSettings.streamWindow);
    stream.resume();
    await sink.done;
    expect(sink.received).toBe(size);
  });

  it("sends a header block over the frame size as HEADERS + CONTINUATION, and reads one back", async () => {
    const big = "v".repeat(40_000);
    let seen: unknown;
    const port = await nodeServer((stream, headers) => {
      seen = headers["x-big"];
      stream.respond({ ":status": 200, "x-back": big });
      stream.end();
    });
    const { connection } = await connectTo(port);
    const sink = new Recorder();
    connection.request(post("/big", ["x-big", big]), sink).end();
    await sink.done;
    expect(seen).toBe(big);
    expect(sink.headers?.["x-back"]).toBe(big);
  });

  it("starts writing a busy turn's requests before the turn ends, in writes of 4 KiB or more", async () => {
    const port = await nodeServer((stream) => {
      stream.respond({ ":status": 200 });
      stream.end("ok");
    });
    const { connection, socket } = await connectTo(port);
    const writes: number[] = [];
    const write = socket.write.bind(socket) as (chunk: Buffer) => boolean;
    socket.write = ((chunk: Buffer) => {
      writes.push(chunk.length);
      return write(chunk);
    }) as typeof socket.write;
    // 200 calls made in one turn, as a gateway does with a burst of requests.
    const sinks = Array.from({ length: 200 }, (_, i) => {
      const sink = new Recorder();
      connection.request(post(`/call/${i}`), sink).end();
      return sink;
    });
    const inTurn = [...writes];
    await Promise.all(sinks.map((sink) => sink.done));
    expect(inTurn.length).toBeGreaterThan(0);
    // Not a write per frame: each write made within the turn carries at least 4 KiB.
    expect(inTurn.every((n) => n >= 4096)).toBe(true);
    expect(
      sinks.filter((sink) => sink.headers?.[":status"] !== "200" || sink.body.toString() !== "ok"),
    ).toEqual([]);
  });

  it("close() lets the open stream finish, then sends GOAWAY and closes", async () => {
    const port = await nodeServer((stream) => {
      setTimeout(() => {
        stream.respond({ ":status": 200 });
        stream.end("late");
      }, 100);
    });
    const { connection, seen } = await connectTo(port);
    const sink = new Recorder();
    connection.request(post("/slow"), sink).end();
    connection.close();
    expect(() => connection.request(post("/after"), new Recorder())).toThrow(/no new streams/);
    await sink.done;
    expect(sink.body.toString()).toBe("late");
    await seen.closed;
    expect(seen.errors).toEqual([]);
  });
});

/**
 * A server on a raw socket: it sends its SETTINGS, then hands each client HEADERS frame's
 * stream id to `script`, which writes whatever frames it likes.
 */
async function rawServer(script: (socket: Socket, streamId: number, index: number) => void) {
  const sockets = new Set<Socket>();
  const server: Server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.write(rawFrame(4, 0, 0, Buffer.alloc(0)));
    let inbox = Buffer.alloc(0);
    let prefaceSeen = false;
    let index = 0;
    socket.on("data", (chunk: Buffer) => {
      inbox = Buffer.concat([inbox, chunk]);
      if (!prefaceSeen) {
        if (inbox.length < 24) return;
        inbox = inbox.subarray(24);
        prefaceSeen = true;
      }
      while (inbox.length >= 9) {
        const length = inbox.readUIntBE(0, 3);
        if (inbox.length < 9 + length) return;
        const type = inbox[3];
        const flags = inbox[4] as number;
        const id = inbox.readUInt32BE(5);
        inbox = inbox.subarray(9 + length);
        if (type === 4 && (flags & 1) === 0) socket.write(rawFrame(4, 1, 0, Buffer.alloc(0)));
        if (type === 1) script(socket, id, index++);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(resolve);
      }),
  );
  return (server.address() as AddressInfo).port;
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

/** A header block of `fields`, HPACK literals (the transport's own encoder). */
function block(fields: string[]): Buffer {
  return encodeHeaderBlock(fields, new Uint8Array()).subarray(frameHeaderRoom);
}

const endStream = 0x1;
const endHeaders = 0x4;
const padded = 0x8;

describe("frames a well-behaved server would not send (raw socket)", () => {
  it("skips a 1xx response and reads padded HEADERS and DATA", async () => {
    const port = await rawServer((socket, id) => {
      socket.write(rawFrame(1, endHeaders, id, block([":status", "103", "link", "</x>"])));
      const headers = block([":status", "200", "content-type", "text/plain"]);
      socket.write(
        rawFrame(
          1,
          endHeaders | padded,
          id,
          Buffer.concat([Buffer.from([3]), headers, Buffer.alloc(3)]),
        ),
      );
      socket.write(
        rawFrame(
          0,
          padded,
          id,
          Buffer.concat([Buffer.from([2]), Buffer.from("hello"), Buffer.alloc(2)]),
        ),
      );
      socket.write(rawFrame(1, endHeaders | endStream, id, block(["x-done", "yes"])));
    });
    const { connection } = await connectTo(port);
    const sink = new Recorder();
    connection.request(post("/x"), sink).end();
    await sink.done;
    expect(sink.headers).toEqual({ ":status": "200", "content-type": "text/plain" });
    expect(sink.body.toString()).toBe("hello");
    expect(sink.trailers).toEqual({ "x-done": "yes" });
  });

  it.each([
    ["an upper-case name", [":status", "200", "X-Bad", "1"], /upper-case field name X-Bad/],
    ["a request pseudo-header", [":status", "200", ":path", "/"], /pseudo-header :path/],
    ["no :status", ["content-type", "text/plain"], /no :status/],
    [
      "a connection-specific field",
      [":status", "200", "connection", "close"],
      /connection-specific/,
    ],
  ])(
    "a response with %s fails that stream only; the next stream works",
    async (_, fields, message) => {
      const port = await rawServer((socket, id, index) => {
        const response = index === 0 ? fields : [":status", "200"];
        socket.write(rawFrame(1, endHeaders | endStream, id, block(response)));
      });
      const { connection, seen } = await connectTo(port);
      const bad = new Recorder();
      const stream = connection.request(post("/bad"), bad);
      stream.end();
      await bad.done;
      expect(stream.error).toMatch(message);
      expect(stream.rstCode).toBe(0x1);
      const good = new Recorder();
      connection.request(post("/good"), good).end();
      await good.done;
      expect(good.headers?.[":status"]).toBe("200");
      expect(seen.errors).toEqual([]);
    },
  );

  it.each([
    ["PUSH_PROMISE (push is off)", (id: number) => rawFrame(5, endHeaders, id, Buffer.alloc(4))],
    [
      "a frame over the 16 KiB frame size",
      (id: number) => rawFrame(0, 0, id, Buffer.alloc(20_000)),
    ],
    [
      "HEADERS on a stream never opened",
      () => rawFrame(1, endHeaders, 99, block([":status", "200"])),
    ],
    ["a malformed HPACK block", (id: number) => rawFrame(1, endHeaders, id, Buffer.from([0x80]))],
  ])("%s: a connection error, GOAWAY sent, every stream fails", async (_, frames) => {
    let goaway: number | undefined;
    const port = await rawServer((socket, id) => {
      socket.on("data", (chunk: Buffer) => {
        const at = chunk.indexOf(Buffer.from([7, 0, 0, 0, 0, 0]), 0);
        if (at >= 3) goaway = chunk.readUInt32BE(at + 6 + 4);
      });
      socket.write(frames(id));
    });
    const { connection, seen } = await connectTo(port);
    const sink = new Recorder();
    connection.request(post("/x"), sink).end();
    await sink.done;
    await seen.closed;
    expect(connection.destroyed).toBe(true);
    expect(seen.errors[0]?.message).toMatch(/HTTP\/2 protocol error from the server/);
    for (let i = 0; i < 100 && goaway === undefined; i++) await sleep(10);
    expect(goaway).toBeGreaterThan(0);
  });

  it("DATA beyond a paused stream's window: that stream fails FLOW_CONTROL_ERROR", async () => {
    const port = await rawServer((socket, id) => {
      socket.write(rawFrame(1, endHeaders, id, block([":status", "200"])));
      for (let i = 0; i < 70; i++) socket.write(rawFrame(0, 0, id, Buffer.alloc(16_000)));
    });
    const { connection, seen } = await connectTo(port);
    const sink = new Recorder();
    const stream = connection.request(post("/x"), sink);
    stream.end();
    stream.pause();
    await sink.done;
    expect(stream.rstCode).toBe(0x3);
    expect(stream.error).toMatch(/beyond the stream's window/);
    expect(sink.received).toBeLessThanOrEqual(defaultConnectionSettings.streamWindow);
    expect(seen.errors).toEqual([]);
    expect(connection.destroyed).toBe(false);
  });
});

describe("a peer that stops reading", () => {
  it("holds what is buffered for the socket to a few MiB, however large the peer's windows", async () => {
    const port = await rawServer((socket) => {
      // Windows as large as HTTP/2 allows, then never read again.
      socket.write(rawFrame(4, 0, 0, Buffer.from([0, 4, 0x7f, 0xff, 0xff, 0xff])));
      socket.write(rawFrame(8, 0, 0, Buffer.from([0x7f, 0xff, 0x00, 0x00])));
      socket.pause();
    });
    const { connection } = await connectTo(port);
    const sink = new Recorder();
    const stream = connection.request(post("/upload"), sink);
    await sleep(100); // the server's SETTINGS and WINDOW_UPDATE have arrived
    const chunk = Buffer.alloc(1024 * 1024);
    let accepted = 0;
    for (let turn = 0; turn < 40; turn++) {
      // Bounded, so a connection that never says wait fails the test rather than hanging it.
      for (let i = 0; i < 64 && stream.write(chunk); i++) accepted += chunk.length;
      await sleep(10);
    }
    // 40 turns offered 40+ MiB; the socket's buffer (4 MiB), the kernel's and one turn's write
    // bound what was taken.
    expect(accepted).toBeLessThan(24 * 1024 * 1024);
    expect(stream.pendingBytes).toBeGreaterThan(0);
    expect(connection.destroyed).toBe(false);
  });
});
