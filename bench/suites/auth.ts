/**
 * Auth and tracing suite (`npm run bench -- --suite auth`):
 * - the server's cost of auth per call with a cached verified token: a guarded handler
 *   (withAuth, the one enforcement point every engine runs) against the same handler bare;
 * - the first verification of RS256, ES256 and EdDSA tokens (reported);
 * - tracing with no tracer provider: what a call pays (server observer + client call) against
 *   the same work with tracing code paths skipped entirely can only be read as the cost of the
 *   checks, so the figure is the per-call cost of those checks; and with the SDK at 100%
 *   sampling (reported);
 * - unary gRPC throughput of the protomesh server with auth on (a bearer token on every
 *   request) against raw @grpc/grpc-js, fresh processes under h2load as in the server suite.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, Transport, UnaryResponse } from "@connectrpc/connect";
import { context, propagation, trace } from "@opentelemetry/api";
import { AlwaysOnSampler, NoopSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { GetOrderResponseSchema, OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { GuardedService } from "../../gen/protomesh/testing/v1/guarded_pb.js";
import { createJwtVerifier, createServerAuth } from "../../src/auth/index.js";
import { runWithCallContext } from "../../src/context/index.js";
import { activeTracer, createCallObserver } from "../../src/observe/index.js";
import { createResilientTransport } from "../../src/resilience/index.js";
import { defineService } from "../../src/server/index.js";
import { withAuth } from "../../src/server/with-auth.js";
import type { BenchReport, BenchRunOptions, BenchSuite } from "../bench-suite.js";
import { echoGrpcBody, echoPath } from "../server-echo.js";
import {
  buildServerTargets,
  hasH2load,
  runH2load,
  type ServerProcess,
  startServer,
} from "../server-load.js";

const issuer = "https://issuer.bench";
const audience = "bench";

interface Timing {
  readonly nsPerCall: number;
}

/** Synchronous work per call, warmed up first. */
function timeSync(fn: () => unknown, iterations: number): Timing {
  for (let i = 0; i < Math.min(iterations, 50_000); i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return { nsPerCall: Number(process.hrtime.bigint() - start) / iterations };
}

async function timeAsync(fn: () => Promise<unknown>, iterations: number): Promise<Timing> {
  for (let i = 0; i < Math.min(iterations, 20_000); i++) await fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await fn();
  return { nsPerCall: Number(process.hrtime.bigint() - start) / iterations };
}

/** µs per call of auth with a cached token: guarded handler minus the bare handler. */
async function authCachedUs(iterations: number) {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" };
  const token = await new SignJWT({ scope: "orders:read orders:write" })
    .setProtectedHeader({ alg: "ES256", kid: "k1" })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject("bench")
    .setExpirationTime("1h")
    .sign(privateKey);
  const auth = createServerAuth({ tokens: { keys: { keys: [jwk] }, issuer, audience } });
  const handler = () => ({});
  const bare = defineService(GuardedService, { scoped: handler });
  const guarded = withAuth(bare, auth);
  const callContext = { correlationId: "bench", principal: undefined };
  const headers = new Headers({ authorization: `Bearer ${token}` });
  // A handler context as the lean engine gives it: one raw header read, no web Headers.
  const handlerContext = {
    requestHeader: headers,
    requestHeaderValue: (name: string) =>
      name === "authorization" ? `Bearer ${token}` : undefined,
  } as unknown as HandlerContext;
  type Fn = (input: unknown, context: HandlerContext) => unknown;
  const bareFn = (bare.impl as unknown as Record<string, Fn>).scoped as Fn;
  const guardedFn = (guarded.impl as unknown as Record<string, Fn>).scoped as Fn;
  // First call verifies (async); every later one is answered from the cache.
  await runWithCallContext(callContext, guardedFn, {}, handlerContext);
  const bareTime = timeSync(
    () => runWithCallContext(callContext, bareFn, {}, handlerContext),
    iterations,
  );
  const guardedTime = timeSync(
    () => runWithCallContext(callContext, guardedFn, {}, handlerContext),
    iterations,
  );
  return {
    bareNs: bareTime.nsPerCall,
    guardedNs: guardedTime.nsPerCall,
    costUs: Math.max(0, guardedTime.nsPerCall - bareTime.nsPerCall) / 1000,
    jwk,
    token,
  };
}

/** µs of a first verification (no cache), by algorithm. */
async function firstVerificationUs(count: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const alg of ["RS256", "ES256", "EdDSA"] as const) {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: "k", alg };
    const verifier = createJwtVerifier({
      keys: { keys: [jwk] },
      issuer,
      audience,
      algorithms: [alg],
      cacheSize: 0,
    });
    const tokens = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        new SignJWT({ n: i })
          .setProtectedHeader({ alg, kid: "k" })
          .setIssuer(issuer)
          .setAudience(audience)
          .setExpirationTime("1h")
          .sign(privateKey),
      ),
    );
    for (const token of tokens.slice(0, 50)) await verifier.verify(token);
    const start = process.hrtime.bigint();
    for (const token of tokens) await verifier.verify(token);
    out[alg] = Number(process.hrtime.bigint() - start) / count / 1000;
  }
  return out;
}

const method = OrderService.method.getOrder;

function instantTransport(): Transport {
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
      return response as never;
    },
    stream() {
      throw new Error("not benchmarked");
    },
  };
}

/**
 * The tracing work one call does on each side (server observer begin/attach/end, client call
 * through the resilient transport), timed with no provider and with the SDK at 100% sampling.
 */
async function tracingCost(iterations: number) {
  const observer = createCallObserver({}).forMethod(
    "acme.order.v1.OrderService",
    "GetOrder",
    "grpc",
  );
  const headers = { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" };
  const serverSide = () => {
    const observed = observer.begin("127.0.0.1:1", "id", headers);
    observed.attach({ correlationId: "id" });
    observed.end(0);
  };
  const client = createResilientTransport({
    transport: instantTransport(),
    target: "bench",
    policy: {
      timeoutMs: null,
      retry: { maxAttempts: 1, budget: null },
      breaker: null,
      bulkhead: null,
    },
  });
  const clientSide = () =>
    client.unary(method as never, undefined, undefined, undefined, {}, undefined);
  const checks = timeSync(() => activeTracer(), iterations * 4);

  const noopServer = timeSync(serverSide, iterations);
  const noopClient = await timeAsync(clientSide, iterations);

  const provider = new NodeTracerProvider({
    sampler: new AlwaysOnSampler(),
    spanProcessors: [new NoopSpanProcessor()],
  });
  provider.register();
  try {
    const sdkServer = timeSync(serverSide, iterations / 4);
    const sdkClient = await timeAsync(clientSide, iterations / 4);
    return {
      // Each call checks once on the server (observer) and once per outbound call (client).
      noopUs: (2 * checks.nsPerCall) / 1000,
      noopCheckNs: checks.nsPerCall,
      noopServerObserverNs: noopServer.nsPerCall,
      noopClientCallNs: noopClient.nsPerCall,
      sdkServerObserverNs: sdkServer.nsPerCall,
      sdkClientCallNs: sdkClient.nsPerCall,
      sdkServerUs: (sdkServer.nsPerCall - noopServer.nsPerCall) / 1000,
      sdkClientUs: (sdkClient.nsPerCall - noopClient.nsPerCall) / 1000,
    };
  } finally {
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** protomesh with auth on (token on every request) against raw grpc-js, under h2load. */
async function throughputAuthOn(
  auth: { jwk: object; token: string },
  rounds: number,
  durationS: number,
) {
  if (!hasH2load()) throw new Error("h2load not found: apt-get install -y nghttp2-client");
  buildServerTargets();
  process.env.PROTOMESH_BENCH_AUTH = JSON.stringify({
    keys: { keys: [auth.jwk] },
    issuer,
    audience,
  });
  const dir = mkdtempSync(join(tmpdir(), "protomesh-bench-auth-"));
  const bodyFile = join(dir, "body.grpc");
  writeFileSync(bodyFile, echoGrpcBody());
  const rps: Record<string, number[]> = { "protomesh-auth": [], grpcjs: [] };
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? ["protomesh-auth", "grpcjs"] : ["grpcjs", "protomesh-auth"];
      for (const kind of order) {
        const server: ServerProcess = await startServer(kind);
        try {
          const result = await runH2load({
            url: `http://127.0.0.1:${server.port}${echoPath}`,
            bodyFile,
            contentType: "application/grpc",
            durationS,
            warmUpS: 1,
            logFile: join(dir, `${kind}-${round}.log`),
            headers: [`authorization: Bearer ${auth.token}`],
          });
          const ok = await server.successes();
          if (ok === 0) throw new Error(`${kind}: no call succeeded (auth refused?)`);
          rps[kind]?.push(result.requestsPerSecond);
        } finally {
          await server.stop();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    protomeshAuthRps: median(rps["protomesh-auth"] ?? []),
    grpcJsRps: median(rps.grpcjs ?? []),
  };
}

export const suite: BenchSuite = {
  name: "auth",
  async run({ quick }: BenchRunOptions): Promise<BenchReport> {
    const iterations = quick ? 20_000 : 500_000;
    const auth = await authCachedUs(iterations);
    const first = await firstVerificationUs(quick ? 50 : 500);
    const tracing = await tracingCost(quick ? 20_000 : 200_000);
    const load = await throughputAuthOn(auth, quick ? 1 : 5, quick ? 2 : 5);
    const ratio = load.protomeshAuthRps / load.grpcJsRps;
    const markdown = [
      "| measure | value |",
      "| --- | --- |",
      `| auth, cached token: guarded − bare handler | ${auth.costUs.toFixed(3)} µs/call (target ≤ 3) |`,
      `| first verification RS256 / ES256 / EdDSA | ${first.RS256?.toFixed(1)} / ${first.ES256?.toFixed(1)} / ${first.EdDSA?.toFixed(1)} µs |`,
      `| tracing, no provider (2 checks per call) | ${tracing.noopUs.toFixed(3)} µs/call (target ≤ 1) |`,
      `| tracing, SDK 100% sampling: server / client extra | ${tracing.sdkServerUs.toFixed(2)} / ${tracing.sdkClientUs.toFixed(2)} µs/call |`,
      `| unary gRPC req/s, protomesh auth on / raw grpc-js | ${Math.round(load.protomeshAuthRps)} / ${Math.round(load.grpcJsRps)} = ${ratio.toFixed(2)}× (target ≥ 1.3) |`,
    ].join("\n");
    return {
      markdown,
      figures: {
        authCached: { bareNs: auth.bareNs, guardedNs: auth.guardedNs, costUs: auth.costUs },
        firstVerificationUs: first,
        tracing,
        throughput: load,
      },
      ratios: {
        auth_cached_us: auth.costUs,
        trace_noop_us: tracing.noopUs,
        server_grpc_vs_grpcjs_auth_on: ratio,
      },
    };
  },
};
