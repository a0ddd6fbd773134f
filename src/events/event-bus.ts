import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import type { EventRecord } from "./event-envelope.js";
import type { EventHandler } from "./event-handler.js";
import type { PublishOptions, PublishResult } from "./event-publisher.js";
import type { SubscribeOptions, Subscription } from "./event-subscriber.js";

/**
 * Publish and subscribe, whatever carries the events: RabbitMQ (`createAmqpEventBus`) or this
 * process (`createMemoryEventBus`, for demos and tests). Services take an `EventBus` so the
 * same code runs on both.
 */
export interface EventBus {
  /** Resolves once the event is safely accepted (on RabbitMQ: confirmed by the broker). */
  publish<Desc extends DescMessage>(
    schema: Desc,
    message: MessageInitShape<Desc>,
    options?: PublishOptions,
  ): Promise<PublishResult>;
  /** Publishes an already-encoded event under `topic` (the outbox relay's path). */
  publishRecord(topic: string, record: EventRecord): Promise<void>;
  subscribe<Desc extends DescMessage>(
    schema: Desc,
    handler: EventHandler<Desc>,
    options: SubscribeOptions,
  ): Promise<Subscription>;
  /** Closes subscriptions, waits for events in flight, closes the connection. */
  close(): Promise<void>;
}
