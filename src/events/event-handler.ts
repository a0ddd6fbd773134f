import type { DescMessage, Message, MessageShape } from "@bufbuild/protobuf";
import type { EventEnvelope } from "./event-envelope.js";

/** What a handler knows about the event it handles, besides the message. */
export interface EventContext {
  /** The event's id (ce-id): the key for applying it once (`applyEventOnce`). */
  readonly id: string;
  /** 1 for the first delivery, 2 for the first retry, … */
  readonly attempt: number;
  /** The most attempts the subscription makes before the dead-letter queue. */
  readonly maxAttempts: number;
  /** The topic it was published under. */
  readonly topic: string;
  /** The queue it was consumed from. */
  readonly queue: string;
  /** W3C trace context of the publishing call, if any. */
  readonly traceparent: string | undefined;
  /** Correlation id of the publishing call; also the call context's while the handler runs. */
  readonly correlationId: string;
  /** Every CloudEvents attribute. */
  readonly envelope: EventEnvelope;
}

/**
 * Handles one event. Returning normally acknowledges it; throwing retries it with backoff, up
 * to the subscription's `maxAttempts`, then dead-letters it with the error. Delivery is at
 * least once: write handlers to tolerate a repeat (see `applyEventOnce`).
 */
export type EventHandler<Desc extends DescMessage> = (
  message: MessageShape<Desc>,
  context: EventContext,
) => Promise<void> | void;

/** One delivery as middleware sees it. */
export interface ConsumedEvent {
  readonly message: Message;
  readonly context: EventContext;
}

/**
 * Runs around every handler, outermost first, as Connect's interceptors do:
 * `(next) => async (event) => { …; await next(event); … }`. Throwing fails the delivery like a
 * handler failure.
 */
export type EventMiddleware = (
  next: (event: ConsumedEvent) => Promise<void>,
) => (event: ConsumedEvent) => Promise<void>;
