import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import { runWithCallContext } from "../context/index.js";
import { decodeEvent, type EventRecord } from "./event-envelope.js";
import type {
  ConsumedEvent,
  EventContext,
  EventHandler,
  EventMiddleware,
} from "./event-handler.js";
import type { EventMetrics, QueueMetrics } from "./event-metrics.js";
import type { SubscribeOptions } from "./event-subscriber.js";
import { eventTopic } from "./event-topic.js";
import { retrySchedule } from "./retry-schedule.js";

/** What to do with a delivery once its handler has run. */
export type DispatchOutcome =
  | { readonly kind: "ack" }
  | { readonly kind: "retry"; readonly error: unknown }
  | {
      readonly kind: "dead";
      readonly reason: "max_attempts" | "undecodable";
      readonly error: unknown;
    };

export interface EventDispatcherOptions<Desc extends DescMessage> {
  readonly schema: Desc;
  readonly handler: EventHandler<Desc>;
  readonly middleware: readonly EventMiddleware[];
  readonly topic: string;
  readonly queue: string;
  readonly maxAttempts: number;
  readonly metrics: QueueMetrics | undefined;
  readonly logger: Logger | undefined;
}

/**
 * The broker-independent half of a subscription, shared by the AMQP subscriber and the
 * in-process bus: decode, run middleware and handler in the publisher's call context, count,
 * log, and say whether to ack, retry or dead-letter.
 */
export function createEventDispatcher<Desc extends DescMessage>(
  options: EventDispatcherOptions<Desc>,
): (record: EventRecord, attempt: number) => Promise<DispatchOutcome> {
  const { schema, topic, queue, maxAttempts, metrics } = options;
  const log = options.logger?.child({ queue, type: schema.typeName });
  const handler = options.handler as (
    message: ConsumedEvent["message"],
    context: EventContext,
  ) => unknown;
  // With no middleware the handler runs as it is: no event object, no wrapping promise.
  const chain =
    options.middleware.length === 0
      ? undefined
      : options.middleware.reduceRight<(event: ConsumedEvent) => Promise<void>>(
          (next, middleware) => middleware(next),
          async (event) => {
            await handler(event.message, event.context);
          },
        );

  return async (record, attempt) => {
    let decoded: ReturnType<typeof decodeEvent<Desc>>;
    try {
      decoded = decodeEvent(schema, record);
    } catch (error) {
      metrics?.deadLettered("undecodable");
      log?.warn({ attempt, err: String(error) }, "undecodable event dead-lettered");
      return { kind: "dead", reason: "undecodable", error };
    }
    const { message, envelope } = decoded;
    metrics?.lag((Date.now() - envelope.time.getTime()) / 1000);
    const context: EventContext = {
      id: envelope.id,
      attempt,
      maxAttempts,
      topic,
      queue,
      traceparent: envelope.traceparent,
      correlationId: envelope.correlationId,
      envelope,
    };
    const started = performance.now();
    try {
      const callContext = { correlationId: envelope.correlationId };
      await (chain === undefined
        ? runWithCallContext(callContext, handler, message, context)
        : runWithCallContext(callContext, chain, { message, context }));
    } catch (error) {
      metrics?.failed();
      const last = attempt >= maxAttempts;
      log?.warn(
        { id: envelope.id, attempt, correlationId: envelope.correlationId, err: String(error) },
        last ? "event handler failed: dead-lettered" : "event handler failed: will retry",
      );
      if (last) {
        metrics?.deadLettered("max_attempts");
        return { kind: "dead", reason: "max_attempts", error };
      }
      metrics?.retried();
      return { kind: "retry", error };
    }
    const seconds = (performance.now() - started) / 1000;
    metrics?.consumed(seconds);
    log?.info(
      { id: envelope.id, attempt, correlationId: envelope.correlationId, ms: seconds * 1000 },
      "event handled",
    );
    return { kind: "ack" };
  };
}

/** A subscription as both buses carry it out: where, how many at once, when to retry, and how. */
export interface SubscriptionPlan {
  readonly topic: string;
  readonly queue: string;
  readonly concurrency: number;
  readonly maxAttempts: number;
  /** The wait after attempt n is `delaysMs[n - 1]`. */
  readonly delaysMs: readonly number[];
  readonly deadLetterQueue: string;
  readonly dispatch: (record: EventRecord, attempt: number) => Promise<DispatchOutcome>;
}

/** What a bus adds to every one of its subscriptions. */
export interface BusSubscriptionDefaults {
  readonly middleware?: readonly EventMiddleware[] | undefined;
  readonly metrics?: EventMetrics | undefined;
  readonly logger?: Logger | undefined;
}

/**
 * Checks `subscribe`'s options and builds its dispatcher, the same way for the AMQP subscriber
 * and the in-process bus (which once each did it by hand): the topic from the contract, the
 * queue, concurrency (default 10), the retry schedule and the dead-letter queue (default
 * `<queue>.dlq`), the bus's middleware outside the subscription's own.
 */
export function planSubscription<Desc extends DescMessage>(
  schema: Desc,
  handler: EventHandler<Desc>,
  options: SubscribeOptions,
  bus: BusSubscriptionDefaults,
): SubscriptionPlan {
  const topic = eventTopic(schema);
  const { queue } = options;
  if (queue === "") throw new ConnectError("subscribe needs a queue", Code.InvalidArgument);
  const concurrency = options.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 65_535) {
    throw new ConnectError(
      `concurrency must be an integer in 1..65535, got ${concurrency}`,
      Code.InvalidArgument,
    );
  }
  const { maxAttempts, delaysMs } = retrySchedule(options.retry);
  const dispatch = createEventDispatcher({
    schema,
    handler,
    middleware: [...(bus.middleware ?? []), ...(options.middleware ?? [])],
    topic,
    queue,
    maxAttempts,
    metrics: bus.metrics?.forQueue(queue, schema.typeName),
    logger: bus.logger,
  });
  const deadLetterQueue = options.deadLetter?.queue ?? `${queue}.dlq`;
  return { topic, queue, concurrency, maxAttempts, delaysMs, deadLetterQueue, dispatch };
}
