import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderCreatedSchema } from "../../gen/acme/order/v1/order_events_pb.js";
import { createAmqpEventBus, idempotentConsumer } from "../../src/events/index.js";
import { type BrokerVhost, createBrokerVhost } from "./broker-vhost.js";
import { createTestSchema, type TestSchema } from "./pg-schema.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

let vhost: BrokerVhost;
let proxy: TcpProxy;
let db: TestSchema;

beforeAll(async () => {
  vhost = createBrokerVhost("loss");
  db = await createTestSchema("loss");
  await db.pool.query(
    `CREATE TABLE ${db.name}.applied (order_id text PRIMARY KEY, times integer NOT NULL)`,
  );
  proxy = await startTcpProxy(5672);
});
afterAll(async () => {
  await proxy?.close();
  await db?.drop();
  vhost?.delete();
});

describe("connection loss while publishing (fault test)", () => {
  it("delivers every one of 10,000 events while the AMQP connection is cut twice", async () => {
    const total = 10_000;
    const url = vhost.urlVia(proxy.port);
    const consumer = await createAmqpEventBus({ url, initialDelayMs: 50, maxDelayMs: 500 });
    const publisher = await createAmqpEventBus({
      url,
      initialDelayMs: 50,
      maxDelayMs: 500,
      confirmTimeoutMs: 60_000,
    });
    const seen = new Map<string, number>();
    let deliveries = 0;
    let duplicatesSkipped = 0;
    const once = idempotentConsumer({
      pool: db.pool,
      consumer: "loss",
      schema: db.name,
      onDuplicate: () => duplicatesSkipped++,
    });
    await consumer.subscribe(
      OrderCreatedSchema,
      async (message, context) => {
        await once<typeof OrderCreatedSchema>(async (m, _c, tx) => {
          await tx.query(
            `INSERT INTO ${db.name}.applied VALUES ($1, 1) ON CONFLICT (order_id) DO UPDATE SET times = applied.times + 1`,
            [m.orderId],
          );
        })(message, context);
        deliveries++;
        seen.set(message.orderId, (seen.get(message.orderId) ?? 0) + 1);
      },
      { queue: "loss", concurrency: 50 },
    );

    let confirmed = 0;
    const cutAt = new Set([2_000, 6_000]);
    const results = await Promise.allSettled(
      Array.from({ length: total }, (_, i) =>
        publisher
          .publish(OrderCreatedSchema, create(OrderCreatedSchema, { orderId: `ord_${i}` }))
          .then(() => {
            confirmed++;
            if (cutAt.has(confirmed)) proxy.cut();
          }),
      ),
    );
    const failed = results.filter((r) => r.status === "rejected");
    expect(failed).toEqual([]);
    expect(proxy.cuts).toBeGreaterThanOrEqual(4); // two cuts, each of both connections

    const deadline = Date.now() + 60_000;
    while (seen.size < total && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen.size).toBe(total);
    for (let i = 0; i < total; i++) expect(seen.has(`ord_${i}`)).toBe(true);
    // Duplicates are allowed (redelivery, republished unconfirmed events); losses are not.
    expect(deliveries).toBeGreaterThanOrEqual(total);
    // The idempotent consumer applied each event exactly once, duplicates or not.
    const { rows } = await db.pool.query<{ n: number; max: number }>(
      `SELECT count(*)::int AS n, max(times) AS max FROM ${db.name}.applied`,
    );
    expect(rows[0]).toEqual({ n: total, max: 1 });
    expect(duplicatesSkipped).toBe(deliveries - total);
    console.log(
      `connection loss: ${deliveries - total} duplicate deliveries, ${proxy.cuts} sockets cut`,
    );
    await publisher.close();
    await consumer.close();
  }, 120_000);
});
