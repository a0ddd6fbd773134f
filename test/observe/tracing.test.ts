// Traces across the order mesh with the OTel SDK registered: client → order → inventory is one
// trace, with a server span per inbound call, a CLIENT span per attempt (a retry shows as a
// second attempt) under one logical call span, the trace id in each access-log line, and
// OTLP/HTTP export (the demo's setup) to a receiver the test runs.
import { createServer as createHttpServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { Code, ConnectError, createClient as createConnectClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createInventoryService } from "../../examples/order-mesh/inventory-service.js";
import { startMesh } from "../../examples/order-mesh/mesh.js";
import { createOrderService } from "../../examples/order-mesh/order-service.js";
import { startDemoTracing } from "../../examples/order-mesh/tracing.js";
import { InventoryService } from "../../gen/acme/inventory/v1/inventory_service_pb.js";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { createClient, createServer, defineService, type Server } from "../../src/index.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  trace.disable();
  context.disable();
  propagation.disable();
});

function capture(lines: Record<string, unknown>[]) {
  return pino(
    { level: "info" },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split("\n")) if (line) lines.push(JSON.parse(line));
        done();
      },
    }),
  );
}

/** Inventory (whose first Reserve fails UNAVAILABLE, so it is retried) and order in front. */
async function startTracedMesh(lines: Record<string, unknown>[]) {
  const inventoryImpl = createInventoryService({ "sku-mug": 10 });
  let reserves = 0;
  const inventory = createServer({
    logger: capture(lines),
    services: [
      defineService(InventoryService, {
        ...inventoryImpl,
        reserve(request, handlerContext) {
          reserves++;
          if (reserves === 1) throw new ConnectError("warming up", Code.Unavailable);
          // A handler's own span, started the usual way: a child of the server span.
          return trace.getTracer("handler").startActiveSpan("reserve-stock", (span) => {
            try {
              return inventoryImpl.reserve(request, handlerContext);
            } finally {
              span.end();
            }
          });
        },
      }),
    ],
  });
  servers.push(inventory);
  const inventoryUrl = (await inventory.listen()).url;
  const order = createServer({
    logger: capture(lines),
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
  return createClient(OrderService, { baseUrl: orderUrl });
}

const orderRequest = {
  customerId: "cus_1",
  items: [{ sku: "sku-mug", quantity: 1, unitPrice: { currencyCode: "EUR", units: 3n } }],
};

function byName(spans: ReadableSpan[], name: string, kind: SpanKind): ReadableSpan[] {
  return spans.filter((span) => span.name === name && span.kind === kind);
}

function childrenOf(spans: ReadableSpan[], parent: ReadableSpan): ReadableSpan[] {
  return spans.filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId);
}

describe("tracing", () => {
  it("makes one trace of client → order → inventory, with attempt spans and retries", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    provider.register();
    const lines: Record<string, unknown>[] = [];
    const client = await startTracedMesh(lines);

    await client.createOrder(orderRequest);
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();

    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);
    const create = "acme.order.v1.OrderService/CreateOrder";
    const reserve = "acme.inventory.v1.InventoryService/Reserve";
    const [call] = byName(spans, create, SpanKind.INTERNAL);
    if (!call) throw new Error("no logical call span");
    expect(call.parentSpanContext).toBeUndefined();
    const [attempt] = childrenOf(spans, call);
    expect(attempt?.kind).toBe(SpanKind.CLIENT);
    const [orderServer] = childrenOf(spans, attempt as ReadableSpan);
    expect(orderServer?.kind).toBe(SpanKind.SERVER);
    expect(orderServer?.attributes).toMatchObject({
      "rpc.system": "grpc",
      "rpc.service": "acme.order.v1.OrderService",
      "rpc.method": "CreateOrder",
      "rpc.grpc.status_code": 0,
    });

    const [reserveCall] = childrenOf(spans, orderServer as ReadableSpan);
    expect(reserveCall?.name).toBe(reserve);
    expect(reserveCall?.attributes["protomesh.attempts"]).toBe(2);
    const reserveAttempts = childrenOf(spans, reserveCall as ReadableSpan);
    expect(reserveAttempts.map((span) => span.kind)).toEqual([SpanKind.CLIENT, SpanKind.CLIENT]);
    expect(reserveAttempts.map((span) => span.attributes["rpc.grpc.status_code"])).toEqual([
      Code.Unavailable,
      0,
    ]);
    // Each attempt reached inventory as its own server span, its child.
    const served = reserveAttempts.map((reserveAttempt) => childrenOf(spans, reserveAttempt)[0]);
    for (const span of served) {
      expect(span?.kind).toBe(SpanKind.SERVER);
      expect(span?.name).toBe(reserve);
    }
    const [handlerSpan] = spans.filter((span) => span.name === "reserve-stock");
    expect(handlerSpan?.parentSpanContext?.spanId).toBe(served[1]?.spanContext().spanId);

    // The trace id in every access-log line of the call.
    const traceId = call.spanContext().traceId;
    const callLines = lines.filter((line) => line.msg === "call");
    expect(callLines).toHaveLength(3);
    for (const line of callLines) expect(line.traceId).toBe(traceId);
  });

  it("exports the demo mesh's traces, gateway included, over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set", async () => {
    const bodies: string[] = [];
    const receiver = createHttpServer((request: IncomingMessage, response) => {
      let body = "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => {
        body += chunk;
      });
      request.on("end", () => {
        if (request.url === "/v1/traces") bodies.push(body);
        response.setHeader("content-type", "application/json");
        response.end("{}");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    try {
      const port = (receiver.address() as AddressInfo).port;
      const tracing = startDemoTracing({
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_SERVICE_NAME: "trace-test",
      });
      expect(tracing).toBeDefined();
      // The demo's own mesh, a browser-style REST call into its gateway.
      const mesh = await startMesh();
      const traceId = "0af7651916cd43dd8448eb211c80319c";
      try {
        const res = await fetch(`${mesh.gateway.url}/v1/orders`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            traceparent: `00-${traceId}-b7ad6b7169203331-01`,
          },
          body: JSON.stringify({
            customerId: "cus_1",
            items: [
              { sku: "sku-mug", quantity: 1, unitPrice: { currencyCode: "EUR", units: "3" } },
            ],
          }),
        });
        expect(res.status).toBe(200);
      } finally {
        await mesh.close();
      }
      await tracing?.shutdown();
      const exported = bodies.join("\n");
      expect(exported).toContain("POST /v1/orders");
      expect(exported).toContain("acme.order.v1.OrderService/CreateOrder");
      expect(exported).toContain("acme.inventory.v1.InventoryService/Reserve");
      expect(exported).toContain(traceId);
      expect(exported).toContain("trace-test");
    } finally {
      receiver.close();
    }
  });

  it("continues the caller's traceparent, and carries tracestate and baggage to every hop", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    provider.register();
    const inbound: (string | null)[] = [];
    const inventory = createServer({
      logger: false,
      services: [
        defineService(InventoryService, {
          ...createInventoryService({ "sku-mug": 10 }),
          reserve(request, handlerContext) {
            inbound.push(handlerContext.requestHeader.get("baggage"));
            return { reservation: { reservationId: request.reservationId } };
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
            inventory: createClient(InventoryService, { baseUrl: inventoryUrl }),
          }),
        ),
      ],
    });
    servers.push(order);
    const orderUrl = (await order.listen()).url;
    // A caller outside protomesh, sending its own W3C headers.
    const raw = createConnectClient(OrderService, createGrpcTransport({ baseUrl: orderUrl }));
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    await raw.createOrder(orderRequest, {
      headers: {
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        tracestate: "vendor=opaque",
        baggage: "tenant=acme",
      },
    });
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();
    const orderServer = spans.find(
      (span) => span.kind === SpanKind.SERVER && span.name.startsWith("acme.order"),
    );
    expect(orderServer?.parentSpanContext?.spanId).toBe("00f067aa0ba902b7");
    for (const span of spans) expect(span.spanContext().traceId).toBe(traceId);
    const inventoryServer = spans.find(
      (span) => span.kind === SpanKind.SERVER && span.name.startsWith("acme.inventory"),
    );
    expect(inventoryServer?.spanContext().traceState?.get("vendor")).toBe("opaque");
    expect(inbound).toEqual(["tenant=acme"]);
  });

  it("shows a hedged call as two attempt spans under one call span", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    provider.register();
    let calls = 0;
    const inventory = createServer({
      logger: false,
      services: [
        defineService(InventoryService, {
          async checkStock() {
            calls++;
            // The first attempt is slow, so the hedge (sent 20 ms later) wins.
            if (calls === 1) await new Promise((resolve) => setTimeout(resolve, 1_000));
            return { levels: [] };
          },
        }),
      ],
    });
    servers.push(inventory);
    const client = createClient(InventoryService, {
      baseUrl: (await inventory.listen()).url,
      policy: { retry: { maxAttempts: 1 }, hedging: { maxAttempts: 2, delayMs: 20 } },
    });
    await client.checkStock({ skus: ["sku-mug"] });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();
    const [call] = byName(
      spans,
      "acme.inventory.v1.InventoryService/CheckStock",
      SpanKind.INTERNAL,
    );
    if (!call) throw new Error("no call span");
    const attempts = childrenOf(spans, call);
    expect(attempts.map((span) => span.attributes["protomesh.attempt"]).sort()).toEqual([1, 2]);
    expect(attempts.map((span) => span.attributes["rpc.grpc.status_code"]).sort()).toEqual([
      0,
      Code.Canceled,
    ]);
  });

  it("registers nothing and logs no trace id while no provider is set", async () => {
    expect(startDemoTracing({})).toBeUndefined();
    const lines: Record<string, unknown>[] = [];
    const client = await startTracedMesh(lines);
    await client.createOrder(orderRequest);
    for (const line of lines.filter((l) => l.msg === "call")) expect(line.traceId).toBeUndefined();
  });
});
