import { create } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { OrderSchema, OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { EchoService } from "../../gen/protomesh/bench/v1/echo_pb.js";
import { createServiceFake } from "../../src/testing/index.js";
import { rejection } from "../support/rejection.js";

const orderOf = (orderId: string) => ({ order: create(OrderSchema, { orderId }) });

describe("createServiceFake", () => {
  it("fails only the first N calls, then answers from the implementation", async () => {
    const fake = createServiceFake(OrderService, {
      implementation: { getOrder: (req) => orderOf(req.orderId) },
      failures: { getOrder: { code: Code.ResourceExhausted, message: "busy", times: 2 } },
    });
    const client = createClient(OrderService, fake.transport);
    for (let i = 0; i < 2; i++) {
      const error = await rejection(client.getOrder({ orderId: "o1" }));
      expect([error.code, error.rawMessage]).toEqual([Code.ResourceExhausted, "busy"]);
    }
    expect((await client.getOrder({ orderId: "o1" })).order?.orderId).toBe("o1");
    expect(fake.callsTo("getOrder")).toHaveLength(3);
  });

  it("records server-streaming calls and injects into them too", async () => {
    const fake = createServiceFake(OrderService, {
      implementation: {
        async *watchOrder(req) {
          yield orderOf(req.orderId);
          yield orderOf(`${req.orderId}-again`);
        },
      },
    });
    const client = createClient(OrderService, fake.transport);
    const seen: string[] = [];
    for await (const r of client.watchOrder({ orderId: "o2" }, { headers: { "x-t": "1" } })) {
      seen.push(r.order?.orderId ?? "");
    }
    expect(seen).toEqual(["o2", "o2-again"]);
    expect(fake.calls[0]?.request).toMatchObject({ orderId: "o2" });
    expect(fake.calls[0]?.headers.get("x-t")).toBe("1");

    fake.inject("watchOrder", { code: Code.Unavailable });
    const error = await rejection(
      (async () => {
        for await (const _ of client.watchOrder({ orderId: "o3" })) {
          // nothing arrives
        }
      })(),
    );
    expect(error.code).toBe(Code.Unavailable);
    fake.inject("watchOrder", undefined);
    fake.clearCalls();
    expect(fake.calls).toEqual([]);
  });

  it("cuts an injected delay short at the caller's deadline", async () => {
    const fake = createServiceFake(OrderService, {
      implementation: { getOrder: (req) => orderOf(req.orderId) },
      failures: { getOrder: { delayMs: 10_000 } },
    });
    const started = Date.now();
    const error = await rejection(
      createClient(OrderService, fake.transport).getOrder({ orderId: "o4" }, { timeoutMs: 100 }),
    );
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("records each message of a client stream as the method reads it", async () => {
    const fake = createServiceFake(EchoService, {
      implementation: {
        async echoCollect(requests) {
          const payloads: Uint8Array[] = [];
          for await (const r of requests) payloads.push(r.payload);
          return { payloads };
        },
      },
    });
    const client = createClient(EchoService, fake.transport);
    const sent = [new Uint8Array([1]), new Uint8Array([2, 2])];
    const response = await client.echoCollect(
      (async function* () {
        for (const payload of sent) yield { payload };
      })(),
    );
    expect(response.payloads).toEqual(sent);
    const [call] = fake.callsTo("echoCollect");
    expect(call?.request).toBeUndefined();
    expect(call?.requests.map((r) => r.payload)).toEqual(sent);
    // A method left out answers Unimplemented, and is recorded like any call.
    const error = await rejection(client.echo({ payload: new Uint8Array([3]) }));
    expect(error.code).toBe(Code.Unimplemented);
    expect(fake.calls.map((c) => c.method)).toEqual(["echoCollect", "echo"]);
  });

  it("refuses to inject into a method the service does not have", () => {
    const fake = createServiceFake(OrderService);
    expect(() => fake.inject("getOrders" as "getOrder", { code: Code.Internal })).toThrow(
      "acme.order.v1.OrderService has no method getOrders",
    );
  });
});
