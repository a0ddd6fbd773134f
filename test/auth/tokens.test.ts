// Bearer tokens on every engine: each hostile or broken token gets its code, the same on the
// lean engine (gRPC, Connect), connect-node (gRPC-Web) and the grpc-js binding, and at the
// gateway's edge (HTTP 401 with WWW-Authenticate, 403) in front of a server that checks nothing.
import { Code, ConnectError } from "@connectrpc/connect";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJwtVerifier } from "../../src/auth/index.js";
import { rejection } from "../support/rejection.js";
import { bearer, type Engines, startEngines } from "./support/engines.js";
import {
  audience,
  createTokenIssuer,
  issuer,
  segment,
  type TokenIssuer,
} from "./support/token-issuer.js";

let tokens: TokenIssuer;
let served: Engines;

beforeAll(async () => {
  tokens = await createTokenIssuer();
  served = await startEngines({
    tokens: { jwksUrl: tokens.jwksUrl, issuer, audience, jwksTimeoutMs: 500, jwksCooldownMs: 0 },
  });
});
afterAll(async () => {
  await served?.close();
  await tokens?.close();
});

async function codeOf(promise: Promise<unknown>): Promise<Code> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(ConnectError);
  return (error as ConnectError).code;
}

/** The gateway's HTTP answer to a Connect JSON call (what a browser's fetch sees). */
async function atGateway(method: string, authorization?: string) {
  const response = await fetch(
    `${served.gateway.url}/protomesh.testing.v1.GuardedService/${method}`,
    {
      method: "POST",
      headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
      body: "{}",
    },
  );
  const body = (await response.json()) as { code?: string };
  return {
    status: response.status,
    challenge: response.headers.get("www-authenticate"),
    code: body.code,
  };
}

/**
 * Every engine answers the token with UNAUTHENTICATED on a method needing authentication, and
 * the gateway with 401 and a Bearer challenge.
 */
async function expectUnauthenticatedEverywhere(token: string): Promise<void> {
  for (const { name, client } of served.engines) {
    const code = await codeOf(client.public({}, bearer(token)));
    expect({ engine: name, code: Code[code] }).toEqual({
      engine: name,
      code: Code[Code.Unauthenticated],
    });
  }
  expect(await atGateway("Public", `Bearer ${token}`)).toEqual({
    status: 401,
    challenge: 'Bearer error="invalid_token"',
    code: "unauthenticated",
  });
}

describe("bearer tokens", () => {
  it("let a valid token in, with its claims in the call context", async () => {
    const token = await tokens.sign({ sub: "alice" });
    for (const { name, client } of served.engines) {
      const response = await client.public({}, bearer(token));
      expect({ name, ...response.caller }).toMatchObject({
        name,
        subject: "alice",
        scopes: ["orders:read"],
      });
    }
    // The gateway lets it through to the upstream (which checks nothing, so knows no caller).
    expect((await served.gateway.client.public({}, bearer(token))).caller?.subject).toBe("");
    expect((await atGateway("Public", `Bearer ${token}`)).status).toBe(200);
  });

  it("refuse a call without a token on a PUBLIC method (UNAUTHENTICATED), let one in where optional", async () => {
    for (const { client } of served.engines) {
      expect(await codeOf(client.public({}))).toBe(Code.Unauthenticated);
      expect((await client.open({})).caller?.subject).toBe("");
    }
    expect(await atGateway("Public")).toEqual({
      status: 401,
      challenge: "Bearer",
      code: "unauthenticated",
    });
    expect((await atGateway("Open")).status).toBe(200);
  });

  it('refuse alg "none"', async () => {
    const unsigned = `${segment({ alg: "none", typ: "JWT" })}.${segment({
      iss: issuer,
      aud: audience,
      sub: "mallory",
      exp: Math.floor(Date.now() / 1000) + 3600,
    })}.`;
    await expectUnauthenticatedEverywhere(unsigned);
  });

  it("refuse HS256 signed with the public key as the secret", async () => {
    const forged = await new SignJWT({ sub: "mallory" })
      .setProtectedHeader({ alg: "HS256", kid: "k1" })
      .setIssuer(issuer)
      .setAudience(audience)
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode(tokens.publicPem));
    await expectUnauthenticatedEverywhere(forged);
  });

  it("refuse expired, not yet valid, wrong-audience and wrong-issuer tokens", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectUnauthenticatedEverywhere(await tokens.sign({}, { expiresIn: now - 120 }));
    await expectUnauthenticatedEverywhere(await tokens.sign({}, { notBefore: now + 600 }));
    await expectUnauthenticatedEverywhere(await tokens.sign({ aud: "someone-else" }));
    await expectUnauthenticatedEverywhere(await tokens.sign({ iss: "https://evil.test" }));
  });

  it("accept a token just past its exp within the clock skew", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await tokens.sign({ sub: "late" }, { expiresIn: now - 5 });
    const [first] = served.engines;
    expect((await first?.client.public({}, bearer(token)))?.caller?.subject).toBe("late");
  });

  it("refuse a tampered signature and an unknown kid", async () => {
    const token = await tokens.sign();
    const [head, body, signature = ""] = token.split(".");
    const flipped = `${signature[0] === "A" ? "B" : "A"}${signature.slice(1)}`;
    await expectUnauthenticatedEverywhere(`${head}.${body}.${flipped}`);
    const tamperedBody = segment({
      ...JSON.parse(Buffer.from(body ?? "", "base64url").toString()),
      sub: "root",
    });
    await expectUnauthenticatedEverywhere(`${head}.${tamperedBody}.${signature}`);
    await expectUnauthenticatedEverywhere(await tokens.sign({}, { unknownKid: "stranger" }));
  });

  it("refuse an oversized token before parsing it", async () => {
    const token = await tokens.sign({ padding: "x".repeat(9_000) });
    await expectUnauthenticatedEverywhere(token);
  });

  it("refuse a malformed authorization header", async () => {
    for (const { client } of served.engines) {
      const code = await codeOf(client.public({}, { headers: { authorization: "Basic dTpw" } }));
      expect(code).toBe(Code.Unauthenticated);
    }
    expect(await atGateway("Public", "Basic dTpw")).toEqual({
      status: 401,
      challenge: 'Bearer error="invalid_request"',
      code: "unauthenticated",
    });
  });

  it("answer PERMISSION_DENIED to a valid caller without the scopes or roles", async () => {
    const reader = await tokens.sign({ scope: "orders:read" });
    const writer = await tokens.sign({ scope: "orders:read orders:write" });
    const operator = await tokens.sign({ roles: ["operator"] });
    for (const { client } of served.engines) {
      expect(await codeOf(client.scoped({}, bearer(reader)))).toBe(Code.PermissionDenied);
      expect((await client.scoped({}, bearer(writer))).caller?.scopes).toEqual([
        "orders:read",
        "orders:write",
      ]);
      expect(await codeOf(client.roles({}, bearer(reader)))).toBe(Code.PermissionDenied);
      expect((await client.roles({}, bearer(operator))).caller?.subject).toBe("user-1");
      // An internal method allows only listed workload identities: a token is not one.
      expect(await codeOf(client.internal({}, bearer(writer)))).toBe(Code.PermissionDenied);
    }
    expect(await atGateway("Scoped", `Bearer ${reader}`)).toMatchObject({
      status: 403,
      code: "permission_denied",
    });
    expect((await atGateway("Scoped", `Bearer ${writer}`)).status).toBe(200);
    expect((await atGateway("Roles", `Bearer ${reader}`)).status).toBe(403);
    expect((await atGateway("Roles", `Bearer ${operator}`)).status).toBe(200);
  });

  it("check server-streaming calls before the first message", async () => {
    const fresh = await tokens.sign({ sub: "streamer", jti: "stream-1" });
    for (const { name, client } of served.engines) {
      const seen: string[] = [];
      for await (const answer of client.watch({ count: 2 }, bearer(fresh))) {
        seen.push(answer.caller?.subject ?? "");
      }
      expect({ name, seen }).toEqual({ name, seen: ["streamer", "streamer"] });
      const refused = (async () => {
        for await (const _ of client.watch({ count: 2 })) {
          // never reached
        }
      })();
      expect(await codeOf(refused)).toBe(Code.Unauthenticated);
    }
    const viaGateway: string[] = [];
    for await (const _ of served.gateway.client.watch({ count: 2 }, bearer(fresh))) {
      viaGateway.push("answer");
    }
    expect(viaGateway).toHaveLength(2);
    const refused = (async () => {
      for await (const _ of served.gateway.client.watch({ count: 2 })) {
        // never reached
      }
    })();
    expect(await codeOf(refused)).toBe(Code.Unauthenticated);
  });
});

describe("JWKS endpoint down or slow", () => {
  it("keeps known keys working, and refuses an unknown kid within the timeout", async () => {
    const known = await tokens.sign({ sub: "known", jti: "jwks-known" });
    const [lean] = served.engines;
    if (!lean) throw new Error("no engine");
    expect((await lean.client.public({}, bearer(known)))?.caller?.subject).toBe("known");
    for (const mode of ["down", "slow"] as const) {
      tokens.mode = mode;
      const again = await tokens.sign({ sub: "known-again", jti: `jwks-${mode}` });
      expect((await lean.client.public({}, bearer(again))).caller?.subject).toBe("known-again");
      const started = Date.now();
      const unknown = await tokens.sign({}, { unknownKid: `new-${mode}` });
      expect(await codeOf(lean.client.public({}, bearer(unknown)))).toBe(Code.Unauthenticated);
      // The JWKS timeout is 500 ms: generous bound under a loaded machine, far below 10 s.
      expect(Date.now() - started).toBeLessThan(5_000);
      // The gateway's verifier meets the same outage: known keys work, an unknown kid is 401.
      const atEdge = await tokens.sign({ sub: "edge", jti: `jwks-edge-${mode}` });
      expect((await atGateway("Public", `Bearer ${atEdge}`)).status).toBe(200);
      const edgeStarted = Date.now();
      const unknownAtEdge = await tokens.sign({}, { unknownKid: `edge-${mode}` });
      expect((await atGateway("Public", `Bearer ${unknownAtEdge}`)).status).toBe(401);
      expect(Date.now() - edgeStarted).toBeLessThan(5_000);
    }
    tokens.mode = "up";
  });

  it("keeps verifying with the keys fetched last when a refetch of a stale set fails", async () => {
    // A max age of 1 ms: every verification refetches the set, so each one meets the outage.
    const verifier = createJwtVerifier({
      jwksUrl: tokens.jwksUrl,
      issuer,
      audience,
      jwksCacheMaxAgeMs: 1,
      jwksCooldownMs: 0,
      jwksTimeoutMs: 300,
      cacheSize: 0,
    });
    expect((await verifier.verify(await tokens.sign({ sub: "a" }))).subject).toBe("a");
    tokens.mode = "down";
    try {
      await new Promise((resolve) => setTimeout(resolve, 5));
      const before = tokens.fetches;
      expect((await verifier.verify(await tokens.sign({ sub: "b" }))).subject).toBe("b");
      expect(tokens.fetches).toBeGreaterThan(before);
      const unknown = await tokens.sign({}, { unknownKid: "nobody" });
      expect((await rejection(Promise.resolve(verifier.verify(unknown)))).code).toBe(
        Code.Unauthenticated,
      );
    } finally {
      tokens.mode = "up";
    }
  });

  it("fetches the JWKS again for a new kid and accepts the rotated key", async () => {
    await tokens.rotate();
    const before = tokens.fetches;
    const [lean] = served.engines;
    const token = await tokens.signWithSecond({ sub: "rotated" });
    expect((await lean?.client.public({}, bearer(token)))?.caller?.subject).toBe("rotated");
    expect(tokens.fetches).toBeGreaterThan(before);
  });
});

describe("createJwtVerifier", () => {
  it("refuses unsafe options", () => {
    const base = { keys: { keys: [tokens.publicJwk] }, issuer, audience };
    expect(() => createJwtVerifier({ ...base, algorithms: ["none"] })).toThrow(/none/);
    expect(() => createJwtVerifier({ ...base, algorithms: ["HS256"] })).toThrow(/HS/);
    expect(() => createJwtVerifier({ ...base, clockToleranceSec: 3600 })).toThrow(/clockTolerance/);
    expect(() => createJwtVerifier({ ...base, audience: [] })).toThrow(/audience/);
  });

  it("answers a repeated token from its cache, synchronously, until it expires", async () => {
    const verifier = createJwtVerifier({ keys: { keys: [tokens.publicJwk] }, issuer, audience });
    const token = await tokens.sign({ sub: "cached" });
    const first = verifier.verify(token);
    expect(first).toBeInstanceOf(Promise);
    const verified = await first;
    const second = verifier.verify(token);
    expect(second).not.toBeInstanceOf(Promise);
    expect(second).toBe(verified);
  });
});
