import { create } from "@bufbuild/protobuf";
import {
  Code,
  createClient,
  decodeBinaryHeader,
  encodeBinaryHeader,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { StockLevelSchema } from "../../gen/acme/inventory/v1/inventory_service_pb.js";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { createServer, defineService, type Server } from "../../src/server/index.js";
import {
  type ClosableTransport,
  createTransport,
  failedBeforeSending,
} from "../../src/transport/index.js";
import { rejection } from "../support/rejection.js";
import { closedPort } from "./free-port.js";
import { createScriptedOrderService, createServerLog } from "./scripted-order-service.js";

/** Options every transport takes under the same name. */
interface ExtraOptions {
  readonly interceptors?: Interceptor[];
  readonly maxReceiveMessageBytes?: number;
}

interface TransportCase {
  readonly name: string;
  make(port: number, extra?: ExtraOptions): Transport;
}

const opened: ClosableTransport[] = [];
function track(transport: ClosableTransport): Transport {
  opened.push(transport);
  return transport;
}

// Through `createTransport`, the one option client code uses to pick a transport.
const cases: TransportCase[] = [
  {
    name: "http2 lean engine",
    make: (port, extra = {}) =>
      track(createTransport({ kind: "http2", baseUrl: `http://127.0.0.1:${port}`, ...extra })),
  },
  {
    name: "grpc-js channel (the default kind)",
    make: (port, extra = {}) =>
      track(createTransport({ baseUrl: `http://127.0.0.1:${port}`, ...extra })),
  },
  {
    name: "connect-node gRPC",
    make: (port, extra = {}) =>
      track(
        createTransport({ kind: "connect-node", baseUrl: `http://127.0.0.1:${port}`, ...extra }),
      ),
  },
  {
    name: "connect-node Connect protocol",
    make: (port, extra = {}) =>
      track(
        createTransport({
          kind: "connect-node",
          protocol: "connect",
          baseUrl: `http://127.0.0.1:${port}`,
          ...extra,
        }),
      ),
  },
];

const log = createServerLog();
let server: Server;
let port: number;
beforeAll(async () => {
  server = createServer({
    services: [defineService(OrderService, createScriptedOrderService(log))],
    drainTimeoutMs: 1_000,
  });
  ({ port } = await server.listen());
});
afterAll(async () => {
  for (const transport of opened) transport.close();
  await server.close();
});

describe.each(cases)("$name transport", ({ make }) => {
  it("makes a unary call", async () => {
    const orders = createClient(OrderService, make(port));
    const { order } = await orders.getOrder({ orderId: "ord_1" });
    expect(order?.orderId).toBe("ord_1");
  });

  it("streams every server message, then ends", async () => {
    const orders = createClient(OrderService, make(port));
    const seen: string[] = [];
    for await (const update of orders.watchOrder({ orderId: "stream:3" })) {
      seen.push(update.order?.orderId ?? "");
    }
    expect(seen).toEqual(["update-0", "update-1", "update-2"]);
  });

  it("carries metadata both ways, binary values included", async () => {
    const orders = createClient(OrderService, make(port));
    const blob = new Uint8Array([0, 1, 254, 255]);
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const { order } = await orders.getOrder(
      { orderId: "echo" },
      {
        headers: { "x-caller": "billing", "x-blob-bin": encodeBinaryHeader(blob) },
        onHeader: (h) => {
          header = h;
        },
        onTrailer: (t) => {
          trailer = t;
        },
      },
    );
    expect(order?.customerId).toBe("billing");
    expect(header?.get("x-echo-caller")).toBe("billing");
    expect(decodeBinaryHeader(header?.get("x-echo-blob-bin") ?? "")).toEqual(blob);
    expect(trailer?.get("x-trailer")).toBe("done");
  });

  it("lets interceptors see and change the request and response", async () => {
    const seen: string[] = [];
    const stamp: Interceptor = (next) => async (req) => {
      seen.push(req.method.name);
      req.header.set("x-caller", "intercepted");
      const res = await next(req);
      seen.push(res.header.get("x-echo-caller") ?? "");
      return res;
    };
    const orders = createClient(OrderService, make(port, { interceptors: [stamp] }));
    const { order } = await orders.getOrder({ orderId: "echo" });
    expect(order?.customerId).toBe("intercepted");
    expect(seen).toEqual(["GetOrder", "intercepted"]);
  });

  it("fails with DeadlineExceeded when the deadline passes", async () => {
    const orders = createClient(OrderService, make(port));
    const before = log.waiting.length;
    const error = await rejection(orders.getOrder({ orderId: "hang" }, { timeoutMs: 150 }));
    expect(error.code).toBe(Code.DeadlineExceeded);
    // The deadline travelled: the server's handler was cancelled too.
    await vi.waitFor(() => expect(log.waiting[before]?.aborted).toBe(true), { timeout: 5_000 });
  });

  it("cancels the call and the server's handler when the caller aborts", async () => {
    const orders = createClient(OrderService, make(port));
    const before = log.waiting.length;
    const controller = new AbortController();
    const call = rejection(orders.getOrder({ orderId: "hang" }, { signal: controller.signal }));
    await vi.waitFor(() => expect(log.waiting.length).toBe(before + 1), { timeout: 5_000 });
    const handlerSignal = log.waiting[before];
    expect(handlerSignal?.aborted).toBe(false);
    controller.abort();
    expect((await call).code).toBe(Code.Canceled);
    await vi.waitFor(() => expect(handlerSignal?.aborted).toBe(true), { timeout: 5_000 });
  });

  it("cancels a server stream mid-way, server side included", async () => {
    const orders = createClient(OrderService, make(port));
    const before = log.waiting.length;
    const controller = new AbortController();
    const seen: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const update of orders.watchOrder(
          { orderId: "stream-hang" },
          { signal: controller.signal },
        )) {
          seen.push(update.order?.orderId ?? "");
          await vi.waitFor(() => expect(log.waiting.length).toBe(before + 1), { timeout: 5_000 });
          controller.abort();
        }
      })(),
    );
    expect(seen).toEqual(["first"]);
    expect(error.code).toBe(Code.Canceled);
    await vi.waitFor(() => expect(log.waiting[before]?.aborted).toBe(true), { timeout: 5_000 });
  });

  it("fails with the server's code, message, metadata and error details", async () => {
    const orders = createClient(OrderService, make(port));
    const error = await rejection(orders.getOrder({ orderId: "fail" }));
    expect(error.code).toBe(Code.NotFound);
    expect(error.rawMessage).toBe("order fail is gone");
    expect(error.metadata.get("x-error-meta")).toBe("yes");
    expect(error.findDetails(StockLevelSchema)).toEqual([
      create(StockLevelSchema, { sku: "sku-mug", available: 7 }),
    ]);
  });

  it("refuses a response larger than maxReceiveMessageBytes with ResourceExhausted", async () => {
    const orders = createClient(OrderService, make(port, { maxReceiveMessageBytes: 64 }));
    const small = await orders.getOrder({ orderId: "ord_small" });
    expect(small.order?.orderId).toBe("ord_small");
    const error = await rejection(orders.getOrder({ orderId: "x".repeat(100) }));
    expect(error.code).toBe(Code.ResourceExhausted);
  });

  it("fails with Unavailable when nothing listens, known to have sent nothing", async () => {
    const orders = createClient(OrderService, make(await closedPort()));
    const error = await rejection(orders.getOrder({ orderId: "ord_1" }));
    expect(error.code).toBe(Code.Unavailable);
    expect(failedBeforeSending(error)).toBe(true);
  });

  it("does not take a server's Unavailable for a call that was never sent", async () => {
    const orders = createClient(OrderService, make(port));
    const error = await rejection(orders.getOrder({ orderId: "unavailable" }));
    expect(error.code).toBe(Code.Unavailable);
    expect(failedBeforeSending(error)).toBe(false);
  });
});
