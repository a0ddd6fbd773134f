import { afterAll, describe, expect, it } from "vitest";
import { startEventBackbone } from "../../examples/order-mesh/event-backbone.js";
import { startMesh } from "../../examples/order-mesh/mesh.js";
import { unreachableCustomer } from "../../examples/order-mesh/notification-service.js";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { createClient } from "../../src/index.js";
import { createBrokerVhost } from "../events/broker-vhost.js";
import { pgConfig } from "../events/pg-schema.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const item = { sku: "sku-mug", quantity: 1, unitPrice: { currencyCode: "EUR", units: 5n } };

async function until(lines: string[], pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = lines.find((l) => pattern.test(l));
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no line matching ${pattern}:\n${lines.join("\n")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each([
  ["embedded (in-process bus, in-memory store)", false],
  ["RabbitMQ and PostgreSQL", true],
])("order mesh events: %s", (_name, real) => {
  it("CreateOrder's OrderCreated reaches the notification service, and a failing one the DLQ", async () => {
    let amqpUrl: string | undefined;
    let databaseUrl: string | undefined;
    const schema = `pm_test_demo_${Math.random().toString(36).slice(2, 10)}`;
    if (real) {
      const vhost = createBrokerVhost("demo");
      cleanups.push(() => vhost.delete());
      amqpUrl = vhost.url;
      databaseUrl = `postgres://${pgConfig.user}@${pgConfig.host}:${pgConfig.port}/${pgConfig.database}`;
    }
    const events = await startEventBackbone({ amqpUrl, databaseUrl, schema });
    expect(events.description.join("\n")).toMatch(
      real ? /RabbitMQ[\s\S]*PostgreSQL/ : /in-process bus[\s\S]*in-memory/,
    );
    const lines: string[] = [];
    const mesh = await startMesh({ events, log: (l) => lines.push(l) });
    cleanups.push(async () => {
      await mesh.close();
      await events.close();
      if (real) {
        const pg = await import("pg");
        const pool = new pg.default.Pool(pgConfig);
        await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await pool.end();
      }
    });
    const orders = createClient(OrderService, { baseUrl: mesh.order.url });
    const placed = await orders.createOrder({ customerId: "cus_42", items: [item] });
    expect(await until(lines, /^notification ntf_\d+: order-confirmed to cus_42$/)).toBeTruthy();
    const failing = await orders.createOrder({ customerId: unreachableCustomer, items: [item] });
    const dead = await until(lines, /^DLQ notification\.order-created\.dlq: /);
    expect(dead).toMatch(/after 3 attempts: .*no address on file for cus_unreachable/);
    expect(placed.order?.orderId).not.toBe(failing.order?.orderId);
    if (real) {
      const pg = await import("pg");
      const pool = new pg.default.Pool(pgConfig);
      const { rows } = await pool.query(
        `SELECT o.order_id, count(x.id)::int AS events FROM ${schema}.orders o JOIN ${schema}.outbox x ON x.headers->>'ce-type' = 'acme.order.v1.OrderCreated' AND x.sent_at IS NOT NULL GROUP BY o.order_id ORDER BY o.order_id`,
      );
      await pool.end();
      expect(rows.map((r) => r.order_id)).toEqual(
        [placed.order?.orderId, failing.order?.orderId].sort(),
      );
    }
  });
});
