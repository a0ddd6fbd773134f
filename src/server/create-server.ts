import {
  createServer as createHttp2Server,
  type Http2Server,
  type ServerHttp2Session,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ServiceRegistration } from "./service-registration.js";
import { withCallContext } from "./with-call-context.js";

export interface ServerOptions {
  /** The services to serve, built with `defineService`. */
  readonly services: readonly ServiceRegistration[];
  /**
   * How long `close()` lets in-flight calls finish before it cancels them. Default 10 s, the
   * usual Kubernetes grace period less time for the endpoint to leave the load balancer.
   */
  readonly drainTimeoutMs?: number;
}

export interface ListenOptions {
  /** Default 127.0.0.1: listening on every interface is a deliberate choice. */
  readonly host?: string;
  /** Default 0: the system picks a free port; read it from the result. */
  readonly port?: number;
}

/** Where a server listens, ready to hand to a client as `baseUrl`. */
export interface ServerAddress {
  readonly host: string;
  readonly port: number;
  readonly url: string;
}

export interface Server {
  listen(options?: ListenOptions): Promise<ServerAddress>;
  /** Stops taking calls, lets in-flight calls finish up to the drain timeout, then cancels. */
  close(): Promise<void>;
}

/** Serves gRPC, gRPC-Web and the Connect protocol for every service on one HTTP/2 (h2c) port. */
export function createServer(options: ServerOptions): Server {
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  const handler = connectNodeAdapter({
    routes(router) {
      for (const registration of options.services) {
        const { service, impl } = withCallContext(registration);
        router.service(service, impl);
      }
    },
  });
  const http2: Http2Server = createHttp2Server(handler);
  const sessions = new Set<ServerHttp2Session>();
  http2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });

  return {
    listen({ host = "127.0.0.1", port = 0 } = {}) {
      return new Promise((resolve, reject) => {
        http2.once("error", reject);
        http2.listen(port, host, () => {
          http2.off("error", reject);
          const address = http2.address() as AddressInfo;
          const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
          resolve({
            host: address.address,
            port: address.port,
            url: `http://${urlHost}:${address.port}`,
          });
        });
      });
    },
    close() {
      if (!http2.listening) return Promise.resolve();
      const closed = new Promise<void>((resolve) => http2.close(() => resolve()));
      // GOAWAY: peers open no new streams; streams in flight run on.
      for (const session of sessions) session.close();
      const timer = setTimeout(() => {
        for (const session of sessions) session.destroy();
      }, drainTimeoutMs);
      return closed.finally(() => clearTimeout(timer));
    },
  };
}
