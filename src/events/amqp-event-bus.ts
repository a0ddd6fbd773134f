import type { Logger } from "pino";
import { type AmqpConnectionOptions, createAmqpConnection } from "./amqp-connection.js";
import type { EventBus } from "./event-bus.js";
import type { EventMiddleware } from "./event-handler.js";
import type { EventMetrics } from "./event-metrics.js";
import { createEventPublisher, type EventPublisherOptions } from "./event-publisher.js";
import { createEventSubscriber, type Subscription } from "./event-subscriber.js";

export interface AmqpEventBusOptions extends AmqpConnectionOptions {
  /** Default `protomesh.events`. */
  readonly exchange?: string;
  /** CloudEvents `source` of published events. Default `/protomesh`. */
  readonly source?: string;
  /** See `EventPublisherOptions`. Default 30 s. */
  readonly confirmTimeoutMs?: number;
  /** See `EventPublisherOptions`. Default true. */
  readonly mandatory?: boolean;
  /** See `EventPublisherOptions`. Default 2,000. */
  readonly maxUnconfirmed?: number;
  readonly middleware?: readonly EventMiddleware[];
  readonly metrics?: EventMetrics | undefined;
  readonly logger?: Logger | undefined;
}

/**
 * An `EventBus` on RabbitMQ: one recovering connection, a publisher with confirms and a
 * subscriber with retries and a dead-letter queue (see `createEventPublisher` and
 * `createEventSubscriber`).
 */
export async function createAmqpEventBus(options: AmqpEventBusOptions): Promise<EventBus> {
  const connection = await createAmqpConnection(options);
  const publisherOptions: EventPublisherOptions = {
    connection,
    ...(options.exchange !== undefined && { exchange: options.exchange }),
    ...(options.source !== undefined && { source: options.source }),
    ...(options.confirmTimeoutMs !== undefined && { confirmTimeoutMs: options.confirmTimeoutMs }),
    ...(options.mandatory !== undefined && { mandatory: options.mandatory }),
    ...(options.maxUnconfirmed !== undefined && { maxUnconfirmed: options.maxUnconfirmed }),
  };
  const publisher = createEventPublisher(publisherOptions);
  const subscriber = createEventSubscriber({
    connection,
    ...(options.exchange !== undefined && { exchange: options.exchange }),
    ...(options.middleware !== undefined && { middleware: options.middleware }),
    metrics: options.metrics,
    logger: options.logger,
  });
  const subscriptions = new Set<Subscription>();
  return {
    // The publisher's own functions (they use no `this`): no wrapper call per event.
    publish: publisher.publish,
    publishRecord: publisher.publishRecord,
    async subscribe(schema, handler, subscribeOptions) {
      const subscription = await subscriber.subscribe(schema, handler, subscribeOptions);
      subscriptions.add(subscription);
      return {
        ...subscription,
        close: async () => {
          subscriptions.delete(subscription);
          await subscription.close();
        },
      };
    },
    async close() {
      await Promise.all([...subscriptions].map((s) => s.close()));
      await publisher.close();
      await connection.close();
    },
  };
}
