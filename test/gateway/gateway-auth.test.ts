import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { TokenVerifier } from "../../src/auth/index.js";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { type LibraryUpstream, startLibraryUpstream } from "./support/library-upstream.js";

// A verifier that knows one token: enough to prove the gateway checks at the edge.
const verifier: TokenVerifier = {
  verify(token) {
    if (token !== "good") throw new ConnectError("token refused", Code.Unauthenticated);
    return {
      claims: { sub: "alice" },
      subject: "alice",
      scopes: new Set(),
      roles: new Set(),
      expiresAtMs: Date.now() + 60_000,
    };
  },
};

let upstream: LibraryUpstream;
let gateway: Gateway;
let base: string;

beforeAll(async () => {
  upstream = await startLibraryUpstream();
  gateway = createGateway({
    upstreams: [{ services: [upstream.service], baseUrl: upstream.address.url }],
    auth: { tokens: verifier },
    logger: false,
  });
  base = (await gateway.listen()).url;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.server.close();
});

it("REST: a PUBLIC method without a token is 401 with WWW-Authenticate, never forwarded", async () => {
  const before = upstream.log.calls.get("getBook") ?? 0;
  const res = await fetch(`${base}/v1/books/a`);
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
  expect(((await res.json()) as { code: number }).code).toBe(16);
  expect(upstream.log.calls.get("getBook") ?? 0).toBe(before);
  const bad = await fetch(`${base}/v1/books/a`, { headers: { authorization: "Bearer bad" } });
  expect(bad.status).toBe(401);
  const ok = await fetch(`${base}/v1/books/a`, { headers: { authorization: "Bearer good" } });
  expect(ok.status).toBe(200);
  expect(upstream.log.calls.get("getBook")).toBe(before + 1);
});

// biome-ignore lint/suspicious/noExplicitAny: a client of a registry service, by local name
type AnyClient = Record<string, any>;

it("Connect: the same check, UNAUTHENTICATED without a token", async () => {
  const client = createClient(
    upstream.service,
    createConnectTransport({ baseUrl: base, httpVersion: "1.1" }),
  ) as AnyClient;
  const error = await client.getBook({ name: "x" }).catch((e: unknown) => ConnectError.from(e));
  expect(error.code).toBe(Code.Unauthenticated);
  const book = await client.getBook({ name: "x" }, { headers: { authorization: "Bearer good" } });
  expect(book.name).toBe("x");
});
