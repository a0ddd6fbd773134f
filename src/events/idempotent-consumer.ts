import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { ClientBase, Pool, PoolClient } from "pg";
import type { EventContext, EventHandler } from "./event-handler.js";
import { checkSchemaName, defaultEventSchema } from "./event-store-migration.js";

/**
 * Records `(consumer, eventId)` in `client`'s current transaction and says whether this is the
 * first time: true → apply the event in the same transaction; false → it was applied before
 * (commit nothing new). A concurrent delivery of the same event waits on the row until the
 * first transaction ends, so exactly one of them applies it.
 */
export async function recordEventOnce(
  client: ClientBase,
  consumer: string,
  eventId: string,
  options: { readonly schema?: string } = {},
): Promise<boolean> {
  const s = checkSchemaName(options.schema ?? defaultEventSchema);
  const result = await client.query(
    `INSERT INTO ${s}.processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
    [consumer, eventId],
  );
  return result.rowCount === 1;
}

/** A handler given the transaction the event is applied in. */
export type TransactionalEventHandler<Desc extends DescMessage> = (
  message: MessageShape<Desc>,
  context: EventContext,
  transaction: PoolClient,
) => Promise<void> | void;

export interface IdempotentConsumerOptions {
  readonly pool: Pool;
  /** The consumer's name: one record per (consumer, event id). Use the queue's name. */
  readonly consumer: string;
  /** Default `protomesh`. */
  readonly schema?: string;
  /** Called when a repeated event is skipped (for tests and logs). Default: none. */
  readonly onDuplicate?: ((context: EventContext) => void) | undefined;
}

/**
 * Wraps a handler so each event is applied once: the handler runs in a transaction that also
 * records the event id, so its writes and the record commit together or not at all. A
 * redelivered event finds the record and is acknowledged without running the handler.
 */
export function idempotentConsumer(
  options: IdempotentConsumerOptions,
): <Desc extends DescMessage>(handler: TransactionalEventHandler<Desc>) => EventHandler<Desc> {
  const schema = options.schema ?? defaultEventSchema;
  checkSchemaName(schema);
  return (handler) => async (message, context) => {
    const client = await options.pool.connect();
    let broken = false;
    // A connection lost between two queries is reported as an "error" event on the checked-out
    // client (an uncaught exception without a listener); the next query fails with it anyway.
    client.on("error", ignore);
    try {
      await client.query("BEGIN");
      if (!(await recordEventOnce(client, options.consumer, context.id, { schema }))) {
        await client.query("ROLLBACK");
        options.onDuplicate?.(context);
        return;
      }
      await handler(message, context, client);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {
        broken = true; // the connection itself failed: do not hand it out again
      });
      throw error;
    } finally {
      client.off("error", ignore);
      client.release(broken);
    }
  };
}

function ignore(): void {}
