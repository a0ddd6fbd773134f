import { create } from "@bufbuild/protobuf";
import { createClient as createConnectClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { OrderSchema, OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { type CallContext, currentCallContext } from "../../src/context/index.js";
import { createServer, defineService, type Server } from "../../src/index.js";

let server: Server | undefined;
afterEach(() => server?.close());

/** An order service that reports the call context its handlers see. */
async function serveRecording(seen: (CallContext | undefined)[], protocol = "grpc") {
  server = createServer({
    logger: false,
    services: [
      defineService(OrderService, {
        async getOrder() {
          await new Promise((resolve) => setImmediate(resolve));
          seen.push(currentCallContext());
          return { order: create(OrderSchema, { orderId: "ord_1" }) };
        },
        async *watchOrder() {
          seen.push(currentCallContext());
          yield { order: create(OrderSchema, { orderId: "ord_1" }) };
          await new Promise((resolve) => setImmediate(resolve));
          seen.push(currentCallContext());
          yield { order: create(OrderSchema, { orderId: "ord_1" }) };
        },
      }),
    ],
  });
  const { url } = await server.listen();
  const transport =
    protocol === "grpc"
      ? createGrpcTransport({ baseUrl: url })
      : createConnectTransport({ baseUrl: url, httpVersion: "1.1" });
  return createConnectClient(OrderService, transport);
}

describe("call context of inbound calls", () => {
  it.each(["grpc", "connect"])(
    "takes the caller's x-request-id, echoes it, and sees the deadline (%s)",
    async (protocol) => {
      const seen: (CallContext | undefined)[] = [];
      const client = await serveRecording(seen, protocol);
      let echoed: string | null = null;
      const before = Date.now();
      await client.getOrder(
        { orderId: "ord_1" },
        {
          headers: { "x-request-id": "req-123" },
          timeoutMs: 5_000,
          onHeader: (h) => (echoed = h.get("x-request-id")),
        },
      );
      expect(echoed).toBe("req-123");
      expect(seen[0]?.correlationId).toBe("req-123");
      expect(seen[0]?.deadline).toBeGreaterThan(before);
      expect(seen[0]?.deadline).toBeLessThanOrEqual(Date.now() + 5_000);
      expect(seen[0]?.signal).toBeInstanceOf(AbortSignal);
    },
  );

  it("falls back to the traceparent trace id, then to a fresh id, and has no deadline unless asked", async () => {
    const seen: (CallContext | undefined)[] = [];
    const client = await serveRecording(seen);
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    await client.getOrder({}, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    await client.getOrder({}, { headers: { "x-request-id": "bad id with spaces" } });
    await client.getOrder({});
    expect(seen[0]?.correlationId).toBe(traceId);
    expect(seen[1]?.correlationId).toMatch(/^[\da-f]{32}$/);
    expect(seen[2]?.correlationId).toMatch(/^[\da-f]{32}$/);
    expect(seen[1]?.correlationId).not.toBe(seen[2]?.correlationId);
    expect(seen[2]?.deadline).toBeUndefined();
  });

  it("keeps the context across yields of a streaming handler", async () => {
    const seen: (CallContext | undefined)[] = [];
    const client = await serveRecording(seen);
    const received = [];
    for await (const update of client.watchOrder({}, { headers: { "x-request-id": "stream-1" } })) {
      received.push(update);
    }
    expect(received).toHaveLength(2);
    expect(seen.map((c) => c?.correlationId)).toEqual(["stream-1", "stream-1"]);
  });
});
