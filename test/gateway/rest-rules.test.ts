import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { type LibraryUpstream, startLibraryUpstream } from "./support/library-upstream.js";
import { loadTestRegistry } from "./support/load-test-registry.js";

let upstream: LibraryUpstream;
let gateway: Gateway;
let base: string;

beforeAll(async () => {
  upstream = await startLibraryUpstream();
  gateway = createGateway({
    // No breaker here: the error-mapping cases fail on purpose (one test below opens it).
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

async function call(method: string, path: string, body?: string, type = "application/json") {
  const res = await fetch(base + path, {
    method,
    ...(body === undefined ? {} : { body, headers: { "content-type": type } }),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: text ? JSON.parse(text) : undefined,
  };
}

describe("REST transcoding (google.api.http)", () => {
  it("GET with a multi-segment variable {name=shelves/*/books/*}", async () => {
    const r = await call("GET", "/v1/shelves/s1/books/b1");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ name: "shelves/s1/books/b1", title: "T", pageCount: "12" });
  });

  it("keeps %2F in a multi-segment variable and decodes it in a single-segment one", async () => {
    expect((await call("GET", "/v1/shelves/s%2F1/books/b%20c")).json.name).toBe(
      "shelves/s%2F1/books/b c",
    );
    // additional_bindings: GET /v1/books/{name}
    expect((await call("GET", "/v1/books/a%2Fb%20c")).json.name).toBe("a/b c");
  });

  it('POST with body: "field", a nested path variable {shelf.id} and a query parameter', async () => {
    const r = await call(
      "POST",
      "/v1/shelves/s9/books?requestId=r1",
      JSON.stringify({ title: "Dune", genre: "GENRE_FICTION", pageCount: "412" }),
    );
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      name: "shelves/s9/books/r1",
      title: "Dune",
      genre: "GENRE_FICTION",
      pageCount: "412",
    });
  });

  it('PUT and PATCH with body: "*" (a FieldMask in its JSON form)', async () => {
    const body = JSON.stringify({ book: { title: "X" }, updateMask: "title,genre" });
    for (const verb of ["PUT", "PATCH"]) {
      const r = await call(verb, "/v1/books/b7", body);
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ name: "b7", title: "X|title,genre" });
    }
  });

  it("DELETE with no body", async () => {
    const r = await call("DELETE", "/v1/books/b7");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({});
  });

  it("reads every other field from the query string", async () => {
    const q = [
      "query=a%20b",
      "page_size=5", // original name
      "tags=x",
      "tags=y", // repeated keys
      "genre=GENRE_HISTORY", // enum by name
      "genres=1",
      "genres=GENRE_HISTORY", // enum by number and name
      "minPages=-9007199254740993", // 64-bit, beyond a double
      "max_pages=18446744073709551615",
      "exact=true",
      "score=2.5",
      "since=2024-01-02T03:04:05Z",
      "maxAge=1.5s",
      "readMask=title,genre",
      "limit=7",
      "available=false",
      "note=hi",
      "filter.author=Le%20Guin", // nested
      "filter.year.from=1969", // nested deeper
      "token=AQI%3D",
      "ids=1",
      "ids=2",
    ].join("&");
    const r = await call("GET", `/v1/search?${q}`);
    expect(r.status, r.text).toBe(200);
    expect(r.json.echo).toEqual({
      query: "a b",
      pageSize: 5,
      tags: ["x", "y"],
      genre: "GENRE_HISTORY",
      genres: ["GENRE_FICTION", "GENRE_HISTORY"],
      minPages: "-9007199254740993",
      maxPages: "18446744073709551615",
      exact: true,
      score: 2.5,
      since: "2024-01-02T03:04:05Z",
      maxAge: "1.500s",
      readMask: "title,genre",
      limit: 7,
      available: false,
      note: "hi",
      filter: { author: "Le Guin", year: { from: 1969 } },
      token: "AQI=",
      ids: ["1", "2"],
    });
  });

  it("reads map entries from the query as name[key]=value (grpc-gateway's form)", async () => {
    const q = [
      "labels[team]=core",
      "labels%5Bcost%20center%5D=r%26d", // percent-encoded brackets, key and value
      "labels[__proto__]=kept", // an entry like any other
      "genre_by_rank[1]=GENRE_HISTORY", // integer key, enum value by name
      "genreByRank[-2]=1", // lowerCamel name, negative key, enum value by number
      "filter.flags[new]=true", // a map in a nested message
    ].join("&");
    const r = await call("GET", `/v1/search?${q}`);
    expect(r.status, r.text).toBe(200);
    // Entries, not an object literal: `__proto__:` in a literal would set the prototype.
    expect(Object.entries(r.json.echo.labels).sort()).toEqual([
      ["__proto__", "kept"],
      ["cost center", "r&d"],
      ["team", "core"],
    ]);
    expect(r.json.echo.genreByRank).toEqual({ 1: "GENRE_HISTORY", "-2": "GENRE_FICTION" });
    expect(r.json.echo.filter).toEqual({ flags: { new: true } });
  });

  it.each([
    ["labels=x", 'query parameter "labels" names a map: give each entry as labels[key]='],
    ["labels[a]=1&labels[a]=2", 'query parameter "labels[a]" given more than once'],
    [
      "genre_by_rank[one]=GENRE_HISTORY",
      'invalid map key "one" for field genre_by_rank: expected an integer',
    ],
    [
      "genre_by_rank[1]=GENRE_POETRY",
      'invalid value "GENRE_POETRY" for field genre_by_rank: expected a value of protomesh.resttest.v1.Genre',
    ],
    [
      "filter.flags[x]=maybe",
      'invalid value "maybe" for field filter.flags: expected true or false',
    ],
    ["page_size[1]=2", 'query parameter "page_size[1]": page_size is not a map field'],
    ["nope[k]=v", 'unknown query parameter "nope[k]"'],
    ["ranges[a]=1", 'query parameter "ranges[a]": a map of messages cannot be set from the query'],
  ])("a bad map entry in the query (%s): 400 naming it", async (query, message) => {
    const r = await call("GET", `/v1/search?${query}`);
    expect(r.status).toBe(400);
    expect(r.json.message).toBe(message);
  });

  it("a custom verb: POST /v1/{name=operations/*}:cancel", async () => {
    const r = await call("POST", "/v1/operations/op1:cancel", JSON.stringify({ reason: "late" }));
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ name: "operations/op1|late", done: true });
  });

  it("** and response_body", async () => {
    const r = await call("GET", "/v1/files/a/b/c.txt");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ path: "a/b/c.txt", size: "42" });
  });

  it("a custom HTTP verb (custom: {kind: SEARCH})", async () => {
    const r = await call("SEARCH", "/v1/describe/rust");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ text: "about rust" });
  });

  it("server streaming as newline-delimited JSON, each line flushed as it arrives", async () => {
    const res = await fetch(`${base}/v1/shelves/s1/books:stream?count=3`);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    // The first line arrives alone, before the upstream has sent the rest.
    expect(new TextDecoder().decode(first.value)).toBe('{"name":"s1/0"}\n');
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toBe('{"name":"s1/1"}\n{"name":"s1/2"}\n');
  });

  it('an error after the first message is a final {"error": …} line', async () => {
    const r = await fetch(`${base}/v1/shelves/s1/books:stream?count=3&failAfter=2`);
    expect(r.status).toBe(200);
    const lines = (await r.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { name: "s1/0" },
      { name: "s1/1" },
      { error: { code: 15, message: "shelf collapsed", details: [] } },
    ]);
  });

  it.each([
    [1, 499],
    [2, 500],
    [3, 400],
    [4, 504],
    [5, 404],
    [6, 409],
    [7, 403],
    [8, 429],
    [9, 400],
    [10, 409],
    [11, 400],
    [12, 501],
    [13, 500],
    [14, 503],
    [15, 500],
    [16, 401],
  ])(
    "gRPC code %i is HTTP %i with a google.rpc.Status body and its details",
    async (code, status) => {
      const r = await call("GET", `/v1/fail/${code}`);
      expect(r.status).toBe(status);
      expect(r.json).toEqual({
        code,
        message: `failed with ${code}`,
        details: [
          {
            "@type": "type.googleapis.com/protomesh.resttest.v1.DescribeResponse",
            text: "a detail",
          },
        ],
      });
    },
  );
});

describe("bad input gets a clear 4xx, and the gateway keeps serving", () => {
  it("malformed JSON: 400 naming the position", async () => {
    const r = await call("POST", "/v1/operations/op1:cancel", '{"reason": "x",}');
    expect(r.status).toBe(400);
    expect(r.json.code).toBe(3);
    expect(r.json.message).toMatch(/malformed JSON body: .*position 15/);
  });

  it("a wrong type in the query: 400 naming the field", async () => {
    const r = await call("GET", "/v1/search?page_size=abc");
    expect(r.status).toBe(400);
    expect(r.json.message).toBe('invalid value "abc" for field page_size: expected an integer');
  });

  it("a wrong type in the body: 400 naming the field", async () => {
    const r = await call("POST", "/v1/operations/op1:cancel", '{"reason": 5}');
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/CancelOperationRequest\.reason/);
  });

  it("an unknown query parameter: 400 naming it", async () => {
    const r = await call("GET", "/v1/search?nope=1");
    expect(r.status).toBe(400);
    expect(r.json.message).toBe('unknown query parameter "nope"');
    // With body: "*", no field is left for the query string.
    const all = await call("POST", "/v1/operations/op1:cancel?reason=x", "{}");
    expect(all.status).toBe(400);
    expect(all.json.message).toMatch(/unknown query parameter "reason"/);
  });

  it("an unknown enum name in the query: 400 naming the field", async () => {
    const r = await call("GET", "/v1/search?genre=GENRE_POETRY");
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(
      /field genre: expected a value of protomesh\.resttest\.v1\.Genre/,
    );
  });

  it("an unknown route: 404", async () => {
    const r = await call("GET", "/v1/nothing/here");
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ code: 5, message: "no such route", details: [] });
  });

  it("a known path with the wrong verb: 405 with Allow", async () => {
    const r = await call("POST", "/v1/books/b1", "{}");
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")?.split(", ").sort()).toEqual(["DELETE", "GET", "PATCH", "PUT"]);
  });

  it("a body over the size limit: 413", async () => {
    const r = await call(
      "POST",
      "/v1/operations/op1:cancel",
      JSON.stringify({ reason: "x".repeat(2000) }),
    );
    expect(r.status).toBe(413);
    expect(r.json.code).toBe(8);
  });

  it("a body over the size limit without content-length: 413", async () => {
    const chunks = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(`{"reason":"${"y".repeat(1500)}"}`));
        c.close();
      },
    });
    const res = await fetch(`${base}/v1/operations/op1:cancel`, {
      method: "POST",
      body: chunks,
      headers: { "content-type": "application/json" },
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  it("an unsupported content type: 415", async () => {
    const r = await call("POST", "/v1/operations/op1:cancel", "reason=x", "text/plain");
    expect(r.status).toBe(415);
  });

  it("still serves after all of that", async () => {
    expect((await call("GET", "/v1/books/ok")).status).toBe(200);
  });
});

describe("upstream failures", () => {
  it("an unreachable upstream: 503", async () => {
    const dead = await startLibraryUpstream();
    await dead.server.close();
    const g = createGateway({
      upstreams: [
        { services: [dead.service], baseUrl: dead.address.url, policy: { breaker: null } },
      ],
      logger: false,
    });
    const url = (await g.listen()).url;
    try {
      const res = await fetch(`${url}/v1/books/b1`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { code: number }).code).toBe(14);
    } finally {
      await g.close();
    }
  });

  it("an open breaker: 503 at once, with no upstream call", async () => {
    const up = await startLibraryUpstream();
    const g = createGateway({
      upstreams: [
        {
          services: [up.service],
          baseUrl: up.address.url,
          policy: {
            breaker: { trigger: { kind: "consecutive", failures: 2 }, halfOpenAfterMs: 60_000 },
          },
        },
      ],
      logger: false,
    });
    const url = (await g.listen()).url;
    try {
      for (let i = 0; i < 2; i++) expect((await fetch(`${url}/v1/fail/14`)).status).toBe(503);
      expect(up.log.calls.get("fail")).toBe(2);
      const res = await fetch(`${url}/v1/books/b1`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { message: string }).message).toMatch(/circuit/i);
      expect(up.log.calls.get("getBook")).toBeUndefined();
    } finally {
      await g.close();
      await up.server.close();
    }
  });
});
