import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderCreatedSchema } from "../../gen/acme/order/v1/order_events_pb.js";
import {
  createAmqpEventBus,
  createOutbox,
  type EventBus,
  type EventRecord,
  encodeEvent,
  eventTopic,
  idempotentConsumer,
  migrateEventStore,
  startOutboxRelay,
} from "../../src/events/index.js";
import { type BrokerVhost, createBrokerVhost } from "./broker-vhost.js";
import { createTestSchema, type TestSchema } from "./pg-schema.js";
import { startTcpProxy } from "./tcp-proxy.js";

let vhost: BrokerVhost;
let db: TestSchema;
let bus: EventBus;

beforeAll(async () => {
  vhost = createBrokerVhost("outbox");
  db = await createTestSchema("outbox");
  bus = await createAmqpEventBus({ url: vhost.url });
});
afterAll(async () => {
  await bus?.close();
  await db?.drop();
  vhost?.delete();
});

const order = (id: string) => create(OrderCreatedSchema, { orderId: id });

async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A subscriber counting deliveries per order id on its own queue. */
async function countDeliveries(queue: string) {
  const counts = new Map<string, number>();
  const subscription = await bus.subscribe(
    OrderCreatedSchema,
    (m) => void counts.set(m.orderId, (counts.get(m.orderId) ?? 0) + 1),
    { queue, concurrency: 50 },
  );
  return { counts, close: () => subscription.close() };
}

async function unsent(): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${db.name}.outbox WHERE sent_at IS NULL`,
  );
  return Number(rows[0]?.n);
}

describe("transactional outbox", () => {
  it("migrates idempotently, even from several processes at once", async () => {
    await Promise.all([1, 2, 3].map(() => migrateEventStore(db.pool, { schema: db.name })));
    const { rows } = await db.pool.query(`SELECT version FROM ${db.name}.migrations`);
    expect(rows).toEqual([{ version: 1 }]);
  });

  it("publishes what a committed transaction added, and nothing of a rolled-back one; NOTIFY wakes the relay", async () => {
    const outbox = createOutbox({ schema: db.name });
    const consumer = await countDeliveries("outbox-basic");
    // A poll interval far beyond the test: only LISTEN/NOTIFY can wake the relay in time.
    const relay = startOutboxRelay({
      pool: db.pool,
      publisher: bus,
      schema: db.name,
      pollIntervalMs: 600_000,
    });
    await new Promise((r) => setTimeout(r, 300)); // the relay is listening and asleep
    const client = await db.pool.connect();
    await client.query("BEGIN");
    await outbox.add(client, OrderCreatedSchema, order("rolled-back"));
    await client.query("ROLLBACK");
    await client.query("BEGIN");
    await outbox.add(client, OrderCreatedSchema, order("committed"));
    await client.query("COMMIT");
    client.release();
    await until(() => consumer.counts.has("committed"), 10_000);
    await new Promise((r) => setTimeout(r, 200));
    expect([...consumer.counts.keys()]).toEqual(["committed"]);
    await relay.close();
    await consumer.close();
  });

  it("falls back to polling when no NOTIFY comes", async () => {
    const consumer = await countDeliveries("outbox-poll");
    const relay = startOutboxRelay({
      pool: db.pool,
      publisher: bus,
      schema: db.name,
      pollIntervalMs: 100,
    });
    await new Promise((r) => setTimeout(r, 300));
    // A row written without NOTIFY (as by a tool that bypasses outbox.add): only a poll finds it.
    const record = encodeEvent(OrderCreatedSchema, order("polled"));
    await db.pool.query(
      `INSERT INTO ${db.name}.outbox (event_id, topic, headers, payload) VALUES ($1, $2, $3, $4)`,
      [record.headers["ce-id"], eventTopic(OrderCreatedSchema), record.headers, record.content],
    );
    await until(() => consumer.counts.has("polled"), 10_000);
    await relay.close();
    await consumer.close();
  });

  /**
   * A relay whose publisher holds the first event's confirm until released, with events added
   * one transaction each; `sent` lists the event ids in the order they were handed to the
   * publisher.
   */
  async function heldRelay(batchesInFlight: number) {
    const own = await createTestSchema("outbox_held");
    const outbox = createOutbox({ schema: own.name });
    const sent: string[] = [];
    const confirmed: string[] = [];
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const publisher = {
      async publishRecord(_topic: string, record: EventRecord) {
        const id = record.headers["ce-id"] ?? "";
        sent.push(id);
        if (sent.length === 1) await held;
        confirmed.push(id);
      },
    };
    const relay = startOutboxRelay({
      pool: own.pool,
      publisher,
      schema: own.name,
      batchesInFlight,
      pollIntervalMs: 600_000, // far beyond the test: only a NOTIFY can wake the relay
    });
    await new Promise((r) => setTimeout(r, 300)); // listening and asleep
    return {
      sent,
      confirmed,
      release,
      async add(orderId: string) {
        const client = await own.pool.connect();
        try {
          await client.query("BEGIN");
          const id = await outbox.add(client, OrderCreatedSchema, order(orderId));
          await client.query("COMMIT");
          return id;
        } finally {
          client.release();
        }
      },
      async close() {
        release();
        await relay.close();
        await own.drop();
      },
    };
  }

  it("keeps a NOTIFY that arrives while a batch is being published, instead of sleeping a poll interval", async () => {
    const relay = await heldRelay(1);
    try {
      const first = await relay.add("first");
      await until(() => relay.sent.length === 1, 10_000);
      const second = await relay.add("second");
      await new Promise((r) => setTimeout(r, 200)); // its NOTIFY reached the relay mid-batch
      expect(relay.sent).toEqual([first]); // one batch at a time: the second waits
      relay.release();
      await until(() => relay.confirmed.length === 2, 5_000);
      expect(relay.sent).toEqual([first, second]);
    } finally {
      await relay.close();
    }
  });

  it("locks and sends the next batch while an earlier one waits for its confirms", async () => {
    const relay = await heldRelay(4);
    try {
      const first = await relay.add("first");
      await until(() => relay.sent.length === 1, 10_000);
      const second = await relay.add("second");
      await until(() => relay.confirmed.length === 1, 5_000); // the first is still held
      expect(relay.confirmed).toEqual([second]);
      expect(relay.sent).toEqual([first, second]);
      relay.release();
      await until(() => relay.confirmed.length === 2, 5_000);
    } finally {
      await relay.close();
    }
  });

  it("two relays at once publish every event exactly once between them (FOR UPDATE SKIP LOCKED)", async () => {
    const outbox = createOutbox({ schema: db.name });
    const consumer = await countDeliveries("outbox-two");
    const total = 2_000;
    const client = await db.pool.connect();
    await client.query("BEGIN");
    for (let i = 0; i < total; i++) await outbox.add(client, OrderCreatedSchema, order(`two_${i}`));
    await client.query("COMMIT");
    client.release();
    const relays = [1, 2].map(() =>
      startOutboxRelay({
        pool: db.pool,
        publisher: bus,
        schema: db.name,
        batchSize: 25,
        pollIntervalMs: 50,
      }),
    );
    await until(async () => (await unsent()) === 0, 60_000);
    await until(
      () => [...consumer.counts.keys()].filter((k) => k.startsWith("two_")).length === total,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 300));
    const twice = [...consumer.counts].filter(([k, n]) => k.startsWith("two_") && n > 1);
    expect(twice).toEqual([]);
    const published = relays.map((r) => r.published);
    expect(published.reduce((a, b) => a + b, 0)).toBe(total);
    expect(published.every((n) => n > 0)).toBe(true);
    await Promise.all(relays.map((r) => r.close()));
    await consumer.close();
  });

  it("rides out PostgreSQL going away mid-relay and loses nothing", async () => {
    const proxy = await startTcpProxy(5432);
    const pool = db.poolVia(proxy.port);
    const outbox = createOutbox({ schema: db.name });
    const consumer = await countDeliveries("outbox-pgdown");
    const total = 1_000;
    const client = await db.pool.connect();
    await client.query("BEGIN");
    for (let i = 0; i < total; i++)
      await outbox.add(client, OrderCreatedSchema, order(`down_${i}`));
    await client.query("COMMIT");
    client.release();
    const errors: unknown[] = [];
    const relay = startOutboxRelay({
      pool,
      publisher: bus,
      schema: db.name,
      batchSize: 20,
      pollIntervalMs: 50,
      errorBackoffMs: 20,
      onError: (e) => errors.push(e),
    });
    await until(() => relay.published >= 200, 30_000);
    proxy.setDown(true);
    await new Promise((r) => setTimeout(r, 1_000));
    const publishedWhileDown = relay.published;
    proxy.setDown(false);
    await until(async () => (await unsent()) === 0, 60_000);
    const seen = () => [...consumer.counts.keys()].filter((k) => k.startsWith("down_")).length;
    await until(() => seen() === total, 30_000);
    expect(errors.length).toBeGreaterThan(0); // it did fail, and came back
    expect(publishedWhileDown).toBeLessThan(total);
    await relay.close();
    await consumer.close();
    await proxy.close();
  });

  it("closes at once, even while its LISTEN connection is still being made", async () => {
    const relay = startOutboxRelay({ pool: db.pool, publisher: bus, schema: db.name });
    const closed = relay.close().then(() => "closed");
    const late = new Promise((r) => setTimeout(() => r("still open"), 5_000));
    expect(await Promise.race([closed, late])).toBe("closed");
  });

  it("deletes sent rows after the retention period", async () => {
    const relay = startOutboxRelay({
      pool: db.pool,
      publisher: bus,
      schema: db.name,
      retentionMs: 60_000,
    });
    await relay.drain();
    await db.pool.query(
      `UPDATE ${db.name}.outbox SET sent_at = now() - interval '2 minutes' WHERE event_id IN (SELECT event_id FROM ${db.name}.outbox WHERE sent_at IS NOT NULL LIMIT 10)`,
    );
    const before = await db.pool.query(`SELECT count(*)::int AS n FROM ${db.name}.outbox`);
    expect(await relay.cleanup()).toBe(10);
    const after = await db.pool.query(`SELECT count(*)::int AS n FROM ${db.name}.outbox`);
    expect(after.rows[0].n).toBe(before.rows[0].n - 10);
    await relay.close();
  });
});

describe("idempotent consumer", () => {
  it("applies a redelivered event once, in the handler's transaction", async () => {
    await db.pool.query(`CREATE TABLE ${db.name}.applied (order_id text)`);
    let calls = 0;
    let skipped = 0;
    const once = idempotentConsumer({
      pool: db.pool,
      consumer: "outbox-once",
      schema: db.name,
      onDuplicate: () => skipped++,
    });
    await bus.subscribe(
      OrderCreatedSchema,
      once(async (m, _c, tx) => {
        calls++;
        await tx.query(`INSERT INTO ${db.name}.applied VALUES ($1)`, [m.orderId]);
        if (calls === 1) throw new Error("fails after writing: the write must roll back");
      }),
      { queue: "outbox-once", retry: { maxAttempts: 3, initialDelayMs: 50 } },
    );
    const { id } = await bus.publish(OrderCreatedSchema, order("once"));
    await until(() => calls === 2);
    // The same event id again, as a duplicate from the broker or the relay would be.
    await bus.publish(OrderCreatedSchema, order("once"), { id });
    await until(() => skipped === 1);
    const { rows } = await db.pool.query(`SELECT order_id FROM ${db.name}.applied`);
    expect(rows).toEqual([{ order_id: "once" }]);
    expect(calls).toBe(2);
  });
});
