import { randomBytes } from "node:crypto";
import { get, type IncomingMessage } from "node:http";
import { connect, constants, createServer as createHttp2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import { create, type DescMessage, type DescService } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { NodeExchange } from "../../src/gateway/node-exchange.js";
import { createServer, type Server } from "../../src/server/index.js";
import { loadTestRegistry } from "./support/load-test-registry.js";

// A REST server stream whose caller stops reading: the gateway must stop pulling messages
// from upstream (and so hold the upstream back by HTTP/2 flow control) instead of queueing
// the whole stream in its own memory, and must lose nothing once the caller reads again.

const total = 4000;
// Random, so gzip between the gateway and its upstream cannot shrink it away.
const title = randomBytes(12 * 1024).toString("base64"); // 4000 × 16 KiB: 64 MiB unheld
let yielded = 0;
let upstream: Server;
let gateway: Gateway;
let base: string;

beforeAll(async () => {
  const registry = loadTestRegistry();
  const service = registry.getService("protomesh.resttest.v1.LibraryService") as DescService;
  const book = registry.getMessage("protomesh.resttest.v1.Book") as DescMessage;
  const impl = {
    async *listBooks(req: { shelf: string; count: number }, _ctx: HandlerContext) {
      for (let i = 0; i < req.count; i++) {
        yielded++;
        yield create(book, { name: `${req.shelf}/${i}`, title });
      }
    },
  };
  // biome-ignore lint/suspicious/noExplicitAny: a registry service has untyped messages
  upstream = createServer({ services: [{ service, impl: impl as any }], logger: false });
  const address = await upstream.listen();
  gateway = createGateway({
    upstreams: [{ services: [service], baseUrl: address.url, policy: { breaker: null } }],
    typeRegistry: registry,
    logger: false,
  });
  base = (await gateway.listen()).url;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

/** Waits until the upstream has yielded nothing new for 500 ms (at most 15 s). */
async function yieldsSettled(): Promise<number> {
  const deadline = Date.now() + 15_000;
  let last = -1;
  let stableSince = Date.now();
  while (Date.now() < deadline) {
    if (yielded !== last) {
      last = yielded;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= 500) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return yielded;
}

/** Reads the rest of the NDJSON answer and checks every book came, in order. */
async function expectEveryBook(body: Readable, shelf: string): Promise<void> {
  let text = "";
  body.setEncoding("utf8");
  body.resume();
  for await (const chunk of body) text += chunk;
  const lines = text.split("\n").filter((l) => l !== "");
  expect(lines).toHaveLength(total);
  lines.forEach((line, i) => {
    const parsed = JSON.parse(line) as { name: string; title: string; error?: unknown };
    expect(parsed.error).toBeUndefined();
    expect(parsed.name).toBe(`${shelf}/${i}`);
    expect(parsed.title).toHaveLength(title.length);
  });
}

describe("REST server streaming to a caller that stops reading", () => {
  it("HTTP/1.1: the gateway stops pulling from upstream, then delivers every message", async () => {
    yielded = 0;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = get(`${base}/v1/shelves/h1/books:stream?count=${total}`, (r) => {
        r.pause();
        resolve(r);
      });
      req.on("error", reject);
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/x-ndjson");
    const held = await yieldsSettled();
    // Socket buffers, the gateway's writable, the upstream call's queue and its 1 MiB window
    // hold a few MiB; without backpressure the gateway pulls all 64 MiB at once.
    expect(held).toBeLessThan(total / 4);
    await expectEveryBook(res, "h1");
    expect(yielded).toBe(total);
  });

  it("HTTP/2: the same through the gateway's own HTTP/2 server", async () => {
    yielded = 0;
    const session = connect(base);
    try {
      const stream = session.request({ ":path": `/v1/shelves/h2/books:stream?count=${total}` });
      const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        stream.once("response", resolve);
        stream.once("error", reject);
      });
      stream.pause();
      expect(headers[":status"]).toBe(200);
      const held = await yieldsSettled();
      expect(held).toBeLessThan(total / 4);
      await expectEveryBook(stream, "h2");
      expect(yielded).toBe(total);
    } finally {
      session.close();
    }
  });

  it("HTTP/2 on a server of your own (handle): a caller gone while the gateway waits ends the call", async () => {
    yielded = 0;
    const own = createHttp2Server(gateway.handle);
    await new Promise<void>((resolve) => own.listen(0, "127.0.0.1", resolve));
    const session = connect(`http://127.0.0.1:${(own.address() as AddressInfo).port}`);
    try {
      const stream = session.request({ ":path": `/v1/shelves/h3/books:stream?count=${total}` });
      await new Promise((resolve, reject) => {
        stream.once("response", resolve);
        stream.once("error", reject);
      });
      stream.pause();
      await yieldsSettled();
      stream.close(constants.NGHTTP2_CANCEL);
      // The gateway was waiting for this caller to read: its wait must end with the stream,
      // and the call be counted as cancelled, not left in flight for good.
      const deadline = Date.now() + 5_000;
      let text = "";
      while (Date.now() < deadline) {
        text = await gateway.metrics.metrics();
        if (
          /grpc_server_handled_total\{[^}]*grpc_method="ListBooks"[^}]*grpc_code="CANCELLED"[^}]*\} 1/.test(
            text,
          )
        )
          break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(text).toMatch(
        /grpc_server_handled_total\{[^}]*grpc_method="ListBooks"[^}]*grpc_code="CANCELLED"[^}]*\} 1/,
      );
    } finally {
      session.destroy();
      await new Promise((resolve) => own.close(resolve));
    }
  });

  it("an HTTP/2 compat answer whose stream is already gone: the wait ends at once", async () => {
    // node's compat response then says `write` false, with its "close" long past.
    const waited = new Promise<string>((resolve) => {
      const own = createHttp2Server((request, response) => {
        const exchange = new NodeExchange(request, response);
        void exchange.signal; // made at the start of a call, as serveRest does
        response.writeHead(200);
        response.write("first");
        request.once("aborted", () =>
          setTimeout(async () => {
            const wrote = exchange.write("second");
            const outcome = await Promise.race([
              exchange.drained().then(() => "ended"),
              new Promise((r) => setTimeout(r, 2_000, "hung")),
            ]);
            resolve(`${wrote} ${outcome}`);
            own.close();
          }, 50),
        );
      });
      own.listen(0, "127.0.0.1", () => {
        const session = connect(`http://127.0.0.1:${(own.address() as AddressInfo).port}`);
        const stream = session.request({ ":path": "/" });
        stream.once("data", () => {
          stream.close(constants.NGHTTP2_CANCEL);
          session.close();
        });
      });
    });
    expect(await waited).toBe("false ended");
  });
});
