import { Code } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { createOrderService } from "../../examples/order-mesh/order-service.js";
import {
  createInventoryServiceClient,
  createInventoryServiceFake,
} from "../../gen/acme/inventory/v1/inventory_service_protomesh.js";
import { OrderService, OrderStatus } from "../../gen/acme/order/v1/order_service_pb.js";
import {
  createOrderServiceClient,
  createOrderServiceFake,
} from "../../gen/acme/order/v1/order_service_protomesh.js";
import { createServer, defineService, type Server } from "../../src/index.js";
import { rejection } from "../support/rejection.js";

/** Reserve answers with what it was asked to hold, when it is let through. */
function inventoryFake(failures: Parameters<typeof createInventoryServiceFake>[0] = {}) {
  return createInventoryServiceFake({
    implementation: {
      reserve: (request) => ({
        reservation: { reservationId: request.reservationId, lines: request.lines },
      }),
    },
    ...failures,
  });
}

/** The order service as its own code runs it, over an inventory client on the fake. */
function orderServiceOver(inventory: ReturnType<typeof inventoryFake>, timeoutMs = 2_000) {
  const inventoryClient = createInventoryServiceClient({
    transport: inventory.transport,
    target: "inventory",
    // Fast, deterministic backoff; attempts and retryable codes stay the contract's.
    policy: { timeoutMs, retry: { backoff: { initialMs: 1, maxMs: 2, jitter: "none" } } },
  });
  const orders = createOrderServiceFake({
    implementation: createOrderService({ inventory: inventoryClient }),
  });
  return createOrderServiceClient({ transport: orders.transport });
}

const order = {
  customerId: "cus_1",
  items: [{ sku: "sku-mug", quantity: 2, unitPrice: { currencyCode: "EUR", units: 4n } }],
};

describe("the order service against an inventory fake (no network)", () => {
  it("retries Reserve (IDEMPOTENT) up to the contract's 3 attempts, then fails Unavailable", async () => {
    const inventory = inventoryFake({ failures: { reserve: { code: Code.Unavailable } } });
    const error = await rejection(orderServiceOver(inventory).createOrder(order));
    expect(error.code).toBe(Code.Unavailable);
    const calls = inventory.callsTo("reserve");
    expect(calls).toHaveLength(3);
    for (const call of calls) {
      expect(call.request?.reservationId).toBe("res_ord_0001");
      expect(call.request?.lines.map((l) => [l.sku, l.quantity])).toEqual([["sku-mug", 2]]);
      // The deadline travelled with every attempt.
      expect(Number(call.headers.get("connect-timeout-ms"))).toBeGreaterThan(0);
    }
  });

  it("confirms the order when inventory recovers after two Unavailable answers", async () => {
    const inventory = inventoryFake({
      failures: { reserve: { code: Code.Unavailable, times: 2 } },
    });
    const { order: placed } = await orderServiceOver(inventory).createOrder(order);
    expect(placed?.status).toBe(OrderStatus.CONFIRMED);
    expect(inventory.callsTo("reserve")).toHaveLength(3);
  });

  it("gives up at the inventory client's deadline when inventory is slow", async () => {
    const inventory = inventoryFake({ failures: { reserve: { delayMs: 5_000 } } });
    const started = Date.now();
    const error = await rejection(orderServiceOver(inventory, 200).createOrder(order));
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it("answers Unimplemented for a method the test did not supply, and records it", async () => {
    const inventory = inventoryFake();
    const orders = orderServiceOver(inventory);
    const { order: placed } = await orders.createOrder(order);
    // CancelOrder calls Release, which this fake does not implement.
    const error = await rejection(orders.cancelOrder({ orderId: placed?.orderId ?? "" }));
    expect(error.code).toBe(Code.Unimplemented);
    expect(inventory.callsTo("release").map((c) => c.request?.reservationId)).toEqual([
      "res_ord_0001",
    ]);
    expect(inventory.calls.map((c) => c.method)).toEqual(["reserve", "release"]);
  });
});

describe("the generated order client against a real server on 127.0.0.1", () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it("places an order, and passes the inventory fake's Unavailable on without retrying CreateOrder", async () => {
    const inventory = inventoryFake();
    const inventoryClient = createInventoryServiceClient({
      transport: inventory.transport,
      policy: { retry: { backoff: { initialMs: 1, maxMs: 2, jitter: "none" } } },
    });
    server = createServer({
      services: [defineService(OrderService, createOrderService({ inventory: inventoryClient }))],
    });
    const { url } = await server.listen({ host: "127.0.0.1", port: 0 });
    const orders = createOrderServiceClient({ baseUrl: url });

    const { order: placed } = await orders.createOrder(order, {
      headers: { "x-request-id": "req-consumer-1" },
    });
    expect(placed?.status).toBe(OrderStatus.CONFIRMED);
    // The order server's outbound call carried the inbound correlation id to the fake.
    expect(inventory.callsTo("reserve")[0]?.headers.get("x-request-id")).toBe("req-consumer-1");

    inventory.inject("reserve", { code: Code.Unavailable });
    inventory.clearCalls();
    const error = await rejection(orders.createOrder(order));
    expect(error.code).toBe(Code.Unavailable);
    // Inventory saw Reserve's three attempts; CreateOrder (not idempotent) was sent once.
    expect(inventory.callsTo("reserve")).toHaveLength(3);
  });
});
