// One trace from a browser through the gateway to order and inventory, read from the OTel SDK's
// in-memory exporter: the gateway continues the browser's traceparent with a server span of its
// own, its upstream call (logical call span, attempt span) runs under it, and order's call to
// inventory (retried once after UNAVAILABLE) shows as two attempts under one logical call.
import { Writable } from "node:stream";
import { Code, ConnectError, createClient as createConnectClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { context, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createInventoryService } from "../../examples/order-mesh/inventory-service.js";
import { createOrderService } from "../../examples/order-mesh/order-service.js";
import { InventoryService } from "../../gen/acme/inventory/v1/inventory_service_pb.js";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { createClient, createServer, defineService, type Server } from "../../src/index.js";

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const gatewayLines: Record<string, unknown>[] = [];
const servers: Server[] = [];
let gateway: Gateway;
let base: string;
// Inventory's Reserve (IDEMPOTENT) fails with UNAVAILABLE on every odd call: each order's
// reservation takes one retry.
let reserves = 0;
/** The `baggage` header of each Reserve that inventory served. */
const inventoryBaggage: (string | null)[] = [];

beforeAll(async () => {
  provider.register();
  const inventoryImpl = createInventoryService({ "sku-mug": 100 });
  const inventory = createServer({
    logger: false,
    services: [
      defineService(InventoryService, {
        ...inventoryImpl,
        reserve(request, handlerContext) {
          reserves++;
          inventoryBaggage.push(handlerContext.requestHeader.get("baggage"));
          if (reserves % 2 === 1) throw new ConnectError("warming up", Code.Unavailable);
          return inventoryImpl.reserve(request, handlerContext);
        },
      }),
    ],
  });
  servers.push(inventory);
  const inventoryUrl = (await inventory.listen()).url;
  const order = createServer({
    logger: false,
    services: [
      defineService(
        OrderService,
        createOrderService({
          inventory: createClient(InventoryService, {
            baseUrl: inventoryUrl,
            policy: { retry: { backoff: { initialMs: 1, maxMs: 5 } } },
          }),
        }),
      ),
    ],
  });
  servers.push(order);
  const orderUrl = (await order.listen()).url;
  gateway = createGateway({
    upstreams: [{ services: [OrderService], baseUrl: orderUrl }],
    logger: pino(
      { level: "info" },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString().split("\n")) {
            if (line) gatewayLines.push(JSON.parse(line));
          }
          done();
        },
      }),
    ),
  });
  base = (await gateway.listen()).url;
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all(servers.map((server) => server.close()));
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

beforeEach(() => {
  exporter.reset();
  gatewayLines.length = 0;
  inventoryBaggage.length = 0;
});

const orderBody = {
  customerId: "cus_1",
  items: [{ sku: "sku-mug", quantity: 1, unitPrice: { currencyCode: "EUR", units: "3" } }],
};

/** A browser-style W3C trace context: a fresh trace id, the page's span as parent. */
function browserTrace() {
  const traceId = crypto.randomUUID().replaceAll("-", "");
  const parentSpanId = "00f067aa0ba902b7";
  return { traceId, parentSpanId, traceparent: `00-${traceId}-${parentSpanId}-01` };
}

async function finishedSpans(count: number): Promise<ReadableSpan[]> {
  // Every span is ended before the answer leaves the gateway, but SimpleSpanProcessor exports
  // asynchronously: wait (bounded) for all of them.
  for (let i = 0; i < 100 && exporter.getFinishedSpans().length < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await provider.forceFlush();
  return exporter.getFinishedSpans();
}

function childrenOf(spans: ReadableSpan[], parent: ReadableSpan): ReadableSpan[] {
  return spans.filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId);
}

function onlyChild(spans: ReadableSpan[], parent: ReadableSpan, kind: SpanKind): ReadableSpan {
  const children = childrenOf(spans, parent);
  expect(children.map((span) => span.kind)).toEqual([kind]);
  return children[0] as ReadableSpan;
}

const createOrder = "acme.order.v1.OrderService/CreateOrder";
const reserve = "acme.inventory.v1.InventoryService/Reserve";

/**
 * Checks the chain below the gateway's server span: its upstream call and attempt, order's
 * server span, order's logical Reserve call with two attempts (UNAVAILABLE, then OK), each
 * reaching inventory as a server span.
 */
function expectMeshBelow(spans: ReadableSpan[], gatewayServer: ReadableSpan): void {
  const upstreamCall = onlyChild(spans, gatewayServer, SpanKind.INTERNAL);
  expect(upstreamCall.name).toBe(createOrder);
  const upstreamAttempt = onlyChild(spans, upstreamCall, SpanKind.CLIENT);
  expect(upstreamAttempt.attributes["protomesh.attempt"]).toBe(1);
  const orderServer = onlyChild(spans, upstreamAttempt, SpanKind.SERVER);
  expect(orderServer.name).toBe(createOrder);

  const reserveCall = onlyChild(spans, orderServer, SpanKind.INTERNAL);
  expect(reserveCall.name).toBe(reserve);
  expect(reserveCall.attributes["protomesh.attempts"]).toBe(2);
  const attempts = childrenOf(spans, reserveCall);
  expect(attempts.map((span) => span.kind)).toEqual([SpanKind.CLIENT, SpanKind.CLIENT]);
  expect(attempts.map((span) => span.attributes["protomesh.attempt"])).toEqual([1, 2]);
  expect(attempts.map((span) => span.attributes["rpc.grpc.status_code"])).toEqual([
    Code.Unavailable,
    0,
  ]);
  for (const attempt of attempts) {
    const inventoryServer = onlyChild(spans, attempt, SpanKind.SERVER);
    expect(inventoryServer.name).toBe(reserve);
  }
}

describe("tracing through the gateway", () => {
  it("REST: the browser's traceparent → gateway server span → order → inventory, one trace", async () => {
    const browser = browserTrace();
    const res = await fetch(`${base}/v1/orders`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        traceparent: browser.traceparent,
        tracestate: "vendor=opaque",
        baggage: "tenant=acme",
      },
      body: JSON.stringify(orderBody),
    });
    expect(res.status).toBe(200);
    // gateway server, call, attempt, order server, reserve call, 2 attempts, 2 inventory servers
    const spans = await finishedSpans(9);
    expect(spans).toHaveLength(9);
    expect(new Set(spans.map((span) => span.spanContext().traceId))).toEqual(
      new Set([browser.traceId]),
    );

    const roots = spans.filter((span) => span.parentSpanContext?.spanId === browser.parentSpanId);
    expect(roots).toHaveLength(1);
    const gatewayServer = roots[0] as ReadableSpan;
    expect(gatewayServer.kind).toBe(SpanKind.SERVER);
    expect(gatewayServer.name).toBe("POST /v1/orders");
    expect(gatewayServer.attributes).toMatchObject({
      "rpc.system": "grpc",
      "rpc.service": "acme.order.v1.OrderService",
      "rpc.method": "CreateOrder",
      "http.request.method": "POST",
      "http.route": "/v1/orders",
      "http.response.status_code": 200,
      "protomesh.protocol": "rest",
      "rpc.grpc.status_code": 0,
    });
    expect(gatewayServer.status.code).toBe(SpanStatusCode.UNSET);
    // The caller's tracestate travels with the trace.
    expect(gatewayServer.spanContext().traceState?.get("vendor")).toBe("opaque");
    // And so does its baggage, two hops past the gateway (on both of inventory's attempts).
    expect(inventoryBaggage).toEqual(["tenant=acme", "tenant=acme"]);
    expectMeshBelow(spans, gatewayServer);

    // The gateway's access-log line names the trace.
    const calls = gatewayLines.filter((line) => line.msg === "call");
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ protocol: "rest", traceId: browser.traceId });
  });

  it("REST: the span carries the HTTP status and the route template, not the path", async () => {
    const browser = browserTrace();
    const res = await fetch(`${base}/v1/orders/ord_missing`, {
      headers: { traceparent: browser.traceparent },
    });
    expect(res.status).toBe(404);
    const spans = await finishedSpans(4);
    const gatewayServer = spans.find(
      (span) => span.parentSpanContext?.spanId === browser.parentSpanId,
    );
    expect(gatewayServer?.name).toBe("GET /v1/orders/{order_id}");
    expect(gatewayServer?.attributes).toMatchObject({
      "http.route": "/v1/orders/{order_id}",
      "http.response.status_code": 404,
      "rpc.grpc.status_code": Code.NotFound,
    });
    // NOT_FOUND is the caller's doing: not an error of the gateway's server span.
    expect(gatewayServer?.status.code).toBe(SpanStatusCode.UNSET);
    for (const span of spans) expect(span.spanContext().traceId).toBe(browser.traceId);
  });

  const rpcProtocols = [
    [
      "Connect",
      "connect",
      "connect_rpc",
      () => createConnectTransport({ baseUrl: base, httpVersion: "1.1" }),
    ],
    [
      "gRPC-Web",
      "grpc-web",
      "grpc",
      () => createGrpcWebTransport({ baseUrl: base, httpVersion: "1.1" }),
    ],
  ] as const;

  it.each(rpcProtocols)(
    "%s: the browser's trace continues through the gateway to order and inventory",
    async (_name, protocol, rpcSystem, transport) => {
      const browser = browserTrace();
      const client = createConnectClient(OrderService, transport());
      await client.createOrder(
        {
          customerId: "cus_2",
          items: [{ sku: "sku-mug", quantity: 1, unitPrice: { currencyCode: "EUR", units: 3n } }],
        },
        { headers: { traceparent: browser.traceparent } },
      );
      const spans = await finishedSpans(9);
      expect(spans).toHaveLength(9);
      for (const span of spans) expect(span.spanContext().traceId).toBe(browser.traceId);
      const roots = spans.filter((span) => span.parentSpanContext?.spanId === browser.parentSpanId);
      expect(roots).toHaveLength(1);
      const gatewayServer = roots[0] as ReadableSpan;
      expect(gatewayServer.kind).toBe(SpanKind.SERVER);
      expect(gatewayServer.name).toBe(createOrder);
      expect(gatewayServer.attributes).toMatchObject({
        "rpc.system": rpcSystem,
        "rpc.service": "acme.order.v1.OrderService",
        "rpc.method": "CreateOrder",
        "http.request.method": "POST",
        "protomesh.protocol": protocol,
        "rpc.grpc.status_code": 0,
      });
      expectMeshBelow(spans, gatewayServer);
      const calls = gatewayLines.filter((line) => line.msg === "call");
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ protocol, traceId: browser.traceId });
    },
  );

  it("with no tracer provider, opens no span and logs no trace id (the correlation id stays)", async () => {
    trace.disable();
    context.disable();
    propagation.disable();
    try {
      const browser = browserTrace();
      const res = await fetch(`${base}/v1/orders`, {
        method: "POST",
        headers: { "content-type": "application/json", traceparent: browser.traceparent },
        body: JSON.stringify(orderBody),
      });
      expect(res.status).toBe(200);
      await provider.forceFlush();
      expect(exporter.getFinishedSpans()).toEqual([]);
      const calls = gatewayLines.filter((line) => line.msg === "call");
      expect(calls).toHaveLength(1);
      expect(calls[0]?.traceId).toBeUndefined();
      expect(calls[0]?.correlationId).toBe(browser.traceId);
    } finally {
      provider.register();
    }
  });

  it("a call without a traceparent starts its trace at the gateway", async () => {
    const res = await fetch(`${base}/v1/orders`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(orderBody),
    });
    expect(res.status).toBe(200);
    const spans = await finishedSpans(9);
    const roots = spans.filter((span) => span.parentSpanContext === undefined);
    expect(roots.map((span) => span.name)).toEqual(["POST /v1/orders"]);
    expectMeshBelow(spans, roots[0] as ReadableSpan);
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);
  });
});
