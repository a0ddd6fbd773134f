import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { GuardedService } from "../../gen/protomesh/testing/v1/guarded_pb.js";
import { formatPolicyTable, policyRows } from "../../src/cli/policy-table.js";
import { readContracts } from "../../src/cli/read-contracts.js";
import { createServer, defineService, type Server } from "../../src/index.js";

const root = resolve(import.meta.dirname, "../..");

let server: Server | undefined;
afterEach(() => server?.close());

const orderRows = (rows: ReturnType<typeof policyRows>) =>
  rows.filter((r) => r.method.startsWith("acme.order.v1.OrderService/"));

describe("protomesh policies", () => {
  it("prints one row a method from the sources, as the contract resolves it", async () => {
    const rows = orderRows(policyRows(await readContracts(root, "proto/acme/order")));
    expect(rows.find((r) => r.method.endsWith("/GetOrder"))).toEqual({
      method: "acme.order.v1.OrderService/GetOrder",
      timeout: "2s",
      attempts: "3",
      retryableCodes: "Unavailable",
      hedging: "-",
      breaker: "5 failures, open 10s",
      bulkhead: "100 + 100 queued",
      visibility: "public",
      auth: "default: authenticated",
      route: "GET /v1/orders/{order_id}",
    });
    // CreateOrder is not idempotent: its 3 attempts only cover requests never sent.
    expect(rows.find((r) => r.method.endsWith("/CreateOrder"))?.attempts).toBe("3*");
    expect(rows.find((r) => r.method.endsWith("/WatchOrder"))).toMatchObject({
      timeout: "3600s",
      attempts: "1",
    });
    expect(formatPolicyTable(rows)).toContain("* not idempotent");
  });

  it("reads the same table from a running server over reflection", async () => {
    server = createServer({ services: [defineService(OrderService, {})] });
    const { url } = await server.listen({ host: "127.0.0.1", port: 0 });
    const fromServer = orderRows(policyRows(await readContracts(root, url)));
    const fromSources = orderRows(policyRows(await readContracts(root, "proto/acme/order")));
    expect(fromServer).toEqual(fromSources);
    expect(fromServer).toHaveLength(5);
  });

  it("shows who may call each method: the AUTH column, from the sources and over reflection", async () => {
    const guarded = (rows: ReturnType<typeof policyRows>) =>
      Object.fromEntries(
        rows
          .filter((r) => r.method.startsWith("protomesh.testing.v1.GuardedService/"))
          .map((r) => [r.method.split("/")[1], r.auth]),
      );
    const expected = {
      Internal: "peer spiffe://mesh.test/order",
      Open: "optional",
      Public: "default: authenticated",
      Roles: "roles admin|operator",
      Scoped: "scopes orders:read+orders:write",
      Watch: "default: authenticated",
    };
    const fromSources = policyRows(await readContracts(root, "proto/protomesh/testing"));
    expect(guarded(fromSources)).toEqual(expected);
    server = createServer({ services: [defineService(GuardedService, {})] });
    const { url } = await server.listen({ host: "127.0.0.1", port: 0 });
    expect(guarded(policyRows(await readContracts(root, url)))).toEqual(expected);

    const table = formatPolicyTable(fromSources);
    expect(table.split("\n")[0]).toMatch(/\s+VISIBILITY\s+AUTH\s+REST ROUTE$/);
    expect(table).toContain("default: no auth in the contract");
    // Internal methods with no auth written need nothing.
    const internal = policyRows(await readContracts(root, "proto/acme")).filter(
      (r) => r.visibility === "internal",
    );
    expect(internal.length).toBeGreaterThan(0);
    expect(new Set(internal.map((r) => r.auth))).toEqual(new Set(["none"]));
  });

  it("runs as a command", () => {
    const out = execFileSync(
      resolve(root, "node_modules/.bin/tsx"),
      ["src/cli/main.ts", "policies", "proto/acme/inventory"],
      { cwd: root, encoding: "utf8" },
    );
    expect(out.split("\n")[0]).toMatch(/^METHOD\s+TIMEOUT\s+ATTEMPTS\s+RETRYABLE\s+HEDGING/);
    expect(out).toMatch(/acme\.inventory\.v1\.InventoryService\/Reserve\s+10s\s+3\s+Unavailable/);
  });
});
