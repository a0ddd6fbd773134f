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
   * Batches (transactions) open at once: the next batch is locked and sent while earlier ones
   * wait for their confirms, so an event committed during a batch does not wait for that
   * batch's confirms (tens of ms on a persistent queue) before it is sent. Batches are sent in
   * the order they were locked, so a relay still sends in outbox-id order. Default 4.
   */
  readonly batchesInFlight?: number;
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

interface OutboxRow {
  readonly id: string;
  readonly topic: string;
  readonly headers: Record<string, string>;
  readonly payload: Buffer;
}

/** A running relay. */
export interface OutboxRelay {
  /** Events published (and marked sent) by this relay so far. */
  readonly published: number;
  /** Publishes what is pending now and resolves when none is left (tests, shutdown). */
  drain(): Promise<void>;
  /** Deletes sent rows older than the retention now; returns how many. */
  cleanup(): Promise<number>;
  /** Stops after the batches in flight. */
  close(): Promise<void>;
}

/**
 * Moves events from the outbox to the broker. Each batch is one transaction: it locks unsent
 * rows with `FOR UPDATE SKIP LOCKED` (so several relays share the work and never publish the
 * same row at once), publishes them with confirms, then marks the confirmed ones sent. A
 * failure before COMMIT (database or broker down, relay killed) leaves the rows unsent, and
 * they are published again: at least once, never lost. Up to `batchesInFlight` batches are open
 * at once, each locked while earlier ones wait for their confirms. It wakes on LISTEN/NOTIFY,
 * draining until a batch comes back short with no NOTIFY since, and polls as a fallback.
 */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const s = checkSchemaName(options.schema ?? defaultEventSchema);
  const channel = outboxChannel(s);
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 200));
  const batchesInFlight = Math.max(1, options.batchesInFlight ?? 4);
  const pollMs = options.pollIntervalMs ?? 1_000;
  const retentionMs = options.retentionMs ?? 7 * 24 * 3_600_000;
  const baseBackoff = options.errorBackoffMs ?? 100;
  // One round trip opens the transaction and locks the batch (a simple query may hold several
  // statements; the batch size is a number, so it is written into the text). Marking rows sent
  // needs no flush to disk before the next batch: a commit lost in a PostgreSQL crash only sends
  // those events again, which at-least-once allows, and it saves a WAL flush per batch.
  // Visibility to other relays (SKIP LOCKED) is at commit, flushed or not.
  const lockBatch = `BEGIN; SET LOCAL synchronous_commit = off; SELECT id, topic, headers, payload FROM ${s}.outbox WHERE sent_at IS NULL ORDER BY id LIMIT ${batchSize} FOR UPDATE SKIP LOCKED`;
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

  /**
   * Locks one batch and sends its events, in id order, without waiting for their confirms:
   * resolves with the number of rows locked and `done`, the rest of the batch (confirms, mark
   * sent, commit), so the next batch can be locked while this one waits for the broker.
   */
  async function startBatch(): Promise<{ readonly locked: number; readonly done: Promise<void> }> {
    const client = await options.pool.connect();
    // A connection lost between two queries is reported as an "error" event on the checked-out
    // client (an uncaught exception without a listener); the next query fails with it anyway.
    client.on("error", ignore);
    let rows: OutboxRow[];
    try {
      // Several statements answer with one result each (pg's types say one): the SELECT's is last.
      const results = (await client.query<OutboxRow>(lockBatch)) as unknown as
        | pg.QueryResult<OutboxRow>
        | pg.QueryResult<OutboxRow>[];
      rows = (Array.isArray(results) ? results[results.length - 1]?.rows : results.rows) ?? [];
      if (rows.length === 0) await client.query("COMMIT");
    } catch (error) {
      await abort(client);
      throw error;
    }
    if (rows.length === 0) {
      release(client, false);
      return { locked: 0, done: Promise.resolve() };
    }
    const publishing = Promise.allSettled(
      rows.map((row) =>
        options.publisher.publishRecord(row.topic, { content: row.payload, headers: row.headers }),
      ),
    );
    return { locked: rows.length, done: finishBatch(client, rows, publishing) };
  }

  async function finishBatch(
    client: pg.PoolClient,
    rows: readonly OutboxRow[],
    publishing: Promise<PromiseSettledResult<void>[]>,
  ): Promise<void> {
    try {
      const results = await publishing;
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
    } catch (error) {
      await abort(client);
      throw error;
    }
    release(client, false);
  }

  async function abort(client: pg.PoolClient): Promise<void> {
    let broken = false;
    await client.query("ROLLBACK").catch(() => {
      broken = true; // the connection itself failed: do not hand it out again
    });
    release(client, broken);
  }

  function release(client: pg.PoolClient, broken: boolean): void {
    client.off("error", ignore);
    client.release(broken);
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
        // close() during connect found no listener to end: this one must not wait for a loss.
        if (running) await lost;
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
    let failed = false;
    const inFlight = new Set<Promise<void>>();
    while (running) {
      if (inFlight.size >= batchesInFlight) {
        await Promise.race(inFlight);
        continue;
      }
      if (failed) {
        // A batch failed after its rows were locked (broker or database): they were rolled
        // back, and are tried again after the backoff.
        failed = false;
        await sleep(backoff);
        backoff = Math.min(5_000, backoff * 2);
        continue;
      }
      try {
        nudged = false;
        const { locked, done } = await startBatch();
        if (locked > 0) {
          const tracked: Promise<void> = done
            .then(
              () => {
                backoff = baseBackoff;
              },
              (error: unknown) => {
                options.onError?.(error);
                failed = true;
                wake?.();
              },
            )
            .finally(() => inFlight.delete(tracked));
          inFlight.add(tracked);
        }
        // A full batch may have more behind it, and a NOTIFY since the SELECT means rows were
        // committed after it: go again at once. Otherwise wait for a NOTIFY or the poll.
        if (locked < batchSize && !nudged && !failed && running) await sleep(pollMs);
      } catch (error) {
        options.onError?.(error);
        if (running) await sleep(backoff);
        backoff = Math.min(5_000, backoff * 2);
      }
    }
    await Promise.allSettled(inFlight);
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
