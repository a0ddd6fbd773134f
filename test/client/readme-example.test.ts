import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { afterEach, expect, it } from "vitest";
import { OrderSchema, OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { createClient } from "../../src/client/index.js";
import { createServer, defineService, type Server } from "../../src/index.js";
import { attemptsOf, callPolicyKey } from "../../src/resilience/index.js";

let server: Server | undefined;
afterEach(() => server?.close());

// The README's example, kept compiling and running here so the docs cannot drift.
it("runs the README example", async () => {
  let calls = 0;
  server = createServer({
    services: [
      defineService(OrderService, {
        getOrder: () => {
          calls++;
          throw new ConnectError("down", Code.Unavailable);
        },
        cancelOrder: () => ({ order: create(OrderSchema, { orderId: "ord_0001" }) }),
      }),
    ],
  });
  const { url } = await server.listen();
  const retried: number[] = [];

  // --- README example starts ---
  const orders = createClient(OrderService, {
    baseUrl: url,
    policy: { bulkhead: { maxConcurrent: 50, maxQueue: 0 } }, // every method
    methodPolicies: { getOrder: { perAttemptTimeoutMs: 300 } }, // one method
    events: { onRetry: (e) => retried.push(e.attempt) },
  });

  try {
    await orders.getOrder(
      { orderId: "ord_0001" },
      {
        timeoutMs: 1_000, // per call: wins over every other level
        contextValues: createContextValues().set(callPolicyKey, {
          retry: { maxAttempts: 2, backoff: { initialMs: 10 } },
        }),
      },
    );
  } catch (error) {
    // Always a ConnectError: here Unavailable after 2 attempts.
    expect(error).toBeInstanceOf(ConnectError);
    expect(attemptsOf(error)).toBe(2);
  }
  // --- README example ends ---

  expect(calls).toBe(2);
  expect(retried).toEqual([1]);
  expect((await orders.cancelOrder({})).order?.orderId).toBe("ord_0001");
});
