import type { FrontExchange } from "./front-exchange.js";

/** Cross-origin access for browsers. Default: no origin allowed (same-origin pages only). */
export interface GatewayCorsOptions {
  /** Origins allowed, exactly as browsers send them (`https://app.example.com`), or `"*"`. */
  readonly allowedOrigins: readonly string[];
  /** More request headers a page may send, beyond those Connect and gRPC-Web need. */
  readonly allowedHeaders?: readonly string[] | undefined;
  /** How long a browser may cache a preflight answer. Default 7200 s (Chromium's cap). */
  readonly maxAgeSeconds?: number | undefined;
}

// What Connect, gRPC-Web and REST clients send and must be able to read (connect-es's
// cors helper lists the same ones).
const requestHeaders = [
  "content-type",
  "connect-protocol-version",
  "connect-timeout-ms",
  "connect-content-encoding",
  "connect-accept-encoding",
  "grpc-timeout",
  "x-grpc-web",
  "x-user-agent",
  "authorization",
  "x-request-id",
  "traceparent",
  "tracestate",
];
const exposedHeaders = [
  "grpc-status",
  "grpc-message",
  "grpc-status-details-bin",
  "connect-content-encoding",
  "connect-accept-encoding",
  "x-request-id",
];

/** Answers preflights and sets CORS response headers; built once from the options. */
export class Cors {
  private readonly origins: ReadonlySet<string>;
  private readonly any: boolean;
  private readonly allowHeaders: string;
  private readonly exposeHeaders = exposedHeaders.join(", ");
  private readonly maxAge: string;

  constructor(options: GatewayCorsOptions | undefined) {
    this.origins = new Set(options?.allowedOrigins ?? []);
    this.any = this.origins.has("*");
    this.allowHeaders = [...requestHeaders, ...(options?.allowedHeaders ?? [])].join(", ");
    this.maxAge = String(options?.maxAgeSeconds ?? 7200);
  }

  /**
   * Sets the headers for an allowed origin. Returns true when the request was a preflight and
   * has been answered (204 for an allowed origin, 403 otherwise).
   */
  handle(exchange: FrontExchange): boolean {
    const headers = exchange.headers;
    const origin = headers.origin;
    const preflight =
      exchange.method === "OPTIONS" && headers["access-control-request-method"] !== undefined;
    const allowed = origin !== undefined && (this.any || this.origins.has(origin));
    if (allowed) {
      exchange.setHeader("access-control-allow-origin", this.any ? "*" : origin);
      if (!this.any) exchange.setHeader("vary", "Origin");
      exchange.setHeader("access-control-expose-headers", this.exposeHeaders);
    }
    if (!preflight) return false;
    if (!allowed) {
      exchange.discard();
      exchange.send(403, undefined, "");
      return true;
    }
    exchange.discard();
    exchange.send(204, undefined, "", {
      "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
      "access-control-allow-headers": this.allowHeaders,
      "access-control-max-age": this.maxAge,
    });
    return true;
  }
}
