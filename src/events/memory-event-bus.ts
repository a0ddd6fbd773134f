import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { EventBus } from "./event-bus.js";
import { planSubscription } from "./event-dispatcher.js";
import { type EventRecord, encodeEvent, eventHeaders } from "./event-envelope.js";
import type { EventMiddleware } from "./event-handler.js";
import type { EventMetrics } from "./event-metrics.js";
import { eventTopic } from "./event-topic.js";

/** An event that ended in a dead-letter queue of the in-process bus. */
export interface DeadLetter {
  readonly queue: string;
  readonly record: EventRecord;
  readonly reason: "max_attempts" | "undecodable";
  readonly attempts: number;
  readonly error: string;
}

export interface MemoryEventBusOptions {
  /** CloudEvents `source`. Default `/protomesh`. */
  readonly source?: string;
  readonly middleware?: readonly EventMiddleware[];
  readonly metrics?: EventMetrics | undefined;
  readonly logger?: Logger | undefined;
  /** Called for each event dead-lettered. Default: none (read `deadLetters`). */
  readonly onDeadLetter?: ((letter: DeadLetter) => void) | undefined;
}

/**
 * An `EventBus` inside this process, for demos and tests with no broker: the same envelope,
 * dispatcher, retries (timers instead of TTL queues), concurrency and dead-letter queues as on
 * RabbitMQ, but nothing survives the process. Publishing to a topic nobody subscribes to
 * fails with NotFound, as the AMQP publisher's `mandatory` does.
 */
export interface MemoryEventBus extends EventBus {
  /** Events dead-lettered so far, oldest first. */
  readonly deadLetters: readonly DeadLetter[];
}

interface MemorySubscription {
  readonly topic: string;
  deliver(record: EventRecord, attempt: number): void;
}

/** Creates a `MemoryEventBus`; see its doc. */
export function createMemoryEventBus(options: MemoryEventBusOptions = {}): MemoryEventBus {
  const subscriptions = new Set<MemorySubscription>();
  const deadLetters: DeadLetter[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  let closed = false;

  async function publishRecord(topic: string, record: EventRecord): Promise<void> {
    if (closed) throw new ConnectError("the event bus is closed", Code.Unavailable);
    const targets = [...subscriptions].filter((s) => s.topic === topic);
    if (targets.length === 0) {
      throw new ConnectError(
        `no queue is bound to topic ${JSON.stringify(topic)}: event ${record.headers[eventHeaders.id]} was returned unrouted`,
        Code.NotFound,
      );
    }
    for (const target of targets) target.deliver(record, 1);
  }

  return {
    deadLetters,
    async publish(schema, message, publishOptions = {}) {
      const topic = eventTopic(schema);
      const record = encodeEvent(schema, message, {
        source: options.source ?? "/protomesh",
        ...publishOptions,
      });
      await publishRecord(topic, record);
      return { id: record.headers[eventHeaders.id] ?? "", topic };
    },
    publishRecord,
    async subscribe(schema, handler, subscribeOptions) {
      const { topic, queue, concurrency, delaysMs, deadLetterQueue, dispatch } = planSubscription(
        schema,
        handler,
        subscribeOptions,
        options,
      );
      const waiting: [EventRecord, number][] = [];
      let active = 0;
      let stopped = false;

      const pump = () => {
        while (!stopped && active < concurrency) {
          const next = waiting.shift();
          if (!next) return;
          active++;
          const [record, attempt] = next;
          const run = dispatch(record, attempt).then((outcome) => {
            active--;
            if (outcome.kind === "retry") {
              const timer = setTimeout(
                () => {
                  timers.delete(timer);
                  subscription.deliver(record, attempt + 1);
                },
                delaysMs[attempt - 1] ?? 0,
              );
              timers.add(timer);
            } else if (outcome.kind === "dead") {
              const error = outcome.error;
              const letter: DeadLetter = {
                queue: deadLetterQueue,
                record,
                reason: outcome.reason,
                attempts: attempt,
                error: error instanceof Error ? error.message : String(error),
              };
              deadLetters.push(letter);
              options.onDeadLetter?.(letter);
            }
            pump();
          });
          inFlight.add(run);
          void run.finally(() => inFlight.delete(run));
        }
      };
      const subscription: MemorySubscription = {
        topic,
        deliver(record, attempt) {
          if (stopped) return;
          waiting.push([record, attempt]);
          queueMicrotask(pump);
        },
      };
      subscriptions.add(subscription);
      return {
        queue,
        deadLetterQueue,
        async close() {
          stopped = true;
          subscriptions.delete(subscription);
          await Promise.allSettled([...inFlight]);
        },
      };
    },
    async close() {
      closed = true;
      subscriptions.clear();
      for (const timer of timers) clearTimeout(timer);
      await Promise.allSettled([...inFlight]);
    },
  };
}
