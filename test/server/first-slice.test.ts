import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Mesh, startMesh } from "../../examples/order-mesh/mesh.js";
import { InventoryService } from "../../gen/acme/inventory/v1/inventory_service_pb.js";
import { OrderService, OrderStatus } from "../../gen/acme/order/v1/order_service_pb.js";
import { createClient } from "../../src/index.js";
import { rejection } from "../support/rejection.js";

let mesh: Mesh;
beforeAll(async () => {
  mesh = await startMesh({ orderPort: 0, inventoryPort: 0 });
});
afterAll(() => mesh.close());

const mug = (quantity: number) => ({
  sku: "sku-mug",
  quantity,
  unitPrice: { currencyCode: "EUR", units: 12n, nanos: 500_000_000 },
});

describe("generated client → server over gRPC on 127.0.0.1", () => {
  it("listens on an ephemeral loopback port", () => {
    expect(mesh.order.host).toBe("127.0.0.1");
    expect(mesh.order.port).toBeGreaterThan(0);
    expect(mesh.order.url).toBe(`http://127.0.0.1:${mesh.order.port}`);
  });

  it("creates and reads an order, which reserved stock through the inventory service", async () => {
    const orders = createClient(OrderService, { baseUrl: mesh.order.url });
    const inventory = createClient(InventoryService, { baseUrl: mesh.inventory.url });
    const before = await inventory.checkStock({ skus: ["sku-mug"] });

    const { order } = await orders.createOrder({ customerId: "cus_1", items: [mug(3)] });
    expect(order?.status).toBe(OrderStatus.CONFIRMED);
    expect(order?.total).toMatchObject({ currencyCode: "EUR", units: 37n, nanos: 500_000_000 });

    const read = await orders.getOrder({ orderId: order?.orderId ?? "" });
    expect(read.order?.orderId).toBe(order?.orderId);
    const after = await inventory.checkStock({ skus: ["sku-mug"] });
    expect(after.levels[0]?.available).toBe((before.levels[0]?.available ?? 0) - 3);
  });

  it("streams WatchOrder: the current state, then each change, ending at a final state", async () => {
    const orders = createClient(OrderService, { baseUrl: mesh.order.url });
    const { order } = await orders.createOrder({ customerId: "cus_2", items: [mug(1)] });
    const orderId = order?.orderId ?? "";

    const seen: OrderStatus[] = [];
    for await (const update of orders.watchOrder({ orderId })) {
      seen.push(update.order?.status ?? OrderStatus.UNSPECIFIED);
      if (seen.length === 1) await orders.cancelOrder({ orderId, reason: "changed my mind" });
    }
    expect(seen).toEqual([OrderStatus.CONFIRMED, OrderStatus.CANCELLED]);
  });

  it("answers NOT_FOUND with a message for an unknown order", async () => {
    const orders = createClient(OrderService, { baseUrl: mesh.order.url });
    const error = await rejection(orders.getOrder({ orderId: "ord_missing" }));
    expect(error.code).toBe(Code.NotFound);
    expect(error.rawMessage).toBe('order "ord_missing" not found');
  });

  it("carries the inventory's FAILED_PRECONDITION back through the order service", async () => {
    const orders = createClient(OrderService, { baseUrl: mesh.order.url });
    const error = await rejection(
      orders.createOrder({
        customerId: "cus_3",
        items: [{ ...mug(1), sku: "sku-tee", quantity: 1000 }],
      }),
    );
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.rawMessage).toMatch(/insufficient stock for sku-tee/);
  });

  it("pages through ListOrders and rejects a forged page token", async () => {
    const orders = createClient(OrderService, { baseUrl: mesh.order.url });
    for (let i = 0; i < 3; i++)
      await orders.createOrder({ customerId: "cus_pages", items: [mug(1)] });
    const first = await orders.listOrders({ customerId: "cus_pages", pageSize: 2 });
    expect(first.orders).toHaveLength(2);
    expect(first.nextPageToken).not.toBe("");
    const second = await orders.listOrders({
      customerId: "cus_pages",
      pageSize: 2,
      pageToken: first.nextPageToken,
    });
    expect(second.orders).toHaveLength(1);
    expect(second.nextPageToken).toBe("");
    const ids = [...first.orders, ...second.orders].map((o) => o.orderId);
    expect(new Set(ids).size).toBe(3);

    const error = await rejection(orders.listOrders({ pageToken: "not-a-token" }));
    expect(error.code).toBe(Code.InvalidArgument);
  });
});
