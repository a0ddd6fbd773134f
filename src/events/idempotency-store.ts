import type { Pool } from "pg";
import { checkSchemaName, defaultEventSchema } from "./event-store-migration.js";

/** What a store knows about a key when a call claims it. */
export type IdempotencyClaim =
  /** First call with the key: run the method, then `complete` or `release`. */
  | { readonly kind: "claimed" }
  /** Done before with the same request: replay this response. */
  | { readonly kind: "done"; readonly response: Uint8Array }
  /** The key was used with a different request. */
  | { readonly kind: "mismatch" }
  /** Another call with the key is running; ask again shortly. */
  | { readonly kind: "running" };

/** Remembers idempotency keys and the responses they produced. */
export interface IdempotencyStore {
  claim(scope: string, key: string, requestHash: string): Promise<IdempotencyClaim>;
  /** Stores the response of a claimed key. */
  complete(scope: string, key: string, response: Uint8Array): Promise<void>;
  /** Forgets a claimed key whose call failed, so a retry runs it again. */
  release(scope: string, key: string): Promise<void>;
}

/** An in-process store: for demos, tests and single-instance services (lost on restart). */
export function createMemoryIdempotencyStore(): IdempotencyStore {
  const entries = new Map<string, { hash: string; response: Uint8Array | undefined }>();
  const id = (scope: string, key: string) => `${scope}\u0000${key}`;
  return {
    async claim(scope, key, hash) {
      const entry = entries.get(id(scope, key));
      if (!entry) {
        entries.set(id(scope, key), { hash, response: undefined });
        return { kind: "claimed" };
      }
      if (entry.hash !== hash) return { kind: "mismatch" };
      return entry.response ? { kind: "done", response: entry.response } : { kind: "running" };
    },
    async complete(scope, key, response) {
      const entry = entries.get(id(scope, key));
      if (entry) entry.response = response;
    },
    async release(scope, key) {
      entries.delete(id(scope, key));
    },
  };
}

/**
 * A PostgreSQL store in `<schema>.idempotency_keys` (created by `migrateEventStore`), shared
 * by every instance of a service: the primary key decides which call claims a key.
 */
export function createPostgresIdempotencyStore(options: {
  readonly pool: Pool;
  /** Default `protomesh`. */
  readonly schema?: string;
}): IdempotencyStore {
  const s = checkSchemaName(options.schema ?? defaultEventSchema);
  const { pool } = options;
  return {
    async claim(scope, key, hash) {
      const inserted = await pool.query(
        `INSERT INTO ${s}.idempotency_keys (scope, key, request_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
        [scope, key, hash],
      );
      if (inserted.rowCount === 1) return { kind: "claimed" };
      const { rows } = await pool.query<{ request_hash: string; response: Buffer | null }>(
        `SELECT request_hash, response FROM ${s}.idempotency_keys WHERE scope = $1 AND key = $2`,
        [scope, key],
      );
      const row = rows[0];
      if (!row) return { kind: "running" }; // released between the two statements: ask again
      if (row.request_hash !== hash) return { kind: "mismatch" };
      return row.response ? { kind: "done", response: row.response } : { kind: "running" };
    },
    async complete(scope, key, response) {
      await pool.query(
        `UPDATE ${s}.idempotency_keys SET response = $3 WHERE scope = $1 AND key = $2`,
        [scope, key, Buffer.from(response)],
      );
    },
    async release(scope, key) {
      await pool.query(`DELETE FROM ${s}.idempotency_keys WHERE scope = $1 AND key = $2`, [
        scope,
        key,
      ]);
    },
  };
}
