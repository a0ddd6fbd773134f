// Client token sources: `createClient(…, { auth })` sends tokens that are cached, refreshed
// before expiry with one fetch at a time, refreshed and resent once when the server answers
// UNAUTHENTICATED, and forwarded to another target only when that target opts in.
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { GuardedService } from "../../gen/protomesh/testing/v1/guarded_pb.js";
import { createJwtVerifier, createTokenSource, type TokenVerifier } from "../../src/auth/index.js";
import { createClient } from "../../src/client/index.js";
import { createServer, defineService, type Server } from "../../src/server/index.js";
import { rejection } from "../support/rejection.js";
import { guardedService } from "./support/guarded-service.js";
import { audience, createTokenIssuer, issuer, type TokenIssuer } from "./support/token-issuer.js";

let tokens: TokenIssuer;
let server: Server;
let url: string;
const revoked = new Set<string>();

beforeAll(async () => {
  tokens = await createTokenIssuer();
  const jwt = createJwtVerifier({ jwksUrl: tokens.jwksUrl, issuer, audience });
  // A verifier with a revocation list: what an introspecting server would do.
  const verifier: TokenVerifier = {
    verify(token) {
      if (revoked.has(token)) {
        throw new ConnectError("token revoked", Code.Unauthenticated);
      }
      return jwt.verify(token);
    },
  };
  server = createServer({
    services: [guardedService()],
    logger: false,
    auth: { tokens: verifier },
  });
  url = (await server.listen()).url;
});
afterAll(async () => {
  await server?.close();
  await tokens?.close();
});

describe("createTokenSource", () => {
  it("refreshes before expiry while still handing out the current token", async () => {
    // The clock is moved by hand (timers stay real), so a loaded machine cannot skip a step.
    vi.useFakeTimers({ toFake: ["Date"], now: 1_000_000 });
    try {
      let fetches = 0;
      const source = createTokenSource(
        () => {
          fetches++;
          return { accessToken: `t${fetches}`, expiresAtMs: Date.now() + 10_000 };
        },
        { refreshBeforeMs: 2_000 },
      );
      expect(await source.token()).toBe("t1");
      vi.setSystemTime(1_000_000 + 7_000);
      expect(source.token()).toBe("t1"); // cached, synchronous, not yet in the refresh window
      expect(fetches).toBe(1);
      vi.setSystemTime(1_000_000 + 8_500);
      // Inside the refresh window: the current token goes out, a refresh starts behind it.
      expect(source.token()).toBe("t1");
      expect(source.token()).toBe("t1");
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(fetches).toBe(2);
      expect(source.token()).toBe("t2");
      // Past expiry with no refresh possible: the call waits for a fresh token.
      vi.setSystemTime(1_000_000 + 30_000);
      const waited = source.token();
      expect(waited).toBeInstanceOf(Promise);
      expect(await waited).toBe("t3");
    } finally {
      vi.useRealTimers();
    }
  });

  it("single-flights 100 concurrent calls into one fetch", async () => {
    let fetches = 0;
    const fetcher = async () => {
      fetches++;
      await new Promise((resolve) => setTimeout(resolve, 100));
      return tokens.sign({ sub: "batch" });
    };
    const client = createClient(GuardedService, { baseUrl: url, auth: { token: fetcher } });
    const answers = await Promise.all(Array.from({ length: 100 }, () => client.public({})));
    expect(fetches).toBe(1);
    expect(new Set(answers.map((a) => a.caller?.subject))).toEqual(new Set(["batch"]));
  });
});

describe("createClient auth", () => {
  it("recovers from a revoked token with one forced refresh and one resend", async () => {
    let fetches = 0;
    const client = createClient(GuardedService, {
      baseUrl: url,
      auth: {
        token: async () => {
          fetches++;
          return tokens.sign({ sub: `caller-${fetches}` });
        },
      },
    });
    expect((await client.public({})).caller?.subject).toBe("caller-1");
    const first = await tokens.sign({ sub: "caller-1" });
    // Revoke whatever the source holds now: the next call is refused once, then resent.
    revoked.add(first);
    const source = createTokenSource(async () => first);
    const revokedClient = createClient(GuardedService, {
      baseUrl: url,
      auth: {
        token: {
          token: () => source.token(),
          refresh: async () => {
            fetches++;
            return tokens.sign({ sub: "after-refresh" });
          },
        },
      },
    });
    const before = fetches;
    expect((await revokedClient.public({})).caller?.subject).toBe("after-refresh");
    expect(fetches - before).toBe(1);
  });

  it("fails with UNAUTHENTICATED after one resend when the fresh token is refused too", async () => {
    let refreshes = 0;
    const bad = "not.a.jwt";
    const client = createClient(GuardedService, {
      baseUrl: url,
      auth: {
        token: {
          token: () => bad,
          refresh: async () => {
            refreshes++;
            return bad;
          },
        },
      },
    });
    expect((await rejection(client.public({}))).code).toBe(Code.Unauthenticated);
    expect(refreshes).toBe(1);
  });

  it("gets tokens by OAuth2 client credentials", async () => {
    const requests: { authorization: string | undefined; body: string }[] = [];
    const tokenEndpoint = createHttpServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on("end", async () => {
        requests.push({ authorization: request.headers.authorization, body });
        response.setHeader("content-type", "application/json");
        response.end(
          JSON.stringify({
            access_token: await tokens.sign({ sub: "service-a", scope: "orders:read" }),
            token_type: "Bearer",
            expires_in: 3600,
          }),
        );
      });
    });
    await new Promise<void>((resolve) => tokenEndpoint.listen(0, "127.0.0.1", resolve));
    try {
      const port = (tokenEndpoint.address() as AddressInfo).port;
      const client = createClient(GuardedService, {
        baseUrl: url,
        auth: {
          token: {
            tokenUrl: `http://127.0.0.1:${port}/token`,
            clientId: "service-a",
            clientSecret: "s3cret",
            scope: "orders:read",
          },
        },
      });
      expect((await client.public({})).caller?.subject).toBe("service-a");
      expect((await client.public({})).caller?.subject).toBe("service-a");
      expect(requests).toHaveLength(1);
      expect(requests[0]?.authorization).toBe(
        `Basic ${Buffer.from("service-a:s3cret").toString("base64")}`,
      );
      expect(new URLSearchParams(requests[0]?.body).get("grant_type")).toBe("client_credentials");
    } finally {
      tokenEndpoint.close();
    }
  });

  it("forwards the inbound caller's token only to a target that opts in", async () => {
    const forwarding = createClient(GuardedService, {
      baseUrl: url,
      auth: { forwardInboundToken: true },
    });
    const plain = createClient(GuardedService, { baseUrl: url });
    const front = createServer({
      logger: false,
      auth: { tokens: { jwksUrl: tokens.jwksUrl, issuer, audience } },
      services: [
        defineService(GuardedService, {
          async public() {
            return { caller: (await forwarding.open({})).caller };
          },
          async open() {
            return { caller: (await plain.open({})).caller };
          },
        }),
      ],
    });
    try {
      const frontUrl = (await front.listen()).url;
      const user = createClient(GuardedService, {
        baseUrl: frontUrl,
        auth: { token: () => tokens.sign({ sub: "end-user" }) },
      });
      expect((await user.public({})).caller?.subject).toBe("end-user");
      expect((await user.open({})).caller?.subject).toBe("");
    } finally {
      await front.close();
    }
  });
});
