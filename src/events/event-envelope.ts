import { randomFillSync, randomUUID } from "node:crypto";
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
  /** Default: a random UUID. Set it to re-publish the same event (e.g. from the outbox). */
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

/**
 * Encodes a message as a CloudEvent in binary mode. The correlation id and the trace come from
 * the current call context (`currentCallContext`), so an event published while serving a call
 * is traced and logged under that call's id with no plumbing in service code.
 */
export function encodeEvent<Desc extends DescMessage>(
  schema: Desc,
  init: MessageInitShape<Desc>,
  options: EncodeEventOptions = {},
): EventRecord {
  const message = isMessage(init, schema) ? init : create(schema, init);
  const contentType = options.contentType ?? "application/protobuf";
  const context = currentCallContext();
  const correlationId = options.correlationId ?? context?.correlationId ?? newCorrelationId();
  const traceparent = options.traceparent ?? activeTraceparent() ?? traceparentOf(correlationId);
  const content =
    contentType === "application/json"
      ? Buffer.from(toJsonString(schema, message))
      : toBinary(schema, message);
  const headers: Record<string, string> = {
    [eventHeaders.id]: options.id ?? randomUUID(),
    [eventHeaders.type]: schema.typeName,
    [eventHeaders.source]: options.source ?? "/protomesh",
    [eventHeaders.time]: (options.time ?? new Date()).toISOString(),
    [eventHeaders.specVersion]: "1.0",
    [eventHeaders.contentType]: contentType,
    [eventHeaders.correlationId]: correlationId,
  };
  if (traceparent !== undefined) headers[eventHeaders.traceparent] = traceparent;
  return { content, headers };
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
  if (!traceId.test(correlationId) || correlationId === "0".repeat(32)) return undefined;
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
