/**
 * `npm run bench -- --suite events`: protomesh/events against raw amqplib in the same run, on the
 * local RabbitMQ (127.0.0.1:5672) and PostgreSQL (127.0.0.1:5432, database `test`), each in a
 * throw-away vhost / schema:
 * - publish throughput with confirms: one windowed caller (≤ 1,000 unconfirmed) drives both
 *   `publish` and a raw confirm channel with a callback per message; both send the same bytes
 *   (envelope headers and properties) on a connection with the same socket option (no Nagle);
 * - consumer throughput: a subscription (concurrency = prefetch 100, no-op handler, envelope
 *   decoding and the call context included; the bus gets no metrics registry) vs a raw
 *   consumer with prefetch 100 acking each message;
 * - outbox → consumer latency (ce-time to handler) at a steady 1,000 events/s offered on an
 *   absolute schedule, one transaction per event from a writers' pool of its own, p50 / p99
 *   over the steady phase's events only;
 * - relay throughput: a backlog of committed outbox rows to delivered, events/s.
 * Rounds alternate protomesh and raw so noise hits both alike, and which side goes first
 * alternates from round to round, after one unmeasured round of each; medians over rounds.
 * Both publishers build the envelope with the same `encodeEvent`, so the publish ratio measures
 * the publisher itself (confirm mapping, republish bookkeeping, one promise per event), not the
 * envelope.
 * Targets: publish and consume ≥ 0.9× amqplib.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import amqp from "amqplib";
import pg from "pg";
import { OrderCreatedSchema } from "../../gen/acme/order/v1/order_events_pb.js";
import {
  createAmqpEventBus,
  createOutbox,
  encodeEvent,
  migrateEventStore,
  startOutboxRelay,
} from "../../src/events/index.js";
import type { BenchSuite } from "../bench-suite.js";

const rabbitmqctl = "/usr/sbin/rabbitmqctl";
const topic = "acme.order.v1.order_created";
const window = 1_000;
const prefetch = 100;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;

const event = (i: number) =>
  create(OrderCreatedSchema, { orderId: `ord_${i}`, customerId: "cus_bench", itemCount: 1 });

/**
 * Publishes `count` events through `publishOne`, at most `window` unconfirmed at a time: the one
 * caller both sides get, so protomesh and amqplib see the same batching (and neither is handed
 * 50,000 events at once while the other is fed 1,000 at a time, as this bench once did).
 */
async function drive(count: number, publishOne: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const settled = () => {
    inFlight--;
    wake?.();
  };
  const done: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    while (inFlight >= window) await new Promise<void>((r) => (wake = r));
    inFlight++;
    done.push(publishOne(i).finally(settled));
  }
  await Promise.all(done);
  return count / ((performance.now() - start) / 1000);
}

/**
 * One event on a raw confirm channel, byte for byte what protomesh sends: the same envelope
 * headers and the same properties (message id, content type, correlation id), persistent,
 * mandatory, resolved by amqplib's per-message confirm callback.
 */
function rawPublishOne(ch: amqp.ConfirmChannel, i: number): Promise<void> {
  const record = encodeEvent(OrderCreatedSchema, event(i));
  const h = record.headers;
  const id = h["ce-id"] ?? "";
  const content = record.content;
  return new Promise<void>((resolve, reject) => {
    ch.publish(
      "protomesh.events",
      topic,
      Buffer.from(content.buffer, content.byteOffset, content.byteLength),
      {
        headers: h,
        contentType: h["content-type"] ?? "application/protobuf",
        messageId: id,
        correlationId: h["x-request-id"] ?? id,
        persistent: true,
        mandatory: true,
      },
      (error: unknown) => (error ? reject(error) : resolve()),
    );
  });
}

const rawPublish = (ch: amqp.ConfirmChannel, count: number) =>
  drive(count, (i) => rawPublishOne(ch, i));

export const suite: BenchSuite = {
  name: "events",
  async run({ quick }) {
    const vhost = `pm-bench-${randomBytes(4).toString("hex")}`;
    execFileSync(rabbitmqctl, ["add_vhost", vhost], { stdio: "pipe" });
    execFileSync(rabbitmqctl, ["set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], {
      stdio: "pipe",
    });
    const url = `amqp://guest:guest@127.0.0.1:5672/${vhost}`;
    const schema = `pm_bench_${randomBytes(4).toString("hex")}`;
    const pgConfig = { host: "127.0.0.1", port: 5432, user: "postgres", database: "test" };
    const pool = new pg.Pool({ ...pgConfig, max: 10 });
    const count = quick ? 2_000 : 50_000;
    const rounds = quick ? 1 : 5;
    // The same socket option as protomesh's connection (Nagle off), so the raw side is not
    // batched, or delayed, by the kernel differently.
    const raw = await amqp.connect(url, { noDelay: true });
    const bus = await createAmqpEventBus({ url, maxUnconfirmed: window });
    try {
      const admin = await raw.createChannel();
      await admin.assertExchange("protomesh.events", "topic", { durable: true });
      await admin.assertQueue("bench.sink", { durable: true });
      await admin.bindQueue("bench.sink", "protomesh.events", topic);

      // Publish with confirms.
      const confirmChannel = await raw.createConfirmChannel();
      const publishOurs: number[] = [];
      const publishRaw: number[] = [];
      const publishOursOnce = (n = count) =>
        drive(n, (i) => bus.publish(OrderCreatedSchema, event(i)));
      // One unmeasured round of each first: the round that compiles the encoder, amqplib's
      // framing and the driver would otherwise land on whichever side went first.
      const warmUp = Math.min(count, 5_000);
      await publishOursOnce(warmUp);
      await rawPublish(confirmChannel, warmUp);
      for (let r = 0; r < rounds; r++) {
        // Which side goes first alternates, so neither always follows the other's purge.
        for (const side of r % 2 === 0 ? ["ours", "raw"] : ["raw", "ours"]) {
          await admin.purgeQueue("bench.sink");
          if (side === "ours") publishOurs.push(await publishOursOnce());
          else publishRaw.push(await rawPublish(confirmChannel, count));
        }
      }
      await admin.purgeQueue("bench.sink");

      // Consume.
      const consumeOurs: number[] = [];
      const consumeRaw: number[] = [];
      for (let r = 0; r < rounds; r++) {
        await rawPublish(confirmChannel, count); // fills bench.sink
        let start = performance.now();
        await new Promise<void>((resolve, reject) => {
          let seen = 0;
          void admin
            .prefetch(prefetch)
            .then(() =>
              admin.consume("bench.sink", (m) => {
                if (!m) return;
                admin.ack(m);
                if (++seen === count) {
                  void admin.cancel(m.fields.consumerTag).then(() => resolve(), reject);
                }
              }),
            )
            .catch(reject);
        });
        consumeRaw.push(count / ((performance.now() - start) / 1000));
        // protomesh's subscription, on its own queue filled the same way.
        let seen = 0;
        let finished: (() => void) | undefined;
        const all = new Promise<void>((resolve) => (finished = resolve));
        const sub = await bus.subscribe(
          OrderCreatedSchema,
          () => {
            if (++seen === count) finished?.();
          },
          { queue: `bench.subscriber.${r}`, concurrency: prefetch },
        );
        await sub.close(); // declared and bound; now fill it, then consume
        await admin.unbindQueue("bench.sink", "protomesh.events", topic);
        await rawPublish(confirmChannel, count);
        await admin.bindQueue("bench.sink", "protomesh.events", topic);
        start = performance.now();
        const live = await bus.subscribe(
          OrderCreatedSchema,
          () => {
            if (++seen === count) finished?.();
          },
          { queue: `bench.subscriber.${r}`, concurrency: prefetch },
        );
        await all;
        consumeOurs.push(count / ((performance.now() - start) / 1000));
        await live.close();
        await admin.deleteQueue(`bench.subscriber.${r}`);
      }

      // Outbox → consumer latency at a steady 1,000 events/s, and relay throughput. bench.sink
      // goes: nobody reads it, and a second queue to write to would slow every confirm.
      await admin.deleteQueue("bench.sink");
      await migrateEventStore(pool, { schema });
      const outbox = createOutbox({ schema });
      // Only the steady phase's events are latency samples: the relay phase below publishes
      // 20,000 rows written long before, whose "latency" is their wait in a backlog made on
      // purpose (they made p50 read ~5 s when these were mixed in).
      const latencies: number[] = [];
      let sampling = true;
      let received = 0;
      const subscription = await bus.subscribe(
        OrderCreatedSchema,
        (_m, context) => {
          received++;
          if (sampling) latencies.push(Date.now() - context.envelope.time.getTime());
        },
        { queue: "bench.outbox", concurrency: prefetch },
      );
      // The writers have a pool of their own, as an application and its relay would: the relay
      // must not queue behind ten writers for a connection.
      const writers = new pg.Pool({ ...pgConfig, max: 10 });
      const relay = startOutboxRelay({ pool, publisher: bus, schema, pollIntervalMs: 1_000 });
      const seconds = quick ? 2 : 10;
      const rate = 1_000; // events/s, one transaction per event
      let added = 0;
      let committed = 0;
      let writing = 0;
      const addOne = async (i: number) => {
        const client = await writers.connect();
        try {
          await client.query("BEGIN");
          await outbox.add(client, OrderCreatedSchema, event(i));
          await client.query("COMMIT");
          committed++;
        } finally {
          client.release();
          writing--;
        }
      };
      const writes: Promise<void>[] = [];
      const started = performance.now();
      // Offered on an absolute schedule (event n is due at n ms), so a slow tick is caught up
      // instead of lowering the rate; at most 100 writes wait for a connection.
      for (let elapsed = 0; elapsed < seconds * 1000; elapsed = performance.now() - started) {
        const due = Math.floor((elapsed * rate) / 1000);
        while (added < due && writing < 100) {
          writing++;
          writes.push(addOne(added++));
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      await Promise.all(writes);
      const steadyRate = committed / ((performance.now() - started) / 1000);
      while (received < added) await new Promise((r) => setTimeout(r, 10));
      sampling = false;
      await relay.close();
      await writers.end();

      const relayCount = quick ? 2_000 : 20_000;
      const client = await pool.connect();
      await client.query("BEGIN");
      for (let i = 0; i < relayCount; i++) await outbox.add(client, OrderCreatedSchema, event(i));
      await client.query("COMMIT");
      client.release();
      const before = received;
      const relayStart = performance.now();
      const relay2 = startOutboxRelay({ pool, publisher: bus, schema });
      while (received - before < relayCount) await new Promise((r) => setTimeout(r, 5));
      const relayRate = relayCount / ((performance.now() - relayStart) / 1000);
      await relay2.close();
      await subscription.close();

      const figures = {
        events: count,
        rounds,
        publish_per_s: {
          protomesh: round1(median(publishOurs)),
          amqplib: round1(median(publishRaw)),
        },
        consume_per_s: {
          protomesh: round1(median(consumeOurs)),
          amqplib: round1(median(consumeRaw)),
        },
        outbox_latency_ms: {
          rate_per_s: round1(steadyRate),
          p50: quantile(latencies, 0.5),
          p99: quantile(latencies, 0.99),
          samples: latencies.length,
        },
        relay_per_s: round1(relayRate),
      };
      const ratios = {
        events_publish_vs_amqplib: round2(median(publishOurs) / median(publishRaw)),
        events_consume_vs_amqplib: round2(median(consumeOurs) / median(consumeRaw)),
      };
      const markdown = [
        `${count} events per round, ${rounds} rounds, medians; window ${window}, prefetch ${prefetch}:`,
        "",
        "| figure | protomesh | amqplib | ratio (target ≥ 0.9) |",
        "| --- | --- | --- | --- |",
        `| publish with confirms, events/s | ${figures.publish_per_s.protomesh} | ${figures.publish_per_s.amqplib} | ${ratios.events_publish_vs_amqplib} |`,
        `| consume, events/s | ${figures.consume_per_s.protomesh} | ${figures.consume_per_s.amqplib} | ${ratios.events_consume_vs_amqplib} |`,
        "",
        `Outbox → consumer at ${figures.outbox_latency_ms.rate_per_s} events/s: p50 ${figures.outbox_latency_ms.p50} ms, p99 ${figures.outbox_latency_ms.p99} ms. Relay: ${figures.relay_per_s} events/s.`,
      ].join("\n");
      return { markdown, figures, ratios };
    } finally {
      await bus.close().catch(() => {});
      await raw.close().catch(() => {});
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
      await pool.end();
      execFileSync(rabbitmqctl, ["delete_vhost", vhost], { stdio: "pipe" });
    }
  },
};
