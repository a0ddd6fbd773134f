import { connect } from "node:http2";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { type LibraryUpstream, startLibraryUpstream } from "./support/library-upstream.js";
import { loadTestRegistry } from "./support/load-test-registry.js";

// HTTP/2 calls reach the gateway's own HTTP/2 server (src/transport/http2/wire/
// server-connection.ts, answered through src/gateway/wire-exchange.ts); HTTP/1.1 ones take
// node's request/response. Every case here is sent both ways and must get the same answer, so
// the HTTP/2 path cannot drift from the behaviour rest-rules.test.ts pins down.

let upstream: LibraryUpstream;
let gateway: Gateway;
let base: string;

beforeAll(async () => {
  upstream = await startLibraryUpstream();
  gateway = createGateway({
    upstreams: [
      { services: [upstream.service], baseUrl: upstream.address.url, policy: { breaker: null } },
    ],
    typeRegistry: loadTestRegistry(),
    maxRequestBytes: 1024,
    logger: false,
  });
  base = (await gateway.listen()).url;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.server.close();
});

interface Answer {
  readonly status: number;
  readonly type: string | undefined;
  readonly allow: string | undefined;
  readonly requestId: string | undefined;
  readonly date: boolean;
  readonly body: string;
}

interface Case {
  readonly method: string;
  readonly path: string;
  readonly body?: string;
  readonly type?: string;
  readonly headers?: Record<string, string>;
}

async function overHttp1(c: Case): Promise<Answer> {
  const res = await fetch(base + c.path, {
    method: c.method,
    headers: {
      ...(c.body === undefined ? {} : { "content-type": c.type ?? "application/json" }),
      ...c.headers,
    },
    ...(c.body === undefined ? {} : { body: c.body }),
  });
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? undefined,
    allow: res.headers.get("allow") ?? undefined,
    requestId: res.headers.get("x-request-id") ?? undefined,
    date: res.headers.get("date") !== null,
    body: await res.text(),
  };
}

function overHttp2(c: Case): Promise<Answer> {
  const session = connect(base);
  return new Promise<Answer>((resolve, reject) => {
    const stream = session.request({
      ":method": c.method,
      ":path": c.path,
      ...(c.body === undefined ? {} : { "content-type": c.type ?? "application/json" }),
      ...c.headers,
    });
    let head: Record<string, unknown> = {};
    let body = "";
    stream.on("response", (h) => (head = h));
    stream.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
    stream.on("end", () =>
      resolve({
        status: Number(head[":status"]),
        type: head["content-type"] as string | undefined,
        allow: head.allow as string | undefined,
        requestId: head["x-request-id"] as string | undefined,
        date: head.date !== undefined,
        body,
      }),
    );
    stream.on("error", reject);
    stream.end(c.body);
  }).finally(() => session.close());
}

const cases: readonly (readonly [string, Case])[] = [
  ["a multi-segment variable", { method: "GET", path: "/v1/shelves/s1/books/b%2F1" }],
  ["a single-segment variable, decoded", { method: "GET", path: "/v1/books/a%2Fb%20c" }],
  [
    'body: "field", a nested variable and the query',
    {
      method: "POST",
      path: "/v1/shelves/s9/books?requestId=r1",
      body: JSON.stringify({ title: "Dune", genre: "GENRE_FICTION", pageCount: "412" }),
    },
  ],
  [
    'body: "*"',
    {
      method: "PATCH",
      path: "/v1/books/b7",
      body: JSON.stringify({ book: { title: "X" }, updateMask: "title,genre" }),
    },
  ],
  ["DELETE with no body", { method: "DELETE", path: "/v1/books/b7" }],
  [
    "the query string",
    {
      method: "GET",
      path: "/v1/search?query=a%20b&page_size=5&tags=x&tags=y&genre=GENRE_HISTORY&filter.year.from=1969",
    },
  ],
  [
    "a custom verb",
    { method: "POST", path: "/v1/operations/op1:cancel", body: '{"reason":"late"}' },
  ],
  ["** and response_body", { method: "GET", path: "/v1/files/a/b/c.txt" }],
  ["a custom HTTP verb", { method: "SEARCH", path: "/v1/describe/rust" }],
  ["server streaming as NDJSON", { method: "GET", path: "/v1/shelves/s1/books:stream?count=3" }],
  [
    "an error line after the first message",
    { method: "GET", path: "/v1/shelves/s1/books:stream?count=3&failAfter=2" },
  ],
  ["an upstream error with details", { method: "GET", path: "/v1/fail/5" }],
  ["unauthenticated", { method: "GET", path: "/v1/fail/16" }],
  [
    "malformed JSON",
    { method: "POST", path: "/v1/operations/op1:cancel", body: '{"reason": "x",}' },
  ],
  ["a wrong type in the query", { method: "GET", path: "/v1/search?page_size=abc" }],
  ["an unknown query parameter", { method: "GET", path: "/v1/search?nope=1" }],
  ["an unknown route", { method: "GET", path: "/v1/nothing/here" }],
  ["the wrong verb", { method: "POST", path: "/v1/books/b1", body: "{}" }],
  [
    "a body over the limit",
    { method: "POST", path: "/v1/operations/op1:cancel", body: `{"reason":"${"x".repeat(2000)}"}` },
  ],
  [
    "an unsupported content type",
    { method: "POST", path: "/v1/operations/op1:cancel", body: "reason=x", type: "text/plain" },
  ],
  [
    "the caller's x-request-id",
    { method: "GET", path: "/v1/books/id", headers: { "x-request-id": "req-h2-1234" } },
  ],
];

describe("REST over HTTP/2 (the gateway's own server) answers as over HTTP/1.1", () => {
  it.each(cases)("%s", async (_, c) => {
    const [h1, h2] = [await overHttp1(c), await overHttp2(c)];
    // Minted ids differ per call; a sent one comes back on both.
    expect(h2.requestId).toMatch(/^[\w-]{8,}$/);
    if (c.headers?.["x-request-id"]) expect(h2.requestId).toBe(c.headers["x-request-id"]);
    expect({ ...h2, requestId: undefined }).toEqual({ ...h1, requestId: undefined });
    expect(h2.date).toBe(true);
  });

  it("forwards only allowed headers upstream, and the correlation id", async () => {
    const before = upstream.log.headers.length;
    await overHttp2({
      method: "GET",
      path: "/v1/books/fw",
      headers: { "x-request-id": "req-h2-fw", cookie: "a=b", "x-protomesh-caller": "evil" },
    });
    const seen = upstream.log.headers.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.get("x-request-id")).toBe("req-h2-fw");
    expect(seen[0]?.get("cookie")).toBeNull();
    expect(seen[0]?.get("x-protomesh-caller")).toBeNull();
  });

  // The stream would run 50 s; cancelled, it is counted long before.
  it.each([
    ["same origin", {}],
    ["cross-origin", { origin: "https://elsewhere.example" }],
  ])("a caller that resets the stream cancels the upstream call (%s)", async (_, extra) => {
    const session = connect(base);
    const stream = session.request({ ":path": "/v1/shelves/s/books:stream?count=10000", ...extra });
    await new Promise((resolve) => stream.once("data", resolve));
    const before = upstream.log.cancelled;
    stream.close();
    await expect.poll(() => upstream.log.cancelled, { timeout: 10_000 }).toBeGreaterThan(before);
    session.close();
  });

  it("a Connect caller over HTTP/2 that goes away cancels the upstream call", async () => {
    const client = createClient(
      upstream.service,
      createConnectTransport({ baseUrl: base, httpVersion: "2" }),
    ) as Record<string, (req: unknown, o: unknown) => AsyncIterable<unknown>>;
    const abort = new AbortController();
    const books = client.listBooks?.({ shelf: "s", count: 10000 }, { signal: abort.signal });
    const it = (books as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    await it.next();
    const before = upstream.log.cancelled;
    abort.abort();
    await expect.poll(() => upstream.log.cancelled, { timeout: 10_000 }).toBeGreaterThan(before);
  });
});
