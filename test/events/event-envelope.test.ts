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
