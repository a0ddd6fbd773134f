import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import amqp from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MoneySchema } from "../../gen/acme/common/v1/money_pb.js";
import { type OrderCreated, OrderCreatedSchema } from "../../gen/acme/order/v1/order_events_pb.js";
import { runWithCallContext } from "../../src/context/index.js";
import {
  createAmqpEventBus,
  createEventMetrics,
  type EventBus,
  type EventContext,
  encodeEvent,
  subscriberHeaders,
} from "../../src/events/index.js";
import { type BrokerVhost, createBrokerVhost } from "./broker-vhost.js";

const topic = "acme.order.v1.order_created";
let vhost: BrokerVhost;
let raw: amqp.ChannelModel;

beforeAll(async () => {
  vhost = createBrokerVhost("bus");
  raw = await amqp.connect(vhost.url);
});
afterAll(async () => {
  await raw?.close();
  vhost?.delete();
});

function order(n: number): OrderCreated {
  return create(OrderCreatedSchema, { orderId: `ord_${n}`, customerId: "cus_1", itemCount: n });
}

async function withBus<T>(fn: (bus: EventBus) => Promise<T>, extra = {}): Promise<T> {
  const bus = await createAmqpEventBus({ url: vhost.url, source: "/test", ...extra });
  try {
    return await fn(bus);
  } finally {
    await bus.close();
  }
}

function until(predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (predicate()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error("timed out waiting"));
      setTimeout(tick, 10);
    };
    tick();
  });
}

describe("AMQP event bus", () => {
  it("publishes a CloudEvent in binary mode that the subscriber decodes, typed, with its context", async () => {
    await withBus(async (bus) => {
      const got: { message: OrderCreated; context: EventContext }[] = [];
      await bus.subscribe(
        OrderCreatedSchema,
        (message, context) => void got.push({ message, context }),
        {
          queue: "typed",
        },
      );
      // A raw queue on the same topic shows the headers on the wire.
      const ch = await raw.createChannel();
      await ch.assertQueue("typed-raw", { durable: false, autoDelete: true });
      await ch.bindQueue("typed-raw", "protomesh.events", topic);
      const correlationId = "ab".repeat(16);
      const result = await runWithCallContext({ correlationId }, () =>
        bus.publish(OrderCreatedSchema, order(7)),
      );
      expect(result.topic).toBe(topic);
      await until(() => got.length === 1);
      const [first] = got;
      expect(first?.message.orderId).toBe("ord_7");
      expect(first?.message.$typeName).toBe("acme.order.v1.OrderCreated");
      expect(first?.context).toMatchObject({
        id: result.id,
        attempt: 1,
        maxAttempts: 5,
        topic,
        queue: "typed",
        correlationId,
      });
      expect(first?.context.traceparent).toMatch(
        new RegExp(`^00-${correlationId}-[\\da-f]{16}-01$`),
      );
      expect(first?.context.envelope.source).toBe("/test");

      const wire = await ch.get("typed-raw", { noAck: true });
      if (wire === false) throw new Error("no message on the raw queue");
      const headers = wire.properties.headers ?? {};
      expect(headers).toMatchObject({
        "ce-id": result.id,
        "ce-type": "acme.order.v1.OrderCreated",
        "ce-source": "/test",
        "ce-specversion": "1.0",
        "content-type": "application/protobuf",
        "x-request-id": correlationId,
      });
      expect(new Date(String(headers["ce-time"])).getTime()).toBeGreaterThan(Date.now() - 60_000);
      expect(String(headers.traceparent)).toContain(correlationId);
      expect(wire.properties.deliveryMode).toBe(2);
      expect(
        Buffer.compare(wire.content, Buffer.from(toBinary(OrderCreatedSchema, order(7)))),
      ).toBe(0);
      await ch.close();
    });
  });

  it("carries JSON when asked", async () => {
    await withBus(async (bus) => {
      const got: OrderCreated[] = [];
      await bus.subscribe(OrderCreatedSchema, (m) => void got.push(m), { queue: "json" });
      await bus.publish(
        OrderCreatedSchema,
        create(OrderCreatedSchema, {
          orderId: "ord_j",
          total: create(MoneySchema, { currencyCode: "EUR", units: 3n }),
        }),
        { contentType: "application/json" },
      );
      await until(() => got.length === 1);
      expect(got[0]?.total?.units).toBe(3n);
    });
  });

  it("rejects with NotFound when no queue is bound to the topic (mandatory + return)", async () => {
    await withBus(
      async (bus) => {
        const error = await bus.publish(OrderCreatedSchema, order(1)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConnectError);
        expect((error as ConnectError).code).toBe(Code.NotFound);
        expect((error as ConnectError).message).toMatch(/no queue is bound to topic/);
      },
      { exchange: "unbound-exchange" },
    );
  });

  it("reports each event of one confirm batch on its own: routed ones resolve, returned ones reject", async () => {
    const ch = await raw.createChannel();
    await ch.assertExchange("mixed-exchange", "topic", { durable: true });
    await ch.assertQueue("mixed-bound");
    await ch.bindQueue("mixed-bound", "mixed-exchange", "routed");
    await withBus(
      async (bus) => {
        // Interleaved, so the broker's multiple-acks cover routed and returned events alike.
        const topics = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? "unrouted" : "routed"));
        const results = await Promise.allSettled(
          topics.map((t, i) => bus.publishRecord(t, encodeEvent(OrderCreatedSchema, order(i)))),
        );
        results.forEach((result, i) => {
          if (topics[i] === "routed") expect(result.status).toBe("fulfilled");
          else {
            expect(result.status).toBe("rejected");
            const reason = (result as PromiseRejectedResult).reason as ConnectError;
            expect(reason.code).toBe(Code.NotFound);
          }
        });
        const { messageCount } = await ch.checkQueue("mixed-bound");
        expect(messageCount).toBe(topics.filter((t) => t === "routed").length);
      },
      { exchange: "mixed-exchange" },
    );
    await ch.deleteQueue("mixed-bound");
    await ch.close();
  });

  it("reopens its channel when the broker closes it on a live connection, and delivers what was unconfirmed", async () => {
    const ch = await raw.createChannel();
    await ch.assertExchange("reopen-exchange", "topic", { durable: true });
    await ch.assertQueue("reopen-bound");
    await ch.bindQueue("reopen-bound", "reopen-exchange", "routed");
    await withBus(
      async (bus) => {
        await bus.publishRecord("routed", encodeEvent(OrderCreatedSchema, order(1)));
        // A publish to a missing exchange makes the broker close the publisher's channel
        // (404) with the event unconfirmed. The reopened channel declares the exchange again,
        // without the binding, so the event comes back unrouted: an answer, not a timeout.
        await ch.deleteExchange("reopen-exchange");
        const lost = await bus
          .publishRecord("routed", encodeEvent(OrderCreatedSchema, order(2)))
          .catch((e: unknown) => e);
        expect((lost as ConnectError).code).toBe(Code.NotFound);
        await ch.bindQueue("reopen-bound", "reopen-exchange", "routed");
        await bus.publishRecord("routed", encodeEvent(OrderCreatedSchema, order(3)));
        const { messageCount } = await ch.checkQueue("reopen-bound");
        expect(messageCount).toBe(2);
      },
      { exchange: "reopen-exchange", confirmTimeoutMs: 5_000 },
    );
    await ch.deleteQueue("reopen-bound");
    await ch.deleteExchange("reopen-exchange");
    await ch.close();
  });

  it("rejects a nacked event (a full queue that rejects publishes) and confirms the others", async () => {
    const ch = await raw.createChannel();
    await ch.assertExchange("nack-exchange", "topic", { durable: true });
    await ch.assertQueue("full", {
      arguments: { "x-max-length": 3, "x-overflow": "reject-publish" },
    });
    await ch.bindQueue("full", "nack-exchange", topic);
    await withBus(
      async (bus) => {
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) => bus.publish(OrderCreatedSchema, order(i))),
        );
        const ok = results.filter((r) => r.status === "fulfilled").length;
        const rejected = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
        expect(ok).toBe(3);
        expect(rejected).toHaveLength(7);
        for (const e of rejected) {
          expect(e).toBeInstanceOf(ConnectError);
          expect((e as ConnectError).code).toBe(Code.Unavailable);
          expect((e as ConnectError).message).toMatch(/nack/);
        }
      },
      { exchange: "nack-exchange" },
    );
    await ch.deleteQueue("full");
    await ch.close();
  });

  it("rejects with DeadlineExceeded when no confirm comes in time (broker unreachable)", async () => {
    const bus = await createAmqpEventBus({
      url: "amqp://guest:guest@127.0.0.1:1/",
      confirmTimeoutMs: 300,
      initialDelayMs: 50,
    });
    const error = await bus.publish(OrderCreatedSchema, order(1)).catch((e: unknown) => e);
    expect((error as ConnectError).code).toBe(Code.DeadlineExceeded);
    await bus.close();
  });

  it("refuses a message that is not an event", async () => {
    await withBus(async (bus) => {
      const error = await bus
        .publish(MoneySchema, create(MoneySchema, {}))
        .catch((e: unknown) => e);
      expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    });
  });

  it("retries a failing handler exactly maxAttempts times, then dead-letters it with the reason", async () => {
    const metrics = createEventMetrics();
    await withBus(
      async (bus) => {
        const attempts: number[] = [];
        const sub = await bus.subscribe(
          OrderCreatedSchema,
          (_m, context) => {
            attempts.push(context.attempt);
            throw new Error(`boom on attempt ${context.attempt}`);
          },
          { queue: "always-fails", retry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 100 } },
        );
        const { id } = await bus.publish(OrderCreatedSchema, order(3));
        const ch = await raw.createChannel();
        let dead: amqp.GetMessage | false = false;
        const started = Date.now();
        while (dead === false && Date.now() - started < 20_000) {
          dead = await ch.get(sub.deadLetterQueue, { noAck: true });
          if (dead === false) await new Promise((r) => setTimeout(r, 50));
        }
        if (dead === false) throw new Error("nothing reached the DLQ");
        const h = dead.properties.headers ?? {};
        expect(h["ce-id"]).toBe(id);
        expect(h[subscriberHeaders.attempts]).toBe("3");
        expect(h[subscriberHeaders.reason]).toBe("max_attempts");
        expect(h[subscriberHeaders.error]).toBe("boom on attempt 3");
        expect(h[subscriberHeaders.queue]).toBe("always-fails");
        // No fourth attempt comes later.
        await new Promise((r) => setTimeout(r, 300));
        expect(attempts).toEqual([1, 2, 3]);
        await ch.close();
      },
      { metrics },
    );
    const text = await metrics.registry.metrics();
    expect(text).toMatch(
      /protomesh_events_failed_total\{queue="always-fails",type="acme.order.v1.OrderCreated"\} 3/,
    );
    expect(text).toMatch(/protomesh_events_retried_total\{queue="always-fails",[^}]*\} 2/);
    expect(text).toMatch(/protomesh_events_dead_lettered_total\{[^}]*reason="max_attempts"\} 1/);
  });

  it("succeeds on a retry after a failure", async () => {
    await withBus(async (bus) => {
      const seen: number[] = [];
      await bus.subscribe(
        OrderCreatedSchema,
        (_m, c) => {
          seen.push(c.attempt);
          if (c.attempt < 2) throw new Error("transient");
        },
        { queue: "flaky", retry: { maxAttempts: 4, initialDelayMs: 50 } },
      );
      await bus.publish(OrderCreatedSchema, order(1));
      await until(() => seen.length === 2);
      await new Promise((r) => setTimeout(r, 300));
      expect(seen).toEqual([1, 2]);
    });
  });

  it("sends a poison message to the DLQ at once and keeps the queue flowing", async () => {
    await withBus(async (bus) => {
      const handled: string[] = [];
      const sub = await bus.subscribe(OrderCreatedSchema, (m) => void handled.push(m.orderId), {
        queue: "poison",
        concurrency: 1,
      });
      const ch = await raw.createConfirmChannel();
      ch.publish("protomesh.events", topic, Buffer.from([0xff, 0xff, 0xff, 0xff]), {
        headers: { "ce-id": "poison-1", "ce-type": "acme.order.v1.OrderCreated" },
      });
      await ch.waitForConfirms();
      await bus.publish(OrderCreatedSchema, order(2));
      await until(() => handled.length === 1);
      expect(handled).toEqual(["ord_2"]);
      let dead: amqp.GetMessage | false = false;
      const started = Date.now();
      while (dead === false && Date.now() - started < 10_000) {
        dead = await ch.get(sub.deadLetterQueue, { noAck: true });
        if (dead === false) await new Promise((r) => setTimeout(r, 50));
      }
      if (dead === false) throw new Error("the poison message did not reach the DLQ");
      expect(dead.properties.headers?.[subscriberHeaders.reason]).toBe("undecodable");
      expect(dead.properties.headers?.[subscriberHeaders.attempts]).toBe("1");
      expect(String(dead.properties.headers?.[subscriberHeaders.error])).toMatch(/cannot decode/);
      await ch.close();
    });
  });

  it("hands the consumer at most `concurrency` events at once (prefetch) and runs middleware around each", async () => {
    await withBus(async (bus) => {
      let active = 0;
      let peak = 0;
      let done = 0;
      const order_: string[] = [];
      await bus.subscribe(
        OrderCreatedSchema,
        async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 20));
          active--;
          done++;
        },
        {
          queue: "bounded",
          concurrency: 3,
          middleware: [
            (next) => async (event) => {
              order_.push(`before ${event.context.id}`);
              await next(event);
              order_.push(`after ${event.context.id}`);
            },
          ],
        },
      );
      const ids = await Promise.all(
        Array.from({ length: 30 }, (_, i) => bus.publish(OrderCreatedSchema, order(i))),
      );
      await until(() => done === 30);
      expect(peak).toBe(3);
      expect(order_.filter((l) => l.startsWith("after"))).toHaveLength(30);
      const first = ids[0]?.id;
      expect(order_.indexOf(`before ${first}`)).toBeLessThan(order_.indexOf(`after ${first}`));
    });
  });

  it("close() waits for handlers in flight, which are then acknowledged, not redelivered", async () => {
    await withBus(async (bus) => {
      let release: (() => void) | undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let started = 0;
      const sub = await bus.subscribe(
        OrderCreatedSchema,
        async () => {
          started++;
          await gate;
        },
        { queue: "close-drains" },
      );
      await bus.publish(OrderCreatedSchema, order(1));
      await until(() => started === 1);
      let closed = false;
      const closing = sub.close().then(() => {
        closed = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(closed).toBe(false);
      release?.();
      await closing;
      const ch = await raw.createChannel();
      try {
        const { messageCount } = await ch.checkQueue("close-drains");
        expect(messageCount).toBe(0);
        expect(await ch.get("close-drains")).toBe(false);
      } finally {
        await ch.deleteQueue("close-drains");
        await ch.close();
      }
    });
  });
});
