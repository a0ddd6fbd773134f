/**
 * The policy stack alone: calls through `createResilientTransport` onto a transport that
 * answers at once, against calling that transport bare. Reports ns and CPU µs per call for
 * each policy alone and for the full stack, and checks that many concurrent calls sharing one
 * AbortSignal raise no MaxListenersExceededWarning.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type Transport, type UnaryResponse } from "@connectrpc/connect";
import { GetOrderResponseSchema, OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { runWithCallContext } from "../../src/context/index.js";
import { type CallPolicyOverride, createResilientTransport } from "../../src/resilience/index.js";
import type { BenchSuite } from "../bench-suite.js";

const method = OrderService.method.getOrder;

/** A transport that answers every call at once (or fails the first attempts, if asked). */
function instantTransport(failFirst = 0, yieldFirst = false): Transport {
  let calls = 0;
  const response: UnaryResponse = {
    stream: false,
    service: OrderService,
    method: method as never,
    header: new Headers(),
    message: create(GetOrderResponseSchema),
    trailer: new Headers(),
  };
  return {
    async unary() {
      if (yieldFirst) await new Promise((resolve) => setImmediate(resolve));
      if (++calls <= failFirst) throw new ConnectError("injected", Code.Unavailable);
      return response as never;
    },
    stream() {
      throw new Error("not benchmarked");
    },
  };
}

const off: CallPolicyOverride = {
  timeoutMs: null,
  retry: { maxAttempts: 1, budget: null },
  breaker: null,
  bulkhead: null,
};

const variants: [string, CallPolicyOverride | undefined][] = [
  ["nothing on (pass-through)", off],
  ["deadline only", { ...off, timeoutMs: 5_000 }],
  ["retry", { ...off, retry: { maxAttempts: 3, budget: null } }],
  ["retry + budget", { ...off, retry: { maxAttempts: 3 } }],
  ["breaker", { ...off, breaker: { trigger: { kind: "consecutive", failures: 5 } } }],
  ["bulkhead", { ...off, bulkhead: { maxConcurrent: 100, maxQueue: 100 } }],
  ["full stack (defaults)", undefined],
];

interface Measured {
  readonly nsPerCall: number;
  readonly cpuUsPerCall: number;
}

async function measure(call: () => Promise<unknown>, iterations: number): Promise<Measured> {
  for (let i = 0; i < Math.min(iterations, 20_000); i++) await call();
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await call();
  const ns = Number(process.hrtime.bigint() - start);
  const used = process.cpuUsage(cpu);
  return {
    nsPerCall: ns / iterations,
    cpuUsPerCall: (used.user + used.system) / iterations,
  };
}

/** Many calls at once sharing one caller signal, each retried once (so each waits). */
async function concurrencyWarnings(concurrency: number): Promise<number> {
  let warnings = 0;
  const onWarning = (warning: Error) => {
    if (warning.name === "MaxListenersExceededWarning") warnings++;
  };
  process.on("warning", onWarning);
  try {
    const shared = new AbortController().signal;
    const retried = createResilientTransport({
      transport: instantTransport(concurrency, true),
      target: "bench",
      // The breaker would (rightly) open under this burst of failures; the bulkhead is sized
      // to let every call in, so each one reaches the retry wait.
      policy: {
        retry: { backoff: { initialMs: 1, maxMs: 2 }, budget: null },
        breaker: null,
        bulkhead: { maxConcurrent: concurrency },
      },
    });
    const hedged = createResilientTransport({
      transport: instantTransport(0, true),
      target: "bench",
      policy: { bulkhead: { maxConcurrent: concurrency } },
      methodPolicies: { getOrder: { hedging: { maxAttempts: 2, delayMs: 0 } } },
    });
    for (const transport of [retried, hedged]) {
      await Promise.all(
        Array.from({ length: concurrency }, () =>
          transport.unary(method, shared, undefined, undefined, {}),
        ),
      );
    }
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setTimeout(resolve, 10));
  } finally {
    process.off("warning", onWarning);
  }
  return warnings;
}

export const suite: BenchSuite = {
  name: "policy",
  async run({ quick }) {
    const iterations = quick ? 20_000 : 200_000;
    // Rounds interleave the variants and keep each one's best: the machine is shared and
    // noisy, and the best round is the one least disturbed by other work.
    const rounds = quick ? 1 : 5;
    const bare = instantTransport();
    const cases: [string, () => Promise<unknown>][] = [
      ["bare transport", () => bare.unary(method, undefined, undefined, undefined, {})],
    ];
    for (const [name, policy] of variants) {
      const transport = createResilientTransport({
        transport: instantTransport(),
        target: "bench",
        policy,
      });
      cases.push([name, () => transport.unary(method, undefined, undefined, undefined, {})]);
    }
    const full = createResilientTransport({ transport: instantTransport(), target: "bench" });
    const inbound = { correlationId: "bench-1", deadline: Date.now() + 3_600_000 };
    cases.push([
      "full stack, inside a served call (deadline + correlation id inherited)",
      () =>
        runWithCallContext(inbound, () => full.unary(method, undefined, undefined, undefined, {})),
    ]);
    const best = new Map<string, Measured>();
    for (let round = 0; round < rounds; round++) {
      for (const [name, call] of cases) {
        const m = await measure(call, iterations);
        const previous = best.get(name);
        if (!previous || m.cpuUsPerCall < previous.cpuUsPerCall) best.set(name, m);
      }
    }
    const rows = cases.map(([name]) => [name, best.get(name) as Measured] as [string, Measured]);

    const base = rows[0]?.[1] as Measured;
    const fullStack = rows.find(([name]) =>
      name.startsWith("full stack (defaults)"),
    )?.[1] as Measured;
    const stackUs = fullStack.cpuUsPerCall - base.cpuUsPerCall;

    const concurrency = [100, 1_000];
    const warnings: Record<string, number> = {};
    for (const n of concurrency) warnings[`concurrency_${n}`] = await concurrencyWarnings(n);
    const totalWarnings = Object.values(warnings).reduce((a, b) => a + b, 0);
    if (totalWarnings > 0) {
      throw new Error(`MaxListenersExceededWarning emitted ${totalWarnings} time(s)`);
    }

    const table = [
      "| variant | ns/call (wall) | CPU µs/call | over bare (CPU µs) |",
      "| --- | ---: | ---: | ---: |",
      ...rows.map(
        ([name, m]) =>
          `| ${name} | ${m.nsPerCall.toFixed(0)} | ${m.cpuUsPerCall.toFixed(2)} | ${(m.cpuUsPerCall - base.cpuUsPerCall).toFixed(2)} |`,
      ),
    ];
    const markdown = [
      `${iterations} sequential calls per row, best of ${rounds} round(s)${quick ? " (quick: noisy)" : ""}.`,
      "",
      ...table,
      "",
      `Concurrency check (shared caller signal, every call retried, then hedged): ${concurrency
        .map((n) => `${n} calls → ${warnings[`concurrency_${n}`]} MaxListenersExceededWarning`)
        .join(", ")}.`,
      "",
      `policy_stack_us = ${stackUs.toFixed(2)} µs per call (target ≤ 5).`,
    ].join("\n");
    return {
      markdown,
      figures: {
        iterations,
        rounds,
        rows: Object.fromEntries(rows),
        warnings,
      },
      ratios: { policy_stack_us: Number(stackUs.toFixed(3)) },
    };
  },
};
