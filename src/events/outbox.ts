import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import type { ClientBase } from "pg";
import { type EncodeEventOptions, encodeEvent, eventHeaders } from "./event-envelope.js";
import { checkSchemaName, defaultEventSchema, outboxChannel } from "./event-store-migration.js";
import { eventTopic } from "./event-topic.js";

export interface OutboxOptions {
  /** Where `migrateEventStore` created the tables. Default `protomesh`. */
  readonly schema?: string;
  /** CloudEvents `source` of the events added. Default `/protomesh`. */
  readonly source?: string;
}

/**
 * The transactional outbox: `add` writes an event into the caller's own transaction, next to
 * the business rows it describes. Both commit or neither does, so an event is never published
 * for a change rolled back, nor lost for a change committed; the relay publishes it later.
 */
export interface Outbox {
  /**
   * Adds an event in `client`'s current transaction (the caller runs BEGIN/COMMIT) and wakes
   * the relays when it commits (NOTIFY is transactional). Returns the event id.
   */
  add<Desc extends DescMessage>(
    client: ClientBase,
    schema: Desc,
    message: MessageInitShape<Desc>,
    options?: EncodeEventOptions,
  ): Promise<string>;
}

/** Creates an `Outbox`; see its doc. */
export function createOutbox(options: OutboxOptions = {}): Outbox {
  const s = checkSchemaName(options.schema ?? defaultEventSchema);
  const channel = outboxChannel(s);
  // One round trip: the insert and the NOTIFY that wakes the relays (sent at COMMIT; the
  // server folds identical notifications of one transaction into one).
  const insert = `WITH added AS (INSERT INTO ${s}.outbox (event_id, topic, headers, payload) VALUES ($1, $2, $3, $4) RETURNING 1) SELECT pg_notify($5, '') FROM added`;
  const source = options.source ?? "/protomesh";
  return {
    async add(client, schema, message, addOptions = {}) {
      const topic = eventTopic(schema);
      const record = encodeEvent(schema, message, { source, ...addOptions });
      const id = record.headers[eventHeaders.id] ?? "";
      const content = record.content;
      await client.query(insert, [
        id,
        topic,
        record.headers,
        Buffer.from(content.buffer, content.byteOffset, content.byteLength),
        channel,
      ]);
      return id;
    },
  };
}
