import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { createServer, defineService, type Server } from "../../src/server/index.js";
import { createGrpcJsTransport, type GrpcJsTransport } from "../../src/transport/index.js";
import {
  createScriptedOrderService,
  createServerLog,
  type ServerLog,
} from "./scripted-order-service.js";

interface Backend {
  readonly server: Server;
  readonly log: ServerLog;
  readonly port: number;
}

async function startBackend(): Promise<Backend> {
  const log = createServerLog();
  const server = createServer({
    services: [defineService(OrderService, createScriptedOrderService(log))],
    drainTimeoutMs: 1_000,
  });
  const { port } = await server.listen();
  return { server, log, port };
}

let a: Backend;
let b: Backend;
let transport: GrpcJsTransport;
beforeAll(async () => {
  [a, b] = await Promise.all([startBackend(), startBackend()]);
  transport = createGrpcJsTransport({ target: `ipv4:127.0.0.1:${a.port},127.0.0.1:${b.port}` });
});
afterAll(async () => {
  transport.close();
  await Promise.all([a.server.close(), b.server.close()]);
});

describe("grpc-js transport over two addresses", () => {
  it("spreads calls round-robin, then keeps calling the one left when the other stops", async () => {
    const orders = createClient(OrderService, transport);
    // Both connections come up before the count starts, so the split is the policy's alone.
    for (let i = 0; i < 50 && (a.log.calls === 0 || b.log.calls === 0); i++) {
      await orders.getOrder({ orderId: `warm-${i}` });
    }
    const [beforeA, beforeB] = [a.log.calls, b.log.calls];
    for (let i = 0; i < 20; i++) await orders.getOrder({ orderId: `ord_${i}` });
    const servedA = a.log.calls - beforeA;
    const servedB = b.log.calls - beforeB;
    expect(servedA + servedB).toBe(20);
    // Round robin alternates: pick_first would send all 20 to one backend.
    expect(servedA).toBeGreaterThanOrEqual(8);
    expect(servedB).toBeGreaterThanOrEqual(8);

    await b.server.close();
    const left = a.log.calls;
    for (let i = 0; i < 20; i++) {
      const { order } = await orders.getOrder({ orderId: `after-${i}` });
      expect(order?.orderId).toBe(`after-${i}`);
    }
    expect(a.log.calls - left).toBe(20);
  });
});
