import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ChannelModel, ConfirmChannel, Message } from "amqplib";
import type { AmqpConnection } from "./amqp-connection.js";
import {
  type EncodeEventOptions,
  type EventRecord,
  encodeEvent,
  eventHeaders,
} from "./event-envelope.js";
import { eventTopic } from "./event-topic.js";

/** The exchange events are published to when none is named: one durable topic exchange. */
export const defaultEventExchange = "protomesh.events";

export interface EventPublisherOptions {
  readonly connection: AmqpConnection;
  /** Topic exchange to publish to, declared durable. Default `protomesh.events`. */
  readonly exchange?: string;
  /** CloudEvents `source` of every event. Default `/protomesh`. */
  readonly source?: string;
  /**
   * How long `publish` waits for the broker's confirm, reconnections included, before it
   * rejects with DeadlineExceeded. Default 30 s: long enough to ride out a broker restart.
   */
  readonly confirmTimeoutMs?: number;
  /**
   * Publish with `mandatory`, so an event no queue is bound to comes back (basic.return) and
   * `publish` rejects with NotFound instead of the broker dropping it. Default true.
   */
  readonly mandatory?: boolean;
  /**
   * Events sent and not yet confirmed at most; further publishes wait their turn. Bounds
   * memory and what must be republished after a reconnection. Default 2,000.
   */
  readonly maxUnconfirmed?: number;
}

export interface PublishOptions extends EncodeEventOptions {}

export interface PublishResult {
  /** The event's id (CloudEvents `ce-id`). */
  readonly id: string;
  readonly topic: string;
}

/**
 * Publishes events with publisher confirms. `publish` resolves only once the broker has
 * confirmed the event (written to every queue it routes to); the broker confirms in batches
 * (`multiple`) and amqplib maps each confirm back to its message, so a result is per event.
 * Events published while the connection is down, or sent and not confirmed when it dropped,
 * are (re)sent on the next connection: an event may arrive twice, never zero times, unless
 * `publish` rejected.
 */
export interface EventPublisher {
  publish<Desc extends DescMessage>(
    schema: Desc,
    message: MessageInitShape<Desc>,
    options?: PublishOptions,
  ): Promise<PublishResult>;
  /** Publishes an already-encoded event (the outbox relay's path). */
  publishRecord(topic: string, record: EventRecord): Promise<void>;
  /** Waits for events in flight (each settles: confirmed or rejected), then closes the channel. */
  close(): Promise<void>;
}

interface Pending {
  readonly topic: string;
  readonly record: EventRecord;
  readonly deadline: number;
  readonly resolve: () => void;
  readonly reject: (error: ConnectError) => void;
  /** The channel it was last sent on; undefined while waiting to be (re)sent. */
  channel: ConfirmChannel | undefined;
  returned: boolean;
}

/** Creates an `EventPublisher` on a recovering connection; see its doc. */
export function createEventPublisher(options: EventPublisherOptions): EventPublisher {
  const exchange = options.exchange ?? defaultEventExchange;
  const source = options.source ?? "/protomesh";
  const timeoutMs = options.confirmTimeoutMs ?? 30_000;
  const mandatory = options.mandatory ?? true;
  const maxUnconfirmed = options.maxUnconfirmed ?? 2_000;
  const pending = new Set<Pending>(); // insertion order = publish order: the sweeper relies on it
  const unsent: Pending[] = [];
  const byId = new Map<string, Pending>();
  let channel: ConfirmChannel | undefined;
  let writable = true;
  let inFlight = 0;
  let closing = false;

  const unregister = options.connection.onConnect((model) => {
    void openChannel(model);
  });

  async function openChannel(model: ChannelModel): Promise<void> {
    let ch: ConfirmChannel;
    try {
      ch = await model.createConfirmChannel();
      await ch.assertExchange(exchange, "topic", { durable: true });
    } catch {
      // The connection went away while opening; the next connection opens a channel again.
      retryChannel(model);
      return;
    }
    ch.on("error", () => {}); // followed by close
    ch.on("return", (returned: Message) => {
      const id = returned.properties.messageId as string | undefined;
      const p = id === undefined ? undefined : byId.get(id);
      if (p) p.returned = true;
    });
    ch.on("drain", () => {
      writable = true;
      flush();
    });
    ch.on("close", () => {
      if (channel !== ch) return;
      channel = undefined;
      retryChannel(model);
    });
    if (closing) {
      await ch.close().catch(() => {});
      return;
    }
    channel = ch;
    writable = true;
    flush();
  }

  // A channel closed by the broker on a live connection (not by a connection loss) is opened
  // again on that connection; a lost connection brings a new one through onConnect.
  function retryChannel(model: ChannelModel): void {
    if (closing) return;
    setTimeout(() => {
      if (!closing && channel === undefined && options.connection.current() === model) {
        void openChannel(model);
      }
    }, 100).unref();
  }

  function flush(): void {
    while (channel && writable && inFlight < maxUnconfirmed) {
      const p = unsent.shift();
      if (p === undefined) return;
      if (!pending.has(p)) continue; // timed out while waiting
      send(channel, p);
    }
  }

  function send(ch: ConfirmChannel, p: Pending): void {
    p.channel = ch;
    p.returned = false;
    inFlight++;
    const h = p.record.headers;
    const id = h[eventHeaders.id] ?? "";
    byId.set(id, p);
    try {
      writable = ch.publish(
        exchange,
        p.topic,
        Buffer.from(
          p.record.content.buffer,
          p.record.content.byteOffset,
          p.record.content.byteLength,
        ),
        {
          headers: h,
          contentType: h[eventHeaders.contentType] ?? "application/protobuf",
          messageId: id,
          correlationId: h[eventHeaders.correlationId] ?? id,
          persistent: true,
          mandatory,
        },
        (error: unknown) => confirmed(ch, p, id, error),
      );
    } catch {
      // The channel is closing (amqplib throws IllegalOperationError): send it on the next one.
      p.channel = undefined;
      inFlight--;
      unsent.unshift(p);
      if (channel === ch) channel = undefined;
    }
  }

  function confirmed(ch: ConfirmChannel, p: Pending, id: string, error: unknown): void {
    if (p.channel !== ch) return; // a late answer from a channel it has since left
    p.channel = undefined;
    inFlight--;
    if (byId.get(id) === p) byId.delete(id);
    if (!pending.has(p)) {
      flush();
      return;
    }
    // amqplib answers "message nacked" for a broker nack and "channel closed" for every
    // message still unconfirmed when the channel goes: those are sent again on the next one.
    if (error instanceof Error && error.message !== "message nacked") {
      if (channel === ch) channel = undefined; // closing: its "close" event comes after
      unsent.push(p);
      flush();
      return;
    }
    pending.delete(p);
    if (error !== null && error !== undefined) {
      p.reject(
        new ConnectError(
          `the broker refused event ${id} on ${p.topic} (nack)`,
          Code.Unavailable,
          undefined,
          undefined,
          error,
        ),
      );
    } else if (p.returned) {
      p.reject(
        new ConnectError(
          `no queue is bound to topic ${JSON.stringify(p.topic)} on exchange ${JSON.stringify(exchange)}: event ${id} was returned unrouted`,
          Code.NotFound,
        ),
      );
    } else {
      p.resolve();
    }
    flush();
  }

  // One timer for every event in flight rather than one per event; pending is in publish
  // order, so the sweep stops at the first event still within its deadline.
  const sweeper = setInterval(
    () => {
      const now = Date.now();
      for (const p of pending) {
        if (p.deadline > now) break;
        pending.delete(p);
        p.reject(
          new ConnectError(
            `no confirm for event ${p.record.headers[eventHeaders.id]} on ${p.topic} within ${timeoutMs} ms`,
            Code.DeadlineExceeded,
          ),
        );
      }
    },
    Math.min(1_000, Math.max(10, timeoutMs / 4)),
  );
  sweeper.unref();

  function publishRecord(topic: string, record: EventRecord): Promise<void> {
    if (closing) {
      return Promise.reject(new ConnectError("the event publisher is closed", Code.Unavailable));
    }
    return new Promise<void>((resolve, reject) => {
      const p: Pending = {
        topic,
        record,
        deadline: Date.now() + timeoutMs,
        resolve,
        reject,
        channel: undefined,
        returned: false,
      };
      pending.add(p);
      if (channel && writable && inFlight < maxUnconfirmed && unsent.length === 0) send(channel, p);
      else unsent.push(p);
    });
  }

  return {
    async publish(schema, message, publishOptions = {}) {
      const topic = eventTopic(schema);
      const record = encodeEvent(schema, message, { source, ...publishOptions });
      await publishRecord(topic, record);
      return { id: record.headers[eventHeaders.id] ?? "", topic };
    },
    publishRecord,
    async close() {
      closing = true;
      unregister();
      // Every pending event settles within its deadline: the sweeper rejects what is left.
      while (pending.size > 0) await new Promise((wake) => setTimeout(wake, 10));
      clearInterval(sweeper);
      const ch = channel;
      channel = undefined;
      await ch?.close().catch(() => {});
    },
  };
}
