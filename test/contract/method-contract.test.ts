import { describe, expect, it } from "vitest";
import { InventoryService } from "../../gen/acme/inventory/v1/inventory_service_pb.js";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { isIdempotent, readMethodContract } from "../../src/contract/index.js";

const order = OrderService.method;

describe("readMethodContract", () => {
  it("reads the idempotency level of each method", () => {
    expect(readMethodContract(order.getOrder).idempotency).toBe("no-side-effects");
    expect(readMethodContract(order.cancelOrder).idempotency).toBe("idempotent");
    expect(readMethodContract(order.createOrder).idempotency).toBe("unknown");
    expect(isIdempotent(readMethodContract(order.createOrder))).toBe(false);
    expect(isIdempotent(readMethodContract(order.cancelOrder))).toBe(true);
  });

  it("reads the service default_policy and the method policy", () => {
    const getOrder = readMethodContract(order.getOrder);
    expect(Number(getOrder.servicePolicy?.timeout?.seconds)).toBe(5);
    expect(Number(getOrder.methodPolicy?.timeout?.seconds)).toBe(2);
    expect(getOrder.methodPolicy?.retry?.maxAttempts).toBe(3);
    expect(readMethodContract(order.listOrders).methodPolicy).toBeUndefined();
  });

  it("reads visibility, inheriting from the service, internal by default", () => {
    expect(readMethodContract(order.listOrders).visibility).toBe("public");
    const reserve = readMethodContract(InventoryService.method.reserve);
    expect(reserve.servicePolicy).toBeUndefined();
    expect(reserve.visibility).toBe("internal");
  });
});
