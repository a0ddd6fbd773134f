/**
 * A real OrderService on 127.0.0.1 whose answers are scripted per call, to inject faults on
 * the server side: fail (with a code and metadata), delay, hang until cancelled. It records
 * what it saw of each call: the deadline, the correlation id, and whether its signal aborted.
 */
import { createServer as createHttp2Server } from "node:http2";
import { createServer as createNetServer, type Socket } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { OrderSchema, OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { createServer, defineService } from "../../src/index.js";
import { createTransport } from "../../src/transport/index.js";

export type Fault =
  | { readonly kind: "ok" }
  | { readonly kind: "fail"; readonly code: Code; readonly metadata?: Record<string, string> }
  | { readonly kind: "delay"; readonly ms: number }
  | { readonly kind: "hang" };

export interface SeenCall {
  readonly method: string;
  /** 1-based count of calls of this method. */
  readonly n: number;
  readonly timeoutMs: number | undefined;
  readonly requestId: string | null;
  readonly signal: AbortSignal;
}

export type Script = (call: { method: string; n: number }) => Fault;

/** A work-around for each handler: every unary method of OrderService runs `handle`. */
export async function startFaultServer(
  script: Script,
  nested?: (context: HandlerContext) => Promise<void>,
) {
  const calls: SeenCall[] = [];
  const counts = new Map<string, number>();
  const order = create(OrderSchema, { orderId: "ord_1" });

  async function handle(method: string, context: HandlerContext) {
    const n = (counts.get(method) ?? 0) + 1;
    counts.set(method, n);
    calls.push({
      method,
      n,
      timeoutMs: context.timeoutMs(),
      requestId: context.requestHeader.get("x-request-id"),
      signal: context.signal,
    });
    if (nested) await nested(context);
    const fault = script({ method, n });
    switch (fault.kind) {
      case "fail":
        throw new ConnectError(`injected ${Code[fault.code]}`, fault.code, fault.metadata);
      case "delay":
        await waitFor(fault.ms, context.signal);
        break;
      case "hang":
        await waitFor(60_000, context.signal);
        break;
    }
    return { order };
  }

  const server = createServer({
    drainTimeoutMs: 100,
    services: [
      defineService(OrderService, {
        createOrder: (_req, ctx) => handle("createOrder", ctx),
        getOrder: (_req, ctx) => handle("getOrder", ctx),
        cancelOrder: (_req, ctx) => handle("cancelOrder", ctx),
        async *watchOrder(_req, ctx) {
          yield await handle("watchOrder", ctx);
        },
        listOrders: async (_req, ctx) => {
          await handle("listOrders", ctx);
          return { orders: [order] };
        },
      }),
    ],
  });
  const { url } = await server.listen();
  return {
    url,
    calls,
    count: (method: string) => calls.filter((c) => c.method === method).length,
    close: () => server.close(),
  };
}

function waitFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}

/**
 * An HTTP/2 server that completes the handshake, then drops the connection as soon as a
 * request's stream arrives: the request has provably left the client, so a non-idempotent call
 * must not be retried. (Dropping before the handshake would be a failure to connect, which
 * every transport rightly treats as never sent.)
 */
export async function startDroppingServer() {
  let requests = 0;
  const sockets = new Set<Socket>();
  const server = createHttp2Server();
  server.on("connection", (socket: Socket) => sockets.add(socket));
  server.on("stream", (stream) => {
    requests++;
    stream.session?.socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A URL where nothing listens: connecting is refused, so nothing can have been sent. */
export async function refusedUrl(): Promise<string> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** The transports every behaviour test runs on. */
export const transports = [
  {
    name: "http2 lean engine",
    create: (baseUrl: string) => createTransport({ kind: "http2", baseUrl }),
  },
  { name: "grpc-js channel", create: (baseUrl: string) => createTransport({ baseUrl }) },
  { name: "connect-node gRPC", create: (baseUrl: string) => createGrpcTransport({ baseUrl }) },
  {
    name: "connect-node Connect protocol (HTTP/2)",
    create: (baseUrl: string) => createConnectTransport({ baseUrl, httpVersion: "2" }),
  },
];

/** Resolves once `predicate` holds, polling; bounded so a broken behaviour fails the test. */
export async function eventually(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const start = performance.now();
  while (!predicate()) {
    if (performance.now() - start > timeoutMs) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
