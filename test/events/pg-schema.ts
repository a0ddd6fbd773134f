import { randomBytes } from "node:crypto";
import pg from "pg";
import { migrateEventStore } from "../../src/events/index.js";

/** A throw-away PostgreSQL schema in database `test`, migrated, dropped by `drop()`. */
export interface TestSchema {
  readonly name: string;
  readonly pool: pg.Pool;
  /** A pool through another port (a TCP proxy in front of PostgreSQL). */
  poolVia(port: number): pg.Pool;
  drop(): Promise<void>;
}

export const pgConfig = { host: "127.0.0.1", port: 5432, user: "postgres", database: "test" };

export async function createTestSchema(label: string): Promise<TestSchema> {
  const name = `pm_test_${label}_${randomBytes(4).toString("hex")}`;
  const pools: pg.Pool[] = [];
  const poolVia = (port: number) => {
    const pool = new pg.Pool({ ...pgConfig, port, max: 10 });
    pool.on("error", () => {}); // an idle client lost with the proxy; the pool replaces it
    pools.push(pool);
    return pool;
  };
  const pool = poolVia(5432);
  await migrateEventStore(pool, { schema: name });
  return {
    name,
    pool,
    poolVia,
    async drop() {
      await pool.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      await Promise.all(pools.map((p) => p.end().catch(() => {})));
    },
  };
}
