import { type Logger, pino } from "pino";
import type { Registry } from "prom-client";
import { createServerAuth, type ServerAuth, type ServerAuthOptions } from "../auth/index.js";
import {
  type CallObserver,
  createBatchedLogDestination,
  createCallObserver,
  createServerMetrics,
  type ServerMetrics,
} from "../observe/index.js";
import { createHealth, type Health, ServingStatus } from "./health/index.js";
import { createReflectionServices } from "./reflection/index.js";
import type { ServiceRegistration } from "./service-registration.js";
import { withAuth } from "./with-auth.js";

export interface ServerConcernsOptions {
  readonly services: readonly ServiceRegistration[];
  /** Register `grpc.health.v1.Health`. Default true. */
  readonly health?: boolean | undefined;
  /**
   * Register `grpc.reflection.v1` and `v1alpha`, describing every registered service. Default
   * true: it reveals only the contracts, and lets grpcurl-style tools call with no .proto
   * files. Turn it off on servers facing the outside world.
   */
  readonly reflection?: boolean | undefined;
  /**
   * The access log, one line per call. Default: pino at info level on stdout (silent when
   * NODE_ENV=test). Pass `false` for none.
   */
  readonly logger?: Logger | false | undefined;
  /** Where the RED metrics are registered. Default: a new Registry for this server. */
  readonly metricsRegistry?: Registry | undefined;
  /**
   * Who may call what (README "Security"): token verification and the switches of health,
   * reflection and metrics; each method follows its contract's `auth` policy. Default none:
   * only methods whose contract writes an `auth` policy are enforced, and no token is accepted.
   */
  readonly auth?: ServerAuthOptions | undefined;
}

/**
 * What every engine shares: the services it serves (health, reflection; each method wrapped in
 * its auth check), health, metrics, log, auth.
 */
export interface ServerConcerns {
  readonly services: readonly ServiceRegistration[];
  readonly auth: ServerAuth;
  readonly health: Health;
  readonly metrics: ServerMetrics;
  readonly observer: CallObserver;
}

/**
 * Builds the server-side concerns once, for whichever engine serves the bytes (createServer's
 * lean gRPC + connect-node engines, or the grpc-js binding), so each counts, logs and reports
 * health the same way.
 */
export function createServerConcerns(options: ServerConcernsOptions): ServerConcerns {
  const health = createHealth();
  const services = [...options.services];
  if (options.health ?? true) services.push(health.registration);
  if (options.reflection ?? true) services.push(...createReflectionServices({ services }));
  // Authorization is enforced here, once, for every engine: the engines serve these wrapped
  // implementations (see withAuth).
  const auth = createServerAuth(options.auth);
  const guarded = services.map((registration) => withAuth(registration, auth));
  health.setStatus("", ServingStatus.SERVING);
  for (const { service } of services) health.setStatus(service.typeName, ServingStatus.SERVING);
  const metrics = createServerMetrics(
    options.metricsRegistry ? { registry: options.metricsRegistry } : {},
  );
  const observer = createCallObserver({
    metrics,
    logger: options.logger === false ? undefined : (options.logger ?? defaultLogger()),
  });
  return { services: guarded, auth, health, metrics, observer };
}

let sharedLogger: Logger | undefined;

function defaultLogger(): Logger {
  // Silent under test runners (NODE_ENV=test, as vitest sets it) so test output stays readable.
  sharedLogger ??= pino(
    { name: "protomesh", level: process.env.NODE_ENV === "test" ? "silent" : "info" },
    createBatchedLogDestination(),
  );
  return sharedLogger;
}
