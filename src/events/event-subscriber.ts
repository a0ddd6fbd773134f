import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ChannelModel, ConfirmChannel, ConsumeMessage, Options } from "amqplib";
import type { Logger } from "pino";
import type { AmqpConnection } from "./amqp-connection.js";
import { type DispatchOutcome, planSubscription } from "./event-dispatcher.js";
import type { EventHandler, EventMiddleware } from "./event-handler.js";
import type { EventMetrics } from "./event-metrics.js";
import { defaultEventExchange } from "./event-publisher.js";
import type { EventRetryOptions } from "./retry-schedule.js";

/** Headers the subscriber adds when it retries or dead-letters an event. */
export const subscriberHeaders = {
  /** The attempt the next delivery is (1 for the first). */
  attempt: "x-protomesh-attempt",
  /** On a dead-lettered event: the last error, as text. */
  error: "x-protomesh-error",
  /** On a dead-lettered event: how many attempts were made. */
  attempts: "x-protomesh-attempts",
  /** On a dead-lettered event: "max_attempts" or "undecodable". */
  reason: "x-protomesh-reason",
  /** On a dead-lettered event: the queue it failed in. */
  queue: "x-protomesh-queue",
} as const;

export interface SubscribeOptions {
  /** The durable queue to consume, bound to the event's topic. Name it after the consumer. */
  readonly queue: string;
  /**
   * Events handled at once; also the prefetch, so the broker never hands this consumer more
   * unacknowledged events than it handles. Default 10.
   */
  readonly concurrency?: number;
  /** Retries with backoff through TTL retry queues. Default 5 attempts, 1 s doubling to 60 s. */
  readonly retry?: EventRetryOptions;
  /** Where failed events end. Default queue `<queue>.dlq`. */
  readonly deadLetter?: { readonly queue?: string };
  /** Middleware for this subscription only, inside the subscriber's own. */
  readonly middleware?: readonly EventMiddleware[];
}

/** A running subscription. */
export interface Subscription {
  readonly queue: string;
  readonly deadLetterQueue: string;
  /** Stops consuming, lets handlers in flight finish, closes the channel. */
  close(): Promise<void>;
}

export interface EventSubscriberOptions {
  readonly connection: AmqpConnection;
  /** Default `protomesh.events`. */
  readonly exchange?: string;
  /** Middleware around every handler of every subscription, outermost first. */
  readonly middleware?: readonly EventMiddleware[];
  /** Consumer metrics; none when omitted. */
  readonly metrics?: EventMetrics | undefined;
  /** The access log: one line per handled event, a warning per failure. None when omitted. */
  readonly logger?: Logger | undefined;
}

export interface EventSubscriber {
  /**
   * Consumes `schema`'s topic from `options.queue` until closed, with manual acks: an event is
   * acknowledged only after its handler returned, or after it was safely (confirmed) moved to a
   * retry or the dead-letter queue. Declares, on every (re)connection, the queue bound to the
   * topic, one retry queue per retry (`<queue>.retry.<n>`: a TTL, then dead-lettered back to
   * the queue — no broker plugin) and the dead-letter queue.
   */
  subscribe<Desc extends DescMessage>(
    schema: Desc,
    handler: EventHandler<Desc>,
    options: SubscribeOptions,
  ): Promise<Subscription>;
}

/** Creates an `EventSubscriber` on a recovering connection; see its doc. */
export function createEventSubscriber(options: EventSubscriberOptions): EventSubscriber {
  const exchange = options.exchange ?? defaultEventExchange;
  return {
    async subscribe(schema, handler, subscribeOptions) {
      const { topic, queue, concurrency, delaysMs, deadLetterQueue, dispatch } = planSubscription(
        schema,
        handler,
        subscribeOptions,
        options,
      );

      let channel: ConfirmChannel | undefined;
      let consumerTag: string | undefined;
      let closed = false;
      let unregister = () => {};
      // Deliveries whose handler or move has not finished; close() waits for them. A count, not
      // a set of promises: one less promise and closure per event.
      let handling = 0;
      let drained: (() => void) | undefined;
      let idle: Promise<void> | undefined; // shared, so two close() calls both wait
      let firstReady: (() => void) | undefined;
      let firstFailed: ((error: unknown) => void) | undefined;
      const ready = new Promise<void>((resolve, reject) => {
        firstReady = resolve;
        firstFailed = reject;
      });

      async function open(model: ChannelModel): Promise<void> {
        let ch: ConfirmChannel | undefined;
        try {
          ch = await model.createConfirmChannel();
          ch.on("error", () => {}); // followed by close
          await ch.assertExchange(exchange, "topic", { durable: true });
          await ch.assertQueue(queue, { durable: true });
          await ch.bindQueue(queue, exchange, topic);
          for (const [i, ttl] of delaysMs.entries()) {
            await ch.assertQueue(retryQueue(queue, i + 1), {
              durable: true,
              arguments: {
                "x-message-ttl": ttl,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": queue,
              },
            });
          }
          await ch.assertQueue(deadLetterQueue, { durable: true });
          await ch.prefetch(concurrency);
          if (closed) {
            await ch.close();
            return;
          }
          const live = ch;
          live.on("close", () => {
            if (channel !== live) return;
            channel = undefined;
            reopenLater(model);
          });
          channel = live;
          ({ consumerTag } = await live.consume(queue, (m) => {
            if (m) void deliver(live, m);
          }));
          firstReady?.();
        } catch (error) {
          // A declaration the broker refuses (e.g. a queue declared before with other
          // arguments) is a configuration error: the first subscribe call reports it.
          if (isPreconditionFailed(error)) {
            closed = true;
            unregister();
            firstFailed?.(
              new ConnectError(
                `cannot declare the topology of queue ${queue}: ${String(error)}`,
                Code.FailedPrecondition,
                undefined,
                undefined,
                error,
              ),
            );
          }
          if (ch && channel !== ch) await ch.close().catch(() => {});
          reopenLater(model);
        }
      }

      function reopenLater(model: ChannelModel): void {
        if (closed) return;
        setTimeout(() => {
          if (!closed && channel === undefined && options.connection.current() === model) {
            void open(model);
          }
        }, 200).unref();
      }

      async function deliver(ch: ConfirmChannel, m: ConsumeMessage): Promise<void> {
        handling++;
        try {
          const headers = stringHeaders(m.properties.headers);
          if (headers["content-type"] === undefined && m.properties.contentType) {
            headers["content-type"] = String(m.properties.contentType);
          }
          const attempt = Math.max(1, Number(headers[subscriberHeaders.attempt] ?? 1) || 1);
          const outcome: DispatchOutcome = await dispatch({ content: m.content, headers }, attempt);
          try {
            if (outcome.kind !== "ack") await moveAside(ch, m, headers, attempt, outcome);
            // A delivery tag belongs to its channel: after a reconnection the broker redelivers.
            if (channel === ch) ch.ack(m);
          } catch {
            // Not moved (channel lost or nack): leave it unacknowledged, the broker redelivers it.
            if (channel === ch) nackQuietly(ch, m);
          }
        } finally {
          if (--handling === 0) drained?.();
        }
      }

      /** Sends a failed event to its next retry queue, or to the dead-letter queue. */
      function moveAside(
        ch: ConfirmChannel,
        m: ConsumeMessage,
        headers: Record<string, string>,
        attempt: number,
        outcome: Exclude<DispatchOutcome, { kind: "ack" }>,
      ): Promise<void> {
        if (outcome.kind === "retry") {
          return republish(ch, retryQueue(queue, attempt), m, {
            ...headers,
            [subscriberHeaders.attempt]: String(attempt + 1),
            [subscriberHeaders.error]: errorText(outcome.error),
          });
        }
        return republish(ch, deadLetterQueue, m, {
          ...headers,
          [subscriberHeaders.error]: errorText(outcome.error),
          [subscriberHeaders.attempts]: String(attempt),
          [subscriberHeaders.reason]: outcome.reason,
          [subscriberHeaders.queue]: queue,
        });
      }

      unregister = options.connection.onConnect((model) => {
        void open(model);
      });
      await ready;

      return {
        queue,
        deadLetterQueue,
        async close() {
          closed = true;
          unregister();
          const ch = channel;
          if (ch && consumerTag) await ch.cancel(consumerTag).catch(() => {});
          if (handling > 0) {
            idle ??= new Promise<void>((resolve) => (drained = resolve));
            await idle;
          }
          channel = undefined;
          await ch?.close().catch(() => {});
        },
      };
    },
  };
}

/** The queue holding events for retry after attempt `attempt`. */
export function retryQueue(queue: string, attempt: number): string {
  return `${queue}.retry.${attempt}`;
}

function republish(
  ch: ConfirmChannel,
  target: string,
  m: ConsumeMessage,
  headers: Record<string, string>,
): Promise<void> {
  const properties: Options.Publish = {
    headers,
    persistent: true,
    contentType: m.properties.contentType ?? headers["content-type"] ?? "application/protobuf",
  };
  if (m.properties.messageId) properties.messageId = String(m.properties.messageId);
  if (m.properties.correlationId) properties.correlationId = String(m.properties.correlationId);
  return new Promise((resolve, reject) => {
    ch.sendToQueue(target, m.content, properties, (error: unknown) =>
      error ? reject(error) : resolve(),
    );
  });
}

/** A nack the channel refuses (it is closing under us) changes nothing: the broker redelivers. */
function nackQuietly(ch: ConfirmChannel, m: ConsumeMessage): void {
  try {
    ch.nack(m, false, true);
  } catch {}
}

function stringHeaders(raw: Record<string, unknown> | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!raw) return headers;
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined || value === null) continue;
    headers[key] = Buffer.isBuffer(value) ? value.toString("utf8") : String(value);
  }
  return headers;
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // Headers share a 64 KiB frame table with the rest: keep the reason readable, not the stack.
  return text.length > 1_000 ? `${text.slice(0, 1_000)}…` : text;
}

function isPreconditionFailed(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === 406;
}
