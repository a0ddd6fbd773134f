import { randomBytes, randomFillSync } from "node:crypto";
import {
  create,
  type DescMessage,
  fromBinary,
  fromJsonString,
  isMessage,
  type MessageInitShape,
  type MessageShape,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { trace } from "@opentelemetry/api";
import { currentCallContext } from "../context/index.js";
import { correlationIdHeader, newCorrelationId } from "../observe/correlation-id.js";
import { outboundParent } from "../observe/tracing.js";

/** CloudEvents 1.0 attributes in binary mode: one header each, the payload stays the bytes. */
export const eventHeaders = {
  id: "ce-id",
  type: "ce-type",
  source: "ce-source",
  time: "ce-time",
  specVersion: "ce-specversion",
  contentType: "content-type",
  traceparent: "traceparent",
  correlationId: correlationIdHeader,
} as const;

/** The two encodings an event may travel in. Default `application/protobuf`. */
export type EventContentType = "application/protobuf" | "application/json";

/** What travels with an event besides its payload: the CloudEvents attributes and the trace. */
export interface EventEnvelope {
  /** Unique per event (CloudEvents `id`); the key an idempotent consumer records. */
  readonly id: string;
  /** The message's full name, e.g. `acme.order.v1.OrderCreated` (CloudEvents `type`). */
  readonly type: string;
  /** Who published it (CloudEvents `source`), e.g. `/order-service`. */
  readonly source: string;
  /** When it was published. */
  readonly time: Date;
  readonly contentType: EventContentType;
  /** W3C trace context of the call that published the event, if any. */
  readonly traceparent: string | undefined;
  /** Correlation id of the call that published the event (or a fresh one). */
  readonly correlationId: string;
}

/** An event as bytes plus string headers: what a broker (or the in-process bus) carries. */
export interface EventRecord {
  readonly content: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}

export interface EncodeEventOptions {
  /**
   * Default: a new id from `newEventId` (32 hex digits, a random 64-bit prefix per process and a
   * sequence). Set it to re-publish the same event (e.g. from the outbox).
   */
  readonly id?: string | undefined;
  /** CloudEvents `source`. Default `/protomesh`. */
  readonly source?: string | undefined;
  /** Default: now. */
  readonly time?: Date | undefined;
  /** Default `application/protobuf`: smaller and faster; JSON for humans reading queues. */
  readonly contentType?: EventContentType | undefined;
  /**
   * Default: the active trace (an OpenTelemetry span, or the inbound call's server span), so
   * the event is a child of the call that published it; with no tracing, a traceparent under
   * the call's trace-shaped correlation id.
   */
  readonly traceparent?: string | undefined;
  /** Default: the call context's correlation id, else a fresh one. */
  readonly correlationId?: string | undefined;
}

const traceId = /^[\da-f]{32}$/;
const invalidTraceId = "0".repeat(32);

/**
 * Encodes a message as a CloudEvent in binary mode. The correlation id and the trace come from
 * the current call context (`currentCallContext`), so an event published while serving a call
 * is traced and logged under that call's id with no plumbing in service code.
 */
export function encodeEvent<Desc extends DescMessage>(
  schema: Desc,
  init: MessageInitShape<Desc>,
  options: EncodeEventOptions = noOptions,
): EventRecord {
  const message = isMessage(init, schema) ? init : create(schema, init);
  const contentType = options.contentType ?? "application/protobuf";
  let correlationId = options.correlationId ?? currentCallContext()?.correlationId;
  let traceparent = options.traceparent ?? activeTraceparent();
  if (correlationId === undefined) {
    // Minted here, so trace-shaped: no need to test it before deriving a traceparent.
    correlationId = newCorrelationId();
    traceparent ??= `00-${correlationId}-${randomSpanId()}-01`;
  } else {
    traceparent ??= traceparentOf(correlationId);
  }
  const content =
    contentType === "application/json"
      ? Buffer.from(toJsonString(schema, message))
      : toBinary(schema, message);
  const id = options.id ?? newEventId();
  const source = options.source ?? "/protomesh";
  const time = options.time === undefined ? isoNow() : options.time.toISOString();
  // Literal keys, one shape with a traceparent and one without: a computed key per header made
  // V8 define each property at run time, the envelope's largest own cost.
  const headers: Record<string, string> =
    traceparent === undefined
      ? {
          "ce-id": id,
          "ce-type": schema.typeName,
          "ce-source": source,
          "ce-time": time,
          "ce-specversion": "1.0",
          "content-type": contentType,
          "x-request-id": correlationId,
        }
      : {
          "ce-id": id,
          "ce-type": schema.typeName,
          "ce-source": source,
          "ce-time": time,
          "ce-specversion": "1.0",
          "content-type": contentType,
          "x-request-id": correlationId,
          traceparent,
        };
  return { content, headers };
}

const noOptions: EncodeEventOptions = {};

// Random per process, then counted, like correlation ids (`newCorrelationId`) but under a prefix
// of its own: as unique across a fleet as a UUID (64 random bits per process, a 64-bit sequence
// within it), where randomUUID's formatting was the largest single cost of an envelope.
const eventIdPrefix = randomBytes(8).toString("hex");
let eventSequence = 0;

/**
 * A new event id (`ce-id`): 32 lowercase hex digits, unique (a random 64-bit prefix per process
 * and a sequence), not secret.
 */
function newEventId(): string {
  eventSequence++;
  return eventIdPrefix + eventSequence.toString(16).padStart(16, "0");
}

// ce-time has millisecond precision: the RFC 3339 string is formatted once per millisecond, not
// once per event (a Date and a toISOString each), which at thousands of events a second is most
// of them.
let isoMs = -1;
let isoString = "";

function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoString = new Date(now).toISOString();
  }
  return isoString;
}

/**
 * Decodes an event for `schema`, or throws InvalidArgument (the subscriber sends such a
 * message to the dead-letter queue at once: no retry can make it decodable).
 */
export function decodeEvent<Desc extends DescMessage>(
  schema: Desc,
  record: EventRecord,
): { readonly message: MessageShape<Desc>; readonly envelope: EventEnvelope } {
  const h = record.headers;
  const type = h[eventHeaders.type];
  if (type !== schema.typeName) {
    throw undecodable(`ce-type ${JSON.stringify(type)} is not ${schema.typeName}`);
  }
  const id = h[eventHeaders.id];
  if (id === undefined || id === "") throw undecodable("the event has no ce-id");
  const contentType = h[eventHeaders.contentType] ?? "application/protobuf";
  if (contentType !== "application/protobuf" && contentType !== "application/json") {
    throw undecodable(`unsupported content-type ${JSON.stringify(contentType)}`);
  }
  let message: MessageShape<Desc>;
  try {
    message =
      contentType === "application/json"
        ? fromJsonString(schema, Buffer.from(record.content).toString("utf8"))
        : fromBinary(schema, record.content);
  } catch (error) {
    throw new ConnectError(
      `cannot decode ${schema.typeName}: ${error instanceof Error ? error.message : String(error)}`,
      Code.InvalidArgument,
      undefined,
      undefined,
      error,
    );
  }
  const time = new Date(h[eventHeaders.time] ?? "");
  return {
    message,
    envelope: {
      id,
      type,
      source: h[eventHeaders.source] ?? "",
      time: Number.isNaN(time.getTime()) ? new Date(0) : time,
      contentType,
      traceparent: h[eventHeaders.traceparent],
      correlationId: h[eventHeaders.correlationId] ?? id,
    },
  };
}

function undecodable(reason: string): ConnectError {
  return new ConnectError(`undecodable event: ${reason}`, Code.InvalidArgument);
}

/** The W3C traceparent of the active span, where one is (see `outboundParent`). */
function activeTraceparent(): string | undefined {
  const span = trace.getSpanContext(outboundParent());
  if (span === undefined || !trace.isSpanContextValid(span)) return undefined;
  return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

// A correlation id minted by protomesh is shaped like a W3C trace id, so the event continues the
// call's trace under a span id of its own. Any other id starts no trace.
function traceparentOf(correlationId: string): string | undefined {
  if (correlationId === invalidTraceId || !traceId.test(correlationId)) return undefined;
  return `00-${correlationId}-${randomSpanId()}-01`;
}

// randomBytes(8) per event was the envelope's largest cost (a fill of its own each time); one
// 4 KiB fill serves 512 span ids.
const spanIds = Buffer.allocUnsafe(4_096);
let spanIdOffset = spanIds.length;

function randomSpanId(): string {
  if (spanIdOffset === spanIds.length) {
    randomFillSync(spanIds);
    spanIdOffset = 0;
  }
  const id = spanIds.toString("hex", spanIdOffset, spanIdOffset + 8);
  spanIdOffset += 8;
  return id;
}
