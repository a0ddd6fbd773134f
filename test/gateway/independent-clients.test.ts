import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Mesh, startMesh } from "../../examples/order-mesh/mesh.js";

const run = promisify(execFile);
let mesh: Mesh;
let gw: string;

beforeAll(async () => {
  mesh = await startMesh();
  gw = mesh.gateway.url;
}, 60_000);

afterAll(async () => {
  await mesh?.close();
});

const order = JSON.stringify({
  customerId: "cus_cli",
  items: [{ sku: "sku-mug", quantity: 1, unitPrice: { currencyCode: "EUR", units: "3" } }],
});

async function curl(...args: string[]): Promise<string> {
  return (await run("curl", ["--silent", "--show-error", "--fail-with-body", ...args])).stdout;
}

/** buf curl with the contracts of this repository as its schema (no reflection, no network). */
async function bufCurl(protocol: "connect" | "grpcweb", method: string, data: string) {
  const { stdout } = await run("node_modules/.bin/buf", [
    "curl",
    "--schema",
    ".",
    "--reflect=false",
    "--protocol",
    protocol,
    "--data",
    data,
    `${gw}/acme.order.v1.OrderService/${method}`,
  ]);
  // A stream prints one JSON document per message.
  return stdout;
}

it("curl speaks REST to the gateway: create, read, list, cancel, and watch as NDJSON", async () => {
  const created = JSON.parse(
    await curl("-H", "content-type: application/json", "-d", order, `${gw}/v1/orders`),
  );
  const id: string = created.order.orderId;
  expect(created.order.status).toBe("ORDER_STATUS_CONFIRMED");
  expect(JSON.parse(await curl(`${gw}/v1/orders/${id}`)).order.orderId).toBe(id);
  const list = JSON.parse(await curl(`${gw}/v1/orders?customerId=cus_cli&pageSize=10`));
  expect(list.orders.map((o: { orderId: string }) => o.orderId)).toContain(id);
  const cancelled = JSON.parse(
    await curl(
      "-H",
      "content-type: application/json",
      "-d",
      '{"reason":"cli"}',
      `${gw}/v1/orders/${id}:cancel`,
    ),
  );
  expect(cancelled.order.status).toBe("ORDER_STATUS_CANCELLED");
  // A cancelled order is final: the watch sends it once and ends.
  const watch = await curl("-N", `${gw}/v1/orders/${id}:watch`);
  expect(
    watch
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).order.status),
  ).toEqual(["ORDER_STATUS_CANCELLED"]);
  const missing = await run("curl", [
    "--silent",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    `${gw}/v1/orders/ord_none`,
  ]);
  expect(missing.stdout).toBe("404");
});

it.each(["connect", "grpcweb"] as const)(
  "buf curl --protocol %s reaches the order service",
  async (protocol) => {
    const created = JSON.parse(await bufCurl(protocol, "CreateOrder", order));
    const id: string = created.order.orderId;
    expect(
      JSON.parse(await bufCurl(protocol, "GetOrder", JSON.stringify({ orderId: id }))).order.status,
    ).toBe("ORDER_STATUS_CONFIRMED");
    await bufCurl(protocol, "CancelOrder", JSON.stringify({ orderId: id }));
    const watched = await bufCurl(protocol, "WatchOrder", JSON.stringify({ orderId: id }));
    expect(JSON.parse(watched).order.status).toBe("ORDER_STATUS_CANCELLED");
    const failure = await bufCurl(
      protocol,
      "GetOrder",
      JSON.stringify({ orderId: "ord_none" }),
    ).catch((e: { stderr: string }) => e.stderr);
    expect(failure).toMatch(/not_found/i);
  },
);
