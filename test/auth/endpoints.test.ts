// The built-in endpoints' own auth switches: health open by default (probes carry no token),
// reflection authenticated by default, metrics open by default; each can be switched.
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { createServer, type Server } from "../../src/server/index.js";
import { rejection } from "../support/rejection.js";
import { bearer } from "./support/engines.js";
import { guardedService } from "./support/guarded-service.js";
import { audience, createTokenIssuer, issuer, type TokenIssuer } from "./support/token-issuer.js";

let tokens: TokenIssuer;
const servers: Server[] = [];
beforeAll(async () => {
  tokens = await createTokenIssuer();
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await tokens?.close();
});

async function serve(switches: Record<string, "open" | "authenticated">) {
  const server = createServer({
    services: [guardedService()],
    logger: false,
    auth: { tokens: { jwksUrl: tokens.jwksUrl, issuer, audience }, ...switches },
  });
  servers.push(server);
  const { url } = await server.listen();
  const transport = createGrpcTransport({ baseUrl: url });
  return {
    url,
    health: createClient(Health, transport),
    reflection: createClient(ServerReflection, transport),
  };
}

async function listServices(
  reflection: ReturnType<typeof createClient<typeof ServerReflection>>,
  options: { headers?: Record<string, string> } = {},
): Promise<string[]> {
  async function* one() {
    yield { messageRequest: { case: "listServices" as const, value: "" } };
  }
  const names: string[] = [];
  for await (const answer of reflection.serverReflectionInfo(one(), options)) {
    if (answer.messageResponse.case === "listServicesResponse") {
      names.push(...answer.messageResponse.value.service.map((s) => s.name));
    }
  }
  return names;
}

describe("endpoint switches", () => {
  it("defaults: health open, reflection authenticated, metrics open", async () => {
    const { url, health, reflection } = await serve({});
    expect((await health.check({})).status).toBe(1);
    expect((await rejection(listServices(reflection))).code).toBe(Code.Unauthenticated);
    const token = await tokens.sign();
    expect(await listServices(reflection, bearer(token))).toContain(
      "protomesh.testing.v1.GuardedService",
    );
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
  });

  it("health and metrics can require authentication, reflection can be opened", async () => {
    const { url, health, reflection } = await serve({
      health: "authenticated",
      metrics: "authenticated",
      reflection: "open",
    });
    expect((await rejection(health.check({}))).code).toBe(Code.Unauthenticated);
    expect((await health.check({}, bearer(await tokens.sign()))).status).toBe(1);
    expect(await listServices(reflection)).toContain("protomesh.testing.v1.GuardedService");
    const refused = await fetch(`${url}/metrics`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const allowed = await fetch(`${url}/metrics`, {
      headers: { authorization: `Bearer ${await tokens.sign()}` },
    });
    expect(allowed.status).toBe(200);
  });
});
