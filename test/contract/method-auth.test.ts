import { describe, expect, it } from "vitest";
import { InventoryService } from "../../gen/acme/inventory/v1/inventory_service_pb.js";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { GuardedService } from "../../gen/protomesh/testing/v1/guarded_pb.js";
import { readMethodAuth } from "../../src/contract/index.js";

const guarded = GuardedService.method;

describe("readMethodAuth", () => {
  it("requires authentication on PUBLIC methods by default, not on INTERNAL ones", () => {
    expect(readMethodAuth(guarded.public).authenticationRequired).toBe(true);
    expect(readMethodAuth(OrderService.method.getOrder)).toMatchObject({
      authenticationRequired: true,
      explicit: false,
    });
    expect(readMethodAuth(InventoryService.method.reserve)).toMatchObject({
      authenticationRequired: false,
      explicit: false,
    });
  });

  it("reads the method's auth over the service's, with the match defaults", () => {
    expect(readMethodAuth(guarded.open).authenticationRequired).toBe(false);
    expect(readMethodAuth(guarded.scoped)).toMatchObject({
      name: "/protomesh.testing.v1.GuardedService/Scoped",
      scopes: ["orders:read", "orders:write"],
      scopesMatch: "all-of",
      rolesMatch: "any-of",
      explicit: true,
    });
    expect(readMethodAuth(guarded.roles)).toMatchObject({
      roles: ["admin", "operator"],
      rolesMatch: "any-of",
    });
  });

  it("makes any requirement imply authentication, internal methods included", () => {
    expect(readMethodAuth(guarded.internal)).toMatchObject({
      authenticationRequired: true,
      identities: ["spiffe://mesh.test/order"],
    });
  });
});
