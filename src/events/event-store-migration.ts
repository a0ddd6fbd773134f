import { Code, ConnectError } from "@connectrpc/connect";
import type { ClientBase, Pool } from "pg";

/** The PostgreSQL schema holding the outbox and the idempotency tables. Default `protomesh`. */
export const defaultEventSchema = "protomesh";

const identifier = /^[a-z_][a-z0-9_]{0,62}$/;

/** Checks a schema name before it is spliced into SQL (identifiers cannot be parameters). */
export function checkSchemaName(schema: string): string {
  if (!identifier.test(schema)) {
    throw new ConnectError(
      `schema must be a lowercase SQL identifier, got ${JSON.stringify(schema)}`,
      Code.InvalidArgument,
    );
  }
  return schema;
}

/** The LISTEN/NOTIFY channel an outbox insert wakes relays on. */
export function outboxChannel(schema: string): string {
  return `${checkSchemaName(schema)}_outbox`;
}

// Each entry runs once, in order, recorded in <schema>.migrations. Append only: never edit an
// entry that has shipped, add the next one.
const migrations: readonly ((s: string) => string)[] = [
  (s) => `
    CREATE TABLE ${s}.outbox (
      id bigserial PRIMARY KEY,
      event_id text NOT NULL,
      topic text NOT NULL,
      headers jsonb NOT NULL,
      payload bytea NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      sent_at timestamptz,
      attempts integer NOT NULL DEFAULT 0,
      last_error text
    );
    CREATE INDEX outbox_unsent ON ${s}.outbox (id) WHERE sent_at IS NULL;
    CREATE INDEX outbox_sent ON ${s}.outbox (sent_at) WHERE sent_at IS NOT NULL;
    CREATE TABLE ${s}.processed_events (
      consumer text NOT NULL,
      event_id text NOT NULL,
      processed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer, event_id)
    );
    CREATE TABLE ${s}.idempotency_keys (
      scope text NOT NULL,
      key text NOT NULL,
      request_hash text NOT NULL,
      response bytea,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (scope, key)
    );`,
];

/**
 * Creates (or brings up to date) the tables of the outbox, the idempotent consumers and the
 * RPC idempotency keys in `schema`. Safe to run at every start and from several processes at
 * once: an advisory lock serialises them and each step runs once.
 */
export async function migrateEventStore(
  db: Pool | ClientBase,
  options: { readonly schema?: string } = {},
): Promise<void> {
  const s = checkSchemaName(options.schema ?? defaultEventSchema);
  const client = "connect" in db && "totalCount" in db ? await db.connect() : (db as ClientBase);
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`protomesh:${s}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ v: number | null }>(
      `SELECT max(version) AS v FROM ${s}.migrations`,
    );
    for (let version = (rows[0]?.v ?? 0) + 1; version <= migrations.length; version++) {
      const sql = migrations[version - 1];
      if (sql) await client.query(sql(s));
      await client.query(`INSERT INTO ${s}.migrations (version) VALUES ($1)`, [version]);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    if (client !== db) (client as { release?: () => void }).release?.();
  }
}
