import { Code, createContextValues } from "@connectrpc/connect";
import { afterEach, describe, expect, it, vi } from "vitest";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { createClient } from "../../src/client/index.js";
import {
  attemptsOf,
  type CallPolicyOverride,
  type CircuitState,
  callPolicyKey,
  createPolicyRegistry,
  type PolicyRegistry,
  type ResilienceEvents,
} from "../../src/resilience/index.js";
import { rejection as failure } from "../support/rejection.js";
import {
  eventually,
  type Fault,
  refusedUrl,
  type Script,
  startDroppingServer,
  startFaultServer,
  transports,
} from "./fault-server.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const ok: Fault = { kind: "ok" };
const unavailable: Fault = { kind: "fail", code: Code.Unavailable };
/** Fast, deterministic retries; no breaker or budget unless a test asks for one. */
const quick: CallPolicyOverride = {
  retry: { maxAttempts: 3, backoff: { initialMs: 1, maxMs: 5, jitter: "none" }, budget: null },
  breaker: null,
};

describe.each(transports)("over $name", (transport) => {
  async function serve(script: Script) {
    const server = await startFaultServer(script);
    cleanups.push(server.close);
    return server;
  }
  function client(
    url: string,
    policy: CallPolicyOverride = quick,
    events?: ResilienceEvents,
    methodPolicies?: Record<string, CallPolicyOverride>,
  ) {
    return createClient(OrderService, {
      transport: transport.create(url),
      target: url,
      policy,
      ...(events ? { events } : {}),
      ...(methodPolicies ? { methodPolicies } : {}),
    });
  }

  describe("retry only where safe", () => {
    it("retries an idempotent method on Unavailable until it succeeds, and counts attempts", async () => {
      const server = await serve(({ n }) => (n <= 2 ? unavailable : ok));
      const retries: number[] = [];
      let attempts: string | null = null;
      await client(server.url, quick, { onRetry: (e) => retries.push(e.attempt) }).getOrder(
        {},
        { onTrailer: (t) => (attempts = t.get("x-protomesh-attempts")) },
      );
      expect(server.count("getOrder")).toBe(3);
      expect(retries).toEqual([1, 2]);
      expect(attempts).toBe("3");
    });

    it("gives up after maxAttempts with the last error and the attempt count", async () => {
      const server = await serve(() => unavailable);
      const error = await failure(client(server.url).cancelOrder({}));
      expect(error.code).toBe(Code.Unavailable);
      expect(server.count("cancelOrder")).toBe(3);
      expect(attemptsOf(error)).toBe(3);
    });

    it("does not retry a non-idempotent method unless opted in", async () => {
      const server = await serve(() => unavailable);
      const error = await failure(client(server.url).createOrder({}));
      expect(server.count("createOrder")).toBe(1);
      expect(attemptsOf(error)).toBe(1);
      await failure(
        client(server.url, {
          ...quick,
          retry: { ...quick.retry, allowNonIdempotent: true },
        }).createOrder({}),
      );
      expect(server.count("createOrder")).toBe(4);
    });

    it.each([
      Code.InvalidArgument,
      Code.NotFound,
      Code.PermissionDenied,
      Code.Unauthenticated,
      Code.FailedPrecondition,
    ])("never retries code %s", async (code) => {
      const server = await serve(() => ({ kind: "fail", code }));
      const policy = {
        ...quick,
        retry: { ...quick.retry, retryableCodes: [Code.Unavailable, Code.Aborted] },
      };
      const error = await failure(client(server.url, policy).getOrder({}));
      expect(error.code).toBe(code);
      expect(server.count("getOrder")).toBe(1);
    });

    it("retries only the configured codes", async () => {
      const server = await serve(({ n }) => (n <= 2 ? { kind: "fail", code: Code.Aborted } : ok));
      await failure(client(server.url).getOrder({}));
      expect(server.count("getOrder")).toBe(1);
      const policy = { ...quick, retry: { ...quick.retry, retryableCodes: [Code.Aborted] } };
      await client(server.url, policy).getOrder({});
      expect(server.count("getOrder")).toBe(3);
    });

    it("retries even a non-idempotent method when the connection was refused", async () => {
      const url = await refusedUrl();
      const error = await failure(client(url).createOrder({}));
      expect(error.code).toBe(Code.Unavailable);
      expect(attemptsOf(error)).toBe(3);
    });

    it("does not retry a non-idempotent method whose connection dropped after sending", async () => {
      const dropping = await startDroppingServer();
      cleanups.push(dropping.close);
      const error = await failure(client(dropping.url).createOrder({}));
      expect(attemptsOf(error)).toBe(1);
      // Requests, not connections: a grpc-js channel reconnects on its own after a drop.
      expect(dropping.requests()).toBe(1);
    });

    it("waits as long as the server's pushback says, and stops on a negative one", async () => {
      const pushback = (ms: string): Fault => ({
        kind: "fail",
        code: Code.Unavailable,
        metadata: { "grpc-retry-pushback-ms": ms },
      });
      const server = await serve(({ method, n }) =>
        method === "getOrder" ? (n === 1 ? pushback("30") : ok) : pushback("-1"),
      );
      const delays: number[] = [];
      const c = client(server.url, quick, { onRetry: (e) => delays.push(e.delayMs) });
      await c.getOrder({});
      expect(delays).toEqual([30]);
      expect(server.count("getOrder")).toBe(2);
      await failure(c.cancelOrder({}));
      expect(server.count("cancelOrder")).toBe(1);
    });
  });

  describe("backoff", () => {
    it("grows exponentially and is capped", async () => {
      const server = await serve(() => unavailable);
      const delays: number[] = [];
      const policy: CallPolicyOverride = {
        ...quick,
        retry: {
          maxAttempts: 5,
          backoff: { initialMs: 2, maxMs: 10, multiplier: 3, jitter: "none" },
          budget: null,
        },
      };
      await failure(
        client(server.url, policy, { onRetry: (e) => delays.push(e.delayMs) }).getOrder({}),
      );
      expect(delays).toEqual([2, 6, 10, 10]);
      expect(server.count("getOrder")).toBe(5);
    });
  });

  describe("retry budget", () => {
    it("keeps retries under a failing backend within the ratio of first attempts", async () => {
      const server = await serve(() => unavailable);
      let exhausted = 0;
      const policy: CallPolicyOverride = {
        ...quick,
        retry: { ...quick.retry, budget: { ratio: 0.2, minRetriesPerSecond: 0 } },
      };
      const c = client(server.url, policy, { onBudgetExhausted: () => exhausted++ });
      const calls = 50;
      for (let i = 0; i < calls; i += 10) {
        await Promise.all(Array.from({ length: 10 }, () => failure(c.getOrder({}))));
      }
      const retries = server.count("getOrder") - calls;
      expect(retries).toBeGreaterThan(0);
      expect(retries).toBeLessThanOrEqual(0.2 * calls);
      expect(exhausted).toBeGreaterThan(0);
    });
  });

  describe("circuit breaker", () => {
    const breaker: CallPolicyOverride = {
      ...quick,
      retry: { maxAttempts: 1 },
      breaker: { trigger: { kind: "consecutive", failures: 3 }, halfOpenAfterMs: 10_000 },
    };

    it("opens after the failures, fails fast without the network, half-opens, closes", async () => {
      vi.useFakeTimers({ toFake: ["Date"] });
      let healthy = false;
      const server = await serve(() => (healthy ? ok : unavailable));
      const states: CircuitState[] = [];
      const c = client(server.url, breaker, { onBreakerStateChange: (e) => states.push(e.state) });
      for (let i = 0; i < 3; i++) await failure(c.getOrder({}));
      expect(states).toEqual(["open"]);
      const fast = await failure(c.listOrders({}));
      expect(fast.code).toBe(Code.Unavailable);
      expect(fast.message).toContain(`circuit ${server.url} is open`);
      expect(fast.cause).toBeInstanceOf(Error);
      expect(server.calls).toHaveLength(3);

      vi.setSystemTime(Date.now() + 10_001);
      healthy = true;
      await c.getOrder({});
      expect(server.calls).toHaveLength(4);
      expect(states).toEqual(["open", "half-open", "closed"]);
      await c.getOrder({});
      expect(server.calls).toHaveLength(5);
    });

    it("counts every success: one between failures resets the consecutive count", async () => {
      // getOrder calls 1, 2 fail, 3 succeeds, 4, 5 fail: never 3 failures in a row.
      const server = await serve(({ n }) => (n === 3 ? ok : unavailable));
      const states: CircuitState[] = [];
      const c = client(server.url, breaker, { onBreakerStateChange: (e) => states.push(e.state) });
      for (let i = 0; i < 5; i++) await c.getOrder({}).catch(() => undefined);
      expect(states).toEqual([]);
      await failure(c.getOrder({}));
      expect(server.count("getOrder")).toBe(6);
      expect(states).toEqual(["open"]);
    });

    it("counts successes for a sampling trigger too: a failure rate under the threshold keeps it closed", async () => {
      const server = await serve(({ n }) => (n <= 3 ? ok : unavailable));
      const states: CircuitState[] = [];
      const sampling: CallPolicyOverride = {
        ...breaker,
        breaker: {
          trigger: { kind: "sampling", threshold: 0.5, windowMs: 10_000, minimumRps: 0 },
          halfOpenAfterMs: 10_000,
        },
      };
      const c = client(server.url, sampling, { onBreakerStateChange: (e) => states.push(e.state) });
      for (let i = 0; i < 3; i++) await c.getOrder({});
      for (let i = 0; i < 2; i++) await failure(c.getOrder({}));
      expect(states).toEqual([]);
      await failure(c.getOrder({}));
      await failure(c.getOrder({}));
      expect(states).toEqual(["open"]);
    });

    it("counts each attempt of a retried call, and sends no more once it opens", async () => {
      const server = await serve(() => unavailable);
      const states: CircuitState[] = [];
      const retried: CallPolicyOverride = {
        ...breaker,
        retry: {
          maxAttempts: 3,
          backoff: { initialMs: 1, maxMs: 5, jitter: "none" },
          budget: null,
        },
        breaker: { trigger: { kind: "consecutive", failures: 2 }, halfOpenAfterMs: 10_000 },
      };
      const c = client(server.url, retried, { onBreakerStateChange: (e) => states.push(e.state) });
      const error = await failure(c.getOrder({}));
      expect(states).toEqual(["open"]);
      expect(server.count("getOrder")).toBe(2);
      expect(error.message).toContain("is open");
      expect(attemptsOf(error)).toBe(2);
    });

    it("does not count answers of a healthy backend (NotFound, InvalidArgument)", async () => {
      const server = await serve(({ n }) => ({
        kind: "fail",
        code: n % 2 ? Code.NotFound : Code.InvalidArgument,
      }));
      const c = client(server.url, breaker);
      for (let i = 0; i < 6; i++) await failure(c.getOrder({}));
      expect(server.count("getOrder")).toBe(6);
    });

    it("is shared by clients handed the same registry, and by no one else", async () => {
      const server = await serve(() => unavailable);
      const registry = createPolicyRegistry();
      const make = (shared?: PolicyRegistry) =>
        createClient(OrderService, {
          transport: transport.create(server.url),
          target: server.url,
          policy: breaker,
          ...(shared ? { registry: shared } : {}),
        });
      const first = make(registry);
      for (let i = 0; i < 3; i++) await failure(first.getOrder({}));
      await failure(make(registry).getOrder({}));
      expect(server.calls).toHaveLength(3);
      await failure(make().getOrder({}));
      expect(server.calls).toHaveLength(4);
    });

    it("keeps one circuit per method when scoped to methods", async () => {
      const server = await serve(({ method }) => (method === "getOrder" ? unavailable : ok));
      const c = client(server.url, {
        ...breaker,
        breaker: { ...breaker.breaker, scope: "method" },
      });
      for (let i = 0; i < 4; i++) await failure(c.getOrder({}));
      expect(server.count("getOrder")).toBe(3);
      await c.cancelOrder({});
      expect(server.count("cancelOrder")).toBe(1);
    });
  });

  describe("bulkhead", () => {
    it("lets maxConcurrent calls in, queues maxQueue, refuses the rest at once", async () => {
      let open = () => {};
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      const slow = await startFaultServer(
        () => ok,
        () => gate,
      );
      cleanups.push(slow.close);
      let rejected = 0;
      const c = client(
        slow.url,
        { ...quick, bulkhead: { maxConcurrent: 2, maxQueue: 1 } },
        {
          onBulkheadReject: () => rejected++,
        },
      );
      const calls = [c.getOrder({}), c.getOrder({}), c.getOrder({})];
      await eventually(() => slow.calls.length === 2);
      const refused = await failure(c.getOrder({}));
      expect(refused.code).toBe(Code.ResourceExhausted);
      expect(refused.cause).toBeInstanceOf(Error);
      expect(rejected).toBe(1);
      expect(slow.calls).toHaveLength(2);
      open();
      await Promise.all(calls);
      expect(slow.calls).toHaveLength(3);
    });
  });

  describe("timeouts and deadlines", () => {
    it("puts the deadline on the wire: the client policy's, then the per-call value over it", async () => {
      // Both above the contract's own 2 s, so the contract's deadline cannot pass for either.
      const server = await serve(() => ok);
      const orders = client(server.url, { ...quick, timeoutMs: 4_000 });
      await orders.getOrder({});
      await orders.getOrder({}, { timeoutMs: 7_300 });
      const [fromPolicy, perCall] = server.calls.map((call) => call.timeoutMs);
      // What is left of the deadline when the handler reads it: at most the value, and only
      // the time in transit less (generous, as the machine may be loaded).
      expect(fromPolicy).toBeLessThanOrEqual(4_000);
      expect(fromPolicy).toBeGreaterThan(3_000);
      expect(perCall).toBeLessThanOrEqual(7_300);
      expect(perCall).toBeGreaterThan(6_300);
    });

    it("cuts a hanging attempt at the per-attempt timeout and retries within the deadline", async () => {
      const server = await serve(({ n }) => (n === 1 ? { kind: "hang" } : ok));
      const policy = { ...quick, timeoutMs: 10_000, perAttemptTimeoutMs: 200 };
      await client(server.url, policy).getOrder({});
      expect(server.count("getOrder")).toBe(2);
      expect(server.calls[0]?.timeoutMs).toBeLessThanOrEqual(200);
      await eventually(() => server.calls[0]?.signal.aborted === true);
    });

    it("fails with DeadlineExceeded when the overall deadline is spent, without retrying past it", async () => {
      const server = await serve(() => ({ kind: "hang" }));
      // Even with DeadlineExceeded made retryable, a spent overall deadline ends the call.
      const policy: CallPolicyOverride = {
        ...quick,
        timeoutMs: 150,
        retry: { ...quick.retry, retryableCodes: [Code.Unavailable, Code.DeadlineExceeded] },
      };
      const error = await failure(client(server.url, policy).getOrder({}));
      expect(error.code).toBe(Code.DeadlineExceeded);
      expect(server.count("getOrder")).toBe(1);
      expect(attemptsOf(error)).toBe(1);
    });

    it("cancels the server handler when the caller aborts", async () => {
      const server = await serve(() => ({ kind: "hang" }));
      const controller = new AbortController();
      const call = failure(client(server.url).getOrder({}, { signal: controller.signal }));
      await eventually(() => server.calls.length === 1);
      controller.abort();
      expect((await call).code).toBe(Code.Canceled);
      await eventually(() => server.calls[0]?.signal.aborted === true);
      expect(server.count("getOrder")).toBe(1);
    });

    it("takes per-call options over client options", async () => {
      const server = await serve(() => unavailable);
      const contextValues = createContextValues().set(callPolicyKey, { retry: { maxAttempts: 1 } });
      await failure(client(server.url).getOrder({}, { contextValues }));
      expect(server.count("getOrder")).toBe(1);
    });
  });

  describe("deadline propagation", () => {
    it("inherits the inbound deadline and correlation id, and may only shorten the deadline", async () => {
      const backend = await serve(() => ok);
      const backendClient = client(backend.url, { ...quick, timeoutMs: 60_000 });
      const shorter = client(backend.url, { ...quick, timeoutMs: 300 });
      const front = await startFaultServer(
        () => ok,
        async () => {
          await backendClient.getOrder({});
          await shorter.getOrder({});
        },
      );
      cleanups.push(front.close);
      await client(front.url, { ...quick, timeoutMs: 2_000 }).getOrder(
        {},
        { headers: { "x-request-id": "req-42" } },
      );
      const [inherited, shortened] = backend.calls;
      expect(inherited?.timeoutMs).toBeLessThanOrEqual(2_000);
      expect(inherited?.timeoutMs).toBeGreaterThan(300);
      expect(inherited?.requestId).toBe("req-42");
      expect(shortened?.timeoutMs).toBeLessThanOrEqual(300);
      expect(shortened?.requestId).toBe("req-42");
    });
  });

  describe("fallback", () => {
    it("answers with the fallback while the backend is down, never for a NotFound", async () => {
      const server = await serve(({ method }) =>
        method === "getOrder" ? unavailable : { kind: "fail", code: Code.NotFound },
      );
      const c = createClient(OrderService, {
        transport: transport.create(server.url),
        target: server.url,
        policy: quick,
        fallbacks: {
          getOrder: () => ({ order: { orderId: "cached" } }),
          cancelOrder: () => ({ order: { orderId: "cached" } }),
        },
      });
      let marked: string | null = null;
      const { order } = await c.getOrder(
        {},
        { onTrailer: (t) => (marked = t.get("x-protomesh-fallback")) },
      );
      expect(order?.orderId).toBe("cached");
      expect(marked).toBe("true");
      expect(server.count("getOrder")).toBe(3);
      expect((await failure(c.cancelOrder({}))).code).toBe(Code.NotFound);
    });
  });

  describe("streams", () => {
    it("carry the contract's deadline on the wire and the caller's headers", async () => {
      const server = await serve(() => ok);
      const received = [];
      for await (const update of client(server.url).watchOrder(
        {},
        { headers: { "x-request-id": "watch-1" } },
      )) {
        received.push(update);
      }
      expect(received).toHaveLength(1);
      const seen = server.calls[0]?.timeoutMs;
      // WatchOrder's contract says one hour, not the unary default of 10 s.
      expect(seen).toBeGreaterThan(10_000);
      expect(seen).toBeLessThanOrEqual(3_600_000);
      expect(server.calls[0]?.requestId).toBe("watch-1");
    });
  });

  describe("hedging", () => {
    it("sends a second attempt after the hedge delay; the first success wins, the loser is cancelled", async () => {
      const server = await serve(({ n }) => (n === 1 ? { kind: "hang" } : ok));
      const hedges: number[] = [];
      const c = client(
        server.url,
        quick,
        { onHedge: (e) => hedges.push(e.attempt) },
        {
          getOrder: { hedging: { maxAttempts: 2, delayMs: 20 } },
        },
      );
      let attempts: string | null = null;
      await c.getOrder({}, { onTrailer: (t) => (attempts = t.get("x-protomesh-attempts")) });
      expect(server.count("getOrder")).toBe(2);
      expect(hedges).toEqual([2]);
      expect(attempts).toBe("2");
      await eventually(() => server.calls[0]?.signal.aborted === true);
    });

    it("is refused on a method that is not idempotent", () => {
      expect(() =>
        createClient(OrderService, {
          baseUrl: "http://127.0.0.1:1",
          methodPolicies: { createOrder: { hedging: { maxAttempts: 2, delayMs: 10 } } },
        }),
      ).toThrow(/CreateOrder: hedging needs idempotency_level/);
    });
  });
});
