import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Channel,
  NotificationService,
} from "../../gen/acme/notification/v1/notification_service_pb.js";
import {
  createMemoryIdempotencyStore,
  createPostgresIdempotencyStore,
  type IdempotencyStore,
  withIdempotencyKeys,
} from "../../src/events/index.js";
import { createClient, createServer, defineService, type Server } from "../../src/index.js";
import { idempotencyKeyHeader } from "../../src/resilience/index.js";
import { createTestSchema, type TestSchema } from "./pg-schema.js";

let db: TestSchema;
beforeAll(async () => {
  db = await createTestSchema("idem");
});
afterAll(async () => {
  await db?.drop();
});

interface Harness {
  readonly url: string;
  readonly runs: () => number;
  readonly keys: (string | null)[];
  close(): Promise<void>;
}

async function start(store: IdempotencyStore, failFirst = false): Promise<Harness> {
  let runs = 0;
  const keys: (string | null)[] = [];
  const impl: ServiceImpl<typeof NotificationService> = {
    async send(request, context) {
      runs++;
      keys.push(context.requestHeader.get(idempotencyKeyHeader));
      await new Promise((r) => setTimeout(r, 50));
      if (failFirst && runs === 1) throw new ConnectError("try again", Code.Unavailable);
      return { notificationId: `ntf_${runs}_${request.customerId}` };
    },
  };
  const server: Server = createServer({
    services: [
      defineService(NotificationService, withIdempotencyKeys(NotificationService, impl, { store })),
    ],
    logger: false,
  });
  const address = await server.listen({ host: "127.0.0.1", port: 0 });
  return { url: address.url, runs: () => runs, keys, close: () => server.close() };
}

const request = { customerId: "cus_1", channel: Channel.EMAIL, template: "order-confirmed" };

describe.each([
  ["memory", () => createMemoryIdempotencyStore()],
  ["PostgreSQL", () => createPostgresIdempotencyStore({ pool: db.pool, schema: db.name })],
])("idempotency keys (%s store)", (_name, makeStore) => {
  it("runs the handler once for 50 concurrent calls with one key and one request, and replays later", async () => {
    const h = await start(makeStore());
    const client = createClient(NotificationService, { baseUrl: h.url });
    const key = `k-${Math.random().toString(36).slice(2)}`;
    const headers = { [idempotencyKeyHeader]: key };
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => client.send(request, { headers })),
    );
    expect(h.runs()).toBe(1);
    expect(new Set(responses.map((r) => r.notificationId))).toEqual(new Set(["ntf_1_cus_1"]));
    const again = await client.send(request, { headers });
    expect(again.notificationId).toBe("ntf_1_cus_1");
    expect(h.runs()).toBe(1);
    // Without a key, every call runs.
    await client.send(request);
    expect(h.runs()).toBe(2);
    await h.close();
  });

  it("rejects the same key with a different request (FailedPrecondition)", async () => {
    const h = await start(makeStore());
    const client = createClient(NotificationService, { baseUrl: h.url });
    const headers = { [idempotencyKeyHeader]: `k-${Math.random().toString(36).slice(2)}` };
    await client.send(request, { headers });
    const error = await client
      .send({ ...request, customerId: "cus_2" }, { headers })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.FailedPrecondition);
    expect(h.runs()).toBe(1);
    await h.close();
  });
});

describe("client idempotency key", () => {
  it("is added once per call, reused by retries, when the policy opts into retrying a non-idempotent method", async () => {
    const h = await start(createMemoryIdempotencyStore(), true);
    const client = createClient(NotificationService, {
      baseUrl: h.url,
      policy: { retry: { allowNonIdempotent: true, maxAttempts: 3, backoff: { initialMs: 10 } } },
    });
    const response = await client.send(request);
    expect(response.notificationId).toBe("ntf_2_cus_1");
    expect(h.keys).toHaveLength(2);
    expect(h.keys[0]).toMatch(/^[\da-f-]{36}$/);
    expect(h.keys[1]).toBe(h.keys[0]);
    await h.close();
  });

  it("is not added without the opt-in", async () => {
    const h = await start(createMemoryIdempotencyStore());
    const client = createClient(NotificationService, { baseUrl: h.url });
    await client.send(request);
    expect(h.keys).toEqual([null]);
    await h.close();
  });
});
