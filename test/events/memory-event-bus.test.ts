import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { OrderCreatedSchema } from "../../gen/acme/order/v1/order_events_pb.js";
import { createMemoryEventBus } from "../../src/events/index.js";

const order = (id: string) => create(OrderCreatedSchema, { orderId: id });

async function until(predicate: () => boolean, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("in-process event bus", () => {
  it("retries a failing handler exactly maxAttempts times, then dead-letters it with the reason", async () => {
    const bus = createMemoryEventBus();
    const attempts: number[] = [];
    const subscription = await bus.subscribe(
      OrderCreatedSchema,
      (_m, context) => {
        attempts.push(context.attempt);
        throw new Error("always fails");
      },
      { queue: "mem-fail", retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 } },
    );
    expect(subscription.deadLetterQueue).toBe("mem-fail.dlq");
    await bus.publish(OrderCreatedSchema, order("o1"));
    await until(() => bus.deadLetters.length === 1);
    expect(attempts).toEqual([1, 2, 3]);
    expect(bus.deadLetters[0]).toMatchObject({
      queue: "mem-fail.dlq",
      reason: "max_attempts",
      attempts: 3,
      error: "always fails",
    });
    await bus.close();
  });

  it("checks subscribe's options as the AMQP subscriber does, and reports an unrouted publish", async () => {
    const bus = createMemoryEventBus();
    for (const options of [{ queue: "" }, { queue: "q", concurrency: 0 }]) {
      const error = await bus
        .subscribe(OrderCreatedSchema, () => {}, options)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    }
    const error = await bus.publish(OrderCreatedSchema, order("o2")).catch((e: unknown) => e);
    expect((error as ConnectError).code).toBe(Code.NotFound);
    await bus.close();
  });
});
