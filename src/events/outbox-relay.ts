import pg from "pg";
import type { EventRecord } from "./event-envelope.js";
import { checkSchemaName, defaultEventSchema, outboxChannel } from "./event-store-migration.js";

export interface OutboxRelayOptions {
  /** Where the outbox lives. The relay holds one pooled connection per batch in flight. */
  readonly pool: pg.Pool;
  /** Where it publishes: an `EventBus` or `EventPublisher` (resolves once confirmed). */
  readonly publisher: {
    publishRecord(topic: string, record: EventRecord): Promise<void>;
  };
  /** Default `protomesh`. */
  readonly schema?: string;
  /** Rows locked and published per transaction. Default 200. */
  readonly batchSize?: number;
  /**
   * Poll this often when no NOTIFY arrives (the LISTEN connection is down, or a NOTIFY was
   * missed while reconnecting). Default 1 s.
   */
  readonly pollIntervalMs?: number;
  /** Sent rows are deleted after this long. Default 7 days. */
  readonly retentionMs?: number;
  /** How often sent rows past retention are deleted. Default 1 min. */
  readonly cleanupIntervalMs?: number;
  /** Wait after a database or broker failure, doubling up to 5 s. Default 100 ms. */
  readonly errorBackoffMs?: number;
  /** Called with each failure the relay rides out (for logs). Default: none. */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** A running relay. */
export interface OutboxRelay {
  /** Events published (and marked sent) by this relay so far. */
  readonly published: number;
  /** Publishes what is pending now and resolves when none is left (tests, shutdown). */
  drain(): Promise<void>;
  /** Deletes sent rows older than the retention now; returns how many. */
  cleanup(): Promise<number>;
  /** Stops after the batch in flight. */
  close(): Promise<void>;
}

/**
 * Moves events from the outbox to the broker. Each batch is one transaction: it locks unsent
 * rows with `FOR UPDATE SKIP LOCKED` (so several relays share the work and never publish the
 * same row at once), publishes them with confirms, then marks the confirmed ones sent. A
 * failure before COMMIT (database or broker down, relay killed) leaves the rows unsent, and
 * they are published again: at least once, never lost. It wakes on LISTEN/NOTIFY and polls as a
 * fallback.
 */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const s = checkSchemaName(options.schema ?? defaultEventSchema);
  const channel = outboxChannel(s);
  const batchSize = options.batchSize ?? 200;
  const pollMs = options.pollIntervalMs ?? 1_000;
  const retentionMs = options.retentionMs ?? 7 * 24 * 3_600_000;
  const baseBackoff = options.errorBackoffMs ?? 100;
  const select = `SELECT id, topic, headers, payload FROM ${s}.outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`;
  const markSent = `UPDATE ${s}.outbox SET sent_at = now(), attempts = attempts + 1 WHERE id = ANY($1::bigint[])`;
  const markFailed = `UPDATE ${s}.outbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])`;
  const cleanupSql = `DELETE FROM ${s}.outbox WHERE sent_at IS NOT NULL AND sent_at < now() - make_interval(secs => $1)`;

  let running = true;
  let published = 0;
  let wake: (() => void) | undefined;
  // Set by every NOTIFY (and drain/close), cleared when a batch starts: a NOTIFY that arrives
  // while a batch is in flight is not lost (it used to be, and the relay then slept a whole
  // poll interval with committed rows waiting).
  let nudged = false;
  let listener: pg.Client | undefined;

  function nudge(): void {
    nudged = true;
    wake?.();
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });
  }

  /** One batch: the number of rows it locked. */
  async function relayBatch(): Promise<number> {
    const client = await options.pool.connect();
    let broken = false;
    // A connection lost between two queries is reported as an "error" event on the checked-out
    // client (an uncaught exception without a listener); the next query fails with it anyway.
    client.on("error", ignore);
    try {
      await client.query("BEGIN");
      const { rows } = await client.query<{
        id: string;
        topic: string;
        headers: Record<string, string>;
        payload: Buffer;
      }>(select, [batchSize]);
      if (rows.length === 0) {
        await client.query("COMMIT");
        return 0;
      }
      const results = await Promise.allSettled(
        rows.map((row) =>
          options.publisher.publishRecord(row.topic, {
            content: row.payload,
            headers: row.headers,
          }),
        ),
      );
      const sent: string[] = [];
      const failed: string[] = [];
      let lastError: unknown;
      results.forEach((result, i) => {
        const id = rows[i]?.id;
        if (id === undefined) return;
        if (result.status === "fulfilled") sent.push(id);
        else {
          failed.push(id);
          lastError = result.reason;
        }
      });
      if (sent.length > 0) await client.query(markSent, [sent]);
      if (failed.length > 0) await client.query(markFailed, [failed, String(lastError)]);
      await client.query("COMMIT");
      published += sent.length;
      if (failed.length > 0) throw lastError;
      return rows.length;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {
        broken = true; // the connection itself failed: do not hand it out again
      });
      throw error;
    } finally {
      client.off("error", ignore);
      client.release(broken);
    }
  }

  async function listen(): Promise<void> {
    let backoff = baseBackoff;
    while (running) {
      const client = new pg.Client(connectionConfig(options.pool));
      try {
        const lost = new Promise<void>((resolve) => {
          client.on("error", () => resolve());
          client.on("end", () => resolve());
        });
        await client.connect();
        await client.query(`LISTEN ${channel}`);
        listener = client;
        client.on("notification", nudge);
        backoff = baseBackoff;
        nudge(); // anything added while not listening
        await lost;
      } catch (error) {
        options.onError?.(error);
      } finally {
        listener = undefined;
        await client.end().catch(() => {});
      }
      if (running) await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(5_000, backoff * 2);
    }
  }

  async function loop(): Promise<void> {
    let backoff = baseBackoff;
    while (running) {
      try {
        nudged = false;
        const n = await relayBatch();
        backoff = baseBackoff;
        // A full batch may have more behind it, and a NOTIFY during the batch means rows were
        // committed after its SELECT: go again at once. Otherwise wait for a NOTIFY or the poll.
        if (n < batchSize && !nudged && running) await sleep(pollMs);
      } catch (error) {
        options.onError?.(error);
        if (running) await sleep(backoff);
        backoff = Math.min(5_000, backoff * 2);
      }
    }
  }

  const cleanupTimer = setInterval(() => {
    void relay.cleanup().catch((error: unknown) => options.onError?.(error));
  }, options.cleanupIntervalMs ?? 60_000);
  cleanupTimer.unref();

  const listening = listen();
  const looping = loop();

  const relay: OutboxRelay = {
    get published() {
      return published;
    },
    async drain() {
      while (running) {
        const { rows } = await options.pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${s}.outbox WHERE sent_at IS NULL`,
        );
        if (rows[0]?.n === "0") return;
        nudge();
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async cleanup() {
      const result = await options.pool.query(cleanupSql, [retentionMs / 1000]);
      return result.rowCount ?? 0;
    },
    async close() {
      running = false;
      clearInterval(cleanupTimer);
      nudge();
      await listener?.end().catch(() => {});
      await Promise.allSettled([looping, listening]);
    },
  };
  return relay;
}

// The LISTEN connection must be a connection of its own (a pooled one goes back to the pool
// and its LISTEN with it), made with the pool's settings.
function connectionConfig(pool: pg.Pool): pg.ClientConfig {
  return (pool as unknown as { options: pg.ClientConfig }).options;
}

function ignore(): void {}
