import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderCreatedSchema } from "../../gen/acme/order/v1/order_events_pb.js";
import { createAmqpEventBus } from "../../src/events/index.js";
import { type BrokerVhost, createBrokerVhost } from "./broker-vhost.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

let vhost: BrokerVhost;
let proxy: TcpProxy;

beforeAll(async () => {
  vhost = createBrokerVhost("loss");
  proxy = await startTcpProxy(5672);
});
afterAll(async () => {
  await proxy?.close();
  vhost?.delete();
});

describe("connection loss while publishing (fault test)", () => {
  it(
    "delivers every one of 10,000 events while the AMQP connection is cut twice",
    async () => {
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
      await consumer.subscribe(
        OrderCreatedSchema,
        (message) => {
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
      console.log(`connection loss: ${deliveries - total} duplicate deliveries, ${proxy.cuts} sockets cut`);
      await publisher.close();
      await consumer.close();
    },
    120_000,
  );
});
