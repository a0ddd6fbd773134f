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

/**
 * One event until it settles. A class, so every event has the same shape; the payload is kept as
 * the Buffer amqplib sends (wrapped once, not on every send) for a republish after a reconnect.
 */
class Pending {
  /** The channel it was last sent on; undefined while waiting to be (re)sent. */
  channel: ConfirmChannel | undefined = undefined;
  /** Confirmed, rejected or timed out: never sent again. */
  settled = false;

  constructor(
    readonly topic: string,
    readonly content: Buffer,
    readonly headers: Readonly<Record<string, string>>,
    readonly id: string,
    readonly deadline: number,
    /** `publish` resolves with `{ id, topic }`, `publishRecord` with undefined. */
    readonly withResult: boolean,
    readonly resolve: (result: PublishResult | undefined) => void,
    readonly reject: (error: ConnectError) => void,
  ) {}
}

/**
 * Events oldest first, read from a moving head: `shift` copies the whole array once it is large
 * (`Promise.all` over 50,000 publishes queues most of them), which made the queue the
 * publisher's largest cost in the profile. Serves both the events waiting to be (re)sent and
 * every unsettled event in publish order (for the deadline sweep).
 */
class Fifo {
  private items: (Pending | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(p: Pending): void {
    this.items.push(p);
  }

  /** Puts an event back in front (its send failed: it goes first on the next channel). */
  unshift(p: Pending): void {
    if (this.head > 0) this.items[--this.head] = p;
    else this.items.unshift(p);
  }

  peek(): Pending | undefined {
    return this.items[this.head];
  }

  shift(): Pending | undefined {
    if (this.head === this.items.length) return undefined;
    const p = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1_024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return p;
  }
}

// `new Promise(capture)` hands out its resolve and reject through these two, so a publish
// allocates no executor closure of its own: the promise is the only thing it must make.
let capturedResolve: (result: PublishResult | undefined) => void = () => {};
let capturedReject: (error: ConnectError) => void = () => {};
function capture(
  resolve: (result: PublishResult | undefined) => void,
  reject: (error: ConnectError) => void,
): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** Creates an `EventPublisher` on a recovering connection; see its doc. */
export function createEventPublisher(options: EventPublisherOptions): EventPublisher {
  const exchange = options.exchange ?? defaultEventExchange;
  const source = options.source ?? "/protomesh";
  const sourceOnly: EncodeEventOptions = { source };
  const timeoutMs = options.confirmTimeoutMs ?? 30_000;
  const mandatory = options.mandatory ?? true;
  const maxUnconfirmed = options.maxUnconfirmed ?? 2_000;
  // Every event not yet settled, in publish order (settled ones leave from the head as soon as
  // they reach it), for the deadline sweep; counted apart for `close`. An array with a head
  // rather than a Set: no hashing, and an add and a delete per event were a cost of their own.
  const pending = new Fifo();
  let unsettled = 0;
  const unsent = new Fifo();
  // Ids the current channel returned unrouted (basic.return), counted, until their confirm:
  // the broker sends the return before the ack, so the common path costs no map operation.
  let returned = new Map<string, number>();
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
    ch.on("return", (message: Message) => {
      const id = message.properties.messageId as string | undefined;
      if (id !== undefined && channel === ch) returned.set(id, (returned.get(id) ?? 0) + 1);
    });
    ch.on("drain", () => {
      writable = true;
      flush();
    });
    ch.on("close", () => {
      // `confirmed` or `send` may have let go of this channel already (amqplib fails its
      // unconfirmed publishes before "close"): it still needs reopening unless another took over.
      if (channel === ch) channel = undefined;
      if (channel === undefined) retryChannel(model);
    });
    if (closing) {
      await ch.close().catch(() => {});
      return;
    }
    channel = ch;
    returned = new Map(); // a return whose ack never came belongs to the channel that died
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
      if (!p.settled) send(channel, p); // else it timed out while waiting
    }
  }

  function send(ch: ConfirmChannel, p: Pending): void {
    p.channel = ch;
    inFlight++;
    const h = p.headers;
    try {
      writable = ch.publish(
        exchange,
        p.topic,
        p.content,
        {
          headers: h,
          contentType: h[eventHeaders.contentType] ?? "application/protobuf",
          messageId: p.id,
          correlationId: h[eventHeaders.correlationId] ?? p.id,
          persistent: true,
          mandatory,
        },
        (error: unknown) => confirmed(ch, p, error),
      );
    } catch {
      // The channel is closing (amqplib throws IllegalOperationError): send it on the next one.
      p.channel = undefined;
      inFlight--;
      unsent.unshift(p);
      if (channel === ch) channel = undefined;
    }
  }

  function wasReturned(id: string): boolean {
    const n = returned.get(id);
    if (n === undefined) return false;
    if (n === 1) returned.delete(id);
    else returned.set(id, n - 1);
    return true;
  }

  function confirmed(ch: ConfirmChannel, p: Pending, error: unknown): void {
    if (p.channel !== ch) return; // a late answer from a channel it has since left
    p.channel = undefined;
    inFlight--;
    const unrouted = returned.size > 0 && channel === ch && wasReturned(p.id);
    if (p.settled) {
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
    settle(p);
    if (error !== null && error !== undefined) {
      p.reject(
        new ConnectError(
          `the broker refused event ${p.id} on ${p.topic} (nack)`,
          Code.Unavailable,
          undefined,
          undefined,
          error,
        ),
      );
    } else if (unrouted) {
      p.reject(
        new ConnectError(
          `no queue is bound to topic ${JSON.stringify(p.topic)} on exchange ${JSON.stringify(exchange)}: event ${p.id} was returned unrouted`,
          Code.NotFound,
        ),
      );
    } else {
      p.resolve(p.withResult ? { id: p.id, topic: p.topic } : undefined);
    }
    flush();
  }

  function settle(p: Pending): void {
    p.settled = true;
    unsettled--;
    // Confirms come in publish order, so the head is almost always this event.
    for (let head = pending.peek(); head?.settled === true; head = pending.peek()) pending.shift();
  }

  // One timer for every event in flight rather than one per event; pending is in publish
  // order, so the sweep stops at the first event still within its deadline.
  const sweeper = setInterval(
    () => {
      const now = Date.now();
      for (let p = pending.peek(); p !== undefined && p.deadline <= now; p = pending.peek()) {
        settle(p);
        p.reject(
          new ConnectError(
            `no confirm for event ${p.id} on ${p.topic} within ${timeoutMs} ms`,
            Code.DeadlineExceeded,
          ),
        );
      }
    },
    Math.min(1_000, Math.max(10, timeoutMs / 4)),
  );
  sweeper.unref();

  function enqueue(
    topic: string,
    record: EventRecord,
    withResult: boolean,
  ): Promise<PublishResult | undefined> {
    const promise = new Promise(capture);
    const content = record.content;
    const p = new Pending(
      topic,
      Buffer.isBuffer(content)
        ? content
        : Buffer.from(content.buffer, content.byteOffset, content.byteLength),
      record.headers,
      record.headers[eventHeaders.id] ?? "",
      Date.now() + timeoutMs,
      withResult,
      capturedResolve,
      capturedReject,
    );
    pending.push(p);
    unsettled++;
    if (channel && writable && inFlight < maxUnconfirmed && unsent.length === 0) send(channel, p);
    else unsent.push(p);
    return promise;
  }

  function closed(): Promise<never> {
    return Promise.reject(new ConnectError("the event publisher is closed", Code.Unavailable));
  }

  // A publisher mostly sends one event type after another: the last schema's topic is kept
  // here, before eventTopic's WeakMap lookup.
  let lastSchema: DescMessage | undefined;
  let lastTopic = "";

  return {
    // Not async, and resolving with the result itself: one promise per event, no wrapper.
    publish(schema, message, publishOptions) {
      if (closing) return closed();
      let topic: string;
      let record: EventRecord;
      try {
        if (schema !== lastSchema) {
          lastTopic = eventTopic(schema);
          lastSchema = schema;
        }
        topic = lastTopic;
        record = encodeEvent(
          schema,
          message,
          publishOptions === undefined ? sourceOnly : { source, ...publishOptions },
        );
      } catch (error) {
        return Promise.reject(error);
      }
      return enqueue(topic, record, true) as Promise<PublishResult>;
    },
    publishRecord(topic, record) {
      if (closing) return closed();
      return enqueue(topic, record, false) as Promise<void>;
    },
    async close() {
      closing = true;
      unregister();
      // Every pending event settles within its deadline: the sweeper rejects what is left.
      while (unsettled > 0) await new Promise((wake) => setTimeout(wake, 10));
      clearInterval(sweeper);
      const ch = channel;
      channel = undefined;
      await ch?.close().catch(() => {});
    },
  };
}
