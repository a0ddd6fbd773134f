import { Code } from "@connectrpc/connect";
import { expect, it } from "vitest";
import {
  createInventoryServiceClient,
  createInventoryServiceFake,
  inventoryServicePolicies,
} from "../../gen/acme/inventory/v1/inventory_service_protomesh.js";

// The README's example of the generated code, kept compiling and running here.
it("runs the README example of the generated client factory and fake", async () => {
  // --- README example starts ---
  // In production: a typed client whose calls follow the contract's policy.
  const inventory = createInventoryServiceClient({ baseUrl: "http://inventory.internal:8081" });

  // In a consumer's test: no network, Reserve answers Unavailable twice, then for real.
  const fake = createInventoryServiceFake({
    implementation: { reserve: (req) => ({ reservation: { reservationId: req.reservationId } }) },
    failures: { reserve: { code: Code.Unavailable, times: 2 } },
  });
  const client = createInventoryServiceClient({ transport: fake.transport });
  await client.reserve({ reservationId: "res_1" }); // succeeds on the third attempt
  fake.callsTo("reserve").length; // 3, each with its request and headers
  inventoryServicePolicies.reserve.retry.maxAttempts; // 3, as the contract resolves it
  // --- README example ends ---

  expect(typeof inventory.reserve).toBe("function");
  expect(fake.callsTo("reserve")).toHaveLength(3);
  expect(fake.callsTo("reserve").map((c) => c.request?.reservationId)).toEqual([
    "res_1",
    "res_1",
    "res_1",
  ]);
  expect(inventoryServicePolicies.reserve.retry.maxAttempts).toBe(3);
});
