import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
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
