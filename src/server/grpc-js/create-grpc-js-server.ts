import { Server as GrpcServer, ServerCredentials, type ServerOptions } from "@grpc/grpc-js";
import type { ListenOptions, Server, ServerAddress } from "../index.js";
import { createServerConcerns, type ServerConcernsOptions } from "../server-concerns.js";
import { addService } from "./add-service.js";

/**
 * `services`, `health`, `logger` and `metricsRegistry` mean what they mean for `createServer`:
 * the same registrations, health service, access log and RED metrics.
 */
export interface GrpcJsServerOptions extends ServerConcernsOptions {
  /** Default insecure (h2c), like `createServer`; pass `ServerCredentials.createSsl(…)` for TLS. */
  readonly credentials?: ServerCredentials;
  /** Passed to grpc-js's `Server` (e.g. `grpc.max_receive_message_length`). Default none. */
  readonly grpcOptions?: ServerOptions;
  /**
   * How long `close()` lets in-flight calls finish before it cancels them. Default 10 s, as
   * `createServer`.
   */
  readonly drainTimeoutMs?: number;
}

/**
 * A protomesh `Server` backed by grpc-js; `grpc` is the underlying server, for grpc-js features.
 * Metrics are not served over HTTP (grpc-js speaks only gRPC): read `metrics` yourself.
 */
export interface GrpcJsServer extends Server {
  readonly grpc: GrpcServer;
}

/**
 * Serves the same service implementations on an `@grpc/grpc-js` server (gRPC only): for
 * deployments that standardise on grpc-js, or as an independent engine to test a service
 * against. Same `listen()`/`close()` as `createServer`.
 */
export function createGrpcJsServer(options: GrpcJsServerOptions): GrpcJsServer {
  const grpc = new GrpcServer(options.grpcOptions);
  const { services, health, metrics, observer } = createServerConcerns(options);
  for (const registration of services) addService(grpc, registration, { observer });
  const credentials = options.credentials ?? ServerCredentials.createInsecure();
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  let listening = false;

  return {
    grpc,
    health,
    metrics: metrics.registry,
    listen({ host = "127.0.0.1", port = 0 }: ListenOptions = {}): Promise<ServerAddress> {
      const urlHost = host.includes(":") ? `[${host}]` : host;
      return new Promise((resolve, reject) => {
        grpc.bindAsync(`${urlHost}:${port}`, credentials, (error, bound) => {
          if (error) {
            reject(error);
            return;
          }
          listening = true;
          const scheme = credentials._isSecure() ? "https" : "http";
          resolve({ host, port: bound, url: `${scheme}://${urlHost}:${bound}` });
        });
      });
    },
    close(): Promise<void> {
      if (!listening) return Promise.resolve();
      listening = false;
      health.shutdown();
      return new Promise((resolve) => {
        const timer = setTimeout(() => grpc.forceShutdown(), drainTimeoutMs);
        grpc.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
