import { toBinary } from "@bufbuild/protobuf";
import amqp from "amqplib";
import pg from "pg";
import { type OrderCreated, OrderCreatedSchema } from "../../gen/acme/order/v1/order_events_pb.js";
import { type Order, OrderSchema } from "../../gen/acme/order/v1/order_service_pb.js";
import {
  createAmqpEventBus,
  createMemoryEventBus,
  createOutbox,
  type EventBus,
  encodeEvent,
  eventTopic,
  migrateEventStore,
  type OutboxRelay,
  startOutboxRelay,
  subscriberHeaders,
} from "../../src/events/index.js";

/** Where the demo's events and orders live, chosen by AMQP_URL and DATABASE_URL. */
export interface EventBackbone {
  readonly bus: EventBus;
  /** One line per piece, for the demo's output: embedded or real, and where. */
  readonly description: readonly string[];
  /**
   * Stores a new order and its OrderCreated event in one step: one PostgreSQL transaction
   * (order row + outbox row) with DATABASE_URL, else one synchronous in-memory step.
   */
  recordOrder(order: Order, event: OrderCreated): Promise<void>;
  /** Calls `report` for each event that reaches a dead-letter queue. */
  watchDeadLetters(queue: string, report: (line: string) => void): Promise<void>;
  close(): Promise<void>;
}

export interface EventBackboneOptions {
  /** RabbitMQ; default: the in-process bus. */
  readonly amqpUrl?: string | undefined;
  /** PostgreSQL; default: in-memory orders and outbox. */
  readonly databaseUrl?: string | undefined;
  /** The schema in DATABASE_URL's database. Default `order_mesh`. */
  readonly schema?: string | undefined;
}

/** Starts the event side of the demo; see `EventBackbone`. */
export async function startEventBackbone(options: EventBackboneOptions): Promise<EventBackbone> {
  const schema = options.schema ?? "order_mesh";
  const closers: (() => Promise<void>)[] = [];
  const description: string[] = [];
  const deadLetterReports: ((line: string) => void)[] = [];
  let bus: EventBus;
  let watchDeadLetters: EventBackbone["watchDeadLetters"];
  if (options.amqpUrl) {
    bus = await createAmqpEventBus({ url: options.amqpUrl, source: "/order-mesh" });
    description.push(`events     RabbitMQ at ${redact(options.amqpUrl)} (AMQP_URL)`);
    const raw = await amqp.connect(options.amqpUrl);
    closers.push(() => raw.close().catch(() => {}));
    watchDeadLetters = async (queue, report) => {
      const ch = await raw.createChannel();
      await ch.assertQueue(queue, { durable: true });
      // Never acknowledged: the demo shows what is in the DLQ and leaves it there.
      await ch.consume(queue, (m) => {
        if (!m) return;
        const h = m.properties.headers ?? {};
        report(
          `DLQ ${queue}: event ${String(h["ce-id"])} after ${String(h[subscriberHeaders.attempts])} attempts: ${String(h[subscriberHeaders.error])}`,
        );
      });
    };
  } else {
    const memory = createMemoryEventBus({
      source: "/order-mesh",
      onDeadLetter: (letter) => {
        for (const report of deadLetterReports) {
          report(
            `DLQ ${letter.queue}: event ${letter.record.headers["ce-id"]} after ${letter.attempts} attempts: ${letter.error}`,
          );
        }
      },
    });
    bus = memory;
    description.push("events     in-process bus (embedded; set AMQP_URL for RabbitMQ)");
    watchDeadLetters = async (_queue, report) => {
      deadLetterReports.push(report);
    };
  }
  closers.unshift(() => bus.close());

  let recordOrder: EventBackbone["recordOrder"];
  if (options.databaseUrl) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 5 });
    pool.on("error", () => {});
    await migrateEventStore(pool, { schema });
    await pool.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.orders (order_id text PRIMARY KEY, customer_id text NOT NULL, body bytea NOT NULL)`,
    );
    const outbox = createOutbox({ schema, source: "/order-mesh" });
    const relay: OutboxRelay = startOutboxRelay({ pool, publisher: bus, schema });
    closers.unshift(
      () => relay.close(),
      () => pool.end(),
    );
    description.push(
      `orders     PostgreSQL at ${redact(options.databaseUrl)}, schema ${schema} (DATABASE_URL)`,
    );
    recordOrder = async (order, event) => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        await client.query(
          `INSERT INTO ${schema}.orders (order_id, customer_id, body) VALUES ($1, $2, $3) ON CONFLICT (order_id) DO UPDATE SET body = excluded.body`,
          [order.orderId, order.customerId, Buffer.from(toBinary(OrderSchema, order))],
        );
        await outbox.add(client, OrderCreatedSchema, event);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    };
  } else {
    // In memory, the order map and the outbox array change in one synchronous step, and a
    // relay drains the array to the bus: the same order of events as the PostgreSQL outbox.
    const outbox: ReturnType<typeof encodeEvent>[] = [];
    const topic = eventTopic(OrderCreatedSchema);
    let draining = false;
    const drain = async () => {
      if (draining) return;
      draining = true;
      try {
        while (outbox.length > 0) {
          const record = outbox[0];
          if (!record) break;
          try {
            await bus.publishRecord(topic, record);
            outbox.shift();
          } catch {
            await new Promise((r) => setTimeout(r, 500)); // kept, and tried again
          }
        }
      } finally {
        draining = false;
      }
    };
    description.push(
      "orders     in-memory store and outbox (embedded; set DATABASE_URL for PostgreSQL)",
    );
    recordOrder = async (_order, event) => {
      outbox.push(encodeEvent(OrderCreatedSchema, event, { source: "/order-mesh" }));
      void drain();
    };
  }

  return {
    bus,
    description,
    recordOrder,
    watchDeadLetters,
    async close() {
      for (const close of closers) await close();
    },
  };
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}
