import { context, ROOT_CONTEXT, TraceFlags, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderCreatedSchema } from "../../gen/acme/order/v1/order_events_pb.js";
import { encodeEvent, eventHeaders } from "../../src/events/index.js";

const manager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  context.setGlobalContextManager(manager.enable());
});
afterAll(() => {
  manager.disable();
  context.disable();
});

describe("encodeEvent's traceparent", () => {
  it("continues the active span: its trace id, its span id as parent, its flags", () => {
    const spanContext = {
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      traceFlags: TraceFlags.SAMPLED,
    };
    const record = context.with(trace.setSpanContext(ROOT_CONTEXT, spanContext), () =>
      encodeEvent(OrderCreatedSchema, { orderId: "ord_1" }),
    );
    expect(record.headers[eventHeaders.traceparent]).toBe(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    );
  });

  it("without a span, derives one from a trace-shaped correlation id", () => {
    const correlationId = "0af7651916cd43dd8448eb211c80319c";
    const record = encodeEvent(OrderCreatedSchema, { orderId: "ord_1" }, { correlationId });
    expect(record.headers[eventHeaders.traceparent]).toMatch(
      new RegExp(`^00-${correlationId}-[0-9a-f]{16}-01$`),
    );
  });
});

describe("encodeEvent's envelope", () => {
  it("gives every event its own ce-id, 32 hex digits, and keeps an id it is given", () => {
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const id = encodeEvent(OrderCreatedSchema, { orderId: `ord_${i}` }).headers[eventHeaders.id];
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      ids.add(id ?? "");
    }
    expect(ids.size).toBe(10_000);
    const given = encodeEvent(OrderCreatedSchema, { orderId: "ord_1" }, { id: "evt-1" });
    expect(given.headers[eventHeaders.id]).toBe("evt-1");
  });

  it("stamps ce-time as the RFC 3339 time of the publish, or the time it is given", () => {
    const before = Date.now();
    const time = encodeEvent(OrderCreatedSchema, { orderId: "ord_1" }).headers[eventHeaders.time];
    const after = Date.now();
    expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const ms = Date.parse(time ?? "");
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after);
    const given = new Date("2026-01-02T03:04:05.678Z");
    expect(
      encodeEvent(OrderCreatedSchema, { orderId: "ord_1" }, { time: given }).headers[
        eventHeaders.time
      ],
    ).toBe("2026-01-02T03:04:05.678Z");
  });

  it("carries the CloudEvents attributes, the correlation id and a trace under it, nothing else", () => {
    const { headers } = encodeEvent(OrderCreatedSchema, { orderId: "ord_1" }, { source: "/s" });
    expect(Object.keys(headers).sort()).toEqual(
      [
        "ce-id",
        "ce-source",
        "ce-specversion",
        "ce-time",
        "ce-type",
        "content-type",
        "traceparent",
        "x-request-id",
      ].sort(),
    );
    expect(headers).toMatchObject({
      "ce-type": "acme.order.v1.OrderCreated",
      "ce-source": "/s",
      "ce-specversion": "1.0",
      "content-type": "application/protobuf",
    });
    // A fresh correlation id (no call context) is trace-shaped and starts the event's trace.
    const correlationId = headers[eventHeaders.correlationId] ?? "";
    expect(correlationId).toMatch(/^[0-9a-f]{32}$/);
    expect(headers[eventHeaders.traceparent]).toMatch(
      new RegExp(`^00-${correlationId}-[0-9a-f]{16}-01$`),
    );
    // An id that is not trace-shaped starts no trace.
    const plain = encodeEvent(OrderCreatedSchema, { orderId: "ord_1" }, { correlationId: "req-1" });
    expect(plain.headers[eventHeaders.traceparent]).toBeUndefined();
    expect(Object.keys(plain.headers)).not.toContain("traceparent");
  });
});
