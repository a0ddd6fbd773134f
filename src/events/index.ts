/**
 * protomesh/events: typed events from the contracts on RabbitMQ (amqplib) with a transactional
 * outbox and idempotent consumers on PostgreSQL (pg). A subpath of its own, so amqplib and pg
 * are needed only by those who use events.
 */
export type { AmqpConnection, AmqpConnectionOptions } from "./amqp-connection.js";
export { createAmqpConnection } from "./amqp-connection.js";
export type { AmqpEventBusOptions } from "./amqp-event-bus.js";
export { createAmqpEventBus } from "./amqp-event-bus.js";
export type { EventBus } from "./event-bus.js";
export type {
  EncodeEventOptions,
  EventContentType,
  EventEnvelope,
  EventRecord,
} from "./event-envelope.js";
export { decodeEvent, encodeEvent, eventHeaders } from "./event-envelope.js";
export type {
  ConsumedEvent,
  EventContext,
  EventHandler,
  EventMiddleware,
} from "./event-handler.js";
export type { EventMetrics, QueueMetrics } from "./event-metrics.js";
export { createEventMetrics } from "./event-metrics.js";
export type {
  EventPublisher,
  EventPublisherOptions,
  PublishOptions,
  PublishResult,
} from "./event-publisher.js";
export { createEventPublisher, defaultEventExchange } from "./event-publisher.js";
export {
  checkSchemaName,
  defaultEventSchema,
  migrateEventStore,
} from "./event-store-migration.js";
export type {
  EventSubscriber,
  EventSubscriberOptions,
  SubscribeOptions,
  Subscription,
} from "./event-subscriber.js";
export { createEventSubscriber, retryQueue, subscriberHeaders } from "./event-subscriber.js";
export { eventTopic } from "./event-topic.js";
export type { IdempotencyClaim, IdempotencyStore } from "./idempotency-store.js";
export {
  createMemoryIdempotencyStore,
  createPostgresIdempotencyStore,
} from "./idempotency-store.js";
export type {
  IdempotentConsumerOptions,
  TransactionalEventHandler,
} from "./idempotent-consumer.js";
export { idempotentConsumer, recordEventOnce } from "./idempotent-consumer.js";
export type { DeadLetter, MemoryEventBus, MemoryEventBusOptions } from "./memory-event-bus.js";
export { createMemoryEventBus } from "./memory-event-bus.js";
export type { Outbox, OutboxOptions } from "./outbox.js";
export { createOutbox } from "./outbox.js";
export type { OutboxRelay, OutboxRelayOptions } from "./outbox-relay.js";
export { startOutboxRelay } from "./outbox-relay.js";
export type { EventRetryOptions } from "./retry-schedule.js";
export { maxEventAttempts, retrySchedule } from "./retry-schedule.js";
export type { IdempotencyKeyOptions } from "./with-idempotency-keys.js";
export { withIdempotencyKeys } from "./with-idempotency-keys.js";
