import { getEventListeners } from "node:events";
import { Code, createClient, type Interceptor } from "@connectrpc/connect";
import { Server as GrpcServer, ServerCredentials, type StatusObject, status } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { createServer, defineService, type Server } from "../../src/server/index.js";
import {
  createGrpcJsTransport,
  createTransport,
  failedBeforeSending,
  type GrpcJsTransport,
} from "../../src/transport/index.js";
import { rejection } from "../support/rejection.js";
import { createScriptedOrderService, createServerLog } from "./scripted-order-service.js";

const log = createServerLog();
let server: Server;
let target: string;
beforeAll(async () => {
  server = createServer({
    services: [defineService(OrderService, createScriptedOrderService(log))],
    drainTimeoutMs: 1_000,
  });
  target = `127.0.0.1:${(await server.listen()).port}`;
});
afterAll(() => server.close());

let transport: GrpcJsTransport | undefined;
afterEach(() => transport?.close());

describe("grpc-js transport", () => {
  it("never retries by itself, even when a retry policy is slipped into the channel options", async () => {
    // A grpc-js server answers errors trailers-only, the case grpc-js would retry.
    let attempts = 0;
    const grpcServer = new GrpcServer();
    const same = (bytes: Buffer): Buffer => bytes;
    grpcServer.addService(
      {
        GetOrder: {
          path: `/${OrderService.typeName}/GetOrder`,
          requestStream: false,
          responseStream: false,
          requestSerialize: same,
          requestDeserialize: same,
          responseSerialize: same,
          responseDeserialize: same,
        },
      },
      {
        GetOrder: (_call: unknown, callback: (error: Partial<StatusObject>) => void) => {
          attempts += 1;
          callback({ code: status.UNAVAILABLE, details: "try another backend" });
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      grpcServer.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    const retryEverything = {
      methodConfig: [
        {
          name: [{ service: OrderService.typeName }],
          retryPolicy: {
            maxAttempts: 5,
            initialBackoff: "0.01s",
            maxBackoff: "0.01s",
            backoffMultiplier: 1,
            retryableStatusCodes: ["UNAVAILABLE"],
          },
        },
      ],
    };
    transport = createGrpcJsTransport({
      target: `127.0.0.1:${port}`,
      channelOptions: {
        "grpc.service_config": JSON.stringify(retryEverything),
        "grpc.enable_retries": 1,
      },
    });
    try {
      const orders = createClient(OrderService, transport);
      const error = await rejection(orders.getOrder({ orderId: "ord_1" }));
      expect(error.code).toBe(Code.Unavailable);
      expect(error.rawMessage).toBe("try another backend");
      expect(attempts).toBe(1);
    } finally {
      grpcServer.forceShutdown();
    }
  });

  it("takes the deadline from grpc-timeout as interceptors leave it, so they can shorten it", async () => {
    const shorten: Interceptor = (next) => (req) => {
      req.header.set("grpc-timeout", "100m");
      return next(req);
    };
    transport = createGrpcJsTransport({ target, interceptors: [shorten] });
    const orders = createClient(OrderService, transport);
    const error = await rejection(orders.getOrder({ orderId: "hang" }, { timeoutMs: 60_000 }));
    expect(error.code).toBe(Code.DeadlineExceeded);
  });

  it("listens once on a signal many calls share, so no listener count grows per call", async () => {
    transport = createGrpcJsTransport({ target });
    const orders = createClient(OrderService, transport);
    const controller = new AbortController();
    const before = log.waiting.length;
    const calls = Array.from({ length: 50 }, () =>
      rejection(orders.getOrder({ orderId: "hang" }, { signal: controller.signal })),
    );
    await vi.waitFor(() => expect(log.waiting.length - before).toBe(50), { timeout: 5_000 });
    // Node 20 warns past 10 listeners (MaxListenersExceededWarning); each also costs time.
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    controller.abort();
    const errors = await Promise.all(calls);
    expect(errors.map((e) => e.code)).toEqual(errors.map(() => Code.Canceled));
  });

  it("cancels the call when its reader returns early (Connect clients never do: they abort)", async () => {
    transport = createGrpcJsTransport({ target });
    const before = log.waiting.length;
    const response = await transport.stream(
      OrderService.method.watchOrder,
      undefined,
      undefined,
      undefined,
      (async function* () {
        yield { orderId: "stream-hang" };
      })(),
    );
    const reader = response.message[Symbol.asyncIterator]();
    expect((await reader.next()).value).toMatchObject({ order: { orderId: "first" } });
    await vi.waitFor(() => expect(log.waiting.length).toBe(before + 1), { timeout: 5_000 });
    expect(await reader.return?.()).toEqual({ value: undefined, done: true });
    await vi.waitFor(() => expect(log.waiting[before]?.aborted).toBe(true), { timeout: 5_000 });
  });

  it("turns whatever an interceptor throws into a ConnectError", async () => {
    const throwsSync: Interceptor = () => () => {
      throw new Error("sync");
    };
    const rejects: Interceptor = () => () => Promise.reject(new Error("async"));
    for (const interceptor of [throwsSync, rejects]) {
      const made = createGrpcJsTransport({ target, interceptors: [interceptor] });
      try {
        const error = await rejection(createClient(OrderService, made).getOrder({}));
        expect(error.code).toBe(Code.Unknown);
      } finally {
        made.close();
      }
    }
  });

  it("resolves a dns:/// target", async () => {
    transport = createGrpcJsTransport({ target: `dns:///localhost:${target.split(":")[1]}` });
    const { order } = await createClient(OrderService, transport).getOrder({ orderId: "ord_dns" });
    expect(order?.orderId).toBe("ord_dns");
  });

  it("rejects metadata grpc-js cannot send with a ConnectError, not a thrown Error", async () => {
    transport = createGrpcJsTransport({ target });
    const orders = createClient(OrderService, transport);
    const before = log.calls;
    const call = orders.getOrder({ orderId: "ord_1" }, { headers: { "x-name": "café" } });
    const error = await rejection(call);
    expect(error.code).toBe(Code.Internal);
    expect(log.calls).toBe(before);
  });

  it("is the kind createTransport makes by default", () => {
    const made = createTransport({ target });
    transport = made as GrpcJsTransport;
    expect(made).toHaveProperty("channel");
  });

  it("fails calls on a closed transport with Unavailable", async () => {
    transport = createGrpcJsTransport({ target });
    transport.close();
    const orders = createClient(OrderService, transport);
    const error = await rejection(orders.getOrder({ orderId: "ord_1" }));
    expect(error.code).toBe(Code.Unavailable);
    expect(failedBeforeSending(error)).toBe(true);
  });
});
